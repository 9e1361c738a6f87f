"""The paper's own numbers for Fig. 3, 4 and 5, read from the authors' vector figures.

The official repository (github.com/yueb17/PEMN, branch ``homepage``, ``figs/``) holds the figures as SVG,
converted from matplotlib by cairo: every line vertex and marker is a path with exact coordinates, the ticks are
short paths each followed by its label as ``<text>``, and the legend draws each series' handle (line sample and
marker) before its label. So the values can be *computed* rather than guessed from a picture: a pixel becomes a
value by a straight-line fit through the tick positions and their labels, and a data line becomes a legend series
by its style (colour, width, dashes, opacity, and its markers' shape). Each file has one axes; two networks share
it (the legend label's suffix, e.g. ``Mask_256`` or ``Ours_d8``, names the panel).

``python -m pemn.paper_values --write`` rewrites ``paper_values.csv`` next to this module; ``load()`` reads it.
The x column holds text: a Fig. 3 strategy (``Mask`` ... ``RP_1e-5``), a Fig. 4/5 compression ratio in % (the
axis' "Size Compression Ratio (%)"), or ``all`` for a dense horizontal line drawn across the whole axes.
"""
from __future__ import annotations

import io
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd

SOURCE_COMMIT = "c4af199f83bcd76f2986a10afa0222663e2385e4"
CSV = Path(__file__).with_name("paper_values.csv")
COLUMNS = ["figure", "source_file", "source_commit", "panel", "series", "x", "y", "how"]
SVG = "{http://www.w3.org/2000/svg}"

# file -> (figure, panel template); {s} is the legend suffix (width, depth or ResNet depth) without a leading "d".
FILES = {
    "plot_convmixer_d6.svg": ("Fig. 3", "ConvMixer-{s}/6"),
    "plot_convmixer_d8.svg": ("Fig. 3", "ConvMixer-{s}/8"),
    "plot_vit_d6.svg": ("Fig. 3", "ViT-{s}/6"),
    "plot_vit_d8.svg": ("Fig. 3", "ViT-{s}/8"),
    "plot_cifar10_resnet.svg": ("Fig. 4", "ResNet{s} CIFAR-10"),
    "plot_cifar100_resnet.svg": ("Fig. 4", "ResNet{s} CIFAR-100"),
    "_plot_cifar10_convmixer.svg": ("Fig. 5", "ConvMixer/{s} CIFAR-10"),
}
NUM = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE]-?\d+)?")
TOL_PX = 0.05  # a vertex within this many pixels of a tick is on it; a fit worse than this is not a linear axis


def _path(el: ET.Element) -> dict:
    """A path's style and its points in page pixels (its transform applied; y grows downward)."""
    d = el.get("d", "")
    letters = "".join(re.findall(r"[A-Za-z]", d))
    if set(letters) - set("MLCZ"):
        raise ValueError(f"path command other than absolute M/L/C/Z: {letters!r}")
    m = re.match(r"matrix\(([^)]*)\)", el.get("transform", ""))
    a, b, c, dd, e, f = [float(v) for v in re.split(r"[ ,]+", m.group(1).strip())] if m else (1, 0, 0, 1, 0, 0)
    xy = np.array([float(v) for v in NUM.findall(d)]).reshape(-1, 2)
    pts = np.column_stack([a * xy[:, 0] + c * xy[:, 1] + e, b * xy[:, 0] + dd * xy[:, 1] + f])
    return {"kind": "path", "attrs": dict(el.attrib), "letters": letters, "pts": pts}


def _flatten(root: ET.Element) -> list[dict]:
    """Paths and texts in drawing order, each with the clip rectangle it is drawn in (None when unclipped)."""
    clips = {cp.get("id"): _path(cp.find(f"{SVG}path"))["pts"] for cp in root.iter(f"{SVG}clipPath")}
    out: list[dict] = []

    def walk(el, clip, axes_clip):
        for c in el:
            tag = c.tag.replace(SVG, "")
            if tag == "g":
                ref = re.match(r"url\(#(.*)\)", c.get("clip-path", ""))
                rect = clips[ref.group(1)] if ref else None
                big = rect is not None and np.ptp(rect[:, 0]) > 50
                walk(c, rect if rect is not None else clip, rect if big else axes_clip)
            elif tag == "path":
                out.append({**_path(c), "clip": clip, "axes": axes_clip})
            elif tag == "text":
                out.append({"kind": "text", "label": "".join(c.itertext()), "clip": clip, "axes": axes_clip})

    walk(root, None, None)
    return out


def _is_marker(p: dict) -> bool:
    """A marker is a closed, filled, unstroked path (its outline is drawn again as a separate stroked twin)."""
    return p["letters"].endswith("Z") and "stroke" not in p["attrs"] and p["attrs"].get("fill", "none") != "none"


