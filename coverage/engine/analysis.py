"""The coverage engine: exact gaps, overlaps and coverage depth per layer, joined to contingents.

For each coverage layer (``air``, ``sea``, ``land``, ``monitoring``) the engine builds the planar
partition of the layer's extent by all of its sectors (and by the oblast boundaries, so every face
falls in one oblast): the boundaries of everything are noded together, polygonised into faces, and
each face is classified by an interior point looked up in an STRtree of the sectors. Classifying by
an interior point rather than by ``covered_by`` on the face is deliberate: noding moves vertices by
rounding, and a face that is exactly on a sector's edge must still count as inside it.

All geometry work happens in an equal-area projection of the WGS84 ellipsoid centred on Ukraine,
after densifying edges to 0.05°, so areas agree with ``pyproj.Geod.geometry_area_perimeter``.

Examples
--------
>>> from ua_coverage.workflow import analyze_sample
>>> result = analyze_sample()
>>> sorted(result.domains)
['air', 'land', 'monitoring', 'sea']
>>> result.domains["land"]["gap_km2"] > 0
True
"""
from __future__ import annotations

import gc
import math
import threading
from collections import OrderedDict, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..domains import Extents
from ..errors import AnalysisError
from ._partition import unique_ints
from .geodesy import _transformers, area_km2, to_laea, to_wgs84  # noqa: F401  (re-exported)
from .geodesy import polygonal, union_polygons as _union, valid_coverage, wgs84_valid
from ..schema import LAYERS

DEFAULT_MIN_AREA_KM2 = 0.01
_INF = math.inf


@lru_cache(maxsize=8)
def _projected_extent(extents_key: str, layer: str, wkb: bytes):
    geom = to_laea([shapely.from_wkb(wkb)])[0]
    geom = shapely.make_valid(geom)
    shapely.prepare(geom)
    return geom


@lru_cache(maxsize=2)
def _projected_oblasts(token: int):
    from .. import geodata

    ob = geodata.admin1()
    geoms = to_laea(ob.geometry.values)
    return list(ob["code"]), list(ob["name_en"]), geoms, shapely.STRtree(geoms)


#: dissolved display geometry (lon/lat, valid) keyed by (partition, face indices), shared by the analyses of one
#: plan's what-ifs and days: they classify the same faces, and most groups (the gaps outside any unassigned sector,
#: the overlaps of sectors that stay) are the same faces again; their merge and repair is the dearest part of a
#: what-if's map at 10,000 sectors
_DISSOLVED: "OrderedDict[tuple, object]" = OrderedDict()
_DISSOLVED_LOCK = threading.Lock()
_DISSOLVED_SIZE = 16384  # groups: the four views of a 10,000-sector plan hold ~5,500


def _dissolved_get(key: tuple):
    with _DISSOLVED_LOCK:
        g = _DISSOLVED.get(key)
        if g is not None:
            _DISSOLVED.move_to_end(key)
        return g


def _dissolved_put(key: tuple, geom) -> None:
    with _DISSOLVED_LOCK:
        _DISSOLVED[key] = geom
        while len(_DISSOLVED) > _DISSOLVED_SIZE:
            _DISSOLVED.popitem(last=False)


