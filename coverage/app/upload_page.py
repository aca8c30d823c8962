"""Uploading a plan change: a sector file, a contingents registry and/or an extents file, with a scope.

Everything goes through :mod:`ua_coverage.workflow`: the page validates, previews exactly what the commit
will do (what each scope would remove, the changes by sector, registry and extent, the coverage effect),
and commits. Pending previews live in the plan store, so any app worker can commit what another previewed.
"""
from __future__ import annotations

import base64
import html as _html
import os
import threading

import dash
from dash import Input, Output, State, dash_table, dcc, html

from .. import workflow
from ..errors import ConflictError, CoverageError, Problem
from ..settings import MB, Limits
from .auth import current_user
from .components import changes_list, effect_table, guarded, problems_table
from .state import AppState

#: uploads checked at once by this server process; more wait briefly, then are told to retry
MAX_CONCURRENT_CHECKS = int(os.environ.get("UA_COVERAGE_MAX_CONCURRENT_CHECKS", "2"))
_CHECKS = threading.BoundedSemaphore(MAX_CONCURRENT_CHECKS)
MAX_MESSAGE_CHARS = 500

FORMATS_TEXT = "GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ, FlatGeobuf or CSV with a WKT column"
SCOPE_OPTIONS = [
    {"label": " Layers — replace every sector of the layers the file holds, keep the other layers (safest)",
     "value": "layers"},
    {"label": " Sectors — add or replace sectors by sector_id, keep all others", "value": "sectors"},
    {"label": " Whole plan — the file is the whole plan; every sector not in it is removed", "value": "all"},
]
#: the parts a whole-plan upload does not bring: each chosen, never inherited silently
PART_LABELS = {"extents": "Extents", "registry": "Registry", "phases": "Phases", "sensors": "Sensors"}
PART_NATIONAL = {"extents": "national extents (land, territorial sea, air = both; monitoring: the sample's NOTIONAL "
                            "belt)", "registry": "ISO 3166-1 names of the nations the plan assigns",
                 "phases": "no phases", "sensors": "no sensors"}
OPTION_CHOICES = [{"label": " repair invalid geometry automatically (reported as warnings)", "value": "repair"},
                  {"label": " mark this revision as NOTIONAL (illustrative) data", "value": "notional"}]


def _dropzone(zone_id: str, text: str, max_bytes: int):
    return html.Div(dcc.Upload(id=zone_id, max_size=max_bytes, multiple=False, className="dropzone", children=html.Div(
        [text, html.A("choose a file", href="#", className="pick")])), **{"data-max-bytes": str(max_bytes)})


