"""The map page: controls, the coverage map, KPI cards and tables."""
from __future__ import annotations

import difflib
import hashlib
import json
import math
import shutil
import threading
from collections import OrderedDict
from pathlib import Path

import dash
from dash import Input, Output, Patch, State, callback_context, dash_table, dcc, html

from ..figures import LAYER_TITLES, MapView, frame_extent, map_figure, sensor_view, zoom_to
from ..view import extent_bounds, oblast_names, oblasts_in_words, overlap_kind, view_figures, view_state, whatif_text
from ..schema import DATE_MAX, DATE_MIN
from . import inputs
from .components import guarded
from .state import AppState

LAYER_OPTIONS = [{"label": " Zones / sectors", "value": "zones"}, {"label": " Gaps", "value": "gaps"},
                 {"label": " Overlaps", "value": "overlaps"}, {"label": " Place labels", "value": "labels"},
                 {"label": " Sensors (footprints, reach)", "value": "sensors"},
                 {"label": " Unwatched by sensors", "value": "unwatched"}]
SENSOR_LAYERS = ("sensors", "unwatched")
#: air target altitudes offered besides the plan's own (0 ft and every air zone's floor)
STANDARD_ALTITUDES_FT = (1000.0, 5000.0, 10000.0, 20000.0)
TABLE_STYLE = dict(style_table={"overflowX": "auto", "maxHeight": "260px", "overflowY": "auto"},
                   style_cell={"fontFamily": "inherit", "fontSize": "12px", "padding": "3px 6px",
                               "textAlign": "left", "whiteSpace": "normal", "height": "auto"},
                   style_header={"fontWeight": "600", "backgroundColor": "#eef1f4"},
                   sort_action="native", page_action="native", page_size=50)


#: how often an open map page looks for revisions committed elsewhere (ms)
REFRESH_MS = 20_000


def _rev_label(r) -> str:
    return f"revision {r.id} · {r.time[:16].replace('T', ' ')} UTC · {r.author} · {r.message}"


def _day_marks(state: AppState, rev_id: int, extra: str | None = None) -> tuple[list, dict]:
    """The slider's stops: 'whole plan' first, then every change date and phase start (with phase names)."""
    days = [None] + state.days(rev_id, extra)
    plan = state.plan(rev_id)
    marks = {0: "whole plan"}
    for i, d in enumerate(days[1:], start=1):
        phases = [str(r["name"]) for r in plan.phases.to_dict("records") if r.get("start") == d]
        marks[i] = {"label": d + (f" · {', '.join(phases)}" if phases else "")}
    return days, marks


