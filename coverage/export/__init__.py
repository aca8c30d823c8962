"""Briefing exports: map snapshots framed for slides and print, a briefing pack, and the data behind them.

Every snapshot is the dashboard's own map figure (:func:`ua_coverage.figures.map_figure`) redrawn on a geo
subplot (:func:`ua_coverage.figures.to_geo`): SVG paths, so SVG and PDF are vector, and the standalone HTML
works from ``file://`` with no network (the geo subplot's world TopoJSON is an empty one we embed).
The frame adds what a brief needs: title and subtitle (domain, "revision N", UTC time), the marking
banner top and bottom, a legend naming every colour, a scale bar, a north arrow, data attribution and
the generation time. Static rendering happens in a worker process with a time limit
(:mod:`ua_coverage.export._render`).
"""
from __future__ import annotations

import atexit
import json
import math
import select
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ExportError
from .data import export_data, safe_cell, write_layers  # noqa: F401  (re-exported)
from ..figures import LAYER_TITLES, MapView, empty_topojson, map_figure, sensor_view, to_geo
from ..settings import banner as default_banner
from ..text import plotly_text
from ..view import overlap_kind, oblast_names, oblasts_in_words, view_figures, view_state, whatif_text

FORMATS = ("png", "svg", "pdf", "html")
#: every format run_export writes: snapshots, the briefing pack, a data folder, KML/KMZ (Google Earth, TAK)
ALL_FORMATS = FORMATS + ("pack", "data", "kml", "kmz")
#: name -> (width px, height px, scale for PNG): slide 16:9 1920×1080; A4/A3 landscape at 300 dpi
SIZES = {"slide": (1920, 1080, 1.0), "a4": (1123, 794, 3508 / 1123), "a3": (1587, 1123, 4961 / 1587)}
UKRAINE_BOUNDS = (21.6, 44.1, 40.6, 52.6)
ATTRIBUTION = ("Base data: Made with Natural Earth (public domain); territorial sea © OpenStreetMap contributors "
               "(ODbL). Areas: ellipsoidal WGS84 km².")
BANNER_FILL = "#2e7d32"


@dataclass
class Snapshot:
    """What to draw: the plan revision, the user's view, and the frame's texts."""

    plan: object
    analysis: object
    revision: object  # RevisionInfo
    view: MapView = field(default_factory=MapView)
    bounds: tuple | None = None
    title: str | None = None
    subtitle: str | None = None
    banner: str | None = None
    day: str | None = None  # the plan as it stands on this day (its analysis must be that day's)

    def figures(self) -> dict:
        return view_figures(self.analysis, self.view.domain, self.view.band)

    def default_title(self) -> str:
        band = self.figures()["band"]
        return (f"{LAYER_TITLES[self.view.domain]} domain coverage" + (f", {band}" if band else "")
                + (f", {self.day}" if self.day else ""))

    def default_subtitle(self) -> str:
        f = self.figures()
        parts = view_state(self.revision, self.plan, band_text=f["band"], withdrawn=self.view.withdrawn,
                           day=_day_text(self.plan, self.day))
        parts.insert(1, f"covered {f['covered_pct']:.1f} %, gap {f['gap_km2']:,.0f} km²")
        if {"sensors", "unwatched"} & set(self.view.layers):
            w = sensor_view(self.plan, self.analysis, self.view.domain, self.view.sensor_altitude_ft)
            if w is not None:
                alt = "" if w["altitude_ft"] is None else f" at {w['altitude_ft']:,.0f} ft"
                parts.insert(2, f"watched by {len(w['sensors'])} sensors{alt} {w['covered_pct']:.1f} % "
                                "(smooth earth, no terrain)")
        return " · ".join(parts)

    def provenance(self) -> str:
        """What the page shows, in the words no option can remove: revision and its time, domain, band, day,
        what-if, NOTIONAL, and the bounds when zoomed."""
        f = self.figures()
        parts = view_state(self.revision, self.plan, domain=self.view.domain, band_text=f["band"],
                           withdrawn=self.view.withdrawn, day=_day_text(self.plan, self.day))
        if self.bounds:
            w, s_, e, n = self.bounds
            parts.append(f"zoomed to lon {w:.2f}–{e:.2f}, lat {s_:.2f}–{n:.2f}")
        return " · ".join(parts)


def _day_text(plan, day: str | None) -> str | None:
    """``2027-04-03 (Consolidation)``: the day and the phases holding it."""
    if not day:
        return None
    phases = plan.phases_on(day) if hasattr(plan, "phases_on") else []
    return day + (f" ({', '.join(phases)})" if phases else "")


def _nice_km(target: float) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if step >= target:
            return step
    return 1000


def _scale_and_north(bounds) -> list[dict]:
    minx, miny, maxx, maxy = bounds
    lat = miny + 0.06 * (maxy - miny)
    lon0 = minx + 0.04 * (maxx - minx)
    km_per_deg = 111.32 * math.cos(math.radians(lat))
    length = _nice_km((maxx - minx) * km_per_deg * 0.18)
    dlon = length / km_per_deg
    tick = 0.012 * (maxy - miny)
    half = lon0 + dlon / 2
    # densified along the parallel: scattergeo draws each segment as a great circle
    first = [lon0 + dlon / 2 * i / 24 for i in range(25)]
    second = [half + dlon / 2 * i / 24 for i in range(25)]
    bar = [{"type": "scattergeo", "lon": first + [None] + second, "lat": [lat] * 25 + [None] + [lat] * 25,
            "mode": "lines", "line": {"color": "#000", "width": 8}, "hoverinfo": "skip", "showlegend": False},
           {"type": "scattergeo", "lon": second, "lat": [lat] * 25, "mode": "lines",
            "line": {"color": "#fff", "width": 5}, "hoverinfo": "skip", "showlegend": False},
           {"type": "scattergeo", "lon": [lon0, lon0, None, half, half, None, lon0 + dlon, lon0 + dlon],
            "lat": [lat - tick, lat + tick, None, lat - tick, lat + tick, None, lat - tick, lat + tick],
            "mode": "lines", "line": {"color": "#000", "width": 1.5}, "hoverinfo": "skip", "showlegend": False},
           {"type": "scattergeo", "lon": [lon0, half, lon0 + dlon], "lat": [lat + tick * 1.6] * 3, "mode": "text",
            "text": ["0", f"{length / 2:g}", f"{length:g} km"], "textposition": "top center",
            "textfont": {"size": 13, "color": "#000"}, "hoverinfo": "skip", "showlegend": False}]
    nx, ny = maxx - 0.04 * (maxx - minx), maxy - 0.1 * (maxy - miny)
    north = [{"type": "scattergeo", "lon": [nx], "lat": [ny], "mode": "markers+text", "text": ["N"],
              "textposition": "top center", "textfont": {"size": 18, "color": "#000"},
              "marker": {"symbol": "triangle-up", "size": 22, "color": "#000"}, "hoverinfo": "skip",
              "showlegend": False}]
    return bar + north


