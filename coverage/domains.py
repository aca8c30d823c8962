"""Domain extents: what "fully covered" means for each coverage layer.

An :class:`Extents` maps each layer (``air``, ``sea``, ``land``, ``monitoring``) to a polygon in
EPSG:4326 and remembers where each came from. Defaults come from committed geodata; a plan can
replace any layer with its own area of responsibility (an extents file with a ``domain`` field).

Examples
--------
>>> ext = national_extents()
>>> sorted(ext.layers)
['air', 'land', 'monitoring', 'sea']
>>> ext.source["land"]
"Ukraine's land territory (Natural Earth admin-1, Crimea included)"
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import shapely
from shapely.geometry.base import BaseGeometry

from . import geodata


@dataclass(frozen=True)
class Extents:
    """One polygon per coverage layer, in EPSG:4326, with a note of where each came from."""

    layers: dict[str, BaseGeometry]
    source: dict[str, str] = field(default_factory=dict)

    def replace(self, other: "Extents") -> "Extents":
        """A copy with the layers ``other`` names replaced; the rest kept."""
        return Extents({**self.layers, **other.layers}, {**self.source, **other.source})

    def key(self) -> str:
        """A content hash, so caches can key analyses by extents (computed once per object)."""
        return self._key

    @cached_property
    def _key(self) -> str:
        import hashlib

        h = hashlib.sha256()
        for name in sorted(self.layers):
            h.update(name.encode())
            h.update(shapely.to_wkb(self.layers[name], output_dimension=2))
        return h.hexdigest()[:16]


#: the layers whose national default is NOTIONAL (no national definition exists: the sample's belt stands in)
NOTIONAL_DEFAULTS = frozenset({"monitoring"})


def national_notional(layer: str) -> bool:
    """Whether the national default extent of ``layer`` is notional (the monitoring belt is the sample's)."""
    return layer in NOTIONAL_DEFAULTS


@lru_cache(maxsize=1)
def national_extents() -> Extents:
    """Ukraine's land (outline), its territorial sea, air = land ∪ sea.

    No national definition exists for a monitoring belt, so ``monitoring`` defaults to the
    sample plan's notional 20 km belt along the notional line of contact.
    """
    land = geodata.outline().geometry.iloc[0]
    sea = geodata.territorial_sea().geometry.iloc[0]
    monitoring = sample_extents().layers["monitoring"]
    return Extents(
        {"land": land, "sea": sea, "air": shapely.union(land, sea), "monitoring": monitoring},
        {"land": "Ukraine's land territory (Natural Earth admin-1, Crimea included)",
         "sea": "Ukraine's territorial sea, 12 NM (© OpenStreetMap contributors)",
         "air": "land ∪ territorial sea",
         "monitoring": "sample plan's NOTIONAL monitoring belt"},
    )


@lru_cache(maxsize=1)
def sample_extents() -> Extents:
    """The NOTIONAL sample plan's own areas of responsibility (committed geodata, one polygon per layer)."""
    gdf = geodata._read("sample/extents.geojson")
    parts: dict[str, list] = {}
    for dom, geom in zip(gdf["domain"], gdf.geometry):
        parts.setdefault(str(dom).strip().lower(), []).append(geom)
    label = "sample plan (NOTIONAL)"
    return Extents({d: shapely.union_all(g) for d, g in parts.items()}, {d: label for d in parts})
