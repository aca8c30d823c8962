"""Reading a sensor file: point assets with a reach (radars, observation posts, cameras, patrol ships).

Fields (case-insensitive): ``sensor_id`` (required, unique), ``name``, ``domain`` (``air``, ``sea``, ``land``),
``contingent`` (codes, lead first), ``range_km`` (required, > 0), ``min_range_km``, ``azimuth_from_deg`` /
``azimuth_to_deg`` (a sector clockwise from true north; both or neither), ``antenna_m`` (height above the
surface), ``target_m`` (default 2 on land, 3 at sea), ``type``, ``valid_from`` / ``valid_to``, ``notes``. Same
formats, limits and isolation as sector files; the content rules are below.
"""
from __future__ import annotations

import math

import geopandas as gpd

from ..errors import Problem
from ..plan import sensors_from_rows
from ..schema import ISO3, PLAN_AREA, outside_plan_area, parse_contingents
from ..settings import Limits
from .sectors import _check_id_characters, _text, control_problem, date_range_problem, parse_date

NUMBERS = ("range_km", "min_range_km", "azimuth_from_deg", "azimuth_to_deg", "antenna_m", "target_m")
MAX_RANGE_KM = 1000.0


def _num(v):
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    f = float(v)
    return None if math.isnan(f) else f


def read_sensors(source, *, registry: set[str] | None = None, strict: bool = False,
                 limits: Limits | None = None) -> tuple[gpd.GeoDataFrame | None, list[Problem], list[Problem]]:
    """``(sensors, problems, warnings)``: the canonical frame (EPSG:4326 points) when there is no problem."""
    from . import _read_frame

    limits = limits or (Limits.from_env() if strict else Limits.lenient())
    gdf, fmt, _driver, problems, warnings, _n = _read_frame(source, limits=limits, isolate=strict, layer=None,
                                                           encoding=None)
    if problems:
        return None, problems, warnings
    cols = {str(c).strip().lower(): c for c in gdf.columns if c != gdf.geometry.name}
    for f in ("sensor_id", "range_km"):
        if f not in cols:
            problems.append(Problem("field-missing", f"required field {f!r} is missing", field=f))
    if problems:
        return None, problems, warnings
    rows, seen = [], {}
    for i, (rec, geom) in enumerate(zip(gdf.drop(columns=gdf.geometry.name).to_dict("records"), gdf.geometry)):
        get = {k: rec.get(c) for k, c in cols.items()}
        sid = _text(get.get("sensor_id"))
        if not sid:
            problems.append(Problem("sector-id-missing", "sensor_id is empty", feature=i, field="sensor_id"))
        elif sid in seen:
            problems.append(Problem("sector-id-duplicate", f"sensor_id {sid!r} is also used by feature {seen[sid]}",
                                    feature=i, sector_id=sid, field="sensor_id"))
        elif _check_id_characters(sid, i, problems, warnings):
            seen[sid] = i
        if geom is None or geom.is_empty or geom.geom_type not in ("Point", "MultiPoint") or (
                geom.geom_type == "MultiPoint" and len(geom.geoms) != 1):
            problems.append(Problem("geometry-type", "a sensor is one point", feature=i, sector_id=sid or None))
            continue
        point = geom if geom.geom_type == "Point" else geom.geoms[0]
        if (why := outside_plan_area(point)) is not None:
            problems.append(Problem("outside-plan-area", f"the sensor is not within the plan area (lon "
                                    f"{PLAN_AREA[0]}–{PLAN_AREA[2]}, lat {PLAN_AREA[1]}–{PLAN_AREA[3]}): {why}",
                                    feature=i, sector_id=sid or None, field="geometry"))
            continue
        domain = _text(get.get("domain")).lower() or "land"
        if domain not in ("air", "sea", "land"):
            problems.append(Problem("domain-invalid", f"domain {domain!r} is not air, sea or land", feature=i,
                                    sector_id=sid or None, field="domain"))
        vals = {}
        for f in NUMBERS:
            try:
                vals[f] = _num(get.get(f))
            except (TypeError, ValueError):
                problems.append(Problem("sensor-invalid", f"{f} {get.get(f)!r} is not a number", feature=i,
                                        sector_id=sid or None, field=f))
                vals[f] = None
        _check_reach(vals, i, sid, problems)
        for f in ("name", "type", "notes"):
            if (p := control_problem(f, get.get(f), feature=i, sector_id=sid or None)) is not None:
                problems.append(p)
        codes = parse_contingents(get.get("contingent"))
        for c in codes:
            if not ISO3.match(c):
                problems.append(Problem("contingent-invalid", f"contingent code {c!r} is not ISO 3166-1 alpha-3",
                                        feature=i, sector_id=sid or None, field="contingent"))
            elif strict and registry is not None and c not in registry:
                problems.append(Problem("contingent-unknown", f"contingent {c!r} is not in the contingents registry",
                                        feature=i, sector_id=sid or None, field="contingent"))
        dates = {}
        for f in ("valid_from", "valid_to"):
            t = _text(get.get(f))
            dates[f] = parse_date(t) if t else ""
            if dates[f] is None:
                problems.append(Problem("date-invalid", f"{f} {t!r} is not a date; write YYYY-MM-DD", feature=i,
                                        sector_id=sid or None, field=f))
            elif (p := date_range_problem(f, dates[f], feature=i, sector_id=sid or None)) is not None:
                problems.append(p)
        if dates["valid_from"] and dates["valid_to"] and dates["valid_from"] > dates["valid_to"]:
            problems.append(Problem("date-order", f"valid_from {dates['valid_from']} is after valid_to "
                                    f"{dates['valid_to']}: the sensor would end before it starts", feature=i,
                                    sector_id=sid or None, field="valid_from"))
        rows.append({"sensor_id": sid, "name": _text(get.get("name")) or sid, "domain": domain,
                     "contingent": ";".join(codes), "type": _text(get.get("type")), **vals,
                     "valid_from": dates["valid_from"] or "", "valid_to": dates["valid_to"] or "",
                     "notes": _text(get.get("notes")), "geometry": point})
    if problems or not rows:
        if not rows and not problems:
            problems.append(Problem("no-features", "the file holds no sensors"))
        return None, problems, warnings
    return sensors_from_rows(rows, [r["geometry"] for r in rows]), problems, warnings


