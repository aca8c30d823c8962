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
>>> from coverage.analysis import analyze_sample
>>> result = analyze_sample()
>>> sorted(result.domains)
['air', 'land', 'monitoring', 'sea']
>>> result.domains["land"]["gap_km2"] > 0
True
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .domains import Extents
from .errors import AnalysisError
from .geodata import LAEA_UKRAINE
from .schema import LAYERS

DENSIFY_DEG = 0.05
DEFAULT_MIN_AREA_KM2 = 0.01
_INF = math.inf


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
    """Project working-CRS geometries back to lon/lat."""
    _, inv = _transformers()
    return shapely.transform(np.asarray(geoms, dtype=object),
                             lambda xy: np.column_stack(inv.transform(xy[:, 0], xy[:, 1])))


def area_km2(geoms_wgs84) -> np.ndarray:
    """Ellipsoidal area in km² of lon/lat geometries."""
    return shapely.area(to_laea(geoms_wgs84)) / 1e6


@lru_cache(maxsize=8)
def _projected_extent(extents_key: str, layer: str, wkb: bytes):
    geom = to_laea([shapely.from_wkb(wkb)])[0]
    geom = shapely.make_valid(geom)
    shapely.prepare(geom)
    return geom


@lru_cache(maxsize=2)
def _projected_oblasts(token: int):
    from . import geodata

    ob = geodata.admin1()
    geoms = to_laea(ob.geometry.values)
    return list(ob["code"]), list(ob["name_en"]), geoms, shapely.STRtree(geoms)


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
    #: memo for figure code (display geometry per layer); lives and dies with this analysis
    cache: dict = field(repr=False, default_factory=dict)

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
        geoms = self._faces["geometry"]
        keys = [names[i] for i in idx] if names is not None else [""] * len(idx)
        groups: dict[str, list[int]] = defaultdict(list)
        for k, i in zip(keys, idx):
            groups[k].append(i)
        rows, out = [], []
        for k, members in groups.items():
            g = geoms[members]
            try:
                merged = shapely.coverage_union_all(g) if len(g) > 1 else g[0]
            except shapely.errors.GEOSException:
                merged = shapely.union_all(g)
            rows.append({"sectors": k, "area_km2": float(self._faces["area_km2"][members].sum())})
            out.append(merged)
        return gpd.GeoDataFrame(rows or {"sectors": [], "area_km2": []},
                                geometry=to_wgs84(np.asarray(out, dtype=object)) if out else [], crs=4326)

    @cached_property
    def faces(self) -> gpd.GeoDataFrame:
        f = self._faces
        cols = {k: v for k, v in f.items() if k not in ("geometry", "members", "conts")}
        cols["sectors"] = f["members"]()
        cols["contingents"] = f["conts"]()
        return gpd.GeoDataFrame(cols, geometry=to_wgs84(f["geometry"]), crs=4326)

    @cached_property
    def gap_pieces(self) -> gpd.GeoDataFrame:
        return self._piece_frame("gaps")

    @cached_property
    def overlap_pieces(self) -> gpd.GeoDataFrame:
        return self._piece_frame("overlaps")

    def _piece_frame(self, kind: str) -> gpd.GeoDataFrame:
        rows, members = self._pieces[kind]
        geoms = self._faces["geometry"]
        out = []
        for m in members:
            g = geoms[m]
            try:
                out.append(shapely.coverage_union_all(g) if len(g) > 1 else g[0])
            except shapely.errors.GEOSException:  # pragma: no cover - defensive
                out.append(shapely.union_all(g))
        frame = pd.DataFrame([{k: (";".join(v) if isinstance(v, list) and k != "centroid" else v)
                               for k, v in r.items() if k != "centroid"} for r in rows])
        return gpd.GeoDataFrame(frame, geometry=to_wgs84(np.asarray(out, dtype=object)) if out else [], crs=4326)