def layout(state: AppState, limits: Limits):
    cur = state.store.current()
    user = current_user()
    max_bytes = int(limits.max_file_mb * MB)
    return html.Div([
        html.H2("Upload a plan change"),
        html.P([f"A sector file ({FORMATS_TEXT}; at most {limits.max_file_mb:g} MB and {limits.max_features:,} "
                "features), a contingents registry (CSV: code, name, colour, notes), an extents file (polygons with a "
                "'domain' field), a phases table, a sensor file (points; it replaces the plan's sensor set), or any of "
                "them together — they become one revision. Everything is checked against ",
                html.B(f"revision {cur.id}"), f" ({_html.escape(cur.message)}), the current plan. "
                "Nothing changes until you commit."]),
        html.P(f"Signed in as {user.name}: " + ("you may check, preview and commit." if user.can("editor") else
                                                "checking, previewing and committing a plan change need the editor "
                                                "role."), className="hint"),
        html.Div([
            html.Div([html.H3("Sector file"), _dropzone("upload", "Drag and drop a sector file here, or ", max_bytes)]),
            html.Div([html.H3("Registry (optional)", title="the contingents registry: code, name, colour, notes"),
                      _dropzone("upload-contingents", "Drag and drop a registry CSV here, or ", max_bytes)]),
            html.Div([html.H3("Extents (optional)"),
                      _dropzone("upload-extents", "Drag and drop an extents file here, or ", max_bytes)]),
            html.Div([html.H3("Phases (optional)"),
                      _dropzone("upload-phases", "Drag and drop a phases CSV (name,start,end) here, or ", max_bytes)]),
            html.Div([html.H3("Sensors (optional)"),
                      _dropzone("upload-sensors", "Drag and drop a sensor file (points with range_km) here, or ",
                                max_bytes)]),
        ], className="upload-grid"),
        html.Div(id="upload-files", className="hint"),
        html.Fieldset([html.Legend("What the sector file replaces"),
                       dcc.RadioItems(id="upload-scope", options=SCOPE_OPTIONS, value=workflow.DEFAULT_SCOPE,
                                      className="radio")], className="upload-fieldset"),
        _parts_fieldset(state, cur),
        dcc.Checklist(id="upload-options", options=OPTION_CHOICES, value=[], className="checks"),
        html.P(id="upload-size-message", hidden=True, className="error", role="alert"),
        dcc.Loading(html.Div(id="upload-report", role="status"), type="default"),
        html.Div(id="registry-fix", hidden=True, className="registry-fix", children=[
            html.P("Add these nations to the contingents registry in the same revision (edit the names and "
                   "colours), then check again:"),
            dash_table.DataTable(id="registry-additions", editable=True, data=[], columns=[
                {"name": c, "id": c} for c in ("code", "name", "colour", "notes")],
                style_cell={"textAlign": "left", "fontSize": "12.5px"}, page_action="native", page_size=50),
            html.Button("Add to the registry and check again", id="registry-add-button", n_clicks=0,
                        className="commit-button"),
        ]),
        dcc.Store(id="pending"),
        html.Div(id="preview", hidden=True, children=[
            html.H3("Preview of the change"),
            html.Div(id="preview-summary"),
            html.Div(id="preview-scope"),
            dcc.Graph(id="change-map", style={"height": "520px"}, config={"displaylogo": False, "scrollZoom": True}),
            html.Div(id="preview-effect"),
            html.Div(id="commit-row", className="commit-row", children=[
                dcc.Input(id="commit-message", placeholder="What does this revision change? (required)",
                          className="commit-message", maxLength=300),
                html.Button("Commit as a new revision", id="commit-button", n_clicks=0, className="commit-button"),
                html.Button("Discard", id="discard-button", n_clicks=0, className="discard-button"),
            ]),
            dcc.Loading(html.Div(id="commit-status", role="status"), type="dot"),
        ]),
    ], className="page-narrow")


def _parts_fieldset(state: AppState, cur) -> html.Fieldset:
    """With *Whole plan*, a choice for each part the upload does not bring: the national default, or the current one
    (named with its source and notional flag); a file dropped for a part above replaces it. The national default is
    chosen first for a current part that is notional (the registry: kept, it says which nations exist)."""
    src = state.plan(cur.id).part_sources()
    rows = []
    for part, label in PART_LABELS.items():
        if part == "extents":
            cur_src = "; ".join(f"{layer}: {v['source']}{' (NOTIONAL)' if v['notional'] else ''}"
                                for layer, v in src["extents"].items())
            notional = any(v["notional"] and not v["default"] for v in src["extents"].values())
        else:
            v = src[part]
            cur_src = (v["source"] or f"revision {cur.id}") + (" (NOTIONAL)" if v["notional"] and v["present"] else "") \
                if v["present"] else "none"
            notional = v["notional"] and v["present"]
        value = "national" if notional and part != "registry" else "keep"
        rows.append(html.Div([html.B(label + ": "), dcc.RadioItems(
            id=f"upload-part-{part}", value=value, className="radio", inline=False,
            options=[{"label": f" national default — {PART_NATIONAL[part]}", "value": "national"},
                     {"label": f" keep the current one — {cur_src[:300]}", "value": "keep"}])]))
    return html.Fieldset([html.Legend("With Whole plan: the parts the sector file does not bring (a file dropped "
                                      "above for a part replaces it)")] + rows, className="upload-fieldset",
                         id="upload-parts")


def _parts_div(prop) -> html.Div:
    """Each part of the proposed plan and where it comes from (id ``preview-parts``)."""
    parts = prop.parts or {}
    src, choice = parts.get("sources") or {}, parts.get("choices") or {}
    if not src:
        return html.Div(id="preview-parts")
    given = set(prop.inputs.extents.layers) if prop.inputs.extents is not None else set()
    word = {"file": "from the upload", "keep": "kept", "national": "national default"}
    rows = []
    for name in ("registry", "phases", "sensors"):
        v = src.get(name) or {}
        text = v.get("source", "") if v.get("present", True) else f"no {name}"
        rows.append((name, word.get(choice.get(name), ""), text, bool(v.get("notional") and v.get("present", True))))
    for layer, v in (src.get("extents") or {}).items():
        how = "from the upload" if layer in given else ("national default" if v.get("default") else "kept")
        rows.append((f"{layer} extent", how, v.get("source", ""), bool(v.get("notional"))))
    body = [html.Tr([html.Td(a), html.Td(b), html.Td(c), html.Td("NOTIONAL" if d else "")]) for a, b, c, d in rows]
    out = [html.H4("Parts of the new plan"), html.Table([html.Tbody(body)], className="effect", id="parts-table")]
    if prop.plan is not None and prop.plan.notional_parts():
        out.append(html.P(f"This revision is not notional, but its {', '.join(prop.plan.notional_parts())} "
                          "is NOTIONAL (illustrative): every view of it says so.", className="warn",
                          id="notional-parts"))
    return html.Div(out, id="preview-parts")


