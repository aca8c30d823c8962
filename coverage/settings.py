"""Settings with documented defaults: upload limits and the marking banner.

Every limit can be changed by the environment (``UA_COVERAGE_MAX_FILE_MB=20``) or by passing a
:class:`Limits` to the ingest functions.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Limits a file offered as a plan revision must respect; checked before the expensive work."""

    max_file_mb: float = 10
    max_unpacked_mb: float = 50
    max_zip_ratio: float = 100
    max_zip_entries: int = 20
    max_features: int = 5_000
    max_vertices_per_feature: int = 50_000
    max_vertices_per_file: int = 500_000
    max_fields: int = 50
    max_text_chars: int = 256
    #: distinct altitude bands the air layer may form (each band re-classifies every face: the cost driver)
    max_air_bands: int = 64
    parse_timeout_s: float = 60
    parse_memory_mb: int = 2_048

    @classmethod
    def from_env(cls) -> "Limits":
        """Defaults, overridden by ``UA_COVERAGE_<FIELD>`` environment variables."""
        kw = {}
        for f in fields(cls):
            raw = os.environ.get(f"UA_COVERAGE_{f.name.upper()}")
            if raw:
                kw[f.name] = type(f.default)(float(raw))
        return cls(**kw)

    @classmethod
    def lenient(cls) -> "Limits":
        """For analysing a local file: no size limits (a generous parse timeout and memory cap remain)."""
        big = 10**12
        return cls(max_file_mb=big, max_unpacked_mb=big, max_zip_ratio=big, max_zip_entries=10**6,
                   max_features=big, max_vertices_per_feature=big, max_vertices_per_file=big,
                   max_fields=10**6, max_text_chars=big, parse_timeout_s=3_600, parse_memory_mb=16_384,
                   max_air_bands=10**6)

    def replace(self, **kw) -> "Limits":
        return replace(self, **kw)


def banner() -> str:
    """The marking shown top and bottom of every page and export (``UA_COVERAGE_BANNER``)."""
    return os.environ.get("UA_COVERAGE_BANNER", "UNCLASSIFIED // NOTIONAL PLANNING DATA")
