"""Uploading a revised sector file: validate, preview the change against the current revision, commit."""
from __future__ import annotations

import base64
import html as _html
import secrets

import dash
from dash import Input, Output, State, dash_table, dcc, html

from ..errors import ConflictError, CoverageError
from ..settings import MB, Limits
from .auth import current_user
from .state import AppState

FORMATS_TEXT = "GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ, FlatGeobuf or CSV with a WKT column"


class Pending:
    """Accepted uploads waiting for commit or discard, by token.

    Kept as files in ``DATA_DIR/pending`` (written by this app only, never under the client's name) so that
    any worker of a multi-worker deployment can commit what another one previewed. Items expire after an hour.
    """

    TTL_S = 3600

    def __init__(self, directory):
        from pathlib import Path

        self.dir = Path(directory) / "pending"
        self.dir.mkdir(parents=True, exist_ok=True)

    def _path(self, token: str):
        if not token or not all(c.isalnum() or c in "-_" for c in token):
            return None
        return self.dir / f"{token}.pkl"

    def put(self, item: dict) -> str:
        import os
        import pickle
        import time

        for old in self.dir.glob("*.pkl"):  # expire abandoned previews
            if time.time() - old.stat().st_mtime > self.TTL_S:
                old.unlink(missing_ok=True)
        token = secrets.token_urlsafe(16)
        tmp = self.dir / f".{token}.tmp"
        with open(tmp, "wb") as fh:
            pickle.dump(item, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self._path(token))
        return token

    def get(self, token: str | None) -> dict | None:
        import pickle

        p = self._path(token or "")
        if p is None or not p.exists():
            return None
        with open(p, "rb") as fh:
            return pickle.load(fh)  # our own file, written by put()

    def drop(self, token: str | None) -> None:
        p = self._path(token or "")
        if p is not None:
            p.unlink(missing_ok=True)


def layout(state: AppState, limits: Limits):
    cur = state.store.current()
    user = current_user()
    max_bytes = int(limits.max_file_mb * MB)
    return html.Div([
        html.H2("Upload a revised sector file"),
        html.P([f"Accepted: {FORMATS_TEXT}; at most {limits.max_file_mb:g} MB and "
                f"{limits.max_features:,} features. It is checked against ",
                html.B(f"revision {cur.id}"), f" ({_html.escape(cur.message)}), the current plan. "
                "Nothing changes until you commit."]),
        html.P(f"Signed in as {user.name}: " + ("you may commit." if user.can("editor") else
                                                "you may validate and preview, but committing needs the editor role."),
               className="hint"),
        html.Div(dcc.Upload(id="upload", max_size=max_bytes, multiple=False, className="dropzone", children=html.Div(
            ["Drag and drop a file here, or ", html.A("choose a file", href="#", className="pick")])),
            **{"data-max-bytes": str(max_bytes)}),
        html.P(id="upload-size-message", hidden=True, className="error", role="alert"),
        dcc.Loading(html.Div(id="upload-report", role="status"), type="default"),
        dcc.Store(id="pending"),
        html.Div(id="preview", hidden=True, children=[
            html.H3("Preview of the change"),
            html.Div(id="preview-summary"),
            dcc.Graph(id="change-map", style={"height": "520px"}, config={"displaylogo": False, "scrollZoom": True}),
            html.Div(id="preview-effect"),
            html.Div([
                dcc.Input(id="commit-message", placeholder="What does this revision change? (required)",
                          className="commit-message", maxLength=300),
                html.Button("Commit as a new revision", id="commit-button", n_clicks=0, className="commit-button"),
                html.Button("Discard", id="discard-button", n_clicks=0, className="discard-button"),
            ], className="commit-row"),
            dcc.Loading(html.Div(id="commit-status", role="status"), type="dot"),
        ]),
    ], className="page-narrow")


