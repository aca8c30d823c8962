"""Pieces shared by the dashboard's pages: change lists, coverage-effect tables, problem reports, and the
one decorator that turns a project error in a callback into a message on the page."""
from __future__ import annotations

import functools
import logging

from dash import dash_table, html

from ..errors import CoverageError

log = logging.getLogger("ua_coverage.app")


def guarded(message_output: int, n_outputs: int, prefix: str = ""):
    """Wrap a callback so a :class:`~ua_coverage.errors.CoverageError` (or any other exception) becomes a
    message in output number ``message_output`` and ``no_update`` everywhere else — never a traceback.

    The message is written for the browser: the rule's web advice, never a command-line flag.
    """
    import dash

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except CoverageError as exc:
                from ..rules import advice

                tip = advice(exc.rule, "web")
                msg = html.Span(f"{prefix}{exc.message}" + (f" {tip}" if tip else ""), className="error")
            except Exception:  # noqa: BLE001 - the page must say something, the log keeps the details
                log.exception("callback %s failed", fn.__name__)
                msg = html.Span(f"{prefix}something went wrong on the server; nothing was changed. "
                                "The server log has the details.", className="error")
            out = [dash.no_update] * n_outputs
            out[message_output] = msg
            return tuple(out) if n_outputs > 1 else out[0]

        return inner

    return wrap


def effect_table(effect: dict, table_id: str = "effect-table") -> html.Table:
    """Gap and overlap km² per layer, before → after (the coverage effect of a change), and the area of the sectors
    beyond the extent (``outside_km2``) when the effect has it."""
    keys = ["gap_km2", "overlap_km2"] + (["outside_km2"] if all("outside_km2" in v for v in effect.values()) and effect
                                         else [])
    words = {"gap_km2": "gap km² before", "overlap_km2": "overlap km² before",
             "outside_km2": "outside the extent km² before"}
    head = html.Tr([html.Th("layer")] + [html.Th(x) for k in keys for x in (words[k], "after", "change")])
    rows = [html.Tr([html.Td(layer)] + [html.Td(f"{v[k][w]:+,.1f}" if w == "change" else f"{v[k][w]:,.1f}")
                                         for k in keys for w in ("before", "after", "change")])
            for layer, v in effect.items()]
    return html.Table([html.Thead(head), html.Tbody(rows)], className="effect", id=table_id)


def changes_list(d: dict, list_id: str = "change-list", limit: int = 400) -> html.Ul:
    """Every change of a diff, by sector id, registry row and extent (long lists say how many more)."""
    items = [html.Li(f"added {a['sector_id']} {a['name']} ({a['layer']}, {a['area_km2']:,.0f} km²)", className="added")
             for a in d["added"]]
    items += [html.Li(f"removed {r['sector_id']} {r['name']} ({r['layer']})", className="removed") for r in d["removed"]]
    items += [html.Li(f"reshaped {r['sector_id']}: +{r['gained_km2']:,.2f} km², −{r['lost_km2']:,.2f} km²",
                      className="reshaped") for r in d["reshaped"]]
    items += [html.Li(f"re-assigned {r['sector_id']}: {';'.join(r['from']) or 'unassigned'} → "
                      f"{';'.join(r['to']) or 'unassigned'}", className="reassigned") for r in d["reassigned"]]
    items += [html.Li(f"attributes of {r['sector_id']}: " + ", ".join(
        f"{k} {v['from']!r} → {v['to']!r}" for k, v in r["changes"].items()), className="attrs") for r in d["attributes"]]
    reg = d.get("contingents_registry", {})
    items += [html.Li(f"registry: {c} added", className="added") for c in reg.get("added", [])]
    items += [html.Li(f"registry: {c} removed", className="removed") for c in reg.get("removed", [])]
    items += [html.Li(f"registry: {c['code']} " + ", ".join(f"{k} {v['from']!r} → {v['to']!r}"
                                                          for k, v in c["changes"].items()), className="attrs")
              for c in reg.get("changed", [])]
    items += [html.Li(f"extent of {e['layer']}: {e['before_km2']:,.0f} → {e['after_km2']:,.0f} km² "
                      f"({e['change_km2']:+,.0f} km²; {e['source']})", className="reshaped")
              for e in d.get("extents", [])]
    ph = d.get("phases", {})
    items += [html.Li(f"phase {n} added", className="added") for n in ph.get("added", [])]
    items += [html.Li(f"phase {n} removed", className="removed") for n in ph.get("removed", [])]
    items += [html.Li(f"phase {c['name']}: " + ", ".join(f"{k} {v['from']!r} → {v['to']!r}"
                                                      for k, v in c["changes"].items()), className="attrs")
              for c in ph.get("changed", [])]
    sen = d.get("sensors", {})
    items += [html.Li(f"sensor {n} added", className="added") for n in sen.get("added", [])]
    items += [html.Li(f"sensor {n} removed", className="removed") for n in sen.get("removed", [])]
    items += [html.Li(f"sensor {c['sensor_id']}: " + ", ".join(
        f"moved {v['moved_m'] / 1000:,.2f} km" if k == "position" else f"{k} {v['from']!r} → {v['to']!r}"
        for k, v in c["changes"].items()), className="attrs") for c in sen.get("changed", [])]
    for c in d.get("parts", []):
        a, b = c["from"], c["to"]
        flag = (f"notional {'yes' if a['notional'] else 'no'} → {'yes' if b['notional'] else 'no'}; "
                if a["notional"] != b["notional"] else "")
        items.append(html.Li(f"part {c['part']}: {flag}{a['source'] or '-'} → {b['source'] or '-'}", className="attrs"))
    nt = d.get("notional")
    if nt and nt["from"] != nt["to"]:
        items.append(html.Li(f"notional: {'yes' if nt['from'] else 'no'} → {'yes' if nt['to'] else 'no'}",
                             className="attrs"))
    more = len(items) - limit
    items = items[:limit] + ([html.Li(f"… and {more} more changes")] if more > 0 else [])
    return html.Ul(items or [html.Li("no change: this equals the current revision")], id=list_id,
                   className="changes")


def problems_table(problems, table_id: str = "problems-table", limit: int = 500):
    """Every problem of a rejected upload with the rule and what to do — worded for the browser."""
    rows = [{"feature": "" if p.feature is None else p.feature, "sector": p.sector_id or "", "field": p.field or "",
             "rule": p.rule, "problem": p.message, "what to do": p.advice("web")} for p in problems[:limit]]
    return dash_table.DataTable(
        id=table_id, data=rows,
        columns=[{"name": c, "id": c} for c in ("feature", "sector", "field", "rule", "problem", "what to do")],
        style_cell={"textAlign": "left", "whiteSpace": "normal", "height": "auto", "fontSize": "12px"},
        style_header={"fontWeight": "600"}, page_action="native", page_size=50, sort_action="native")
