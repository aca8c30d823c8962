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
from functools import lru_cache
from pathlib import Path

import shapely
from shapely.geometry.base import BaseGeometry

from . import geodata
from .errors import IngestError, Problem
from .schema import LAYERS


@dataclass(frozen=True)
class Extents:
    """One polygon per coverage layer, in EPSG:4326, with a note of where each came from."""

    layers: dict[str, BaseGeometry]
    source: dict[str, str] = field(default_factory=dict)

    def replace(self, other: "Extents") -> "Extents":
        """A copy with the layers ``other`` names replaced; the rest kept."""
        return Extents({**self.layers, **other.layers}, {**self.source, **other.source})

    def key(self) -> str:
        """A content hash, so caches can key analyses by extents."""
        import hashlib

        h = hashlib.sha256()
        for name in sorted(self.layers):
            h.update(name.encode())
            h.update(shapely.to_wkb(self.layers[name], output_dimension=2))
        return h.hexdigest()[:16]


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
    """The NOTIONAL sample plan's own areas of responsibility."""
    return read_extents(geodata.sample_extents_path(), label="sample plan (NOTIONAL)")


def read_extents(path: str | Path, label: str | None = None) -> Extents:
    """Read an extents file: polygons with a ``domain`` field naming a layer.

    Several features of one layer are dissolved. Raises :class:`~coverage.errors.IngestError`
    naming the feature and rule when the file is unusable.
    """
    from .ingest import read_layer

    gdf = read_layer(path)
    cols = {c.lower(): c for c in gdf.columns}
    if "domain" not in cols:
        raise IngestError(f"extents file {path} has no 'domain' field; give each polygon a domain of "
                          f"{', '.join(LAYERS)}", rule="field-missing",
                          problems=[Problem("field-missing", "the 'domain' field is missing", field="domain")])
    problems = []
    parts: dict[str, list] = {}
    for i, (dom, geom) in enumerate(zip(gdf[cols["domain"]], gdf.geometry)):
        d = str(dom).strip().lower()
        if d not in LAYERS:
            problems.append(Problem("domain-invalid", f"domain {dom!r} is not one of {', '.join(LAYERS)}",
                                    feature=i, field="domain"))
            continue
        if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            problems.append(Problem("geometry-type", "extents must be non-empty polygons", feature=i))
            continue
        if not geom.is_valid:
            problems.append(Problem("invalid-geometry", f"extent polygon is invalid: "
                                    f"{shapely.is_valid_reason(geom)}", feature=i))
            continue
        parts.setdefault(d, []).append(geom)
    if problems:
        raise IngestError(f"extents file {path} has {len(problems)} problem(s)", rule="extents-invalid",
                          problems=problems)
    name = label or Path(path).name
    return Extents({d: shapely.union_all(g) for d, g in parts.items()},
                   {d: f"{name}" for d in parts})