def _is_line(p: dict) -> bool:
    """A data line (or legend sample): stroked, unfilled, open, and not a faint grid line."""
    at = p["attrs"]
    return ("stroke" in at and at.get("fill") == "none" and not p["letters"].endswith("Z")
            and at.get("stroke-opacity") != ".1")


def _line_style(p: dict) -> tuple:
    return tuple(p["attrs"].get(k) for k in ("stroke", "stroke-width", "stroke-dasharray", "stroke-opacity",
                                             "stroke-linecap"))


def _marker_shape(p: dict) -> tuple:
    """Shape key: path commands, size, fill; independent of where the marker is drawn."""
    w, h = np.ptp(p["pts"], axis=0)
    return (p["letters"], round(float(w), 1), round(float(h), 1), p["attrs"].get("fill"),
            p["attrs"].get("fill-opacity"))


def _centre(p: dict) -> np.ndarray:
    return (p["pts"].min(axis=0) + p["pts"].max(axis=0)) / 2


def _ticks(items: list[dict]) -> tuple[list, list]:
    """(pixel, label) of every x and y tick: a short black .8-wide unclipped mark, then its label text."""
    xt, yt, pending = [], [], None
    for it in items:
        if it["kind"] == "path" and it["clip"] is None and it["attrs"].get("stroke-width") == ".8" \
                and len(it["pts"]) == 2:
            (x0, y0), (x1, y1) = it["pts"]
            if 2 <= abs(x1 - x0) + abs(y1 - y0) <= 6:
                pending = ("x", x0) if abs(x1 - x0) < 1e-9 else ("y", y0)
        elif it["kind"] == "text" and pending is not None:
            (xt if pending[0] == "x" else yt).append((pending[1], it["label"].strip()))
            pending = None
    return xt, yt


def _fit(ticks: list, axis: str) -> tuple:
    """Linear map pixel -> value through the numeric ticks; refuses an axis that is not linear."""
    px = np.array([p for p, _ in ticks])
    val = np.array([float(lab) for _, lab in ticks])
    slope, icpt = np.polyfit(px, val, 1)
    resid = float(np.max(np.abs(px - (val - icpt) / slope)))
    if len(ticks) < 3 or resid > TOL_PX:
        raise ValueError(f"{axis} axis: {len(ticks)} ticks, residual {resid:.3f} px: not a linear axis")
    return slope, icpt, f"{axis} by {len(ticks)}-tick linear fit, residual {resid:.2f} px"


def _is_number(s: str) -> bool:
    return NUM.fullmatch(s) is not None


