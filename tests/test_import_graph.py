"""The package's import graph (read with ``ast``, nothing imported): no circles, no upward imports.

Every ``import``/``from ... import`` of a ``genobench_hf`` module is an edge, at module level or inside a
function alike (a lazy import is still a dependency), and so is ``importlib.import_module("genobench_hf.x")``
with a literal name. Importing ``a.b.c`` also runs ``a/__init__`` and ``a/b/__init__``, so those packages
are edges too, except the importer's own enclosing packages (already running when it runs) and the root
``genobench_hf``, which every module enters and whose ``__init__`` therefore may import nothing at module
level (checked below). Imports under ``if TYPE_CHECKING:`` never run: they are left out of the circle check
(they cannot make one at run time) but still must not point upward.

Layers, bottom first (a module may import its own layer and the ones below): the contract and catalog
(types, configs, seeds, errors, results schema), data, scoring (tokenizer alignment, scorers, models,
metrics, the executor), tasks, the run (runner, model provider, training, compare), the report, and the
commands (CLI, the Python API).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "genobench_hf"
ROOT = "genobench_hf"

#: layer name -> module prefixes (below ``genobench_hf``); a module is in the layer of its longest matching
#: prefix ("" = the root package, the API)
_LAYER_TEXT = {
    "contract": "errors seeding version task_config contract content costs progress threads devices system "
    "outputs results outcomes cards gene_completion.data",
    "data": "data store probes corpus",
    "scoring": "alignment scoring registry models representations ablation generation execution metrics "
    "testing gene_completion protocol site_records",
    "tasks": "tasks",
    "run": "runner model_provider training compare summary_table testing_context",
    "report": "report",
    "commands": "commands cli cards.__main__ api",
}
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (name, (*text.split(), *([""] if name == "commands" else []))) for name, text in _LAYER_TEXT.items()
)


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = [ROOT, *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def layer_of(module: str) -> int:
    name = module.removeprefix(ROOT).removeprefix(".")
    best, level = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".") or prefix == "") and len(prefix) > best:
                best, level = len(prefix), i
    return level


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


def _targets(node: ast.AST, known: dict[str, Path]) -> list[str]:
    """The genobench_hf modules one import node names (``from pkg import submodule`` names the submodule)."""

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        names = [
            f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
            for a in node.names
        ]
    elif (
        isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module") and node.args
        and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
    ):  # fmt: skip
        names = [node.args[0].value]
    return [r for n in names if n.split(".")[0] == ROOT and (r := resolve(n)) is not None]


def edges() -> dict[str, dict[str, bool]]:
    """module -> {imported module: whether every import of it is TYPE_CHECKING-only}."""
    known = modules()
    graph: dict[str, dict[str, bool]] = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = _type_checking_nodes(tree)
        out: dict[str, bool] = {}
        for node in ast.walk(tree):
            for target in _targets(node, known):
                parts = target.split(".")
                implied = [".".join(parts[:i]) for i in range(2, len(parts))]
                for t in [target, *implied]:
                    if t == module or (t in implied and (module + ".").startswith(t + ".")):
                        continue
                    out[t] = out.get(t, True) and id(node) in typing_only
        graph[module] = out
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_every_module_has_a_layer() -> None:
    assert all(layer_of(m) >= 0 for m in modules())
    assert layer_of("genobench_hf.tasks.sampling") > layer_of("genobench_hf.scoring.base")
    assert layer_of("genobench_hf.cards.__main__") > layer_of("genobench_hf.cards")


def test_no_import_circles() -> None:
    runtime = {m: {t for t, typing_only in out.items() if not typing_only} for m, out in edges().items()}
    assert cycles(runtime) == []


def test_no_upward_imports() -> None:
    upward = [
        f"{m} ({LAYERS[layer_of(m)][0]}) imports {t} ({LAYERS[layer_of(t)][0]})"
        for m, out in sorted(edges().items())
        for t in sorted(out)
        if layer_of(t) > layer_of(m)
    ]
    assert upward == []


def test_root_package_imports_nothing_at_module_level() -> None:
    """Every module enters ``genobench_hf/__init__``; it may only reach the rest lazily (the API)."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    eager = [ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    assert [line for line in eager if ROOT in line and "version" not in line] == []


def test_one_catalog() -> None:
    """The dataset vocabulary and ``kingdom_of`` live in ``task_config`` only: no module spells the dataset
    names out again or cuts a dataset name into its kingdom by hand."""
    hand_rolled = ('split("_")[0]', '("PRO", "EUK", "VIR")', '"PRO_reads"')
    copies = [
        f"{path.relative_to(PACKAGE)}: {needle}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "task_config.py"
        for needle in hand_rolled
        if needle in path.read_text(encoding="utf-8")
    ]
    assert copies == []
