"""The CLI package's imports point one way: ``faceplane.cli`` -> command group -> ``_common``.

Read from the source with :mod:`ast` (every ``import``, also those inside functions and under
``TYPE_CHECKING``, which is where the old ``cli`` <-> ``_cli_gallery`` <-> ``_cli_video`` circle hid).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import faceplane.cli

PACKAGE = "faceplane.cli"
CLI_DIR = Path(faceplane.cli.__file__).parent


def _module_name(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The absolute names one import statement may load (``from . import x`` may load ``pkg.x``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        base = node.module or ""
    else:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, node.module] if node.module else parts)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def cli_imports(folder: Path) -> dict[str, set[str]]:
    """Each module of the package in ``folder`` -> the modules of that package it imports."""
    modules = {_module_name(p): p for p in sorted(folder.glob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        names = [
            n
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for n in _imported(node, name, path.stem == "__init__")
        ]
        graph[name] = {n for n in names if n in modules and n != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in ``graph`` as ``[a, b, ..., a]``, or None (depth-first search)."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for nxt in sorted(graph.get(node, ())):
            cycle = visit(nxt, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_the_cli_package_has_no_import_circle() -> None:
    graph = cli_imports(CLI_DIR)
    assert {"faceplane.cli", "faceplane.cli._common", "faceplane.cli.gallery", "faceplane.cli.video"} <= set(graph)
    assert find_cycle(graph) is None, f"import circle: {' -> '.join(find_cycle(graph) or [])}"


def test_imports_point_from_main_to_groups_to_common() -> None:
    graph = cli_imports(CLI_DIR)
    common = f"{PACKAGE}._common"
    groups = set(graph) - {PACKAGE, common, f"{PACKAGE}.__main__"}
    assert graph[common] == set(), "_common imports no command group"
    for group in sorted(groups):
        assert graph[group] <= {common}, f"{group} imports {sorted(graph[group] - {common})}: only _common is allowed"
    assert groups <= graph[PACKAGE], f"faceplane.cli registers every group; missing {sorted(groups - graph[PACKAGE])}"


@pytest.mark.parametrize(
    ("sources", "cycle"),
    [
        # the old shape: the main module and two groups importing one another
        (
            {
                "__init__": "from .gallery import add\n",
                "gallery": "def f():\n    from . import report_error\n",
                "_common": "",
            },
            ["faceplane.cli", "faceplane.cli.gallery", "faceplane.cli"],
        ),
        (
            {
                "__init__": "from . import a\n",
                "a": "from .b import x\n",
                "b": "if TYPE_CHECKING:\n    from faceplane.cli.a import y\n",
            },
            ["faceplane.cli.a", "faceplane.cli.b", "faceplane.cli.a"],
        ),
        # one way only, and imports from outside the package (``..gallery``) are not cli modules
        (
            {
                "__init__": "from .gallery import add\n",
                "gallery": "from ..gallery import Gallery\nfrom ._common import k\n",
                "_common": "from .. import errors\n",
            },
            None,
        ),
    ],
)
def test_the_circle_check_sees_circles(tmp_path: Path, sources: dict[str, str], cycle: list[str] | None) -> None:
    for stem, text in sources.items():
        (tmp_path / f"{stem}.py").write_text(text, "utf-8")
    assert find_cycle(cli_imports(tmp_path)) == cycle
