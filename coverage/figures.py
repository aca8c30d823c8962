"""Plotly figures shared by the dashboard and the exports (one source of figures).

The map uses ``Choroplethmap``/``Scattermap`` traces on plotly's ``white-bg`` style: no tile server, no
token. Text labels are drawn as polygons (``geodata/labels.geojson``) because MapLibre would fetch text
glyphs from the internet. Attribute text shown on hover is HTML-escaped here, once.
"""
from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import orjson
import shapely

from . import geodata
from .colours import FILL_OPACITY, as_filled
from .engine.sensors import sensor_layer
from .text import plotly_text

GAP_FILL = "#ff00ff"       # conspicuous, not the hostile red; outlined in black
GAP_LINE = "#000000"
OVERLAP_RAMP = {2: "rgba(40,40,40,0.35)", 3: "rgba(20,20,20,0.55)", 4: "rgba(0,0,0,0.75)"}
UNASSIGNED = "#9e9e9e"
UNKNOWN = "#666666"
LAYER_TITLES = {"air": "Air", "sea": "Sea", "land": "Land", "monitoring": "Monitoring"}
DISPLAY_TOLERANCE = 0.003  # degrees (~300 m): invisible at the national zoom
UKRAINE_VIEW = {"center": {"lon": 31.3, "lat": 48.6}, "zoom": 4.7}


@dataclass
class MapView:
    """What the user sees: the domain, layers, band, language and the map extent."""

    domain: str = "land"
    layers: tuple = ("zones", "gaps", "overlaps", "labels")
    band: int | None = None          # index into analysis.air_bands, air only
    lang: str = "en"
    center: dict = field(default_factory=lambda: dict(UKRAINE_VIEW["center"]))
    zoom: float = UKRAINE_VIEW["zoom"]
    withdrawn: tuple = ()
    #: air sensors are drawn for targets at this altitude (feet above the surface)
    sensor_altitude_ft: float = 0.0


#: every layer a view can show (``sensors`` and ``unwatched`` only draw something when the plan has sensors)
VIEW_LAYERS = ("zones", "gaps", "overlaps", "labels", "sensors", "unwatched")
DEFAULT_LAYERS = ("zones", "gaps", "overlaps", "labels")
UNWATCHED_FILL = "#e66100"   # orange: not the gap magenta, not a contingent colour
FOOTPRINT_LINE = "#004d40"
RANGE_RING = "#6f6f6f"

DISPLAY_GRID = 1e-4  # degrees (~10 m): display coordinates are snapped to this grid


def _display_one(g, tolerance: float):
    """One geometry simplified and snapped for display; never raises (the fallbacks: the geometry
    made valid first, then its coordinates merely rounded, then the geometry as it is)."""
    if g is None:
        return None
    from .engine.geodesy import polygonal

    for attempt in (lambda: g, lambda: polygonal(g) if shapely.get_type_id(g) in (3, 6) else shapely.make_valid(g)):
        try:
            out = attempt()
            if tolerance:
                out = shapely.simplify(out, tolerance, preserve_topology=True)
            return shapely.set_precision(out, DISPLAY_GRID)
        except Exception:  # noqa: BLE001 - GEOS topology errors above all; the next attempt is safer
            continue
    try:
        return shapely.transform(g, lambda xy: np.round(xy, 4))
    except Exception:  # noqa: BLE001
        return g


def _display_geoms(geoms, tolerance: float = DISPLAY_TOLERANCE) -> np.ndarray:
    """Geometries simplified (``tolerance`` degrees, topology kept) and snapped to the display grid.

    Done for all at once; if GEOS refuses one of them (e.g. ``TopologyException`` from
    ``set_precision`` on an invalid input), each geometry is done on its own with safe fallbacks,
    so a map is always drawn.
    """
    geoms = np.asarray(geoms, dtype=object)
    try:
        out = shapely.simplify(geoms, tolerance, preserve_topology=True) if tolerance else geoms
        return shapely.set_precision(out, DISPLAY_GRID)
    except Exception:  # noqa: BLE001 - see _display_one
        return np.array([_display_one(g, tolerance) for g in geoms], dtype=object)


def _each_feature(geoms, ids) -> list:
    """A GeoJSON feature per display geometry, ``None`` for a missing or empty one (positions kept, so a caller can
    cache them once per geometry set and pick any subset: the zones of a what-if)."""
    geoms = np.asarray(geoms, dtype=object)
    out: list = [None] * len(geoms)
    keep = [k for k, g in enumerate(geoms) if g is not None and not g.is_empty]
    if keep:
        ids = list(ids)
        for k, text in zip(keep, shapely.to_geojson(geoms[keep])):
            out[k] = {"type": "Feature", "id": str(ids[k]), "properties": {}, "geometry": orjson.loads(text)}
    return out




#: the GeoJSON geometry of a display geometry, per geometry object: a what-if's gaps and overlaps are mostly the
#: very objects of the plan's (``Analysis`` shares dissolved groups across what-ifs), simplified once
_SHOWN: "OrderedDict[tuple, tuple]" = OrderedDict()
_SHOWN_LOCK = threading.Lock()
_SHOWN_SIZE = 16384