def _report_rejected(name: str, problems, cur_id: int) -> list:
    rows = [{"feature": "" if p.feature is None else p.feature, "sector": p.sector_id or "", "field": p.field or "",
             "rule": p.rule, "problem": p.message} for p in problems[:500]]
    return [html.Div([html.B(f"REJECTED: {name}"),
                      f" has {len(problems)} problem(s). Nothing was changed; revision {cur_id} is still current. "
                      "Fix the file and upload it again."], className="reject"),
            dash_table.DataTable(id="problems-table", data=rows, columns=[
                {"name": c, "id": c} for c in ("feature", "sector", "field", "rule", "problem")],
                style_cell={"textAlign": "left", "whiteSpace": "normal", "height": "auto", "fontSize": "12px"},
                style_header={"fontWeight": "600"}, page_action="none", sort_action="native")]


def _effect_table(effect: dict) -> html.Table:
    head = html.Tr([html.Th(x) for x in ("layer", "gap km² before", "after", "change", "overlap km² before",
                                         "after", "change")])
    rows = [html.Tr([html.Td(layer)] + [html.Td(f"{v[k][w]:+,.1f}" if w == "change" else f"{v[k][w]:,.1f}")
                                         for k in ("gap_km2", "overlap_km2") for w in ("before", "after", "change")])
            for layer, v in effect.items()]
    return html.Table([html.Thead(head), html.Tbody(rows)], className="effect", id="effect-table")


def _changes_list(d: dict) -> html.Ul:
    items = [html.Li(f"added {a['sector_id']} {a['name']} ({a['layer']}, {a['area_km2']:,.0f} km²)", className="added")
             for a in d["added"]]
    items += [html.Li(f"removed {r['sector_id']} {r['name']} ({r['layer']})", className="removed") for r in d["removed"]]
    items += [html.Li(f"reshaped {r['sector_id']}: +{r['gained_km2']:,.1f} km², −{r['lost_km2']:,.1f} km²",
                      className="reshaped") for r in d["reshaped"]]
    items += [html.Li(f"re-assigned {r['sector_id']}: {';'.join(r['from']) or 'unassigned'} → "
                      f"{';'.join(r['to']) or 'unassigned'}", className="reassigned") for r in d["reassigned"]]
    items += [html.Li(f"attributes of {r['sector_id']}: " + ", ".join(
        f"{k} {v['from']!r} → {v['to']!r}" for k, v in r["changes"].items()), className="attrs") for r in d["attributes"]]
    return html.Ul(items or [html.Li("no change: the file equals the current revision")], id="change-list",
                   className="changes")


def _preview(state: AppState, item: dict):
    """Diff, change map and coverage effect of a pending upload against its base revision."""
    from ..analysis import analyze
    from ..figures import change_figure
    from ..store.diff import coverage_effect_of, diff_plans

    base_plan = state.plan(item["base"])
    base_an = state.analysis(item["base"])
    new_an = analyze(item["plan"].sectors, item["plan"].full_extents(), item["plan"].contingents)
    d = diff_plans(base_plan, item["plan"])
    effect = coverage_effect_of(base_an.domains, new_an.domains)
    summary = html.P([html.B(f"ACCEPTED: {item['name']}"), f" ({item['format']}, {len(item['plan'].sectors)} sectors)"
                      f" — compared with revision {item['base']}."] +
                     [html.Br(), *(html.Span(f"warning: {w}", className="warn") for w in item["warnings"][:5])])
    return summary, change_figure(base_plan, item["plan"], d), html.Div([
        html.H4("Coverage effect (before → after)"), _effect_table(effect),
        html.H4("Changes by sector"), _changes_list(d)])


