"""Load test of multi-worker serving (not part of CI): planners browse while an editor commits.

    python tests/benchmarks/bench_load.py --database-url postgresql://user:pw@127.0.0.1/db [--planners 8]

Starts `gunicorn ua_coverage.app.wsgi:server` on 127.0.0.1 with 1 and then 4 workers (fresh schema each run),
runs N simulated planners (threads, each its own session with CSRF token) that load the page and toggle the
domain for a bounded time, while an editor commits a revision every 2 s through the store. Prints p50/p95
latency per request kind and errors, and checks that every commit is in the history (none lost) and that
the workers serve the newest revision. Only 127.0.0.1 is contacted.
"""
from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout, not an installed copy

from ua_coverage.workflow import commit_plan, open_store  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _find(node, cid: str, prop: str):
    if isinstance(node, dict):
        props = node.get("props", node)
        if isinstance(props, dict) and props.get("id") == cid and prop in props:
            return props[prop]
        for v in (props.values() if isinstance(props, dict) else []):
            r = _find(v, cid, prop)
            if r is not None:
                return r
    elif isinstance(node, list):
        for v in node:
            r = _find(v, cid, prop)
            if r is not None:
                return r
    return None


def _post(s, base, dep, values: dict, changed: str, csrf: str):
    outs = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in dep["output"].strip(".").split("...")]
    body = {"output": dep["output"], "outputs": outs if dep["output"].startswith("..") else outs[0],
            "inputs": [{"id": i["id"], "property": i["property"], "value": values.get(i["id"])} for i in dep["inputs"]],
            "state": [{"id": x["id"], "property": x["property"], "value": values.get(x["id"])} for x in dep["state"]],
            "changedPropIds": [changed]}
    r = s.post(base + "/_dash-update-component", json=body, headers={"X-CSRFToken": csrf}, timeout=60)
    r.raise_for_status()
    return r.json()["response"]


def planner(base: str, until: float, lat: dict, errors: list, seen: set) -> None:
    s = requests.Session()
    try:
        s.get(base + "/", timeout=30).raise_for_status()
        csrf = s.cookies.get("_csrf_token")
        deps = s.get(f"{base}/_dash-dependencies", timeout=30).json()
        route = next(d for d in deps if "page.children" in d["output"])
        main = next(d for d in deps if any(i["id"] == "domain-picker" for i in d["inputs"])
                    and d["output"].startswith(".."))
    except (requests.RequestException, StopIteration) as exc:
        errors.append(f"setup: {exc}")
        return
    rev = 1
    while time.time() < until:
        kind = random.choice(["page", "toggle", "toggle"])
        t = time.perf_counter()
        try:
            if kind == "page":  # what a browser does on a (re)load: the page, its layout, the route callback
                s.get(base + "/", timeout=60).raise_for_status()
                s.get(base + "/_dash-layout", timeout=60).raise_for_status()
                page = _post(s, base, route, {"url": "/"}, "url.pathname", csrf)
                rev = _find(page, "revision", "value") or rev
                seen.add(rev)
            else:
                _post(s, base, main, {"revision": rev,
                                      "domain-picker": random.choice(["air", "sea", "land", "monitoring"]),
                                      "band-picker": "all", "layer-picker": ["zones", "gaps", "overlaps", "labels"],
                                      "lang": "en", "contingent-filter": [], "contingent-filter.options": [],
                                      "viewport": [1920, 1080], "day-slider": 0, "day-list": [None]},
                      "domain-picker.value", csrf)
            lat.setdefault(kind, []).append(time.perf_counter() - t)
        except requests.RequestException as exc:
            errors.append(f"{kind}: {exc}")


def previewer(base: str, until: float, path: Path, lat: dict, errors: list) -> None:
    """An editor previewing the same heavy upload again and again (the worst an upload may cost)."""
    import base64

    s = requests.Session()
    s.get(base + "/", timeout=30).raise_for_status()
    csrf = s.cookies.get("_csrf_token")
    deps = s.get(f"{base}/_dash-dependencies", timeout=30).json()
    dep = next(d for d in deps if d["output"].startswith("..upload-report."))
    contents = "data:application/geo+json;base64," + base64.b64encode(path.read_bytes()).decode()
    while time.time() < until:
        t = time.perf_counter()
        try:
            _post(s, base, dep, {"upload": contents, "upload-scope": "all", "upload-options": []}, "upload.contents",
                  csrf)
            lat.setdefault("preview", []).append(time.perf_counter() - t)
        except requests.RequestException as exc:
            errors.append(f"preview: {exc}")


def run(workers: int, url: str | None, planners: int, seconds: float, preview: Path | None = None) -> None:
    data = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = {**os.environ, "UA_COVERAGE_DATA_DIR": str(data)}
    if url:
        env["UA_COVERAGE_DATABASE_URL"] = f"{url}{'&' if '?' in url else '?'}schema=load_{uuid.uuid4().hex[:8]}"
    else:
        env.pop("UA_COVERAGE_DATABASE_URL", None)
    store = open_store(data, url=env.get("UA_COVERAGE_DATABASE_URL"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(["gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "180",
                             "ua_coverage.app.wsgi:server"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(120):
            try:
                if requests.get(base + "/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        until = time.time() + seconds
        lat: dict = {}
        errors: list = []
        seen: set = set()
        threads = [threading.Thread(target=planner, args=(base, until, lat, errors, seen)) for _ in range(planners)]
        if preview is not None:
            threads.append(threading.Thread(target=previewer, args=(base, until, preview, lat, errors)))
        for t in threads:
            t.start()
        commits = 0
        base_plan = store.load(1)
        while time.time() < until - 2:
            time.sleep(2)
            s = base_plan.sectors.copy()
            code = ["CZE", "DEU", "ITA", "POL"][commits % 4]
            s.loc[s["sector_id"] == "L-07", "contingent"] = f"{code};LTU"
            s.loc[s["sector_id"] == "L-07", "contingents"] = [(code, "LTU")]
            s.loc[s["sector_id"] == "L-07", "notes"] = f"load test commit {commits}"
            from ua_coverage.plan import Plan

            commit_plan(store, Plan(s, base_plan.contingents, base_plan.extents, base_plan.notional),
                        base=store.current().id, author="editor", message=f"load commit {commits}")
            commits += 1
        for t in threads:
            t.join(timeout=seconds + 120)
        hist = store.history()
        lost = (1 + commits) - len(hist)
        print(f"\nworkers={workers} planners={planners} for {seconds:g}s; {commits} commits, history has {len(hist)} "
              f"revisions (lost: {lost}); newest revision seen by planners: {max(seen) if seen else '-'} "
              f"of {hist[-1].id}; errors: {len(errors)}")
        for kind, xs in sorted(lat.items()):
            xs = sorted(xs)
            p95 = xs[min(len(xs) - 1, int(0.95 * len(xs)))]
            print(f"  {kind:<7} n={len(xs):>5}  p50 {statistics.median(xs) * 1000:>7.0f} ms  p95 {p95 * 1000:>7.0f} ms")
        for e in errors[:5]:
            print("  error:", e)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", help="postgresql://... (default: SQLite in a temp data dir)")
    ap.add_argument("--planners", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--preview", type=Path, help="a sector file an editor previews over and over meanwhile")
    a = ap.parse_args()
    for w in a.workers:
        run(w, a.database_url, a.planners, a.seconds, a.preview)


if __name__ == "__main__":
    main()
