"""Sensor footprints by geodesy, and what they watch: the *watched* layer of each domain.

A sensor reaches the points within ``range_km`` of it (geodesic distance on WGS84), minus those within
``min_range_km``, inside its azimuth sector (clockwise from true north, ``azimuth_from_deg`` to
``azimuth_to_deg``; absent = all round). With an antenna height the reach is also limited by the radar horizon
on a smooth 4/3 earth: ``4.12 × (√antenna_m + √target_m)`` km (heights in metres). **Terrain masking is not
modelled** — a hill or a building hides nothing here.

Examples
--------
>>> round(radar_horizon_km(10, 2), 1)
18.9
>>> f = footprint(31.0, 49.0, 50.0)
>>> abs(float(area_km2([f])[0]) / (3.141592653589793 * 50.0 ** 2) - 1) < 0.002
True
"""
from __future__ import annotations

import math

import numpy as np
import shapely
from pyproj import Geod

from .geodesy import area_km2

_GEOD = Geod(ellps="WGS84")
#: vertices per full circle: a 256-gon's area is within 0.01 % of the circle's
VERTICES_PER_CIRCLE = 256
SMOOTH_EARTH_NOTE = "smooth 4/3 earth: terrain masking is not modelled"
DEFAULT_TARGET_M = {"land": 2.0, "sea": 3.0}


def radar_horizon_km(antenna_m: float, target_m: float) -> float:
    """Radar horizon on a smooth 4/3 earth, km: ``4.12 × (√antenna_m + √target_m)``."""
    return 4.12 * (math.sqrt(max(antenna_m, 0.0)) + math.sqrt(max(target_m, 0.0)))


def reach_km(range_km: float, antenna_m: float | None, target_m: float) -> float:
    """How far a sensor sees a target: its range, limited by the radar horizon when its antenna height is known."""
    if antenna_m is None or (isinstance(antenna_m, float) and math.isnan(antenna_m)):
        return range_km
    return min(range_km, radar_horizon_km(antenna_m, target_m))


def _arc(lon: float, lat: float, dist_km: float, az_from: float, az_to: float) -> np.ndarray:
    span = (az_to - az_from) % 360 or 360.0
    n = max(int(math.ceil(VERTICES_PER_CIRCLE * span / 360)), 8)
    az = az_from + np.linspace(0.0, span, n + 1)
    x, y, _ = _GEOD.fwd(np.full(n + 1, lon), np.full(n + 1, lat), az, np.full(n + 1, dist_km * 1000.0))
    # continuous longitudes: a ring that crosses ±180° must not jump across the whole map (and wrap the globe)
    x = np.unwrap(np.asarray(x, dtype=float), period=360.0)
    return np.column_stack([x, y])


def footprint(lon: float, lat: float, reach: float, min_km: float = 0.0, az_from: float | None = None,
              az_to: float | None = None):
    """The lon/lat polygon a sensor at (lon, lat) covers (see the module docs); empty if it reaches nothing."""
    if reach <= min_km or reach <= 0:
        return shapely.Polygon()
    full = az_from is None or az_to is None or (az_to - az_from) % 360 == 0
    if full:
        outer = _arc(lon, lat, reach, 0.0, 360.0)
        poly = shapely.Polygon(outer[:-1])
        if min_km > 0:
            poly = shapely.Polygon(outer[:-1], [_arc(lon, lat, min_km, 0.0, 360.0)[:-1][::-1]])
        return shapely.make_valid(poly) if not poly.is_valid else poly
    outer = _arc(lon, lat, reach, az_from, az_to)
    inner = _arc(lon, lat, min_km, az_from, az_to)[::-1] if min_km > 0 else np.array([[lon, lat]])
    poly = shapely.Polygon(np.vstack([outer, inner]))
    return poly if poly.is_valid else shapely.make_valid(poly)


