"""Read sector files into the canonical model, with validation.

This module is the only entry point for plan files. The pipeline:

1. size limit checked on the file before it is read;
2. :mod:`ua_coverage.ingest._sniff` recognises the format from the bytes (never from the client's file name),
   refuses XML DOCTYPEs and non-WGS84 GeoJSON ``crs`` members, and unpacks zip archives member by
   member with byte caps, under names we choose;
3. :mod:`ua_coverage.ingest._worker` opens the result with GDAL — in a separate process with a time and memory
   limit for uploads (``strict=True``), in-process for a trusted local file — checks the driver,
   layer, feature/field/vertex/text limits and the CRS, and reprojects to EPSG:4326;
4. :func:`ua_coverage.ingest.sectors.normalise_sectors` and the geometry rules below check the content.

``strict=True`` is what an upload must pass ("would this be accepted as a new revision?").
``strict=False`` (local analysis) applies no size limits and tolerates contingent codes unknown to
the registry; every other rule still applies.

Examples
--------
>>> from ua_coverage import geodata
>>> res = read_sectors(geodata.sample_sectors_path())
>>> res.accepted, res.format, res.driver, len(res.sectors)
(True, 'GeoJSON', 'GeoJSON', 19)
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import _gdal  # noqa: F401  (GDAL_SKIP before pyogrio)
from .. import _proc
from ._sniff import prepare
from ..errors import IngestError, LimitError, Problem, ValidationError
from ..schema import SECTOR_AREA
from ..settings import MB, Limits

if TYPE_CHECKING:
    import geopandas as gpd

#: Ukraine's surroundings: every coordinate of a plan must fall inside (lon/lat degrees).
BOUNDS = SECTOR_AREA


@dataclass
class ReadResult:
    """What :func:`read_sectors` found: the sectors and everything worth telling the user."""

    sectors: "gpd.GeoDataFrame"  # noqa: F821
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    driver: str = ""
    format: str = ""
    path: str = ""
    features: int = 0

    @property
    def accepted(self) -> bool:
        return not self.problems


def _load_bytes(source, limits: Limits) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    path = Path(source)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}", rule="file-unreadable") from exc
    if size > limits.max_file_mb * MB:
        raise LimitError(f"the file is {size / MB:.1f} MB; the limit is {limits.max_file_mb:g} MB. Split the plan "
                         "or simplify its polygons.", rule="file-too-large")
    if path.is_dir():
        raise IngestError(f"{path} is a folder; give a file (zip a shapefile's parts)", rule="file-unreadable")
    return path.read_bytes()


def _run_worker(prep, limits: Limits, layer: str | None, crs: int | None = None) -> dict:
    req = {"files": {k: base64.b64encode(v).decode("ascii") for k, v in prep.files.items()},
           "main": prep.main, "format": prep.format, "layer": layer, "limits": asdict(limits),
           "epsg": prep.declared_epsg, "assumed_epsg": crs}
    env = {**os.environ, **_gdal.ENV}
    try:
        proc = _proc.run("ua_coverage.ingest._worker", json.dumps(req).encode(), timeout=limits.parse_timeout_s,
                         env=env)
    except subprocess.TimeoutExpired as exc:
        raise LimitError(f"reading the file took longer than {limits.parse_timeout_s:g} s; it is refused. "
                         "Simplify it or split it.", rule="parse-timeout") from exc
    if proc.returncode != 0 or not proc.stdout:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        if b"MemoryError" in proc.stderr or proc.returncode in (-9, -6):
            raise LimitError(f"reading the file needed more than {limits.parse_memory_mb} MB of memory or "
                             f"{limits.parse_timeout_s:g} s of CPU; it is refused", rule="parse-memory")
        raise IngestError(f"the file could not be read ({tail[0][:200]})", rule="format-damaged")
    return json.loads(proc.stdout)


def _read_frame(source, *, limits: Limits, isolate: bool, layer: str | None, encoding: str | None,
                crs: int | None = None):
    """Bytes -> (GeoDataFrame in EPSG:4326, format, driver, problems, warnings, features read); ``crs`` is the EPSG
    code the user declares for a file that declares none (``--crs``)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from ._worker import read_prepared

    data = _load_bytes(source, limits)
    prep = prepare(data, limits, encoding)
    raw = _run_worker(prep, limits, layer, crs) if isolate else \
        read_prepared(prep.files, prep.main, prep.format, layer, asdict(limits), prep.declared_epsg, crs)
    problems = [Problem(**p) for p in raw.get("problems", [])]
    warnings = prep.warnings + [Problem(**w) for w in raw.get("warnings", [])]
    fmt = prep.format
    if problems:  # say how many features were read, when they were
        return None, fmt, raw.get("driver", ""), problems, warnings, int(raw.get("features") or 0)
    frame = pd.DataFrame(raw["records"], columns=raw["columns"])
    geoms = [None if w is None else shapely.from_wkb(base64.b64decode(w)) for w in raw["wkb"]]
    return (gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=4326)), fmt, raw["driver"], problems, warnings,
            len(frame))