def _shown_each(geoms, tolerance: float) -> list:
    geoms = np.asarray(geoms, dtype=object)
    out: list = [None] * len(geoms)
    miss = []
    with _SHOWN_LOCK:
        for k, g in enumerate(geoms):
            hit = _SHOWN.get((id(g), tolerance))
            if hit is not None and hit[0] is g:
                _SHOWN.move_to_end((id(g), tolerance))
                out[k] = hit[1]
            else:
                miss.append(k)
    if miss:
        feats = _each_feature(_display_geoms(geoms[miss], tolerance), range(len(miss)))
        with _SHOWN_LOCK:
            for k, f in zip(miss, feats):
                out[k] = f["geometry"] if f is not None else None
                _SHOWN[(id(geoms[k]), tolerance)] = (geoms[k], out[k])  # holding the geometry keeps its id unique
            while len(_SHOWN) > _SHOWN_SIZE:
                _SHOWN.popitem(last=False)
    return out


def _round_geojson(geoms, ids, tolerance: float = DISPLAY_TOLERANCE) -> dict:
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "id": str(i), "properties": {}, "geometry": g}
                         for i, g in zip(ids, _shown_each(geoms, tolerance)) if g is not None]}


def _display_coverage(geoms, tolerance: float = DISPLAY_TOLERANCE) -> np.ndarray:
    """Display geometries of one layer's sectors: when they form a valid polygonal coverage (edge-to-edge,
    no overlaps) they are simplified together, so a shared border stays shared (no slivers or hairline
    gaps between neighbours after simplification); otherwise each on its own (:func:`_display_geoms`).
    Never raises."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) > 1 and tolerance:
        try:
            if bool(shapely.coverage_is_valid(geoms)):
                out = shapely.set_precision(shapely.coverage_simplify(geoms, tolerance), DISPLAY_GRID)
                if not shapely.is_empty(out).any() or shapely.is_empty(geoms).any():
                    return out
        except Exception:  # noqa: BLE001 - not a coverage GEOS can simplify: each geometry on its own
            pass
    return _display_geoms(geoms, tolerance)


#: display work keyed by the identity of the geometries it was made from, kept across analyses: a what-if
#: (``Plan.without``) or a day (``Plan.on``) keeps the sectors' geometry objects, so their display geometry,
#: the extent outline and the monitoring outlines are made once per revision, not once per what-if
_BY_GEOMS: "OrderedDict[tuple, tuple]" = OrderedDict()
_BY_GEOMS_LOCK = threading.Lock()
_BY_GEOMS_SIZE = 64


def _by_geoms(kind, geoms, build):
    geoms = list(geoms)
    key = (kind, tuple(map(id, geoms)))
    with _BY_GEOMS_LOCK:
        hit = _BY_GEOMS.get(key)
        if hit is not None:
            _BY_GEOMS.move_to_end(key)
            return hit[1]
    value = build()
    with _BY_GEOMS_LOCK:
        _BY_GEOMS[key] = (geoms, value)  # holding the geometries keeps their ids from being reused
        while len(_BY_GEOMS) > _BY_GEOMS_SIZE:
            _BY_GEOMS.popitem(last=False)
    return value


# Traces are plain dicts: plotly's object validation costs more than everything else on a toggle.
def _fill(fc: dict, colour: str, *, opacity: float, line_colour: str | None = None, line_width: float = 0.5,
          name: str = "", hover: list[str] | None = None, legend: bool = False) -> dict:
    ids = [f["id"] for f in fc["features"]]
    return {"type": "choroplethmap", "geojson": fc, "locations": ids, "z": [1] * len(ids), "featureidkey": "id",
            "colorscale": [[0, colour], [1, colour]], "showscale": False, "marker": {
                "opacity": opacity, "line": {"color": line_colour or colour, "width": line_width}},
            "name": name, "hovertext": hover, "hoverinfo": "text" if hover else "skip", "showlegend": False}


def _outline(geoms, colour: str, width: float, name: str = "") -> dict:
    lon, lat = [], []
    geoms = np.asarray(geoms, dtype=object)
    try:
        simple = shapely.simplify(geoms, DISPLAY_TOLERANCE)
    except Exception:  # noqa: BLE001 - a line is drawn unsimplified rather than not at all
        simple = geoms
    for g in simple:
        for ring in shapely.get_rings(shapely.get_parts(g)):
            xy = shapely.get_coordinates(ring)
            lon += list(np.round(xy[:, 0], 4)) + [None]
            lat += list(np.round(xy[:, 1], 4)) + [None]
    return {"type": "scattermap", "lon": lon, "lat": lat, "mode": "lines", "line": {"color": colour, "width": width},
            "hoverinfo": "skip", "name": name, "showlegend": False}


def _legend_entry(name: str, colour: str) -> dict:
    # legend only: a legend row that puts no source or layer on the map (the dashboard's CSS keeps the row at
    # full strength; to_geo makes it an ordinary trace for the exports)
    return {"type": "scattermap", "lon": [None], "lat": [None], "mode": "markers", "name": name,
            "marker": {"size": 14, "color": colour, "line": {"color": "#555", "width": 1}}, "showlegend": True,
            "hoverinfo": "skip", "visible": "legendonly"}


@lru_cache(maxsize=2)
def _base_layers(lang: str) -> list:
    nb = geodata.neighbours()
    seas = geodata.seas()
    ts = geodata.territorial_sea()
    units = geodata.admin1()
    unit_geoms = shapely.coverage_simplify(units.geometry.values, 0.01)  # shared borders stay shared
    labels = geodata.labels()
    lab = labels[labels["lang"] == lang]
    name_col = "name_en" if lang == "en" else "name_uk"
    # one trace for the whole base map: every trace is a MapLibre source and layers the browser redraws on each
    # change, so four base fills cost four times one (bench_browser.py)
    return [_multi_fill([
        (_round_geojson(seas.geometry.values, seas.index, 0.01), "#dcebf7", "#dcebf7", 0, None),
        (_round_geojson(nb.geometry.values, nb.index, 0.01), "#ececec", "#b0b0b0", 0.5,
         [plotly_text(n) for n in nb[name_col]]),
        (_round_geojson(ts.geometry.values, ts.index, 0.005), "#b9d6ee", "#b9d6ee", 0, None),
        (_round_geojson(unit_geoms, units.index, 0), "#fbf8f1", "#9a9a9a", 0.8,
         [plotly_text(n) for n in units[name_col]]),
    ])], {**_fill(_round_geojson(lab.geometry.values, lab.index, 0), "#3c3c3c", opacity=0.85, line_width=0.6),
           "meta": "place-labels"}


def _multi_fill(parts: list[tuple], *, opacity: float = 1, prefix_ids: bool = True, name: str = "") -> dict:
    """One fill trace of several feature collections, each ``(fc, fill, line colour, line width, hover)`` with
    its own colours (a discrete colour scale over ``z``). Every trace is a MapLibre source the browser re-tiles
    on each change, so one trace of many groups redraws far faster than a trace per group (bench_browser.py).
    Feature ids are prefixed with the group's index unless they are unique already (``prefix_ids=False``)."""
    features, z, line_c, line_w, hover = [], [], [], [], []
    for k, (fc, fill, lc, lw, hv) in enumerate(parts):
        for i, f in enumerate(fc["features"]):
            features.append({**f, "id": f"{k}:{f['id']}"} if prefix_ids else f)
            z.append(k)
            line_c.append(lc)
            line_w.append(lw)
            hover.append(hv[i] if hv else "")
    n = len(parts)
    scale = ([[k / (n - 1), part[1]] for k, part in enumerate(parts)] if n > 1
             else [[0, parts[0][1]], [1, parts[0][1]]])
    return {"type": "choroplethmap", "geojson": {"type": "FeatureCollection", "features": features},
            "locations": [f["id"] for f in features], "z": z, "zmin": 0, "zmax": max(n - 1, 1), "featureidkey": "id",
            "colorscale": scale, "showscale": False,
            "marker": {"opacity": opacity, "line": {"color": line_c, "width": line_w}},
            "name": name, "hovertext": hover, "hoverinfo": "text" if any(hover) else "skip", "showlegend": False}