def layout(state: AppState, marking: str, revision: int | None = None, at: str | None = None):
    revs = state.store.history()
    cur = state.store.current()
    if revision is not None and any(r.id == revision for r in revs):
        cur = state.store.revision(revision)
    plan = state.plan(cur.id)
    days, marks = _day_marks(state, cur.id, at)
    used = sorted(_used(state, cur.id))  # the nations of its sectors and its sensors
    names = dict(zip(plan.contingents["code"], plan.contingents["name"]))
    return html.Div([
        html.Div([
            html.Span(_notional_note(plan), id="notional-note", className="notional",
                      hidden=not _notional_note(plan)),
            html.Div([
                html.Label("Plan revision", htmlFor="revision"),
                dcc.Dropdown(id="revision", options=[{"label": _rev_label(r), "value": r.id} for r in reversed(revs)],
                             value=cur.id, clearable=False, className="revision-picker"),
                dcc.Interval(id="revision-poll", interval=REFRESH_MS),
            ], className="revision"),
        ], className="subbar"),
        html.Main([
            html.Aside([
                html.Fieldset([html.Legend("Domain"), dcc.RadioItems(
                    id="domain-picker", value="land", className="radio",
                    options=[{"label": f" {LAYER_TITLES[d]}", "value": d} for d in ("air", "sea", "land", "monitoring")])]),
                html.Fieldset([html.Legend("Altitude band (air)"), dcc.Dropdown(id="band-picker", clearable=False,
                                                                                 value="all", disabled=True, options=[
                    {"label": "All altitudes (2-D footprint)", "value": "all"}])]),
                html.Fieldset([html.Legend("Layers"), dcc.Checklist(
                    id="layer-picker", options=_layer_options(plan), value=["zones", "gaps", "overlaps", "labels"],
                    className="checks")]),
                html.Fieldset([html.Legend("Sensor target altitude (air)"), dcc.Dropdown(
                    id="sensor-altitude", clearable=False, value=0.0, disabled=True,
                    options=_altitude_options(plan))], id="sensor-altitude-box", hidden=not len(plan.sensors)),
                html.Fieldset([html.Legend("Labels"), dcc.RadioItems(
                    id="lang", value="en", className="radio inline",
                    options=[{"label": " English", "value": "en"}, {"label": " Українська", "value": "uk"}])]),
                html.Fieldset([html.Legend("Contingents (untick = what if it withdrew)"), dcc.Checklist(
                    id="contingent-filter", value=used, className="checks contingents",
                    options=[{"label": html.Span([html.Span(className="swatch", style={
                        "background": dict(zip(plan.contingents["code"], plan.contingents["colour"])).get(c, "#666")}),
                        f" {c} — {names.get(c, 'not in registry')}"]), "value": c} for c in used] + [
                        # the nations held in reserve: listed (by whom a gap could be closed), nothing to withdraw
                        {"label": html.Span([html.Span(className="swatch", style={"background": col}),
                                             f" {c} — {names.get(c, c)} (idle: nothing assigned)"]),
                         "value": c, "disabled": True}
                        for c, col in zip(plan.contingents["code"], plan.contingents["colour"]) if c not in used])]),
                html.Fieldset([html.Legend("Export what you see"),
                    dcc.Dropdown(id="export-format", clearable=False, value="png", options=[
                        {"label": "PNG slide (1920×1080)", "value": "png"},
                        {"label": "PDF, A4 landscape (vector)", "value": "pdf"},
                        {"label": "SVG (vector)", "value": "svg"},
                        {"label": "Interactive HTML (offline)", "value": "html"},
                        {"label": "Briefing pack (PDF, all domains)", "value": "pack"},
                        {"label": "Data: layers + CSV (zip)", "value": "data"},
                        {"label": "KMZ (Google Earth, ATAK)", "value": "kmz"}]),
                    dcc.Input(id="export-title", placeholder="Title (optional)", debounce=True,
                              className="export-title", maxLength=120),
                    html.Button("Export", id="export-button", n_clicks=0, className="export-button"),
                    dcc.Loading(html.Div(id="export-status", className="export-status", role="status"), type="dot"),
                    dcc.Download(id="export-download")]),
            ], className="controls", **{"aria-label": "Map controls"}),
            html.Section([
                html.Div(id="whatif-banner", className="whatif-banner", role="alert", hidden=True),
                html.Div([
                    html.Label("Day", htmlFor="day-slider", className="day-label"),
                    html.Div(dcc.Slider(id="day-slider", min=0, max=len(days) - 1, step=1, marks=marks,
                                        value=days.index(at) if at in days else 0, included=False,
                                        allow_direct_input=False),  # its box would show a stop's index, not a day
                             className="day-slider"),
                    html.Button("▶ Play", id="day-play", n_clicks=0, className="day-play",
                                title="step through the change dates"),
                    dcc.DatePickerSingle(id="day-picker", min_date_allowed=DATE_MIN, max_date_allowed=DATE_MAX,
                                         display_format="YYYY-MM-DD", placeholder="any day…", clearable=True,
                                         date=at, className="day-picker", first_day_of_week=1),
                    dcc.Interval(id="day-tick", interval=1800, disabled=True),
                    dcc.Store(id="day-list", data=days),
                ], className="day-row", hidden=len(days) <= 1),
                html.Div(id="revision-info", className="revision-info"),
                dcc.Store(id="map-view"),
                dcc.Store(id="map-traces"),  # what the map on the page holds: one signature per trace
                html.Div(id="kpis", className="kpis", role="status", **{"aria-live": "polite"}),
                dcc.Loading(dcc.Graph(id="map", className="map",
                                      config={"displaylogo": False, "scrollZoom": True, "responsive": True,
                                              "modeBarButtonsToRemove": ["toImage", "select2d", "lasso2d"]}),
                            type="circle", delay_show=400),
            ], className="centre"),
            html.Section([
                html.Div([html.H2("Gap through time"),
                          html.P("Gap km² per layer between change dates; ◆ marks a handover gap (click it to go "
                                 "there).", className="hint"),
                          dcc.Graph(id="timeline-chart", config={"displayModeBar": False}, style={"height": "190px"})],
                         id="timeline-box", hidden=len(days) <= 2),
                html.H2("Gaps"), html.P(id="gap-count", className="count"),
                html.P("Click a row to zoom the map to it.", className="hint"),
                dash_table.DataTable(id="gap-table", columns=[
                    {"name": "km²", "id": "area_km2", "type": "numeric", "format": {"specifier": ",.1f"}},
                    {"name": "oblasts", "id": "oblasts"}, {"name": "inside unassigned", "id": "sectors"},
                    {"name": "by whom (border km, load)", "id": "candidates"},
                    {"name": "gap since", "id": "since"}, {"name": "until (incl.)", "id": "until"},
                    {"name": "lon", "id": "lon", "type": "numeric"}, {"name": "lat", "id": "lat", "type": "numeric"}],
                    **TABLE_STYLE),
                html.H2("Overlaps"), html.P(id="overlap-count", className="count"),
                dash_table.DataTable(id="overlap-table", columns=[
                    {"name": "km²", "id": "area_km2", "type": "numeric", "format": {"specifier": ",.1f"}},
                    {"name": "sectors", "id": "sectors"}, {"name": "contingents", "id": "contingents"},
                    {"name": "kind", "id": "kind"}, {"name": "since", "id": "since"},
                    {"name": "until (incl.)", "id": "until"}, {"name": "lon", "id": "lon", "type": "numeric"},
                    {"name": "lat", "id": "lat", "type": "numeric"}], **TABLE_STYLE),
                html.H2("Contingents"),
                dash_table.DataTable(id="contingent-table", columns=[
                    {"name": "code", "id": "code"},
                    {"name": "assigned km²", "id": "assigned_km2", "type": "numeric", "format": {"specifier": ",.0f"}},
                    {"name": "alone km²", "id": "exclusive_km2", "type": "numeric", "format": {"specifier": ",.0f"}},
                    {"name": "shared km²", "id": "shared_km2", "type": "numeric", "format": {"specifier": ",.0f"}},
                    {"name": "leads", "id": "leads"}, {"name": "shares with", "id": "shares_with"}], **TABLE_STYLE),
                html.Div([
                    html.H2("Watched by sensors"), html.P(id="unwatched-count", className="count"),
                    html.P("Assigned sectors of this domain by the share their sensors watch, least first (air zones "
                           "at the sensor target altitude chosen above). Smooth earth: terrain masking is not "
                           "modelled.",
                           className="hint"),
                    dash_table.DataTable(id="unwatched-table", columns=[
                        {"name": "sector", "id": "sector_id"}, {"name": "name", "id": "name"},
                        {"name": "lead", "id": "lead"},
                        {"name": "watched %", "id": "watched_pct", "type": "numeric", "format": {"specifier": ".1f"}}],
                        **TABLE_STYLE)], id="sensor-box", hidden=not len(plan.sensors)),
                html.H2("Oblast × domain coverage (%)"),
                dash_table.DataTable(id="oblast-table", columns=[{"name": "unit", "id": "name"}] + [
                    {"name": LAYER_TITLES[d], "id": d, "type": "numeric", "format": {"specifier": ".1f"}}
                    for d in ("air", "sea", "land", "monitoring")], **TABLE_STYLE),
            ], className="tables"),
        ], className="page"),
    ])