def _check_reach(v: dict, i: int, sid: str, problems: list) -> None:
    """The range, annulus, azimuth sector and heights of one sensor."""
    where = {"feature": i, "sector_id": sid or None}
    rng = v.get("range_km")
    if rng is None or not (0 < rng <= MAX_RANGE_KM):
        problems.append(Problem("sensor-invalid", f"range_km must be more than 0 and at most {MAX_RANGE_KM:g}",
                                field="range_km", **where))
    mn = v.get("min_range_km")
    if mn is not None and (mn < 0 or (rng is not None and mn >= rng)):
        problems.append(Problem("sensor-invalid", "min_range_km must be 0 or more and below range_km",
                                field="min_range_km", **where))
    az = (v.get("azimuth_from_deg"), v.get("azimuth_to_deg"))
    if (az[0] is None) != (az[1] is None):
        problems.append(Problem("sensor-invalid", "give both azimuth_from_deg and azimuth_to_deg, or neither",
                                field="azimuth_from_deg", **where))
    for f, x in zip(("azimuth_from_deg", "azimuth_to_deg"), az):
        if x is not None and not (0 <= x <= 360):
            problems.append(Problem("sensor-invalid", f"{f} {x:g} is not between 0 and 360", field=f, **where))
    for f, top in (("antenna_m", 1000.0), ("target_m", 30000.0)):
        x = v.get(f)
        if x is not None and not (0 <= x <= top):
            problems.append(Problem("sensor-invalid", f"{f} {x:g} is not between 0 and {top:g} m", field=f, **where))