def sector_hover(sectors, analysis, registry_names: dict) -> list[str]:
    """Hover text per sector: id, name, contingents (lead marked), km² and notes — escaped."""
    out = []
    notes = sectors["notes"] if "notes" in sectors else [""] * len(sectors)
    # columns zipped, not iterrows: a row Series per sector costs more than the text (2,000 sectors: 0.2 s)
    for sid, name, kind, contingents, layer, floor_ft, ceiling_ft, note in zip(
            sectors["sector_id"], sectors["name"], sectors["kind"], sectors["contingents"], sectors["layer"],
            sectors["floor_ft"], sectors["ceiling_ft"], notes):
        codes = list(contingents)
        conts = ", ".join(f"{c} ★lead" if i == 0 else c for i, c in enumerate(codes)) or "UNASSIGNED"
        info = analysis.sectors.get(str(sid), {})
        alt = ""
        if layer == "air" and not (math.isnan(floor_ft) and math.isnan(ceiling_ft)):
            fl = 0 if math.isnan(floor_ft) else floor_ft
            ce = "∞" if math.isnan(ceiling_ft) else f"{ceiling_ft:,.0f}"
            alt = f"<br>altitude {fl:,.0f}–{ce} ft"
        out.append(f"<b>{plotly_text(str(sid))}</b> {plotly_text(str(name))}"
                   f"<br>{plotly_text(str(kind))} · {plotly_text(conts)}"
                   f"<br>{info.get('area_km2', 0):,.0f} km²{alt}"
                   + (f"<br><i>{plotly_text(str(note))[:160]}</i>" if str(note) else ""))
    return out


#: display geometry per analysis (by id), dropped when the analysis is garbage-collected; the engine's
#: result object stays free of figure code
_DISPLAY: dict[int, dict] = {}


