"""Dashboard budgets, measured through the app's own HTTP endpoints (not part of CI).

    python tests/benchmarks/bench_dashboard.py                 # the NOTIONAL sample plan
    python tests/benchmarks/bench_dashboard.py --sectors 2000  # a synthetic ~2,000-sector plan (clean borders)

Replays what the browser asks for on a first load (the page, then the map callback: once with the window
size unknown, as the renderer may fire it before the clientside callback fills ``viewport``, and once with
it), then times a domain switch, a layer toggle, a language switch, an air band and what-ifs (unticking
contingents) — cold (first time) and warm (cached, median of 5). Bytes are those on the wire: the response
body as sent to a client that accepts gzip (raw JSON size beside it), and ``map.figure`` says whether a
response carries the map figure (``full``, a ``patch`` or nothing).
Budgets (issue 6): payload < 1.5 MB; switch/toggle < 150 ms; what-if < 500 ms.
"""
from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

_sys.path.insert(0, str(_Path(__file__).resolve().parents[2]))  # this checkout, not an installed copy
_sys.path.insert(0, str(_Path(__file__).resolve().parent))

import argparse
import gzip
import json
import statistics
import tempfile
import time

from ua_coverage.app import create_app


def _store_with(n: int) -> str:
    """A store whose current revision is a synthetic ``n``-sector plan."""
    from _plans import make_plan

    from ua_coverage import workflow

    d = _Path(tempfile.mkdtemp(prefix="bench-dash-"))
    st = workflow.open_store(d / "data")
    big = make_plan(n, clean=True, vertices=40)  # as the other benchmarks: under the 10 MB upload limit
    big.to_file(d / "big.geojson")
    t = time.perf_counter()
    if (d / "big.geojson").stat().st_size < 10 * 2**20:  # as an upload would be
        p = workflow.propose(st, sectors=str(d / "big.geojson"), scope="all")
        assert p.accepted, p.problems[:3]
        workflow.commit(st, p, message=f"{len(big)} synthetic sectors", author="bench")
    else:  # beyond the upload limit (10,000 sectors): as a script would commit it
        plan = workflow.plan_from_files(d / "big.geojson")[0]
        plan.notional = False
        workflow.commit_plan(st, plan, base=st.current().id, author="bench", message=f"{len(big)} synthetic sectors")
    print(f"plan: {len(big)} sectors, {sum(len(g.exterior.coords) if g.geom_type == 'Polygon' else 0 for g in big.geometry):,} "
          f"vertices (polygons); propose+commit {time.perf_counter() - t:.1f} s")
    return str(d / "data")


