"""Differences between two plans by ``sector_id``, and what they do to coverage."""
from __future__ import annotations

import shapely

from ..plan import Plan, sector_attrs


def diff_plans(a: Plan, b: Plan, info_a=None, info_b=None) -> dict:
    """``{"from", "to", "added", "removed", "reshaped", "attributes", "reassigned", "coverage",
    "contingents_registry"}`` (see the README for the shape)."""
    from ..analysis import area_km2

    sa = {str(r["sector_id"]): (r, g) for (_, r), g in zip(a.sectors.iterrows(), a.sectors.geometry)}
    sb = {str(r["sector_id"]): (r, g) for (_, r), g in zip(b.sectors.iterrows(), b.sectors.geometry)}
    added = sorted(set(sb) - set(sa))
    removed = sorted(set(sa) - set(sb))
    reshaped, attributes, reassigned = [], [], []
    for sid in sorted(set(sa) & set(sb)):
        (ra, ga), (rb, gb) = sa[sid], sb[sid]
        if not shapely.equals_exact(shapely.normalize(ga), shapely.normalize(gb), tolerance=0):
            gained, lost = area_km2([shapely.difference(gb, ga), shapely.difference(ga, gb)])
            reshaped.append({"sector_id": sid, "gained_km2": float(gained), "lost_km2": float(lost)})
        xa, xb = sector_attrs(ra), sector_attrs(rb)
        if tuple(ra["contingents"]) != tuple(rb["contingents"]):
            reassigned.append({"sector_id": sid, "from": list(ra["contingents"]), "to": list(rb["contingents"])})
        changed = {k: {"from": xa.get(k), "to": xb.get(k)} for k in sorted(set(xa) | set(xb))
                   if k != "contingent" and xa.get(k) != xb.get(k)}
        if changed:
            attributes.append({"sector_id": sid, "changes": changed})
    out = {
        "from": info_a.id if info_a else None, "to": info_b.id if info_b else None,
        "added": [{"sector_id": s, "name": str(sb[s][0]["name"]), "layer": sb[s][0]["layer"],
                   "area_km2": float(area_km2([sb[s][1]])[0])} for s in added],
        "removed": [{"sector_id": s, "name": str(sa[s][0]["name"]), "layer": sa[s][0]["layer"],
                     "area_km2": float(area_km2([sa[s][1]])[0])} for s in removed],
        "reshaped": reshaped, "attributes": attributes, "reassigned": reassigned,
        "contingents_registry": _registry_diff(a, b),
    }
    if info_a is not None and info_b is not None and info_a.summary and info_b.summary:
        out["coverage"] = _coverage_effect(info_a.summary["domains"], info_b.summary["domains"])
    return out


def coverage_effect_of(a_domains: dict, b_domains: dict) -> dict:
    return _coverage_effect(a_domains, b_domains)


def _coverage_effect(da: dict, db: dict) -> dict:
    keys = ("covered_km2", "gap_km2", "overlap_km2", "conflict_km2", "covered_pct")
    return {layer: {k: {"before": da[layer][k], "after": db[layer][k], "change": db[layer][k] - da[layer][k]}
                    for k in keys} for layer in db if layer in da}


def _registry_diff(a: Plan, b: Plan) -> dict:
    ca, cb = set(a.contingents["code"]), set(b.contingents["code"])
    return {"added": sorted(cb - ca), "removed": sorted(ca - cb)}