@dataclass
class Analysis:
    """The result of :func:`analyze`: the partition of every layer and its summaries.

    The summaries are plain data (see :meth:`to_dict`). Geometry is produced on demand:
    ``faces`` is a GeoDataFrame (EPSG:4326) of every face of every layer's partition, with
    ``layer``, ``area_km2``, ``in_extent``, ``oblast``, ``sectors`` and ``contingents``
    (``;``-joined), ``depth`` (distinct contingents), ``n_sectors`` and the boolean classes
    ``covered``, ``gap``, ``unassigned``, ``overlap``, ``conflict``, ``self_overlap``, ``outside``;
    ``gap_pieces`` and ``overlap_pieces`` hold the dissolved pieces listed in ``gaps`` and
    ``overlaps`` (those of at least ``min_area_km2``; the slivers stay in ``faces``).
    """

    domains: dict
    contingents: dict
    unassigned_sectors: list
    unknown_contingents: list
    idle_contingents: list
    gaps: list
    overlaps: list
    oblasts: dict
    air_bands: list
    sectors: dict
    filtered: dict
    min_area_km2: float
    _faces: dict = field(repr=False, default_factory=dict)
    _pieces: dict = field(repr=False, default_factory=dict)
    _air_bands: tuple | None = field(repr=False, default=None)
    _display_cache: dict = field(repr=False, default_factory=dict)

    def to_dict(self) -> dict:
        """The stable JSON shape documented in the README (``ua-coverage analyze --json``)."""
        return {
            "domains": self.domains,
            "contingents": self.contingents,
            "unassigned_sectors": self.unassigned_sectors,
            "unknown_contingents": self.unknown_contingents,
            "idle_contingents": self.idle_contingents,
            "gaps": self.gaps,
            "overlaps": self.overlaps,
            "oblasts": self.oblasts,
            "air_bands": self.air_bands,
            "sectors": self.sectors,
            "filtered": self.filtered,
            "min_area_km2": self.min_area_km2,
        }

    def to_json(self, extra: dict | None = None) -> str:
        """:meth:`to_dict` (plus ``extra`` keys) as JSON text, one record per line.

        Top-level sections and their entries (a domain, a gap, a sector...) each get a line, so the
        output stays readable and greppable and large plans serialise at C speed.
        """
        doc = self.to_dict()
        if extra:
            doc.update(extra)
        return json_records(doc)

    def gap_faces(self, layer: str, band: int | None = None) -> gpd.GeoDataFrame:
        """Gaps of a layer for display (EPSG:4326), dissolved by the unassigned sectors they lie in.

        With ``band`` (air only), the gaps of that altitude band. Columns ``sectors``, ``area_km2``.
        """
        key = ("gap", layer, band)
        if key not in self._display_cache:
            f = self._faces
            if band is not None and layer == "air" and self._air_bands is not None:
                start, cov, in_ext = self._air_bands
                mask = np.zeros(len(f["area_km2"]), bool)
                mask[start + np.flatnonzero(in_ext & ~cov[:, band])] = True
                names = None
            else:
                mask = f["gap"] & (f["layer"] == layer)
                names = f["members"]()
            self._display_cache[key] = self._dissolve(mask, names)
        return self._display_cache[key]

    def overlap_faces(self, layer: str, band: int | None = None) -> gpd.GeoDataFrame:
        """Overlaps of a layer for display (EPSG:4326), dissolved by sector set.

        Columns ``sectors``, ``contingents``, ``n`` (sectors), ``conflict``, ``area_km2``.
        """
        key = ("overlap", layer)
        if key not in self._display_cache:
            f = self._faces
            mask = f["overlap"] & (f["layer"] == layer)
            out = self._dissolve(mask, f["members"]())
            if len(out):
                conts = f["conts"]()
                lookup = {}
                members = f["members"]()
                for i in np.flatnonzero(mask):
                    lookup.setdefault(members[i], (conts[i], bool(f["conflict"][i])))
                out["n"] = [len(x.split(";")) for x in out["sectors"]]
                out["contingents"] = [lookup[x][0] for x in out["sectors"]]
                out["conflict"] = [lookup[x][1] for x in out["sectors"]]
            else:
                out["n"], out["contingents"], out["conflict"] = [], [], []
            self._display_cache[key] = out
        return self._display_cache[key]

    def _dissolve(self, mask: np.ndarray, names: list | None) -> gpd.GeoDataFrame:
        idx = np.flatnonzero(mask)
        keys = [names[i] for i in idx] if names is not None else [""] * len(idx)
        groups: dict[str, list[int]] = defaultdict(list)
        for k, i in zip(keys, idx):
            groups[k].append(i)
        part = self._faces.get("partition_key")
        members = list(groups.values())
        rows = [{"sectors": k, "area_km2": float(self._faces["area_km2"][m].sum())} for k, m in groups.items()]
        # the same faces of the same partition (a what-if or a day of this plan) dissolve to the same shape
        out = [_dissolved_get((part, tuple(m))) if part else None for m in members]
        todo = [j for j, g in enumerate(out) if g is None]
        if todo:
            geoms = self._geometry()
            for j, g in zip(todo, wgs84_valid([self._merge(geoms[members[j]]) for j in todo])):
                out[j] = g
                if part:
                    _dissolved_put((part, tuple(members[j])), g)
        return gpd.GeoDataFrame(rows or {"sectors": [], "area_km2": []}, geometry=np.asarray(out, dtype=object),
                                crs=4326)

    @cached_property
    def faces(self) -> gpd.GeoDataFrame:
        f = self._faces
        cols = {k: v for k, v in f.items() if k not in self._INTERNAL}
        cols["sectors"] = np.asarray(f["members"](), dtype=object)
        cols["contingents"] = np.asarray(f["conts"](), dtype=object)
        # every face valid and every layer's faces a valid coverage, in lon/lat (checked and repaired
        # before faces cut by tile lines are joined: the tiles keep faces small, so the check is linear)
        geoms = valid_coverage(to_wgs84(self._geometry()), self._geometry(), f["layer_i"], f["adj"])
        if f.get("tiled") and len(geoms):
            # a face cut by a tile line is one face again: join neighbours with identical attributes
            # (their edges along the tile line match vertex for vertex, so a coverage union joins them)
            n = len(geoms)
            nob = int(f["oblast_i"].max()) + 2
            key = ((f["layer_i"] * (n + 1) + f["member_key"]) * nob + (f["oblast_i"] + 1)) * 2 + f["in_extent"]
            a, b = f["adj"][:, 0], f["adj"][:, 1]
            ok = key[a] == key[b]
            comp = _connected(n, a[ok], b[ok])
            order = np.argsort(comp, kind="stable")
            starts = np.searchsorted(comp[order], np.arange(comp.max() + 2))
            first = order[starts[:-1]]
            joined = np.flatnonzero(starts[1:] - starts[:-1] > 1)
            merged = geoms[first]
            merged[joined] = [_union(geoms[order[starts[c]:starts[c + 1]]]) for c in joined]
            bad = joined[~shapely.is_valid(merged[joined])]
            merged[bad] = [polygonal(g) for g in merged[bad]]
            cols = {k: v[first] for k, v in cols.items()}
            cols["area_km2"] = np.bincount(comp, weights=f["area_km2"])
            geoms = merged
        return gpd.GeoDataFrame(cols, geometry=geoms, crs=4326)

    def _merge(self, g: np.ndarray):
        """One geometry (working CRS) from adjacent faces: a coverage union (faces from different
        tiles share their vertices along the tile line too), an ordinary union if that fails."""
        return _union(g)

    _INTERNAL = ("geometry", "coords", "ring_len", "face_rings", "members", "conts", "cx", "cy", "tiled", "adj",
                 "member_key", "oblast_i", "layer_i", "boxes", "partition_key")

    def _geometry(self) -> np.ndarray:
        """Every face's polygon in the working CRS (built from its coordinates on first use).

        Each layer's faces form an exact polygonal coverage: they come from one noding per tile, and
        faces on either side of a tile line get each other's vertices along it.
        """
        from ._partition import match_tile_lines, polygons

        f = self._faces
        if "geometry" not in f:
            coords, ring_len = f["coords"], f["ring_len"]
            if f.get("tiled") and "boxes" in f:
                coords, ring_len = match_tile_lines(coords, ring_len, f["face_rings"], f["boxes"], f["layer_i"])
            f["geometry"] = polygons(coords, ring_len, f["face_rings"])
        return f["geometry"]

    @cached_property
    def gap_pieces(self) -> gpd.GeoDataFrame:
        return self._piece_frame("gaps")

    @cached_property
    def overlap_pieces(self) -> gpd.GeoDataFrame:
        return self._piece_frame("overlaps")

    def piece_geometries(self, kind: str) -> list:
        """Each gap (``kind="gaps"``) or overlap piece as one polygon in the working CRS, merged once and kept:
        the display layers and the measures over pieces (candidates, since/until) share them."""
        key = ("piece-geometries", kind)
        if key not in self._display_cache:
            rows, members = self._pieces[kind]
            geoms = self._geometry()
            self._display_cache[key] = [self._merge(geoms[m]) for m in members]
        return self._display_cache[key]

    def _piece_frame(self, kind: str) -> gpd.GeoDataFrame:
        rows, _ = self._pieces[kind]
        out = self.piece_geometries(kind)
        frame = pd.DataFrame([{k: _cell(v) for k, v in r.items() if k != "centroid"} for r in rows])
        return gpd.GeoDataFrame(frame, geometry=wgs84_valid(out), crs=4326)


