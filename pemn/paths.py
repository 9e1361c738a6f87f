"""Where the repository is, and how every file of the study is written: atomically (a reader never sees half)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` into a temporary file beside ``path``, then rename it over ``path`` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def write_json_atomic(obj, path: Path) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=1, default=str)))