def _layer_options(plan) -> list[dict]:
    """The layer choices; the sensor layers are greyed out for a plan without sensors."""
    has = bool(len(plan.sensors))
    return [{**o, "disabled": True, "title": "this revision has no sensor set"} if o["value"] in SENSOR_LAYERS
            and not has else o for o in LAYER_OPTIONS]


def _altitude_options(plan) -> list[dict]:
    from ..engine.sensors import default_altitudes

    own = default_altitudes(plan.sectors)
    return [{"label": f"{a:,.0f} ft" + (" (an air zone's floor)" if a in own and a else ""), "value": a}
            for a in sorted(set(own) | set(STANDARD_ALTITUDES_FT))]


def _notional_note(plan) -> str:
    """The line under the banner for a revision that is NOTIONAL, or holds NOTIONAL parts (empty otherwise)."""
    if plan.notional:
        return "NOTIONAL sample plan — illustrative, not a real deployment"
    parts = plan.notional_parts()
    return f"This revision holds NOTIONAL parts: {', '.join(parts)} — figures are measured against them" if parts else ""


def _altitude(state: AppState, rev_id: int, value) -> float:
    """The sensor target altitude asked for, as one the page offers for this revision (the nearest): the server's
    caches are keyed by the plan's own list, so a client sending new numbers cannot grow them."""
    return inputs.altitude(value, [o["value"] for o in _altitude_options(state.plan(rev_id))])


def _camera_ok(center, zoom) -> bool:
    try:
        lon, lat, z = float(center["lon"]), float(center["lat"]), float(zoom)
    except (TypeError, KeyError, ValueError):
        return False
    return all(map(math.isfinite, (lon, lat, z))) and -180 <= lon <= 180 and -85 <= lat <= 85 and 0 <= z <= 22


def download_name(rev_id: int, fmt: str, *, domain: str, withdrawn=(), day: str | None = None,
                  band: str | None = None) -> str:
    """A download's file name, made by the server from checked parts: it says which view it is
    (``coverage-r6-land-without-GBR-NOR-2027-04-01.png``), so a what-if or a day is never taken for the plan.

    >>> download_name(6, "png", domain="land", withdrawn=("GBR", "NOR"), day="2027-04-01")
    'coverage-r6-land-without-GBR-NOR-2027-04-01.png'
    >>> download_name(6, "data", domain="air", band="0–10,000 ft")
    'coverage-data-r6-air-0-10000ft.zip'
    """
    parts = [f"r{int(rev_id)}", domain]
    if band:
        parts.append(band.replace(",", "").replace("∞", "up").replace(" ", ""))
    if withdrawn:
        parts.append("without-" + "-".join(withdrawn))
    if day:
        parts.append(day)
    stem = inputs.slug("-".join(parts))
    ext = {"pack": "pdf", "data": "zip", "kmz": "kmz"}.get(fmt, fmt)
    prefix = {"pack": "briefing", "data": "coverage-data"}.get(fmt, "coverage")
    return f"{prefix}-{stem}.{ext}"


def _used(state: AppState, rev_id: int) -> set[str]:
    """The nations assigned in a revision or manning its sensors: a what-if can withdraw only these (a made-up
    code would only force a fresh analysis of the same plan)."""
    from ..schema import parse_contingents

    plan = state.plan(rev_id)
    manning = {c for v in plan.sensors["contingent"] for c in parse_contingents(v)} if len(plan.sensors) else set()
    return {c for cs in plan.sectors["contingents"] for c in cs} | manning


def _fmt(v: float) -> str:
    return f"{v:,.0f}"


def candidates_text(gap: dict, n: int = 3) -> str:
    """By whom, in one cell: the nations at the piece's edge (longest shared border first) with their border km and
    load, then the idle ones — ``FRA 687 km (36,004 km², 12 zones) · BEL 687 km … · idle: PRT``.

    >>> candidates_text({"candidates": [{"code": "FRA", "border_km": 686.8, "assigned_km2": 36004, "zones_led": 12,
    ...                                  "idle": False}, {"code": "PRT", "border_km": 0, "assigned_km2": 0,
    ...                                  "zones_led": 0, "idle": True}]})
    'FRA 687 km (36,004 km², leads 12) · idle: PRT'
    """
    cands = gap.get("candidates") or []
    busy = [c for c in cands if not c["idle"]]
    parts = [f"{c['code']} {c['border_km']:,.0f} km ({c['assigned_km2']:,.0f} km², leads {c['zones_led']})"
             for c in busy[:n]]
    if len(busy) > n:
        parts.append(f"+{len(busy) - n} more")
    idle = [c["code"] for c in cands if c["idle"]]
    if idle:
        parts.append("idle: " + ", ".join(idle[:8]) + (f" +{len(idle) - 8}" if len(idle) > 8 else ""))
    return " · ".join(parts) or "-"


def _open(d, day) -> str:
    """A run's end for the tables: the date, 'open' for an open end, '' in the whole-plan view (no day)."""
    return "" if day is None else (d or "open")


