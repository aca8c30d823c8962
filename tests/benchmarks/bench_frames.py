"""What limits the dashboard's map in a browser without a GPU: plotly.js against MapLibre GL JS alone.

    python tests/benchmarks/bench_frames.py [--repeat 3] [--size 1400x900]

Draws the sample's land map (the figure the dashboard sends, ``figures.map_figure``) in headless Chromium
(SwiftShader, as ``bench_browser.py``) three ways, each in a fresh page:

- **plotly**: ``Plotly.newPlot`` with the dashboard's partial bundle (``assets/plotly-map.min.js``), then a
  ``Plotly.react`` with the same figure deep-copied (what a what-if sends) — wall time until MapLibre is idle;
- **maplibre**: MapLibre GL JS alone (the npm package ``maplibre-gl``, fetched from the npm registry into a
  cache folder on the first run), the same polygons and lines as GeoJSON sources and fill/line layers, then
  ``setData`` on only the three sources a what-if changes (zones, overlaps, gaps) — the best a component that
  "updates only the changed source" could do;
- and, in the MapLibre page, the cost of one frame: ``triggerRepaint`` of the full map, and of a map with
  every layer hidden (background only).

If one frame of the bare map costs several hundred milliseconds, no map component on the same WebGL
(deck.gl, MapLibre driven directly) meets budgets of under a second: the time is the software rasteriser's.
Not part of CI; loopback only (a ``http.server`` on 127.0.0.1).
"""
from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

_sys.path.insert(0, str(_Path(__file__).resolve().parents[2]))  # this checkout, not an installed copy
_sys.path.insert(0, str(_Path(__file__).resolve().parent))

import argparse
import json
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time

MAPLIBRE = "5.24.1"  # the newest with a one-file UMD build (plotly.js 4.1.1 bundles 6.9.0, ES modules only)
CACHE = _Path(tempfile.gettempdir()) / "ua-coverage-bench-frames"

PLOTLY_PAGE = """<!doctype html><html><head><script src="plotly-map.min.js"></script></head>
<body style="margin:0"><div id="g" style="width:%(w)dpx;height:%(h)dpx"></div><script>
const idle = (gd, now) => new Promise(r => { const m = gd._fullLayout.map._subplot.map;
  if (now && m.loaded()) r(); else m.once('idle', r); });
window.run = async function() {
  const fig = await (await fetch('fig.json')).json();
  const gd = document.getElementById('g');
  const t0 = performance.now();
  await Plotly.newPlot(gd, fig.data, fig.layout);
  await idle(gd, true);
  const t1 = performance.now();
  const p = idle(gd);
  const t2 = performance.now();
  await Plotly.react(gd, JSON.parse(JSON.stringify(fig.data)), fig.layout);
  await p;
  return {first: t1 - t0, update: performance.now() - t2};
};
</script></body></html>"""

MAPLIBRE_PAGE = """<!doctype html><html><head><script src="maplibre-gl.js"></script></head>
<body style="margin:0"><div id="g" style="width:%(w)dpx;height:%(h)dpx"></div><script>
function polygons(t) {  // a choroplethmap trace: each feature's fill and outline colour as properties
  const n = t.geojson.features.length, line = (t.marker || {}).line || {};
  const scale = t.colorscale || [[0, 'rgba(0,0,0,0.3)']];
  const fill = (t.z || Array(n).fill(0)).map(z => { let c = scale[0][1];
    const f = t.zmax > t.zmin ? (z - t.zmin) / (t.zmax - t.zmin) : 0;
    for (const [v, col] of scale) if (v <= f + 1e-9) c = col; return c; });
  const pick = (v, i, d) => Array.isArray(v) ? v[i] : (v == null ? d : v);
  const at = {}; (t.locations || []).forEach((l, i) => at[l] = i);
  return {type: 'FeatureCollection', features: t.geojson.features.map((f, k) => { const i = at[f.id] ?? k;
    return {...f, properties: {fc: fill[i] || '#888', lc: pick(line.color, i, '#000'), lw: pick(line.width, i, 1)}}; })};
}
function lines(t) {  // a scattermap line trace, None-separated, as one MultiLineString
  const parts = []; let cur = [];
  t.lon.forEach((x, i) => { if (x == null) { if (cur.length > 1) parts.push(cur); cur = []; } else cur.push([x, t.lat[i]]); });
  if (cur.length > 1) parts.push(cur);
  return {type: 'FeatureCollection', features: [{type: 'Feature', properties: {},
          geometry: {type: 'MultiLineString', coordinates: parts}}]};
}
const idle = (m) => new Promise(r => m.once('idle', r));
async function frames(map, n) {
  const out = [];
  for (let k = 0; k < n; k++) { const t = performance.now(); const p = new Promise(r => map.once('render', r));
    map.triggerRepaint(); await p; await new Promise(r => requestAnimationFrame(() => r()));
    out.push(performance.now() - t); }
  return out;
}
window.run = async function() {
  const fig = await (await fetch('fig.json')).json();
  const t0 = performance.now();
  const map = new maplibregl.Map({container: 'g', attributionControl: false,
    style: {version: 8, sources: {}, layers: [{id: 'bg', type: 'background', paint: {'background-color': 'white'}}]},
    center: [fig.layout.map.center.lon, fig.layout.map.center.lat], zoom: fig.layout.map.zoom});
  await new Promise(r => map.on('load', r));
  const changed = [];
  fig.data.forEach((t, i) => {
    if (t.type === 'choroplethmap') {
      map.addSource('s' + i, {type: 'geojson', data: polygons(t)});
      map.addLayer({id: 'f' + i, type: 'fill', source: 's' + i, paint: {'fill-color': ['get', 'fc'],
                    'fill-opacity': typeof (t.marker || {}).opacity === 'number' ? t.marker.opacity : 1}});
      map.addLayer({id: 'l' + i, type: 'line', source: 's' + i,
                    paint: {'line-color': ['get', 'lc'], 'line-width': ['get', 'lw']}});
      if (['Zones', 'Overlaps', 'Gap'].includes(t.name)) changed.push(i);
    } else if (t.lon && t.lon.length > 1) {
      map.addSource('s' + i, {type: 'geojson', data: lines(t)});
      map.addLayer({id: 'l' + i, type: 'line', source: 's' + i,
                    paint: {'line-color': (t.line || {}).color || '#000', 'line-width': (t.line || {}).width || 1}});
    }
  });
  await idle(map);
  const first = performance.now() - t0;
  const t2 = performance.now();
  const p = idle(map);
  for (const i of changed) map.getSource('s' + i).setData(polygons(JSON.parse(JSON.stringify(fig.data[i]))));
  await p;
  const update = performance.now() - t2;
  const full = await frames(map, 5);
  for (const l of map.getStyle().layers) if (l.id !== 'bg') map.setLayoutProperty(l.id, 'visibility', 'none');
  await idle(map);
  const empty = await frames(map, 5);
  return {first, update, changed: changed.length, frame: full.slice(1), empty: empty.slice(1)};
};
</script></body></html>"""