def _decode(contents):
    if not contents:
        return None
    try:
        return base64.b64decode(contents.split(",", 1)[1], validate=False)
    except (IndexError, ValueError):
        raise CoverageError("an upload was damaged in transit; choose the file again", rule="format-damaged") from None


def _registry_csv(base, additions: list[dict]) -> bytes:
    """The base registry with the editor's (checked: :func:`_checked_additions`) additions, as the CSV a registry
    upload would be."""
    import pandas as pd

    return pd.concat([base, pd.DataFrame(additions)], ignore_index=True).to_csv(index=False).encode("utf-8")


def _text_problem(value: str, what: str, i: int, field: str, limit: int) -> Problem | None:
    """Why a name or note typed into the nation table cannot go into the registry (None when it can)."""
    import unicodedata

    if len(value) > limit:
        return Problem("text-too-long", f"the {what} has {len(value):,} characters; the limit is {limit}",
                       feature=i, field=field)
    # the sector ids' rule: control, format (bidi overrides, zero widths) and unassigned characters, line and
    # paragraph separators, and any space but the plain one
    bad = sorted({f"U+{ord(c):04X}" for c in value if unicodedata.category(c)[0] == "C"
                  or unicodedata.category(c) in ("Zl", "Zp") or (unicodedata.category(c) == "Zs" and c != " ")})
    if bad:
        return Problem("text-control", f"the {what} holds control or invisible characters "
                       f"({', '.join(bad[:6])}); type it again with visible characters only", feature=i, field=field)
    return None


def _checked_additions(rows, unknown: list[str], limits: Limits) -> tuple[list[dict], list[Problem]]:
    """The nation table's rows as registry rows, checked on the server whatever the browser sent: only the codes this
    very upload is missing (each once), a name, a ``#rrggbb`` colour that is not APP-6's hostile red (the registry's
    own check), names and notes of bounded length without control characters. Row numbers are the table's."""
    from ..colours import is_hostile_red
    from ..schema import COLOUR

    wanted = set(unknown)
    if not isinstance(rows, list):
        rows = []
    problems: list[Problem] = []
    if len(rows) > len(wanted):
        problems.append(Problem("contingents-invalid", f"the table has {len(rows):,} rows, but this upload misses only "
                                f"{len(wanted):,} nation(s)"))
        rows = rows[:len(wanted)]
    out, seen = [], set()
    for i, row in enumerate(rows):
        cells = {k: (row.get(k) if isinstance(row, dict) else None) for k in ("code", "name", "colour", "notes")}
        if any(v is not None and not isinstance(v, (str, int, float)) for v in cells.values()):
            problems.append(Problem("contingents-invalid", "the row holds something other than text", feature=i))
            continue
        code, name, colour, notes = ("" if v is None else str(v).strip() for v in cells.values())
        code = code.upper()
        if code not in wanted:
            problems.append(Problem("contingents-code", f"{code[:12]!r} is not one of the nations this upload is "
                                    "missing; only those can be added here", feature=i, field="code"))
        elif code in seen:
            problems.append(Problem("contingents-duplicate", f"code {code} is listed twice", feature=i, field="code"))
        seen.add(code)
        if not name:
            problems.append(Problem("contingents-invalid", f"{code} has no name", feature=i, field="name"))
        for value, what, field in ((name, "name", "name"), (notes, "note", "notes")):
            if (p := _text_problem(value, what, i, field, limits.max_text_chars)) is not None:
                problems.append(p)
        if not COLOUR.match(colour):
            problems.append(Problem("contingents-colour", f"colour {colour[:12]!r} is not #rrggbb", feature=i,
                                    field="colour"))
        elif is_hostile_red(colour):
            problems.append(Problem("contingents-colour", f"colour {colour} is too close to APP-6's hostile red; choose "
                                    "a colour that is not red", feature=i, field="colour"))
        out.append({"code": code, "name": name, "colour": colour.lower(), "notes": notes})
    return out, problems


