"""Briefing truth: every view and export says exactly what it shows (band, what-if), hides nothing silently,
and 'export what you see' includes the zoom a table row click set. Browser tests in headless Chromium."""
from __future__ import annotations

import math

import subprocess
import sys

import pytest

from _browser import wait_for


def km2(text: str) -> float:
    return float(text.replace("km²", "").replace(",", "").replace("%", "").strip())


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.browser
def test_the_air_band_moves_the_kpis(dash_duo, app):
    from ua_coverage.workflow import analyze_sample

    bands = analyze_sample().air_bands
    low = next(i for i, b in enumerate(bands) if b["floor_ft"] == 0)
    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#kpi-extent", "483,305 km²", timeout=30)
    dash_duo.find_element("#domain-picker input[value='air']").click()
    dash_duo.wait_for_text_to_equal("#kpi-extent", "506,939 km²", timeout=20)
    all_gap = km2(dash_duo.find_element("#kpi-gap").text)
    dash_duo.select_dcc_dropdown("#band-picker", index=low + 1)
    want = f"{bands[low]['gap_km2']:,.0f} km²"
    wait_for(lambda: dash_duo.find_element("#kpi-gap").text == want, what="band gap KPI")
    assert km2(want) != all_gap  # the band's gap, not the 2-D one
    assert f"{bands[low]['covered_pct']:.1f} %" == dash_duo.find_element("#kpi-covered").text
    assert "altitude band" in dash_duo.find_element("#revision-info").text
    assert dash_duo.get_logs() == []


@pytest.mark.browser
def test_a_what_if_is_stated_on_the_page_and_in_the_exports(dash_duo, app, tmp_path):
    dash_duo.driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#kpi-extent", "483,305 km²", timeout=30)
    assert not dash_duo.find_element("#whatif-banner").is_displayed()
    dash_duo.find_element("#contingent-filter input[value='GBR']").click()
    wait_for(lambda: dash_duo.find_element("#whatif-banner").is_displayed(), what="what-if banner")
    assert dash_duo.find_element("#whatif-banner").text == "WHAT-IF — without GBR: not the plan"
    dash_duo.select_dcc_dropdown("#export-format", index=1)
    dash_duo.find_element("#export-button").click()
    wait_for(lambda: "Exported" in dash_duo.find_element("#export-status").text, timeout=90, what="export")
    pdf = tmp_path / "coverage-r1-land-without-GBR.pdf"  # a what-if is named as one
    wait_for(lambda: pdf.exists() and pdf.stat().st_size > 1000, timeout=30,
             what=f"download (status {dash_duo.find_element('#export-status').text!r}, files {sorted(tmp_path.iterdir())})")
    assert "WHAT-IF — without GBR: not the plan" in pdf_text(pdf)
    dash_duo.select_dcc_dropdown("#export-format", index=0)
    dash_duo.find_element("#export-button").click()
    png = tmp_path / "coverage-r1-land-without-GBR.png"
    wait_for(lambda: png.exists() and png.stat().st_size > 1000, timeout=90, what="png download")
    from PIL import Image

    img = Image.open(png).convert("RGB")
    # the amber what-if stripe runs under the banner, across the slide
    stripe = [img.getpixel((x, 47)) for x in (200, 960, 1700)]
    assert all(abs(r - 0xff) < 30 and abs(g - 0xca) < 40 and b < 90 for r, g, b in stripe), stripe
    assert dash_duo.get_logs() == []


