"""The examples in the docstrings run, so the documentation cannot drift from the code."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import ua_coverage

SKIP = {"ua_coverage.__main__", "ua_coverage.ingest._worker", "ua_coverage.export._render",
        "ua_coverage.engine._partition", "ua_coverage.app.wsgi"}  # process entry points
MODULES = sorted(m.name for m in pkgutil.walk_packages(ua_coverage.__path__, "ua_coverage.") if m.name not in SKIP)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that open a store do so in a temporary folder
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (run with -s to see them)"


def test_the_examples_exist():
    finder = doctest.DocTestFinder()
    counted = {name: sum(len(t.examples) for t in finder.find(importlib.import_module(name))) for name in MODULES}
    for name in ("ua_coverage.engine.analysis", "ua_coverage.domains", "ua_coverage.workflow", "ua_coverage.rules",
                 "ua_coverage.schema", "ua_coverage.engine.geodesy", "ua_coverage.colours"):
        assert counted[name] > 0, name