def _bands(floors, ceilings) -> list[tuple[float, float]]:
    vals = [float(v) for v in list(floors) + list(ceilings) if not math.isnan(v)]
    edges = sorted({0.0} | set(vals))
    if len(edges) == 1:
        return [(0.0, _INF)]
    bands = list(zip(edges[:-1], edges[1:]))
    if any(math.isnan(c) for c in ceilings):
        bands.append((edges[-1], _INF))
    return bands


def _layer_faces(geoms, extent, oblast_geoms, oblast_tree):
    """Node every boundary (sectors, extent, oblasts), polygonise, return faces and interior points."""
    env = shapely.box(*shapely.total_bounds(np.concatenate([[extent], geoms])))
    ob_idx = oblast_tree.query(env, predicate="intersects")
    lines = np.concatenate([
        shapely.boundary(geoms), [shapely.boundary(extent)],
        shapely.boundary(np.asarray(oblast_geoms, dtype=object)[ob_idx]),
    ])
    lines = lines[~shapely.is_empty(lines)]
    noded = shapely.union_all(lines)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.area(faces) > 0]
    return faces, shapely.point_on_surface(faces)


_ARRANGEMENTS: dict = {}
_ARRANGEMENT_CACHE_SIZE = 6


def _arrangement(extents_key: str, layer: str, geoms_wgs84, extent, ob_geoms, ob_tree):
    """The partition of one layer and which sectors cover each face (memoised by geometry).

    A what-if (a contingent withdrawing) or an attribute edit changes no geometry, so the expensive
    noding is reused: the key is the layer's sector geometries, in order, and its extent.
    """
    import hashlib

    h = hashlib.sha1(extents_key.encode() + layer.encode())
    for g in geoms_wgs84:
        h.update(shapely.to_wkb(g))
    key = h.hexdigest()
    hit = _ARRANGEMENTS.get(key)
    if hit is not None:
        return hit
    geoms = to_laea(geoms_wgs84) if len(geoms_wgs84) else np.array([], dtype=object)
    faces, pts = _layer_faces(geoms, extent, ob_geoms, ob_tree)
    nf = len(faces)
    in_ext = shapely.contains(extent, pts)
    if len(geoms):
        p_i, s_loc = shapely.STRtree(geoms).query(pts, predicate="within")
    else:
        p_i = s_loc = np.array([], dtype=np.int64)
    n_sec = np.bincount(p_i, minlength=nf)
    keep = in_ext | (n_sec > 0)
    # drop faces outside the extent that no sector covers; renumber pairs
    new = np.cumsum(keep) - 1
    faces, pts, in_ext, n_sec = faces[keep], pts[keep], in_ext[keep], n_sec[keep]
    pk = keep[p_i]
    p_i, s_loc = new[p_i[pk]], s_loc[pk]
    ob = np.full(len(faces), -1)
    o_p, o_i = ob_tree.query(pts, predicate="within")
    ob[o_p] = o_i
    result = (faces, pts, in_ext, n_sec, p_i, s_loc, ob, shapely.area(faces) / 1e6)
    if len(_ARRANGEMENTS) >= _ARRANGEMENT_CACHE_SIZE:
        _ARRANGEMENTS.pop(next(iter(_ARRANGEMENTS)))
    _ARRANGEMENTS[key] = result
    return result