@pytest.mark.browser
def test_a_row_click_is_what_gets_exported(dash_duo, app, tmp_path):
    dash_duo.driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#kpi-extent", "483,305 km²", timeout=30)
    cell = dash_duo.find_element("#gap-table tbody tr:nth-child(3) td[data-dash-column='area_km2']")
    assert cell.text == "21,433.8"
    assert "Poltava" in dash_duo.find_element("#gap-table tbody tr:nth-child(3)").text  # oblasts in words
    zoom = "return document.querySelector('#map .js-plotly-plot')._fullLayout.map.zoom"
    zoom0 = dash_duo.driver.execute_script(zoom)
    cell.click()
    wait_for(lambda: dash_duo.driver.execute_script(zoom) > zoom0 + 1, what="the map zoomed to the gap")  # as seen
    dash_duo.select_dcc_dropdown("#export-format", index=3)
    dash_duo.find_element("#export-button").click()
    html_file = tmp_path / "coverage-r1-land.html"
    wait_for(lambda: html_file.exists() and html_file.stat().st_size > 1000, timeout=90, what="html download")
    import json
    import re

    doc = html_file.read_text(encoding="utf-8")
    lon = json.loads(re.search(r'"lonaxis":\s*(\{[^}]*\})', doc).group(1))["range"]
    lat = json.loads(re.search(r'"lataxis":\s*(\{[^}]*\})', doc).group(1))["range"]
    assert lon[0] < 33.74 < lon[1] and lat[0] < 49.89 < lat[1]
    assert lon[1] - lon[0] < 8, lon  # framed on the gap, not on all of Ukraine (about 19° wide)
    assert dash_duo.get_logs() == []


