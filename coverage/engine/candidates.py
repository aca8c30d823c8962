"""By whom: for each gap piece, the contingents that could close it.

A *candidate* of a gap piece is a contingent (lead or supporting) of a zone of the same layer that touches the
piece — the nations already at its edge — with the length of the piece's boundary they share (geodesic km on
WGS84) and their current load: the km² they are assigned and the zones they lead. Nations of the registry with
nothing assigned (*idle*) follow, each with ``border_km`` 0. Longest border first, then the least loaded; idle ones
last.

It is a measure of the partition, read from its topology: a piece's faces, the faces beside them (sharing an edge,
or only a corner) and the nations present on those (the sectors the analysis was made of: its day, its what-if).
The shared border is the length of the edges a piece's face and a covered face have in common — except the
hairline slivers the noding leaves where the extent's outline and a zone's edge run together (millimetres wide, a
densification step long): an edge that lies on the outline borders no one. Air gaps are those of the 2-D footprint.

Examples
--------
>>> import geopandas as gpd, shapely
>>> from ua_coverage.domains import Extents
>>> from ua_coverage.engine import analyze
>>> box = shapely.box(30.0, 50.0, 30.6, 50.3)
>>> ext = Extents({k: box for k in ("air", "sea", "land", "monitoring")})
>>> s = gpd.GeoDataFrame({"sector_id": ["A", "B", "C"], "layer": ["land"] * 3,
...                       "contingents": [("FRA",), ("GBR", "POL"), ("ITA",)], "floor_ft": [float("nan")] * 3,
...                       "ceiling_ft": [float("nan")] * 3},
...                      geometry=[shapely.box(30.0, 50.0, 30.2, 50.3), shapely.box(30.4, 50.0, 30.6, 50.15),
...                                shapely.box(30.45, 50.2, 30.6, 50.3)], crs=4326)
>>> a = analyze(s, ext)
>>> land = next(i for i, g in enumerate(a.gaps) if g["domain"] == "land")  # B: west and top edges, C: west and bottom
>>> [(x["code"], round(x["border_km"], 1)) for x in gap_candidates(a, ext)[land]]
[('FRA', 33.4), ('GBR', 31.0), ('POL', 31.0), ('ITA', 21.8)]
"""
from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod

from .geodesy import _transformers, to_laea

_GEOD = Geod(ellps="WGS84")


def _segments(polys, owners):
    """Every edge of ``polys`` (working CRS) as ``(owner, x1, y1, x2, y2)`` with its endpoints in a fixed order, so
    an edge two faces share is the same row for both."""
    rings, r_poly = shapely.get_rings(np.asarray(polys, dtype=object), return_index=True)
    xy, r_i = shapely.get_coordinates(rings, return_index=True)
    same = r_i[:-1] == r_i[1:]
    a, b = xy[:-1][same], xy[1:][same]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    lo, hi = np.where(swap[:, None], b, a), np.where(swap[:, None], a, b)
    return np.asarray(owners)[r_poly[r_i[:-1][same]]], lo, hi


def _shared(own_a, lo_a, hi_a, own_b, lo_b, hi_b):
    """The edges present in both sets: ``(owner in a, owner in b, lo, hi)`` for each match."""
    lo = np.vstack([lo_a, lo_b])
    hi = np.vstack([hi_a, hi_b])
    side = np.concatenate([np.zeros(len(lo_a), np.int8), np.ones(len(lo_b), np.int8)])
    own = np.concatenate([own_a, own_b])
    lz, hz = lo[:, 0] + 1j * lo[:, 1], hi[:, 0] + 1j * hi[:, 1]
    order = np.lexsort((hz, lz))
    lo, hi, lz, hz, side, own = lo[order], hi[order], lz[order], hz[order], side[order], own[order]
    eq = (lz[1:] == lz[:-1]) & (hz[1:] == hz[:-1]) & (side[1:] != side[:-1])
    k = np.flatnonzero(eq)
    first_a = side[k] == 0
    oa = np.where(first_a, own[k], own[k + 1])
    ob = np.where(first_a, own[k + 1], own[k])
    return oa, ob, lo[k], hi[k]