def read_svg(path: str | Path) -> list[dict]:
    """Every data point of one figure file as records with the CSV's columns (y in %, rounded to 2 decimals)."""
    path = Path(path)
    figure, template = FILES[path.name]
    items = _flatten(ET.parse(path).getroot())
    axes = {tuple(np.round(it["axes"], 3).ravel()) for it in items if it["axes"] is not None}
    if len(axes) != 1:
        raise ValueError(f"{path.name}: {len(axes)} axes; this reader expects one")
    ax = np.array(next(iter(axes))).reshape(-1, 2)
    xt, yt = _ticks(items)
    ys, yi, yhow = _fit(yt, "y")
    xt = [(p, lab) for p, lab in xt if lab]  # matplotlib's blank end ticks of the categorical axis
    numeric_x = all(_is_number(lab) for _, lab in xt)
    if numeric_x:
        xs, xi, xhow = _fit(xt, "x")

    # data: each line, then the markers drawn on it
    series, last = [], max(i for i, it in enumerate(items) if it["clip"] is not None)
    for it in items[:last + 1]:
        if it["kind"] != "path" or it["clip"] is None:
            continue
        if _is_line(it):
            series.append({"style": _line_style(it), "pts": it["pts"], "markers": []})
        elif _is_marker(it):
            if not series:
                raise ValueError(f"{path.name}: a marker before any line")
            series[-1]["markers"].append(it)

    # legend: after the data, each label follows its handles; spines and the frame are long/wide and skipped
    legend, handles = [], []
    for it in items[last + 1:]:
        if it["kind"] == "text":
            line = [h for h in handles if _is_line(h)]
            mark = [h for h in handles if _is_marker(h)]
            legend.append({"label": it["label"].strip(), "style": _line_style(line[0]) if line else None,
                           "marker": _marker_shape(mark[0]) if mark else None})
            handles = []
        elif np.ptp(it["pts"], axis=0).max() < 50:
            handles.append(it)

    records, used = [], set()
    for s in series:
        shapes = {_marker_shape(m) for m in s["markers"]}
        if len(shapes) > 1:
            raise ValueError(f"{path.name}: one line with markers of {len(shapes)} shapes")
        key = (s["style"], shapes.pop() if shapes else None)
        hits = [i for i, e in enumerate(legend) if (e["style"], e["marker"]) == key]
        if len(hits) != 1 or hits[0] in used:
            raise ValueError(f"{path.name}: a line matches legend entries {hits} (already used: {sorted(used)})")
        used.add(hits[0])
        method, _, suffix = legend[hits[0]]["label"].rpartition("_")
        base = {"figure": figure, "source_file": path.name, "source_commit": SOURCE_COMMIT,
                "panel": template.format(s=suffix.lstrip("d")), "series": method}
        pts = s["pts"]
        if len(pts) == 2 and abs(pts[0, 1] - pts[1, 1]) < 1e-9 and pts[:, 0].min() < ax[:, 0].min() \
                and pts[:, 0].max() > ax[:, 0].max():
            records.append({**base, "x": "all", "y": round(float(ys * pts[0, 1] + yi), 2),
                            "how": f"horizontal line across the axes; {yhow}"})
            continue
        if s["markers"]:
            centres = np.array([_centre(m) for m in s["markers"]])
            if centres.shape != pts.shape or np.max(np.abs(centres - pts)) > TOL_PX:
                raise ValueError(f"{path.name}: {legend[hits[0]]['label']}: markers are not on the line's vertices")
            where = f"marker centre on line vertex ({np.max(np.abs(centres - pts)):.3f} px)"
        else:
            where = "line vertex"
        for px, py in pts:
            if numeric_x:
                x, how_x = str(round(float(xs * px + xi), 2)), xhow
            else:
                near = [lab for p, lab in xt if abs(p - px) < TOL_PX]
                if len(near) != 1:
                    raise ValueError(f"{path.name}: vertex at x={px:.3f} px is on {len(near)} tick labels")
                x, how_x = near[0], "x: tick label at that pixel"
            if not (ax[:, 0].min() - TOL_PX <= px <= ax[:, 0].max() + TOL_PX):
                raise ValueError(f"{path.name}: a point outside the axes at x={px:.3f} px")
            edge = " (on the axes' left edge)" if abs(px - ax[:, 0].min()) < TOL_PX and numeric_x else ""
            records.append({**base, "x": x, "y": round(float(ys * py + yi), 2),
                            "how": f"{where}{edge}; {how_x}; {yhow}"})
    missing = [e["label"] for i, e in enumerate(legend) if i not in used]
    if missing:
        raise ValueError(f"{path.name}: legend series without points: {missing}")
    return records


def derive_all(folder: str | Path) -> list[dict]:
    """All seven files' points, in a fixed order (figure, then file as listed in FILES, then drawing order)."""
    order = sorted(FILES, key=lambda f: (FILES[f][0], list(FILES).index(f)))
    return [r for f in order for r in read_svg(Path(folder) / f)]


def to_csv_text(records: list[dict]) -> str:
    """The CSV exactly as committed: one writer for both ``--write`` and the test's comparison."""
    buf = io.StringIO()
    pd.DataFrame(records, columns=COLUMNS).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def load() -> pd.DataFrame:
    """The committed values; x stays text (categories and ratios share the column: ``pd.to_numeric`` for Fig. 4/5)."""
    return pd.read_csv(CSV, dtype={"x": str})


def gap_to_dense(df: pd.DataFrame, panel: str) -> dict:
    """A Fig. 3 panel's dense and Mask accuracy, their gap in points and ratio: the figures the book quotes."""
    rows = df[(df["figure"] == "Fig. 3") & (df["panel"] == panel)]
    if rows.empty:
        raise KeyError(f"no Fig. 3 panel {panel!r}")
    dense = float(rows.loc[rows["series"] == "Dense", "y"].item())
    mask = float(rows.loc[rows["series"] == "Mask", "y"].item())
    return {"panel": panel, "dense": dense, "mask": mask, "gap": round(dense - mask, 2),
            "ratio": round(mask / dense, 4)}


def default_folder() -> Path:
    """Where the study keeps the authors' figures: ``shared/paper/official-figs`` beside the checkout."""
    return Path(__file__).resolve().parents[2] / "shared" / "paper" / "official-figs"


if __name__ == "__main__":
    text = to_csv_text(derive_all(sys.argv[2] if len(sys.argv) > 2 else default_folder()))
    if "--write" in sys.argv[1:2]:
        CSV.write_text(text)
        print(f"wrote {CSV} ({text.count(chr(10)) - 1} values)")
    else:
        sys.stdout.write(text)