def _memo(analysis, key, build, cap: int | None = None):
    """``build()`` once per analysis and key. With ``cap``, keys of one family (``key[0]``) share a bounded
    least-recently-used table of ``cap`` entries: what a view's altitude picks (sensor layers and their traces)
    never grows without bound, whatever altitudes are asked for."""
    cache = _DISPLAY.get(id(analysis))
    if cache is None:
        import weakref

        cache = _DISPLAY[id(analysis)] = {}
        weakref.finalize(analysis, _DISPLAY.pop, id(analysis), None)
    if cap is None:
        if key not in cache:
            cache[key] = build()
        return cache[key]
    with _MEMO_LOCK:
        table = cache.setdefault(("bounded", key[0]), OrderedDict())
        if key in table:
            table.move_to_end(key)
            return table[key]
    value = build()
    with _MEMO_LOCK:
        table[key] = value
        while len(table) > cap:
            table.popitem(last=False)
    return value


#: sensor layers (domain × target altitude) and their traces kept per analysis
SENSOR_LAYERS_PER_ANALYSIS = 6
_MEMO_LOCK = threading.Lock()


def _zone_traces(plan, analysis, layer: str):
    colours = dict(zip(plan.contingents["code"], plan.contingents["colour"]))
    names = dict(zip(plan.contingents["code"], plan.contingents["name"]))
    s = plan.sectors
    sel = s[s["layer"] == layer]
    traces, legend = [], []
    if len(sel):
        leads = [c[0] if c else "" for c in sel["contingents"]]
        hover = sector_hover(sel, analysis, names)
        monitoring = layer == "monitoring"
        geoms, ids = sel.geometry.values, [str(i) for i in sel["sector_id"]]
        # one display geometry per sector, whatever leads it (the same objects across what-ifs and days)
        shown = _by_geoms("zones", geoms, lambda: _display_coverage(geoms))
        # and its GeoJSON, made once too: a what-if of 10,000 sectors only regroups them by lead
        feats = _by_geoms(("zone-features", tuple(ids)), geoms, lambda: _each_feature(shown, ids))
        parts = []
        opacity, width = (FILL_OPACITY, 2.5) if monitoring else (FILL_OPACITY, 1.2)
        for lead in sorted(set(leads), key=lambda c: (c == "", c)):
            idx = [i for i, c in enumerate(leads) if c == lead]
            colour = colours.get(lead, UNKNOWN) if lead else UNASSIGNED
            fc = {"type": "FeatureCollection", "features": [feats[i] for i in idx if feats[i] is not None]}
            label = plotly_text(f"{lead} — {names.get(lead, 'not in registry')}") if lead else "Unassigned sector"
            parts.append((fc, colour, colour, width, [hover[i] for i in idx]))
            legend.append((label, as_filled(colour, opacity)))  # the swatch is the fill as the map shows it
        traces.append(_multi_fill(parts, opacity=opacity, prefix_ids=False, name="Zones"))
    if layer == "land":  # monitoring sectors as context: bold dark outlines, no fill
        mon = s[s["layer"] == "monitoring"]
        if len(mon):
            traces.append(_by_geoms("monitoring-outline", mon.geometry.values,
                                    lambda: _outline(mon.geometry.values, "#222222", 2.5, "Monitoring sector (outline)")))
            legend.append(("Monitoring sector (outline)", "#222222"))
    return traces, legend


def _overlap_traces(analysis, layer: str):
    ov = analysis.overlap_faces(layer)
    parts, legend = [], []
    for depth in (2, 3, 4):
        part = ov[(ov["n"] == depth) if depth < 4 else (ov["n"] >= 4)]
        if len(part):
            hover = [f"<b>Overlap</b> of {n} sectors: {plotly_text(secs)}<br>{plotly_text(conts)}"
                     f"<br>{'conflict (different leads)' if c else 'same lead'} · {a:,.1f} km²"
                     for n, secs, conts, c, a in zip(part["n"], part["sectors"], part["contingents"],
                                                     part["conflict"], part["area_km2"])]
            label = f"Overlap: {depth}{'+' if depth == 4 else ''} sectors"
            parts.append((_round_geojson(part.geometry.values, part.index), OVERLAP_RAMP[depth], "rgba(0,0,0,0.6)",
                          0.6, hover))
            legend.append((label, OVERLAP_RAMP[depth]))
    return ([_multi_fill(parts, prefix_ids=False, name="Overlaps")] if parts else []), legend


def _gap_traces(analysis, layer: str, band):
    gaps = analysis.gap_faces(layer, band)
    if not len(gaps):
        return [], []
    hover = [f"<b>GAP</b> {a:,.1f} km²" + (f"<br>inside unassigned {plotly_text(u)}" if u else "")
             for a, u in zip(gaps["area_km2"], gaps["sectors"])]
    return ([_fill(_round_geojson(gaps.geometry.values, gaps.index), GAP_FILL, opacity=0.75, line_colour=GAP_LINE,
                   line_width=1.5, name="Gap", hover=hover)], [("Gap (no contingent covers it)", GAP_FILL)])


