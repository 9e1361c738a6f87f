"""The real CIFAR-10 as a session fixture (the offline mirror in ../shared/data unless PEMN_DATA says otherwise)."""
import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def cifar10():
    from pemn import data
    os.environ.setdefault("PEMN_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    return data.load("cifar10", allow_download=False)
