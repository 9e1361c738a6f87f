"""``python -m pemn.report [name ...]``: execute the book's analysis notebooks in place;
``python -m pemn.report --readme``: rewrite the README's figures from the run records."""
import sys

from .notebooks import BOOK_NOTEBOOKS, refresh_notebooks

if sys.argv[1:] == ["--readme"]:
    from .readme import README, update_readme
    print(f"{README.name}: {'updated from the records' if update_readme() else 'already agrees with the records'}")
else:
    refresh_notebooks(tuple(sys.argv[1:]) or BOOK_NOTEBOOKS)
