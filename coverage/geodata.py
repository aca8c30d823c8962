"""Load the committed base layers and the notional sample plan, once per process.

Everything else in the package gets base geodata from here. Layers are returned as GeoDataFrames in
EPSG:4326; callers must not modify them in place (they are cached), so take a ``.copy()`` first.

Examples
--------
>>> from ua_coverage import geodata
>>> len(geodata.admin1())
27
>>> geodata.admin1().set_index("code").loc["UA-51", "name_en"]
'Odesa Oblast'
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd

from ._resources import geodata_dir
from .errors import DataError

#: Default marking shown on every view and export of notional data.
NOTIONAL_BANNER = "UNCLASSIFIED // NOTIONAL PLANNING DATA"

_BASE = {
    "admin1": "ukraine_admin1.geojson",
    "outline": "ukraine_outline.geojson",
    "territorial_sea": "territorial_sea.geojson",
    "seas": "seas.geojson",
    "neighbours": "neighbours.geojson",
}


def path(name: str) -> Path:
    """Path of a committed file, by base-layer key or by relative file name."""
    rel = _BASE.get(name, name)
    p = geodata_dir() / rel
    if not p.exists():
        raise DataError(f"bundled geodata file {rel} is missing from {geodata_dir()}")
    return p


@lru_cache(maxsize=None)
def _read(rel: str) -> gpd.GeoDataFrame:
    import pyogrio

    try:
        gdf = pyogrio.read_dataframe(path(rel))
    except pyogrio.errors.DataSourceError as exc:  # pragma: no cover - damaged install
        raise DataError(f"bundled geodata file {rel} cannot be read: {exc}") from exc
    return gdf.set_crs(4326, allow_override=True)


def admin1() -> gpd.GeoDataFrame:
    """Ukraine's 27 first-level units: ``code`` (ISO 3166-2), ``name_en``, ``name_uk``, ``type``."""
    return _read(_BASE["admin1"])


def outline() -> gpd.GeoDataFrame:
    """Ukraine in its internationally recognised borders, Crimea included (one feature)."""
    return _read(_BASE["outline"])


def territorial_sea() -> gpd.GeoDataFrame:
    """Ukraine's 12 NM territorial sea, land removed (one feature; © OpenStreetMap contributors)."""
    return _read(_BASE["territorial_sea"])


def seas() -> gpd.GeoDataFrame:
    """The Black Sea and the Sea of Azov, for context and labels."""
    return _read(_BASE["seas"])


def neighbours() -> gpd.GeoDataFrame:
    """Neighbouring countries' outlines (POL, SVK, HUN, ROU, MDA, BLR, RUS), clipped to the map window."""
    return _read(_BASE["neighbours"])


def sample_sectors_path() -> Path:
    """The NOTIONAL sample plan's sector file."""
    return path("sample/sectors.geojson")


def sample_contingents_path() -> Path:
    """The NOTIONAL sample plan's contingents registry (CSV)."""
    return path("sample/contingents.csv")


def sample_sensors_path() -> Path:
    """The NOTIONAL sample plan's sensor set (points with a reach; see ``build_sample.py``)."""
    return path("sample/sensors.geojson")


def sample_phases_path() -> Path:
    """The NOTIONAL sample plan's phases table (CSV ``name,start,end,notes``)."""
    return path("sample/phases.csv")


def sample_extents_path() -> Path:
    """The NOTIONAL sample plan's own areas of responsibility (one polygon per layer)."""
    return path("sample/extents.geojson")


def labels() -> gpd.GeoDataFrame:
    """Place labels drawn as polygons (``kind``, ``code``, ``lang`` = en/uk, ``text``); see build_labels.py."""
    return _read("labels.geojson")


def line_of_contact() -> gpd.GeoDataFrame:
    """The sample plan's notional, simplified line of contact (illustrative only)."""
    return _read("sample/line_of_contact.geojson")
