"""The dashboard in a real headless Chromium (dash_duo): what a planner sees and does."""
from __future__ import annotations


import pytest

from _browser import on_map, wait_for



def kpi(dash_duo, name: str) -> str:
    return dash_duo.find_element(f"#kpi-{name}").text


def km2(text: str) -> float:
    return float(text.replace("km²", "").replace(",", "").replace("%", "").strip())


def map_layout(dash_duo) -> dict:
    """Where the map is looking, from MapLibre's own camera (what the planner sees, not plotly's record of it)."""
    return on_map(dash_duo, "var m = g._fullLayout.map._subplot.map, c = m.getCenter(); "
                            "return {zoom: m.getZoom(), lon: c.lng, lat: c.lat, traces: g.data.length};")


@pytest.mark.browser
def test_page_loads_offline_with_banner_kpis_and_map(dash_duo, app):
    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#kpi-extent", "483,305 km²", timeout=30)
    banners = dash_duo.find_elements(".banner")
    assert [b.text for b in banners] == ["UNCLASSIFIED // NOTIONAL PLANNING DATA"] * 2
    assert "NOTIONAL sample plan" in dash_duo.find_element("#notional-note").text
    assert "Revision 1" in dash_duo.find_element("#revision-info").text
    wait_for(lambda: map_layout(dash_duo)["traces"] > 10, what="map traces")
    # the map actually drew: MapLibre's canvas is there and sized
    size = dash_duo.driver.execute_script(
        "var c = document.querySelector('#map canvas'); return c ? [c.width, c.height] : null;")
    assert size and size[0] > 400 and size[1] > 300
    # no request left 127.0.0.1 (blob: and data: URLs are in-page)
    urls = dash_duo.driver.execute_script(
        "return performance.getEntriesByType('resource').map(function(e) { return e.name; });")
    assert urls, "no resources recorded"
    off_host = [u for u in urls if not u.startswith(("http://127.0.0.1", "http://localhost", "blob:", "data:"))]
    assert off_host == []
    # the map is drawn by the project's partial plotly.js (assets/plotly-map.min.js), not the 4.8 MB full bundle
    from plotly.offline import get_plotlyjs_version

    assert any("/assets/plotly-map.min.js" in u for u in urls)
    assert not any("plotly.min.js" in u and "plotly-map" not in u for u in urls)
    assert dash_duo.driver.execute_script("return window.Plotly.version") == get_plotlyjs_version()
    # and any request off this host would have failed (--host-resolver-rules) and logged an error
    assert dash_duo.get_logs() == []  # no console errors


@pytest.mark.browser
def test_switch_domain_and_what_if(dash_duo, app):
    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#kpi-extent", "483,305 km²", timeout=30)
    land_gap = km2(kpi(dash_duo, "gap"))
    dash_duo.find_element("#domain-picker input[value='sea']").click()
    dash_duo.wait_for_text_to_equal("#kpi-extent", "23,634 km²", timeout=20)
    assert km2(kpi(dash_duo, "gap")) == pytest.approx(8582, abs=1)
    dash_duo.find_element("#domain-picker input[value='land']").click()
    dash_duo.wait_for_text_to_equal("#kpi-extent", "483,305 km²", timeout=20)
    # what if the United Kingdom withdrew? L-06 (GBR;NOR) passes to Norway, L-08 (GBR;FIN) to Finland:
    # the land gap must not change; if Poland withdrew too, L-01 passes to LTU, L-02 to CZE.
    dash_duo.find_element("#contingent-filter input[value='GBR']").click()
    wait_for(lambda: "without GBR" in dash_duo.find_element("#kpis").text, what="what-if note")
    assert km2(kpi(dash_duo, "gap")) == pytest.approx(land_gap, abs=1)
    # France leads L-05 with BEL but holds L-09 alone: without FRA, L-09 is unassigned and the part of it
    # outside L-05 (in Poltava) opens up as a gap
    dash_duo.find_element("#contingent-filter input[value='FRA']").click()
    wait_for(lambda: "without FRA, GBR" in dash_duo.find_element("#kpis").text, what="second what-if")
    wait_for(lambda: km2(kpi(dash_duo, "gap")) > land_gap + 100, what="gap KPI to grow")
    assert kpi(dash_duo, "unassigned") == "2"
    assert dash_duo.get_logs() == []


@pytest.mark.browser
def test_clicking_a_gap_row_zooms_the_map(dash_duo, app):
    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#kpi-extent", "483,305 km²", timeout=30)
    wait_for(lambda: map_layout(dash_duo)["traces"] > 10, what="map")
    before = map_layout(dash_duo)
    cell = dash_duo.find_element("#gap-table tbody tr:nth-child(3) td[data-dash-column='area_km2']")
    assert cell.text == "21,433.8"  # Poltava: the designed land gap (rows sorted by area)
    cell.click()
    wait_for(lambda: map_layout(dash_duo)["zoom"] > before["zoom"] + 0.5, what="zoom")
    after = map_layout(dash_duo)
    assert after["lon"] == pytest.approx(33.74, abs=0.05) and after["lat"] == pytest.approx(49.89, abs=0.05)
    assert dash_duo.get_logs() == []


def test_hover_text_is_escaped(tmp_path):
    """Attribute text reaches plotly escaped, so a name like <img onerror> is shown, not run."""
    from ua_coverage.engine.analysis import analyze
    from ua_coverage.figures import sector_hover
    from ua_coverage.workflow import sample_plan

    plan = sample_plan()
    plan.sectors.loc[0, "name"] = '<img src=x onerror="alert(1)">'
    plan.sectors.loc[0, "notes"] = "<script>alert(2)</script>"
    a = analyze(plan.sectors, plan.full_extents(), plan.contingents)
    text = sector_hover(plan.sectors.iloc[[0]], a, {})[0]
    assert "<img" not in text and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in text
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "POL ★lead, LTU" in text


@pytest.mark.browser
def test_export_control_downloads_a_snapshot_of_the_view(dash_duo, app, tmp_path):
    dash_duo.driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow",
                                                                 "downloadPath": str(tmp_path)})
    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#kpi-extent", "483,305 km²", timeout=30)
    dash_duo.wait_for_no_elements("._dash-loading", timeout=30)
    dash_duo.find_element("#domain-picker input[value='sea']").click()
    try:
        dash_duo.wait_for_text_to_equal("#kpi-extent", "23,634 km²", timeout=15)
    except Exception:  # noqa: BLE001 - a click that landed while the first map was still being drawn (CI load)
        dash_duo.find_element("#domain-picker input[value='sea']").click()
        dash_duo.wait_for_text_to_equal("#kpi-extent", "23,634 km²", timeout=30)
    dash_duo.find_element("#export-button").click()
    wait_for(lambda: "Exported coverage-r1-sea.png" in dash_duo.find_element("#export-status").text,
             timeout=90, what="export status")
    wait_for(lambda: (tmp_path / "coverage-r1-sea.png").exists(), timeout=30, what="download")
    from PIL import Image

    assert Image.open(tmp_path / "coverage-r1-sea.png").size == (1920, 1080)
    assert dash_duo.get_logs() == []
