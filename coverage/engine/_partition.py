"""The planar partition of one layer: tiled, and spread over worker processes for large plans.

Noding all of a layer's boundaries at once is superlinear in GEOS, and ``shapely.polygonize`` holds
the GIL, so a large layer is cut into a grid of tiles: every tile nodes and polygonises only what
crosses it (sectors, extent and oblasts clipped to the tile, plus the tile's own outline), and the
tiles run in a pool of worker processes. A face cut by a tile line stays two faces; whatever needs
connected regions (gap and overlap pieces) joins them through :func:`cross_tile_pairs`, which
matches the collinear stretches the two faces have on the shared tile line. Before faces are joined
into polygons, :func:`match_tile_lines` gives the faces on either side of a tile line the same
vertices along it, so every layer's faces form an exact polygonal coverage (edges shared vertex for
vertex) and faces cut by a tile line join by a coverage union.

This module imports only numpy and shapely (worker processes start fast). All coordinates are in
the equal-area working CRS (metres).
"""
from __future__ import annotations

import atexit
import math
import os
import threading
from dataclasses import dataclass

import numpy as np
import shapely

#: vertices per tile the grid aims at; a layer below it is one tile, done in-process
VERTICES_PER_TILE = 3_000
MAX_TILES_PER_SIDE = 32
#: below this many vertices in all layers together the pool is not worth its start-up
POOL_MIN_VERTICES = 150_000
_TOL = 1e-3  # metres: how far a noded vertex on a tile line may sit from it


@dataclass
class Partition:
    """Faces of one layer and what covers them (arrays indexed by face unless said otherwise)."""

    coords: np.ndarray  # faces as ragged coordinates (built into polygons only when needed):
    ring_len: np.ndarray  # vertices per ring, rings per face
    face_rings: np.ndarray
    area_m2: np.ndarray
    cx: np.ndarray  # face centroids
    cy: np.ndarray
    in_ext: np.ndarray
    n_sec: np.ndarray
    p_i: np.ndarray  # (face, sector) pairs: face index ...
    s_loc: np.ndarray  # ... and the sector's index within the layer
    ob: np.ndarray  # oblast index of each face, -1 outside every oblast
    adj: np.ndarray  # (k, 2) faces sharing an edge (within a tile and across tile lines)
    tiles: int
    boxes: np.ndarray | None = None  # (faces, 4) the tile each face was cut in (NaN: untiled)


def grid_size(n_vertices: int) -> int:
    """Tiles per side for a layer of ``n_vertices`` (1 = untiled)."""
    if n_vertices <= VERTICES_PER_TILE * 4:
        return 1
    return int(min(MAX_TILES_PER_SIDE, max(2, round(math.sqrt(n_vertices / VERTICES_PER_TILE)))))


