"""Data exports: the analysis as GIS layers (GeoJSON, GeoPackage) and tables (CSV, JSON)."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..text import strip_controls


#: decimal places of a degree written to GeoJSON: 1e-7° is about 1 cm (RFC 7946 §11.2 suggests trimming)
GEOJSON_DECIMALS = 7


def rfc7946_geometries(geoms) -> np.ndarray:
    """Lon/lat geometries as RFC 7946 wants them: polygons by the right-hand rule (exterior rings
    counter-clockwise, holes clockwise, §3.1.6) and coordinates rounded to :data:`GEOJSON_DECIMALS`.

    Rounding keeps vertices that polygons share shared, but it can pinch or flatten a sliver thinner
    than a centimetre: such a geometry is snap-rounded instead (``shapely.set_precision``, which
    keeps it valid), and if that fails or leaves nothing (the whole sliver is thinner than the grid)
    it is written at full precision. A valid input stays valid.
    """
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return geoms
    rounded = shapely.transform(geoms, lambda xy: np.round(xy, GEOJSON_DECIMALS))
    rounded = shapely.orient_polygons(rounded, exterior_cw=False)  # rounding may turn a sliver over
    broken = np.flatnonzero(~shapely.is_valid(rounded))
    oriented = shapely.orient_polygons(geoms[broken], exterior_cw=False)
    for i, orig in zip(broken[shapely.is_valid(oriented)], oriented[shapely.is_valid(oriented)]):
        try:
            alt = shapely.set_precision(orig, 10.0 ** -GEOJSON_DECIMALS)
            alt = shapely.orient_polygons(alt, exterior_cw=False)
            ok = shapely.is_valid(alt) and not shapely.is_empty(alt) and shapely.get_type_id(alt) in (3, 6)
        except shapely.errors.GEOSException:
            ok = False
        rounded[i] = alt if ok else orig
    return rounded


def _write_geojson(gdf: gpd.GeoDataFrame, path, name: str) -> None:
    """An RFC 7946 FeatureCollection (WGS84 lon/lat, right-hand rule, see :func:`rfc7946_geometries`),
    one feature per line (GDAL's writer took 12 s for a 10,000-sector partition; this takes 2 s)."""
    import json

    props = gdf.drop(columns=gdf.geometry.name)
    cols = {c: [None if (isinstance(v, float) and math.isnan(v)) else v for v in props[c].tolist()]
            for c in props.columns}
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs(4326)
    geoms = rfc7946_geometries(gdf.geometry.values)
    empty = shapely.is_empty(geoms)  # a sliver the projection flattened altogether
    geoms = shapely.to_geojson(geoms)
    tmp = path.with_suffix(".geojson.part")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(f'{{"type": "FeatureCollection", "name": {json.dumps(name)}, "features": [\n')
        for i in range(len(gdf)):
            row = json.dumps({c: cols[c][i] for c in cols}, ensure_ascii=False)
            geom = "null" if geoms[i] is None or empty[i] else geoms[i]  # RFC 7946 §3.2: an unlocated feature
            fh.write(f'{{"type": "Feature", "properties": {row}, "geometry": {geom}}}'
                     f'{"," if i < len(gdf) - 1 else ""}\n')
        fh.write("]}\n")
    tmp.replace(path)


def _styled_columns(name: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The column each layer's style keys on: a gap's kind, an overlap's depth, a face's state."""
    gdf = gdf.copy()
    if not len(gdf):
        return gdf
    if name == "gaps":
        gdf["kind"] = np.where(gdf.get("unassigned", False).astype(bool), "unassigned", "gap")
    elif name == "overlaps":
        n = np.asarray([len(str(s).split(";")) for s in gdf["sectors"]])
        gdf["depth"] = np.where(n >= 4, "4+", n.astype(str))
    elif name == "partition":
        state = np.full(len(gdf), "covered", dtype=object)
        for col in ("self_overlap", "conflict", "gap", "unassigned", "outside"):  # later wins
            if col in gdf:
                state[np.asarray(gdf[col], dtype=bool)] = col
        gdf["state"] = state
    return gdf


def sectors_layer(plan) -> gpd.GeoDataFrame:
    """The plan's sectors as a layer (attributes as in the sector file, plus ``lead``)."""
    from ..plan import sector_attrs

    rows = [sector_attrs(r) for _, r in plan.sectors.iterrows()]
    frame = pd.DataFrame(rows)
    frame["lead"] = [c[0] if c else "" for c in plan.sectors["contingents"]]
    return gpd.GeoDataFrame(frame, geometry=list(plan.sectors.geometry.values), crs=4326)


def sensor_layers(plan, altitudes_ft: list[float] | None = None) -> dict[str, gpd.GeoDataFrame]:
    """The plan's sensors as two layers: ``sensors`` (points: the file's attributes, the lead, and the reach and
    radar horizon for the domain's default target) and ``sensor_footprints`` (one polygon per sensor, air
    sensors once per default target altitude). Smooth earth: terrain masking is not modelled."""
    from ..engine.sensors import default_altitudes, sensor_layer
    from ..plan import sensor_attrs

    ext = plan.full_extents()
    reach: dict = {}
    fp_rows, fp_geoms = [], []
    runs = [("land", 0.0), ("sea", 0.0)] + [("air", a) for a in (altitudes_ft or default_altitudes(plan.sectors))]
    for domain, alt in runs:
        layer = sensor_layer(plan.sensors, ext, domain, alt)
        for row, geom in zip(layer["sensors"], layer["footprints"]):
            reach.setdefault(row["sensor_id"], row)
            fp_rows.append({"sensor_id": row["sensor_id"], "domain": domain, "lead": row["contingent"].split(";")[0],
                            "contingent": row["contingent"], "altitude_ft": layer["altitude_ft"],
                            "reach_km": row["reach_km"], "horizon_km": row["horizon_km"],
                            "horizon_limited": row["horizon_limited"]})
            fp_geoms.append(geom)
    points = pd.DataFrame([sensor_attrs(r) for _, r in plan.sensors.iterrows()])
    points["lead"] = [str(c).split(";")[0] for c in points["contingent"]]
    points["reach_km"] = [reach.get(str(i), {}).get("reach_km") for i in points["sensor_id"]]
    points["horizon_km"] = [reach.get(str(i), {}).get("horizon_km") for i in points["sensor_id"]]
    return {"sensors": gpd.GeoDataFrame(points, geometry=list(plan.sensors.geometry.values), crs=4326),
            "sensor_footprints": gpd.GeoDataFrame(pd.DataFrame(fp_rows), geometry=fp_geoms, crs=4326)}


def write_layers(result, out_dir, *, plan=None, state: list[str] | None = None,
                 altitudes_ft: list[float] | None = None) -> list:
    """Write gaps, overlaps and the partition (and the plan's sectors, given ``plan``) as GeoJSON files and one
    styled GeoPackage (for QGIS).

    Every polygon is valid, and the partition's faces of each layer form a valid polygonal coverage
    (see :attr:`ua_coverage.engine.Analysis.faces`). GeoJSON follows RFC 7946: WGS84 lon/lat,
    exterior rings counter-clockwise and holes clockwise, coordinates to 1e-7° (about 1 cm); the
    GeoPackage has the same orientation at full precision, a default style per layer in its ``layer_styles``
    table (gaps magenta, overlaps by depth, the partition by state, sectors by lead contingent), spatial
    indexes, and ``state`` (revision, what-if, band, day, notional) in its metadata and layer descriptions.

    Returns the paths written: ``gaps.geojson``, ``overlaps.geojson``, ``partition.geojson`` (and
    ``sectors.geojson``; for a plan with sensors ``sensors.geojson`` and ``sensor_footprints.geojson``, see
    :func:`sensor_layers`, and a ``"sensors"`` block in ``summary.json`` as in ``analyze --sensors --json``),
    ``analysis.gpkg`` and ``summary.json``.
    """
    import json
    from datetime import datetime, timezone

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    layers = {"gaps": result.gap_pieces, "overlaps": result.overlap_pieces, "partition": result.faces}
    if plan is not None:
        layers["sectors"] = sectors_layer(plan)
    has_sensors = plan is not None and len(getattr(plan, "sensors", ()))
    if has_sensors:
        layers.update(sensor_layers(plan, altitudes_ft))
    written = []
    gpkg = out / "analysis.gpkg"
    gpkg.unlink(missing_ok=True)
    stamp = " · ".join(state or []) or "ua-coverage analysis"
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    titles = {"gaps": "Gaps: inside the extent, covered by no contingent", "overlaps": "Overlaps: two or more sectors",
              "partition": "Partition of each layer's extent by its sectors", "sectors": "Sectors and zones of the plan",
              "sensors": "Sensors: position, reach and radar horizon (smooth earth, no terrain)",
              "sensor_footprints": "Sensor footprints: what each sensor reaches (smooth earth, no terrain)"}
    for name, gdf in layers.items():
        gdf = _styled_columns(name, gdf)
        if len(gdf) == 0:
            gdf = gpd.GeoDataFrame({"domain": pd.Series([], dtype=str)}, geometry=gpd.GeoSeries([], crs=4326))
        path = out / f"{name}.geojson"
        _write_geojson(gdf, path, name)
        if len(gdf):  # the same right-hand rule in the GeoPackage (full precision there)
            gdf = gdf.set_geometry(shapely.orient_polygons(np.asarray(gdf.geometry.values, dtype=object),
                                                           exterior_cw=False), crs=gdf.crs)
        # the GeoPackage's own id column gets a name no plan field has: a plan's `fid` field stays a field
        fid = next(f for f in ("ua_fid", "ua_fid_1", "ua_fid_2", f"ua_fid_{len(gdf.columns)}")
                   if f not in {str(c).lower() for c in gdf.columns})
        gdf.to_file(gpkg, layer=name, driver="GPKG", SPATIAL_INDEX="YES", FID=fid,
                    DESCRIPTION=f"{titles[name]}. {stamp}. Generated {generated} by ua-coverage."[:1000],
                    metadata={"ua_coverage_state": stamp, "generated": generated})
        written.append(path)
    from .styles import add_styles

    add_styles(gpkg, {n: titles[n] for n in layers if n != "sensors"},  # points keep QGIS's default marker
               registry=getattr(plan, "contingents", None))
    written.append(gpkg)
    summary = out / "summary.json"
    doc = json.loads(result.to_json())
    doc["view"] = {"state": state or [], "generated": generated}
    if has_sensors:  # the same block as analyze --sensors --json: each sector's watched share in "sectors"
        from ..engine.sensors import watched

        w = watched(plan.sensors, plan.full_extents(), plan.sectors, altitudes_ft=altitudes_ft)
        for sid, pct in w.pop("watched_pct").items():
            if sid in doc.get("sectors", {}):
                doc["sectors"][sid]["watched_pct"] = pct
        doc["sensors"] = w
    summary.write_text(json.dumps(doc, ensure_ascii=False, default=float), encoding="utf-8")
    written.append(summary)
    return written


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Neutralise spreadsheet formula injection: text starting with = + - @ (or tab/CR) gets a leading '.

    Each ``;``-separated part counts as a cell of its own (a spreadsheet in a European locale splits on ``;``,
    and the lists here are ``;``-joined), and control characters never reach the file.

    >>> safe_cell("=1+1"), safe_cell("FRA;=HYPERLINK(1)"), safe_cell(-5.0)
    ("'=1+1", "FRA;'=HYPERLINK(1)", -5.0)
    """
    if not isinstance(value, str):
        return value
    value = strip_controls(value)
    if ";" in value:
        return ";".join(safe_cell(part) for part in value.split(";"))
    if value[:1] in _FORMULA_START or value.lstrip()[:1] in ("=", "+", "@"):
        return "'" + value
    return value


def _write_csv(path: Path, header: list[str], rows: list[list], note: str = "") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        if note:  # said before the header, so no one mistakes a what-if, a day or a notional plan for the plan
            fh.write("# " + strip_controls(note).replace("\n", " ").replace("\r", " ") + "\r\n")  # a comment, unquoted
        w.writerow(header)
        for r in rows:
            w.writerow([safe_cell(v) for v in r])
    return path


def export_data(analysis, out_dir: str | Path, *, plan=None, state: list[str] | None = None) -> list[Path]:
    """Gap/overlap/partition (and sector) layers (GeoJSON + styled GeoPackage), ``summary.json`` with the view
    state, and summary tables (CSV) in ``out_dir``. When the view is not the plain plan (a what-if, a band, a
    day), every CSV starts with a ``# …`` line saying so."""
    out = Path(out_dir)
    written = write_layers(analysis, out, plan=plan, state=state)
    # the view's provenance first, in every CSV (revision and time, what-if, day, band, NOTIONAL): a table passed on
    # alone still says what it is
    note = " · ".join(state or [])

    def _csv(path, header, rows):
        return _write_csv(path, header, rows, note)

    written.append(_csv(out / "domains.csv", ["domain", "extent_km2", "covered_km2", "covered_pct", "gap_km2",
                                                    "unassigned_km2", "overlap_km2", "conflict_km2",
                                                    "self_overlap_km2", "outside_km2", "sectors", "unassigned_sectors"],
                              [[d, v["extent_km2"], v["covered_km2"], v["covered_pct"], v["gap_km2"],
                                v["unassigned_km2"], v["overlap_km2"], v["conflict_km2"], v["self_overlap_km2"],
                                v["outside_km2"], v["sectors"], v["unassigned_sectors"]]
                               for d, v in analysis.domains.items()]))
    written.append(_csv(out / "contingents.csv", ["code", "assigned_km2", "exclusive_km2", "shared_km2",
                                                        "shares_with", "lead_sectors", "supporting_sectors", "known"],
                              [[c, v["assigned_km2"], v["exclusive_km2"], v["shared_km2"], ";".join(v["shares_with"]),
                                ";".join(v["lead_sectors"]), ";".join(v["supporting_sectors"]), v["known"]]
                               for c, v in analysis.contingents.items()]))
    # by whom and since when as the last columns (older readers keep theirs): candidates as CODE:border_km, idle
    # ones as CODE:idle, longest border first
    written.append(_csv(out / "gaps.csv", ["domain", "area_km2", "lon", "lat", "oblasts", "at_sea", "sectors",
                                           "candidates", "since", "until"],
                              [[g["domain"], g["area_km2"], g["centroid"][0], g["centroid"][1],
                                ";".join(g["oblasts"]), g["at_sea"], ";".join(g.get("sectors", [])),
                                ";".join(f"{c['code']}:idle" if c["idle"] else f"{c['code']}:{c['border_km']:.3f}"
                                         for c in g.get("candidates", [])),
                                g.get("since") or "", g.get("until") or ""]
                               for g in analysis.gaps]))
    written.append(_csv(out / "overlaps.csv", ["domain", "area_km2", "lon", "lat", "sectors", "contingents",
                                                     "conflict", "self_overlap", "since", "until", "on_no_day"],
                              [[o["domain"], o["area_km2"], o["centroid"][0], o["centroid"][1], ";".join(o["sectors"]),
                                ";".join(o["contingents"]), o["conflict"], o["self_overlap"], o.get("since") or "",
                                o.get("until") or "", o.get("on_no_day", "")]
                               for o in analysis.overlaps]))
    written.append(_csv(out / "oblasts.csv", ["code", "name", "layer", "extent_km2", "covered_km2", "covered_pct"],
                              [[code, o["name"], layer, v["extent_km2"], v["covered_km2"], v["covered_pct"]]
                               for code, o in analysis.oblasts.items() for layer, v in o["layers"].items()]))
    return written
