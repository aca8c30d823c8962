"""Ukraine domain-coverage planning tool.

The folder is ``coverage/``; the import name is ``ua_coverage`` (the distribution ``ua-domain-coverage``, the
command ``ua-coverage``), so the package installs beside coverage.py and pytest-cov. The public API is
re-exported here lazily (so ``import ua_coverage`` stays cheap and the CLI loads only what a command needs)
and pinned by ``tests/test_api.py``.

Layers, lowest first (each imports only from those below it; ``tests/test_layers.py`` checks it):
base (errors, rules, settings, schema, plan, domains, geodata, colours, _proc) → ingest → store → engine →
figures → export → workflow → app → cli.
"""
from __future__ import annotations

from .ingest import _gdal  # noqa: F401  (must run before pyogrio is imported)

__version__ = "0.1.0"

_EXPORTS = {
    "analyze": "engine", "Analysis": "engine",
    "analyze_sample": "workflow", "analyze_plan": "workflow", "propose": "workflow", "commit": "workflow",
    "open_store": "workflow", "Proposal": "workflow",
    "Extents": "domains", "national_extents": "domains", "sample_extents": "domains",
    "read_extents": "ingest.extents",
    "read_sectors": "ingest", "load_sectors": "ingest", "validate_file": "ingest",
    "read_contingents": "ingest.registry",
    "Plan": "plan",
    "RULES": "rules",
    "CoverageError": "errors", "DataError": "errors", "IngestError": "errors", "FormatError": "errors",
    "LimitError": "errors", "ValidationError": "errors", "AnalysisError": "errors", "ExportError": "errors",
    "StoreError": "errors", "ConflictError": "errors", "RevisionNotFound": "errors", "UsageError": "errors",
    "Problem": "errors",
}
__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'ua_coverage' has no attribute {name!r}")