def _kpis(figs: dict, withdrawn: list, watch: dict | None = None, plan_figs: dict | None = None) -> list:
    """The KPI cards of a view (domain, band, what-if): the numbers come from :func:`view_figures` (and the
    sensors' watched layer, the map's own, when a sensor layer is shown). For a what-if, ``plan_figs`` are the
    plan's own figures of the same view, and the covered, gap and overlap cards say how much they change."""
    band = f" ({figs['band']})" if figs["band"] else ""
    outside = figs.get("outside_km2", 0.0)
    cards = [("Extent", f"{_fmt(figs['extent_km2'])} km²",
              f"{_fmt(outside)} km² of the plan lies outside it" if outside >= 0.5 else ""),
             ("Covered", f"{figs['covered_pct']:.1f} %", f"{_fmt(figs['covered_km2'])} km²{band}"),
             ("Gap", f"{_fmt(figs['gap_km2'])} km²", f"{100 - figs['covered_pct']:.1f} % of extent{band}"),
             ("Overlap", f"{_fmt(figs['overlap_km2'])} km²", f"conflict {_fmt(figs['conflict_km2'])} km²"
              + (f" · {figs['overlap_scope']}" if figs["overlap_scope"] else "")),
             ("Unassigned sectors", str(figs["unassigned_sectors"]), f"{_fmt(figs['unassigned_km2'])} km² of gap")]
    deltas = {}
    if withdrawn and plan_figs is not None:  # the same computation as analyze --without's "whatif" block
        from ..engine.whatif import layer_deltas

        d = layer_deltas({"v": plan_figs}, {"v": figs})["v"]
        deltas = {"Covered": f"{d['covered_pct']:+.1f} points against the plan",
                  "Gap": f"{d['gap_km2']:+,.0f} km² against the plan",
                  "Overlap": f"{d['overlap_km2']:+,.0f} km² against the plan"}
    out = [html.Div([html.Div(t, className="kpi-title"), html.Div(v, className="kpi-value", id=f"kpi-{t.split()[0].lower()}"),
                     html.Div(s, className="kpi-sub")]
                    + ([html.Div(deltas[t], className="kpi-delta", id=f"kpi-{t.lower()}-delta")] if t in deltas else []),
                    className="kpi" + (" kpi-gap" if t == "Gap" else ""))
           for t, v, s in cards]
    if watch is not None:
        alt = "" if watch["altitude_ft"] is None else f" at {watch['altitude_ft']:,.0f} ft"
        out.append(html.Div([html.Div("Watched by sensors", className="kpi-title"),
                             html.Div(f"{watch['covered_pct']:.1f} %", className="kpi-value", id="kpi-watched"),
                             html.Div(f"{_fmt(watch['covered_km2'])} km²{alt} · {len(watch['sensors'])} sensors · "
                                      "smooth earth, no terrain", className="kpi-sub")], className="kpi kpi-watched"))
    if withdrawn:
        out.append(html.Div(whatif_text(withdrawn), className="kpi whatif"))
    return out


def _unwatched_rows(state: AppState, rev_id: int, withdrawn: tuple, day, plan, domain: str,
                    altitude_ft: float | None = None) -> tuple[list, str]:
    """The assigned sectors of a domain by the share the sensors watch (least first), and the count line."""
    w = state.watched(rev_id, withdrawn, day, altitude_ft if domain == "air" else None)
    if w is None:
        return [], ""
    s = plan.sectors[plan.sectors["layer"] == domain]
    rows = [{"sector_id": str(sid), "name": str(name), "lead": cs[0], "watched_pct": round(w["watched_pct"].get(str(sid), 0.0), 1)}
            for sid, name, cs in zip(s["sector_id"], s["name"], s["contingents"]) if cs]
    rows.sort(key=lambda r: (r["watched_pct"], r["sector_id"]))
    none = sum(r["watched_pct"] == 0 for r in rows)
    part = sum(0 < r["watched_pct"] < 50 for r in rows)
    at = f" at a target altitude of {altitude_ft:,.0f} ft" if domain == "air" and altitude_ft is not None else ""
    return rows, (f"{none} of {len(rows)} assigned {LAYER_TITLES[domain].lower()} sectors unwatched (0 %), "
                  f"{part} less than half watched{at}")


def _map_px(viewport) -> tuple[int, int]:
    """The map's size in pixels for a window (the CSS puts the tables beside the map above 1500 px, below it
    under), so the framing and 'export what you see' match the screen."""
    try:  # the window's size as the browser reports it: any numbers, clamped to screens that exist
        w, h = (min(max(int(float(v)), 320), 8000) for v in viewport[:2])
    except (TypeError, ValueError, OverflowError, IndexError, KeyError):
        return 900, 620
    return max(500, w - (720 if w > 1500 else 260)), max(440, min(h - 215, 900))


def _ids(ids: list[str], n: int = 6) -> str:
    """A long list of sector ids as a count with the first few (a large plan has hundreds per nation)."""
    if not ids:
        return "-"
    return f"{len(ids)}: " + ", ".join(ids[:n]) + (f" … +{len(ids) - n}" if len(ids) > n else "")


#: trace signatures by trace object (held, so an id is never reused while it is a key); the figure code
#: memoises traces, so an unchanged trace is the same object and is hashed once
_SIGNATURES: "OrderedDict[int, tuple]" = OrderedDict()
_SIGNATURES_LOCK = threading.Lock()


def _signature(trace: dict) -> str:
    """A content hash of one trace (equal content, equal signature, in any worker process)."""
    with _SIGNATURES_LOCK:
        hit = _SIGNATURES.get(id(trace))
        if hit is not None and hit[0] is trace:
            _SIGNATURES.move_to_end(id(trace))
            return hit[1]
    try:
        import orjson

        raw = orjson.dumps(trace, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_SORT_KEYS, default=float)
    except Exception:  # noqa: BLE001 - orjson missing or a value it refuses: the slower, sure way
        raw = json.dumps(trace, sort_keys=True, default=str).encode()
    sig = hashlib.blake2b(raw, digest_size=12).hexdigest()
    with _SIGNATURES_LOCK:
        _SIGNATURES[id(trace)] = (trace, sig)
        while len(_SIGNATURES) > 512:
            _SIGNATURES.popitem(last=False)
    return sig


