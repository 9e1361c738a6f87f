"""The built book as a reader meets it: every page in a headless browser, chapter references against the table of
contents, tables that render, figures whose text is read at 9 pt or more (fixtures: ``conftest.py``)."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from book_fixtures import REPO, _pages, _redirect
from pemn.report.notebooks import BOOK_NOTEBOOKS, toc_pages

CHAPTERS = BOOK_NOTEBOOKS
SCREENSHOTS = REPO / "_build" / "screenshots"


_IMAGES_JS = """
const done = arguments[arguments.length - 1];
const imgs = Array.from(document.images);
imgs.forEach(i => { i.loading = 'eager'; });
const waits = imgs.map(i => i.complete ? Promise.resolve() :
  new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); setTimeout(r, 15000); }));
Promise.all(waits).then(() => done(imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)));
"""
_MAIN_TEXT_JS = """
const m = document.querySelector('main #main-content article, article.bd-article, main');
return m ? m.innerText.trim().length : 0;
"""


def test_every_page_in_a_browser(built_book, browser):
    code, log, html, started = built_book
    assert code == 0, "the book did not build"
    pages = _pages(html)
    assert len(pages) >= len(CHAPTERS) + 2
    root = _redirect(html / "index.html")
    assert root and (html / root).is_file(), "the root index.html does not lead to the book"
    problems = []
    for page in pages:
        browser.get(page.as_uri())
        broken = browser.execute_async_script(_IMAGES_JS)
        if broken:
            problems.append(f"{page.relative_to(html)}: images not loaded: {broken}")
        if page.name not in ("genindex.html", "search.html") and browser.execute_script(_MAIN_TEXT_JS) < 50:
            problems.append(f"{page.relative_to(html)}: empty main content")
    assert not problems, "\n".join(problems)


def test_figures_and_math_render(built_book, browser):
    """The chapters show real figures, equations render offline (MathJax from the build) and a screenshot is kept."""
    code, log, html, started = built_book
    assert code == 0, "the book did not build"
    browser.get((html / "book" / "02_method.html").as_uri())
    for _ in range(100):
        if browser.execute_script("return document.querySelectorAll('mjx-container').length") > 0:
            break
        time.sleep(0.2)
    assert browser.execute_script("return document.querySelectorAll('mjx-container').length") > 0
    assert browser.execute_script("return document.querySelectorAll('img').length") >= 1  # the plan figure
    page = html / "book" / "01_introduction.html"
    browser.get(page.as_uri())
    height = min(int(browser.execute_script("return document.body.scrollHeight")), 6000)
    browser.set_window_size(1300, max(height, 800))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "introduction.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    browser.set_window_size(1300, 1000)


# A paged table (simple-datatables) is measured with every row shown ("all" in its rows-per-page menu): its widest
# run id may sit on any page, and the page a reader sees first changes as runs land.
_OVERFLOW_JS = """
document.querySelectorAll('select.datatable-selector').forEach(s => {
  s.value = '-1'; s.dispatchEvent(new Event('change'));
});
const main = document.querySelector('main #main-content article, article.bd-article, main');
const right = main.getBoundingClientRect().right;
const out = [];
const doc = document.documentElement;
if (doc.scrollWidth > doc.clientWidth + 2) out.push('the page scrolls sideways by ' + (doc.scrollWidth - doc.clientWidth) + ' px');
main.querySelectorAll('table').forEach((t, i) => {
  const box = t.parentElement;
  const wide = t.getBoundingClientRect().right > right + 2 || box.scrollWidth > box.clientWidth + 2;
  if (wide) {
    const cells = Array.from(t.querySelectorAll('td, th')).sort((a, b) => b.scrollWidth - a.scrollWidth);
    out.push('table ' + i + ' (' + (t.innerText || '').slice(0, 40).replace(/\\s+/g, ' ') + '...) is ' +
             Math.round(t.scrollWidth) + ' px wide for ' + Math.round(box.clientWidth) + ' px; widest cell: ' +
             (cells.length ? cells[0].innerText.slice(0, 60) : ''));
  }
});
main.querySelectorAll('img').forEach(im => {
  if (im.getBoundingClientRect().right > right + 2) out.push('image ' + im.src.split('/').pop() + ' overflows');
});
return out;
"""

# Text of the page outside links (and outside code) that looks like a run id.
_UNLINKED_RUN_IDS_JS = """
const main = document.querySelector('main #main-content article, article.bd-article, main');
const re = /\\b(?:convmixer|vit|resnet32|resnet56)-[a-z0-9_.-]*-s[0-9]+\\b/g;
const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
const out = [];
let n;
while ((n = walker.nextNode())) {
  if (n.parentElement.closest('a, pre, code, .cell_input')) continue;
  const hits = n.textContent.match(re);
  if (hits) out.push(...hits);
}
return out;
"""

# Pairs of text labels of an SVG figure whose boxes overlap (matplotlib keeps text as <text> with svg.fonttype none).
_SVG_OVERLAPS_JS = """
const texts = Array.from(document.querySelectorAll('text')).filter(t => t.textContent.trim());
const boxes = texts.map(t => [t.textContent.trim(), t.getBoundingClientRect()]);
const out = [];
for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
  const [a, p] = boxes[i], [b, q] = boxes[j];
  const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
  const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
  if (w > 1 && h > 1) out.push(a + ' / ' + b);
}
return [texts.length, out];
"""

READER_PAGES = BOOK_NOTEBOOKS


def test_pages_fit_the_main_column(built_book, browser):
    """No page scrolls sideways and no table or figure is wider than the main column (1300 px window)."""
    code, log, html, started = built_book
    assert code == 0, "the book did not build"
    problems = []
    for name in READER_PAGES:
        browser.get((html / "book" / f"{name}.html").as_uri())
        problems += [f"{name}: {p}" for p in browser.execute_script(_OVERFLOW_JS)]
    assert not problems, "\n".join(problems)


def test_every_run_id_in_chapters_3_to_5_is_a_link(built_book, browser):
    code, log, html, started = built_book
    assert code == 0, "the book did not build"
    for name in ("03_capacity", "04_compression", "06_claims", "05_fair_compression", "appendix"):
        browser.get((html / "book" / f"{name}.html").as_uri())
        unlinked = browser.execute_script(_UNLINKED_RUN_IDS_JS)
        assert not unlinked, f"{name}: run ids without a link: {sorted(set(unlinked))[:10]}"
        links = browser.execute_script(
            "return Array.from(document.querySelectorAll('article a')).map(a => a.href)"
            ".filter(h => /runs\\/[^/]+\\/[^/]+\\/train\\.html/.test(h))")
        assert links, f"{name}: no link to a run"
        for href in set(links[:20]):
            assert Path(href.removeprefix("file://").split("#")[0]).is_file(), href


def test_summary_figure_labels_do_not_overlap(built_book, browser):
    """The landing page opens with the answer and its figure, whose labels a reader can read."""
    code, log, html, started = built_book
    assert code == 0, "the book did not build"
    for name in ("index",):
        browser.get((html / "book" / f"{name}.html").as_uri())
        text = browser.execute_script("return document.querySelector('article').innerText")
        first = text[:5000]
        # the answer: three findings first, then the scale, the headline at equal bytes, the capacity question,
        # the paper's own comparison (after the figure)
        first = text[:9000]
        assert all(x in first for x in ("What was rerun:", "At equal real file bytes", "Representative capacity",
                                        "own baselines")), first
        svgs = browser.execute_script(
            "return Array.from(document.querySelectorAll('article img')).map(i => i.src).filter(s => s.endsWith('.svg'))")
        assert svgs, f"{name}: no SVG summary figure"
        browser.get(svgs[0])
        count, overlaps = browser.execute_script(_SVG_OVERLAPS_JS)
        assert count > 20, f"{name}: the figure's text is not text ({count} labels)"
        assert not overlaps, f"{name}: overlapping labels: {overlaps}"


# --- chapter references, tables and figures as the built book shows them ------------------------------------

CHAPTER_REF = re.compile(r"\b(?:[Cc]hapters?|[Cc]h\.)\s+(\d+)\b")


def toc_numbers() -> dict[str, str]:
    """Built page (relative to the HTML root) -> the chapter number the table of contents gives it."""
    return {f"{doc}.html": n for doc, n in toc_pages() if n}


def chapter_reference_problems(page_html: str, page: str, numbers: dict[str, str]) -> list[str]:
    """Every "chapter N" / "ch. N" of a page's prose must be a link to the page the table of contents numbers N."""
    import posixpath

    from bs4 import BeautifulSoup
    soup = BeautifulSoup(page_html, "html.parser")
    main = soup.select_one("article") or soup
    for code in main.select("script, style, pre, .cell_input"):
        code.decompose()
    out = []
    for node in main.find_all(string=CHAPTER_REF):
        for m in CHAPTER_REF.finditer(node):
            a = node.find_parent("a")
            href = (a.get("href") or "").split("#")[0] if a is not None else None
            if href is None or "://" in href:
                out.append(f"{page}: '{m[0]}' is typed, not a reference")
                continue
            target = posixpath.normpath(posixpath.join(posixpath.dirname(page), href)) if href else page
            if numbers.get(target) != m[1]:
                out.append(f"{page}: '{m[0]}' links {target}, which the table of contents numbers "
                           f"{numbers.get(target, 'not at all')}")
    return out


