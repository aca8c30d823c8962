"""A complete plan: sectors, the contingents registry and the plan's own extents.

This is what a revision holds and what the engine analyses. :func:`content_hash` gives a stable
identity to a plan's content (the order of features does not matter).
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import shapely

from .domains import Extents, national_extents

SECTOR_FIELDS = ("sector_id", "name", "domain", "kind", "contingent", "floor_ft", "ceiling_ft", "phase",
                 "valid_from", "valid_to", "notes")
_DERIVED = ("contingents", "layer", "geometry")


@dataclass
class Plan:
    """Sectors (canonical frame, EPSG:4326), the contingents registry, and extents the plan defines."""

    sectors: gpd.GeoDataFrame
    contingents: pd.DataFrame
    extents: Extents = field(default_factory=lambda: Extents({}, {}))
    notional: bool = False

    def full_extents(self) -> Extents:
        """National defaults with the plan's own layers on top."""
        return national_extents().replace(self.extents)

    def registry(self) -> set[str]:
        return set(self.contingents["code"])

    def without(self, codes) -> "Plan":
        """What-if: the plan as if these contingents withdrew.

        Each is removed from every sector it leads or supports; a supporting nation then leads, and a
        sector left with nobody becomes unassigned.
        """
        gone = set(codes)
        if not gone:
            return self
        s = self.sectors.copy()
        s["contingents"] = [tuple(c for c in cs if c not in gone) for cs in s["contingents"]]
        s["contingent"] = [";".join(cs) for cs in s["contingents"]]
        return Plan(s, self.contingents, self.extents, self.notional)


def sector_attrs(row) -> dict:
    """The attributes of one sector as JSON-able values (canonical fields first, then extras)."""
    out = {}
    for k, v in row.items():
        if k in _DERIVED:
            continue
        if isinstance(v, float) and math.isnan(v):
            v = None
        elif hasattr(v, "item"):
            v = v.item()
        out[k] = v
    return out


def content_hash(plan: Plan) -> str:
    """SHA-256 of the plan's content: sectors sorted by id (attributes + normalised 2-D WKB), registry, extents,
    notional flag."""
    h = hashlib.sha256()
    s = plan.sectors.sort_values("sector_id", kind="stable")
    for (_, row), geom in zip(s.iterrows(), s.geometry):
        h.update(json.dumps(sector_attrs(row), sort_keys=True, ensure_ascii=False, default=str).encode())
        h.update(shapely.to_wkb(shapely.normalize(geom), output_dimension=2, hex=False))
    reg = plan.contingents.sort_values("code").astype(str)
    h.update(reg.to_csv(index=False).encode())
    for name in sorted(plan.extents.layers):
        h.update(name.encode())
        h.update(shapely.to_wkb(shapely.normalize(plan.extents.layers[name]), output_dimension=2))
    if plan.notional:  # notional is part of the data: marking real data notional (or back) is a change
        h.update(b"\x00notional")
    return h.hexdigest()
