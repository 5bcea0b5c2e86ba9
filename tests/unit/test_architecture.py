"""The import rules of ``docs/architecture.md``, checked on the source so the picture stays true.

Every module under ``src/faceplane`` is parsed with :mod:`ast` (nothing is imported) and every
``import`` of a faceplane module is collected: module-level ones, those under ``if TYPE_CHECKING``
and the lazy ones inside functions alike. Laziness is about load time (optional backends, start-up
cost), not a licence to reach up a layer or close a circle, so all three count.

The layers are read from the table in ``docs/architecture.md``: a module may import its own layer
and the layers below it, never one above. On top of that a few sideways rules hold inside a layer,
nothing inside the package imports the ``faceplane`` facade (``__init__``) but ``__version__``,
and there is no import cycle, neither between top-level modules/packages nor between modules.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "faceplane"
DOC = ROOT / "docs" / "architecture.md"

#: (importer unit, imported unit) pairs forbidden although the layers would allow them (same layer).
SIDEWAYS_FORBIDDEN = {
    ("gallery", "video"),
    ("gallery", "liveness"),
    ("gallery", "events"),
    ("events", "gallery"),
    ("events", "video"),
    ("events", "liveness"),
    ("video", "liveness"),
    ("server", "cli"),
}

#: Import cycles that exist today and are not yet cut. Each entry is a set of modules (or units)
#: that may form one strongly connected component, no bigger; any other cycle fails the test, and
#: an entry that no longer occurs costs nothing (delete it when its cycle is gone).
KNOWN_MODULE_CYCLES: list[set[str]] = []  # none today; a cycle that must stay a while is listed here, with why
KNOWN_UNIT_CYCLES: list[set[str]] = []

#: What submodules may take from the ``faceplane`` facade: it imports them, so anything else is a
#: circle through ``__init__``.
FACADE_NAMES_ALLOWED = {"__version__"}


@dataclass(frozen=True)
class Edge:
    """One imported name: ``source`` (a module) imports ``target`` (a module or package)."""

    source: str
    target: str
    name: str  # what the statement names: ``b`` of ``from X import b``, ``X`` of ``import X``
    where: str  # "path:line", for the failure message


def _module_names() -> dict[str, Path]:
    """Dotted module name -> file, for every module and package (a directory of .py files)."""
    names: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
        for i in range(1, len(parts)):  # a package without __init__.py yet (mid-move) is still one
            names.setdefault(".".join(parts[:i]), path.parent)
    return names


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _edges() -> Iterator[Edge]:
    modules = _module_names()
    for module, path in modules.items():
        if path.is_dir():
            continue
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "faceplane":
                        yield Edge(module, alias.name, alias.name, where)
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, is_package, node)
                if base.split(".")[0] != "faceplane":
                    continue
                for alias in node.names:  # ``from pkg import submodule`` imports the submodule
                    sub = f"{base}.{alias.name}"
                    yield Edge(module, sub if sub in modules else base, alias.name, where)


EDGES = list(_edges())


def unit(module: str) -> str:
    """The top-level module or package a module belongs to; ``faceplane`` for the facade itself."""
    parts = module.split(".")
    if len(parts) == 1:
        return "faceplane"
    return parts[1]


def read_layers() -> dict[str, tuple[int, str]]:
    """Unit -> (rank, layer name), from the table rows ``| rank | layer | `a`, `b/` | ... |`` in the doc."""
    layers: dict[str, tuple[int, str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        row = re.match(r"^\|\s*(\d+)\s*\|\s*([\w -]+?)\s*\|([^|]*)\|", line)
        if row:
            for name in re.findall(r"`([\w.]+)/?`", row.group(3)):
                assert name not in layers, f"{name} is in two layers of {DOC.name}"
                layers[name] = (int(row.group(1)), row.group(2))
    return layers


LAYERS = read_layers()


def _sccs(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.add(member)
                    if member == node:
                        break
                if len(comp) > 1:
                    found.append(comp)
    return found


def _new_cycles(graph: dict[str, set[str]], known: list[set[str]]) -> list[list[str]]:
    return [sorted(c) for c in _sccs(graph) if not any(c <= k for k in known)]


def test_the_doc_places_every_top_level_module_in_one_layer() -> None:
    units = {unit(m) for m in _module_names()} - {"faceplane"}
    missing = sorted(units - LAYERS.keys())
    assert not missing, f"add these to the layer table of docs/architecture.md: {missing}"
    assert len({rank for rank, _ in LAYERS.values()}) == len({name for _, name in LAYERS.values()})


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = [
        f"{e.where}: {e.source} ({LAYERS[unit(e.source)][1]}) imports {e.target} ({LAYERS[unit(e.target)][1]})"
        for e in EDGES
        if unit(e.source) != "faceplane"
        and unit(e.target) in LAYERS
        and unit(e.source) in LAYERS
        and LAYERS[unit(e.target)][0] > LAYERS[unit(e.source)][0]
    ]
    assert not upward, "imports that point up a layer:\n" + "\n".join(upward)


def test_no_sideways_import_the_doc_forbids() -> None:
    sideways = [
        f"{e.where}: {e.source} imports {e.target}"
        for e in EDGES
        if (unit(e.source), unit(e.target)) in SIDEWAYS_FORBIDDEN
    ]
    assert not sideways, "\n".join(sideways)


def test_only_the_version_comes_from_the_facade() -> None:
    through_init = [
        f"{e.where}: {e.source} imports {e.name} from the faceplane facade"
        for e in EDGES
        if e.target == "faceplane" and e.source != "faceplane" and e.name not in FACADE_NAMES_ALLOWED
    ]
    assert not through_init, "\n".join(through_init)


def test_no_cycle_between_top_level_modules_and_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for e in EDGES:
        source, target = unit(e.source), unit(e.target)
        if source != target and "faceplane" not in (source, target):
            graph[source].add(target)
    cycles = _new_cycles(graph, KNOWN_UNIT_CYCLES)
    assert not cycles, f"import cycles between top-level modules/packages: {cycles}"


def test_no_cycle_between_modules() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for e in EDGES:
        if e.source != e.target:
            graph[e.source].add(e.target)
    cycles = _new_cycles(graph, KNOWN_MODULE_CYCLES)
    assert not cycles, f"import cycles between modules: {cycles}"


def _service_import(edge: Edge) -> bool:
    """A domain service module importing another service, or the container (not a ``_helper`` module)."""
    inside = "faceplane.services."
    if not edge.source.startswith(inside) or edge.source == edge.target:
        return False
    return edge.target == "faceplane.services" or (
        edge.target.startswith(inside) and not edge.target.removeprefix(inside).startswith("_")
    )


def test_domain_services_do_not_import_each_other() -> None:
    """Each service in ``services/`` gets what it needs from ``bootstrap``; none reaches into another."""
    between = [f"{e.where}: {e.source} imports {e.target}" for e in EDGES if _service_import(e)]
    assert not between, "\n".join(between)


def test_the_service_rule_sees_a_service_importing_another() -> None:
    assert _service_import(Edge("faceplane.services.events", "faceplane.services.access", "x", ""))
    assert _service_import(Edge("faceplane.services.faces", "faceplane.services", "Services", ""))
    assert not _service_import(Edge("faceplane.services.events", "faceplane.services._files", "file_below", ""))
    assert not _service_import(Edge("faceplane.services", "faceplane.services.faces", "FacesService", ""))


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("faceplane.types", "faceplane.gallery"),
        ("faceplane.models.mobilefacenet", "faceplane.video.engine"),
        ("faceplane.gallery.gallery", "faceplane.server.app"),
        ("faceplane.video.engine", "faceplane.cli"),
        ("faceplane.gallery.store", "faceplane.video"),
        ("faceplane.server.app", "faceplane.cli.gallery"),
    ],
)
def test_the_rules_catch_a_forbidden_import(source: str, target: str) -> None:
    """The checks above would see these edges: each breaks a layer or a sideways rule."""
    s, t = unit(source), unit(target)
    assert LAYERS[t][0] > LAYERS[s][0] or (s, t) in SIDEWAYS_FORBIDDEN


def test_the_cycle_check_sees_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _sccs(graph) == [{"a", "b", "c"}]
    assert _new_cycles(graph, [{"a", "b", "c"}]) == []
    assert _new_cycles(graph, [{"a", "b"}]) == [["a", "b", "c"]]