def _keyed(fig: dict) -> list[str]:
    """Key every trace of ``fig`` by its content: its signature (a repeat of one trace gets ``-2``, ``-3`` …) becomes
    its plotly ``uid``, and the list of keys is what the page holds.

    plotly names a trace's MapLibre sources and layers by its uid, and a trace sent without one inherits the uid of
    whatever trace held its index before — of another type, after an insert or a delete. The map subplot then keeps
    layers of one type under a trace of another and drops the rest (land → air → sensors on → off → land lost the
    labels, boundaries, extent and monitoring outlines). A uid that is the content's own never moves to other content:
    an unchanged trace keeps its layers, a changed one gets new ones.
    """
    seen: dict[str, int] = {}
    keys = []
    for i, t in enumerate(fig["data"]):
        sig = _signature(t)
        seen[sig] = seen.get(sig, 0) + 1
        key = sig if seen[sig] == 1 else f"{sig}-{seen[sig]}"
        keys.append(key)
        fig["data"][i] = {**t, "uid": key}  # a copy: the memoised trace itself stays as the figure code made it
    return keys


def _figure_patch(held: list | None, sigs: list[str], fig: dict):
    """The figure to send: when the page holds a figure whose traces are known (``held``: their signatures),
    a :class:`dash.Patch` that deletes the traces that went and inserts those that came, leaving the
    unchanged ones (the base map, the labels, zones a what-if did not touch) where they are; else the whole
    figure. The layout is always sent whole."""
    if not held or not isinstance(held, list) or not all(isinstance(h, str) for h in held):
        return fig
    ops = [op for op in difflib.SequenceMatcher(None, held, sigs, autojunk=False).get_opcodes() if op[0] != "equal"]
    p = Patch()
    for _tag, i1, i2, j1, j2 in reversed(ops):  # from the end, so the indices before each edit still hold
        for _ in range(i2 - i1):
            del p["data"][i1]
        for k, t in enumerate(fig["data"][j1:j2]):
            p["data"].insert(i1 + k, t)
    p["layout"] = fig["layout"]
    return p


