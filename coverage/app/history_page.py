"""The revision history: who changed what and when; view, compare, roll back."""
from __future__ import annotations

import dash
from dash import Input, Output, State, dash_table, dcc, html

from .. import workflow
from ..errors import StoreError
from .auth import current_user
from .components import changes_list, effect_table, guarded, log
from .state import AppState

#: how often an open History page looks for revisions committed elsewhere (ms)
REFRESH_MS = 15_000


def _rows(state: AppState) -> tuple[list[dict], list[dict], int]:
    revs = state.store.history()
    cur = state.store.current().id
    rows = [{"revision": r.id, "parent": r.parent or "", "time (UTC)": r.time.replace("T", " ").replace("Z", ""),
             "author": r.author, "message": r.message, "sectors": r.sectors, "source": r.source_name,
             "notional": "yes" if r.notional else "",
             "gap km² (land)": round(r.summary.get("domains", {}).get("land", {}).get("gap_km2", 0), 1),
             "current": "◀ current" if r.id == cur else "",
             "view": f"[map](/?revision={r.id})"} for r in reversed(revs)]
    opts = [{"label": f"revision {r.id} — {r.message}", "value": r.id} for r in reversed(revs)]
    return rows, opts, cur


def layout(state: AppState):
    rows, opts, cur = _rows(state)
    first = opts[-1]["value"]
    return html.Div([
        html.H2("Plan revisions"),
        dcc.Interval(id="history-poll", interval=REFRESH_MS),
        dash_table.DataTable(id="history-table", data=rows, columns=[
            {"name": c, "id": c, **({"presentation": "markdown"} if c == "view" else {})} for c in rows[0]],
            style_cell={"textAlign": "left", "fontSize": "12.5px", "whiteSpace": "normal", "height": "auto"},
            style_header={"fontWeight": "600"}, sort_action="native", page_action="native", page_size=50,
            markdown_options={"link_target": "_self"}),
        html.H3("Compare two revisions"),
        html.Div([dcc.Dropdown(id="compare-a", options=opts, value=first, clearable=False),
                  dcc.Dropdown(id="compare-b", options=opts, value=cur, clearable=False)], className="compare-row"),
        html.Div(id="compare-result"),
        html.H3("Roll back"),
        html.P("Rolling back makes a new revision whose content equals the one you choose; nothing is deleted.",
               className="hint"),
        html.Div([dcc.Dropdown(id="rollback-target", options=opts, placeholder="revision to restore"),
                  dcc.Input(id="rollback-message", placeholder="Why? (required)", maxLength=300, className="commit-message"),
                  html.Button("Roll back", id="rollback-button", n_clicks=0, className="commit-button")],
                 className="commit-row"),
        html.Div(id="rollback-status", role="status"),
    ], className="page-narrow")


def register(app: dash.Dash, state: AppState) -> None:
    @app.callback(Output("compare-result", "children"), Input("compare-a", "value"), Input("compare-b", "value"))
    @guarded(0, 1)
    def compare(a, b):
        if a is None or b is None:
            return ""
        d = workflow.diff(state.store, int(a), int(b))
        return html.Div([effect_table(d.get("coverage", {})), changes_list(d)])

    @app.callback(Output("history-table", "data"), Output("compare-a", "options"), Output("compare-b", "options"),
                  Output("rollback-target", "options"), Output("compare-b", "value"),
                  Input("history-poll", "n_intervals"), Input("rollback-status", "children"),
                  State("history-table", "data"), State("compare-b", "value"), prevent_initial_call=True)
    def refresh(_n, _status, shown, b):
        """Show revisions committed since the page was drawn (here or by anyone else), without a reload."""
        try:
            rows, opts, cur = _rows(state)
        except StoreError as exc:  # an outage: keep what is shown and look again at the next tick
            log.warning("history refresh: %s", exc.message)
            return (dash.no_update,) * 5
        if shown and rows and shown[0] == rows[0] and len(shown) == len(rows):
            return (dash.no_update,) * 5
        shown_cur = next((r["revision"] for r in (shown or []) if r.get("current")), None)
        return rows, opts, opts, opts, cur if b == shown_cur else b

    @app.callback(Output("rollback-status", "children"), Input("rollback-button", "n_clicks"),
                  State("rollback-target", "value"), State("rollback-message", "value"), prevent_initial_call=True)
    @guarded(0, 1, "Roll back failed: ")
    def rollback(n, target, message):
        user = current_user()
        if not user.can("editor"):
            return html.Span(f"{user.name} may not roll back: the editor role is needed. Nothing was changed.",
                             className="error")
        if target is None or not (message or "").strip():
            return html.Span("Choose a revision and say why.", className="error")
        if len(message) > 500:
            return html.Span("Shorten the message to at most 500 characters.", className="error")
        before = state.store.current()
        info = workflow.rollback(state.store, int(target), author=user.name, message=message.strip())
        if info.id == before.id:
            return html.Span(f"Nothing to do: revision {before.id}, the current one, already has the content of "
                             f"revision {target}; no revision was made.")
        return html.Div([html.B(f"Committed revision {info.id}"), f" with the content of revision {target}. ",
                         dcc.Link("View it on the map", href=f"/?revision={info.id}")], className="ok")
