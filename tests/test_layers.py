"""Data flows one way: files → ingest → store → engine → figures → export/app, with the workflow above them.

This test reads every module's imports (including those inside functions) and fails when a module
imports a layer above its own. The map of layers is the one in the README's *Layout* section.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "coverage"
#: each top-level module or subpackage of ua_coverage, by layer (lowest first)
LAYERS = [
    {"errors", "rules", "settings", "schema", "plan", "domains", "geodata", "colours", "text", "_proc", "_resources"},
    {"ingest"},
    {"store"},
    {"engine"},
    {"figures", "view"},
    {"export"},
    {"workflow"},
    {"app"},
    {"cli", "__main__", "__init__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _unit(rel: Path) -> str:
    """The top-level unit a file belongs to: its subpackage, or its module name."""
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[str, int]]:
    """(unit imported, line) for every import of ua_coverage from this file, relative or absolute."""
    rel = path.relative_to(PKG)
    pkg_parts = ["ua_coverage", *rel.parts[:-1]]  # the package this module sits in
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[:len(pkg_parts) - node.level + 1]
                target = base + (node.module.split(".") if node.module else [])
                names = [target + [a.name] for a in node.names] if not node.module else [target]
            elif node.module and node.module.split(".")[0] == "ua_coverage":
                names = [node.module.split(".")]
            else:
                continue
            for parts in names:
                if len(parts) > 1:
                    out.append((parts[1], node.lineno))
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "ua_coverage" and len(parts) > 1:
                    out.append((parts[1], node.lineno))
    return out


def _files():
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_unit_has_a_layer():
    units = {_unit(p.relative_to(PKG)) for p in _files()}
    assert units <= set(RANK), f"give these a layer in tests/test_layers.py: {sorted(units - set(RANK))}"


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(PKG)))
def test_no_module_imports_a_layer_above_its_own(path):
    me = _unit(path.relative_to(PKG))
    bad = [(u, line) for u, line in _imports(path) if u in RANK and RANK[u] > RANK[me]]
    assert not bad, f"{path.relative_to(PKG)} ({me}, layer {RANK[me]}) imports upward: " + ", ".join(
        f"{u} (layer {RANK[u]}) at line {line}" for u, line in bad)


def test_the_checker_sees_relative_and_function_level_imports(tmp_path):
    # the test itself must be able to fail: a store module importing the engine inside a function
    src = PKG / "store" / "_probe_for_test.py"
    src.write_text("def f():\n    from ..engine import analyze\n    return analyze\n")
    try:
        assert ("engine", 2) in _imports(src)
    finally:
        src.unlink()