def read_layer(source, *, layer: str | None = None, limits: Limits | None = None,
               isolate: bool = False) -> "gpd.GeoDataFrame":  # noqa: F821
    """Read one polygon layer (e.g. an extents file) in EPSG:4326 (leniently unless ``limits`` are given);
    raise :class:`ValidationError` on any problem."""
    gdf, fmt, _, problems, _, _ = _read_frame(source, limits=limits or Limits.lenient(), isolate=isolate,
                                           layer=layer, encoding=None)
    if problems:
        raise ValidationError(f"{_name(source)} cannot be used: {problems[0]}", rule=problems[0].rule,
                              problems=problems)
    return gdf


def _name(source) -> str:
    return "the uploaded file" if isinstance(source, (bytes, bytearray, memoryview)) else Path(source).name


def read_sectors(source, *, registry: set[str] | None = None, strict: bool = False, repair: bool = False,
                 limits: Limits | None = None, layer: str | None = None, encoding: str | None = None,
                 isolate: bool | None = None, mapping=None, crs: int | None = None) -> ReadResult:
    """Read and check a sector file.

    Parameters
    ----------
    source : a path, or the uploaded bytes.
    registry : known contingent codes; with ``strict=True`` unknown codes are problems.
    strict : apply the upload rules: size limits and unknown contingents refused.
    repair : opt-in: make invalid polygons valid (reported as warnings) instead of refusing them.
    limits : upload limits (default :meth:`Limits.from_env` when strict, none otherwise).
    layer : the layer to read when the file holds several.
    encoding : the text encoding of a shapefile without a .cpg file, or of a CSV.
    isolate : parse in a separate worker process (default: when strict).
    mapping : a :class:`~ua_coverage.ingest.mapping.FieldMapping` (``--field``/``--set``) applied before the rules.
    crs : the EPSG code of the CRS a file without one was drawn in (``--crs``; refused for a file declaring its own).

    Returns
    -------
    ReadResult
        with ``problems`` (the file is refused if there is any) and ``warnings``. Nothing is raised
        for bad content; only programming errors propagate.
    """
    import geopandas as gpd

    limits = limits or (Limits.from_env() if strict else Limits.lenient())
    isolate = strict if isolate is None else isolate
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4326))
    try:
        gdf, fmt, driver, problems, warnings, n_read = _read_frame(source, limits=limits, isolate=isolate,
                                                                   layer=layer, encoding=encoding, crs=crs)
        if not problems and mapping:
            from .mapping import apply_mapping

            gdf, problems, mapped = apply_mapping(gdf, mapping)
            warnings = warnings + mapped
    except IngestError as exc:
        return ReadResult(empty, problems=exc.problems, path=str(_name(source)))
    except RecursionError:
        return ReadResult(empty, problems=[Problem("format-damaged", "the file is nested too deeply to be read")],
                          path=str(_name(source)))
    if problems:
        return ReadResult(empty, problems=problems, warnings=warnings, driver=driver, format=fmt,
                          path=_name(source), features=n_read)
    try:
        res = check_sectors(gdf, registry=registry if strict else None, repair=repair, res_format=fmt)
    except Exception as exc:  # noqa: BLE001 - a file must get a report, never a traceback (logged for us)
        import logging

        logging.getLogger("ua_coverage.ingest").exception("checking %s failed", _name(source))
        return ReadResult(empty, problems=[Problem("format-damaged", f"the file could not be checked "
                                                   f"({type(exc).__name__}: {str(exc)[:200]})")],
                          driver=driver, format=fmt, path=_name(source), features=n_read)
    res.warnings[:0] = warnings
    res.driver, res.format, res.path = driver, fmt, _name(source)
    return res