def map_figure(plan, analysis, view: MapView, *, title: str | None = None, height: int | None = None) -> dict:
    """The coverage map of one layer as a plotly figure dict: base layers, zones by lead contingent, gaps,
    overlaps, extent, labels and a legend naming every colour. Display geometry is memoised per analysis."""
    base, labels = _base_layers(view.lang)
    layer = view.domain
    traces, legend = list(base), []
    if "zones" in view.layers:
        t, l = _memo(analysis, ("zones", layer), lambda: _zone_traces(plan, analysis, layer))
        traces += t
        legend += l
    if "overlaps" in view.layers:
        t, l = _memo(analysis, ("overlaps", layer), lambda: _overlap_traces(analysis, layer))
        traces += t
        legend += l
    if "gaps" in view.layers:
        t, l = _memo(analysis, ("gaps", layer, view.band), lambda: _gap_traces(analysis, layer, view.band))
        traces += t
        legend += l
    if ("sensors" in view.layers or "unwatched" in view.layers) and len(getattr(plan, "sensors", ())):
        alt = float(view.sensor_altitude_ft or 0.0)
        watch = sensor_view(plan, analysis, layer, alt)
        t, l = _memo(analysis, ("sensor-traces", layer, alt, "sensors" in view.layers, "unwatched" in view.layers),
                     lambda: _sensor_traces(plan, watch, "sensors" in view.layers, "unwatched" in view.layers),
                     cap=SENSOR_LAYERS_PER_ANALYSIS * 2)
        traces += t
        legend += l
    extent = plan.full_extents().layers[layer]
    traces.append(_by_geoms("extent", [extent], lambda: _outline([extent], "#444444", 1.2, "Extent")))
    legend.append((f"{LAYER_TITLES[layer]} extent (outline)", "#444444"))
    if plan.notional:
        traces.append(_line_of_contact())
        legend.append(("Notional line of contact", "#5b3a1a"))
    if "labels" in view.layers:
        traces.append(labels)
    legend += [("Ukraine, oblast boundaries", "#fbf8f1"), ("Territorial sea (12 NM)", "#b9d6ee"),
               ("Sea", "#dcebf7"), ("Neighbouring country", "#ececec")]
    traces += [_legend_entry(label, colour) for label, colour in legend]
    layout = {
        "map": {"style": "white-bg", "center": view.center, "zoom": view.zoom},
        "margin": {"l": 0, "r": 0, "t": 40 if title else 0, "b": 0},
        "legend": {"x": 0.995, "y": 0.01, "xanchor": "right", "yanchor": "bottom",
                   "bgcolor": "rgba(255,255,255,0.88)", "bordercolor": "#999", "borderwidth": 1,
                   "font": {"size": 11}, "itemclick": False, "itemdoubleclick": False},
        "uirevision": layer, "paper_bgcolor": "white",
    }
    if height:
        layout["height"] = height
    if title:
        layout["title"] = {"text": title, "x": 0.01}
    return {"data": traces, "layout": layout}


def sensor_view(plan, analysis, domain: str, altitude_ft: float = 0.0) -> dict | None:
    """The sensors' watched layer of a view (:func:`~ua_coverage.engine.sensors.sensor_layer`), memoised with the
    view's analysis: the map and the KPI card show the same numbers. None when the plan has no sensors."""
    if not len(getattr(plan, "sensors", ())):
        return None
    alt = float(altitude_ft or 0.0)
    return _memo(analysis, ("sensor-layer", domain, alt, len(plan.sensors)),
                 lambda: sensor_layer(plan.sensors, plan.full_extents(), domain, alt), cap=SENSOR_LAYERS_PER_ANALYSIS)


def sensor_hover(row: dict, note: str) -> str:
    """A sensor's hover: id, name, type, contingents, range, reach and what limits it (smooth earth)."""
    limit = (f"radar horizon {row['horizon_km']:,.1f} km (target {row['target_m']:,.0f} m)" if row["horizon_limited"]
             else "its range" if row["horizon_km"] is None else f"its range (horizon {row['horizon_km']:,.1f} km)")
    return (f"<b>{plotly_text(row['sensor_id'])}</b> {plotly_text(row['name'])}<br>"
            f"{plotly_text(row['type'] or 'sensor')} · {plotly_text(row['contingent'] or 'no contingent')}<br>"
            f"range {row['range_km']:,.1f} km · reach {row['reach_km']:,.1f} km, limited by {limit}<br>"
            f"<i>{plotly_text(note)}</i>")


