"""`make publish`: the built book onto a gh-pages branch with ghp-import (Jupyter Book 1's documented route), tried
against a local bare repository; nothing of this repository's own branches is touched."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GHP_IMPORT = Path(sys.executable).parent / "ghp-import"


def _git(*args, cwd) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git")
def test_make_publish_pushes_the_built_book_to_gh_pages(tmp_path):
    assert GHP_IMPORT.is_file(), "ghp-import is not installed (requirements.txt pins it; make setup installs it)"
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    work, remote = tmp_path / "work", tmp_path / "remote.git"
    work.mkdir()
    _git("init", "-q", "-b", "main", cwd=work)
    (work / "README.md").write_text("a clone\n")
    _git("add", "README.md", cwd=work)
    subprocess.run(["git", "commit", "-q", "-m", "start"], cwd=work, check=True, env=env)
    _git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    html = work / "_build" / "html"
    (html / "book").mkdir(parents=True)
    (html / "_static").mkdir()
    (html / "index.html").write_text('<meta http-equiv="refresh" content="0; url=book/index.html">')
    (html / "book" / "index.html").write_text("<html>the book</html>")
    (html / "_static" / "pemn.css").write_text("body {}")

    def publish(**extra):
        args = ["make", "--no-print-directory", "-f", str(REPO / "Makefile"), "-C", str(work), "publish-built",
                f"PUBLISH_REMOTE={remote}", f"GHP_IMPORT={GHP_IMPORT}", *(f"{k}={v}" for k, v in extra.items())]
        return subprocess.run(args, capture_output=True, text=True, env=env)

    proc = publish()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = set(_git("ls-tree", "-r", "--name-only", "gh-pages", cwd=remote).split())
    assert files == {".nojekyll", "index.html", "book/index.html", "_static/pemn.css"}
    assert _git("show", "gh-pages:book/index.html", cwd=remote) == "<html>the book</html>"
    # published again after a rebuild: the branch's tree is the new book alone
    (html / "_static" / "pemn.css").unlink()
    (html / "book" / "index.html").write_text("<html>rebuilt</html>")
    assert publish().returncode == 0
    assert set(_git("ls-tree", "-r", "--name-only", "gh-pages", cwd=remote).split()) == {
        ".nojekyll", "index.html", "book/index.html"}
    assert _git("branch", "--list", cwd=remote).split() == ["gh-pages"]  # nothing else was pushed
    assert "gh-pages" in _git("branch", "--list", "gh-pages", cwd=work)  # made in the clone, not elsewhere


def test_publish_without_a_built_book_says_so(tmp_path):
    proc = subprocess.run(["make", "--no-print-directory", "-f", str(REPO / "Makefile"), "-C", str(tmp_path),
                           "publish-built", f"BOOK_HTML={tmp_path / 'nothing'}"], capture_output=True, text=True)
    assert proc.returncode != 0 and "no built book" in proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git")
def test_the_published_commit_names_the_uncommitted_runs_it_shows(tmp_path):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    work, remote = tmp_path / "work", tmp_path / "remote.git"
    (work / "runs" / "cpu" / "a").mkdir(parents=True)
    _git("init", "-q", "-b", "main", cwd=work)
    (work / "runs" / "cpu" / "a" / "metrics.json").write_text("{}")
    _git("add", "runs", cwd=work)
    subprocess.run(["git", "commit", "-q", "-m", "start"], cwd=work, check=True, env=env)
    _git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    (work / "_build" / "html").mkdir(parents=True)
    (work / "_build" / "html" / "index.html").write_text("<html>the book</html>")
    head = _git("rev-parse", "--short", "HEAD", cwd=work).strip()

    def published() -> str:
        proc = subprocess.run(["make", "--no-print-directory", "-f", str(REPO / "Makefile"), "-C", str(work),
                               "publish-built", f"PUBLISH_REMOTE={remote}", f"GHP_IMPORT={GHP_IMPORT}"],
                              capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return _git("log", "-1", "--format=%s", "gh-pages", cwd=remote).strip()

    assert published() == f"book: built from {head}"
    for name in ("b", "c"):  # two new runs, one with two files
        (work / "runs" / "custom" / name).mkdir(parents=True)
        (work / "runs" / "custom" / name / "metrics.json").write_text("{}")
    (work / "runs" / "custom" / "c" / "train.ipynb").write_text("{}")
    (work / "runs" / "cpu" / "a" / "metrics.json").write_text('{"changed": 1}')
    assert published() == f"book: built from {head} + 3 uncommitted runs"
