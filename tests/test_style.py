"""One figure style across the book: one look (colour and marker) per method, no two methods alike, and every
chapter's figure draws each method in that look (its legend entries are checked on the committed runs)."""
import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from pemn.report import style  # noqa: E402


def test_no_two_methods_share_a_look_or_a_marker():
    looks = style.looks()
    assert len(looks) >= 16
    markers = [m for _, m in looks.values()]
    assert len(set(markers)) == len(markers), "two methods share a marker: " + str(looks)
    colours = [to_hex(c) for c, _ in looks.values()]
    assert len(set(colours)) == len(colours), "two methods share a colour: " + str(looks)


def test_every_name_of_a_method_gets_its_look():
    """A method has several names in the book (strategy label, legend title, family, registry name): one look."""
    same = [("RP 1e-2", "PEMN (RP 1e-2)"), ("RP 1e-4", "RP 1e-4/1e-5"), ("MP", "PEMN (MP)"),
            ("random pruning", "random pruning 90%", "paper's random sparse", "random_sparse"),
            ("magnitude pruning", "magnitude pruning 96%", "paper's magnitude sparse *"),
            ("erk_magnitude", "ERK magnitude sparse (float32)"), ("quantized", "ERK magnitude, 4-bit values"),
            ("binary", "binary weights (sign x scale)"), ("pranc", "PRANC (seed + k coefficients)"),
            ("dense", "dense (float32)")]
    for names in same:
        looks = {str(style.method_style(n)) for n in names}
        assert len(looks) == 1, (names, looks)
    for other in ("ConvMixer-64/6", "one seed", "Pareto front (seed means)", "PEMN"):
        assert style.method_of(other) is None
        with pytest.raises(KeyError):
            style.method_style(other)


def _chapter_figures(monkeypatch) -> dict[str, list]:
    """Every figure the chapters' show functions draw on the committed ``cpu`` runs, by chapter."""
    from pemn import report
    from pemn.report import budget, display, fair, lr_select, scale
    drawn: list = []
    monkeypatch.setattr(display, "show_fig", lambda fig, text: drawn.append(fig))
    monkeypatch.setattr(display, "show_svg", lambda fig, text: drawn.append(fig))
    monkeypatch.setattr(display, "md", lambda text: None)
    monkeypatch.setattr(display, "show_table", lambda *a, **k: None)
    chapters = {"index": lambda: report.show_answer("cpu"), "capacity": lambda: (report.show_fig3("cpu"),
                                                                                  report.show_size("cpu")),
                "compression": lambda: (report.show_compression("cpu", "fig4"), report.show_compression("cpu", "fig5")),
                "fair": lambda: (fair.show_frontier("cpu", 0), fair.show_frontier("cpu", 1)),
                "budget": lambda: budget.show_gaps("cpu"), "scale": lambda: (scale.show_gaps("cpu"),
                                                                              scale.show_bytes("cpu"),
                                                                              lr_select.show_lr_check("cpu"))}
    out = {}
    for name, show in chapters.items():
        drawn.clear()
        show()
        out[name] = list(drawn)
    return out


def _legend_entries(fig):
    for legend in [*fig.legends, *(ax.get_legend() for ax in fig.axes)]:
        if legend is None:
            continue
        yield from zip(legend.legend_handles, (t.get_text() for t in legend.get_texts()))


def test_every_chapter_draws_each_method_in_its_one_look(monkeypatch):
    from pemn.runs import current_records
    if not current_records("cpu"):
        pytest.skip("no committed cpu runs")
    figures = _chapter_figures(monkeypatch)
    assert sum(len(f) for f in figures.values()) >= 8
    wrong, seen = [], {}
    for chapter, figs in figures.items():
        for fig in figs:
            for handle, label in _legend_entries(fig):
                if style.method_of(label) is None:
                    continue
                want = style.method_style(label)
                colour = handle.get_color() if hasattr(handle, "get_color") else handle.get_facecolor()[0]
                marker = handle.get_marker() if hasattr(handle, "get_marker") else want["marker"]
                got = (to_hex(colour), marker)
                seen.setdefault(style.method_of(label), set()).add((chapter, got))
                if got != (to_hex(want["color"]), want["marker"]):
                    wrong.append(f"{chapter}: {label!r} drawn as {got}, its look is {want}")
    assert not wrong, "\n".join(wrong)
    assert {"RP 1e-2", "mask", "MP", "binary"} <= set(seen), seen  # the methods the complaints were about


def test_only_the_style_module_reads_a_methods_colour_or_marker():
    """A figure module takes a method's look from style.method_style, never from the registry or a table column of
    its own (two sources of one look is how a light-blue square came to mean two methods)."""
    import re
    from pathlib import Path
    report = Path(style.__file__).parent
    pattern = re.compile(r"\.colour\b|\.marker\b|\[\"colour\"\]|family_colour|MARKERS\s*=")
    offenders = [f"{p.name}:{i}: {line.strip()}" for p in sorted(report.glob("*.py")) if p.name != "style.py"
                 for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not offenders, "\n".join(offenders)
