"""Differences between two plans — by ``sector_id``, registry and extents — and what they do to coverage.

Values compare as a person reads them, so a round trip through another format is no change: empty text,
``None`` and NaN are all "empty"; ``5000`` and ``5000.0`` are one number; a date and its ISO text are one
date. A reshape that gains and loses less than :data:`RESHAPE_TOLERANCE_KM2` is no change.
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime

import shapely

from ..plan import Plan, sector_attrs, sensor_attrs
from .geodesy import area_km2

#: a reshape smaller than this on both sides (gained and lost) is not a change
RESHAPE_TOLERANCE_KM2 = 0.01
_ISO_DATETIME = re.compile(r"^(\d{4})[-/.](\d{2})[-/.](\d{2})(?:[T ]00:00(:00)?(\.0+)?(Z|[+-]00:?00)?)?$")


def comparable(v):
    """A value as compared in a diff (see the module docs)."""
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (datetime, date)):
        v = v.isoformat()
    if hasattr(v, "item") and not isinstance(v, str):
        v = v.item()
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    s = str(v).strip()
    if not s or s.lower() in ("nan", "none", "null", "nat"):
        return None
    m = _ISO_DATETIME.match(s)
    if m:
        return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    return s


def diff_plans(a: Plan, b: Plan, info_a=None, info_b=None) -> dict:
    """``{"from", "to", "added", "removed", "reshaped", "attributes", "reassigned", "contingents_registry",
    "extents", "phases", "sensors", "notional"}`` (see the README for the shape); the caller adds ``coverage``."""
    sa = {str(r["sector_id"]): (r, g) for (_, r), g in zip(a.sectors.iterrows(), a.sectors.geometry)}
    sb = {str(r["sector_id"]): (r, g) for (_, r), g in zip(b.sectors.iterrows(), b.sectors.geometry)}
    added = sorted(set(sb) - set(sa))
    removed = sorted(set(sa) - set(sb))
    reshaped, attributes, reassigned = [], [], []
    for sid in sorted(set(sa) & set(sb)):
        (ra, ga), (rb, gb) = sa[sid], sb[sid]
        if not shapely.equals_exact(shapely.normalize(ga), shapely.normalize(gb), tolerance=0):
            gained, lost = area_km2([shapely.difference(gb, ga), shapely.difference(ga, gb)])
            if gained >= RESHAPE_TOLERANCE_KM2 or lost >= RESHAPE_TOLERANCE_KM2:
                reshaped.append({"sector_id": sid, "gained_km2": float(gained), "lost_km2": float(lost)})
        xa, xb = sector_attrs(ra), sector_attrs(rb)
        if tuple(ra["contingents"]) != tuple(rb["contingents"]):
            reassigned.append({"sector_id": sid, "from": list(ra["contingents"]), "to": list(rb["contingents"])})
        changed = {k: {"from": xa.get(k), "to": xb.get(k)} for k in sorted(set(xa) | set(xb))
                   if k != "contingent" and comparable(xa.get(k)) != comparable(xb.get(k))}
        if changed:
            attributes.append({"sector_id": sid, "changes": changed})
    return {
        "from": info_a.id if info_a else None, "to": info_b.id if info_b else None,
        "added": [{"sector_id": s, "name": str(sb[s][0]["name"]), "layer": sb[s][0]["layer"],
                   "area_km2": float(area_km2([sb[s][1]])[0])} for s in added],
        "removed": [{"sector_id": s, "name": str(sa[s][0]["name"]), "layer": sa[s][0]["layer"],
                     "area_km2": float(area_km2([sa[s][1]])[0])} for s in removed],
        "reshaped": reshaped, "attributes": attributes, "reassigned": reassigned,
        "contingents_registry": _registry_diff(a, b),
        "extents": _extents_diff(a, b),
        "phases": _phases_diff(a, b),
        "sensors": _sensors_diff(a, b),
        "notional": {"from": bool(a.notional), "to": bool(b.notional)},
    }


def change_count(d: dict) -> int:
    """How many changes a diff lists (sectors, registry rows, extents, the notional flag)."""
    reg = d.get("contingents_registry", {})
    return (sum(len(d.get(k, [])) for k in ("added", "removed", "reshaped", "attributes", "reassigned"))
            + sum(len(reg.get(k, [])) for k in ("added", "removed", "changed")) + len(d.get("extents", []))
            + sum(len(d.get("phases", {}).get(k, [])) for k in ("added", "removed", "changed"))
            + sum(len(d.get("sensors", {}).get(k, [])) for k in ("added", "removed", "changed"))
            + int(d.get("notional", {}).get("from") != d.get("notional", {}).get("to")))


def coverage_effect_of(a_domains: dict, b_domains: dict) -> dict:
    """Per layer: covered, gap, overlap and conflict km² and covered % before, after and the change."""
    keys = ("covered_km2", "gap_km2", "overlap_km2", "conflict_km2", "covered_pct", "extent_km2")
    return {layer: {k: {"before": a_domains[layer][k], "after": b_domains[layer][k],
                        "change": b_domains[layer][k] - a_domains[layer][k]}
                    for k in keys if k in a_domains[layer] and k in b_domains[layer]}
            for layer in b_domains if layer in a_domains}


def _registry_diff(a: Plan, b: Plan) -> dict:
    ra = {r["code"]: r for r in a.contingents.to_dict("records")}
    rb = {r["code"]: r for r in b.contingents.to_dict("records")}
    changed = []
    for code in sorted(set(ra) & set(rb)):
        fields = {k: {"from": ra[code].get(k), "to": rb[code].get(k)} for k in sorted(set(ra[code]) | set(rb[code]))
                  if comparable(ra[code].get(k)) != comparable(rb[code].get(k))}
        if fields:
            changed.append({"code": code, "changes": fields})
    return {"added": sorted(set(rb) - set(ra)), "removed": sorted(set(ra) - set(rb)), "changed": changed}


def _phases_diff(a: Plan, b: Plan) -> dict:
    pa = {str(r["name"]): r for r in a.phases.to_dict("records")}
    pb = {str(r["name"]): r for r in b.phases.to_dict("records")}
    changed = [{"name": n, "changes": {k: {"from": pa[n].get(k), "to": pb[n].get(k)} for k in ("start", "end", "notes")
                                       if comparable(pa[n].get(k)) != comparable(pb[n].get(k))}}
               for n in sorted(set(pa) & set(pb))]
    return {"added": sorted(set(pb) - set(pa)), "removed": sorted(set(pa) - set(pb)),
            "changed": [c for c in changed if c["changes"]]}


#: a sensor moved less than this is not moved (a round trip through another format)
SENSOR_MOVE_TOLERANCE_M = 1.0


def _sensors_diff(a: Plan, b: Plan) -> dict:
    """Sensors by ``sensor_id``: added, removed, and changed (moved by more than a metre, or an attribute)."""
    from pyproj import Geod

    def rows(p: Plan) -> dict:
        return {str(r["sensor_id"]): (sensor_attrs(r), g) for (_, r), g in zip(p.sensors.iterrows(), p.sensors.geometry)}

    sa, sb = rows(a), rows(b)
    changed = []
    for sid in sorted(set(sa) & set(sb)):
        (xa, ga), (xb, gb) = sa[sid], sb[sid]
        fields = {k: {"from": xa.get(k), "to": xb.get(k)} for k in xa
                  if k != "sensor_id" and comparable(xa.get(k)) != comparable(xb.get(k))}
        moved = float(Geod(ellps="WGS84").inv(ga.x, ga.y, gb.x, gb.y)[2])
        if moved > SENSOR_MOVE_TOLERANCE_M:
            fields["position"] = {"from": [ga.x, ga.y], "to": [gb.x, gb.y], "moved_m": moved}
        if fields:
            changed.append({"sensor_id": sid, "changes": fields})
    return {"added": sorted(set(sb) - set(sa)), "removed": sorted(set(sa) - set(sb)), "changed": changed}


def _extents_diff(a: Plan, b: Plan) -> list[dict]:
    out = []
    for layer in sorted(set(a.extents.layers) | set(b.extents.layers)):
        ga, gb = a.extents.layers.get(layer), b.extents.layers.get(layer)
        if ga is not None and gb is not None and shapely.equals_exact(shapely.normalize(ga), shapely.normalize(gb),
                                                                       tolerance=0):
            continue
        fa, fb = a.full_extents().layers[layer], b.full_extents().layers[layer]
        before, after = (float(x) for x in area_km2([fa, fb]))
        out.append({"layer": layer, "before_km2": before, "after_km2": after, "change_km2": after - before,
                    "source": b.full_extents().source.get(layer, "")})
    return out