def check_sectors(gdf, *, registry: set[str] | None = None, repair: bool = False, res_format: str = "") -> ReadResult:
    """Apply the schema and geometry rules to a layer already read into EPSG:4326."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from .sectors import normalise_sectors

    problems: list[Problem] = []
    warnings: list[Problem] = []
    frame, p, w = normalise_sectors(gdf, registry)
    problems += p
    warnings += w
    if len(gdf) == 0:
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
            metres = np.abs(coords).max() > 1000
            rule = "latlon-swapped" if swapped else ("crs-wrong" if metres else "out-of-area")
            if metres:
                from ._sniff import describe_metres

                big = coords[np.argmax(np.abs(coords).max(axis=1))]
                hint = (f" — the numbers (e.g. {big[0]:.0f}, {big[1]:.0f}) look like metres, of "
                        f"{describe_metres(big[0], big[1])}, but the file says degrees: declare that CRS" +
                        (" (in GeoJSON, a 'crs' member naming the EPSG code, or reproject to WGS84 lon/lat)"
                         if res_format == "GeoJSON" else ""))
            else:
                hint = (" — latitude and longitude look swapped: write longitude first (x = lon, y = lat)" if swapped
                        else "; check the CRS the file declares")
            problems.append(Problem(rule, f"coordinates fall outside Ukraine's surroundings "
                                    f"(lon {BOUNDS[0]}–{BOUNDS[2]}, lat {BOUNDS[1]}–{BOUNDS[3]}){hint}",
                                    feature=i, sector_id=sid))
            continue
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            if repair:
                fixed = shapely.make_valid(g)
                fixed = shapely.union_all([x for x in shapely.get_parts(fixed)
                                           if x.geom_type in ("Polygon", "MultiPolygon")])
                warnings.append(Problem("geometry-repaired", f"invalid polygon ({reason}) was repaired",
                                        feature=i, sector_id=sid))
                g = fixed
            else:
                problems.append(Problem("invalid-geometry", f"the polygon is invalid: {reason}.", feature=i,
                                        sector_id=sid))
                continue
        geoms[i] = g
    if len(frame):
        frame = frame.copy()
        frame["geometry"] = geoms
        sectors = gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)
    else:
        sectors = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4326))
    return ReadResult(sectors=sectors, problems=problems, warnings=warnings, features=len(gdf))


def load_sectors(source, **kw) -> ReadResult:
    """Like :func:`read_sectors`, but raise :class:`ValidationError` when any problem was found."""
    res = read_sectors(source, **kw)
    if res.problems:
        n = len(res.problems)
        raise ValidationError(f"{_name(source)} was not accepted: {n} problem(s); first: {res.problems[0]}",
                              rule=res.problems[0].rule, problems=res.problems)
    return res


def validate_file(source, *, contingents=None, repair: bool = False, limits: Limits | None = None,
                  layer: str | None = None, encoding: str | None = None, registry=None, mapping=None,
                  crs: int | None = None) -> dict:
    """Answer "would this upload be accepted?" as the stable report documented in the README.

    ``{"accepted", "format", "driver", "features", "problems": [...], "warnings": [...]}``; each
    problem is ``{"rule", "message", "feature", "sector_id", "field"}``. The codes are checked against ``registry``
    (a set of codes: the plan store's, given by the caller), else the ``contingents`` CSV, else the sample's.
    """
    from .. import geodata
    from .registry import read_contingents

    if registry is None:
        registry = set(read_contingents(contingents or geodata.sample_contingents_path())["code"])
    res = read_sectors(source, registry=set(registry), strict=True, repair=repair, limits=limits,
                       layer=layer, encoding=encoding, mapping=mapping, crs=crs)
    return {"accepted": res.accepted, "format": res.format, "driver": res.driver, "features": res.features,
            "problems": [p.as_dict() for p in res.problems], "warnings": [w.as_dict() for w in res.warnings]}
