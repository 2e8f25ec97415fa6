"""The layers of docs/design.md hold: the core imports only the standard library and numpy."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_is_pure():
    allowed = set(sys.stdlib_module_names) | {"numpy", "station", "__future__"}
    for path in sorted((REPO / "station" / "core").glob("*.py")):
        imports = imported_top_levels(path)
        assert imports <= allowed, f"{path.name} imports {imports - allowed}"
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("station.")
            ):
                assert node.module.startswith("station.core"), f"{path.name} reaches {node.module}"


def test_web_and_hardware_do_not_reach_across():
    for path in (REPO / "web").glob("*.py"):
        assert "hardware" not in imported_top_levels(path), path.name
    for path in (REPO / "hardware").rglob("*.py"):
        assert not imported_top_levels(path) & {"web", "flask", "sqlite_utils"}, path.name
