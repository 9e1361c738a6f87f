"""What the book's sources may say: no result typed into the prose, chapter references through Sphinx's own
roles, tables whose cells cannot break, and a README whose figures agree with the records.

The checks over the built HTML (references, tables, figures in a browser) are in ``tests/test_book.py``, beside
the build they read; these need no build.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from pemn.report import display
from pemn.report.notebooks import toc_pages

REPO = Path(__file__).resolve().parents[1]

# A percentage or a duration written out in the book's markdown is a result typed by hand: it goes stale the day
# the runs change. The prose quotes results through MyST-NB's {glue:text} roles (pemn.report.facts) or prints them
# from pemn.report functions. Allowed: the figures the paper itself quotes, which no run of ours can move.
PERCENT = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s*(?:%|percent\b)")
DURATION = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s*(?:h|hours?|min|minutes?|s|secs?|seconds?|ms|days?|GPU-days|"
                      r"GPU-hours|H100-hours)\b")
PAPER_PERCENTS = {"90", "92", "94", "96"}  # the paper's compression targets of Fig. 4 and 5, as it quotes them


def book_markdown() -> list[tuple[str, str]]:
    """(page, markdown source) of every page of the table of contents (notebook markdown cells, Markdown pages)."""
    out = []
    for doc, _ in toc_pages():
        nb, page = REPO / f"{doc}.ipynb", REPO / f"{doc}.md"
        if nb.is_file():
            out += [(doc, "".join(c["source"])) for c in json.loads(nb.read_text())["cells"]
                    if c["cell_type"] == "markdown"]
        elif page.is_file():
            out.append((doc, page.read_text()))
    return out


def typed_results(text: str) -> list[str]:
    """Percentages (outside the allow-list) and durations written out in ``text`` (math and code left aside)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$|`[^`\n]*`", "", text)
    found = [m[0] for m in PERCENT.finditer(text) if m[1] not in PAPER_PERCENTS]
    return found + [m[0] for m in DURATION.finditer(text)]


def test_the_literal_check_finds_typed_results():
    assert typed_results("masks reach 52.0 % against 61.5% of dense") == ["52.0 %", "61.5%"]
    assert typed_results("remade in 2.1 hours (13.4 h, 356 s per run)") == ["2.1 hours", "13.4 h", "356 s"]
    assert typed_results("at 90, 92, 94 and 96 % compression") == []  # the paper's own targets
    assert typed_results("mask reaches {glue:text}`cap_convmixer_mask` % in {glue:text}`hours` hours") == []
    assert typed_results("$10^{-5} d_m$ and `epochs*2//5`") == []


def test_no_result_is_typed_into_the_book():
    pages = book_markdown()
    assert len(pages) > 20
    typed = [f"{doc}: {hit}" for doc, text in pages for hit in typed_results(text)]
    assert not typed, "results typed into the prose (quote them with {glue:text} from pemn.report.facts):\n" + \
        "\n".join(typed)


# A verdict is the claims engine's word, glued into the prose ({glue:text}`v43_fig5_1`), never typed: typed, it goes
# stale or contradicts the engine, as "against those its claim holds here too" did while the claims chapter rated
# that claim inconclusive. The words may be typed only where the outcome scale itself is named or defined.
VERDICT_WORDS = re.compile(r"\b(?:held|holds|reproduced|inconclusive)\b", re.I)
SCALE = re.compile(r"held,\s+not\s+held,?\s+(?:or|and)\s+inconclusive")  # the scale named as a whole, nothing judged
VERDICT_ALLOWED = {
    "book/02_method": (SCALE,),
    "book/index": (SCALE,),
    # the claims chapter defines each outcome in a list: "- **held**: every comparison ... holds after Holm's ..."
    "book/06_claims": (re.compile(r"^- \*\*(?:held|not held|inconclusive|not tested)\*\*:[^\n]*(?:\n  [^\n]*)*", re.M),),
    # the budget chapter restates the rule for its equal-bytes verdict, and "holds" there means "contains"
    "book/07_budget": (re.compile(r"PEMN is \*held\* to be at least as accurate when it beats every competitor after "
                                  r"Holm's correction, \*not held\* when\s+one competitor is significantly better"),),
}


def typed_verdicts(doc: str, text: str) -> list[str]:
    """Verdict words written out in ``text`` (a page's markdown): outside glue roles, code, math, "held-out" and the
    page's allowed definitions, with the words around each."""
    for allowed in VERDICT_ALLOWED.get(doc, ()):
        text = allowed.sub("", text)
    text = re.sub(r"\{glue:text\}`[^`]*`|`[^`\n]*`|\$[^$\n]*\$|\bheld-out\b", "", text)
    return [text[max(0, m.start() - 40):m.end() + 20].replace("\n", " ") for m in VERDICT_WORDS.finditer(text)]


def test_the_verdict_check_finds_typed_verdicts():
    assert typed_verdicts("book/05_fair_compression", "against those its claim holds here too") != []
    assert typed_verdicts("book/05_fair_compression", "the paper's Fig. 4 claim holds against its own baselines")
    assert typed_verdicts("book/index", "Reproduced: the paper's Fig. 3") != []
    assert typed_verdicts("book/05_fair_compression", "its claim is *{glue:text}`v43_fig5_1`* here") == []
    assert typed_verdicts("book/08_scale", "a rate chosen on held-out data, `held` in code") == []
    assert typed_verdicts("book/02_method", "calls it held, not held or inconclusive") == []
    assert typed_verdicts("book/03_capacity", "calls it held, not held or inconclusive") != []  # not where defined
    assert len(typed_verdicts("book/06_claims", "- **held**: every comparison holds after Holm,\n  that is it.\nIt "
                                                "held.")) == 1