def register(app: dash.Dash, state: AppState) -> None:
    @app.callback(Output("revision", "options"), Input("revision-poll", "n_intervals"), State("revision", "options"),
                  prevent_initial_call=True)
    def refresh_revisions(_n, shown):
        """New revisions (committed here or by anyone else) appear in the picker without a reload."""
        opts = [{"label": _rev_label(r), "value": r.id} for r in reversed(state.store.history())]
        held = [o.get("value") for o in shown if isinstance(o, dict)] if isinstance(shown, list) else None
        return dash.no_update if [o["value"] for o in opts] == held else opts

    @app.callback(
        Output("map", "figure"), Output("kpis", "children"), Output("gap-table", "data"),
        Output("overlap-table", "data"), Output("contingent-table", "data"), Output("oblast-table", "data"),
        Output("band-picker", "options"), Output("band-picker", "disabled"), Output("revision-info", "children"),
        Output("notional-note", "hidden"), Output("whatif-banner", "children"), Output("whatif-banner", "hidden"),
        Output("gap-count", "children"), Output("overlap-count", "children"),
        Output("map-view", "data", allow_duplicate=True), Output("map-traces", "data"),
        Output("layer-picker", "options"), Output("sensor-altitude", "options"), Output("sensor-altitude", "disabled"),
        Output("sensor-altitude-box", "hidden"), Output("sensor-box", "hidden"), Output("unwatched-table", "data"),
        Output("unwatched-count", "children"), Output("notional-note", "children"),
        Input("revision", "value"), Input("domain-picker", "value"), Input("band-picker", "value"), Input("layer-picker", "value"),
        Input("lang", "value"), Input("contingent-filter", "value"), Input("viewport", "data"),
        Input("day-slider", "value"), Input("sensor-altitude", "value"),
        State("contingent-filter", "options"), State("day-list", "data"), State("map-view", "data"),
        State("map-traces", "data"),
        prevent_initial_call="initial_duplicate",
    )
    @guarded(8, 24, "Could not draw this view: ")
    def update(rev_id, domain, band, layers, lang, ticked, viewport, day_i, altitude, options, days, shown, held):
        if not viewport:  # the window's size comes from a clientside callback: wait for it, draw the map once
            return (dash.no_update,) * 24
        trig = callback_context.triggered_id
        if (trig == "band-picker" and domain != "air") or (trig == "sensor-altitude" and (
                domain != "air" or not set(inputs.layers(layers, SENSOR_LAYERS)))):
            return (dash.no_update,) * 24  # the band (or altitude) shows nothing here: nothing to redraw
        # every value from the browser is checked against the server's own state before it is used
        rev = inputs.revision(state.store, rev_id)
        domain = inputs.domain(domain)
        withdrawn = list(inputs.withdrawn(_used(state, rev.id), ticked, options))  # only the plan's nations
        day = inputs.day_of(days, day_i)
        plan = state.plan(rev.id, tuple(withdrawn), day)
        analysis = state.analysis(rev.id, tuple(withdrawn), day)
        bands = analysis.air_bands
        band_opts = [{"label": "All altitudes (2-D footprint)", "value": "all"}] + [
            {"label": f"{b['floor_ft']:,.0f}–{'∞' if b['ceiling_ft'] is None else format(b['ceiling_ft'], ',.0f')} ft",
             "value": str(i)} for i, b in enumerate(bands)]
        try:
            band_i = inputs.band(band, len(bands), domain)
        except inputs.RequestInvalid:
            if trig not in (None, "revision"):
                raise
            band_i = None  # the band of the revision shown before: this one's bands are offered afresh
        alt = _altitude(state, rev.id, altitude) if domain == "air" else 0.0
        view = MapView(domain=domain, layers=inputs.layers(layers, [o["value"] for o in LAYER_OPTIONS]), band=band_i,
                       lang=inputs.lang(lang), withdrawn=tuple(withdrawn), sensor_altitude_ft=alt)
        width, height = _map_px(viewport)
        reset = callback_context.triggered_id in (None, "domain-picker", "revision")
        # each domain framed on its own extent (which has its margin already): as large as the map allows, so the
        # place names are as large as they can be
        framing = frame_extent(extent_bounds(plan, domain), width, height)
        if not reset and isinstance(shown, dict) and _camera_ok(shown.get("center"), shown.get("zoom")):
            # keep where the planner is looking
            framing = {"center": {"lon": float(shown["center"]["lon"]), "lat": float(shown["center"]["lat"])},
                       "zoom": float(shown["zoom"])}
        view.center, view.zoom = framing["center"], framing["zoom"]
        fig = map_figure(plan, analysis, view, height=height)
        sigs = _keyed(fig)
        fig_out = _figure_patch(held, sigs, fig)
        map_view = {"center": view.center, "zoom": view.zoom} if reset else dash.no_update
        figs = view_figures(analysis, domain, band_i)
        names = oblast_names()
        gap_rows = [{"area_km2": round(g["area_km2"], 2),
                     "oblasts": oblasts_in_words(g["oblasts"], names) + (" (nearest, at sea)" if g["at_sea"] else ""),
                     "sectors": ", ".join(g.get("sectors", [])), "candidates": candidates_text(g),
                     "since": _open(g.get("since"), day), "until": _open(g.get("until"), day),
                     "lon": g["centroid"][0], "lat": g["centroid"][1]}
                    for g in figs["gaps"]]
        ov_rows = [{"area_km2": round(o["area_km2"], 2), "sectors": ", ".join(o["sectors"]),
                    "contingents": ", ".join(o["contingents"]),
                    "kind": overlap_kind(o) + (" — on no day" if o.get("on_no_day") else ""),
                    "since": _open(o.get("since"), day), "until": _open(o.get("until"), day),
                    "lon": o["centroid"][0], "lat": o["centroid"][1]} for o in figs["overlaps"]]
        idle = set(analysis.idle_contingents)
        cont_rows = [{"code": c, "assigned_km2": v["assigned_km2"], "exclusive_km2": v["exclusive_km2"],
                      "shared_km2": v["shared_km2"], "leads": _ids(v["lead_sectors"]) if c not in idle else
                      "idle: nothing assigned",
                      "shares_with": ", ".join(v["shares_with"]) + (" (withdrawn)" if c in withdrawn else "")}
                     for c, v in analysis.contingents.items()
                     if v["assigned_km2"] > 0 or v["lead_sectors"] or v["supporting_sectors"] or c in withdrawn
                     or c in idle]
        ob_rows = [{"name": o["name"], **{d: round(v["covered_pct"], 1) for d, v in o["layers"].items()}}
                   for o in analysis.oblasts.values()]
        phases = plan.phases_on(day) if day else []
        state_parts = view_state(rev, plan, domain=domain, band_text=figs["band"], withdrawn=withdrawn,
                                 day=(day + (f" ({', '.join(phases)})" if phases else "")) if day else None)
        info = [html.B(f"Revision {rev.id}"), f" · {rev.time.replace('T', ' ').replace('Z', ' UTC')} · by {rev.author} · "
                f"{rev.message}", html.Span(" · " + " · ".join(state_parts[1:]), className="muted")]
        never = sum(1 for o in figs["overlaps"] if o.get("on_no_day"))
        whole = " — whole plan: validity dates ignored (choose a day for that day's plan)" if (
            day is None and isinstance(days, list) and len(days) > 1) else ""
        counts = (f"{len(gap_rows):,} {'gap' if len(gap_rows) == 1 else 'gaps'}, "
                  f"{sum(r['area_km2'] for r in gap_rows):,.1f} km²" + (f" ({figs['band']})" if figs["band"] else "")
                  + whole,
                  f"{len(ov_rows):,} {'overlap' if len(ov_rows) == 1 else 'overlaps'}, "
                  f"{sum(r['area_km2'] for r in ov_rows):,.1f} km²"
                  + (f"; {never:,} of them occur on no day (their sectors are never active together)" if never else ""))
        full = state.plan(rev.id)  # the revision's own plan: its sensor set, whatever the day or the what-if
        has_sensors = bool(len(full.sensors))
        sensor_layers_on = bool(set(view.layers) & set(SENSOR_LAYERS))
        watch = sensor_view(plan, analysis, domain, alt) if sensor_layers_on else None
        per_revision = trig in (None, "revision")
        sensor_out = ((_layer_options(full), _altitude_options(full)) if per_revision else (dash.no_update,) * 2) + (
            domain != "air" or not has_sensors, not has_sensors, not has_sensors, *(_unwatched_rows(
                state, rev.id, tuple(withdrawn), day, plan, domain, alt) if watch is not None else (
                [], "No sensor is in service in this view (the day or the what-if)." if sensor_layers_on else
                "Tick “Sensors” or “Unwatched by sensors” under Layers to list the sectors by watched share.")))
        plan_figs = view_figures(state.analysis(rev.id, (), day), domain, band_i) if withdrawn else None
        return (fig_out, _kpis(figs, withdrawn, watch, plan_figs), gap_rows, ov_rows, cont_rows, ob_rows, band_opts,
                domain != "air", info, not (plan.notional or plan.notional_parts()), whatif_text(withdrawn), not withdrawn, *counts, map_view,
                sigs, *sensor_out, _notional_note(plan))


    # A row click moves the map's camera in the browser (MapLibre's jumpTo): no server round trip, and plotly
    # does not re-set every trace's GeoJSON source as a figure update would (1.8 s on the sample, bench_browser).
    # The view goes to map-view, so the next redraw and "export what you see" keep it.
    app.clientside_callback(
        """function(gapCell, ovCell, gapRows, ovRows, current) {
            var ctx = window.dash_clientside.callback_context;
            var trig = (ctx.triggered && ctx.triggered.length) ? ctx.triggered[0].prop_id.split('.')[0] : '';
            var cell = trig === 'overlap-table' ? ovCell : gapCell;
            var rows = trig === 'overlap-table' ? ovRows : gapRows;
            if (!cell || !rows || cell.row >= rows.length) { return window.dash_clientside.no_update; }
            var row = rows[cell.row];
            // a square around the piece's centroid, sized by its area (figures.zoom_to's arithmetic)
            var half = Math.max(Math.sqrt(row.area_km2) / 111.0 * 0.8, 0.05);
            var minx = row.lon - half, maxx = row.lon + half, miny = row.lat - half * 0.66, maxy = row.lat + half * 0.66;
            var sx = Math.max(maxx - minx, 0.02) * 1.6;
            var sy = Math.max(maxy - miny, 0.02) * 1.6 / Math.cos((miny + maxy) / 2 * Math.PI / 180);
            var zoom = Math.max(Math.min(Math.log2(360 * 900 / 512 / sx), Math.log2(360 * 650 / 512 / sy), 11), 3);
            var center = {lon: (minx + maxx) / 2, lat: (miny + maxy) / 2};
            var gd = document.querySelector('#map .js-plotly-plot');
            var sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
            if (sub && sub.map) {
                sub.map.jumpTo({center: [center.lon, center.lat], zoom: zoom});
                // plotly's own record of the view, as a pan by hand would leave it
                [gd.layout.map, gd._fullLayout.map].forEach(function(m) {
                    if (m) { m.center = {lon: center.lon, lat: center.lat}; m.zoom = zoom; } });
            }
            return Object.assign({}, current || {}, {center: center, zoom: zoom});
        }""",
        Output("map-view", "data", allow_duplicate=True),
        Input("gap-table", "active_cell"), Input("overlap-table", "active_cell"),
        State("gap-table", "derived_viewport_data"), State("overlap-table", "derived_viewport_data"),
        State("map-view", "data"), prevent_initial_call=True)

    @app.callback(Output("url", "search", allow_duplicate=True), Input("day-picker", "date"),
                  State("revision", "value"), State("url", "search"), prevent_initial_call=True)
    def pick_day(picked, rev_id, shown):
        """Any day, not only the change dates: the page is drawn again for it (``?revision=N&at=DAY``); clearing
        the picker goes back to the whole plan. The page's own first render changes nothing."""
        from ..errors import CoverageError

        shown = shown if isinstance(shown, str) else ""
        try:
            rev = inputs.revision(state.store, rev_id)
            want = f"?revision={rev.id}&at={inputs.day(str(picked)[:10])}" if picked else (
                f"?revision={rev.id}" if "at=" in shown else shown)
        except CoverageError:  # a day outside the supported range, a revision gone: the page stays as it is
            return dash.no_update
        return dash.no_update if want == shown else want

    @app.callback(Output("day-tick", "disabled"), Output("day-play", "children"), Input("day-play", "n_clicks"),
                  State("day-tick", "disabled"), prevent_initial_call=True)
    def play(n, disabled):
        disabled = disabled is not False  # anything but False (what the page sends while playing) is "stopped"
        return (not disabled), ("⏸ Pause" if disabled else "▶ Play")

    @app.callback(Output("day-slider", "value", allow_duplicate=True), Input("day-tick", "n_intervals"),
                  State("day-slider", "value"), State("day-list", "data"), prevent_initial_call=True)
    def tick(_n, value, days):
        """Play: step to the next stop (after the last, back to the first dated one)."""
        n = len(days) if isinstance(days, list) else 0
        nxt = (value if isinstance(value, int) and not isinstance(value, bool) else 0) + 1
        return nxt if nxt < n else max(min(1, n - 1), 0)

    @app.callback(Output("timeline-chart", "figure"), Input("revision", "value"), Input("contingent-filter", "value"),
                  Input("day-slider", "value"), Input("band-picker", "value"), Input("domain-picker", "value"),
                  State("contingent-filter", "options"), State("day-list", "data"))
    @guarded(0, 1, "Could not draw the timeline: ")
    def timeline_chart(rev_id, ticked, day_i, band, domain, options, days):
        from ..figures import timeline_figure

        if not isinstance(days, list) or len(days) <= 2:  # hidden for a plan without dates: compute nothing
            return dash.no_update
        rev = inputs.revision(state.store, rev_id).id
        withdrawn = inputs.withdrawn(_used(state, rev), ticked, options)
        rows, holes = state.timeline(rev, withdrawn)
        # the chart is of the 2-D footprint: with an air band chosen, it says so (the band's gap is in the KPI)
        note = ("Air: all altitudes (2-D footprint) — the chosen band's gap is in the Gap card"
                if domain == "air" and band not in (None, "all") else "")
        return timeline_figure(rows, holes, inputs.day_of(days, day_i), note)

    @app.callback(Output("day-slider", "value", allow_duplicate=True), Output("map", "figure", allow_duplicate=True),
                  Output("map-view", "data", allow_duplicate=True), Input("timeline-chart", "clickData"),
                  State("day-list", "data"), State("map-view", "data"), State("revision", "value"),
                  State("contingent-filter", "value"), State("contingent-filter", "options"), prevent_initial_call=True)
    def jump(click, days, current, rev_id, ticked, options):
        """A click on the timeline goes to that day; on a handover gap it also zooms the map to the hole."""
        pt = click.get("points") if isinstance(click, dict) else None
        pt = pt[0] if isinstance(pt, list) and pt and isinstance(pt[0], dict) else None
        if pt is None:
            return dash.no_update, dash.no_update, dash.no_update
        custom = pt.get("customdata") or {}
        if isinstance(custom, list):
            custom = custom[0] if custom and isinstance(custom[0], dict) else {}
        day = (custom.get("from") if isinstance(custom, dict) else None) or pt.get("x")
        if not isinstance(days, list) or not isinstance(day, str) or day not in days:
            return dash.no_update, dash.no_update, dash.no_update
        # the hole's box comes from the server's own timeline, never from the click's data
        rev = inputs.revision(state.store, rev_id).id
        _, holes = state.timeline(rev, inputs.withdrawn(_used(state, rev), ticked, options))
        box = next((h["bounds"] for h in holes if h["from"] == day and h["bounds"]), None)
        if not box:
            return days.index(day), dash.no_update, dash.no_update
        z = zoom_to(tuple(box))
        p = Patch()
        p["layout"]["map"]["center"] = z["center"]
        p["layout"]["map"]["zoom"] = z["zoom"]
        p["layout"]["uirevision"] = f"hole-{day}"
        return days.index(day), p, {**(current or {}), "center": z["center"], "zoom": z["zoom"]}

    # after a row click the map may be scrolled off a small screen: bring it into view
    app.clientside_callback(
        """function(a, b) { var m = document.getElementById('map');
           if (m && m.getBoundingClientRect().top < 0 || (m && m.getBoundingClientRect().bottom > window.innerHeight)) {
             m.scrollIntoView({block: 'nearest'}); }
           return window.dash_clientside.no_update; }""",
        Output("map", "className"), Input("gap-table", "active_cell"), Input("overlap-table", "active_cell"),
        prevent_initial_call=True)


