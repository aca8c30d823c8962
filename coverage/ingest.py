"""Read sector files into the canonical model, with validation.

This module is the only place that parses plan files. :func:`read_sectors` reads a polygon layer,
reprojects it to EPSG:4326, maps its fields onto :mod:`coverage.schema`, checks the geometry and
returns the sectors plus the problems and warnings it found. ``strict=True`` is what an upload
must pass; ``strict=False`` (local analysis) tolerates contingent codes unknown to the registry.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("GDAL_HTTP_TIMEOUT", "1")
os.environ["CPL_VSIL_CURL_ALLOWED_EXTENSIONS"] = ".none"  # no network reads through GDAL's /vsicurl/

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402

from .errors import FormatError, IngestError, Problem, ValidationError  # noqa: E402
from .schema import normalise_sectors  # noqa: E402

#: Ukraine's surroundings: every coordinate of a plan must fall inside (lon/lat degrees).
BOUNDS = (21.5, 43.5, 40.8, 53.0)


@dataclass
class ReadResult:
    """What :func:`read_sectors` found: the sectors and everything worth telling the user."""

    sectors: gpd.GeoDataFrame
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    driver: str = ""
    format: str = ""
    path: str = ""

    @property
    def accepted(self) -> bool:
        return not self.problems


def read_layer(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read one polygon layer and return it in EPSG:4326 (no content checks)."""
    import pyogrio

    try:
        gdf = pyogrio.read_dataframe(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise FormatError(f"cannot read {Path(path).name}: {exc}. Use GeoJSON, GeoPackage, zipped "
                          "Shapefile, KML/KMZ, FlatGeobuf or CSV with a WKT column.") from exc
    if gdf.crs is None:
        raise IngestError(f"{Path(path).name} declares no coordinate reference system; save it with a "
                          "CRS (EPSG:4326 is safest)", rule="crs-missing")
    if gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    return gdf


def read_sectors(path: str | Path, *, registry: set[str] | None = None, strict: bool = False,
                 repair: bool = False) -> ReadResult:
    """Read and check a sector file.

    Parameters
    ----------
    path : path of the file.
    registry : known contingent codes; with ``strict=True`` unknown codes are problems.
    strict : apply the upload rules (unknown contingents refused).
    repair : opt-in: make invalid polygons valid (reported as warnings) instead of refusing them.

    Raises
    ------
    IngestError
        when the file cannot be read at all; content problems are returned, not raised.
    """
    gdf = read_layer(path)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    frame, p, w = normalise_sectors(gdf, registry if strict else None)
    problems += p
    warnings += w
    if len(frame) == 0 and not problems:
        problems.append(Problem("no-features", "the file holds no features"))
    geoms = np.asarray(frame.geometry.values if len(frame) else [], dtype=object)
    ids = list(frame["sector_id"]) if len(frame) else []
    for i, g in enumerate(geoms):
        sid = ids[i] or None
        if g is None or g.is_empty:
            problems.append(Problem("geometry-empty", "the feature has no geometry; draw its polygon",
                                    feature=i, sector_id=sid))
            continue
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            problems.append(Problem("geometry-type", f"geometry is a {g.geom_type}; sectors must be "
                                    "Polygon or MultiPolygon", feature=i, sector_id=sid))
            continue
        if shapely.has_z(g):
            g = shapely.force_2d(g)
            warnings.append(Problem("geometry-z-dropped", "Z values were dropped; only 2-D footprints count",
                                    feature=i, sector_id=sid))
        coords = shapely.get_coordinates(g)
        if not np.isfinite(coords).all():
            problems.append(Problem("geometry-not-finite", "a coordinate is NaN or infinite", feature=i,
                                    sector_id=sid))
            continue
        lo, la = coords[:, 0], coords[:, 1]
        if not ((lo >= BOUNDS[0]) & (lo <= BOUNDS[2]) & (la >= BOUNDS[1]) & (la <= BOUNDS[3])).all():
            swapped = ((la >= BOUNDS[0]) & (la <= BOUNDS[2]) & (lo >= BOUNDS[1]) & (lo <= BOUNDS[3])).all()
            hint = (" — latitude and longitude look swapped" if swapped else
                    " — coordinates look like metres; declare the file's CRS" if np.abs(coords).max() > 1000
                    else "")
            problems.append(Problem("out-of-area", f"coordinates fall outside Ukraine's surroundings "
                                    f"(lon {BOUNDS[0]}–{BOUNDS[2]}, lat {BOUNDS[1]}–{BOUNDS[3]}){hint}",
                                    feature=i, sector_id=sid))
            continue
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            if repair:
                g = shapely.make_valid(g)
                g = shapely.union_all([p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")])
                warnings.append(Problem("geometry-repaired", f"invalid polygon ({reason}) was repaired",
                                        feature=i, sector_id=sid))
            else:
                problems.append(Problem("invalid-geometry", f"the polygon is invalid: {reason}. Fix it in your "
                                        "GIS or re-submit with repair enabled", feature=i, sector_id=sid))
                continue
        geoms[i] = g
    if len(frame):
        frame = frame.copy()
        frame["geometry"] = geoms
    sectors = gpd.GeoDataFrame(frame, geometry="geometry", crs=4326) if len(frame) else \
        gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=4326))
    return ReadResult(sectors=sectors, problems=problems, warnings=warnings, path=str(path))


def load_sectors(path: str | Path, *, registry: set[str] | None = None, strict: bool = False,
                 repair: bool = False) -> ReadResult:
    """Like :func:`read_sectors`, but raise :class:`ValidationError` when any problem was found."""
    res = read_sectors(path, registry=registry, strict=strict, repair=repair)
    if res.problems:
        n = len(res.problems)
        raise ValidationError(f"{Path(path).name} was not accepted: {n} problem(s); first: {res.problems[0]}",
                              problems=res.problems)
    return res


def validate_file(path: str | Path, *, contingents: str | Path | None = None, repair: bool = False) -> dict:
    """Answer "would this upload be accepted?" as the stable report documented in the README.

    ``{"accepted", "format", "driver", "features", "problems": [...], "warnings": [...]}``; each
    problem is ``{"rule", "message", "feature", "sector_id", "field"}``.
    """
    from . import geodata
    from .schema import read_contingents

    reg = read_contingents(contingents or geodata.sample_contingents_path())
    report = {"accepted": False, "format": "", "driver": "", "features": 0, "problems": [], "warnings": []}
    try:
        res = read_sectors(path, registry=set(reg["code"]), strict=True, repair=repair)
    except IngestError as exc:
        report["problems"] = [p.as_dict() for p in exc.problems]
        return report
    report.update(accepted=res.accepted, format=res.format, driver=res.driver, features=len(res.sectors),
                  problems=[p.as_dict() for p in res.problems], warnings=[w.as_dict() for w in res.warnings])
    return report
