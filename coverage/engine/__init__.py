"""The coverage engine: pure functions from a plan's sectors and extents to its partition and summaries.

It never reads files, never touches the store and never imports Dash. :func:`analyze` is the entry
point; :mod:`.geodesy` holds the equal-area projection and areas; :mod:`.diff` compares two plans;
:mod:`._partition` cuts big layers into tiles and runs them on worker processes.
"""
from __future__ import annotations

from .analysis import DEFAULT_MIN_AREA_KM2, Analysis, analyze
from .geodesy import area_km2, to_laea, to_wgs84

__all__ = ["Analysis", "analyze", "area_km2", "to_laea", "to_wgs84", "DEFAULT_MIN_AREA_KM2"]