def test_the_reference_check_finds_wrong_and_typed_numbers():
    numbers = {"book/06_claims.html": "6", "book/05_fair_compression.html": "5"}
    good = '<article><p>see <a href="06_claims.html#ch-claims"><span>chapter 6</span></a></p></article>'
    assert chapter_reference_problems(good, "book/index.html", numbers) == []
    wrong = '<article><p>see <a href="06_claims.html#ch-claims">chapter 5</a></p></article>'
    assert "numbers 6" in chapter_reference_problems(wrong, "book/index.html", numbers)[0]
    typed = '<article><p>as chapter 7 shows</p><pre>chapter 9 in code</pre></article>'
    assert chapter_reference_problems(typed, "book/index.html", numbers) == ["book/index.html: 'chapter 7' is typed, "
                                                                               "not a reference"]


def test_chapter_references_agree_with_the_table_of_contents(built_book):
    code, log, html, started = built_book
    assert code == 0, "the book did not build"
    numbers = toc_numbers()
    assert len(numbers) >= 8
    problems = []
    for doc, _ in toc_pages():
        page = html / f"{doc}.html"
        assert page.is_file(), page
        problems += chapter_reference_problems(page.read_text(), f"{doc}.html", numbers)
    footer = (html / "book" / "index.html").read_text()
    assert not re.search(r"\(chapter \d+\)", footer)
    assert not problems, "\n".join(problems)