def partition_tile(job: dict) -> dict:
    """Node, polygonise and classify one tile (runs in a worker process or in-process).

    ``job`` holds WKB arrays ``sectors`` (the layer's sectors clipped to the tile), ``sector_idx``
    (their indices in the layer), ``extent``, ``oblasts`` and ``oblast_idx``, and ``box``
    (``None`` for an untiled layer) with the tile's grid position ``ix``, ``iy``.
    """
    sec = shapely.from_wkb(job["sectors"])
    ext = shapely.from_wkb(job["extent"])
    obs = shapely.from_wkb(job["oblasts"])
    box = job["box"]
    parts = [shapely.boundary(sec), shapely.boundary(np.array([ext], dtype=object)), shapely.boundary(obs)]
    if box is not None:
        parts.append(np.array([shapely.boundary(shapely.box(*box))], dtype=object))
    lines = np.concatenate(parts)
    lines = lines[~shapely.is_empty(lines)]
    faces = shapely.get_parts(shapely.polygonize([shapely.union_all(lines)]))
    faces = faces[shapely.area(faces) > 0]
    pts = shapely.point_on_surface(faces)
    shapely.prepare(ext)
    in_ext = shapely.contains(ext, pts)
    if len(sec):
        p_i, s_loc = shapely.STRtree(sec).query(pts, predicate="within")
    else:
        p_i = s_loc = np.zeros(0, dtype=np.int64)
    n_sec = np.bincount(p_i, minlength=len(faces))
    keep = in_ext | (n_sec > 0)  # faces outside the extent that no sector covers are dropped
    new = np.cumsum(keep) - 1
    faces, pts, in_ext, n_sec = faces[keep], pts[keep], in_ext[keep], n_sec[keep]
    pk = keep[p_i]
    p_i, s_loc = new[p_i[pk]], s_loc[pk]
    ob = np.full(len(faces), -1, dtype=np.int64)
    if len(obs):
        o_p, o_i = shapely.STRtree(obs).query(pts, predicate="within")
        ob[o_p] = np.asarray(job["oblast_idx"], dtype=np.int64)[o_i]
    cent = shapely.centroid(faces)
    # faces travel back as their ring coordinates (cheaper than WKB both ways)
    rings, ring_face = shapely.get_rings(faces, return_index=True)
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    adj, edges = _adjacency(xy, ring_of, ring_face, len(faces), box)
    return {"coords": xy, "ring_len": np.bincount(ring_of, minlength=len(rings)),
            "face_rings": np.bincount(ring_face, minlength=len(faces)),
            "area_m2": shapely.area(faces), "cx": shapely.get_x(cent),
            "cy": shapely.get_y(cent), "in_ext": in_ext, "n_sec": n_sec, "p_i": p_i,
            "s_loc": np.asarray(job["sector_idx"], dtype=np.int64)[s_loc], "ob": ob, "adj": adj,
            "edges": edges, "ix": job.get("ix", 0), "iy": job.get("iy", 0), "tiles": job.get("tiles", 1),
            "box": box}


def _adjacency(xy: np.ndarray, ring_of: np.ndarray, ring_face: np.ndarray, n_faces: int,
               box) -> tuple[np.ndarray, dict]:
    """Pairs of faces sharing a segment, and the segments each face has on the tile's outline.

    Faces of one polygonised arrangement share identical edge vertices, so shared edges are found
    by hashing segments exactly. Outline segments are returned per side (``left``, ``right``,
    ``bottom``, ``top``) as ``(lo, hi, face)`` intervals along that side.
    """
    empty = np.zeros((0, 2), dtype=np.int64)
    sides = {}
    if n_faces == 0:
        return empty, sides
    seg = np.flatnonzero(ring_of[:-1] == ring_of[1:])  # segment k runs from vertex k to k + 1
    face = ring_face[ring_of[seg]]
    if box is not None:
        x0, y0, x1, y1 = box
        x, y = xy[:, 0], xy[:, 1]
        near = ((np.abs(x - x0) <= _TOL) | (np.abs(x - x1) <= _TOL) | (np.abs(y - y0) <= _TOL)
                | (np.abs(y - y1) <= _TOL))
        cand = np.flatnonzero(near[seg] & near[seg + 1])
        k = seg[cand]
        for name, axis, at in (("left", 0, x0), ("right", 0, x1), ("bottom", 1, y0), ("top", 1, y1)):
            on = (np.abs(xy[k, axis] - at) <= _TOL) & (np.abs(xy[k + 1, axis] - at) <= _TOL)
            other = 1 - axis
            lo = np.minimum(xy[k[on], other], xy[k[on] + 1, other])
            hi = np.maximum(xy[k[on], other], xy[k[on] + 1, other])
            # stretches shorter than the tolerance (a sliver's tip) join nothing and would break
            # the ordering cross_tile_pairs relies on
            long = hi - lo > _TOL
            sides[name] = (lo[long], hi[long], face[cand[on]][long])
    # a segment's key is the sum of its endpoints' hashes: the same both ways round
    hv = _point_hash(xy)
    key = _mix(hv[seg] + hv[seg + 1])
    order = np.argsort(key)
    dup = np.flatnonzero(key[order[1:]] == key[order[:-1]])
    i, j = order[dup], order[dup + 1]  # segment numbers with equal keys
    ai, bi, aj, bj = xy[seg[i]], xy[seg[i] + 1], xy[seg[j]], xy[seg[j] + 1]
    same = ((ai == bj).all(axis=1) & (bi == aj).all(axis=1)) | (
        (ai == aj).all(axis=1) & (bi == bj).all(axis=1))  # rule out hash collisions
    fa, fb = face[i[same]], face[j[same]]
    keep = fa != fb
    return _unique_pairs(fa[keep], fb[keep], n_faces), sides


