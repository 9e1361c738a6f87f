"""``python -m pemn.report [name ...]``: execute the book's analysis notebooks in place."""
import sys

from .notebooks import BOOK_NOTEBOOKS, refresh_notebooks

refresh_notebooks(tuple(sys.argv[1:]) or BOOK_NOTEBOOKS)