def gap_candidates(analysis, extents) -> list[list[dict]]:
    """The candidates of each gap piece of ``analysis.gaps`` (same order), as ``[{"code", "border_km",
    "assigned_km2", "zones_led", "idle"}]``. ``extents`` are the plan's full extents (their outlines rule out the
    noding's slivers)."""
    rows, members = analysis._pieces["gaps"]
    if not rows:
        return []
    f = analysis._faces
    faces = analysis._geometry()
    conts = f["conts"]()  # the nations on each face (of its assigned sectors), ';'-joined
    piece_of = np.full(len(faces), -1, dtype=np.int64)
    for r, mem in enumerate(members):
        piece_of[mem] = r
    load = {c: (float(v.get("assigned_km2", 0.0)), len(v.get("lead_sectors", [])))
            for c, v in analysis.contingents.items()}
    idle = [{"code": c, "border_km": 0.0, "assigned_km2": 0.0, "zones_led": 0, "idle": True}
            for c in sorted(analysis.idle_contingents)]
    covered = np.array([bool(c) for c in conts], dtype=bool)
    # the faces beside the pieces: sharing an edge (the partition's adjacency) or only a corner (a shared vertex)
    adj = f["adj"]
    a, b = adj[:, 0], adj[:, 1]
    beside_all = np.unique(np.concatenate([b[(piece_of[a] >= 0) & covered[b]], a[(piece_of[b] >= 0) & covered[a]]]))
    layer_i = f["layer_i"]
    near: list[set[str]] = [set() for _ in rows]
    border: dict[tuple[int, str], float] = {}
    # layer by layer: the layers' partitions share outlines (and so vertices) but never faces
    for li in np.unique(layer_i[piece_of >= 0]).tolist():
        g_faces = np.flatnonzero((piece_of >= 0) & (layer_i == li))
        beside = beside_all[layer_i[beside_all] == li]
        if len(beside):
            own_g, lo_g, hi_g = _segments(faces[g_faces], g_faces)
            own_n, lo_n, hi_n = _segments(faces[beside], beside)
            fa, fb, lo, hi = _shared(own_g, lo_g, hi_g, own_n, lo_n, hi_n)
            # not an edge that lies on the extent's outline too (a sliver between the outline and a zone's edge)
            layer_of = np.asarray(f["layer"], dtype=object)
            mid = shapely.points((lo + hi) / 2)
            keep = np.ones(len(fa), dtype=bool)
            for layer in set(layer_of[fa]):
                outline = to_laea([extents.layers[layer]])[0].boundary
                shapely.prepare(outline)
                here = layer_of[fa] == layer
                keep[here] = ~shapely.dwithin(outline, mid[here], 1.0)
            fa, fb, lo, hi = fa[keep], fb[keep], lo[keep], hi[keep]
            inv = _transformers()[1]
            lon1, lat1 = inv.transform(lo[:, 0], lo[:, 1])
            lon2, lat2 = inv.transform(hi[:, 0], hi[:, 1])
            _, _, metres = _GEOD.inv(lon1, lat1, lon2, lat2)
            # metres per (piece, face beside it); each edge has one face on the other side, so nothing counts twice
            key, inv_k = np.unique(piece_of[fa] * len(faces) + fb, return_inverse=True)
            km = np.bincount(inv_k, weights=np.asarray(metres, dtype=float)) / 1000.0
            for k, v in zip(key.tolist(), km.tolist()):
                p, n = divmod(k, len(faces))
                for code in conts[n].split(";"):
                    border[(p, code)] = border.get((p, code), 0.0) + v
            # who touches each piece: a covered face within a metre of it (beside it, or only at a corner), among the
            # faces round it
            # (three rings of faces round the piece: a corner where four faces meet, or a sliver between, is reached)
            ring = np.zeros(len(faces), dtype=bool)
            ring[g_faces] = True
            for _ in range(3):
                ring[b[ring[a]]] = True
                ring[a[ring[b]]] = True
            ring2 = np.flatnonzero(ring & covered)
            # within a metre of each piece (its vertices and theirs need not be bit-identical: a file's corners
            # carry float noise, 30.4 against 30.400000000000002)
            if len(ring2):
                pieces_here = np.unique(piece_of[g_faces])
                geoms = analysis.piece_geometries("gaps")
                p_i, r_i = shapely.STRtree(faces[ring2]).query(np.asarray([geoms[p] for p in pieces_here], dtype=object),
                                                              predicate="dwithin", distance=1.0)
                for p, n in zip(pieces_here[p_i].tolist(), ring2[r_i].tolist()):
                    near[p].update(conts[n].split(";"))
    out = []
    for p in range(len(rows)):
        found = []
        for code in near[p]:
            assigned, led = load.get(code, (0.0, 0))
            found.append({"code": code, "border_km": border.get((p, code), 0.0), "assigned_km2": assigned,
                          "zones_led": led, "idle": False})
        found.sort(key=lambda x: (-round(x["border_km"], 2), round(x["assigned_km2"], 1), x["code"]))
        out.append(found + [dict(i) for i in idle])
    return out