def _codes_text(codes: list[str], shown: int = 20) -> str:
    return ", ".join(codes[:shown]) + (f" and {len(codes) - shown:,} more" if len(codes) > shown else "")


def _rejected(names: str, prop, cur_id: int, user) -> list:
    out = [html.Div([html.B(f"REJECTED: {names}"),
                     f" — {len(prop.problems)} problem(s). Nothing was changed; revision {cur_id} is still current. "
                     "Fix the file and upload it again."], className="reject"),
           problems_table(prop.problems)]
    if prop.unknown_codes:
        out.insert(1, html.P(
            f"{_codes_text(prop.unknown_codes)} {'is' if len(prop.unknown_codes) == 1 else 'are'} not in the registry. "
            + ("Add them below, or upload a contingents registry that lists them, in the same revision."
               if user.can("editor") else "An editor can add them to the registry in the same revision."),
            className="hint"))
    return out


def _scope_table(prop) -> html.Div:
    if prop.inputs.sectors is None:
        return html.Div()
    chosen = prop.inputs.scope
    rows = []
    for opt in SCOPE_OPTIONS:
        ids = prop.removed_by_scope.get(opt["value"], [])
        rows.append(html.Tr([html.Td(opt["value"] + (" (chosen)" if opt["value"] == chosen else "")),
                             html.Td(f"{len(ids)} removed: " + ", ".join(ids[:30]) + (" …" if len(ids) > 30 else "")
                                     if ids else "removes nothing")],
                            className="chosen" if opt["value"] == chosen else ""))
    return html.Div([html.H4("What each scope would remove"),
                     html.Table([html.Tbody(rows)], className="effect scope-table", id="scope-table")])


def _preview(state: AppState, prop):
    from ..figures import change_figure

    base_plan = state.plan(prop.base)
    inp = prop.inputs
    head = [html.B(f"ACCEPTED: {inp.source_name}"),
            f" ({inp.source_format}, {len(prop.plan.sectors)} sectors in the new plan, scope {inp.scope}) — compared "
            f"with revision {prop.base}."]
    if not prop.changed:
        head += [html.Br(), html.B("No change: this equals the current revision; there is nothing to commit.",
                                   id="no-change")]
    head += [html.Br(), html.Span("The new revision will be marked NOTIONAL." if prop.plan.notional else
                                  "The new revision will not be marked notional.", className="hint")]
    notes = prop.registry_notes[:20] + ([f"… and {len(prop.registry_notes) - 20:,} more notes"]
                                        if len(prop.registry_notes) > 20 else [])
    head += [x for n in notes for x in (html.Br(), html.Span(f"registry: {n}", className="warn"))]
    head += [x for w in prop.warnings[:5] for x in (html.Br(), html.Span(f"warning: {w.text('web')}", className="warn"))]
    return (html.Div([html.P(head), _parts_div(prop)]), _scope_table(prop),
            change_figure(base_plan, prop.plan, prop.diff),
            html.Div([html.H4("Coverage effect (before → after)"), effect_table(prop.diff.get("coverage", {})),
                      html.H4("Changes"), changes_list(prop.diff)]))