def _maplibre_js() -> _Path:
    """``maplibre-gl.js`` from the npm registry, cached (the only thing this benchmark fetches)."""
    dest = CACHE / f"maplibre-gl-{MAPLIBRE}.js"
    if not dest.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        work = _Path(tempfile.mkdtemp(prefix="npm-pack-"))
        subprocess.run(["npm", "pack", f"maplibre-gl@{MAPLIBRE}", "--silent"], cwd=work, check=True,
                       capture_output=True)
        with tarfile.open(next(work.glob("maplibre-gl-*.tgz"))) as tar:
            member = tar.extractfile("package/dist/maplibre-gl.js")
            dest.write_bytes(member.read())
        shutil.rmtree(work, ignore_errors=True)
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size", default="1400x900", help="the map's size in CSS pixels (the dashboard's at 1920x1080)")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))

    from bench_browser import _driver, _free_port

    from ua_coverage.figures import MapView, map_figure
    from ua_coverage.workflow import analyze_plan, sample_plan

    site = _Path(tempfile.mkdtemp(prefix="bench-frames-"))
    plan = sample_plan()
    fig = map_figure(plan, analyze_plan(plan), MapView(domain="land"))
    (site / "fig.json").write_text(json.dumps(fig, default=float))
    shutil.copy(_Path(__file__).resolve().parents[2] / "assets" / "plotly-map.min.js", site)
    shutil.copy(_maplibre_js(), site / "maplibre-gl.js")
    (site / "plotly.html").write_text(PLOTLY_PAGE % {"w": w, "h": h})
    (site / "maplibre.html").write_text(MAPLIBRE_PAGE % {"w": w, "h": h})
    port = _free_port()
    server = subprocess.Popen([_sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=site,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    driver = _driver()
    driver.set_script_timeout(180)
    runs: dict[str, list[dict]] = {"plotly": [], "maplibre": []}
    try:
        for _ in range(args.repeat):
            for page in runs:
                driver.get(f"http://127.0.0.1:{port}/{page}.html")
                runs[page].append(driver.execute_async_script(
                    "const done = arguments[arguments.length - 1]; run().then(done, e => done({error: String(e)}));"))
    finally:
        driver.quit()
        server.terminate()
    med = lambda rows, k: statistics.median(r[k] for r in rows) / 1000
    print(f"the sample's land map, {len(fig['data'])} traces, {w}x{h} px, medians of {args.repeat}:")
    print(f"  plotly.js:   first draw {med(runs['plotly'], 'first'):.2f} s; a what-if's react (every trace) "
          f"{med(runs['plotly'], 'update'):.2f} s")
    ml = runs["maplibre"]
    print(f"  MapLibre alone (v{MAPLIBRE}): first draw {med(ml, 'first'):.2f} s; setData of the "
          f"{ml[0]['changed']} changed sources only {med(ml, 'update'):.2f} s")
    frame = statistics.median(x for r in ml for x in r["frame"])
    empty = statistics.median(x for r in ml for x in r["empty"])
    print(f"  one frame of the whole map {frame:.0f} ms; of the background alone {empty:.0f} ms")


if __name__ == "__main__":
    main()
