"""The ingest worker: the only code that hands client bytes to GDAL.

Run as ``python -m ua_coverage.ingest._worker`` with a JSON request on stdin; answers JSON on stdout. The
parent (:mod:`ua_coverage.ingest`) enforces a wall-clock timeout; this process caps its own memory
and CPU time, so one hostile file cannot take the server down. :func:`read_prepared` is also called
in-process for the lenient analysis of a trusted local file.
"""
from __future__ import annotations

import base64
import json
import math
import sqlite3
import sys
import tempfile
from pathlib import Path

from . import _gdal  # noqa: F401  (GDAL_SKIP before pyogrio)

import numpy as np  # noqa: E402
import shapely  # noqa: E402


from ._sniff import ALLOWED_EPSG, describe_metres


def _problem(rule, message, feature=None, field=None, sector_id=None):
    return {"rule": rule, "message": message, "feature": feature, "sector_id": sector_id, "field": field}


def _crs_check(crs, fmt: str, sample_xy, declared_epsg: int | None = None, assumed_epsg: int | None = None):
    """Return (epsg or None, problem or None) for the CRS GDAL reports; ``assumed_epsg`` is the CRS the user declares
    (``--crs``) for a file that declares none (refused, ``crs-declared``, for a file that declares its own)."""
    if assumed_epsg is not None:
        own = None
        if fmt in ("GeoJSON", "KML", "KMZ"):
            own = f"EPSG:{declared_epsg}" if declared_epsg else f"WGS 84 lon/lat (a {fmt} file is by definition)"
        elif fmt != "CSV" and crs is not None:
            from pyproj import CRS

            c = CRS.from_user_input(crs)
            own = f"{c.name} (EPSG:{c.to_epsg(min_confidence=70)})"
        if own is not None:
            return None, _problem("crs-declared", f"the file declares its own CRS, {own}; a CRS given for it "
                                  f"(EPSG:{assumed_epsg}) is refused")
        return int(assumed_epsg), None
    if fmt == "GeoJSON" and declared_epsg:
        return declared_epsg, None  # a legacy 'crs' member naming an accepted code (checked when sniffing)
    if fmt in ("GeoJSON", "KML", "KMZ", "CSV"):
        return 4326, None  # by definition of the format (CSV: WKT in WGS84 lon/lat, see README)
    if crs is None:
        hint = ""
        if sample_xy is not None:
            x, y = sample_xy
            if abs(x) > 1000 or abs(y) > 1000:
                hint = (f" Its coordinates (e.g. {x:.0f}, {y:.0f}) look like metres, of "
                        f"{describe_metres(x, y)}: declare that CRS (a .prj beside the .shp).")
            else:
                hint = " Its coordinates look like degrees: declare WGS 84 (EPSG:4326)."
        return None, _problem("crs-missing", "the file declares no coordinate reference system (a shapefile "
                              "needs its .prj)." + hint)
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    epsg = c.to_epsg(min_confidence=70)
    if c.to_authority() == ("OGC", "CRS84"):
        return 4326, None
    if epsg in ALLOWED_EPSG:
        differs = _differs_from_epsg(c, epsg)
        if differs:
            return None, _problem("crs-mismatch", f"the file's CRS says it is {ALLOWED_EPSG[epsg]} (EPSG:{epsg}) but "
                                  f"its parameters differ from that definition ({differs}); the data would land "
                                  "in the wrong place, so it is refused")
        return epsg, None
    allowed = ", ".join(f"EPSG:{k}" for k in sorted(ALLOWED_EPSG))
    return None, _problem("crs-not-allowed", f"the CRS {c.name!r} (EPSG:{epsg}) is not one we accept; "
                          f"reproject to WGS 84 (EPSG:4326) or one of: {allowed}")


def _differs_from_epsg(crs, epsg: int) -> str:
    """How a declared CRS's projection and ellipsoid differ from the EPSG definition it names ('' = they agree)."""
    from pyproj import CRS

    ref = CRS.from_epsg(epsg)
    out = []
    ea, eb = crs.ellipsoid, ref.ellipsoid
    if ea is not None and eb is not None and abs(ea.semi_major_metre - eb.semi_major_metre) > 0.01:
        out.append(f"semi-major axis {ea.semi_major_metre:g} m, not {eb.semi_major_metre:g} m")
    oa, ob = crs.coordinate_operation, ref.coordinate_operation
    if (oa is None) != (ob is None):
        out.append("projected vs geographic")
    elif oa is not None:
        pa = {p.name.lower(): p.value for p in oa.params}
        for p in ob.params:
            v = pa.get(p.name.lower())
            if v is not None and abs(v - p.value) > max(1e-6 * abs(p.value), 1e-6):
                out.append(f"{p.name.lower()} {v:g}, not {p.value:g}")
    return "; ".join(out)