def _sensor_traces(plan, watch: dict, show_sensors: bool, show_unwatched: bool):
    """The watched view of a domain: unwatched areas in their own style, each footprint outlined, the nominal range
    ring where the horizon cuts it short, and each sensor as a marker coloured by its lead contingent."""
    traces, legend = [], []
    alt = "" if watch["altitude_ft"] is None else f" at {watch['altitude_ft']:,.0f} ft"
    if show_unwatched and not watch["unwatched"].is_empty:
        # hatched, not filled: the zones' colours stay true beneath (a fill would tint every colour in the legend)
        hatch = _hatch(watch["unwatched"])
        hatch["name"] = "Unwatched"
        traces.append(hatch)
        edge = _outline([watch["unwatched"]], UNWATCHED_FILL, 1.4, "Unwatched (edge)")
        edge.update(hoverinfo="text", hovertext=(  # on its edge: the hatch lines themselves say nothing
            f"<b>Unwatched by sensors</b>{alt}: {watch['gap_km2']:,.0f} km² "
            f"({100 - watch['covered_pct']:.1f} % of the extent)<br><i>{watch['note']}</i>"))
        traces.append(edge)
        legend.append((f"Unwatched{alt} (hatched)", UNWATCHED_FILL))
    if show_sensors and watch["sensors"]:
        rings = [g for g in watch["range_rings"] if g is not None]
        if rings:
            traces.append(_outline(rings, RANGE_RING, 0.8, "Nominal range"))
            legend.append(("Nominal range (beyond the horizon)", RANGE_RING))
        shapes = [g for g in watch["footprints"] if not g.is_empty]
        if shapes:
            traces.append(_outline(shapes, FOOTPRINT_LINE, 1.6, "Sensor footprint"))
            legend.append((f"Sensor reach{alt} (smooth earth)", FOOTPRINT_LINE))
        colours = dict(zip(plan.contingents["code"], plan.contingents["colour"]))
        rows = watch["sensors"]
        leads = [(r["contingent"].split(";")[0] if r["contingent"] else "") for r in rows]
        traces.append({"type": "scattermap", "lon": [r["lon"] for r in rows], "lat": [r["lat"] for r in rows],
                       "mode": "markers", "name": "Sensors", "showlegend": False,
                       "marker": {"size": 11, "color": [colours.get(c, UNKNOWN) if c else UNASSIGNED for c in leads]},
                       "hovertext": [sensor_hover(r, watch["note"]) for r in rows], "hoverinfo": "text"})
        for lead in sorted(set(leads)):  # a marker's colour is its lead's: every colour is in the legend
            legend.append((f"Sensor, {lead or 'no'} lead", colours.get(lead, UNKNOWN) if lead else UNASSIGNED))
    return traces, legend


def _hatch(geom, spacing: float = 0.16) -> dict:
    """Diagonal lines ``spacing`` degrees apart clipped to ``geom``, as one line trace (a pattern the map and
    every export can draw)."""
    minx, miny, maxx, maxy = geom.bounds
    starts = np.arange(minx - (maxy - miny), maxx + spacing, spacing)
    lines = shapely.multilinestrings([[[x, miny], [x + (maxy - miny), maxy]] for x in starts])
    try:
        cut = shapely.intersection(lines, shapely.simplify(geom, DISPLAY_TOLERANCE))
    except Exception:  # noqa: BLE001 - an odd geometry is outlined only, never an error
        cut = shapely.MultiLineString()
    lon, lat = [], []
    for part in shapely.get_parts(cut):
        if part.geom_type != "LineString" or part.is_empty:
            continue
        xy = shapely.get_coordinates(part)
        lon += list(np.round(xy[:, 0], 4)) + [None]
        lat += list(np.round(xy[:, 1], 4)) + [None]
    return {"type": "scattermap", "lon": lon, "lat": lat, "mode": "lines",
            "line": {"color": UNWATCHED_FILL, "width": 1.1}, "hoverinfo": "skip", "showlegend": False}


@lru_cache(maxsize=1)
def _line_of_contact() -> dict:
    return _outline_line(geodata.line_of_contact().geometry.iloc[0], "#5b3a1a", 2.2)


def _outline_line(geom, colour: str, width: float) -> dict:
    xy = shapely.get_coordinates(geom)
    return {"type": "scattermap", "lon": list(np.round(xy[:, 0], 4)), "lat": list(np.round(xy[:, 1], 4)),
            "mode": "lines", "line": {"color": colour, "width": width}, "hoverinfo": "skip", "showlegend": False}


def zoom_to(bounds: tuple[float, float, float, float], width_px: int = 900, height_px: int = 650,
            margin: float = 1.6) -> dict:
    """Map center and zoom that fit lon/lat ``bounds`` (``margin`` times their size) into the map's pixels."""
    minx, miny, maxx, maxy = bounds
    span_x = max(maxx - minx, 0.02) * margin
    span_y = max(maxy - miny, 0.02) * margin / math.cos(math.radians((miny + maxy) / 2))
    zoom = min(math.log2(360 * width_px / 512 / span_x), math.log2(360 * height_px / 512 / span_y))
    return {"center": {"lon": (minx + maxx) / 2, "lat": (miny + maxy) / 2}, "zoom": max(min(zoom, 11), 3)}


#: how much room a domain's view leaves around its extent (which has an 8 % margin of its own)
FRAME_MARGIN = 1.12
#: the map legend's width in pixels (its longest entry, "Gap (no contingent covers it)", at 11 px)
LEGEND_PX = 220


def frame_extent(bounds: tuple[float, float, float, float], width_px: int, height_px: int) -> dict:
    """The dashboard's framing of a domain: its extent as large as the map allows, in the room left of the legend
    (which sits at the map's right edge), so the legend hides none of it and the place names are as large as
    they can be."""
    z = zoom_to(bounds, width_px - LEGEND_PX, height_px, margin=FRAME_MARGIN)
    z["center"]["lon"] += LEGEND_PX / 2 * 360 / (512 * 2 ** z["zoom"])
    return z


