"""Ukraine domain-coverage planning tool.

The import name ``coverage`` clashes with coverage.py: never install coverage.py or pytest-cov
alongside this package. The public API is re-exported here lazily (so ``import coverage`` stays
cheap and the CLI loads only what a command needs) and pinned by ``tests/test_api.py``.
"""
from __future__ import annotations

from . import _gdal  # noqa: F401  (must run before pyogrio is imported)

__version__ = "0.1.0"

_EXPORTS = {
    "analyze": "analysis", "analyze_sample": "analysis", "Analysis": "analysis",
    "Extents": "domains", "national_extents": "domains", "sample_extents": "domains", "read_extents": "domains",
    "read_sectors": "ingest", "load_sectors": "ingest", "validate_file": "ingest",
    "read_contingents": "schema",
    "CoverageError": "errors", "DataError": "errors", "IngestError": "errors", "FormatError": "errors",
    "LimitError": "errors", "ValidationError": "errors", "AnalysisError": "errors", "Problem": "errors",
}
__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'coverage' has no attribute {name!r}")