def _gpkg_row_count(path: Path, layer: str) -> tuple[int | None, int | None]:
    """(feature count GeoPackage metadata claims, real row count) for a layer."""
    con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        claimed = None
        try:
            row = con.execute("SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = ?", (layer,)).fetchone()
            claimed = None if row is None else row[0]
        except sqlite3.DatabaseError:
            pass
        real = con.execute(f'SELECT COUNT(*) FROM "{layer.replace(chr(34), chr(34) * 2)}"').fetchone()[0]
        return claimed, real
    finally:
        con.close()


def read_prepared(files: dict[str, bytes], main: str, fmt: str, layer: str | None, limits: dict,
                  declared_epsg: int | None = None, assumed_epsg: int | None = None) -> dict:
    """Open the prepared files with GDAL and return attributes + WKB (EPSG:4326, 2-D) or problems."""
    out = {"driver": "", "features": 0, "problems": [], "warnings": [], "columns": [], "records": [],
           "wkb": [], "crs": None}
    with tempfile.TemporaryDirectory(prefix="ua-ingest-") as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        df = _read_layer(Path(tmp) / main, fmt, layer, limits, out)
    if df is None:
        return out
    geoms = _checked_geometry(df, fmt, limits, declared_epsg, out, assumed_epsg)
    if geoms is None:
        return out
    cols = [c for c in df.columns if c != df.geometry.name]
    out["columns"] = [str(c) for c in cols]
    out["records"] = _records(df[cols], limits["max_text_chars"], out)
    out["wkb"] = [None if g is None else base64.b64encode(shapely.to_wkb(g)).decode("ascii") for g in geoms]
    return out


def _read_layer(path: Path, fmt: str, layer: str | None, limits: dict, out: dict):
    """The one layer to read, checked for driver, feature and field counts before it is read (else None)."""
    import pyogrio

    from ._gdal import DRIVERS

    try:
        layers = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # noqa: BLE001 - every GDAL failure becomes a clear problem
        out["problems"].append(_problem("format-damaged", f"the {fmt} file cannot be opened: {exc}"))
        return None
    if layer is None:
        if len(layers) != 1:
            out["problems"].append(_problem("layer-multiple" if layers else "layer-missing",
                                            f"the file holds {len(layers)} layers ({', '.join(layers[:10])}); "
                                            "upload one layer, or name the layer to read"))
            return None
        layer = layers[0]
    elif layer not in layers:
        out["problems"].append(_problem("layer-missing", f"there is no layer {layer!r}; the file holds: "
                                        f"{', '.join(layers[:10])}"))
        return None
    open_opts = {}
    if fmt == "CSV":
        open_opts = {"GEOM_POSSIBLE_NAMES": "wkt,geometry,the_geom,geom", "KEEP_GEOM_COLUMNS": "NO",
                     "AUTODETECT_TYPE": "NO"}
    try:
        info = pyogrio.read_info(path, layer=layer, **open_opts)
    except Exception as exc:  # noqa: BLE001
        out["problems"].append(_problem("format-damaged", f"the {fmt} layer cannot be read: {exc}"))
        return None
    out["driver"] = info.get("driver", "")
    if out["driver"] != DRIVERS["KML" if fmt == "KMZ" else fmt]:
        out["problems"].append(_problem("driver-mismatch", f"the file looks like {fmt} but GDAL opened it "
                                        f"with the {out['driver']!r} driver; it is refused"))
        return None
    n = int(info.get("features", -1))
    if fmt == "GeoPackage":
        claimed, real = _gpkg_row_count(path, layer)
        if claimed is not None and claimed != real:
            out["problems"].append(_problem("gpkg-feature-count", f"the GeoPackage says the layer has {claimed} "
                                            f"features but its table holds {real} rows (stale metadata); "
                                            "open and save it again in your GIS, or run ogrinfo -sql "
                                            "'RECOMPUTE EXTENT ON' on it"))
            return None
        n = real
    if n > limits["max_features"]:
        out["problems"].append(_problem("feature-limit", f"the layer has {n} features; the limit is "
                                        f"{limits['max_features']}"))
        return None
    fields = list(info.get("fields", []))
    if len(fields) > limits["max_fields"]:
        out["problems"].append(_problem("field-limit", f"the layer has {len(fields)} fields; the limit is "
                                        f"{limits['max_fields']}"))
        return None
    try:
        df = pyogrio.read_dataframe(path, layer=layer, **open_opts)
    except Exception as exc:  # noqa: BLE001
        out["problems"].append(_problem("format-damaged", f"the {fmt} layer cannot be read: {exc}"))
        return None
    if fmt in ("KML", "KMZ"):  # LIBKML adds KML's own Placemark fields; keep them only when used
        boiler = ["id", "description", "timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude",
                  "visibility", "drawOrder", "icon"]
        drop = [c for c in boiler if c in df.columns and df[c].isna().all()
                or (c in df.columns and c in ("tessellate", "extrude", "visibility", "drawOrder"))]
        df = df.drop(columns=drop)
    out["features"] = len(df)
    return df