def _cell(v):
    """A piece's attribute as a layer's field: lists ``;``-joined (measures' records by their ``code``)."""
    if isinstance(v, list):
        return ";".join(x["code"] if isinstance(x, dict) else str(x) for x in v)
    return v


def _bands(floors, ceilings) -> list[tuple[float, float]]:
    vals = [float(v) for v in list(floors) + list(ceilings) if not math.isnan(v)]
    edges = sorted({0.0} | set(vals))
    if len(edges) == 1:
        return [(0.0, _INF)]
    bands = list(zip(edges[:-1], edges[1:]))
    if any(math.isnan(c) for c in ceilings):
        bands.append((edges[-1], _INF))
    return bands


_ARRANGEMENTS: dict = {}
_ARRANGEMENT_CACHE_SIZE = 6


def _arrangement_key(extents_key: str, layer: str, geoms_wgs84) -> str:
    import hashlib

    h = hashlib.sha1(extents_key.encode() + layer.encode())
    for g in shapely.to_wkb(np.asarray(geoms_wgs84, dtype=object)):
        h.update(g)
    return h.hexdigest()


def _arrangements(todo: dict, ob_geoms, ob_tree, progress=None) -> dict:
    """The partition of each layer in ``todo`` (``layer -> (key, sector geometries, extent)``).

    Memoised by geometry: a what-if (a contingent withdrawing) or an attribute edit changes no
    geometry, so the expensive noding is reused. Layers not in the memo are cut into tiles
    (:mod:`ua_coverage.engine._partition`) and all their tiles run together, in worker processes when the
    plan is large.
    """
    from . import _partition

    out, spans, missing = {}, {}, {}
    for layer, item in todo.items():
        hit = _ARRANGEMENTS.get(item[0])
        if hit is None:
            missing[layer] = item
        else:
            out[layer] = hit
    if not missing:
        return out
    vertices = sum(int(shapely.get_num_coordinates(np.asarray(g, dtype=object)).sum()) for _, g, _ in missing.values())
    runner = _partition.Runner(_partition.workers() > 1 and vertices >= _partition.POOL_MIN_VERTICES, progress)
    # the smallest layer first, so the workers have tiles at once; they always take the biggest
    # waiting tile, so the big layer's tiles still go first once they are cut
    try:
        for layer in sorted(missing, key=lambda k: len(missing[k][1])):
            key, geoms_wgs84, extent = missing[layer]
            geoms = to_laea(geoms_wgs84) if len(geoms_wgs84) else np.array([], dtype=object)
            spans[layer] = (key, runner.add(_partition.make_jobs(geoms, extent, np.asarray(ob_geoms, dtype=object),
                                                                 ob_tree)))
    except BaseException:
        runner.abort()
        raise
    results = runner.finish()
    for layer, (key, (a, b)) in spans.items():
        part = _partition.assemble(results[a:b])
        while len(_ARRANGEMENTS) >= _ARRANGEMENT_CACHE_SIZE:
            _ARRANGEMENTS.pop(next(iter(_ARRANGEMENTS)), None)
        _ARRANGEMENTS[key] = out[layer] = part
    return out