def _find(node, cid):
    if isinstance(node, dict):
        if node.get("props", {}).get("id") == cid:
            return node["props"]
        for v in node.get("props", {}).values():
            r = _find(v, cid)
            if r:
                return r
    elif isinstance(node, list):
        for v in node:
            r = _find(v, cid)
            if r:
                return r
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sectors", type=int, default=0, help="a synthetic plan of about this many sectors")
    ap.add_argument("--data", help="reuse the store a previous run made (it prints where)")
    args = ap.parse_args()
    data_dir = args.data or (_store_with(args.sectors) if args.sectors else tempfile.mkdtemp(prefix="bench-dash-"))
    print(f"store: {data_dir}")
    app = create_app(data_dir)
    client = app.server.test_client()
    client.get("/")
    gz = {"Accept-Encoding": "gzip", "X-CSRFToken": client.get_cookie("_csrf_token").value}
    layout_r = client.get("/_dash-layout", headers=gz)
    deps = json.loads(client.get("/_dash-dependencies").data)

    def cb(output_has: str):
        return next(d for d in deps if output_has in d["output"])

    def post(dep, vals: dict, changed: list[str]):
        outs = dep["output"].strip(".").split("...")
        body = {"output": dep["output"],
                "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1].split("@")[0]} for o in outs]
                if len(outs) > 1 else {"id": outs[0].split(".")[0], "property": outs[0].split(".")[1].split("@")[0]},
                "inputs": [{**i, "value": vals.get(f"{i['id']}.{i['property']}")} for i in dep["inputs"]],
                "state": [{**s, "value": vals.get(f"{s['id']}.{s['property']}")} for s in dep["state"]],
                "changedPropIds": changed}
        t = time.perf_counter()
        r = client.post("/_dash-update-component", json=body, headers=gz)
        dt = time.perf_counter() - t
        assert r.status_code in (200, 204), r.data[:300]
        raw = gzip.decompress(r.data) if r.headers.get("Content-Encoding") == "gzip" else r.data
        out = json.loads(raw) if r.status_code == 200 else {}
        return dt, len(r.data), len(raw), out

    # the map page (the route callback), as the browser gets it
    route = cb("page.children")
    _, page_bytes, page_raw, page = post(route, {"url.pathname": "/", "url.search": ""}, ["url.pathname"])
    page = page["response"]["page"]["children"]
    main_cb = next(d for d in deps if "map.figure" in d["output"] and any(i["id"] == "domain-picker"
                                                                         for i in d["inputs"]))
    values = {"revision.value": _find(page, "revision")["value"], "domain-picker.value": "land",
              "band-picker.value": "all", "layer-picker.value": ["zones", "gaps", "overlaps", "labels"],
              "lang.value": "en", "contingent-filter.value": _find(page, "contingent-filter")["value"],
              "contingent-filter.options": _find(page, "contingent-filter")["options"],
              "viewport.data": [1920, 1080], "day-slider.value": 0, "day-list.data": _find(page, "day-list")["data"],
              "map-view.data": None}
    for s in main_cb["state"]:  # any state this script does not know starts empty, as in a fresh page
        values.setdefault(f"{s['id']}.{s['property']}", None)

    def figure_kind(out: dict) -> str:
        fig = out.get("response", {}).get("map", {}).get("figure")
        if fig is None:
            return "-"
        return "patch" if isinstance(fig, dict) and fig.get("__dash_patch_update") else "full"

    def call(changed: str, **over):
        vals = {**values, **over}
        dt, wire, raw, out = post(main_cb, vals, [changed] if changed else [])
        for k, v in out.get("response", {}).items():  # the page now holds what the callback returned
            for prop, val in v.items():
                if not (isinstance(val, dict) and val.get("__dash_patch_update")):
                    values[f"{k}.{prop}"] = val
        return dt, wire, raw, figure_kind(out)

    n_sectors = len(_find(page, "contingent-filter")["options"])
    print(f"{'first load':<34} {'ms':>7} {'wire MB':>9} {'raw MB':>8}  map.figure")
    rows = [("layout", 0, len(layout_r.data), len(layout_r.data), ""), ("map page (route)", 0, page_bytes, page_raw, "")]
    dt, wire, raw, kind = call("", **{"viewport.data": None})
    rows.append(("map callback, window size unknown", dt, wire, raw, kind))
    dt, wire, raw, kind = call("viewport.data")
    rows.append(("map callback, window size known", dt, wire, raw, kind))
    for name, dt, wire, raw, kind in rows:
        print(f"{name:<34} {dt * 1000:>7.0f} {wire / 1e6:>9.3f} {raw / 1e6:>8.3f}  {kind}")
    print(f"{'total (budget 1.5 MB)':<34} {sum(r[1] for r in rows) * 1000:>7.0f} {sum(r[2] for r in rows) / 1e6:>9.3f} "
          f"{sum(r[3] for r in rows) / 1e6:>8.3f}  {sum(r[4] == 'full' for r in rows)} full figure(s)"
          f"  [{n_sectors} contingents]")

    base = dict(values)
    cases = {
        "domain switch (air)": ("domain-picker.value", {"domain-picker.value": "air"}),
        "domain switch (sea)": ("domain-picker.value", {"domain-picker.value": "sea"}),
        "toggle overlaps off": ("layer-picker.value", {"layer-picker.value": ["zones", "gaps", "labels"]}),
        "toggle place labels off": ("layer-picker.value", {"layer-picker.value": ["zones", "gaps", "overlaps"]}),
        "labels in Ukrainian": ("lang.value", {"lang.value": "uk"}),
        "air band 0-10,000 ft": ("band-picker.value", {"domain-picker.value": "air", "band-picker.value": "0"}),
    }
    print(f"\n{'action':<34} {'cold ms':>8} {'warm ms':>8} {'wire MB':>9} {'raw MB':>8}  map.figure")

    def row(name, changed, over):
        values.clear()
        values.update(base)
        before = dict(values)
        cold, wire, raw, kind = call(changed, **over)
        warm = []
        for _ in range(5):
            values.clear()
            values.update(before)
            warm.append(call(changed, **over)[0])
        print(f"{name:<34} {cold * 1000:>8.0f} {statistics.median(warm) * 1000:>8.0f} {wire / 1e6:>9.3f} "
              f"{raw / 1e6:>8.3f}  {kind}")

    for name, (changed, over) in cases.items():
        row(name, changed, over)
    codes = base["contingent-filter.value"]
    for gone in ([codes[1]], [codes[0]], codes[:3]):
        ticked = [c for c in codes if c not in gone]
        row("what-if without " + ",".join(gone), "contingent-filter.value", {"contingent-filter.value": ticked})


if __name__ == "__main__":
    main()