def _wrap(text: str, chars: int) -> str:
    """Break a subtitle into lines of at most ``chars`` characters at its ' · ' joints (or spaces)."""
    lines, line = [], ""
    for word in text.replace(" · ", " ·\u2009").split(" "):
        if line and len(line) + 1 + len(word) > chars:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "<br>".join(lines[:3]) + (" …" if len(lines) > 3 else "")


WHATIF_FILL = "#ffca28"


def _frame(fig: dict, *, title: str, subtitle: str, marking: str, width: int, height: int,
           map_domain: dict, legend_x: float = 0.795, whatif: str = "", provenance: str = "") -> dict:
    bh = 30 / height
    wh = (34 / height) if whatif else 0.0  # the what-if stripe under the top banner
    # plan data is text: a registry name or commit message in a title is shown, never obeyed as markup
    marking, title, subtitle, whatif, provenance = (plotly_text(t) for t in (marking, title, subtitle, whatif,
                                                                             provenance))
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    shapes = [{"type": "rect", "xref": "paper", "yref": "paper", "x0": 0, "x1": 1, "y0": 1 - bh, "y1": 1,
               "fillcolor": BANNER_FILL, "line": {"width": 0}, "layer": "above"},
              {"type": "rect", "xref": "paper", "yref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": bh,
               "fillcolor": BANNER_FILL, "line": {"width": 0}, "layer": "above"}]
    ann = [
        {"text": f"<b>{marking}</b>", "x": 0.5, "y": 1 - bh / 2, "xref": "paper", "yref": "paper",
         "showarrow": False, "font": {"color": "white", "size": 15}, "yanchor": "middle"},
        {"text": f"<b>{marking}</b>", "x": 0.5, "y": bh / 2, "xref": "paper", "yref": "paper",
         "showarrow": False, "font": {"color": "white", "size": 15}, "yanchor": "middle"},
        {"text": f"<b>{title}</b>", "x": 0.01, "y": 1 - bh - wh - 10 / height, "xref": "paper", "yref": "paper",
         "showarrow": False, "xanchor": "left", "yanchor": "top", "font": {"size": 26, "color": "#111"}},
        {"text": _wrap(subtitle, int(width / 8.6)), "x": 0.01, "y": 1 - bh - wh - 46 / height, "xref": "paper",
         "yref": "paper", "showarrow": False, "xanchor": "left", "yanchor": "top", "align": "left",
         "font": {"size": 14, "color": "#333"}},
        {"text": f"{ATTRIBUTION} Generated {generated} by ua-coverage.", "x": 0.01, "y": bh + 6 / height,
         "xref": "paper", "yref": "paper", "showarrow": False, "xanchor": "left", "yanchor": "bottom",
         "font": {"size": 11, "color": "#444"}},
        # the view's provenance, on every page whatever the banner, title and subtitle say (no option removes it)
        {"text": _wrap(provenance, int(width / 7.2)) if provenance else "", "x": 0.01, "y": bh + 22 / height,
         "xref": "paper", "yref": "paper", "showarrow": False, "xanchor": "left", "yanchor": "bottom",
         "align": "left", "font": {"size": 11, "color": "#222"}, "name": "provenance"},
    ]
    if whatif:  # unmistakable on every page: a stripe under the banner and a watermark across the map
        shapes.append({"type": "rect", "xref": "paper", "yref": "paper", "x0": 0, "x1": 1, "y0": 1 - bh - wh,
                       "y1": 1 - bh, "fillcolor": WHATIF_FILL, "line": {"color": "#8a6d00", "width": 1},
                       "layer": "above"})
        ann.append({"text": f"<b>{whatif}</b>", "x": 0.5, "y": 1 - bh - wh / 2, "xref": "paper", "yref": "paper",
                    "showarrow": False, "font": {"color": "#3e2a00", "size": 16}, "yanchor": "middle"})
        mx, my = map_domain["x"], map_domain["y"]
        ann.append({"text": "<b>WHAT-IF</b>", "x": (mx[0] + mx[1]) / 2, "y": (my[0] + my[1]) / 2, "xref": "paper",
                    "yref": "paper", "showarrow": False, "textangle": -24, "opacity": 0.16,
                    "font": {"size": int(min(width, height) / 6), "color": "#b28700"}})
    layout = dict(fig["layout"])
    layout.update(width=width, height=height, shapes=shapes, annotations=ann, showlegend=True,
                  margin={"l": 0, "r": 0, "t": 0, "b": 0}, paper_bgcolor="white", font={"family": "DejaVu Sans, Arial"})
    layout["legend"] = {**layout.get("legend", {}), "x": legend_x, "y": map_domain["y"][1], "xanchor": "left",
                        "yanchor": "top", "bgcolor": "white", "bordercolor": "#999", "borderwidth": 1,
                        "font": {"size": 13}, "title": {"text": "<b>Legend</b>"}}
    layout["geo"] = {**layout["geo"], "domain": map_domain}
    layout.pop("title", None)
    return {"data": fig["data"], "layout": layout}


def snapshot_figure(snap: Snapshot, size: str = "slide") -> dict:
    """The framed geo figure of a snapshot, as a plotly figure dict."""
    if size not in SIZES:
        raise ExportError(f"unknown size {size!r}; use one of {', '.join(SIZES)}")
    width, height, _ = SIZES[size]
    bounds = snap.bounds or UKRAINE_BOUNDS
    fig = to_geo(map_figure(snap.plan, snap.analysis, snap.view), bounds)
    fig["data"] = fig["data"] + _scale_and_north(bounds)
    bh = 30 / height
    wh = 34 / height if snap.view.withdrawn else 0
    map_domain = {"x": [0.01, 0.78], "y": [bh + 44 / height, 1 - bh - wh - 104 / height]}
    y0, y1 = map_domain["y"]
    entries = [t for t in fig["data"] if t.get("showlegend")]
    legend_px = LEGEND_TITLE_PX + LEGEND_ROW_PX * len(entries)
    if legend_px > (y1 - y0) * height:  # too long for one column: every entry, in columns beside a narrower map
        map_domain["x"] = [0.01, 0.66]
        fig["data"] = [t for t in fig["data"] if not t.get("showlegend")] + _legend_tables(
            [(t["name"], _swatch(t)) for t in entries], {"x": [0.675, 0.99], "y": [y0, y1]}, height, width)
    else:  # the figures of the view under the legend: no dead space beside the map
        key = _key_table(_key_figures(snap), width, height, y0, y1 - (legend_px + 24) / height)
        fig["data"] += [key] if key else []
    return _frame(fig, title=snap.title or snap.default_title(), subtitle=snap.subtitle or snap.default_subtitle(),
                  marking=snap.banner or default_banner(), width=width, height=height, map_domain=map_domain,
                  whatif=whatif_text(snap.view.withdrawn), provenance=snap.provenance())