def test_pack_of_a_what_if_names_it_on_every_page(tmp_path):
    out = tmp_path / "x.pdf"
    p = subprocess.run([sys.executable, "-m", "ua_coverage", "export", "--format", "pack", "--without", "FRA",
                        "--out", str(out), "--data-dir", str(tmp_path / "d")], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    from pypdf import PdfReader

    pages = [pg.extract_text() for pg in PdfReader(out).pages]
    assert len(pages) >= 6
    for text in pages:
        assert "WHAT-IF" in text and "FRA" in text, text[:300]
    assert "Kharkiv" in pdf_text(out)


def test_pack_tables_say_what_they_leave_out():
    from ua_coverage.export import TableFlow, _legend_tables

    pieces = [{"area_km2": float(i)} for i in range(100, 0, -1)]
    rows = [[str(p["area_km2"]), "x", "y"] for p in pieces]
    flow = TableFlow(["km²", "a", "b"], rows, [0.3, 0.3, 0.4], pieces=pieces, what="gaps", file="gaps.csv", max_pages=2)
    first, pages = flow.take(12), flow.pages(30)
    assert len(first) == 12 and [len(p) for p in pages] == [30, 30]  # flowed on, capped at two pages
    last = pages[-1][-1]
    assert last[0] == "+29 more" and last[1] == f"{sum(range(1, 30)):,.1f} km² in all" and "gaps.csv" in last[2]
    assert 12 + 30 + 29 + 29 == len(rows)  # listed + counted = all (the smallest 29, 1 to 29 km²)
    assert sum(len(p) for p in TableFlow([], rows, []).pages(7)) == 100  # uncapped: every row, on 15 pages
    legend = _legend_tables([(f"N{i}", "#123456") for i in range(200)], {"x": [0.5, 0.9], "y": [0.1, 0.3]}, 794)
    names = [n for t in legend for n in t["cells"]["values"][1]]
    assert names[-1].startswith("… and ") and len(names) < 200
    legend = _legend_tables([(f"N{i}", "#123456") for i in range(30)], {"x": [0.5, 0.9], "y": [0.1, 0.5]}, 794)
    assert [n for t in legend for n in t["cells"]["values"][1]] == [f"N{i}" for i in range(30)]  # all of them


def test_exports_draw_no_place_name_cut_by_the_frame():
    """On paper a name the frame would cut (SLOVAKIA, Black Sea at the edge) is left out; names inside stay."""
    import shapely

    from ua_coverage.figures import MapView, map_figure, to_geo
    from ua_coverage.workflow import analyze_plan, sample_plan

    plan = sample_plan()
    fig = map_figure(plan, analyze_plan(plan), MapView(domain="land"))
    (labels,) = [t for t in fig["data"] if t.get("meta") == "place-labels"]
    bounds = (24.0, 45.5, 38.0, 52.0)
    (framed,) = [t for t in to_geo(fig, bounds)["data"] if t.get("meta") == "place-labels"]
    boxes = [shapely.geometry.shape(f["geometry"]).bounds for f in labels["geojson"]["features"]]
    inside = [b[0] >= 24.0 and b[2] <= 38.0 and b[1] >= 45.5 and b[3] <= 52.0 for b in boxes]
    assert 0 < sum(inside) < len(boxes)  # some names cross this frame, most do not
    assert len(framed["geojson"]["features"]) == sum(inside) == len(framed["locations"]) == len(framed["z"])


def test_the_legend_swatch_is_the_fill_the_map_shows():
    """A zone's legend row has the colour its fill shows on the map (the registry colour at the zones' opacity,
    on white), in the dashboard's legend and in the pack's legend tables alike."""
    from ua_coverage.colours import as_filled
    from ua_coverage.export import _swatch
    from ua_coverage.figures import MapView, map_figure
    from ua_coverage.workflow import analyze_plan, sample_plan

    plan = sample_plan()
    fig = map_figure(plan, analyze_plan(plan), MapView(domain="land"))
    (zones,) = [t for t in fig["data"] if t.get("name") == "Zones"]
    fra = dict(zip(plan.contingents["code"], plan.contingents["colour"]))["FRA"]
    k = zones["locations"].index("L-05")  # led by FRA
    scale = dict((round(s * zones["zmax"]), c) for s, c in zones["colorscale"])
    assert scale[zones["z"][k]] == fra and zones["marker"]["line"]["color"][k] == fra
    (row,) = [t for t in fig["data"] if t.get("showlegend") and t["name"].startswith("FRA")]
    assert row["marker"]["color"] == _swatch(row) == as_filled(fra, zones["marker"]["opacity"])


def test_every_gap_is_drawn_with_its_area(sample_result):
    """The map draws each gap with the area the tables give it: a displayed gap's polygon is never lost (the
    sample's air gap of 140 parts came out of the projection crossing itself and was rebuilt empty; the air map
    showed no gap at all)."""
    from ua_coverage.engine.geodesy import area_km2
    from ua_coverage.figures import MapView, map_figure
    from ua_coverage.workflow import sample_plan

    a = sample_result
    for layer in ("air", "sea", "land", "monitoring"):
        for band in ([None] + list(range(len(a.air_bands))) if layer == "air" else [None]):
            faces = a.gap_faces(layer, band)
            drawn = float(area_km2(faces.geometry.values).sum())
            assert drawn == pytest.approx(float(faces["area_km2"].sum()), rel=1e-3), (layer, band)
    pieces = a.gap_pieces
    assert float(area_km2(pieces.geometry.values).sum()) == pytest.approx(float(pieces["area_km2"].sum()), rel=1e-3)
    fig = map_figure(sample_plan(), a, MapView(domain="air"))
    (gap,) = [t for t in fig["data"] if t.get("name") == "Gap"]
    assert len(gap["geojson"]["features"]) == len(a.gap_faces("air"))


def test_a_snapshot_fills_the_column_beside_the_map(sample_result):
    """Under the legend, a snapshot gives the view's key figures (the subtitle's own numbers), sized to the page so
    no row wraps or is clipped; a legend too long for the column becomes tables in columns, every entry kept."""
    import pandas as pd

    from ua_coverage.export import Snapshot, snapshot_figure
    from ua_coverage.figures import MapView
    from ua_coverage.store import RevisionInfo
    from ua_coverage.view import view_figures
    from ua_coverage.workflow import sample_plan

    rev = RevisionInfo(id=2, parent=1, author="t", time="2027-01-01T00:00:00Z", message="m", hash="x", sectors=19)
    plan = sample_plan()
    f = view_figures(sample_result, "land")
    for size, width in (("slide", 1920), ("a4", 1123)):
        fig = snapshot_figure(Snapshot(plan, sample_result, rev, MapView(domain="land", withdrawn=())), size)
        (key,) = [t for t in fig["data"] if t.get("type") == "table"]
        labels, values = key["cells"]["values"]
        assert labels[:2] == ["Covered", "Gap"] and values[0] == f"{f['covered_pct']:.1f} % ({f['covered_km2']:,.0f} km²)"
        assert "Unassigned" in labels and "L-07" in values[labels.index("Unassigned")]
        longest = max(len(v) for v in values)
        assert longest * key["cells"]["font"]["size"] * 0.6 < 0.195 * width * 0.66  # one line per row
        assert key["domain"]["y"][0] > 0.05 and key["domain"]["x"][0] > 0.78  # in the column, above the footer
    many = plan.contingents.copy()
    extra = pd.DataFrame({"code": [f"X{i:02d}" for i in range(40)], "name": [f"Nation {i}" for i in range(40)],
                          "colour": ["#336699"] * 40, "notes": [""] * 40})
    many = pd.concat([many, extra], ignore_index=True)
    land = plan.sectors[plan.sectors["layer"] == "land"]
    copies = pd.concat([land.assign(sector_id=[f"{s}-{k}" for s in land["sector_id"]]) for k in range(5)],
                       ignore_index=True)  # 45 land sectors led by 40 nations: a legend of over 50 entries
    copies["contingent"] = [f"X{i % 40:02d}" for i in range(len(copies))]
    copies["contingents"] = [(c,) for c in copies["contingent"]]
    big = type(plan)(type(plan.sectors)(copies, geometry="geometry", crs=4326), many, plan.extents, plan.notional)
    from ua_coverage.workflow import analyze_plan

    fig = snapshot_figure(Snapshot(big, analyze_plan(big), rev, MapView(domain="land")), "a4")
    tables = [t for t in fig["data"] if t.get("type") == "table"]
    names = [n for t in tables for n in t["cells"]["values"][1]]
    shown = [t["name"] for t in fig["data"] if t.get("showlegend")]
    assert not shown and len(tables) >= 2  # the plotly legend gave way to tables in columns
    assert all(any(n.startswith(f"X{i:02d} — ") for n in names) for i in range(40))  # every colour, none cut
    assert any(n.startswith("Gap (no contingent") for n in names)  # shortened to one line, never dropped


@pytest.mark.parametrize("viewport", [(1366, 768), (1920, 1080), (1280, 1024)])
def test_each_domain_fills_the_map_left_of_the_legend(viewport):
    """A domain's view is framed on its extent, as large as the map allows, with every part of the extent left of
    the legend (which sits at the map's right edge) and inside the map."""
    from ua_coverage.app.map_page import _map_px
    from ua_coverage.figures import LEGEND_PX, frame_extent
    from ua_coverage.view import extent_bounds
    from ua_coverage.workflow import sample_plan

    plan = sample_plan()
    width, height = _map_px(list(viewport))

    def px(lon, lat, z):  # Web Mercator pixels relative to the map's centre
        scale = 512 * 2 ** z["zoom"] / 360
        y = lambda la: math.degrees(math.log(math.tan(math.pi / 4 + math.radians(la) / 2)))  # noqa: E731
        return ((lon - z["center"]["lon"]) * scale + width / 2, -(y(lat) - y(z["center"]["lat"])) * scale + height / 2)

    for domain in ("air", "sea", "land", "monitoring"):
        z = frame_extent(extent_bounds(plan, domain), width, height)
        minx, miny, maxx, maxy = plan.full_extents().layers[domain].bounds
        (x0, y0), (x1, y1) = px(minx, maxy, z), px(maxx, miny, z)
        assert 0 <= x0 and x1 <= width - LEGEND_PX and 0 <= y0 and y1 <= height, (domain, x0, x1, y0, y1)
        assert (x1 - x0) > 0.6 * (width - LEGEND_PX) or (y1 - y0) > 0.6 * height, domain  # it fills the map
