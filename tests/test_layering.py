"""The layers keep to their rules (docs/architecture.md), read from the source's own imports.

- `gis/` knows geometry and spatial SQL and nothing of the service: it imports nothing of `api/`
  or `web_map/`;
- `web_map/` builds pages fed by the API's URLs: of `api/` it may import the settings only;
- routers speak HTTP and call services: they never import `api.db` (connections come through
  `api.deps`, queries live in services and `gis/`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports count too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


Rule = tuple[Callable[[str], bool], tuple[str, ...]]  # (allowed despite…, forbidden packages)
RULES: dict[str, Rule] = {
    "gis": (lambda m: False, ("api", "web_map")),
    "web_map": (lambda m: _under(m, "api.settings"), ("api",)),
    "routers": (lambda m: False, ("api.db", "psycopg", "psycopg_pool")),
}


def violations(paths: list[Path], rule: str) -> list[str]:
    """`path imports module` for each import the rule forbids."""
    allowed, forbidden = RULES[rule]
    return [
        f"{path.name} imports {module}"
        for path in paths
        for module in sorted(imported_modules(path))
        if any(_under(module, f) for f in forbidden) and not allowed(module)
    ]


def test_gis_imports_nothing_of_the_service() -> None:
    assert files("gis"), "gis/ has no modules?"
    assert violations(files("gis"), "gis") == []


def test_pages_import_only_the_settings_of_api() -> None:
    assert files("web_map")
    assert violations(files("web_map"), "web_map") == []


def test_routers_never_touch_the_database_layer() -> None:
    routers = files("api/routers") + sorted((ROOT / "api/open311").glob("router*.py"))
    assert routers
    assert violations(routers, "routers") == []


@pytest.mark.parametrize(
    ("source", "rule", "expected"),
    [
        ("from api.db.session import open_pool\n", "routers", True),
        ("def f():\n    import api.services.intake.report\n", "gis", True),
        ("__import__('api.db')\n", "routers", True),
        ("from api.settings import MapSettings\n", "web_map", False),
        ("from api.deps import ConnDep\n", "routers", False),
    ],
)
def test_the_check_sees_every_kind_of_import(
    tmp_path: Path, source: str, rule: str, expected: bool
) -> None:
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert bool(violations([path], rule)) is expected