NEGATIVE_ZERO = re.compile(r"(?<![\d.])[-−]0(?:\.0+)?(?![\d.])")


def table_problems(page_html: str, page: str) -> list[str]:
    """Raw Markdown tables (a table MyST did not parse), ``nan`` cells and negative zeros."""
    from bs4 import BeautifulSoup
    soup = BeautifulSoup(page_html, "html.parser")
    main = soup.select_one("article") or soup
    for code in main.select("script, style, pre, .cell_input"):
        code.decompose()
    out = []
    for p in main.find_all("p"):
        if re.search(r"^\s*\|.*\|\s*$", p.get_text(), re.M) and "---" in p.get_text():
            out.append(f"{page}: raw Markdown table: {p.get_text()[:80]!r}")
    for td in main.find_all(["td", "th"]):
        text = td.get_text(" ", strip=True)
        if text.lower() in ("nan", "none", "<na>") or NEGATIVE_ZERO.search(text):
            out.append(f"{page}: cell {text!r}")
    return out


def test_the_table_check_finds_raw_markdown_nan_and_negative_zero():
    bad = "<article><p>| a | b |\n|---|---|\n| 1 | 2 |</p><table><tr><td>nan</td><td>−0.0</td><td>-0.05</td></tr></table></article>"
    assert len(table_problems(bad, "x")) == 3  # -0.05 is a real number
    assert table_problems("<article><table><tr><td>10.0</td><td>+0.4</td></tr></table></article>", "x") == []


def test_tables_render(built_book):
    code, log, html, started = built_book
    assert code == 0, "the book did not build"
    problems = []
    for name in READER_PAGES:
        page = html / "book" / f"{name}.html"
        problems += table_problems(page.read_text(), name)
    assert not problems, "\n".join(problems[:30])


