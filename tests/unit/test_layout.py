"""The shape of the code, checked: who may import what, and how large a unit may grow.

- The emulator stands apart: it imports none of the connector packages, so it checks them
  instead of agreeing with them.
- The connectors speak to HubSpot through `hubspot_api` only: neither imports an HTTP library,
  and neither builds a search, pages a list or reads a paging cursor itself.
- No class over 300 lines and no function over 60, except the ones that are data (a table of
  options, a seed profile), named below with the reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hubspot_api", "tap_hubspot_tickets", "target_hubspot_tickets", "hubspot_emulator")
CONNECTORS = ("tap_hubspot_tickets", "target_hubspot_tickets")
MAX_CLASS_LINES = 300
MAX_FUNCTION_LINES = 60
# Functions that are data written as code; each entry says why it may be long.
DATA_FUNCTIONS: dict[str, str] = {}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", _modules("hubspot_emulator"), ids=lambda p: p.name)
def test_the_emulator_imports_no_connector_package(path: Path) -> None:
    assert not _imports(path) & {"hubspot_api", *CONNECTORS}


@pytest.mark.parametrize(
    "path",
    [p for pkg in CONNECTORS for p in _modules(pkg)],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_the_connectors_reach_hubspot_through_hubspot_api_only(path: Path) -> None:
    assert not _imports(path) & {"requests", "urllib3", "http", "httpx"}
    text = path.read_text(encoding="utf-8")
    # Searches, list paging and cursors are hubspot_api's (paging.py, frontier.py).
    assert not re.search(r"Call\.SEARCH|\bnext_after\(|\[\"paging\"\]", text)


def _units() -> list[tuple[str, str, int]]:
    units: list[tuple[str, str, int]] = []
    for package in PACKAGES:
        for path in _modules(package):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                    assert node.end_lineno is not None
                    kind = "class" if isinstance(node, ast.ClassDef) else "function"
                    where = f"{path.relative_to(ROOT)}:{node.name}"
                    units.append((kind, where, node.end_lineno - node.lineno + 1))
    return units


def test_no_class_or_function_outgrows_its_limit() -> None:
    too_long = [
        f"{where} ({lines} lines)"
        for kind, where, lines in _units()
        if lines > (MAX_CLASS_LINES if kind == "class" else MAX_FUNCTION_LINES)
        and where not in DATA_FUNCTIONS
    ]
    assert too_long == []


def test_every_data_function_named_still_exists() -> None:
    names = {where for _, where, _ in _units()}
    assert set(DATA_FUNCTIONS) <= names
