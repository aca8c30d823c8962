"""Geodesic helpers: the equal-area working projection, ellipsoidal areas, and the way back.

All engine geometry is worked in a Lambert azimuthal equal-area projection of the WGS84 ellipsoid
centred on Ukraine, after densifying edges to 0.05°, so areas agree with
``pyproj.Geod.geometry_area_perimeter`` within 0.1 %. Results go back to lon/lat valid: every
polygon (:func:`wgs84_valid`) and every layer's faces as a polygonal coverage
(:func:`valid_coverage`); areas are always measured in the working CRS, never on those.

Examples
--------
>>> import shapely
>>> round(float(area_km2([shapely.box(30, 50, 31, 51)])[0]))
7892
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyproj
import shapely

#: Equal-area projection centred on Ukraine (on the WGS84 ellipsoid) used for all area work.
LAEA_UKRAINE = "+proj=laea +lat_0=48.5 +lon_0=31.5 +ellps=WGS84 +units=m +no_defs +type=crs"
DENSIFY_DEG = 0.05


@lru_cache(maxsize=1)
def _transformers():
    fwd = pyproj.Transformer.from_crs(4326, LAEA_UKRAINE, always_xy=True)
    inv = pyproj.Transformer.from_crs(LAEA_UKRAINE, 4326, always_xy=True)
    return fwd, inv


def to_laea(geoms):
    """Densify (0.05°) and project lon/lat geometries to the equal-area working CRS."""
    fwd, _ = _transformers()
    geoms = shapely.segmentize(np.asarray(geoms, dtype=object), DENSIFY_DEG)
    return shapely.transform(geoms, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))


def to_wgs84(geoms):
    """Project working-CRS geometries back to lon/lat.

    Every vertex is projected on its own (one vectorised call over all of them), so a vertex that
    several faces share lands on the same lon/lat coordinates in each: shared edges stay shared.
    Straight edges do not stay straight, though, so a sliver thinner than that bend can turn
    inside out; :func:`wgs84_valid` and :func:`valid_coverage` repair what that breaks.
    """
    _, inv = _transformers()
    return shapely.transform(np.asarray(geoms, dtype=object),
                             lambda xy: np.column_stack(inv.transform(xy[:, 0], xy[:, 1])))


_EMPTY = shapely.Polygon()


def polygonal(g):
    """The polygonal part of ``g`` made valid (``shapely.make_valid`` keeping only polygons): the
    last resort for one geometry. Never raises; an empty polygon if nothing polygonal is left."""
    if g is None:
        return _EMPTY
    try:
        if shapely.is_valid(g) and shapely.get_type_id(g) in (3, 6):
            return g
        parts = shapely.get_parts(shapely.get_parts(shapely.make_valid(g)))  # a collection holds multi-parts
        keep = parts[(shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)]
        if not len(keep):
            return _EMPTY
        out = keep[0] if len(keep) == 1 else shapely.union_all(keep)
        return out if shapely.is_valid(out) else _EMPTY
    except shapely.errors.GEOSException:
        return _EMPTY


def union_polygons(parts) -> shapely.Geometry:
    """One geometry from polygons that form a coverage: a coverage union (exact and fast; valid if
    the parts are a valid coverage), or if GEOS refuses that, an ordinary union made valid."""
    parts = np.asarray(parts, dtype=object)
    parts = parts[~shapely.is_empty(parts)] if len(parts) else parts
    if len(parts) == 0:
        return _EMPTY
    if len(parts) == 1:
        return parts[0]
    try:
        out = shapely.coverage_union_all(parts)
        if not shapely.is_empty(out):
            return out
    except shapely.errors.GEOSException:
        pass
    try:
        out = shapely.union_all(parts)
    except shapely.errors.GEOSException:
        out = shapely.union_all(shapely.make_valid(parts))
    return polygonal(out)


def _renode(geoms_w: np.ndarray, geoms_l: np.ndarray) -> np.ndarray:
    """Rebuild lon/lat polygons from one noding of all their rings.

    ``geoms_w`` are the lon/lat images of the working-CRS polygons ``geoms_l`` (valid, and not
    overlapping). Their rings are noded together and polygonised; each small face goes to the
    polygon whose lon/lat image holds its interior point. Where two hold it (the overlap where a
    sliver turned inside out), the smaller polygon wins; where none does (a face of the outside, or
    of a polygon not being rebuilt) it goes to none. The results share their edges exactly; a
    polygon the projection flattened altogether comes out empty.
    """
    rings = shapely.get_rings(geoms_w)
    rings = rings[shapely.get_num_coordinates(rings) >= 2]
    if not len(rings):
        return np.array([_EMPTY] * len(geoms_w), dtype=object)
    lines = shapely.linestrings(shapely.get_coordinates(rings), indices=np.repeat(
        np.arange(len(rings)), shapely.get_num_coordinates(rings)))
    faces = shapely.get_parts(shapely.polygonize([shapely.union_all(lines)]))
    faces = faces[shapely.area(faces) > 0]
    owner = np.full(len(faces), -1, dtype=np.int64)
    if len(faces):
        pts = shapely.point_on_surface(faces)
        p_i, g_i = shapely.STRtree(geoms_w).query(pts, predicate="intersects")
        hits = np.bincount(p_i, minlength=len(faces))
        one = hits[p_i] == 1
        owner[p_i[one]] = g_i[one]
        many = np.flatnonzero(~one)
        if len(many):
            # ties (a sliver turned inside out over its neighbour): the smallest polygon, so the
            # sliver keeps its area rather than vanishing
            size = shapely.area(geoms_l)[g_i[many]]
            order = np.lexsort((g_i[many], size, p_i[many]))
            first = order[np.concatenate([[True], p_i[many][order][1:] != p_i[many][order][:-1]])]
            owner[p_i[many][first]] = g_i[many][first]
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(len(geoms_w) + 1))
    return np.array([union_polygons(faces[order[bounds[i]:bounds[i + 1]]]) for i in range(len(geoms_w))],
                    dtype=object)


def wgs84_valid(geoms_laea) -> np.ndarray:
    """Working-CRS polygons in lon/lat, each valid (``shapely.is_valid``).

    A polygon the projection made invalid (a sliver turned inside out) is rebuilt from its noded
    rings (:func:`_renode`), and as a last resort made valid keeping its polygonal parts.
    """
    geoms_laea = np.asarray(geoms_laea, dtype=object)
    out = to_wgs84(geoms_laea) if len(geoms_laea) else np.zeros(0, dtype=object)
    for i in np.flatnonzero(~shapely.is_valid(out)):
        image = out[i]
        try:
            out[i] = _renode(out[i:i + 1], geoms_laea[i:i + 1])[0]
        except shapely.errors.GEOSException:
            pass
        if not shapely.is_valid(out[i]):
            out[i] = polygonal(out[i])
        # the renoding can lose a polygon whose image crosses itself in many places (an air gap of 140 parts
        # vanished): a rebuilt polygon smaller than the image (its ring area, cheap) is checked against the image
        # made valid (dear, so only then), and the larger kept
        if shapely.area(out[i]) < shapely.area(image) * 0.999:
            fixed = _structure_valid(image)
            if shapely.area(fixed) > shapely.area(out[i]):
                out[i] = fixed
    return out


def _structure_valid(g):
    """``g`` made valid by its rings' structure (shells and holes, as GEOS's "structure" method: a third of the
    time of the default on a large dissolved gap), its polygonal part; an empty polygon if that fails."""
    try:
        out = shapely.make_valid(g, method="structure", keep_collapsed=False)
    except (shapely.errors.GEOSException, ValueError, TypeError):
        return polygonal(g)
    return polygonal(out)


def _flagged(geoms: np.ndarray, group: np.ndarray, within: np.ndarray | None = None) -> np.ndarray:
    """Polygons that are invalid or break their group's coverage (``coverage_invalid_edges``),
    checking the polygons ``within`` (a mask; all if ``None``) as if they were all there is."""
    bad = np.zeros(len(geoms), bool)
    sel = np.ones(len(geoms), bool) if within is None else within
    bad[sel] = ~shapely.is_valid(geoms[sel])
    for g in np.unique(group[sel]):
        idx = np.flatnonzero(sel & (group == g))
        try:
            edges = shapely.coverage_invalid_edges(geoms[idx])
            bad[idx[~shapely.is_empty(edges)]] = True
        except shapely.errors.GEOSException:
            bad[idx] = True
    return bad


def _neighbours(mask: np.ndarray, adj: np.ndarray) -> np.ndarray:
    out = mask.copy()
    if len(adj):
        out[adj[mask[adj[:, 0]], 1]] = True
        out[adj[mask[adj[:, 1]], 0]] = True
    return out


def _fill_touching_holes(geoms: np.ndarray, idx: np.ndarray, group: np.ndarray, max_area_km2: float) -> int:
    """Fill the small holes that touch another ring of their polygon and that no polygon of the
    group lies in (a pinched hole of the extent's outside, say).

    GEOS's coverage validator reads an unmatched edge that ends where a neighbour's hole touches its
    shell as crossing into that neighbour, so such a coverage fails ``coverage_is_valid`` although
    nothing overlaps. Filling the hole (with area nobody else has) removes the pinch. Returns how many
    holes were filled.
    """
    filled = 0
    tree = None
    for i in idx:
        g = geoms[i]
        parts = shapely.get_parts(g)
        if not any(len(p.interiors) for p in parts):
            continue
        new_parts, changed = [], False
        for p in parts:
            holes = list(p.interiors)
            keep = []
            for h in holes:
                others = [p.exterior] + [o for o in holes if o is not h]
                hole = shapely.Polygon(h)
                small = float(area_km2([hole])[0]) <= max_area_km2
                if small and any(shapely.intersects(h, o) for o in others):
                    if tree is None:
                        tree = shapely.STRtree(geoms)
                    cand = tree.query(hole)
                    cand = cand[(cand != i) & (group[cand] == group[i])]
                    inside = [c for c in cand if shapely.area(shapely.intersection(
                        shapely.make_valid(geoms[c]), hole)) > 0]
                    if not inside:
                        changed = True
                        filled += 1
                        continue
                keep.append(h)
            new_parts.append(shapely.Polygon(p.exterior, keep) if len(keep) != len(holes) else p)
        if changed:
            geoms[i] = new_parts[0] if len(new_parts) == 1 else shapely.MultiPolygon(new_parts)
    return filled


def _segments(geoms: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ring segment of the polygons as ``(key, polygon, count)``: a hash of its end points
    and group (the same either way round) and how many segments of the polygons have that key
    (2 for an edge two polygons share exactly, 1 for one on the outline)."""
    from ._partition import _mix, _point_hash

    if not len(geoms):
        z = np.zeros(0, dtype=np.int64)
        return z.astype(np.uint64), z, z
    rings, ring_face = shapely.get_rings(geoms, return_index=True)
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    seg = np.flatnonzero(ring_of[:-1] == ring_of[1:])
    face = ring_face[ring_of[seg]]
    hv = _point_hash(xy)
    with np.errstate(over="ignore"):
        key = _mix(hv[seg] + hv[seg + 1] + _mix(np.asarray(group, dtype=np.uint64)[face] + np.uint64(1)))
    order = np.argsort(key)
    starts = np.flatnonzero(np.concatenate([[True], key[order][1:] != key[order][:-1]]))
    count = np.empty(len(key), dtype=np.int64)
    count[order] = np.repeat(np.diff(np.append(starts, len(key))), np.diff(np.append(starts, len(key))))
    return key, face, count


def _unshared(geoms: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per polygon, how many of its ring segments no other polygon of its group has (exactly; a
    face inside a coverage has none)."""
    _, face, count = _segments(geoms, group)
    return np.bincount(face[count == 1], minlength=len(geoms))


def _changed_neighbours(old: np.ndarray, new: np.ndarray, group: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """Which of the polygons ``fixed`` (a mask: those left as they were in ``new``) no longer share
    their edges as they did in ``old``: some segment of theirs is now held by more or fewer polygons."""
    k_old, f_old, c_old = _segments(old, group)
    k_new, _, c_new = _segments(new, group)
    out = np.zeros(len(old), bool)
    if not len(k_old) or not len(k_new):
        return out
    order = np.argsort(k_new, kind="stable")
    keys, counts = k_new[order], c_new[order]
    pos = np.minimum(np.searchsorted(keys, k_old), len(keys) - 1)
    now = np.where(keys[pos] == k_old, counts[pos], 0)
    out[f_old[(now != c_old) & fixed[f_old]]] = True
    return out


def _suspects(geoms_w: np.ndarray, geoms_l: np.ndarray, group: np.ndarray, outline: np.ndarray) -> np.ndarray:
    """The projected polygons that may be invalid or break their group's coverage.

    A vertex map keeps a planar subdivision valid as long as every face stays a simple polygon of
    the same orientation and the subdivision's outline stays simple. So: the polygons that are
    invalid, those with a ring the projection turned over, and those of the polygons on the
    ``outline`` of their group's coverage (they have an edge no other polygon has) that
    ``coverage_invalid_edges`` flags: that is where GEOS's coverage check looks, the edges of the
    others all match.
    """
    bad = ~shapely.is_valid(geoms_w)
    rings_w, ring_face = shapely.get_rings(geoms_w, return_index=True)
    turned = shapely.is_ccw(rings_w) != shapely.is_ccw(shapely.get_rings(geoms_l))
    bad[ring_face[turned]] = True
    return bad | _flagged_outline(geoms_w, group, outline)


def _flagged_outline(geoms: np.ndarray, group: np.ndarray, outline: np.ndarray) -> np.ndarray:
    """The polygons of ``outline`` (a mask) that ``coverage_invalid_edges`` flags, checked among
    themselves: a polygon across a gap of the coverage is on its outline too, and an edge shared with
    a polygon left out of the check only touches its other neighbours where the two meet."""
    if not outline.any():
        return outline
    return _flagged(geoms, group, outline) & outline


def valid_coverage(geoms_w: np.ndarray, geoms_l: np.ndarray, group: np.ndarray, adj: np.ndarray,
                   *, rounds: int = 6, hole_km2: float = 0.01) -> np.ndarray:
    """Lon/lat polygons (the projected ``geoms_l``) that are each valid and, per ``group``, a valid
    polygonal coverage (``shapely.coverage_is_valid``).

    ``geoms_l`` are the working-CRS polygons: valid and, per group, an exact coverage. Projecting
    keeps shared vertices shared, but a sliver can turn inside out and overlap its neighbours. The
    polygons that may have gone wrong (:func:`_suspects`), with their neighbours (``adj``: pairs
    sharing an edge), are rebuilt from one noding of their rings (:func:`_renode`). Noding may add
    a vertex to an edge shared with a polygon outside that cluster: such polygons (found by their
    edges no longer matching) join the cluster until none is left. The cluster and what touches it
    are then checked (``coverage_invalid_edges``); small pinched holes nobody else covers are
    filled (see :func:`_fill_touching_holes`), and a polygon still invalid is made valid on its own
    (:func:`polygonal`).
    """
    out = np.array(geoms_w, dtype=object, copy=True)
    if not len(out):
        return out
    group = np.asarray(group)
    adj = np.asarray(adj, dtype=np.int64).reshape(-1, 2)
    outline = _unshared(geoms_l, group) > 0
    bad = _suspects(out, geoms_l, group, outline)
    if not bad.any():
        return out
    cluster = _neighbours(bad, adj)
    for _ in range(rounds):
        around = np.flatnonzero(_neighbours(cluster, adj))
        before = out[around]
        for g in np.unique(group[cluster]):
            idx = np.flatnonzero(cluster & (group == g))
            try:
                out[idx] = _renode(out[idx], geoms_l[idx])
            except shapely.errors.GEOSException:
                pass
        new = np.zeros(len(out), bool)
        new[around[_changed_neighbours(before, out[around], group[around], ~cluster[around])]] = True
        if not new.any():
            break
        cluster |= _neighbours(new, adj)
    # rebuilt polygons are valid and share their edges by construction; GEOS may still object on the
    # outline next to them (a pinched hole), and a polygon GEOS could not rebuild may be invalid
    near = _neighbours(cluster, adj)
    bad = _flagged_outline(out, group, outline & near)
    bad[cluster] |= ~shapely.is_valid(out[cluster])
    if bad.any():
        _fill_touching_holes(out, np.flatnonzero(_neighbours(bad, adj)), group, hole_km2)
    near = np.flatnonzero(near)
    for i in near[~shapely.is_valid(out[near])]:
        out[i] = polygonal(out[i])
    return out


def area_km2(geoms_wgs84) -> np.ndarray:
    """Ellipsoidal area in km² of lon/lat geometries."""
    return shapely.area(to_laea(geoms_wgs84)) / 1e6