def _sweep_exports(max_age_s: float = 3600) -> None:
    """Remove export folders left behind by a crash or a killed worker (normally each is removed at once)."""
    import tempfile
    import time

    root = Path(tempfile.gettempdir())
    for d in root.glob("ua-export-*"):
        try:
            if time.time() - d.stat().st_mtime > max_age_s:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


def register_export(app: dash.Dash, state: AppState) -> None:
    """The Export control: a snapshot of exactly the current view, rendered in a time-limited worker."""
    import tempfile
    from pathlib import Path

    from ..export import run_export
    from ..figures import view_bounds

    @app.callback(Output("map-view", "data"), Input("map", "relayoutData"), State("map-view", "data"),
                  prevent_initial_call=True)
    def remember_view(relayout, current):
        current = dict(current) if isinstance(current, dict) else {}
        if isinstance(relayout, dict):
            if "map.center" in relayout:
                current["center"] = relayout["map.center"]
            if "map.zoom" in relayout:
                current["zoom"] = relayout["map.zoom"]
        return current  # checked where it is used (_camera_ok)

    @app.callback(
        Output("export-download", "data"), Output("export-status", "children"),
        Input("export-button", "n_clicks"),
        State("export-format", "value"), State("export-title", "value"), State("revision", "value"),
        State("domain-picker", "value"), State("band-picker", "value"), State("layer-picker", "value"), State("lang", "value"),
        State("contingent-filter", "value"), State("contingent-filter", "options"), State("map-view", "data"),
        State("viewport", "data"), State("day-slider", "value"), State("day-list", "data"),
        State("sensor-altitude", "value"),
        prevent_initial_call=True, running=[(Output("export-button", "disabled"), True, False)],
    )
    @guarded(1, 2, "Could not export this view: ")
    def do_export(n, fmt, title, rev_id, domain, band, layers, lang, ticked, options, mv, viewport, day_i, days,
                  altitude):
        from .auth import current_user

        user = current_user()
        if not user.can("exporter"):
            return dash.no_update, html.Span(f"{user.name} may not export: the exporter role is needed.",
                                             className="error")
        # nothing from the browser reaches a file name or the engine unchecked (a crafted day was a path)
        fmt = inputs.export_format(fmt)
        rev = inputs.revision(state.store, rev_id)
        domain = inputs.domain(domain)
        withdrawn = inputs.withdrawn(_used(state, rev.id), ticked, options)
        day = inputs.day_of(days, day_i)
        plan = state.plan(rev.id, withdrawn)  # run_export draws the sectors active on the day itself
        analysis = state.analysis(rev.id, withdrawn, day)
        band_i = inputs.band(band, len(analysis.air_bands), domain)
        view = MapView(domain=domain, layers=inputs.layers(layers, [o["value"] for o in LAYER_OPTIONS]), band=band_i,
                       lang=inputs.lang(lang), withdrawn=withdrawn,
                       sensor_altitude_ft=_altitude(state, rev.id, altitude) if domain == "air" else 0.0)
        bounds = None
        if isinstance(mv, dict) and _camera_ok(mv.get("center"), mv.get("zoom")):
            view.center, view.zoom = {"lon": float(mv["center"]["lon"]), "lat": float(mv["center"]["lat"])}, \
                float(mv["zoom"])
            bounds = view_bounds(view, *_map_px(viewport))
        _sweep_exports()
        tmp = Path(tempfile.mkdtemp(prefix="ua-export-")).resolve()
        path = tmp / download_name(rev.id, fmt, domain=domain, withdrawn=withdrawn, day=day,
                                   band=view_figures(analysis, domain, band_i)["band"])
        if path.parent != tmp:  # made from checked parts only; this cannot happen, and must not
            raise inputs.RequestInvalid("the export's file name is not valid")
        try:
            path = run_export(plan, analysis, rev, fmt, path.with_suffix("") if fmt == "data" else path, view=view,
                              bounds=bounds,
                              title=(str(title) if title else "")[:120] or None,
                              size="a4" if fmt == "pdf" else "slide", zip_data=True, day=day)
            download = dcc.send_file(str(path))  # read into the response now, so the folder can go
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return download, f"Exported {path.name} (revision {rev.id})"
