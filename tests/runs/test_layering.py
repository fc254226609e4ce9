"""The run machinery's arrows point one way: runs -> store -> core (and engine), never back.

Checked on the source (every import, including those inside functions), so a cycle cannot
hide behind a late import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[2] / "server"
FORBIDDEN = {
    "core": {"api", "runs", "store", "classes", "sweeps", "uploads", "engine"},
    "store": {"api", "runs", "classes", "sweeps", "uploads"},
    "runs": {"api", "classes", "sweeps", "uploads"},
}


def imported_packages(path: Path) -> set[str]:
    """The `server.<package>` names a module imports (relative imports resolved)."""
    module = path.relative_to(SERVER.parent).with_suffix("").parts
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(module[: len(module) - node.level])
                names = [".".join(base + ([node.module] if node.module else []))]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "server" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_points_back_up(package):
    wrong = {
        str(path.relative_to(SERVER)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in sorted((SERVER / package).rglob("*.py"))
        if "migrations" not in path.parts
    }
    assert {k: v for k, v in wrong.items() if v} == {}
