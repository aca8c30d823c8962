"""Dashboard budgets on the sample plan, measured through the app's own HTTP endpoints (not part of CI).

    python tests/benchmarks/bench_dashboard.py

Prints the initial page's JSON payload (layout + the first callback responses, not the static plotly.js
bundle), and the server time of a domain switch, a layer toggle, a language switch and a what-if
(unticking a contingent) — cold (first time) and warm (cached), medians of 5.
Budgets (issue 6): payload < 1.5 MB; switch/toggle < 150 ms; what-if < 500 ms.
"""
from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

_sys.path.insert(0, str(_Path(__file__).resolve().parents[2]))  # this checkout, not an installed copy

import json
import statistics
import tempfile
import time

from ua_coverage.app import create_app


def main() -> None:
    app = create_app(tempfile.mkdtemp(prefix="bench-dash-"))
    client = app.server.test_client()
    layout = client.get("/_dash-layout").data
    deps = json.loads(client.get("/_dash-dependencies").data)
    main_cb = next(d for d in deps if any(i["id"] == "domain" for i in d["inputs"]))
    lay = json.loads(layout)

    def find(node, cid):
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == cid:
                return node["props"]
            for v in node.get("props", {}).values():
                r = find(v, cid)
                if r:
                    return r
        elif isinstance(node, list):
            for v in node:
                r = find(v, cid)
                if r:
                    return r
        return None

    values = {"revision.value": find(lay, "revision")["value"], "domain.value": "land", "band.value": "all",
              "layers.value": ["zones", "gaps", "overlaps", "labels"], "lang.value": "en",
              "contingents.value": find(lay, "contingents")["value"], "viewport.data": [1920, 1080]}
    options = find(lay, "contingents")["options"]

    def call(changed: str, **over):
        vals = {**values, **over}
        body = {"output": main_cb["output"], "outputs": [
            {"id": o.split(".")[0], "property": o.split(".")[1]} for o in main_cb["output"].strip(".").split("...")],
            "inputs": [{"id": i["id"], "property": i["property"], "value": vals[f"{i['id']}.{i['property']}"]}
                       for i in main_cb["inputs"]],
            "state": [{"id": "contingents", "property": "options", "value": options}],
            "changedPropIds": [changed]}
        t = time.perf_counter()
        r = client.post("/_dash-update-component", json=body)
        dt = time.perf_counter() - t
        assert r.status_code == 200, r.data[:300]
        return dt, len(r.data)

    first, first_bytes = call("revision.value")
    print(f"initial payload: layout {len(layout) / 1e6:.3f} MB + first callback {first_bytes / 1e6:.3f} MB "
          f"= {(len(layout) + first_bytes) / 1e6:.3f} MB (budget 1.5 MB); first callback {first * 1000:.0f} ms (cold)")
    cases = {
        "domain switch (air)": ("domain.value", {"domain.value": "air"}),
        "domain switch (sea)": ("domain.value", {"domain.value": "sea"}),
        "toggle overlaps off": ("layers.value", {"layers.value": ["zones", "gaps", "labels"]}),
        "labels in Ukrainian": ("lang.value", {"lang.value": "uk"}),
        "air band 0-10,000 ft": ("band.value", {"domain.value": "air", "band.value": "0"}),
    }
    print(f"{'action':<28} {'cold ms':>8} {'warm ms (median of 5)':>22} {'response MB':>12}")
    for name, (changed, over) in cases.items():
        cold, size = call(changed, **over)
        warm = statistics.median(call(changed, **over)[0] for _ in range(5))
        print(f"{name:<28} {cold * 1000:>8.0f} {warm * 1000:>22.0f} {size / 1e6:>12.3f}")
    codes = values["contingents.value"]
    for gone in (["GBR"], ["FRA"], ["FRA", "GBR", "POL"]):
        ticked = [c for c in codes if c not in gone]
        cold, size = call("contingents.value", **{"contingents.value": ticked})
        warm = statistics.median(call("contingents.value", **{"contingents.value": ticked})[0] for _ in range(5))
        print(f"{'what-if without ' + ','.join(gone):<28} {cold * 1000:>8.0f} {warm * 1000:>22.0f} {size / 1e6:>12.3f}")


if __name__ == "__main__":
    main()
