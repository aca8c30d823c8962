"""The Dash dashboard: ``create_app()`` builds it, ``ua-coverage serve`` runs it.

Everything the page loads is served by the app itself (Dash's bundled JS, plotly.js with MapLibre,
``assets/``); the map uses no tile server and no web fonts. This layer holds no geometry logic: it
asks :mod:`coverage.app.state` for analyses and :mod:`coverage.figures` for figures.
"""
from __future__ import annotations

import dash

from .._resources import assets_dir
from ..settings import banner
from ..store import open_store
from .state import AppState


def create_app(data_dir=None, *, marking: str | None = None) -> dash.Dash:
    """The dashboard for the plan store in ``data_dir`` (see :func:`coverage.store.resolve_data_dir`)."""
    from . import map_page

    state = AppState(open_store(data_dir))
    app = dash.Dash(__name__, assets_folder=str(assets_dir()), title="Ukraine domain coverage",
                    serve_locally=True, update_title=None)
    app.server.config["UA_STATE"] = state
    marking = marking or banner()
    app.layout = lambda: map_page.layout(state, marking)
    map_page.register(app, state)
    map_page.register_export(app, state)
    return app
