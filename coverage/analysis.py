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
from functools import lru_cache

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
    """The result of :func:`analyze`: the partition per layer and its summaries.

    ``faces`` is a GeoDataFrame (EPSG:4326) of every face of every layer's partition, with
    ``layer``, ``area_km2``, ``in_extent``, ``oblast``, ``sectors`` (ids), ``contingents``
    (distinct codes), ``depth`` (distinct contingents), ``n_sectors`` and the boolean classes
    ``covered``, ``gap``, ``unassigned``, ``overlap``, ``conflict``, ``self_overlap``, ``outside``.
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
    faces: gpd.GeoDataFrame = field(repr=False)
    gap_pieces: gpd.GeoDataFrame = field(repr=False)
    overlap_pieces: gpd.GeoDataFrame = field(repr=False)

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


def _bands(floors, ceilings) -> list[tuple[float, float]]:
    edges = sorted({0.0} | {float(v) for v in list(floors) + list(ceilings) if v is not None and not math.isnan(v)})
    if len(edges) == 1:
        return [(0.0, _INF)]
    bands = list(zip(edges[:-1], edges[1:]))
    if any(c is None or math.isnan(c) for c in ceilings):
        bands.append((edges[-1], _INF))
    return bands


def _layer_faces(geoms, extent, oblast_geoms, oblast_tree):
    """Node everything, polygonise, return faces and their interior points."""
    env = shapely.envelope(shapely.union_all(np.concatenate([[extent], geoms])) if len(geoms) else extent)
    ob_idx = oblast_tree.query(env, predicate="intersects")
    lines = np.concatenate([
        shapely.boundary(geoms) if len(geoms) else np.array([], dtype=object),
        [shapely.boundary(extent)],
        shapely.boundary(np.asarray(oblast_geoms, dtype=object)[ob_idx]) if len(ob_idx) else np.array([], dtype=object),
    ])
    lines = lines[~shapely.is_empty(lines)]
    noded = shapely.union_all(lines)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.area(faces) > 0]
    return faces, shapely.point_on_surface(faces)


def analyze(sectors: gpd.GeoDataFrame, extents: Extents, contingents: pd.DataFrame | None = None, *,
            min_area_km2: float = DEFAULT_MIN_AREA_KM2) -> Analysis:
    """Analyse a plan's coverage.

    Parameters
    ----------
    sectors : the canonical sector frame from :func:`coverage.ingest.read_sectors` (EPSG:4326,
        columns ``sector_id``, ``name``, ``layer``, ``contingents`` (tuples, lead first),
        ``floor_ft``, ``ceiling_ft``).
    extents : the extent of each layer (:mod:`coverage.domains`).
    contingents : the registry (``code``, ``name``, ``colour``); ``None`` skips the unknown/idle checks.
    min_area_km2 : gap and overlap pieces smaller than this are not listed (totals stay exact).

    Returns
    -------
    Analysis
    """
    if min_area_km2 < 0:
        raise AnalysisError("min_area_km2 must be zero or more")
    for layer in LAYERS:
        if layer not in extents.layers or extents.layers[layer].is_empty:
            raise AnalysisError(f"the {layer} extent is missing or empty; give it in the extents file")
    ob_codes, ob_names, ob_geoms, ob_tree = _projected_oblasts(0)
    sectors = sectors.reset_index(drop=True)
    ids = np.asarray(sectors["sector_id"], dtype=object)
    conts = list(sectors["contingents"])
    layers_col = np.asarray(sectors["layer"], dtype=object)
    floors = np.asarray(sectors["floor_ft"], dtype=float) if "floor_ft" in sectors else np.full(len(sectors), np.nan)
    ceils = np.asarray(sectors["ceiling_ft"], dtype=float) if "ceiling_ft" in sectors else np.full(len(sectors), np.nan)
    geoms_all = to_laea(sectors.geometry.values) if len(sectors) else np.array([], dtype=object)

    face_rows: list[dict] = []
    face_geoms: list = []
    domains: dict = {}
    air_bands: list = []
    sector_area = defaultdict(float)
    sector_outside = defaultdict(float)
    for layer in LAYERS:
        ext_wgs = extents.layers[layer]
        extent = _projected_extent(extents.key(), layer, shapely.to_wkb(ext_wgs))
        idx = np.flatnonzero(layers_col == layer)
        geoms = geoms_all[idx]
        faces, pts = _layer_faces(geoms, extent, ob_geoms, ob_tree)
        areas = shapely.area(faces) / 1e6
        in_ext = shapely.contains(extent, pts)
        members: list[list[int]] = [[] for _ in range(len(faces))]
        if len(geoms):
            p_i, s_i = shapely.STRtree(geoms).query(pts, predicate="within")
            for p, s in zip(p_i, s_i):
                members[p].append(int(idx[s]))
        f_ob = np.full(len(faces), -1)
        o_p, o_i = ob_tree.query(pts, predicate="within")
        f_ob[o_p] = o_i
        bands = _bands(floors[idx], ceils[idx]) if layer == "air" else [(0.0, _INF)]
        band_cov = np.zeros((len(faces), len(bands)), dtype=bool)
        for f in range(len(faces)):
            mem = members[f]
            if not in_ext[f] and not mem:
                continue
            assigned = [s for s in mem if conts[s]]
            cset = sorted({c for s in assigned for c in conts[s]})
            overlap = conflict = self_ov = False
            for b, (lo, hi) in enumerate(bands):
                if layer == "air":
                    inb = [s for s in mem if (0 if math.isnan(floors[s]) else floors[s]) <= lo
                           and (_INF if math.isnan(ceils[s]) else ceils[s]) >= hi]
                else:
                    inb = mem
                leads = [conts[s][0] for s in inb if conts[s]]
                band_cov[f, b] = bool(leads)
                if len(inb) >= 2:
                    overlap = True
                    conflict |= len(set(leads)) >= 2
                    self_ov |= len(leads) != len(set(leads))
            covered = bool(assigned)
            a = float(areas[f])
            for s in mem:
                if in_ext[f]:
                    sector_area[s] += a
                else:
                    sector_outside[s] += a
            face_rows.append({
                "layer": layer, "area_km2": a, "in_extent": bool(in_ext[f]),
                "oblast": ob_codes[f_ob[f]] if f_ob[f] >= 0 else None,
                "sectors": tuple(sorted(str(ids[s]) for s in mem)),
                "contingents": tuple(cset), "depth": len(cset), "n_sectors": len(mem),
                "covered": bool(in_ext[f] and covered), "gap": bool(in_ext[f] and not covered),
                "unassigned": bool(in_ext[f] and not covered and mem),
                "overlap": bool(in_ext[f] and overlap), "conflict": bool(in_ext[f] and conflict),
                "self_overlap": bool(in_ext[f] and self_ov), "outside": bool(not in_ext[f]),
                "_bands": band_cov[f].copy(),
            })
            face_geoms.append(faces[f])
        rows = [r for r in face_rows if r["layer"] == layer]
        ext_km2 = sum(r["area_km2"] for r in rows if r["in_extent"])
        if ext_km2 <= 0:
            raise AnalysisError(f"the {layer} extent has no area")

        def tot(key, rows=rows):
            return float(sum(r["area_km2"] for r in rows if r[key]))

        covered_km2 = tot("covered")
        domains[layer] = {
            "extent_km2": ext_km2, "covered_km2": covered_km2, "gap_km2": tot("gap"),
            "unassigned_km2": tot("unassigned"), "overlap_km2": tot("overlap"),
            "conflict_km2": tot("conflict"), "self_overlap_km2": tot("self_overlap"),
            "outside_km2": tot("outside"), "covered_pct": 100.0 * covered_km2 / ext_km2,
            "sectors": int(len(idx)),
            "unassigned_sectors": int(sum(1 for s in idx if not conts[s])),
            "extent_source": extents.source.get(layer, ""),
        }
        if layer == "air":
            for b, (lo, hi) in enumerate(bands):
                cov = sum(r["area_km2"] for r in rows if r["in_extent"] and r["_bands"][b])
                air_bands.append({"floor_ft": lo, "ceiling_ft": None if hi == _INF else hi,
                                  "covered_km2": cov, "gap_km2": ext_km2 - cov,
                                  "covered_pct": 100.0 * cov / ext_km2})

    faces_gdf = gpd.GeoDataFrame([{k: v for k, v in r.items() if k != "_bands"} for r in face_rows],
                                 geometry=list(face_geoms), crs=LAEA_UKRAINE)
    band_matrix = [r["_bands"] for r in face_rows]

    gap_pieces, gaps, gap_filtered = _pieces(faces_gdf, faces_gdf["gap"].to_numpy(), "sectors", min_area_km2,
                                             ob_codes, ob_geoms, ob_tree)
    ov_mask = faces_gdf["overlap"].to_numpy()
    ov_pieces, overlaps, ov_filtered = _pieces(faces_gdf, ov_mask, "sectors", min_area_km2,
                                               ob_codes, ob_geoms, ob_tree)
    for band, (lo_hi) in enumerate(air_bands):
        mask = np.array([r["layer"] == "air" and r["in_extent"] and not band_matrix[i][band]
                         for i, r in enumerate(face_rows)], dtype=bool) if face_rows else np.zeros(0, bool)
        _, band_gaps, band_filtered = _pieces(faces_gdf, mask, None, min_area_km2, ob_codes, ob_geoms, ob_tree)
        for g in band_gaps:
            g.pop("sectors", None)
        lo_hi["gaps"] = band_gaps
        lo_hi["filtered"] = band_filtered

    # conflict/contingents of overlap pieces
    sector_lead = {str(ids[i]): (conts[i][0] if conts[i] else None) for i in range(len(ids))}
    sector_conts = {str(ids[i]): conts[i] for i in range(len(ids))}
    for g in gaps:
        g["unassigned"] = bool(g["sectors"])
    if len(gap_pieces):
        gap_pieces["unassigned"] = gap_pieces["sectors"].astype(bool)
    for o in overlaps:
        o["contingents"] = sorted({c for s in o["sectors"] for c in sector_conts[s]})
        leads = [sector_lead[s] for s in o["sectors"] if sector_lead[s]]
        o["conflict"] = len(set(leads)) >= 2
        o["self_overlap"] = len(leads) != len(set(leads))
    if len(ov_pieces):
        ov_pieces["contingents"] = [";".join(sorted({c for s in secs.split(";") for c in sector_conts[s]}))
                                    for secs in ov_pieces["sectors"]]
        ov_pieces["conflict"] = [len({sector_lead[s] for s in secs.split(";") if sector_lead[s]}) >= 2
                                 for secs in ov_pieces["sectors"]]

    # contingents
    registry = list(contingents["code"]) if contingents is not None else []
    used = sorted({c for cs in conts for c in cs})
    cont_sum: dict = {}
    in_ext_rows = faces_gdf[faces_gdf["in_extent"]]
    for c in sorted(set(used) | set(registry)):
        cont_sum[c] = {"assigned_km2": 0.0, "exclusive_km2": 0.0, "shared_km2": 0.0, "shares_with": set(),
                       "lead_sectors": [], "supporting_sectors": [],
                       "known": (c in registry) if contingents is not None else True}
    for cs, a in zip(in_ext_rows["contingents"], in_ext_rows["area_km2"]):
        for c in cs:
            d = cont_sum[c]
            d["assigned_km2"] += a
            if len(cs) == 1:
                d["exclusive_km2"] += a
            else:
                d["shared_km2"] += a
                d["shares_with"].update(x for x in cs if x != c)
    for i, cs in enumerate(conts):
        for j, c in enumerate(cs):
            cont_sum[c]["lead_sectors" if j == 0 else "supporting_sectors"].append(str(ids[i]))
    for d in cont_sum.values():
        d["shares_with"] = sorted(d["shares_with"])

    # oblasts x layers
    oblasts: dict = {}
    grp = in_ext_rows[in_ext_rows["oblast"].notna()].groupby(["oblast", "layer"])
    for (code, layer), g in grp:
        o = oblasts.setdefault(code, {"name": ob_names[ob_codes.index(code)], "layers": {}})
        ext = float(g["area_km2"].sum())
        cov = float(g.loc[g["covered"], "area_km2"].sum())
        o["layers"][layer] = {"extent_km2": ext, "covered_km2": cov, "gap_km2": ext - cov,
                              "covered_pct": 100.0 * cov / ext if ext else 0.0}

    sector_info = {}
    for i in range(len(ids)):
        sector_info[str(ids[i])] = {"layer": layers_col[i], "contingents": list(conts[i]),
                                    "area_km2": sector_area.get(i, 0.0),
                                    "outside_km2": sector_outside.get(i, 0.0)}

    faces_gdf = faces_gdf.set_geometry(to_wgs84(faces_gdf.geometry.values)).set_crs(4326, allow_override=True)
    faces_gdf["sectors"] = [";".join(s) for s in faces_gdf["sectors"]]
    faces_gdf["contingents"] = [";".join(s) for s in faces_gdf["contingents"]]
    return Analysis(
        domains=domains, contingents=cont_sum,
        unassigned_sectors=[str(ids[i]) for i in range(len(ids)) if not conts[i]],
        unknown_contingents=sorted(c for c in used if c not in registry) if contingents is not None else [],
        idle_contingents=sorted(c for c in registry if c not in used),
        gaps=gaps, overlaps=overlaps, oblasts=dict(sorted(oblasts.items())), air_bands=air_bands,
        sectors=sector_info,
        filtered={"gaps": gap_filtered, "overlaps": ov_filtered},
        min_area_km2=min_area_km2, faces=faces_gdf, gap_pieces=gap_pieces, overlap_pieces=ov_pieces,
    )


def _pieces(faces: gpd.GeoDataFrame, mask: np.ndarray, group: str | None, min_area: float,
            ob_codes, ob_geoms, ob_tree):
    """Dissolve selected faces into connected pieces (per layer, and per ``group`` value)."""
    rows, geoms = [], []
    sel = faces[mask]
    if len(sel):
        keys = ["layer"] + ([group] if group else [])
        for key, g in sel.groupby(keys, sort=False):
            merged = shapely.coverage_union_all(g.geometry.values)
            parts = shapely.get_parts(merged)
            pts = shapely.point_on_surface(g.geometry.values)
            tree = shapely.STRtree(parts)
            f_i, p_i = tree.query(pts, predicate="within")
            ob_area: list[dict] = [defaultdict(float) for _ in parts]
            fa = g["area_km2"].to_numpy()
            fo = g["oblast"].to_numpy()
            for f, p in zip(f_i, p_i):
                if isinstance(fo[f], str):
                    ob_area[p][fo[f]] += fa[f]
            for p, part in enumerate(parts):
                a = float(shapely.area(part) / 1e6)
                # list the units holding a real share of the piece, not digitising slivers
                floor = max(min_area, 0.001 * a)
                obs = sorted((k for k, v in ob_area[p].items() if v >= floor), key=lambda k: -ob_area[p][k])
                at_sea = not obs
                if at_sea:
                    obs = [ob_codes[int(ob_tree.query_nearest(part)[0])]]
                row = {"domain": key[0] if isinstance(key, tuple) else key, "area_km2": a,
                       "oblasts": obs, "at_sea": at_sea}
                if group:
                    row[group] = list(key[1])
                rows.append(row)
                geoms.append(part)
    order = sorted(range(len(rows)), key=lambda i: -rows[i]["area_km2"])
    rows = [rows[i] for i in order]
    geoms = [geoms[i] for i in order]
    cent = to_wgs84(shapely.centroid(np.asarray(geoms, dtype=object))) if geoms else []
    for r, c in zip(rows, cent):
        r["centroid"] = [round(c.x, 5), round(c.y, 5)]
    listed = [r for r in rows if r["area_km2"] >= min_area]
    small = [r for r in rows if r["area_km2"] < min_area]
    gdf = gpd.GeoDataFrame(
        [{k: (";".join(v) if isinstance(v, list) and k != "centroid" else v) for k, v in r.items()
          if k != "centroid"} for r in rows],
        geometry=to_wgs84(np.asarray(geoms, dtype=object)) if geoms else [], crs=4326)
    return gdf, listed, {"count": len(small), "area_km2": float(sum(r["area_km2"] for r in small))}


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