def _checked_geometry(df, fmt: str, limits: dict, declared_epsg: int | None, out: dict, assumed_epsg=None):
    """Vertex limits, the CRS, Z dropped, reprojected to EPSG:4326 (else None with problems)."""
    geoms = np.asarray(df.geometry.values, dtype=object)
    counts = shapely.get_num_coordinates(geoms)
    for i in np.flatnonzero(counts > limits["max_vertices_per_feature"])[:20]:
        out["problems"].append(_problem("vertex-limit-feature", f"the polygon has {counts[i]:,} vertices; the limit is "
                                        f"{limits['max_vertices_per_feature']:,} per feature: simplify it", int(i)))
    if counts.sum() > limits["max_vertices_per_file"]:
        out["problems"].append(_problem("vertex-limit-file", f"the file has {counts.sum():,} vertices; the limit is "
                                        f"{limits['max_vertices_per_file']:,}: simplify the polygons"))
    if out["problems"]:
        return None
    xy = shapely.get_coordinates(geoms[:50])
    epsg, prob = _crs_check(df.crs, fmt, tuple(xy[0]) if len(xy) else None, declared_epsg, assumed_epsg)
    if prob:
        out["problems"].append(prob)
        return None
    out["crs"] = f"EPSG:{epsg}"
    has_z = shapely.has_z(geoms)
    if has_z.any():
        geoms = shapely.force_2d(geoms)
        for i in np.flatnonzero(has_z)[:20]:
            out["warnings"].append(_problem("geometry-z-dropped", "Z values were dropped; only 2-D footprints count",
                                            int(i)))
    if epsg != 4326:
        from pyproj import Transformer

        tr = Transformer.from_crs(epsg, 4326, always_xy=True)
        finite = ~shapely.is_missing(geoms)
        geoms[finite] = shapely.transform(geoms[finite], lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    return geoms


def _records(frame, max_text: int, out: dict) -> list[list]:
    """Attribute rows as JSON-able values: dates as ISO text, numpy scalars unwrapped, binary refused."""
    records = []
    id_col = next((k for k, c in enumerate(frame.columns) if str(c).strip().lower() == "sector_id"), None)
    for i, row in enumerate(frame.itertuples(index=False, name=None)):
        sid = str(row[id_col])[:64] if id_col is not None and row[id_col] is not None else None
        rec = []
        for c, v in zip(frame.columns, row):
            # NaT (a date column's blank cell) is not equal to itself, like NaN
            if v is None or (isinstance(v, float) and math.isnan(v)) or (hasattr(v, "isoformat") and v != v):
                rec.append(None)
                continue
            if hasattr(v, "isoformat"):
                v = v.isoformat()[:10] if hasattr(v, "hour") and not (v.hour or v.minute or v.second) else v.isoformat()
            elif isinstance(v, (np.integer, np.floating, np.bool_)):
                v = v.item()
            elif isinstance(v, bytes):
                out["problems"].append(_problem("field-binary", "binary values are not allowed", i, str(c), sid))
                v = None
            if isinstance(v, str) and len(v) > max_text:
                out["problems"].append(_problem("text-too-long", f"the value has {len(v)} characters; the limit is "
                                                f"{max_text}", i, str(c), sid))
            rec.append(v)
        records.append(rec)
    return records


def _limit_resources(limits: dict) -> None:
    import resource

    mem = int(limits["parse_memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = int(math.ceil(limits["parse_timeout_s"])) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def main() -> int:
    req = json.loads(sys.stdin.buffer.read())
    _limit_resources(req["limits"])
    files = {k: base64.b64decode(v) for k, v in req["files"].items()}
    try:
        res = read_prepared(files, req["main"], req["format"], req.get("layer"), req["limits"], req.get("epsg"),
                            req.get("assumed_epsg"))
    except MemoryError:
        res = {"problems": [_problem("parse-memory", "reading the file needed more memory than allowed "
                                     f"({req['limits']['parse_memory_mb']} MB); it is refused")]}
    except RecursionError:
        res = {"problems": [_problem("format-damaged", "the file is nested too deeply to be read")]}
    except Exception as exc:  # noqa: BLE001 - whatever GDAL or a file does, the caller gets a report
        res = {"problems": [_problem("format-damaged", f"the {req['format']} file cannot be read: "
                                     f"{type(exc).__name__}: {str(exc)[:200]}")]}
    sys.stdout.write(json.dumps(res, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