def register(app: dash.Dash, state: AppState, limits: Limits) -> None:
    from ..ingest import read_sectors
    from ..plan import Plan

    pending = Pending(state.store.data_dir)

    @app.callback(
        Output("upload-report", "children"), Output("pending", "data"), Output("preview", "hidden"),
        Output("preview-summary", "children"), Output("change-map", "figure"), Output("preview-effect", "children"),
        Output("commit-status", "children", allow_duplicate=True),
        Input("upload", "contents"), State("upload", "filename"), State("pending", "data"),
        prevent_initial_call=True,
    )
    def on_upload(contents, filename, old):
        pending.drop((old or {}).get("token"))
        cur = state.store.current()
        none = (dash.no_update,) * 3
        if not contents:
            return "", None, True, *none, ""
        try:
            data = base64.b64decode(contents.split(",", 1)[1], validate=False)
        except (IndexError, ValueError):
            return html.Div("The upload was damaged in transit; try again.", className="reject"), None, True, *none, ""
        name = str(filename or "the file")
        base_plan = state.plan(cur.id)
        res = read_sectors(data, registry=base_plan.registry(), strict=True, limits=limits)
        if res.problems:
            return _report_rejected(name, res.problems, cur.id), None, True, *none, ""
        plan = Plan(res.sectors, base_plan.contingents, base_plan.extents, base_plan.notional)
        item = {"plan": plan, "base": cur.id, "name": name, "format": res.format,
                "warnings": [str(w) for w in res.warnings]}
        token = pending.put(item)
        summary, fig, effect = _preview(state, item)
        return "", {"token": token, "base": cur.id}, False, summary, fig, effect, ""

    @app.callback(
        Output("commit-status", "children"), Output("pending", "data", allow_duplicate=True),
        Output("preview-summary", "children", allow_duplicate=True),
        Output("change-map", "figure", allow_duplicate=True), Output("preview-effect", "children", allow_duplicate=True),
        Input("commit-button", "n_clicks"), State("pending", "data"), State("commit-message", "value"),
        prevent_initial_call=True,
    )
    def on_commit(n, pend, message):
        user = current_user()
        keep = (dash.no_update,) * 4
        if not user.can("editor"):
            return html.Span(f"{user.name} may not commit: the editor role is needed. Nothing was changed.",
                             className="error"), *keep
        item = pending.get((pend or {}).get("token"))
        if item is None:
            return html.Span("There is no accepted upload to commit; upload the file again.", className="error"), *keep
        if not (message or "").strip():
            return html.Span("Write a message saying what this revision changes.", className="error"), *keep
        try:
            info = state.store.commit(item["plan"], base=item["base"], author=user.name, message=message.strip(),
                                      source_name=item["name"], source_format=item["format"])
        except ConflictError as exc:
            cur = state.store.current()
            item["base"] = cur.id  # refresh the preview against the plan as it is now
            token = pending.put(item)
            pending.drop(pend["token"])
            summary, fig, effect = _preview(state, item)
            return (html.Div([html.B("CONFLICT: "), exc.message, f" The preview below now compares your file with "
                              f"revision {cur.id}; review it and commit again."], className="reject"),
                    {"token": token, "base": cur.id}, summary, fig, effect)
        except CoverageError as exc:
            return html.Span(f"Commit failed: {exc.message}", className="error"), *keep
        pending.drop(pend["token"])
        if info.id == item["base"]:
            return html.Span(f"No change: the file equals revision {info.id}; nothing was committed."), None, *keep[:3]
        return (html.Div([html.B(f"Committed revision {info.id}"), f" by {info.author} at {info.time}: {info.message}. ",
                          dcc.Link("View it on the map", href=f"/?revision={info.id}")], className="ok"),
                None, *keep[:3])

    @app.callback(Output("preview", "hidden", allow_duplicate=True), Output("pending", "data", allow_duplicate=True),
                  Output("commit-status", "children", allow_duplicate=True),
                  Input("discard-button", "n_clicks"), State("pending", "data"), prevent_initial_call=True)
    def on_discard(n, pend):
        pending.drop((pend or {}).get("token"))
        return True, None, "Discarded; nothing was changed."
