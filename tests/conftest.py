"""Test settings: one CPU thread (the machines are shared, and the models here are tiny)."""
import torch

torch.set_num_threads(1)


import pytest  # noqa: E402

from book_fixtures import build_book, open_browser  # noqa: E402


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """``jupyter-book build`` with warnings as errors, once per session, shared by every test module."""
    return build_book(tmp_path_factory)


@pytest.fixture(scope="session")
def browser():
    yield from open_browser()
