"""The Dash dashboard: ``create_app()`` builds it, ``ua-coverage serve`` runs it.

Pages: the map (``/``), uploading a revised sector file (``/upload``), and the revision history
(``/history``); sign-in at ``/login`` when a users file is configured (see :mod:`ua_coverage.app.auth`).
Everything the page loads is served by the app itself (Dash's bundled JS, plotly.js with MapLibre,
``assets/``); the map uses no tile server and no web fonts. This layer holds no geometry logic: it
asks :mod:`ua_coverage.app.state` for analyses and :mod:`ua_coverage.figures` for figures.
"""
from __future__ import annotations

from urllib.parse import parse_qs

import dash
from dash import Input, Output, State, dcc, html

from .._resources import assets_dir
from ..settings import MB, Limits, banner
from ..workflow import open_store
from .state import AppState


def _callback_failed(err: Exception):
    """The last line of defence for a callback that raised (a crafted request a callback did not foresee): the log
    keeps the details, the page keeps what it shows (no update), and the browser never sees a 500 or a traceback.
    Callbacks with a message area say what failed themselves (:func:`ua_coverage.app.components.guarded`)."""
    import logging

    logging.getLogger("ua_coverage.app").error("callback failed: %s: %s", type(err).__name__, err, exc_info=err)
    return None


def create_app(data_dir=None, *, marking: str | None = None, host: str | None = None, warm: bool = True) -> dash.Dash:
    """The dashboard for the plan store in ``data_dir`` (see :func:`ua_coverage.store.resolve_data_dir`).

    ``host`` is the address the server binds; it is one of the host names the app answers to (see
    :mod:`ua_coverage.app.auth`). With ``warm`` (the default) the newest revision is analysed in a background
    thread at once, so the first page load after a start finds it ready (:meth:`AppState.warm_up`).
    """
    from . import auth, history_page, map_page, upload_page

    store = open_store(data_dir)
    state = AppState(store)
    # compress: callback responses (a map figure is JSON of ~1 MB for a 2,000-sector plan) go gzipped
    app = dash.Dash(__name__, assets_folder=str(assets_dir()), title="Ukraine domain coverage",
                    serve_locally=True, update_title=None, suppress_callback_exceptions=True, compress=True,
                    on_error=_callback_failed)
    app.server.config["COMPRESS_LEVEL"] = 5  # gzip: nearly the size of level 9 for a fraction of the time
    marking = marking or banner()
    limits = Limits.from_env()
    # the server refuses bodies larger than an upload (base64 inflates by 4/3) plus room for the form
    app.server.config["MAX_CONTENT_LENGTH"] = int(limits.max_file_mb * MB * 4 / 3 + MB)
    auth.install(app.server, store.data_dir, host=host, store=store)

    def shell():
        user = auth.current_user()
        nav = [dcc.Link("Map", href="/"), dcc.Link("Upload", href="/upload"), dcc.Link("History", href="/history")]
        who = html.Span([f"{user.name} ({', '.join(sorted(user.roles)) or 'no access'})",
                         *([" · ", html.A("Sign out", href="/logout")] if user.via == "login" else [])],
                        className="who")
        return html.Div([
            dcc.Location(id="url", refresh=False), dcc.Store(id="viewport"), dcc.Store(id="route-key"),
            html.Div(marking, className="banner banner-top", role="note"),
            html.Header([html.H1("Ukraine domain coverage"), html.Nav(nav, className="nav"), who], className="top"),
            html.Div(id="page"),
            html.Footer(["Base data: Made with Natural Earth (public domain); territorial sea © OpenStreetMap "
                         "contributors (ODbL). Areas are ellipsoidal (WGS84) km²."], className="attribution"),
            html.Div(marking, className="banner banner-bottom", role="note"),
        ], className="app")

    app.layout = shell

    # the search is an input too: picking a day (?at=) or a revision (?revision=) redraws the page for it
    @app.callback(Output("page", "children"), Output("route-key", "data"), Input("url", "pathname"),
                  Input("url", "search"), State("route-key", "data"))
    def route(path, search, shown):
        path = path if isinstance(path, str) else "/"
        search = search if isinstance(search, str) else ""
        key = f"{path}?{search}"
        if key == shown:  # the same page again (the location can report itself twice): keep it, draw nothing twice
            return dash.no_update, dash.no_update
        return _page(path, search), key

    def _page(path, search):
        if path == "/upload":
            return upload_page.layout(state, limits)
        if path == "/history":
            return history_page.layout(state)
        query = parse_qs((search or "").lstrip("?"))
        rev = query.get("revision", [None])[0]
        at = query.get("at", [None])[0]
        if at:
            from ..ingest.sectors import parse_date
            from ..schema import supported_date

            at = parse_date(at.strip()[:32])
            at = at if supported_date(at) else None
        # '²'.isdigit() is True: only ASCII digits name a revision; anything else shows the current one
        rev_id = int(rev) if rev and rev.isascii() and rev.isdigit() and len(rev) < 12 else None
        return map_page.layout(state, marking, rev_id, at)

    # The map's height follows the window: MapLibre sizes its canvas once, when first drawn, so the
    # figure is given an explicit height instead of relying on CSS.
    # The map callback waits for it (one figure per load); an unchanged window size is no update, so moving
    # between pages does not draw the map again.
    app.clientside_callback(
        """function(p, cur) { var v = [window.innerWidth, window.innerHeight];
           return (cur && cur[0] === v[0] && cur[1] === v[1]) ? window.dash_clientside.no_update : v; }""",
        Output("viewport", "data"), Input("url", "pathname"), State("viewport", "data"))
    map_page.register(app, state)
    map_page.register_export(app, state)
    map_page._sweep_exports()  # folders a crashed export left behind
    upload_page.register(app, state, limits)
    history_page.register(app, state)
    if warm:
        state.warm_up()
    return app