# -- the same figure on a geo subplot: SVG paths (vector PDF/SVG) that also work from file:// -------------
_GEO_TYPES = {"choroplethmap": "choropleth", "scattermap": "scattergeo"}


def empty_topojson() -> dict:
    """A world TopoJSON with no features: plotly's geo subplot insists on loading one, we draw our own base."""
    objs = {k: {"type": "GeometryCollection", "geometries": []}
            for k in ("coastlines", "land", "ocean", "lakes", "rivers", "countries", "subunits")}
    return {"type": "Topology", "objects": objs, "arcs": [], "transform": {"scale": [1, 1], "translate": [0, 0]}}


def to_geo(fig: dict, bounds: tuple[float, float, float, float], domain: dict | None = None) -> dict:
    """Convert a :func:`map_figure` dict to geo traces (Mercator) framed on lon/lat ``bounds``."""
    data = []
    for t in fig["data"]:
        t = dict(t)
        t["type"] = _GEO_TYPES.get(t["type"], t["type"])
        if t.get("visible") == "legendonly":  # a legend row on paper at full strength (nothing to draw)
            t["visible"] = True
        if t.get("meta") == "place-labels":  # on paper a name cut by the frame is worse than no name
            t = _labels_inside(t, bounds)
        if t["type"] == "choropleth":
            m = t.pop("marker")
            t["marker"] = {"line": m["line"], "opacity": m["opacity"]}
        data.append(t)
    layout = {k: v for k, v in fig["layout"].items() if k not in ("map", "uirevision", "height")}
    minx, miny, maxx, maxy = bounds
    layout["geo"] = {"visible": False, "projection": {"type": "mercator"}, "bgcolor": "white",
                     "lonaxis": {"range": [minx, maxx]}, "lataxis": {"range": [miny, maxy]},
                     **({"domain": domain} if domain else {})}
    return {"data": data, "layout": layout}


def _labels_inside(trace: dict, bounds) -> dict:
    """The place-label trace with only the names wholly inside ``bounds`` (lon/lat)."""
    minx, miny, maxx, maxy = bounds
    keep = []
    for f in trace["geojson"]["features"]:
        x0, y0, x1, y1 = shapely.from_geojson(json.dumps(f["geometry"])).bounds
        if x0 >= minx and x1 <= maxx and y0 >= miny and y1 <= maxy:
            keep.append(f)
    ids = [f["id"] for f in keep]
    return {**trace, "geojson": {"type": "FeatureCollection", "features": keep}, "locations": ids, "z": [1] * len(ids)}


def view_bounds(view: MapView, width_px: int = 1200, height_px: int = 800) -> tuple[float, float, float, float]:
    """The lon/lat box a map of ``width_px`` × ``height_px`` shows at the view's center and zoom."""
    deg_per_px = 360 / (512 * 2 ** view.zoom)
    lon, lat = view.center["lon"], view.center["lat"]
    half_w = width_px / 2 * deg_per_px
    half_h = height_px / 2 * deg_per_px * math.cos(math.radians(lat))
    return (lon - half_w, lat - half_h, lon + half_w, lat + half_h)


CHANGE_STYLES = {  # colour-blind-safe (Okabe-Ito); "removed" is drawn from the old revision
    "added": ("#009E73", "Added sector"), "removed": ("#666666", "Removed sector (old outline)"),
    "reshaped": ("#E69F00", "Reshaped sector (new shape)"), "reassigned": ("#0072B2", "Re-assigned sector"),
    "attributes": ("#F0E442", "Attributes changed"), "unchanged": ("#bdbdbd", "Unchanged sector"),
}


def change_figure(old_plan, new_plan, diff: dict, *, lang: str = "en", height: int = 520) -> dict:
    """The preview map of an upload: every sector of the new file styled by what changed."""
    base, labels = _base_layers(lang)
    kind = {}
    for key in ("attributes", "reassigned", "reshaped", "added"):
        for r in diff[key]:
            kind[r["sector_id"]] = key
    traces, legend = list(base), []
    new = new_plan.sectors
    ids = [str(x) for x in new["sector_id"]]
    for key in ("unchanged", "attributes", "reassigned", "reshaped", "added"):
        idx = [i for i, sid in enumerate(ids) if kind.get(sid, "unchanged") == key]
        if not idx:
            continue
        colour, label = CHANGE_STYLES[key]
        hover = [f"<b>{plotly_text(ids[i])}</b> {plotly_text(str(new['name'].iloc[i]))}<br>{label}" for i in idx]
        traces.append(_fill(_round_geojson(new.geometry.values[idx], [ids[i] for i in idx]), colour,
                            opacity=0.15 if key == "unchanged" else 0.55, line_colour=colour,
                            line_width=1 if key == "unchanged" else 2.5, name=label, hover=hover))
        legend.append((label, colour))
    removed = [r["sector_id"] for r in diff["removed"]]
    if removed:
        old = old_plan.sectors[old_plan.sectors["sector_id"].astype(str).isin(removed)]
        traces.append(_outline(old.geometry.values, CHANGE_STYLES["removed"][0], 3, "Removed"))
        legend.append((CHANGE_STYLES["removed"][1], CHANGE_STYLES["removed"][0]))
    reshaped = [r["sector_id"] for r in diff["reshaped"]]
    if reshaped:
        old = old_plan.sectors[old_plan.sectors["sector_id"].astype(str).isin(reshaped)]
        traces.append(_outline(old.geometry.values, "#7a4a00", 1.5, "Old shape"))
        legend.append(("Reshaped sector (old outline)", "#7a4a00"))
    traces.append(labels)
    traces += [_legend_entry(label, colour) for label, colour in legend]
    return {"data": traces, "layout": {
        "map": {"style": "white-bg", **UKRAINE_VIEW}, "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "height": height,
        "legend": {"x": 0.995, "y": 0.01, "xanchor": "right", "yanchor": "bottom", "bgcolor": "rgba(255,255,255,0.9)",
                   "bordercolor": "#999", "borderwidth": 1, "font": {"size": 11}}, "uirevision": "change"}}