def register(app: dash.Dash, state: AppState, limits: Limits) -> None:
    store = state.store

    @app.callback(
        Output("upload-report", "children"), Output("pending", "data"), Output("preview", "hidden"),
        Output("preview-summary", "children"), Output("change-map", "figure"), Output("preview-effect", "children"),
        Output("commit-status", "children", allow_duplicate=True), Output("preview-scope", "children"),
        Output("commit-row", "hidden"), Output("registry-fix", "hidden"), Output("registry-additions", "data"),
        Output("upload-files", "children"),
        Input("upload", "contents"), Input("upload-contingents", "contents"), Input("upload-extents", "contents"),
        Input("upload-scope", "value"), Input("upload-options", "value"), Input("registry-add-button", "n_clicks"),
        Input("upload-phases", "contents"), Input("upload-sensors", "contents"),
        State("upload", "filename"), State("pending", "data"), State("upload-contingents", "filename"),
        State("upload-extents", "filename"), State("registry-additions", "data"), State("upload-phases", "filename"),
        State("upload-sensors", "filename"),
        Input("upload-part-extents", "value"), Input("upload-part-registry", "value"),
        Input("upload-part-phases", "value"), Input("upload-part-sensors", "value"),
        prevent_initial_call=True,
    )
    @guarded(0, 12, "Could not check the upload: ")
    def on_input(contents, reg_contents, ext_contents, scope, options, add_clicks, ph_contents, sen_contents,
                 filename, old, reg_name, ext_name, additions, ph_name, sen_name, *part_values):
        user = current_user()
        workflow.drop_pending(store, _token(old), owner=user.name)  # the preview shown before, if it was this user's
        cur = store.current()
        hide = (True, dash.no_update, dash.no_update, dash.no_update, "", html.Div(), True, True, [])
        sectors, registry, extents = _decode(contents), _decode(reg_contents), _decode(ext_contents)
        phases, sensors = _decode(ph_contents), _decode(sen_contents)
        filename, reg_name, ext_name = (str(n or "the file")[:120] for n in (filename, reg_name, ext_name))
        files = [f"sector file: {filename}" if sectors else "", f"registry: {reg_name}" if registry else "",
                 f"extents: {ext_name}" if extents else "", f"phases: {str(ph_name or '')[:120]}" if phases else "",
                 f"sensors: {str(sen_name or '')[:120]}" if sensors else ""]
        files = " · ".join(f for f in files if f)
        if sectors is None and registry is None and extents is None and phases is None and sensors is None:
            return "", None, *hide, files
        if not user.can("editor"):  # a preview runs the engine: only editors may make the server do that
            return (html.Div(f"{user.name} may not upload plan changes: the editor role is needed. Nothing was "
                             "changed.", className="reject"), None, *hide, files)
        if not _CHECKS.acquire(timeout=5):
            return (html.Div("The server is busy checking other uploads; try again in a minute. Nothing was "
                             "changed.", className="reject"), None, *hide, files)
        try:
            choices = dict(zip(PART_LABELS, part_values))
            return _check(user, cur, sectors, registry, extents, phases, sensors, scope, options, filename, files,
                          additions, choices)
        finally:
            _CHECKS.release()

    def _check(user, cur, sectors, registry, extents, phases, sensors, scope, options, filename, files, additions,
               choices=None):
        triggered = dash.callback_context.triggered_id
        opts = set(options or [])
        scope = scope if scope in workflow.SCOPES else workflow.DEFAULT_SCOPE
        keep, defaults = [], []
        if scope == "all":  # the parts a whole plan does not bring, as chosen on the page (a file replaces one)
            dropped = {"registry": registry is not None, "phases": phases is not None, "sensors": sensors is not None}
            for part, how in (choices or {}).items():
                if part in PART_LABELS and not dropped.get(part) and how in ("keep", "national"):
                    (keep if how == "keep" else defaults).append(part)

        def propose(contingents):
            d = [p for p in defaults if not (p == "registry" and contingents is not None)]
            k = [p for p in keep if not (p == "registry" and contingents is not None)]
            return workflow.propose(store, sectors=sectors, contingents=contingents, extents=extents, phases=phases,
                                    sensors=sensors, scope=scope,
                                    notional="notional" in opts, repair="repair" in opts, limits=limits,
                                    sectors_name=str(filename or "the file"), keep=k, defaults=d)

        prop = propose(registry)
        if triggered == "registry-add-button" and additions and prop.unknown_codes:
            # the table's rows may add exactly the nations these files miss: checked here, not in the browser
            rows, bad = _checked_additions(additions, prop.unknown_codes, limits)
            if bad:
                return ([html.Div([html.B("The nations to add were not accepted"), f" — {len(bad)} problem(s). Nothing "
                                   f"was changed; revision {cur.id} is still current. Correct the table and add them "
                                   "again."], className="reject"), problems_table(bad)],
                        None, True, dash.no_update, dash.no_update, dash.no_update, "", html.Div(), True, False,
                        dash.no_update, files)
            base_reg = workflow.read_registry(registry) if registry is not None else state.plan(cur.id).contingents
            prop = propose(_registry_csv(base_reg, rows))
        if not prop.accepted:
            fix_rows, show_fix = [], True
            if prop.unknown_codes and user.can("editor"):
                from ..colours import suggest

                base_reg = state.plan(cur.id).contingents
                colours = suggest(list(base_reg["colour"]), len(prop.unknown_codes))
                fix_rows = [{"code": c, "name": c, "colour": col, "notes": ""}
                            for c, col in zip(prop.unknown_codes, colours)]
                show_fix = False
            return (_rejected(files or "the upload", prop, cur.id, user), None, True, dash.no_update,
                    dash.no_update, dash.no_update, "", html.Div(), True, show_fix, fix_rows, files)
        token = workflow.keep_pending(store, prop, owner=user.name)
        summary, scope_div, fig, effect = _preview(state, prop)
        return ("", {"token": token, "base": prop.base, "changed": prop.changed}, False, summary, fig, effect, "",
                scope_div, not prop.changed, True, [], files)

    @app.callback(
        Output("commit-status", "children"), Output("pending", "data", allow_duplicate=True),
        Output("preview-summary", "children", allow_duplicate=True),
        Output("change-map", "figure", allow_duplicate=True), Output("preview-effect", "children", allow_duplicate=True),
        Input("commit-button", "n_clicks"), State("pending", "data"), State("commit-message", "value"),
        prevent_initial_call=True,
    )
    @guarded(0, 5, "Commit failed: ")
    def on_commit(n, pend, message):
        user = current_user()
        keep = (dash.no_update,) * 4
        if not user.can("editor"):
            return html.Span(f"{user.name} may not commit: the editor role is needed. Nothing was changed.",
                             className="error"), *keep
        try:
            prop = workflow.pending(store, _token(pend), owner=user.name)
        except workflow.NotYourPreview:
            return html.Span("This preview belongs to another user: only they may commit it. Nothing was committed; "
                             "upload the files yourself to preview and commit them.", className="error"), *keep
        if prop is None:
            return html.Span("There is no accepted upload to commit: the preview has expired (previews are kept for an "
                             "hour) or can no longer be read. Nothing was committed; upload the files again.",
                             className="error"), *keep
        if not (message or "").strip():
            return html.Span("Write a message saying what this revision changes.", className="error"), *keep
        if len(message) > MAX_MESSAGE_CHARS:
            return html.Span(f"The message has {len(message):,} characters; shorten it to at most "
                             f"{MAX_MESSAGE_CHARS}.", className="error"), *keep
        if not prop.changed:
            return html.Span(f"No change: revision {prop.base} stays current; nothing was committed."), *keep
        try:
            info = workflow.commit(store, prop, message=message.strip(), author=user.name)
        except ConflictError as exc:
            fresh = workflow.refresh(store, prop)
            workflow.drop_pending(store, _token(pend), owner=user.name)
            if not fresh.accepted:
                return (html.Div([html.B("CONFLICT: "), exc.message, " Against the new current revision your files "
                                  "no longer pass: " + "; ".join(p.text("web") for p in fresh.problems[:5])],
                                 className="reject"), None, *keep[:3])
            token = workflow.keep_pending(store, fresh, owner=user.name)
            summary, _, fig, effect = _preview(state, fresh)
            return (html.Div([html.B("CONFLICT: "), exc.message, f" The preview below has been refreshed: it now "
                              f"compares your files with revision {fresh.base}. Review it and commit again."],
                             className="reject"),
                    {"token": token, "base": fresh.base, "changed": fresh.changed}, summary, fig, effect)
        workflow.drop_pending(store, _token(pend), owner=user.name)
        return (html.Div([html.B(f"Committed revision {info.id}"), f" by {info.author} at {info.time}: {info.message}. ",
                          dcc.Link("View it on the map", href=f"/?revision={info.id}")], className="ok"),
                None, *keep[:3])

    @app.callback(Output("preview", "hidden", allow_duplicate=True), Output("pending", "data", allow_duplicate=True),
                  Output("commit-status", "children", allow_duplicate=True),
                  Input("discard-button", "n_clicks"), State("pending", "data"), prevent_initial_call=True)
    @guarded(2, 3, "Discard failed: ")
    def on_discard(n, pend):
        user = current_user()
        token = _token(pend)
        if not workflow.drop_pending(store, token, owner=user.name) and workflow.pending_owner(store, token) is not None:
            return (dash.no_update, dash.no_update,
                    html.Span("This preview belongs to another user: only they may discard it. Nothing was changed.",
                              className="error"))
        return True, None, "Discarded; nothing was changed."


def _token(pend) -> str | None:
    """The pending token a page sent back (a client may send anything: only a string is a token)."""
    token = pend.get("token") if isinstance(pend, dict) else None
    return token if isinstance(token, str) else None
