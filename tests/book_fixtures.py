"""The built book and a headless browser, for the tests that read the book as a reader would (session fixtures,
shared by every test module through ``conftest.py``: the book is built once per test session)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or "/usr/bin/chromium", "/usr/bin/chromedriver"


def build_book(tmp_path_factory):
    """``jupyter-book build`` with warnings as errors (-W) and nitpicky references (-n), into a temporary folder."""
    out = tmp_path_factory.mktemp("book")
    started = time.time()
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", "--all", "-W", "-n", "--keep-going",
           "--path-output", str(out), str(REPO)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=1800)
    log = proc.stdout + proc.stderr
    (REPO / "_build").mkdir(exist_ok=True)
    (REPO / "_build" / "test-book-build.log").write_text(log)
    return proc.returncode, log, out / "_build" / "html", started


def _pages(html: Path) -> list[Path]:
    pages = [p for p in sorted(html.rglob("*.html")) if not {"_static", "_sources", "_images"} & set(p.parts)]
    return [p for p in pages if not _redirect(p)]


def _redirect(page: Path) -> str | None:
    """The target of a meta-refresh page (the root index.html that sends readers to book/index.html)."""
    m = re.search(r'http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"', page.read_text(errors="ignore")[:2000], re.I)
    return m[1] if m else None


REQUIRE_BROWSER = "PEMN_REQUIRE_BROWSER"  # set by .ci/run, which installs Chromium


def require_browser() -> None:
    """Skip the browser checks where Chromium is missing (saying why), fail there under ``.ci/run``."""
    if Path(sys.modules[__name__].CHROMEDRIVER).is_file() and Path(sys.modules[__name__].CHROMIUM).is_file():
        return
    why = ("no headless Chromium here (apt-get install -y chromium chromium-driver; .ci/run installs it "
           f"and sets {REQUIRE_BROWSER}=1)")
    if os.environ.get(REQUIRE_BROWSER) == "1":
        pytest.fail(f"{REQUIRE_BROWSER}=1 but {why}")
    pytest.skip(why)


def open_browser():
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="pemn-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1300,1000"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


# Loads every image eagerly and reports those that did not load (naturalWidth 0).