TIMELINE_COLOURS = {"air": "#0072b2", "sea": "#56b4e9", "land": "#8c564b", "monitoring": "#7f3c8d"}


def _last_day(to: str | None) -> str:
    """The inclusive end of an interval ``[from, to)``: the day before ``to`` ('open' for an open end)."""
    from datetime import date, timedelta

    if not to:
        return "open"
    d = date.fromisoformat(to)
    return (d - timedelta(days=1)).isoformat() if d > date.min else to


def timeline_figure(rows: list[dict], holes: list[dict], day: str | None = None, note: str = "") -> dict:
    """Gap km² per layer through time (a step line per layer), handover gaps as diamonds, the day shown as a
    vertical rule. Points carry ``customdata`` (the interval's start, and for a handover gap the hole's bounds)
    so a click can go there. Every range is inclusive. ``note`` says what the chart does not show (an air band
    chosen elsewhere: the chart is the 2-D footprint). A plan with nothing dated gets a sentence, not an axis."""
    dated = [r for r in rows if r["from"]]
    if not dated:
        return {"data": [], "layout": {
            "height": 190, "margin": {"l": 8, "r": 8, "t": 6, "b": 6}, "paper_bgcolor": "white",
            "plot_bgcolor": "white", "xaxis": {"visible": False}, "yaxis": {"visible": False},
            "annotations": [{"text": "Nothing in this plan is dated (no validity dates, no dated phase in use): its "
                                     "coverage does not change through time.", "showarrow": False, "x": 0.5, "y": 0.5,
                             "xref": "paper", "yref": "paper", "font": {"size": 12, "color": "#444"}}]}}
    traces = []
    for layer, colour in TIMELINE_COLOURS.items():
        traces.append({"type": "scatter", "mode": "lines+markers", "line": {"shape": "hv", "color": colour, "width": 2},
                       "marker": {"size": 5}, "name": layer.title(), "x": [r["from"] for r in dated],
                       "y": [round(r["domains"][layer]["gap_km2"], 1) for r in dated],
                       "customdata": [{"from": r["from"]} for r in dated],
                       "hovertemplate": f"{layer}: %{{y:,.0f}} km² gap from %{{x}}<extra></extra>"})
    if holes:
        traces.append({"type": "scatter", "mode": "markers", "name": "Handover gap",
                       "marker": {"symbol": "diamond", "size": 12, "color": "#ff00ff",
                                  "line": {"color": "black", "width": 1}},
                       "x": [h["from"] for h in holes], "y": [round(h["gap_km2"], 1) for h in holes],
                       "customdata": [{"from": h["from"], "bounds": h["bounds"]} for h in holes],
                       "text": [f"{h['layer']}: {h['extra_km2']:,.0f} km² more gap from {h['from']} to "
                                f"{_last_day(h['to'])} (incl.) ({', '.join(h['ended'])} ended, "
                                f"{', '.join(h['started'])} started)" for h in holes],
                       "hovertemplate": "%{text}<extra></extra>"})
    shapes = []
    if day:
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": day, "x1": day, "y0": 0, "y1": 1,
                       "line": {"color": "#333", "width": 1.5, "dash": "dot"}})
    return {"data": traces, "layout": {
        "margin": {"l": 48, "r": 8, "t": 6, "b": 28}, "height": 190, "paper_bgcolor": "white",
        "plot_bgcolor": "white", "xaxis": {"type": "date", "gridcolor": "#eee"},
        "yaxis": {"title": {"text": "gap km²"}, "gridcolor": "#eee", "rangemode": "tozero"},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "font": {"size": 10}},
        "shapes": shapes, "font": {"family": "DejaVu Sans, Arial", "size": 10},
        "annotations": [{"text": plotly_text(note), "showarrow": False, "x": 0, "y": 1, "xref": "paper",
                         "yref": "paper", "xanchor": "left", "yanchor": "top", "font": {"size": 10, "color": "#7a4b00"},
                         "bgcolor": "rgba(255,255,255,0.8)"}] if note else []}}
