"""``python -m pemn.bench`` (``make bench``, ``make bench-paper``)."""
import sys

from .cli import main

sys.exit(main())