def _key_table(rows: list[list[str]], width: int, height: int, bottom: float, top: float) -> dict | None:
    """The key figures as a table in the right column, sized to the page (one line per row: long values are
    shortened, never wrapped out of their row); as many rows as fit, at least three, else nothing."""
    font = 14 if width >= 1500 else 9
    row_px = round(font * 1.9)
    fit = int(((top - bottom) * height - row_px - 16) // (row_px + 2)) - 1
    if fit < 3:
        return None
    rows = rows[:fit]

    # plotly draws a row a little taller than its height: the domain has room to spare, so no row is clipped
    return {"type": "table", "domain": {"x": [0.795, 0.99], "y": [top - ((row_px + 2) * (len(rows) + 2) + 16) / height,
                                                                    top]},
            "columnwidth": [0.34, 0.66],
            "header": {"values": ["<b>Figures</b>", "<b>of this view</b>"], "fill": {"color": "#e8ecf0"}, "align": "left",
                       "height": row_px, "font": {"size": font}},
            "cells": {"values": [[r[0] for r in rows], [_one_line(r[1], 0.195 * width * 0.66, font) for r in rows]],
                      "align": "left",
                      "height": row_px, "font": {"size": font}}}


#: the plotly legend's title and row heights at its 13 px font (measured on rendered slides)
LEGEND_TITLE_PX, LEGEND_ROW_PX = 34, 19.5


def _key_figures(snap: Snapshot) -> list[list[str]]:
    """The view's numbers for the space under a snapshot's legend (the same :func:`view_figures` as its subtitle)."""
    f = snap.figures()
    names = oblast_names()
    rows = [["Covered", f"{f['covered_pct']:.1f} % ({f['covered_km2']:,.0f} km²)"],
            ["Gap", f"{f['gap_km2']:,.0f} km², {len(f['gaps']):,} piece{'s' if len(f['gaps']) != 1 else ''}"]]
    if f["band"]:
        rows.insert(0, ["Band", f["band"]])
    if f["gaps"]:
        g = f["gaps"][0]
        rows += [["Largest gap", f"{g['area_km2']:,.0f} km²"], ["… in", oblasts_in_words(g["oblasts"][:2], names)]]
    rows += [["Overlap", f"{f['overlap_km2']:,.0f} km²"], ["Conflict", f"{f['conflict_km2']:,.0f} km²"]]
    d = snap.analysis.domains[snap.view.domain]
    in_layer = set(snap.plan.sectors.loc[snap.plan.sectors["layer"] == snap.view.domain, "sector_id"])
    unassigned = [s for s in snap.analysis.unassigned_sectors if s in in_layer]
    rows.append(["Unassigned", f"{d['unassigned_sectors']} sector{'s' if d['unassigned_sectors'] != 1 else ''}"
                 + (f": {_id_count(unassigned, 2)}" if unassigned else "")])
    if {"sensors", "unwatched"} & set(snap.view.layers):
        w = sensor_view(snap.plan, snap.analysis, snap.view.domain, snap.view.sensor_altitude_ft)
        if w is not None:
            rows.append(["Watched", f"{w['covered_pct']:.1f} % (smooth earth)"])
    if snap.view.withdrawn:
        rows.append(["What-if", f"without {', '.join(snap.view.withdrawn)}"])
    return rows


class _WorkerGone(ExportError):
    """The render worker exited (or garbled its reply) before answering."""


class _Renderer:
    """The render worker process (``python -m ua_coverage.export._render``), kept warm between exports."""

    def __init__(self, timeout: float) -> None:
        from .._proc import spawn

        self.log = tempfile.TemporaryFile()
        self.proc = spawn("ua_coverage.export._render", "--idle", str(RENDER_IDLE_S), stderr=self.log,
                          new_session=True)
        try:
            self.reply(timeout, "starting the renderer")
        except _WorkerGone as exc:
            raise ExportError(str(exc)) from None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def reply(self, timeout: float, what: str) -> dict:
        from ._render import read_message

        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.kill()
            raise ExportError(f"{what} took longer than {timeout:g} s and was stopped; try a smaller size "
                              "or fewer layers")
        try:
            msg = read_message(self.proc.stdout)
        except (ValueError, EOFError):  # not a whole JSON frame
            msg = None
        if msg is None:
            self.kill()
            raise _WorkerGone(f"rendering failed{self.hint()}: {self.tail()}")
        return msg

    def tail(self) -> str:
        self.log.seek(0)
        lines = self.log.read().decode("utf-8", "replace").strip().splitlines()[-3:]
        return " | ".join(lines)[:400] or "the renderer exited"

    def hint(self) -> str:
        t = self.tail()
        if "Chrom" in t or "browser" in t.lower():
            return " (is Debian's chromium installed at /usr/bin/chromium, or BROWSER_PATH set?)"
        return ""

    def kill(self) -> None:
        # the browser runs in a session of its own (kaleido's launcher starts it so): kill the whole tree
        from .._proc import kill_tree

        kill_tree(self.proc)

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001 - best effort at exit
            self.kill()


#: seconds a warm renderer waits for the next export before it exits (and frees its browser)
RENDER_IDLE_S = 600
_RENDERER: _Renderer | None = None
_RENDER_LOCK = threading.Lock()
atexit.register(lambda: _close_renderer())


def _close_renderer() -> None:
    global _RENDERER
    if _RENDERER is not None:
        _RENDERER.close()
        _RENDERER = None


def render(jobs: list[dict], timeout: float = 90) -> None:
    """Render figure dicts to files in the render worker; raise :class:`ExportError` on failure or timeout.

    The worker (and its browser) stays up between exports, so only the first export of a session pays
    for starting Chromium; a worker that timed out, crashed or went idle is replaced on the next call.
    """
    from ._render import write_message

    global _RENDERER
    with _RENDER_LOCK:
        for attempt in (1, 2):
            if _RENDERER is None or not _RENDERER.alive():
                if _RENDERER is not None:
                    _RENDERER.kill()
                _RENDERER = _Renderer(timeout)
            try:
                write_message(_RENDERER.proc.stdin, {"jobs": jobs})
            except (BrokenPipeError, OSError):
                _RENDERER.kill()  # it went idle or died in between: start another once
                if attempt == 2:
                    raise ExportError(f"rendering failed: {_RENDERER.tail()}") from None
                continue
            try:
                reply = _RENDERER.reply(timeout, "rendering")
            except _WorkerGone as exc:
                if attempt == 2:  # it exited while taking the request (idle timeout): once more
                    _RENDERER = None
                    raise ExportError(str(exc)) from None
                continue
            except ExportError:
                _RENDERER = None
                raise
            if not reply.get("ok"):
                raise ExportError(f"rendering failed{_RENDERER.hint()}: {reply.get('error', '')[:400]}")
            return


def export_snapshot(snap: Snapshot, fmt: str, out: str | Path, *, size: str = "slide", timeout: float = 90) -> Path:
    """Write one snapshot as PNG, SVG, PDF or standalone HTML."""
    out = Path(out)
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    fig = snapshot_figure(snap, size)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        out.write_text(standalone_html(fig, title=snap.title or snap.default_title()), encoding="utf-8")
        return out
    width, height, scale = SIZES[size]
    render([{"figure": fig, "path": str(out), "format": fmt, "width": width, "height": height,
             "scale": scale if fmt == "png" else 1}], timeout=timeout)
    return out


def standalone_html(fig: dict, title: str) -> str:
    """A self-contained HTML page (plotly.js inline, TopoJSON embedded): opens from disk with no network."""
    import plotly.io as pio

    layout = dict(fig["layout"])
    layout.pop("width", None)
    layout.pop("height", None)
    layout["autosize"] = True
    body = pio.to_html({"data": fig["data"], "layout": layout}, include_plotlyjs=True, full_html=False,
                       default_width="100%", default_height="100vh", validate=False,
                       config={"displaylogo": False, "responsive": True})
    topo = json.dumps({"world_110m": empty_topojson(), "world_50m": empty_topojson()})
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + _esc(title) + "</title>"
            # the toolbar sits under the banner and the what-if stripe (each a share of the page height), not on them
            "<style>html,body{margin:0;height:100%}"
            ".js-plotly-plot .plotly .modebar-container{top:calc(6.3vh + 4px) !important}</style></head><body>"
            f"<script>window.PlotlyGeoAssets = {{topojson: {topo}}};</script>{body}</body></html>")