def test_long_tables_are_compact_and_run_ids_unbroken(built_book, browser):
    """The run index and the appendix's tables are sortable, filterable and paged; run ids stay on one line; the
    appendix fits in 10 screens."""
    code, log, html, started = built_book
    assert code == 0, "the book did not build"
    screens = {}
    for name in ("09_reproducibility", "appendix"):
        browser.get((html / "book" / f"{name}.html").as_uri())
        time.sleep(0.5)
        state = browser.execute_script("""
          const w = Array.from(document.querySelectorAll('.pemn-datatable .datatable-wrapper'));
          const first = Array.from(document.querySelectorAll('.pemn-datatable tbody tr td:first-child'));
          const broken = first.filter(td => { const lh = parseFloat(getComputedStyle(td).lineHeight) ||
              1.5 * parseFloat(getComputedStyle(td).fontSize);
              const a = td.querySelector('a, code') || td; return a.getClientRects().length > 1; })
            .map(td => td.innerText);
          return [w.length, w.filter(x => x.querySelector('input.datatable-input')).length, broken,
                  document.documentElement.scrollHeight, window.innerHeight];""")
        wrappers, searchable, broken, height, screen = state
        assert wrappers >= 1 and searchable == wrappers, f"{name}: long tables not made sortable and filterable"
        assert not broken, f"{name}: run ids broken across lines: {broken[:5]}"
        screens[name] = height / screen
    assert screens["appendix"] < 10, f"the appendix is {screens['appendix']:.1f} screens tall"


# Every text of an SVG figure, at the size the page shows it: font size x the SVG's own scale x the image's.
_SVG_TEXT_PX_JS = """
return Array.from(document.querySelectorAll('text')).filter(t => t.textContent.trim()).map(t => {
  const m = t.getScreenCTM();
  return [t.textContent.trim().slice(0, 30), parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b)];
});
"""
MIN_TEXT_PX = 12.0  # 9 pt at 96 CSS px per inch


def test_figure_text_is_at_least_9pt_at_display_size(built_book, browser):
    """Every figure of every chapter is SVG (its text measurable) and none of its text is below 9 pt as shown."""
    code, log, html, started = built_book
    assert code == 0, "the book did not build"
    problems, figures = [], 0
    for name in READER_PAGES:
        browser.get((html / "book" / f"{name}.html").as_uri())
        imgs = browser.execute_script(
            "return Array.from(document.querySelectorAll('article img')).map(i => [i.src, "
            "i.getBoundingClientRect().width, i.naturalWidth])")
        raster = [src for src, _, _ in imgs if not src.endswith(".svg")]
        if raster:
            problems.append(f"{name}: figures that are not SVG: {raster}")
        for src, shown, natural in [x for x in imgs if x[0].endswith(".svg")]:
            figures += 1
            browser.get(src)
            scale = shown / natural if natural else 1.0
            small = [(t, round(px * scale, 1)) for t, px in browser.execute_script(_SVG_TEXT_PX_JS)
                     if px * scale < MIN_TEXT_PX - 0.05]
            if small:
                problems.append(f"{name}: {src.split('/')[-1]} shown at {scale:.2f}: text below 9 pt: {small[:6]}")
    assert figures >= 6, f"only {figures} SVG figures found"
    assert not problems, "\n".join(problems)


# The top of each needle's first occurrence in the page, in CSS px from the top of the window (-1: not found)
_NEEDLE_TOPS_JS = """
const needles = arguments[0], out = {};
for (const n of needles) {
  const walk = document.createTreeWalker(document.querySelector('article'), NodeFilter.SHOW_TEXT);
  out[n] = -1;
  while (walk.nextNode()) {
    const i = walk.currentNode.textContent.indexOf(n);
    if (i >= 0) { const r = document.createRange(); r.setStart(walk.currentNode, i); r.setEnd(walk.currentNode, i + n.length);
                  out[n] = r.getBoundingClientRect().top; break; }
  }
}
return out;
"""


def test_the_landing_pages_first_screen_states_the_three_findings(built_book, browser):
    """A reader sees the findings' numbers, read from the same facts, on the first screen (1300 x 1000)."""
    import re as _re

    from pemn.report.findings import findings
    rc, log, html, _ = built_book
    assert rc == 0, log[-3000:]
    sentences = findings("cpu")
    assert len(sentences) == 3
    needles = sorted({m for s in sentences[:2] for m in _re.findall(r"\d+\.\d%", s)})
    assert len(needles) >= 5  # ours and the paper's mask and dense; PEMN, its best rival and PRANC at equal bytes
    browser.set_window_size(1300, 1000)
    browser.get((html / "book" / "index.html").as_uri())
    tops = browser.execute_script(_NEEDLE_TOPS_JS, needles)
    height = browser.execute_script("return window.innerHeight")
    assert all(0 <= tops[n] < height for n in needles), (tops, height)
