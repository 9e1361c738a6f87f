"""Methods as plug-ins: the registry is the only place that names them, and the package's import graph is clean."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pemn import methods

PACKAGE = Path(__file__).resolve().parents[1] / "pemn"
NAMES = "|".join(sorted(methods.names(), key=len, reverse=True))
LISTS = r"\b(STRATEGIES|PEMN_STRATEGIES|FAIR_METHODS|BASELINES|BASELINE_METHODS|MAGNITUDE_METHODS|METHODS)\b"
# a line about a method (its strategy, its method column) that compares it with a method's name, tests it against
# a literal or a list of names, or keys a literal table by one
ABOUT = re.compile(r"strategy|method")
BRANCH = re.compile(rf"""(==|!=)\s*["']({NAMES})["']|["']({NAMES})["']\s*(==|!=)"""
                    rf"""|\bin\s*[(\[{{][^)\]}}]*["']({NAMES})["']|\{{\s*["']({NAMES})["']\s*:|\bin\s+{LISTS}""")
# the layouts of the PEMN family (named by the strategy each implements), and the grids, which list their runs
EXEMPT = ("pemn.methods", "pemn.strategies", "pemn.grids")


def modules() -> dict[str, Path]:
    out = {}
    for f in PACKAGE.rglob("*.py"):
        parts = list(f.relative_to(PACKAGE.parent).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def test_every_method_is_registered_once_with_a_colour_and_family():
    assert set(methods.names()) == {"dense", "mask", "one_layer", "mp", "rp", "random_sparse", "magnitude_sparse",
                                    "erk_random", "erk_magnitude", "quantized", "binary", "pranc"}
    colours = {}
    for m in methods.REGISTRY.values():
        assert m.family and m.colour.startswith("#")
        colours.setdefault(m.family, m.colour)
        assert colours[m.family] == m.colour  # one colour per family
    assert len(set(colours.values())) == len(colours)
    with pytest.raises(ValueError, match="registered twice"):
        methods.register(methods.get("dense"))
    with pytest.raises(ValueError, match="unknown strategy 'nope'; valid: dense"):
        methods.get("nope")


def test_no_module_outside_the_registry_branches_on_a_method_name():
    found = []
    for name, path in modules().items():
        if name.startswith(EXEMPT):
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if ABOUT.search(code) and BRANCH.search(code):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{i}: {line.strip()}")
    assert not found, "method names outside pemn/methods/:\n" + "\n".join(found)


def test_the_branch_check_can_fail():
    for line in ('if cfg.strategy == "dense":', 'x = strategy in ("mask", "rp")', 'return {"mp": "MP"}.get(strategy)',
                 'if "binary" != method:', 'if cfg.strategy in FAIR_METHODS:'):
        assert ABOUT.search(line) and BRANCH.search(line), line
    assert not BRANCH.search('method_label = "dense (float32)"')


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    graph = {}
    for mod, f in mods.items():
        package = mod.split(".") if f.name == "__init__.py" else mod.split(".")[:-1]
        deps = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package[:len(package) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
                subs = {f"{target}.{a.name}" for a in node.names} & set(mods)
                deps |= (subs if len(subs) == len(node.names) else subs | {target}) & set(mods)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names} & set(mods)
        graph[mod] = deps - {mod}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_has_no_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_check_can_fail():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def test_every_module_reads_in_one_sitting():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 500}
    assert not long


def outside_users() -> set[str]:
    """Modules the package's users name: ``python -m pemn.x`` in the Makefile and scripts, imports in the notebooks."""
    root = PACKAGE.parent
    texts = [root / "Makefile", *(root / "scripts").glob("*"), *(root / "book").rglob("*.ipynb"), *root.glob(".ci/*")]
    named = set()
    for t in texts:
        if t.is_file() and "_build" not in t.parts:
            text = t.read_text(errors="replace")
            named |= set(re.findall(r"\bpemn(?:\.\w+)+", text))
            named |= {f"pemn.{m}" for m in re.findall(r"from pemn import (\w+)", text)}
            named |= {f"pemn.{p}.{m}" for p, m in re.findall(r"from pemn\.(\w+) import (\w+)", text)}
    return named


def test_no_module_is_dead():
    """Every module is imported by another one, run or imported by the Makefile, scripts or notebooks, or is a
    package's ``__main__``."""
    graph = import_graph()
    used = set().union(*graph.values()) | outside_users()
    dead = [m for m, f in modules().items() if f.name not in ("__init__.py", "__main__.py") and m not in used]
    assert not dead


def test_benchmarks_live_in_the_bench_package():
    assert not [m for m in modules() if m.count(".") == 1 and m != "pemn.bench" and re.search(r"bench|estimate", m)]