def _expand(ptr: np.ndarray, values: np.ndarray, rows: np.ndarray):
    """For each row r, the slice values[ptr[r]:ptr[r+1]]; returns (row position, value) arrays."""
    counts = ptr[rows + 1] - ptr[rows]
    pos = np.repeat(np.arange(len(rows)), counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return pos, values[np.repeat(ptr[rows], counts) + offs]


def _components(geoms: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Label connected pieces: faces sharing an edge and the same key belong together.

    Faces of one polygonised arrangement share identical edge vertices, so adjacency is found by
    hashing edge segments exactly, without any geometric predicate.
    """
    n = len(geoms)
    if n <= 1:
        return np.zeros(n, dtype=int)
    rings, ring_face = shapely.get_rings(geoms, return_index=True)
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[:-1] == ring_of[1:]
    a, b = xy[:-1][same], xy[1:][same]
    face = ring_face[ring_of[:-1][same]]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    lo = np.where(swap[:, None], b, a)
    hi = np.where(swap[:, None], a, b)
    seg = np.column_stack([lo, hi])
    order = np.lexsort(seg.T[::-1])
    seg, face = seg[order], face[order]
    dup = np.flatnonzero((seg[1:] == seg[:-1]).all(axis=1))
    fa, fb = face[dup], face[dup + 1]
    ok = (fa != fb) & (keys[fa] == keys[fb])
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    m = coo_matrix((np.ones(ok.sum()), (fa[ok], fb[ok])), shape=(n, n))
    return connected_components(m, directed=False)[1]


def analyze(sectors: gpd.GeoDataFrame, extents: Extents, contingents: pd.DataFrame | None = None, *,
            min_area_km2: float = DEFAULT_MIN_AREA_KM2) -> Analysis:
    """Analyse a plan's coverage.

    Parameters
    ----------
    sectors : the canonical sector frame from :func:`coverage.ingest.read_sectors` (EPSG:4326,
        columns ``sector_id``, ``layer``, ``contingents`` (tuples, lead first), ``floor_ft``,
        ``ceiling_ft``).
    extents : the extent of each layer (:mod:`coverage.domains`).
    contingents : the registry (``code``, ``name``, ``colour``); ``None`` skips the unknown/idle checks.
    min_area_km2 : gap and overlap pieces smaller than this are not listed (totals stay exact).

    Returns
    -------
    Analysis

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from coverage.domains import Extents
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
    for layer in LAYERS:
        if layer not in extents.layers or extents.layers[layer].is_empty:
            raise AnalysisError(f"the {layer} extent is missing or empty; give it in the extents file")
    ob_codes, ob_names, ob_geoms, ob_tree = _projected_oblasts(0)
    sectors = sectors.reset_index(drop=True)
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
    for layer in LAYERS:
        extent = _projected_extent(extents.key(), layer, shapely.to_wkb(extents.layers[layer]))
        idx = np.flatnonzero(layers_col == layer)
        faces, pts, in_ext, n_sec, p_i, s_loc, ob, areas = _arrangement(
            extents.key(), layer, sectors.geometry.values[idx], extent, ob_geoms, ob_tree)
        s_i = idx[s_loc]
        nf = len(faces)
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
            d_cnt = np.bincount(np.unique(p_i[asg] * C + lead[asg]) // C, minlength=nf)
            conflict |= d_cnt >= 2
            self_ov |= a_cnt > d_cnt
            band_cov[:, b] = a_cnt > 0
        covered = np.bincount(p_i[lead >= 0], minlength=nf) > 0
        F["layer"].append(np.full(nf, layer, dtype=object))
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
        F["geometry"].append(faces)
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

    faces = {k: np.concatenate(v) for k, v in F.items()}
    p_all = np.concatenate(pair_face)
    s_all = np.concatenate(pair_sector)
    nf = len(faces["area_km2"])
    area = faces["area_km2"]
    in_ext = faces["in_extent"]
    # contingents present on each face (of its assigned sectors): unique (face, code) pairs
    pf, cv = _expand(c_ptr, c_val, s_all)
    fc = np.unique(p_all[pf] * C + cv)
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
    faces["oblast"] = np.array([ob_codes[i] if i >= 0 else None for i in faces["oblast_i"]], dtype=object)

    # contingent summaries over all four layers
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
    used = sorted({c for cs in conts for c in cs})
    cont_sum: dict = {}
    for c in codes:
        i = code_id[c]
        cont_sum[c] = {"assigned_km2": float(assigned[i]), "exclusive_km2": float(exclusive[i]),
                       "shared_km2": float(assigned[i] - exclusive[i]),
                       "shares_with": sorted(codes[j] for j in shares.get(i, ())),
                       "lead_sectors": [], "supporting_sectors": [],
                       "known": (c in registry) if contingents is not None else True}
    for i, cs in enumerate(conts):
        for j, c in enumerate(cs):
            cont_sum[c]["lead_sectors" if j == 0 else "supporting_sectors"].append(str(ids[i]))

    # oblast x layer
    oblasts: dict = {}
    li = np.array([LAYERS.index(x) for x in faces["layer"]]) if nf else np.zeros(0, int)
    m = in_ext & (faces["oblast_i"] >= 0)
    key = faces["oblast_i"][m] * len(LAYERS) + li[m]
    ext_by = np.bincount(key, weights=area[m], minlength=len(ob_codes) * len(LAYERS))
    cov_by = np.bincount(key, weights=area[m] * faces["covered"][m], minlength=len(ob_codes) * len(LAYERS))
    for k in np.flatnonzero(ext_by > 0):
        o, layer = ob_codes[k // len(LAYERS)], LAYERS[k % len(LAYERS)]
        e, cv_ = float(ext_by[k]), float(cov_by[k])
        oblasts.setdefault(o, {"name": ob_names[k // len(LAYERS)], "layers": {}})["layers"][layer] = {
            "extent_km2": e, "covered_km2": cv_, "gap_km2": e - cv_, "covered_pct": 100.0 * cv_ / e}

    # per sector: area inside and outside the extent
    w = area[p_all]
    s_in = np.bincount(s_all, weights=w * in_ext[p_all], minlength=n)
    s_out = np.bincount(s_all, weights=w * ~in_ext[p_all], minlength=n)
    sector_info = {str(ids[i]): {"layer": layers_col[i], "contingents": list(conts[i]),
                                 "area_km2": float(s_in[i]), "outside_km2": float(s_out[i])} for i in range(n)}

    # pieces: gaps keyed by the unassigned sectors they lie in, overlaps by their sector set
    ctx = (faces, _member_keys(ps, ss, nf), ids, min_area_km2, ob_codes, ob_tree)
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
            band["gaps"], _, band["filtered"] = _piece_rows(sel_b, faces, None, ids, min_area_km2, ob_codes, ob_tree)
            for g in band["gaps"]:
                g.pop("sectors", None)
    faces.pop("oblast_i")
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


def _member_keys(ps: np.ndarray, ss: np.ndarray, nf: int) -> tuple[np.ndarray, list]:
    """An integer per face naming its exact set of covering sectors, and the sets (key 0 = none)."""
    keys = np.zeros(nf, dtype=np.int64)
    sets: list = [np.zeros(0, dtype=np.int64)]
    if len(ps) == 0:
        return keys, sets
    cuts = np.searchsorted(ps, np.arange(1, nf))
    lookup: dict[bytes, int] = {}
    for f, chunk in enumerate(np.split(ss, cuts)):
        if len(chunk):
            k = lookup.get(chunk.tobytes())
            if k is None:
                k = lookup[chunk.tobytes()] = len(sets)
                sets.append(chunk)
            keys[f] = k
    return keys, sets


def _piece_rows(sel: np.ndarray, faces: dict, members_by_key, ids, min_area: float, ob_codes, ob_tree):
    """Connected pieces of the selected faces (per layer and member set), largest first.

    Returns ``(rows, members, filtered)``: rows and face indices of the pieces of at least
    ``min_area`` km², and the count and area of the smaller ones.
    """
    empty = {"count": 0, "area_km2": 0.0}
    if len(sel) == 0:
        return [], [], empty
    member_key, key_sets = members_by_key if members_by_key is not None else (None, None)
    layer_i = np.unique(faces["layer"][sel], return_inverse=True)[1]
    keys = layer_i.astype(np.int64) * (1 << 40) + (member_key[sel] if member_key is not None else 0)
    comp = _components(faces["geometry"][sel], keys)
    ncomp = int(comp.max()) + 1
    area = faces["area_km2"][sel]
    piece_area = np.bincount(comp, weights=area, minlength=ncomp)
    listed = piece_area >= min_area
    filtered = {"count": int((~listed).sum()), "area_km2": float(piece_area[~listed].sum())}
    keep = np.flatnonzero(listed[comp])  # faces of listed pieces
    if len(keep) == 0:
        return [], [], filtered
    comp_k, area_k, sel_k = comp[keep], area[keep], sel[keep]
    cent = shapely.centroid(faces["geometry"][sel_k])
    cx = np.bincount(comp_k, weights=shapely.get_x(cent) * area_k, minlength=ncomp)
    cy = np.bincount(comp_k, weights=shapely.get_y(cent) * area_k, minlength=ncomp)
    pieces = np.flatnonzero(listed)
    pieces = pieces[np.argsort(-piece_area[pieces], kind="stable")]
    cx, cy = cx[pieces] / piece_area[pieces], cy[pieces] / piece_area[pieces]
    cent_xy = shapely.get_coordinates(to_wgs84(shapely.points(cx, cy)))
    # faces of each piece, and the area each oblast holds of it
    order = np.argsort(comp_k, kind="stable")
    bounds = np.searchsorted(comp_k[order], np.arange(ncomp + 1))
    ob_i = faces["oblast_i"][sel_k]
    rows, members = [], []
    sea = []
    for r, c in enumerate(pieces):
        mem = order[bounds[c]:bounds[c + 1]]
        a = float(piece_area[c])
        ob_area = np.bincount(ob_i[mem][ob_i[mem] >= 0], weights=area_k[mem][ob_i[mem] >= 0],
                              minlength=len(ob_codes))
        floor = max(min_area, 0.001 * a)
        obs = [ob_codes[k] for k in np.argsort(-ob_area, kind="stable") if ob_area[k] >= floor and ob_area[k] > 0]
        at_sea = not ob_area.any()
        first = sel_k[mem[0]]
        row = {"domain": str(faces["layer"][first]), "area_km2": a, "oblasts": obs, "at_sea": bool(at_sea),
               "centroid": [round(float(cent_xy[r, 0]), 5), round(float(cent_xy[r, 1]), 5)]}
        if member_key is not None:
            row["sectors"] = sorted(str(ids[s]) for s in key_sets[member_key[first]])
        if at_sea:
            sea.append(r)
        rows.append(row)
        members.append(sel_k[mem])
    if sea:  # a piece at sea is located by the nearest unit
        inp, near = ob_tree.query_nearest(shapely.points(cx[sea], cy[sea]))
        for i, t in zip(inp[::-1], near[::-1]):  # reversed so the first match wins
            rows[sea[i]]["oblasts"] = [ob_codes[int(t)]]
    return rows, members, filtered


def analyze_sample(min_area_km2: float = DEFAULT_MIN_AREA_KM2) -> Analysis:
    """Analyse the bundled NOTIONAL sample plan against its own extents."""
    from . import geodata
    from .domains import national_extents, sample_extents
    from .ingest import load_sectors
    from .schema import read_contingents

    reg = read_contingents(geodata.sample_contingents_path())
    res = load_sectors(geodata.sample_sectors_path(), registry=set(reg["code"]), strict=True)
    return analyze(res.sectors, national_extents().replace(sample_extents()), reg, min_area_km2=min_area_km2)


def write_layers(result: Analysis, out_dir) -> list:
    """Write gaps, overlaps and the partition as GeoJSON files and one GeoPackage (for QGIS).

    Returns the paths written: ``gaps.geojson``, ``overlaps.geojson``, ``partition.geojson``,
    ``analysis.gpkg`` (layers ``gaps``, ``overlaps``, ``partition``) and ``summary.json``.
    """
    import json
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    layers = {"gaps": result.gap_pieces, "overlaps": result.overlap_pieces, "partition": result.faces}
    written = []
    gpkg = out / "analysis.gpkg"
    gpkg.unlink(missing_ok=True)
    for name, gdf in layers.items():
        gdf = gdf.copy()
        if len(gdf) == 0:
            gdf = gpd.GeoDataFrame({"domain": pd.Series([], dtype=str)}, geometry=gpd.GeoSeries([], crs=4326))
        path = out / f"{name}.geojson"
        path.unlink(missing_ok=True)
        gdf.to_file(path, driver="GeoJSON")
        gdf.to_file(gpkg, layer=name, driver="GPKG")
        written.append(path)
    written.append(gpkg)
    summary = out / "summary.json"
    summary.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=float), encoding="utf-8")
    written.append(summary)
    return written