def _esc(text: str) -> str:
    import html

    return html.escape(text)


# -- briefing pack ---------------------------------------------------------------------------------------
def _table(header: list[str], rows: list[list], domain: dict, widths: list[float] | None = None) -> dict:
    cols = [[plotly_text(v) if isinstance(v, str) else v for v in col] for col in zip(*rows)] if rows \
        else [[] for _ in header]
    return {"type": "table", "domain": domain, "columnwidth": widths,
            "header": {"values": [f"<b>{plotly_text(h)}</b>" for h in header], "fill": {"color": "#e8ecf0"},
                       "align": "left", "font": {"size": 12}},
            "cells": {"values": cols, "align": "left", "font": {"size": 11}, "height": 22}}


def _page(title: str, subtitle: str, marking: str, traces: list[dict], extra_layout: dict | None = None,
          whatif: str = "", provenance: str = "") -> dict:
    width, height, _ = SIZES["a4"]
    fig = {"data": traces, "layout": {**(extra_layout or {})}}
    domain = (extra_layout or {}).get("geo", {}).get("domain") or {"x": [0, 1], "y": [0, 1]}
    if "geo" not in fig["layout"]:
        fig["layout"]["geo"] = {"visible": False, "domain": {"x": [0, 0.01], "y": [0, 0.01]}}
    return _frame(fig, title=title, subtitle=subtitle, marking=marking, width=width, height=height,
                  map_domain=domain, legend_x=(extra_layout or {}).get("_legend_x", 0.795), whatif=whatif,
                  provenance=provenance)


#: continuation pages a domain's gap or overlap table may take before its last row counts the rest
MAX_CONTINUATION_PAGES = 3


#: a pack table's row and (two-line) header heights, px on the A4 page
ROW_PX, HEADER_PX = 22, 46