def unique_ints(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an integer array (``np.unique`` hashes, which is far slower here)."""
    s = np.sort(a)
    if len(s) == 0:
        return s
    return s[np.concatenate([[True], s[1:] != s[:-1]])]


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (uint64 arithmetic wraps)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _point_hash(p: np.ndarray) -> np.ndarray:
    bits = np.ascontiguousarray(p).view(np.uint64)
    return _mix(bits[:, 0] ^ _mix(bits[:, 1]))


def _unique_pairs(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    k = unique_ints(lo * max(n, 1) + hi)
    return np.column_stack([k // max(n, 1), k % max(n, 1)]).astype(np.int64)


def cross_tile_pairs(results: list[dict], offsets: list[int]) -> np.ndarray:
    """Pairs of faces on either side of a tile line whose outline stretches overlap.

    Each stretch of the upper/right side is matched to the lower/left stretches it overlaps by
    more than the tolerance (both sides are sorted along the line, so this is a merge, not a search).
    """
    low, high = [], []  # (line key, lo, hi, global face)
    for res, off in zip(results, offsets):
        ix, iy = res["ix"], res["iy"]
        for name, (lo, hi, face) in res["edges"].items():
            if not len(face):
                continue
            # vertical line number ix (left) / ix+1 (right); horizontal lines keyed after them
            key = {"left": 2 * ix, "right": 2 * (ix + 1), "bottom": 2 * iy + 1, "top": 2 * (iy + 1) + 1}[name]
            target = high if name in ("left", "bottom") else low
            target.append((np.full(len(face), key, dtype=np.int64), lo, hi, face + off))
    if not low or not high:
        return np.zeros((0, 2), dtype=np.int64)
    lk, llo, lhi, lf = (np.concatenate(x) for x in zip(*low))
    hk, hlo, hhi, hf = (np.concatenate(x) for x in zip(*high))
    # a line key and a position along the line in one sortable number (positions are < 1e7 m)
    span = 1e8
    base = min(llo.min(), hlo.min())
    lpos_lo, lpos_hi = lk * span + (llo - base), lk * span + (lhi - base)
    order = np.argsort(lpos_lo, kind="stable")
    lpos_lo, lpos_hi, lf = lpos_lo[order], lpos_hi[order], lf[order]
    hpos_lo, hpos_hi = hk * span + (hlo - base), hk * span + (hhi - base)
    # candidates: after every interval that ends before this one starts (by the running maximum
    # of the ends, which stays sorted even if an interval nests in another), before every one that
    # starts after it ends; then keep the true overlaps
    first = np.searchsorted(np.maximum.accumulate(lpos_hi), hpos_lo + _TOL, side="right")
    last = np.searchsorted(lpos_lo, hpos_hi - _TOL, side="left")
    counts = np.maximum(last - first, 0)
    rows = np.repeat(np.arange(len(hf)), counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    cand = np.repeat(first, counts) + offs
    real = np.minimum(lpos_hi[cand], hpos_hi[rows]) - np.maximum(lpos_lo[cand], hpos_lo[rows]) > _TOL
    n = int(max(lf.max(), hf.max())) + 1
    return _unique_pairs(lf[cand[real]], hf[rows[real]], n)


def polygons(coords: np.ndarray, ring_len: np.ndarray, face_rings: np.ndarray) -> np.ndarray:
    """Faces from their ragged coordinates (see :class:`Partition`)."""
    if len(face_rings) == 0:
        return np.zeros(0, dtype=object)
    ring_off = np.concatenate([[0], np.cumsum(ring_len)])
    face_off = np.concatenate([[0], np.cumsum(face_rings)])
    return shapely.from_ragged_array(shapely.GeometryType.POLYGON, np.ascontiguousarray(coords),
                                     (ring_off, face_off))


def make_jobs(geoms: np.ndarray, extent, ob_geoms: np.ndarray, ob_tree) -> list[dict]:
    """Cut one layer into tile jobs for :func:`partition_tile` (one job if the layer is small).

    The grid is sized by all the linework to node: sectors, extent and the units near them.
    """
    x0, y0, x1, y1 = shapely.total_bounds(np.concatenate([np.array([extent], dtype=object), geoms]))
    ob_near = ob_tree.query(shapely.box(x0, y0, x1, y1), predicate="intersects")
    nv = int(shapely.get_num_coordinates(np.concatenate([np.array([extent], dtype=object), geoms,
                                                          ob_geoms[ob_near]])).sum())
    tiles = grid_size(nv)
    if tiles == 1:
        return [{"sectors": shapely.to_wkb(geoms), "sector_idx": np.arange(len(geoms)),
                 "extent": shapely.to_wkb(extent), "oblasts": shapely.to_wkb(ob_geoms[ob_near]),
                 "oblast_idx": ob_near, "box": None, "weight": nv, "tiles": 1}]
    pad = 1.0  # metres, so nothing lies on the grid's outer edge
    xs = np.linspace(x0 - pad, x1 + pad, tiles + 1)
    ys = np.linspace(y0 - pad, y1 + pad, tiles + 1)
    ix, iy = (a.ravel() for a in np.meshgrid(np.arange(tiles), np.arange(tiles), indexing="ij"))
    bx0, by0, bx1, by1 = xs[ix], ys[iy], xs[ix + 1], ys[iy + 1]
    rects = shapely.box(bx0, by0, bx1, by1)
    t_s, s_i = shapely.STRtree(geoms).query(rects, predicate="intersects") if len(geoms) else (
        np.zeros(0, dtype=np.int64),) * 2
    order = np.lexsort((s_i, t_s))
    t_s, s_i = t_s[order], s_i[order]
    s_cut = np.searchsorted(t_s, np.arange(tiles * tiles + 1))
    clipped = np.concatenate([np.zeros(0, dtype=object)] + [
        shapely.clip_by_rect(geoms[s_i[s_cut[t]:s_cut[t + 1]]], bx0[t], by0[t], bx1[t], by1[t])
        for t in range(tiles * tiles)])
    ext_clip = np.array([shapely.clip_by_rect(extent, *b) for b in zip(bx0, by0, bx1, by1)], dtype=object)
    ob_t, ob_j = shapely.STRtree(ob_geoms[ob_near]).query(rects, predicate="intersects")
    order = np.lexsort((ob_j, ob_t))
    ob_t, ob_i = ob_t[order], ob_near[ob_j[order]]
    o_cut = np.searchsorted(ob_t, np.arange(tiles * tiles + 1))
    ob_clip = np.concatenate([np.zeros(0, dtype=object)] + [
        shapely.clip_by_rect(ob_geoms[ob_i[o_cut[t]:o_cut[t + 1]]], bx0[t], by0[t], bx1[t], by1[t])
        for t in range(tiles * tiles)])
    verts = shapely.get_num_coordinates(clipped)
    jobs = []
    for t in range(tiles * tiles):
        sl, ol = slice(s_cut[t], s_cut[t + 1]), slice(o_cut[t], o_cut[t + 1])
        sec, idx = clipped[sl], s_i[sl]
        ok = ~shapely.is_empty(sec)
        ob, oidx = ob_clip[ol], ob_i[ol]
        ook = ~shapely.is_empty(ob)
        if not ok.any() and shapely.is_empty(ext_clip[t]):
            continue  # nothing here: no face would be kept
        jobs.append({"sectors": shapely.to_wkb(sec[ok]), "sector_idx": idx[ok],
                     "extent": shapely.to_wkb(ext_clip[t]), "oblasts": shapely.to_wkb(ob[ook]),
                     "oblast_idx": oidx[ook], "box": (bx0[t], by0[t], bx1[t], by1[t]),
                     "ix": int(ix[t]), "iy": int(iy[t]), "weight": int(verts[sl].sum()) + 500, "tiles": tiles})
    return jobs


def assemble(results: list[dict]) -> Partition:
    """Join the tiles of one layer into its :class:`Partition`."""
    sizes = [len(r["area_m2"]) for r in results]
    offsets = list(np.cumsum([0] + sizes[:-1]))
    cat = {k: np.concatenate([r[k] for r in results]) for k in
           ("coords", "ring_len", "face_rings", "area_m2", "cx", "cy", "in_ext", "n_sec", "s_loc", "ob")}
    p_i = np.concatenate([r["p_i"] + off for r, off in zip(results, offsets)])
    adj = [r["adj"] + off for r, off in zip(results, offsets)]
    if len(results) > 1:
        adj.append(cross_tile_pairs(results, offsets))
    adj = np.concatenate(adj) if adj else np.zeros((0, 2), dtype=np.int64)
    nan_box = (np.nan,) * 4
    boxes = np.concatenate([np.zeros((0, 4))] + [
        np.tile(np.asarray(r.get("box") or nan_box, dtype=float), (n, 1)) for r, n in zip(results, sizes)])
    return Partition(coords=cat["coords"], ring_len=cat["ring_len"], face_rings=cat["face_rings"], area_m2=cat["area_m2"], cx=cat["cx"], cy=cat["cy"],
                     in_ext=cat["in_ext"].astype(bool), n_sec=cat["n_sec"].astype(np.int64), p_i=p_i,
                     s_loc=cat["s_loc"], ob=cat["ob"], adj=adj.reshape(-1, 2),
                     tiles=results[0].get("tiles", 1) if results else 1, boxes=boxes)


_SNAP = 1e-6  # metres: a vertex this close to its tile's line is put exactly on it


def match_tile_lines(xy: np.ndarray, ring_len: np.ndarray, face_rings: np.ndarray, boxes: np.ndarray,
                     group: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Faces' ragged coordinates with the faces on either side of each tile line sharing its vertices.

    Two tiles node a tile line independently, so a face's edge along the line may skip a vertex the
    face on the other side has there (a node of the other tile's linework). Every vertex on a tile
    line (within :data:`_SNAP`, and then put exactly on it) is inserted into every edge of the
    layer that runs along that line across it. Tile lines are axis-parallel, so an inserted vertex
    is exactly collinear: no face changes shape, but shared edges now match vertex for vertex (a
    polygonal coverage, which :func:`shapely.coverage_union` and :func:`shapely.coverage_is_valid`
    need). ``boxes`` is each face's tile (NaN rows: untiled) and ``group`` its layer (lines of
    different layers never match). Returns the new ``(xy, ring_len)``; ``face_rings`` is unchanged.
    """
    n_faces = len(face_rings)
    tiled = ~np.isnan(boxes[:, 0]) if n_faces else np.zeros(0, bool)
    if not tiled.any():
        return xy, ring_len
    group = np.zeros(n_faces, dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64)
    ring_face = np.repeat(np.arange(n_faces), face_rings)
    v_ring = np.repeat(np.arange(len(ring_len)), ring_len)
    v_face = ring_face[v_ring]
    cand = np.flatnonzero(tiled[v_face])
    xy = np.array(xy, dtype=float, copy=True)
    ins_at, ins_pts = [], []
    for axis in (0, 1):
        vb = boxes[v_face[cand]]
        val = xy[cand, axis]
        on = np.zeros(len(cand), bool)
        for side in (axis, axis + 2):  # x0, x1 (axis 0) or y0, y1 (axis 1)
            hit = np.abs(val - vb[:, side]) <= _SNAP
            val = np.where(hit, vb[:, side], val)
            on |= hit
        xy[cand[on], axis] = val[on]
        v = cand[on]  # vertices on a line of this axis
        if not len(v):
            continue
        # line per vertex: (layer, coordinate); numbered by rank
        g, at, pos = group[v_face[v]], xy[v, axis], xy[v, 1 - axis]
        order = np.lexsort((pos, at, g))
        g, at, pos, v = g[order], at[order], pos[order], v[order]
        new_line = np.concatenate([[True], (g[1:] != g[:-1]) | (at[1:] != at[:-1])])
        line = np.cumsum(new_line) - 1
        starts = np.flatnonzero(new_line)
        bounds = np.append(starts, len(v))
        line_of = np.full(len(xy), -1, dtype=np.int64)
        line_of[v] = line
        # segments along a line: consecutive vertices of one ring on the same line
        k = v[v < len(xy) - 1]
        k = k[(v_ring[k] == v_ring[k + 1]) & (line_of[k + 1] == line_of[k])]
        if not len(k):
            continue
        seg_line = line_of[k]
        pa, pb = xy[k, 1 - axis], xy[k + 1, 1 - axis]
        lo, hi = np.minimum(pa, pb), np.maximum(pa, pb)
        for ln in np.unique(seg_line):
            pts = pos[bounds[ln]:bounds[ln + 1]]
            pts = pts[np.concatenate([[True], pts[1:] != pts[:-1]])]
            sel = np.flatnonzero(seg_line == ln)
            i0 = np.searchsorted(pts, lo[sel], side="right")
            i1 = np.searchsorted(pts, hi[sel], side="left")
            for s_, a, b in zip(sel[i1 > i0], i0[i1 > i0], i1[i1 > i0]):
                between = pts[a:b] if pa[s_] < pb[s_] else pts[a:b][::-1]
                p = np.empty((len(between), 2))
                p[:, axis] = at[bounds[ln]]
                p[:, 1 - axis] = between
                ins_at.append(np.full(len(between), k[s_] + 1))
                ins_pts.append(p)
    if not ins_at:
        return xy, ring_len
    at_idx = np.concatenate(ins_at)
    ring_len = ring_len.copy()
    np.add.at(ring_len, v_ring[at_idx - 1], 1)
    return np.insert(xy, at_idx, np.concatenate(ins_pts), axis=0), ring_len


# -- the worker pool -------------------------------------------------------------------------
# Plain subprocesses (``python -m ua_coverage.engine._partition``) speaking length-prefixed pickle frames over
# their pipes: unlike multiprocessing's spawn they never re-import the caller's ``__main__``, and
# they are owned by this module alone (pickle is safe here: both ends are this file).

_POOL: list | None = None
_POOL_LOCK = threading.Lock()


def workers() -> int:
    """Worker processes for large plans: ``UA_COVERAGE_ENGINE_WORKERS`` (default: the usable CPUs)."""
    raw = os.environ.get("UA_COVERAGE_ENGINE_WORKERS", "")
    if raw.strip():
        return max(0, int(raw))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class TileError(Exception):
    """A tile failed in a worker (the caller redoes it in-process, where the real error surfaces)."""


class _Worker:
    def __init__(self) -> None:
        from .._proc import spawn

        # buffered pipes: a buffered write loops until the whole frame is out (a raw one may stop short)
        self.proc = spawn("ua_coverage.engine._partition")
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, job: dict) -> dict:
        """The worker's result for ``job``; raises :class:`TileError` if the tile failed there, and
        ``EOFError``/``OSError`` if the worker is gone or its reply was not a whole frame (it is then
        killed, so it is never reused with a stream out of step)."""
        with self.lock:
            try:
                _send(self.proc.stdin, job)
                status, out = _recv(self.proc.stdout)
            except Exception as exc:
                self.proc.kill()
                if isinstance(exc, (EOFError, OSError)):
                    raise
                raise EOFError(f"the partition worker's reply was unreadable: {exc}") from exc
        if status != "ok":
            raise TileError(out)
        return out

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except Exception:  # noqa: BLE001 - best effort at exit
            self.proc.kill()