def test_no_verdict_is_typed_into_the_book():
    typed = [f"{doc}: ...{hit}..." for doc, text in book_markdown() for hit in typed_verdicts(doc, text)]
    assert not typed, "verdict words typed into the prose (glue the claims engine's verdict from pemn.report.facts):\n" \
        + "\n".join(typed)


def test_chapter_numbers_are_never_typed():
    """A chapter is referred to through {numref} (its number comes from the table of contents), never by hand."""
    typed = [f"{doc}: {m[0]}" for doc, text in book_markdown()
             for m in re.finditer(r"\b(?:[Cc]hapters?|[Cc]h\.)\s+\d+", re.sub(r"\{numref\}`[^`]*`", "", text))]
    assert not typed, typed


def test_glue_keys_quoted_exist_in_the_facts():
    """Every {glue:text}`key` of a chapter is a fact its glue cell computes (on the committed cpu runs)."""
    from pemn.report.facts import FACTS, facts
    missing = []
    for doc, _ in toc_pages():
        nb = REPO / f"{doc}.ipynb"
        if not nb.is_file():
            continue
        cells = json.loads(nb.read_text())["cells"]
        keys = {k for c in cells if c["cell_type"] == "markdown" for k in re.findall(r"\{glue:text\}`([^`:]+)", "".join(c["source"]))}
        if not keys:
            continue
        calls = [m for c in cells if c["cell_type"] == "code"
                 for m in re.findall(r'glue_facts\(profile((?:, "\w+")+)\)', "".join(c["source"]))]
        assert len(calls) == 1, f"{doc}: {len(calls)} glue_facts calls (one, or MyST-NB warns of keys glued twice)"
        chapters = set(re.findall(r'"(\w+)"', calls[0]))
        assert chapters and chapters <= set(FACTS), f"{doc}: quotes facts but has no glue_facts cell"
        have = set().union(*(facts("cpu", ch) for ch in chapters))
        missing += [f"{doc}: {k}" for k in sorted(keys - have)]
    assert not missing, missing


def test_facts_glued_from_several_chapters_are_glued_once_and_must_agree(monkeypatch):
    import importlib
    import myst_nb
    facts_module = importlib.import_module("pemn.report.facts")
    glued = []
    monkeypatch.setattr(myst_nb, "glue", lambda k, v, display: glued.append((k, v)))
    monkeypatch.setattr(facts_module, "FACTS", {"a": lambda p: {"x": 1, "shared": "s"}, "b": lambda p: {"shared": "s", "y": 2}})
    facts_module.glue_facts("cpu", "a", "b")
    assert glued == [("x", "1"), ("shared", "s"), ("y", "2")]
    monkeypatch.setattr(facts_module, "FACTS", {"a": lambda p: {"shared": "s"}, "b": lambda p: {"shared": "t"}})
    with pytest.raises(ValueError, match="'shared' differs"):
        facts_module.glue_facts("cpu", "a", "b")


def test_a_chapter_reference_is_a_numbered_reference():
    assert display.ch("claims") == "{numref}`chapter %s <ch-claims>`"
    assert display.ch("fair", capital=True) == "{numref}`Chapter %s <ch-fair>`"
    with pytest.raises(ValueError, match="unknown chapter"):
        display.ch("nowhere")
    labels = {f"ch-{n}" for n in display.CHAPTERS}
    for doc, number in toc_pages():
        nb = REPO / f"{doc}.ipynb"
        if number and nb.is_file():
            first = "".join(json.loads(nb.read_text())["cells"][0]["source"])
            m = re.match(r"\((ch-[a-z]+)\)=\n#", first)
            assert m and m[1] in labels, f"{doc} does not open with a chapter label known to display.ch"


def test_table_cells_have_no_nan_negative_zero_or_pipe():
    t = pd.DataFrame({"largest |file − formula|": [1.5, float("nan"), -0.0], "b": ["-0.0", "a|b", None],
                      "c": [1, 2, 3]})
    md = display.table_md(t)
    lines = md.splitlines()
    assert len(lines) == 5 and all(line.count(" | ") == 2 for line in lines[2:])
    assert "nan" not in md.lower() and "-0" not in md and "None" not in md
    assert lines[0] == r"| largest \|file − formula\| | b | c |"
    assert lines[3] == r"|  | a\|b | 2 |" and lines[4] == "| 0 |  | 3 |"


def test_readme_figures_agree_with_the_records():
    """The README's run counts, hours and hardware table are the generated block, as the records give it now."""
    from pemn.report.readme import README, readme_block, records_block
    block = readme_block(README.read_text())
    assert block is not None, "README.md lost its generated block"
    assert block == records_block(), ("README.md disagrees with the run records: run "
                                      "`python -m pemn.report --readme`")
    others = README.read_text().replace(block, "")
    for stale in ("8.3 h", "6.8 h", "38.2 %", "50.9 %", "356 s", "207 runs"):
        assert stale not in others, stale


HIDDEN = {"remove-input", "remove-cell", "hide-input"}  # the code of a chapter's cell is the library's, not prose


def test_no_chapter_shows_its_code():
    """Every code cell of the book's notebooks hides its input: a reader sees results, the code is the library's
    (the parameters cell is folded, hide-input, so a reader can see what papermill may change)."""
    shown = []
    for doc, _ in toc_pages():
        nb = REPO / f"{doc}.ipynb"
        if nb.is_file():
            shown += [f"{doc} cell {i}: {''.join(c['source'])[:60]!r}"
                      for i, c in enumerate(json.loads(nb.read_text())["cells"])
                      if c["cell_type"] == "code" and not HIDDEN & set(c.get("metadata", {}).get("tags", []))]
    assert not shown, "code cells shown in the book:\n" + "\n".join(shown)