def _rows_fit(y0: float, y1: float, page_height: int = 794) -> int:
    """How many one-line rows a table drawn between ``y0`` and ``y1`` (page fractions) holds under its header."""
    return max(int(((y1 - y0) * page_height - HEADER_PX) // (ROW_PX + 1)), 2)


class TableFlow:
    """A pack table that continues itself: its first rows where the page has room, the rest on continuation pages
    under the same header, and — only past ``max_pages`` continuation pages — one last row saying exactly how many
    rows and km² are left and which file of the data export holds them. No caller slices rows.

    >>> t = TableFlow(["km²"], [[str(i)] for i in range(30)], [1.0], pieces=[{"area_km2": 1.0}] * 30, what="gaps",
    ...               file="gaps.csv", max_pages=1)
    >>> first = t.take(5); pages = t.pages(10)
    >>> len(first), [len(p) for p in pages], pages[-1][-1][0]
    (5, [10], '+16 more 16.0 km² in all gaps listed in gaps.csv (data export)')
    """

    def __init__(self, header, rows, widths, *, pieces=None, what: str = "rows", file: str = "",
                 max_pages: int | None = None):
        self.header, self.widths = header, widths
        self.rows, self.pieces = list(rows), list(pieces) if pieces is not None else None
        self.what, self.file, self.max_pages = what, file, max_pages
        self.at = 0

    def take(self, n: int) -> list[list]:
        """The next ``n`` rows (fewer at the end)."""
        out = self.rows[self.at:self.at + n]
        self.at += len(out)
        return out

    def pages(self, per_page: int) -> list[list[list]]:
        """What is left, in chunks of ``per_page`` rows; the last row of the last allowed page counts the rest."""
        out = []
        while self.at < len(self.rows):
            if self.max_pages is not None and len(out) == self.max_pages - 1 \
                    and len(self.rows) - self.at > per_page:
                chunk = self.take(per_page - 1)
                out.append(chunk + [self._more()])
                self.at = len(self.rows)
                break
            out.append(self.take(per_page))
        return out

    def _more(self) -> list[str]:
        rest = len(self.rows) - self.at
        km2 = sum(p["area_km2"] for p in (self.pieces or [])[self.at:])
        words = [f"+{rest:,} more", f"{km2:,.1f} km² in all" if self.pieces is not None else "",
                 f"{self.what} listed in {self.file or 'the data export'}", "(data export)" if self.file else ""]
        n = len(self.header)
        cells = words[:n - 1] + [" ".join(w for w in words[n - 1:] if w)]
        return cells + [""] * (n - len(cells))

    def left(self) -> int:
        return len(self.rows) - self.at


def _id_list(ids: list[str], n: int = 8) -> str:
    if not ids:
        return "-"
    return ", ".join(ids[:n]) + (f" … +{len(ids) - n} more" if len(ids) > n else "") + (
        f" ({len(ids)})" if len(ids) > n else "")


def _id_count(ids: list[str], n: int = 2) -> str:
    """Ids short enough for one line of a narrow cell: the count and the first ``n`` when there are more."""
    if len(ids) <= n:
        return ", ".join(ids) or "-"
    return f"{len(ids)}: {', '.join(ids[:n])} …"


def briefing_pack(plan, analysis, revision, out: str | Path, *, lang: str = "en", marking: str | None = None,
                  timeout: float = 240, withdrawn: tuple = (), day: str | None = None, timeline_plan=None) -> Path:
    """A multi-page A4 landscape PDF: overview, one page per domain (map, gaps, overlaps), the gap through time
    (when ``timeline_plan``, the whole plan behind ``plan``, has validity dates), contingents.

    A what-if (``withdrawn``) is stated on every page (a stripe, a watermark and the subtitle); tables longer
    than a page say how many rows they leave out; the contingents continue on further pages.
    """
    from pypdf import PdfWriter

    from ..view import extent_bounds

    marking = marking or default_banner()
    out = Path(out)
    width, height, _ = SIZES["a4"]
    wi = whatif_text(withdrawn)
    wh = 34 / height if wi else 0
    bh = 30 / height
    top, bottom = 1 - bh - wh - 110 / height, bh + 46 / height
    names = oblast_names()
    state = view_state(revision, plan, withdrawn=withdrawn, day=_day_text(plan, day))
    prov = " · ".join(state)  # every page's footer
    stamp = " · ".join([state[0], revision.message[:90], *state[1:]])
    pages = []
    rows = [[LAYER_TITLES[d], f"{v['extent_km2']:,.0f}", f"{v['covered_pct']:.1f} %", f"{v['gap_km2']:,.0f}",
             f"{v['overlap_km2']:,.0f}", f"{v['conflict_km2']:,.0f}", f"{v['unassigned_sectors']}"]
            for d, v in analysis.domains.items()]
    facts = [["Unassigned sectors", _id_list(analysis.unassigned_sectors, 20)],
             ["Contingents with nothing assigned", ", ".join(analysis.idle_contingents) or "none"],
             ["Codes unknown to the registry", ", ".join(analysis.unknown_contingents) or "none"],
             ["Largest gap", _largest(analysis.gaps, names)], ["Largest overlap", _largest(analysis.overlaps, names)]]
    if wi:
        facts.insert(0, ["What-if", f"{', '.join(withdrawn)} withdrawn: every figure in this pack is of the plan "
                                    "without them — not the plan"])
    title = f"Coverage briefing — plan revision {revision.id}" + (" — WHAT-IF" if wi else "")
    pages.append(_page(title, stamp, marking, provenance=prov, traces=[
        _table(["Domain", "Extent km²", "Covered", "Gap km²", "Overlap km²", "Conflict km²", "Unassigned sectors"],
               rows, {"x": [0.01, 0.99], "y": [0.5, top]}),
        _table(["Finding", ""], facts, {"x": [0.01, 0.99], "y": [bottom, 0.47]}, [0.3, 0.7])], whatif=wi))
    for domain in ("air", "sea", "land", "monitoring"):
        view = MapView(domain=domain, lang=lang, withdrawn=tuple(withdrawn))
        fig = to_geo(map_figure(plan, analysis, view), extent_bounds(plan, domain))
        gap_p = [g for g in analysis.gaps if g["domain"] == domain]
        # by whom, shortened to its cell by one rule (the full list is in gaps.csv and summary.json of the data export)
        gaps = [[f"{g['area_km2']:,.1f}", _one_line(oblasts_in_words(g["oblasts"][:3], names), 0.41 * 0.28 * width, 11),
                 _one_line(", ".join(g.get("sectors", [])) or "-", 0.41 * 0.2 * width, 11),
                 _one_line(_by_whom(g), 0.41 * 0.37 * width, 11)] for g in gap_p]
        ov_p = [o for o in analysis.overlaps if o["domain"] == domain]
        ovs = [[f"{o['area_km2']:,.1f}", _one_line(_id_count(o["sectors"], 2), 0.41 * 0.25 * width, 11),
                _one_line(", ".join(o["contingents"]), 0.41 * 0.33 * width, 11),
                _one_line(overlap_kind(o) + (" (on no day)" if o.get("on_no_day") else ""), 0.41 * 0.2 * width, 11)]
               for o in ov_p]  # one line each, in the page's words; every id is in overlaps.csv
        d = analysis.domains[domain]
        gap_t = TableFlow(["Gap km²", "oblasts", "unassigned", "by whom (border km)"], gaps, [0.15, 0.28, 0.2, 0.37],
                          pieces=gap_p, what="gaps", file="gaps.csv", max_pages=MAX_CONTINUATION_PAGES)
        ov_t = TableFlow(["Overlap km²", "sectors", "contingents", "kind"], ovs, [0.22, 0.25, 0.33, 0.2],
                         pieces=ov_p, what="overlaps", file="overlaps.csv", max_pages=MAX_CONTINUATION_PAGES)
        here_g = gap_t.take(_rows_fit(0.62, top) - (1 if len(gaps) > _rows_fit(0.62, top) else 0))
        here_o = ov_t.take(_rows_fit(0.33, 0.60) - (1 if len(ovs) > _rows_fit(0.33, 0.60) else 0))
        cont = []
        for flow, kind in ((gap_t, "gaps"), (ov_t, "overlaps")):
            if flow.left():
                chunks = flow.pages(_rows_fit(bottom, top))
                cont += [(kind, k + 2, len(chunks) + 1, rows_k, flow) for k, rows_k in enumerate(chunks)]
        def _cont_note(flow, kind):
            n = sum(1 for c in cont if c[0] == kind)
            return ([["+" + f"{len(flow.rows) - len(here_g if kind == 'gaps' else here_o):,}", "continued on",
                      f"the next {'page' if n == 1 else f'{n} pages'}"] + [""] * (len(flow.header) - 3)]
                    if n else [])
        traces = fig["data"] + _scale_and_north(extent_bounds(plan, domain)) + [
            _table(gap_t.header, (here_g + _cont_note(gap_t, "gaps")) or [["none", "", "", ""]],
                   {"x": [0.58, 0.99], "y": [0.62, top]}, gap_t.widths),
            _table(ov_t.header, (here_o + _cont_note(ov_t, "overlaps")) or [["none", "", "", ""]],
                   {"x": [0.58, 0.99], "y": [0.33, 0.60]}, ov_t.widths)]
        layout = {**fig["layout"], "geo": {**fig["layout"]["geo"], "domain": {"x": [0.0, 0.56], "y": [bottom, top]}}}
        sub = " · ".join([state[0], f"covered {d['covered_pct']:.1f} %, gap {d['gap_km2']:,.0f} km², "
                                    f"overlap {d['overlap_km2']:,.0f} km²", *state[1:]])
        page = _page(f"{LAYER_TITLES[domain]} domain", sub, marking, traces, layout, whatif=wi, provenance=prov)
        page["data"] = [t for t in page["data"] if not t.get("showlegend")] + _legend_tables(
            [(t["name"], _swatch(t)) for t in page["data"] if t.get("showlegend")],
            {"x": [0.58, 0.99], "y": [bottom, 0.31]}, height)
        page["layout"].pop("_legend_x", None)
        pages.append(page)
        for kind, k, n, rows_k, flow in cont:
            pages.append(_page(f"{LAYER_TITLES[domain]} domain — {kind}, continued ({k} of {n})", sub, marking,
                               provenance=prov, whatif=wi, traces=[
                                   _table(flow.header, rows_k, {"x": [0.01, 0.99], "y": [bottom, top]}, flow.widths)]))
    if len(getattr(plan, "sensors", ())):
        pages.append(_sensors_page(plan, analysis, lang, marking, stamp, wi, top, bottom, withdrawn, prov))
    if timeline_plan is not None and timeline_plan.change_dates():
        pages.append(_timeline_page(timeline_plan, marking, stamp, wi, top, bottom, day, prov))
    # one line per nation (a wrapped row would push the last ones off the page): ids as a count and the first ones,
    # every one of them in contingents.csv of the data export; the table flows onto as many pages as it needs
    widths = [0.09, 0.11, 0.1, 0.1, 0.22, 0.18, 0.2]
    col_px = [0.98 * width * w for w in widths]
    idle = set(analysis.idle_contingents)
    crow = [[c + (" (withdrawn)" if c in withdrawn else "") + (" (idle)" if c in idle else ""),
             f"{v['assigned_km2']:,.0f}", f"{v['exclusive_km2']:,.0f}", f"{v['shared_km2']:,.0f}",
             _one_line(_id_count(v["lead_sectors"], 3), col_px[4], 11),
             _one_line(_id_count(v["supporting_sectors"], 3), col_px[5], 11),
             _one_line(", ".join(v["shares_with"]) or "-", col_px[6], 11)] for c, v in analysis.contingents.items()]
    chunks = TableFlow([], crow, widths).pages(_rows_fit(bottom, top)) or [[]]  # every nation, no cap
    for k, chunk in enumerate(chunks):
        part = f" ({k + 1} of {len(chunks)})" if len(chunks) > 1 else ""
        pages.append(_page(f"Contingents{part}", f"{stamp} · {len(crow):,} nations · leads and supports as a count "
                           "and the first ids: every id is in contingents.csv of the data export", marking,
                           provenance=prov, traces=[
            _table(["Code", "Assigned km²", "Alone km²", "Shared km²", "Leads", "Supports", "Shares with"], chunk,
                   {"x": [0.01, 0.99], "y": [bottom, top]}, widths)], whatif=wi))
    for p in pages:
        p["layout"].pop("_legend_x", None)
        p["layout"]["showlegend"] = any(t.get("showlegend") for t in p["data"])
    with tempfile.TemporaryDirectory(prefix="ua-pack-") as tmp:
        jobs = [{"figure": p, "path": str(Path(tmp) / f"p{i:02d}.pdf"), "format": "pdf", "width": width,
                 "height": height} for i, p in enumerate(pages)]
        render(jobs, timeout=timeout)
        writer = PdfWriter()
        for j in jobs:
            writer.append(j["path"])
        writer.add_metadata({"/Title": title, "/Subject": marking + (f" — {wi}" if wi else ""),
                             "/Creator": "ua-coverage"})
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "wb") as fh:
            writer.write(fh)
    return out


def _sensors_page(plan, analysis, lang: str, marking: str, stamp: str, whatif: str, top: float, bottom: float,
                  withdrawn: tuple, provenance: str = "") -> dict:
    """The pack's "Watched by sensors" page: the land map with the sensors, their reach and the unwatched area;
    what the sensors watch per domain (air per target altitude), the assigned sectors no sensor watches, and
    the watch per contingent. Smooth earth: the page says terrain masking is not modelled."""
    from ..engine.sensors import watched
    from ..view import extent_bounds

    height = SIZES["a4"][1]
    w = watched(plan.sensors, plan.full_extents(), plan.sectors)
    view = MapView(domain="land", lang=lang, withdrawn=tuple(withdrawn),
                   layers=("zones", "sensors", "unwatched", "labels"))
    fig = to_geo(map_figure(plan, analysis, view), extent_bounds(plan, "land"))
    def km2(v: float) -> str:
        return f"{max(v, 0.0):,.0f}"  # a fully watched extent is 0 km² unwatched, never "-0"

    rows = [[LAYER_TITLES[d], f"{w[d]['sensors']}", km2(w[d]["covered_km2"]), f"{w[d]['covered_pct']:.1f} %",
             km2(w[d]["gap_km2"])] for d in ("land", "sea")]
    rows += [[f"Air at {a['altitude_ft']:,.0f} ft", f"{w['air']['sensors']}", km2(a["covered_km2"]),
              f"{a['covered_pct']:.1f} %", km2(a["gap_km2"])] for a in w["air"]["altitudes"][:4]]
    if len(w["air"]["altitudes"]) > 4:
        rows.append([f"… +{len(w['air']['altitudes']) - 4} more altitudes: ua-coverage analyze --sensors --json",
                     "", "", "", ""])
    layer_of = dict(zip(plan.sectors["sector_id"].astype(str), plan.sectors["layer"]))
    # one line per row (the heights below count lines): a long list as its count and first ids
    unwatched = [[LAYER_TITLES[lay], _one_line(_id_count([s for s in w["unwatched_sectors"] if layer_of.get(s) == lay],
                                                         5), 0.41 * 0.7 * SIZES["a4"][0], 11)]
                 for lay in ("air", "sea", "land", "monitoring")]
    crow = []
    for code, v in w["contingents"].items():
        parts = [f"{LAYER_TITLES[lay]} {v[lay]['watched_km2']:,.0f}" for lay in ("land", "sea") if lay in v]
        parts += [f"air at {a['altitude_ft']:,.0f} ft {a['watched_km2']:,.0f}" for a in v.get("air", [])[:2]]
        # its sensors: land and sea, and the air ones once (they are the same sensors at every altitude)
        count = sum(v[lay]["sensors"] for lay in ("land", "sea") if lay in v) + (v["air"][0]["sensors"] if v.get("air")
                                                                                 else 0)
        crow.append([code, f"{count}", _one_line("; ".join(parts), 0.41 * 0.66 * SIZES["a4"][0], 11)])
    t1_bottom = top - (50 + 22 * len(rows)) / height
    t2_bottom = t1_bottom - 0.02 - (40 + 24 * len(unwatched)) / height
    room = max(int((t2_bottom - 0.02 - bottom) * height / 22) - 2, 2)
    if len(crow) > room:  # the note in the wide column: it never wraps out of its row
        crow = crow[:room - 1] + [[f"+{len(crow) - room + 1}", "", "more contingents: ua-coverage analyze --sensors"]]
    traces = fig["data"] + _scale_and_north(extent_bounds(plan, "land")) + [
        _table(["Domain", "Sensors", "Watched km²", "Watched", "Unwatched km²"], rows,
               {"x": [0.58, 0.99], "y": [t1_bottom, top]}, [0.28, 0.15, 0.2, 0.15, 0.22]),
        _table(["Unwatched", "Assigned sectors no sensor watches"], unwatched, {"x": [0.58, 0.99], "y": [t2_bottom, t1_bottom - 0.02]},
               [0.3, 0.7]),
        _table(["Contingent", "Sensors", "Watched km² (lead or support)"], crow or [["none", "", ""]],
               {"x": [0.58, 0.99], "y": [bottom, t2_bottom - 0.02]}, [0.2, 0.14, 0.66])]
    map_bottom = bottom + 34 / height
    layout = {**fig["layout"], "geo": {**fig["layout"]["geo"], "domain": {"x": [0.0, 0.56], "y": [map_bottom, top]}}}
    page = _page("Watched by sensors", f"{stamp} · {w['note']}", marking, traces, layout, whatif=whatif,
                 provenance=provenance)
    page["layout"]["showlegend"] = False
    page["data"] = [t for t in page["data"] if not t.get("showlegend")]
    page["layout"]["annotations"].append({
        "text": "Map: land. Hatched orange = unwatched; dark outline = a sensor's reach; grey ring = its<br>nominal "
                "range beyond the radar horizon; dot = a sensor, in its lead contingent's colour.",
        "x": 0.0, "y": bottom, "xref": "paper", "yref": "paper", "xanchor": "left", "yanchor": "bottom",
        "showarrow": False, "font": {"size": 10, "color": "#333"}})
    return page


def _timeline_page(plan, marking: str, stamp: str, whatif: str, top: float, bottom: float,
                   day: str | None, provenance: str = "") -> dict:
    """The pack's "gap through time" page: gap km² per layer between change dates with the handover gaps
    marked (the dashboard's chart), the handover-gap table and the intervals."""
    from datetime import date, timedelta

    from ..engine.timeline import timeline
    from ..figures import timeline_figure

    rows, holes = timeline(plan)
    chart = timeline_figure(rows, holes, day)
    dated = [r["from"] for r in rows if r["from"]]
    first, last = date.fromisoformat(dated[0]), date.fromisoformat(dated[-1])
    tail = (last + max((last - first) / 12, timedelta(days=3))).isoformat()  # the open last interval, drawn on
    top_y = 1.0
    for tr in chart["data"]:
        tr.update(xaxis="x", yaxis="y", showlegend=True)
        tr.pop("customdata", None)
        top_y = max([top_y, *tr["y"]])
        if tr["mode"].startswith("lines"):
            tr.update(x=tr["x"] + [tail], y=tr["y"] + [tr["y"][-1]], marker={"size": [5] * len(tr["x"]) + [0]})
    if holes:  # on paper the diamonds say what they are
        chart["data"][-1].update(mode="markers+text", text=[f"{h['layer']} +{h['extra_km2']:,.0f} km²" for h in holes],
                                 textposition="top center", textfont={"size": 11})
    height = SIZES["a4"][1]
    chart_y = [0.60, top - 34 / height]

    def last_day(to):
        return (date.fromisoformat(to) - timedelta(days=1)).isoformat() if to else "open"

    hrows = [[LAYER_TITLES[h["layer"]], h["from"], last_day(h["to"]),
              f"{(date.fromisoformat(h['to']) - date.fromisoformat(h['from'])).days}",
              f"{h['extra_km2']:,.0f}", f"{h['gap_km2']:,.0f}", _id_count(h["ended"], 3), _id_count(h["started"], 3)]
             for h in holes[:6]]
    if len(holes) > 6:
        hrows.append([f"… and {len(holes) - 6} more handover gaps — full list: ua-coverage analyze --timeline --json"]
                     + [""] * 7)
    layers = list(rows[0]["domains"])
    irows = [[r["from"], last_day(r["to"]),
              ", ".join(r["phase"]) or "-", f"{r['active_sectors']}", _id_count(r["starting"]),
              _id_count(r["ending"]), *[f"{r['domains'][lay]['gap_km2']:,.0f}" for lay in layers]]
             for r in rows if r["from"]]
    h_top = 0.545
    i_top = h_top - (62 + 26 * max(len(hrows), 1)) / height - 0.03  # the intervals right under the handover gaps
    room = max(int((i_top - bottom) * height / 24) - 2, 3)  # rows of one line; the last note takes two
    if len(irows) > room:  # the note sits in the wide columns, so it never wraps out of its row
        irows = irows[:room - 1] + [[f"… +{len(irows) - room + 1}", "", "", "", "more intervals: the full list is in",
                                     "ua-coverage analyze --timeline --json"] + [""] * len(layers)]
    traces = chart["data"] + [
        _table(["Handover gap in", "From", "To (incl.)", "Days", "Extra gap km²", "Gap km²", "Ended", "Started"],
               hrows or [["none", "", "", "", "", "", "no layer's gap is larger than before and after it", ""]],
               {"x": [0.01, 0.99], "y": [i_top + 0.03, h_top]}, [0.12, 0.09, 0.09, 0.05, 0.1, 0.09, 0.23, 0.23]),
        _table(["From", "To (incl.)", "Phase", "Active", "Starting", "Ending",
                *[f"{LAYER_TITLES[lay]} gap km²" for lay in layers]], irows,
               {"x": [0.01, 0.99], "y": [bottom, i_top]}, [0.08, 0.08, 0.1, 0.05, 0.2, 0.2] + [0.075] * len(layers))]
    layout = {"xaxis": {**chart["layout"]["xaxis"], "domain": [0.07, 0.98], "anchor": "y"},
              "yaxis": {**chart["layout"]["yaxis"], "domain": chart_y, "anchor": "x", "range": [0, top_y * 1.18]},
              "legend": {"orientation": "h"}, "plot_bgcolor": "white"}
    page = _page("Gap through time", stamp, marking, traces, layout, whatif=whatif, provenance=provenance)
    page["layout"]["legend"] = {"orientation": "h", "x": 0.07, "y": top - 4 / height, "xanchor": "left",
                                "yanchor": "top", "font": {"size": 12}, "bgcolor": "white"}
    if day:  # the day the rest of the pack shows
        page["layout"]["shapes"].append({"type": "line", "xref": "x", "yref": "y domain", "x0": day, "x1": day,
                                         "y0": 0, "y1": 1, "line": {"color": "#333", "width": 1.5, "dash": "dot"}})
        page["layout"]["annotations"].append({"text": f" this pack: {day}", "x": day, "xref": "x", "y": 0.02,
                                              "yref": "y domain", "showarrow": False, "xanchor": "left",
                                              "yanchor": "bottom", "bgcolor": "white",
                                              "font": {"size": 11, "color": "#333"}})
    return page


def _swatch(trace: dict) -> str:
    """The colour a legend entry shows (the figure code gives each entry its fill as the map shows it)."""
    return trace.get("marker", {}).get("color") or trace.get("line", {}).get("color") or "#888888"


def _legend_tables(entries: list[tuple[str, str]], domain: dict, page_height: int = 794,
                   page_width: int = 1123) -> list[dict]:
    """A legend as tables of colour swatches and names, in as many columns as it needs (up to four); a name too
    long for its column is shortened (its code first, so the colour is still named), and entries that still do
    not fit are counted in a last row, never dropped without a word."""
    rows_fit = max(int((domain["y"][1] - domain["y"][0]) * page_height / 17) - 1, 3)
    cols = min(max(-(-len(entries) // rows_fit), 2), 4)
    cap = rows_fit * cols
    if len(entries) > cap:
        entries = entries[:cap - 1] + [(f"… and {len(entries) - cap + 1} more (see the data export)", "#ffffff")]
    per = -(-len(entries) // cols)
    x0, x1 = domain["x"]
    step = (x1 - x0) / cols
    font = 9 if cols < 4 else 8

    out = []
    for k in range(cols):
        part = entries[k * per:(k + 1) * per]
        if not part:
            continue
        xs = [x0 + k * step + (0.003 if k else 0), x0 + (k + 1) * step - 0.003]
        out.append({"type": "table", "domain": {"x": xs, "y": domain["y"]}, "columnwidth": [0.14, 0.86],
                    "header": {"values": ["", "<b>Legend</b>" if k == 0 else ""], "fill": {"color": "white"},
                               "align": "left", "height": 18, "font": {"size": 10}, "line": {"width": 0}},
                    "cells": {"values": [["" for _ in part], [_one_line(n, step * page_width * 0.84, font) for n, _ in part]],
                              "fill": {"color": [[c for _, c in part], ["white"] * len(part)]},
                              "align": "left", "height": 17, "font": {"size": font},
                              "line": {"color": "#bbb"}}})
    return out


def _by_whom(gap: dict, n: int = 2) -> str:
    """The nations at a gap piece's edge for a pack's cell: ``FRA 687 km, BEL 687 km +3 · idle PRT``."""
    cands = gap.get("candidates") or []
    busy = [c for c in cands if not c["idle"]]
    text = ", ".join(f"{c['code']} {c['border_km']:,.0f} km" for c in busy[:n]) + (
        f" +{len(busy) - n}" if len(busy) > n else "")
    idle = [c["code"] for c in cands if c["idle"]]
    return (text or "-") + (f" · idle {', '.join(idle[:3])}" + (" …" if len(idle) > 3 else "") if idle else "")


def _one_line(text: str, width_px: float, font: int) -> str:
    """``text`` shortened (with "…") to one line of a table cell ``width_px`` wide: plotly wraps a cell's text once
    it passes the cell less its padding (about 16 px) at about 0.6 em a character (measured on rendered pages), and
    a wrapped row would spill out of the heights the pages reserve."""
    chars = max(int((width_px - 16) / (font * 0.66)) - 1, 8)
    return text if len(text) <= chars else text[:chars - 1] + "…"


def _largest(pieces: list[dict], names: dict | None = None) -> str:
    if not pieces:
        return "none"
    p = pieces[0]
    return (f"{LAYER_TITLES[p['domain']]}: {p['area_km2']:,.0f} km² in {oblasts_in_words(p['oblasts'][:3], names)}"
            + (f" ({', '.join(p['sectors'][:6])})" if p.get("sectors") else ""))


def run_export(plan, analysis, revision, fmt: str, out: str | Path, *, view: MapView | None = None,
               bounds: tuple | None = None, title: str | None = None, subtitle: str | None = None,
               banner: str | None = None, size: str = "slide", timeout: float = 120, zip_data: bool = False,
               day: str | None = None) -> Path:
    """One export of any format — the single dispatch used by the command line and the dashboard.

    ``fmt`` is ``png``, ``svg``, ``pdf``, ``html`` (a snapshot of ``view``), ``pack`` (the briefing PDF) or
    ``data`` (a folder of layers and tables at ``out``; a zip of it beside ``out`` when ``zip_data``). With
    ``day``, ``analysis`` must be that day's; the map draws the sectors active then and every page says the day.
    """
    out = Path(out)
    view = view or MapView()
    drawn = plan.on(day) if day else plan
    band_text = view_figures(analysis, view.domain, view.band)["band"] if view.band is not None else None
    state = view_state(revision, drawn, band_text=band_text, withdrawn=view.withdrawn, day=_day_text(drawn, day))
    if fmt in ("kml", "kmz"):
        from .kml import write_kml

        return write_kml(drawn, analysis, out, marking=banner or default_banner(), state=state, kmz=fmt == "kmz")
    if fmt == "data":
        export_data(analysis, out, plan=drawn, state=state)
        if zip_data:
            import shutil

            return Path(shutil.make_archive(str(out), "zip", out))
        return out
    if fmt == "pack":
        return briefing_pack(drawn, analysis, revision, out, lang=view.lang, marking=banner, timeout=timeout,
                             withdrawn=view.withdrawn, day=day, timeline_plan=plan)
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of {', '.join(ALL_FORMATS)}")
    snap = Snapshot(drawn, analysis, revision, view, bounds=bounds, title=title, subtitle=subtitle, banner=banner,
                    day=day)
    return export_snapshot(snap, fmt, out, size=size, timeout=timeout)