def _expand(ptr: np.ndarray, values: np.ndarray, rows: np.ndarray):
    """For each row r, the slice values[ptr[r]:ptr[r+1]]; returns (row position, value) arrays."""
    counts = ptr[rows + 1] - ptr[rows]
    pos = np.repeat(np.arange(len(rows)), counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return pos, values[np.repeat(ptr[rows], counts) + offs]


def _components(sel: np.ndarray, keys: np.ndarray, adj: np.ndarray, nf: int) -> np.ndarray:
    """Label connected pieces of the faces ``sel``: faces sharing an edge and the same key belong together.

    ``adj`` holds every pair of adjacent faces of the arrangement (found by the partition from exact
    shared segments, and across tile lines from shared stretches of the line).
    """
    n = len(sel)
    if n <= 1:
        return np.zeros(n, dtype=int)
    pos = np.full(nf, -1, dtype=np.int64)
    pos[sel] = np.arange(n)
    a, b = pos[adj[:, 0]], pos[adj[:, 1]]
    ok = (a >= 0) & (b >= 0)
    a, b = a[ok], b[ok]
    ok = keys[a] == keys[b]
    return _connected(n, a[ok], b[ok])


def _connected(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component labels (0..k-1, in order of each component's smallest node) for edges ``a``-``b``.

    Vectorised hook-and-compress: every node points at a smaller-or-equal node; each round hooks
    the roots of both ends of every edge to the smaller one, then compresses paths by pointer jumping.
    """
    parent = np.arange(n)
    while len(a):
        ra, rb = parent[a], parent[b]
        low = np.minimum(ra, rb)
        hooked = parent.copy()
        np.minimum.at(hooked, ra, low)
        np.minimum.at(hooked, rb, low)
        while True:
            jumped = hooked[hooked]
            if np.array_equal(jumped, hooked):
                break
            hooked = jumped
        if np.array_equal(hooked, parent):
            break
        parent = hooked
    roots = parent == np.arange(n)
    return (np.cumsum(roots) - 1)[parent]


def analyze(sectors: gpd.GeoDataFrame, extents: Extents, contingents: pd.DataFrame | None = None, *,
            min_area_km2: float = DEFAULT_MIN_AREA_KM2, progress=None, active=None) -> Analysis:
    """Analyse a plan's coverage.

    Parameters
    ----------
    sectors : the canonical sector frame from :func:`ua_coverage.ingest.read_sectors` (EPSG:4326,
        columns ``sector_id``, ``layer``, ``contingents`` (tuples, lead first), ``floor_ft``,
        ``ceiling_ft``).
    extents : the extent of each layer (:mod:`ua_coverage.domains`).
    contingents : the registry (``code``, ``name``, ``colour``); ``None`` skips the unknown/idle checks.
    min_area_km2 : gap and overlap pieces smaller than this are not listed (totals stay exact).
    active : optional booleans, one per sector: analyse only the sectors active (on a day, say). The
        partition is still that of every sector (cached, so each day only re-classifies its faces).
    progress : called as ``progress(done, total)`` as tiles of the partition finish (large plans
        are cut into tiles and spread over ``UA_COVERAGE_ENGINE_WORKERS`` processes).

    Returns
    -------
    Analysis

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from ua_coverage.domains import Extents
    >>> box = shapely.box(30.0, 50.0, 30.5, 50.3)
    >>> ext = Extents({k: box for k in ("air", "sea", "land", "monitoring")})
    >>> s = gpd.GeoDataFrame({"sector_id": ["A", "B"], "layer": ["land", "land"],
    ...                       "contingents": [("FRA",), ("GBR",)], "floor_ft": [float("nan")] * 2,
    ...                       "ceiling_ft": [float("nan")] * 2},
    ...                      geometry=[shapely.box(30.0, 50.0, 30.3, 50.3), shapely.box(30.2, 50.0, 30.4, 50.3)],
    ...                      crs=4326)
    >>> r = analyze(s, ext)
    >>> [o["sectors"] for o in r.overlaps], r.overlaps[0]["conflict"]
    ([['A', 'B']], True)
    >>> round(r.domains["land"]["gap_km2"] / r.domains["land"]["extent_km2"], 2)
    0.2
    """
    if min_area_km2 < 0:
        raise AnalysisError("min_area_km2 must be zero or more")
    try:
        with _gc_paused():
            return _analyze(sectors, extents, contingents, min_area_km2, progress, active)
    except shapely.errors.GEOSException as exc:  # the engine's one boundary to GEOS
        raise AnalysisError(f"the geometry engine (GEOS) could not analyse the plan: {exc}; check the sectors with "
                            "`ua-coverage validate`, or accept an automatic repair") from exc


_GC_LOCK = threading.Lock()
_GC_PAUSES = [0, False]  # active pauses, whether we turned the collector off


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector: the engine builds many objects but no cycles, and in a
    long-lived process with a large heap each collection walks all of it (0.3-0.4 s at 10,000 sectors)."""
    with _GC_LOCK:
        if _GC_PAUSES[0] == 0:
            _GC_PAUSES[1] = gc.isenabled()
            gc.disable()
        _GC_PAUSES[0] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_PAUSES[0] -= 1
            if _GC_PAUSES[0] == 0 and _GC_PAUSES[1]:
                gc.enable()


def domain_figures(sectors: gpd.GeoDataFrame, extents: Extents, contingents: pd.DataFrame | None = None, *,
                   active=None, memo: dict | None = None) -> dict:
    """Only the per-layer figures of :func:`analyze` (``Analysis.domains``): what a timeline needs per interval.

    With the partition cached, a day costs a few bincounts instead of a whole analysis. ``memo``: a dict the
    caller keeps across calls on the same sectors (it holds their partition keys, so they are hashed once).
    """
    with _gc_paused():
        return _analyze(sectors, extents, contingents, DEFAULT_MIN_AREA_KM2, None, active, figures_only=True,
                        memo=memo)


def _analyze(sectors, extents, contingents, min_area_km2, progress, active=None, figures_only=False, memo=None):
    for layer in LAYERS:
        if layer not in extents.layers or extents.layers[layer].is_empty:
            raise AnalysisError(f"the {layer} extent is missing or empty; give it in the extents file")
    ob_codes, ob_names, ob_geoms, ob_tree = _projected_oblasts(0)
    sectors = full = sectors.reset_index(drop=True)
    if active is not None:  # the partition stays that of every sector; only the active ones classify it
        active = np.asarray(active, dtype=bool)
        if len(active) != len(full):
            raise AnalysisError(f"active has {len(active)} values for {len(full)} sectors")
        sectors = full[active].reset_index(drop=True)
        remap = np.cumsum(active) - 1
    full_layers = np.asarray(full["layer"], dtype=object)
    n = len(sectors)
    ids = np.asarray([str(v) for v in sectors["sector_id"]], dtype=object)
    conts = [tuple(c) for c in sectors["contingents"]]
    layers_col = np.asarray(sectors["layer"], dtype=object)
    floors = np.asarray(sectors["floor_ft"], dtype=float) if "floor_ft" in sectors else np.full(n, np.nan)
    ceils = np.asarray(sectors["ceiling_ft"], dtype=float) if "ceiling_ft" in sectors else np.full(n, np.nan)
    floor0 = np.where(np.isnan(floors), 0.0, floors)
    ceil0 = np.where(np.isnan(ceils), _INF, ceils)

    registry = list(contingents["code"]) if contingents is not None else []
    codes = sorted({c for cs in conts for c in cs} | set(registry))
    code_id = {c: i for i, c in enumerate(codes)}
    C = max(len(codes), 1)
    lead_id = np.array([code_id[c[0]] if c else -1 for c in conts], dtype=np.int64)
    c_ptr = np.zeros(n + 1, dtype=np.int64)
    c_ptr[1:] = np.cumsum([len(c) for c in conts])
    c_val = np.array([code_id[c] for cs in conts for c in cs], dtype=np.int64)

    F: dict[str, list] = defaultdict(list)
    pair_face, pair_sector = [], []
    domains: dict = {}
    air_bands: list = []
    band_cov_air = None
    offset = 0
    todo = {}
    for layer in LAYERS:
        extent = _projected_extent(extents.key(), layer, shapely.to_wkb(extents.layers[layer]))
        geoms = full.geometry.values[full_layers == layer]
        if memo is not None and layer in memo:
            key = memo[layer]
        else:
            key = _arrangement_key(extents.key(), layer, geoms)
            if memo is not None:
                memo[layer] = key
        todo[layer] = (key, geoms, extent)
    parts = _arrangements(todo, ob_geoms, ob_tree, progress)
    adj_all = []
    for layer in LAYERS:
        idx = np.flatnonzero(layers_col == layer)
        part = parts[layer]
        in_ext, n_sec, p_i, s_loc, ob = part.in_ext, part.n_sec, part.p_i, part.s_loc, part.ob
        areas = part.area_m2 / 1e6
        nf = len(areas)
        s_full = np.flatnonzero(full_layers == layer)[s_loc]
        if active is not None:
            keep = active[s_full]
            p_i, s_i = p_i[keep], remap[s_full[keep]]
            n_sec = np.bincount(p_i, minlength=nf)
        else:
            s_i = s_full
        lead = lead_id[s_i]
        bands = _bands(floors[idx], ceils[idx]) if layer == "air" else [(0.0, _INF)]
        overlap = np.zeros(nf, bool)
        conflict = np.zeros(nf, bool)
        self_ov = np.zeros(nf, bool)
        band_cov = np.zeros((nf, len(bands)), bool)
        for b, (lo, hi) in enumerate(bands):
            inb = (floor0[s_i] <= lo) & (ceil0[s_i] >= hi)
            overlap |= np.bincount(p_i[inb], minlength=nf) >= 2
            asg = inb & (lead >= 0)
            a_cnt = np.bincount(p_i[asg], minlength=nf)
            d_cnt = np.bincount(unique_ints(p_i[asg] * C + lead[asg]) // C, minlength=nf)
            conflict |= d_cnt >= 2
            self_ov |= a_cnt > d_cnt
            band_cov[:, b] = a_cnt > 0
        covered = np.bincount(p_i[lead >= 0], minlength=nf) > 0
        F["layer"].append(np.full(nf, layer, dtype=object))
        F["layer_i"].append(np.full(nf, LAYERS.index(layer), dtype=np.int64))
        F["cx"].append(part.cx)
        F["cy"].append(part.cy)
        F["coords"].append(part.coords)
        F["ring_len"].append(part.ring_len)
        F["face_rings"].append(part.face_rings)
        F["boxes"].append(part.boxes if part.boxes is not None else np.full((nf, 4), np.nan))
        adj_all.append(part.adj + offset)
        F["area_km2"].append(areas)
        F["in_extent"].append(in_ext)
        F["oblast_i"].append(ob)
        F["n_sectors"].append(n_sec)
        F["covered"].append(in_ext & covered)
        F["gap"].append(in_ext & ~covered)
        F["unassigned"].append(in_ext & ~covered & (n_sec > 0))
        F["overlap"].append(in_ext & overlap)
        F["conflict"].append(in_ext & conflict)
        F["self_overlap"].append(in_ext & self_ov)
        F["outside"].append(~in_ext)
        pair_face.append(p_i + offset)
        pair_sector.append(s_i)
        offset += nf

        a_in = areas[in_ext]
        ext_km2 = float(a_in.sum())
        if ext_km2 <= 0:
            raise AnalysisError(f"the {layer} extent has no area")

        def tot(mask, areas=areas):
            return float(areas[mask].sum())

        cov_km2 = tot(in_ext & covered)
        domains[layer] = {
            "extent_km2": ext_km2, "covered_km2": cov_km2, "gap_km2": tot(in_ext & ~covered),
            "unassigned_km2": tot(in_ext & ~covered & (n_sec > 0)), "overlap_km2": tot(in_ext & overlap),
            "conflict_km2": tot(in_ext & conflict), "self_overlap_km2": tot(in_ext & self_ov),
            "outside_km2": tot(~in_ext), "covered_pct": 100.0 * cov_km2 / ext_km2,
            "sectors": int(len(idx)), "unassigned_sectors": int((lead_id[idx] < 0).sum()),
            "extent_source": extents.source.get(layer, ""),
        }
        if layer == "air":
            band_cov_air = (offset - nf, band_cov, in_ext)
            for b, (lo, hi) in enumerate(bands):
                cov = tot(in_ext & band_cov[:, b])
                air_bands.append({"floor_ft": lo, "ceiling_ft": None if hi == _INF else hi,
                                  "covered_km2": cov, "gap_km2": ext_km2 - cov,
                                  "covered_pct": 100.0 * cov / ext_km2})

    if figures_only:
        return domains
    faces = {k: np.concatenate(v) for k, v in F.items()}
    faces["tiled"] = any(parts[layer].tiles > 1 for layer in LAYERS)
    faces["partition_key"] = tuple(todo[layer][0] for layer in LAYERS)  # the same faces in the same order
    adj = np.concatenate(adj_all) if adj_all else np.zeros((0, 2), dtype=np.int64)
    p_all = np.concatenate(pair_face)
    s_all = np.concatenate(pair_sector)
    nf = len(faces["area_km2"])
    area = faces["area_km2"]
    in_ext = faces["in_extent"]
    # contingents present on each face (of its assigned sectors): unique (face, code) pairs
    pf, cv = _expand(c_ptr, c_val, s_all)
    fc = unique_ints(p_all[pf] * C + cv)
    fc_face, fc_code = fc // C, fc % C
    depth = np.bincount(fc_face, minlength=nf)
    faces["depth"] = depth

    # per-face sector and contingent lists, built only when asked for (they are strings)
    order = np.lexsort((s_all, p_all))
    ps, ss = p_all[order], s_all[order]

    def _split(face_idx, values, names):
        cuts = np.searchsorted(face_idx, np.arange(1, nf))
        return [";".join(names[v] for v in chunk) for chunk in np.split(values, cuts)]

    faces["members"] = lru_cache(maxsize=1)(lambda: _split(ps, ss, ids))
    faces["conts"] = lru_cache(maxsize=1)(lambda: _split(fc_face, fc_code, codes))
    faces["oblast"] = np.asarray(list(ob_codes) + [None], dtype=object)[faces["oblast_i"]]

    cont_sum = _contingent_summaries(fc_face, fc_code, in_ext, area, depth, codes, code_id, conts, ids, registry,
                                     contingents is not None)
    used = sorted({c for cs in conts for c in cs})
    oblasts = _oblast_summaries(faces, in_ext, area, ob_codes, ob_names)

    # per sector: area inside and outside the extent
    w = area[p_all]
    s_in = np.bincount(s_all, weights=w * in_ext[p_all], minlength=n)
    s_out = np.bincount(s_all, weights=w * ~in_ext[p_all], minlength=n)
    sector_info = {str(ids[i]): {"layer": layers_col[i], "contingents": list(conts[i]),
                                 "area_km2": float(s_in[i]), "outside_km2": float(s_out[i])} for i in range(n)}

    # pieces: gaps keyed by the unassigned sectors they lie in, overlaps by their sector set
    member_keys = _member_keys(ps, ss, nf, n)
    faces["member_key"], faces["adj"] = member_keys[0], adj
    ctx = (faces, adj, member_keys, ids, min_area_km2, ob_codes, ob_tree)
    gaps, gap_members, gap_filtered = _piece_rows(np.flatnonzero(faces["gap"]), *ctx)
    overlaps, ov_members, ov_filtered = _piece_rows(np.flatnonzero(faces["overlap"]), *ctx)
    for g in gaps:
        g["unassigned"] = bool(g["sectors"])
    sector_lead = {str(ids[i]): (conts[i][0] if conts[i] else None) for i in range(n)}
    sector_conts = {str(ids[i]): conts[i] for i in range(n)}
    for o in overlaps:
        o["contingents"] = sorted({c for s in o["sectors"] for c in sector_conts[s]})
        leads = [sector_lead[s] for s in o["sectors"] if sector_lead[s]]
        o["conflict"] = len(set(leads)) >= 2
        o["self_overlap"] = len(leads) != len(set(leads))
    if band_cov_air is not None:
        start, band_cov, air_in = band_cov_air
        for b, band in enumerate(air_bands):
            sel_b = start + np.flatnonzero(air_in & ~band_cov[:, b])
            band["gaps"], _, band["filtered"] = _piece_rows(sel_b, faces, adj, None, ids, min_area_km2, ob_codes,
                                                            ob_tree)
            for g in band["gaps"]:
                g.pop("sectors", None)
    return Analysis(
        domains=domains, contingents=cont_sum,
        unassigned_sectors=[str(ids[i]) for i in range(n) if not conts[i]],
        unknown_contingents=sorted(c for c in used if c not in registry) if contingents is not None else [],
        idle_contingents=sorted(c for c in registry if c not in used),
        gaps=gaps, overlaps=overlaps, oblasts=dict(sorted(oblasts.items())), air_bands=air_bands,
        sectors=sector_info, filtered={"gaps": gap_filtered, "overlaps": ov_filtered},
        min_area_km2=min_area_km2, _faces=faces,
        _air_bands=band_cov_air,
        _pieces={"gaps": (gaps, gap_members), "overlaps": (overlaps, ov_members)},
    )


def _contingent_summaries(fc_face, fc_code, in_ext, area, depth, codes, code_id, conts, ids, registry,
                          has_registry: bool) -> dict:
    """Per contingent (all four layers): assigned, exclusive and shared km², who it shares with, its sectors."""
    C = max(len(codes), 1)
    sel = in_ext[fc_face]
    fa, ca = fc_face[sel], fc_code[sel]
    assigned = np.bincount(ca, weights=area[fa], minlength=C)
    exclusive = np.bincount(ca, weights=area[fa] * (depth[fa] == 1), minlength=C)
    shares: dict[int, set] = defaultdict(set)
    if len(fa):  # fa is sorted, so a face's codes are consecutive: pair each with the next k
        for k in range(1, int(depth.max())):
            j = np.arange(len(fa) - k)
            m = fa[j] == fa[j + k]
            for x, y in set(zip(ca[j[m]].tolist(), ca[j[m] + k].tolist())):
                shares[x].add(y)
                shares[y].add(x)
    cont_sum: dict = {}
    for c in codes:
        i = code_id[c]
        cont_sum[c] = {"assigned_km2": float(assigned[i]), "exclusive_km2": float(exclusive[i]),
                       "shared_km2": float(assigned[i] - exclusive[i]),
                       "shares_with": sorted(codes[j] for j in shares.get(i, ())),
                       "lead_sectors": [], "supporting_sectors": [],
                       "known": (c in registry) if has_registry else True}
    for i, cs in enumerate(conts):
        for j, c in enumerate(cs):
            cont_sum[c]["lead_sectors" if j == 0 else "supporting_sectors"].append(str(ids[i]))
    return cont_sum


def _oblast_summaries(faces: dict, in_ext, area, ob_codes, ob_names) -> dict:
    """Per oblast and layer: extent, covered and gap km², covered %."""
    oblasts: dict = {}
    li = faces["layer_i"]
    m = in_ext & (faces["oblast_i"] >= 0)
    key = faces["oblast_i"][m] * len(LAYERS) + li[m]
    ext_by = np.bincount(key, weights=area[m], minlength=len(ob_codes) * len(LAYERS))
    cov_by = np.bincount(key, weights=area[m] * faces["covered"][m], minlength=len(ob_codes) * len(LAYERS))
    for k in np.flatnonzero(ext_by > 0):
        o, layer = ob_codes[k // len(LAYERS)], LAYERS[k % len(LAYERS)]
        e, cv_ = float(ext_by[k]), float(cov_by[k])
        oblasts.setdefault(o, {"name": ob_names[k // len(LAYERS)], "layers": {}})["layers"][layer] = {
            "extent_km2": e, "covered_km2": cv_, "gap_km2": e - cv_, "covered_pct": 100.0 * cv_ / e}
    return oblasts


def _member_keys(ps: np.ndarray, ss: np.ndarray, nf: int, n_sectors: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An integer per face naming its exact set of covering sectors (0 = none).

    Returns ``(keys, ptr, ss)``: the members of face ``f`` are ``ss[ptr[f]:ptr[f + 1]]``. Sets are
    told apart by two independent random 64-bit sums over their members (a 128-bit set hash).
    """
    ptr = np.searchsorted(ps, np.arange(nf + 1))
    keys = np.zeros(nf, dtype=np.int64)
    if len(ps) == 0:
        return keys, ptr, ss
    rng = np.random.default_rng(20261126)
    w = rng.integers(0, np.iinfo(np.uint64).max, size=(2, n_sectors), dtype=np.uint64, endpoint=True)
    has = np.flatnonzero(ptr[1:] > ptr[:-1])
    with np.errstate(over="ignore"):
        h1 = np.add.reduceat(w[0][ss], ptr[has])
        h2 = np.add.reduceat(w[1][ss], ptr[has])
    # name each distinct (h1, h2) by its rank: sort by both, number the changes
    order = np.lexsort((h2, h1))
    change = np.concatenate([[True], (h1[order][1:] != h1[order][:-1]) | (h2[order][1:] != h2[order][:-1])])
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.cumsum(change)
    keys[has] = rank
    return keys, ptr, ss


def _piece_rows(sel: np.ndarray, faces: dict, adj: np.ndarray, members_by_key, ids, min_area: float,
                ob_codes, ob_tree):
    """Connected pieces of the selected faces (per layer and member set), largest first.

    Returns ``(rows, members, filtered)``: rows and face indices of the pieces of at least
    ``min_area`` km², and the count and area of the smaller ones.
    """
    empty = {"count": 0, "area_km2": 0.0}
    if len(sel) == 0:
        return [], [], empty
    nf = len(faces["area_km2"])
    member_key, ptr, ss = members_by_key if members_by_key is not None else (None, None, None)
    keys = faces["layer_i"][sel] * (1 << 40) + (member_key[sel] if member_key is not None else 0)
    comp = _components(sel, keys, adj, nf)
    ncomp = int(comp.max()) + 1
    area = faces["area_km2"][sel]
    piece_area = np.bincount(comp, weights=area, minlength=ncomp)
    listed = piece_area >= min_area
    filtered = {"count": int((~listed).sum()), "area_km2": float(piece_area[~listed].sum())}
    keep = np.flatnonzero(listed[comp])  # faces of listed pieces
    if len(keep) == 0:
        return [], [], filtered
    comp_k, area_k, sel_k = comp[keep], area[keep], sel[keep]
    cx = np.bincount(comp_k, weights=faces["cx"][sel_k] * area_k, minlength=ncomp)
    cy = np.bincount(comp_k, weights=faces["cy"][sel_k] * area_k, minlength=ncomp)
    pieces = np.flatnonzero(listed)
    pieces = pieces[np.argsort(-piece_area[pieces], kind="stable")]
    rank = np.full(ncomp, -1, dtype=np.int64)
    rank[pieces] = np.arange(len(pieces))
    cx, cy = cx[pieces] / piece_area[pieces], cy[pieces] / piece_area[pieces]
    cent_xy = np.column_stack(_transformers()[1].transform(cx, cy))
    # the area each oblast holds of each piece, as a (piece, oblast) table
    n_ob = len(ob_codes)
    ob_i = faces["oblast_i"][sel_k]
    r_k = rank[comp_k]
    on = ob_i >= 0
    ob_area = np.bincount(r_k[on] * n_ob + ob_i[on], weights=area_k[on],
                          minlength=len(pieces) * n_ob).reshape(len(pieces), n_ob)
    ob_order = np.argsort(-ob_area, axis=1, kind="stable")
    order = np.argsort(r_k, kind="stable")
    bounds = np.searchsorted(r_k[order], np.arange(len(pieces) + 1))
    layer_names = faces["layer"]
    rows, members, sea = [], [], []
    for r in range(len(pieces)):
        mem = sel_k[order[bounds[r]:bounds[r + 1]]]
        a = float(piece_area[pieces[r]])
        floor = max(min_area, 0.001 * a)
        row_area = ob_area[r]
        obs = [ob_codes[k] for k in ob_order[r] if row_area[k] >= floor and row_area[k] > 0]
        at_sea = not row_area.any()
        first = mem[0]
        row = {"domain": str(layer_names[first]), "area_km2": a, "oblasts": obs, "at_sea": bool(at_sea),
               "centroid": [round(float(cent_xy[r, 0]), 5), round(float(cent_xy[r, 1]), 5)]}
        if member_key is not None:
            row["sectors"] = sorted(str(ids[x]) for x in ss[ptr[first]:ptr[first + 1]])
        if at_sea:
            sea.append(r)
        rows.append(row)
        members.append(mem)
    if sea:  # a piece at sea is located by the nearest unit
        inp, near = ob_tree.query_nearest(shapely.points(cx[sea], cy[sea]))
        for i, t in zip(inp[::-1], near[::-1]):  # reversed so the first match wins
            rows[sea[i]]["oblasts"] = [ob_codes[int(t)]]
    return rows, members, filtered


def json_records(doc: dict) -> str:
    """JSON text of ``doc`` with its sections and their entries one per line (valid, stable JSON)."""
    import json

    def enc(v):
        return json.dumps(v, ensure_ascii=False, default=float)

    out = ["{"]
    keys = list(doc)
    for i, k in enumerate(keys):
        v = doc[k]
        comma = "," if i < len(keys) - 1 else ""
        if isinstance(v, dict) and v:
            items = list(v.items())
            out.append(f"  {enc(k)}: {{")
            out.extend(f"    {enc(kk)}: {enc(vv)}{',' if j < len(items) - 1 else ''}" for j, (kk, vv) in enumerate(items))
            out.append(f"  }}{comma}")
        elif isinstance(v, list) and v:
            out.append(f"  {enc(k)}: [")
            out.extend(f"    {enc(vv)}{',' if j < len(v) - 1 else ''}" for j, vv in enumerate(v))
            out.append(f"  ]{comma}")
        else:
            out.append(f"  {enc(k)}: {enc(v)}{comma}")
    out.append("}")
    return "\n".join(out) + "\n"