def _send(stream, obj) -> None:
    import pickle

    from .._proc import write_frame

    write_frame(stream, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def _recv(stream):
    import pickle

    from .._proc import read_frame

    data = read_frame(stream)
    if data is None:
        raise EOFError("the partition worker exited")
    return pickle.loads(data)


def pool() -> list:
    """The shared workers (started on first use, restarted if one died)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = []
            atexit.register(shutdown)
        _POOL[:] = [w for w in _POOL if w.alive()]
        while len(_POOL) < workers():
            _POOL.append(_Worker())
        return list(_POOL)


def warm_up() -> None:
    """Start the worker processes now (the CLI does this while it reads the file)."""
    if workers() > 1:
        pool()


def shutdown() -> None:
    global _POOL
    with _POOL_LOCK:
        for w in _POOL or []:
            w.close()
        _POOL = None


class Runner:
    """Runs tile jobs as they are added: on the workers when ``parallel``, else in-process at the end.

    Layers are added one by one, so the workers start on the first layer's tiles while the caller
    projects and cuts the next. Free workers take the largest waiting tile first. If a worker dies
    (e.g. the OOM killer) or a tile fails there, that tile is redone in-process by :meth:`finish`,
    which re-raises a genuine error in the caller.
    """

    def __init__(self, parallel: bool, progress=None) -> None:
        import queue

        self.jobs: list[dict] = []
        self.out: list = []
        self.progress = progress
        self.done = 0
        self.lock = threading.Lock()
        self.queue: queue.PriorityQueue = queue.PriorityQueue()
        self.threads = []
        if parallel:
            self.threads = [threading.Thread(target=self._feed, args=(w,), daemon=True) for w in pool()]
            for t in self.threads:
                t.start()

    def add(self, jobs: list[dict]) -> tuple[int, int]:
        """Queue jobs; returns the slice of :meth:`finish`'s result that will hold theirs."""
        with self.lock:
            start = len(self.jobs)
            self.jobs.extend(jobs)
            self.out.extend([None] * len(jobs))
        if self.threads:
            for i, job in enumerate(jobs, start):
                self.queue.put((-job["weight"], i))
        return start, start + len(jobs)

    def abort(self) -> None:
        """Stop the feeders without waiting for queued tiles (the caller failed while adding jobs)."""
        import queue

        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        for _ in self.threads:
            self.queue.put((-math.inf, -1))  # stop signs ahead of anything else
        for t in self.threads:
            t.join()

    def finish(self) -> list[dict]:
        for _ in self.threads:
            self.queue.put((math.inf, -1))  # one stop sign per worker, after every job
        for t in self.threads:
            t.join()
        for i, job in enumerate(self.jobs):
            if self.out[i] is None:
                self.out[i] = partition_tile(job)
                self._tick()
        return self.out

    def _tick(self) -> None:
        with self.lock:
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, len(self.jobs))

    def _feed(self, worker: "_Worker") -> None:
        while True:
            _, i = self.queue.get()
            if i < 0:
                return
            try:
                self.out[i] = worker.call(self.jobs[i])
            except TileError:
                continue  # redone in-process by finish(), where the error surfaces
            except (EOFError, OSError):
                return  # the worker is gone (and killed); finish() does what is left
            self._tick()


def _serve() -> None:
    import sys

    from .._proc import protocol_stdout

    stdin, stdout = sys.stdin.buffer, protocol_stdout()
    while True:
        try:
            job = _recv(stdin)
        except EOFError:
            return
        try:
            reply = ("ok", partition_tile(job))
        except Exception as exc:  # noqa: BLE001 - reported; the caller redoes the tile in-process
            reply = ("err", f"{type(exc).__name__}: {exc}")
        _send(stdout, reply)


if __name__ == "__main__":
    _serve()