def footprints(sensors, *, target_m: float | None = None) -> list:
    """Each sensor's footprint (``target_m`` overrides the sensors' own target height, e.g. an air altitude)."""
    return [footprint(r.geometry.x, r.geometry.y, _reach(r, target_m)[2], float(getattr(r, "min_range_km", 0) or 0),
                      _num(getattr(r, "azimuth_from_deg", None)), _num(getattr(r, "azimuth_to_deg", None)))
            for r in sensors.itertuples(index=False)]


def _reach(r, target_m: float | None = None) -> tuple[float, float | None, float]:
    """One sensor's ``(target height m, radar horizon km or None, reach km)``; ``target_m`` overrides its own."""
    t = target_m if target_m is not None else _num(getattr(r, "target_m", None))
    if t is None:  # 0 m is a height (a target on the surface), not a missing one
        t = DEFAULT_TARGET_M.get(r.domain, 2.0)
    antenna = _num(getattr(r, "antenna_m", None))
    horizon = radar_horizon_km(antenna, t) if antenna is not None else None
    return t, horizon, reach_km(float(r.range_km), antenna, t)


def _num(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def default_altitudes(sectors) -> list[float]:
    """The air target altitudes evaluated by default: 0 ft and every distinct ``floor_ft`` of the air zones."""
    floors = set()
    if sectors is not None and len(sectors) and "floor_ft" in sectors:
        air = sectors[sectors["layer"] == "air"]
        floors = {float(f) for f in air["floor_ft"] if f == f and f is not None}
    return sorted({0.0} | floors)


def sensor_layer(sensors, extents, domain: str, altitude_ft: float = 0.0) -> dict:
    """What a map shows of the sensors watching one domain: each sensor (position, reach, horizon), its
    footprint, its nominal range ring where the horizon cuts it short, the unwatched part of the extent and the
    figures. Land sensors watch the monitoring layer too; air sensors are taken at ``altitude_ft``.

    >>> import geopandas as gpd, shapely
    >>> from ua_coverage.domains import national_extents
    >>> s = gpd.GeoDataFrame({"sensor_id": ["R"], "name": ["R"], "domain": ["land"], "contingent": ["POL"],
    ...                       "type": [""], "range_km": [40.0], "antenna_m": [10.0]},
    ...                      geometry=[shapely.Point(30.5, 50.4)], crs=4326)
    >>> out = sensor_layer(s, national_extents(), "land")
    >>> round(out["sensors"][0]["reach_km"], 1), out["sensors"][0]["horizon_limited"]
    (18.9, True)
    """
    kind = "land" if domain == "monitoring" else domain
    sel = sensors[sensors["domain"] == kind] if len(sensors) else sensors
    target = altitude_ft * 0.3048 if kind == "air" else None
    shapes = footprints(sel, target_m=target)
    rows, rings = [], []
    for r, shape in zip(sel.itertuples(index=False), shapes):
        t, horizon, reach = _reach(r, target)
        limited = horizon is not None and horizon < float(r.range_km)
        rows.append({"sensor_id": str(r.sensor_id), "name": str(r.name), "type": str(getattr(r, "type", "") or ""),
                     "contingent": str(r.contingent), "lon": float(r.geometry.x), "lat": float(r.geometry.y),
                     "range_km": float(r.range_km), "reach_km": reach, "horizon_km": horizon,
                     "horizon_limited": limited, "target_m": t})
        rings.append(footprint(r.geometry.x, r.geometry.y, float(r.range_km), 0.0, _num(getattr(r, "azimuth_from_deg", None)),
                               _num(getattr(r, "azimuth_to_deg", None))) if limited else None)
    ext = extents.layers[domain]
    union = shapely.union_all(shapes) if shapes else shapely.Polygon()
    unwatched = shapely.difference(ext, union) if not union.is_empty else ext
    ext_km2, gap = (float(x) for x in area_km2([ext, unwatched]))
    return {"domain": domain, "sensor_domain": kind, "altitude_ft": altitude_ft if kind == "air" else None,
            "sensors": rows, "footprints": shapes, "range_rings": rings, "unwatched": unwatched,
            "extent_km2": ext_km2, "covered_km2": ext_km2 - gap, "gap_km2": gap,
            "covered_pct": 100.0 * (ext_km2 - gap) / ext_km2 if ext_km2 else 0.0, "note": SMOOTH_EARTH_NOTE}


def watched(sensors, extents, sectors=None, *, altitudes_ft: list[float] | None = None,
            by_contingent: bool = True) -> dict:
    """What the sensors watch (the README's ``"sensors"`` shape): per domain the extent, the part inside at least
    one footprint (``covered_km2``, ``gap_km2``, ``covered_pct``); air per target altitude (feet above the surface;
    default: 0 ft and every distinct ``floor_ft`` of the air zones); ``unwatched_sectors`` (assigned sectors no
    sensor sees); and, in ``"watched_pct"``, each sector's watched share (an air zone at its floor altitude).
    ``contingents`` and ``gaps`` (per contingent and the unwatched pieces) come from engine runs, skipped when
    ``by_contingent`` is False."""
    out: dict = {"note": SMOOTH_EARTH_NOTE}
    if altitudes_ft is None:
        altitudes_ft = default_altitudes(sectors)
    unions: dict = {}
    for domain in ("land", "sea", "air"):
        sel = sensors[sensors["domain"] == domain] if len(sensors) else sensors
        ext = extents.layers[domain]
        ext_km2 = float(area_km2([ext])[0])

        def figures(union):
            seen = shapely.intersection(union, ext)
            w = float(area_km2([seen])[0]) if not seen.is_empty else 0.0
            return {"covered_km2": w, "gap_km2": ext_km2 - w, "covered_pct": 100.0 * w / ext_km2 if ext_km2 else 0.0}

        if domain == "air":
            alts = []
            for ft in altitudes_ft:
                fp = footprints(sel, target_m=ft * 0.3048) if len(sel) else []
                u = shapely.union_all(fp) if fp else shapely.Polygon()
                unions[("air", ft)] = u
                alts.append({"altitude_ft": ft, **figures(u)})
            out["air"] = {"extent_km2": ext_km2, "sensors": int(len(sel)), "altitudes": alts}
        else:
            fp = footprints(sel) if len(sel) else []
            u = shapely.union_all(fp) if fp else shapely.Polygon()
            unions[domain] = u
            out[domain] = {"extent_km2": ext_km2, **figures(u), "sensors": int(len(sel))}
    shares: dict = {}
    unwatched = []
    if sectors is not None and len(sectors):
        import numpy as np

        geoms = np.asarray(sectors.geometry.values, dtype=object)
        keys = []
        for r in sectors.itertuples(index=False):
            layer = "land" if r.layer == "monitoring" else r.layer  # monitoring sectors: watched by land sensors
            if layer == "air":
                floor = getattr(r, "floor_ft", None)
                floor = 0.0 if floor is None or floor != floor else float(floor)
                layer = ("air", next((a for a in altitudes_ft if a >= floor), altitudes_ft[-1]))
            keys.append(layer)
        watched_km2 = np.zeros(len(geoms))
        for key in set(keys):
            # the watched union's parts are disjoint: a sector's watched area is the sum of its overlaps with the
            # parts it touches (one index query for all the sectors, no union per sector)
            parts = shapely.get_parts(unions[key])
            parts = parts[~shapely.is_empty(parts)] if len(parts) else parts
            if not len(parts):
                continue
            idx = np.flatnonzero([k == key for k in keys])
            pairs = shapely.STRtree(parts).query(geoms[idx], predicate="intersects")
            if pairs.shape[1]:
                pieces = shapely.intersection(geoms[idx][pairs[0]], parts[pairs[1]])
                np.add.at(watched_km2, idx[pairs[0]], area_km2(pieces))
        for r, a, w in zip(sectors.itertuples(index=False), area_km2(geoms), watched_km2):
            share = min(float(w) / float(a), 1.0) if a else 0.0
            shares[str(r.sector_id)] = 100.0 * share
            if share == 0.0 and len(r.contingents):
                unwatched.append(str(r.sector_id))
    out["unwatched_sectors"] = unwatched
    out["watched_pct"] = shares
    if by_contingent:  # the engine runs: exact pieces and per-contingent figures (the dashboard needs neither)
        out["contingents"], out["gaps"] = _by_engine(sensors, extents, altitudes_ft)
    return out


def _footprint_sectors(sel, layer: str, target_m: float | None = None):
    """Footprints as the partition engine's sectors: one per sensor, in ``layer``, held by its contingents."""
    import geopandas as gpd

    from ..schema import parse_contingents

    return gpd.GeoDataFrame({
        "sector_id": [str(s) for s in sel["sensor_id"]], "layer": layer,
        "contingents": [tuple(parse_contingents(c)) for c in sel["contingent"]],
        "floor_ft": float("nan"), "ceiling_ft": float("nan")},
        geometry=footprints(sel, target_m=target_m), crs=4326)


def _by_engine(sensors, extents, altitudes_ft: list[float]) -> tuple[dict, list]:
    """Per contingent (watched, exclusive and shared km² per domain; air at each altitude) and the gap pieces,
    from the partition engine with the footprints as a layer's sectors: exact pieces, located by oblast like
    sector gaps. A sensor counts for each of its contingents (lead and support), as a sector does."""
    from ..schema import parse_contingents
    from .analysis import analyze

    runs = [(None, d, sensors[sensors["domain"] == d] if len(sensors) else sensors) for d in ("land", "sea")]
    air = sensors[sensors["domain"] == "air"] if len(sensors) else sensors
    runs += [(ft, "air", air) for ft in altitudes_ft]
    contingents: dict = {}
    gaps: list = []
    for ft, layer, sel in runs:
        alt = {} if ft is None else {"altitude_ft": ft}
        frame = _footprint_sectors(sel, layer, target_m=None if ft is None else ft * 0.3048)
        res = analyze(frame, extents)
        # a footprint with no contingent is an "unassigned sector" to the engine, its area an unassigned gap; but a
        # sensor nobody is named for still watches: those pieces are watched ground, not gaps
        gaps += [{**g, **alt} for g in res.gaps if g["domain"] == layer and not g.get("sectors")]
        counts: dict = {}
        for codes in sel["contingent"] if len(sel) else []:
            for c in parse_contingents(codes):
                counts[c] = counts.get(c, 0) + 1
        for code, v in res.contingents.items():
            if not counts.get(code):
                continue
            fig = {"sensors": counts[code], "watched_km2": v["assigned_km2"], "exclusive_km2": v["exclusive_km2"],
                   "shared_km2": v["shared_km2"]}
            entry = contingents.setdefault(code, {})
            if ft is None:
                entry[layer] = fig
            else:
                entry.setdefault("air", []).append({**alt, **fig})
    gaps.sort(key=lambda g: -g["area_km2"])
    return dict(sorted(contingents.items())), gaps


def watched_timeline(plan, *, altitudes_ft: list[float] | None = None) -> list[dict]:
    """What the sensors watch through time: one row per interval over which neither the active sectors nor the
    sensors in service change (the plan's change dates and the sensors' own: every ``valid_from`` and the day after
    every ``valid_to``), ``{"from", "to", "active_sensors", "land", "sea", "air", "unwatched_sectors"}`` with the
    figures of :func:`watched` (``from`` inclusive, ``to`` exclusive, None for the open ends)."""
    from .timeline import _day_in

    days = sorted(set(plan.change_dates()) | set(plan.sensor_change_dates()))
    spans = [(None, days[0])] + list(zip(days[:-1], days[1:])) + [(days[-1], None)] if days else [(None, None)]
    if altitudes_ft is None:
        altitudes_ft = default_altitudes(plan.sectors)
    rows = []
    for frm, to in spans:
        day = _day_in(frm, to)
        now = plan.on(day)
        w = watched(now.sensors, plan.full_extents(), now.sectors, altitudes_ft=altitudes_ft, by_contingent=False)
        rows.append({"from": frm, "to": to, "active_sensors": int(len(now.sensors)),
                     **{d: w[d] for d in ("land", "sea", "air")}, "unwatched_sectors": w["unwatched_sectors"]})
    return rows
