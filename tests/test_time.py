"""Plans in time: validity dates and phases, coverage on any day, the timeline and its handover gaps."""
from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from _cli import run_cli
import shapely

from ua_coverage import workflow
from ua_coverage.domains import Extents
from ua_coverage.engine import analyze, area_km2
from ua_coverage.engine.timeline import timeline
from ua_coverage.ingest import validate_file
from ua_coverage.plan import Plan

BOX = shapely.box(30.0, 49.0, 31.0, 50.0)
LEFT, RIGHT = shapely.box(30.0, 49.0, 30.5, 50.0), shapely.box(30.5, 49.0, 31.0, 50.0)


def handover_plan(phases: pd.DataFrame | None = None) -> Plan:
    """FRA holds the left half until 31 March; GBR takes it over on 8 April; POL holds the right half always."""
    s = gpd.GeoDataFrame({
        "sector_id": ["A", "B", "C"], "name": ["a", "b", "c"], "domain": "land", "kind": "zone",
        "contingent": ["FRA", "GBR", "POL"], "contingents": [("FRA",), ("GBR",), ("POL",)], "layer": "land",
        "floor_ft": np.nan, "ceiling_ft": np.nan, "phase": ["", "", ""],
        "valid_from": ["2027-01-01", "2027-04-08", ""], "valid_to": ["2027-03-31", "", ""], "notes": ""},
        geometry=[LEFT, LEFT, RIGHT], crs=4326)
    reg = pd.DataFrame({"code": ["FRA", "GBR", "POL"], "name": ["France", "UK", "Poland"],
                        "colour": ["#0072b2", "#009e73", "#56b4e9"], "notes": ""})
    ext = Extents({k: BOX for k in ("air", "sea", "land", "monitoring")}, {k: "test box" for k in ("air", "sea", "land", "monitoring")})
    return Plan(s, reg, ext, phases=phases if phases is not None else pd.DataFrame(columns=["name", "start", "end", "notes"]))


def half() -> float:
    return float(area_km2([LEFT])[0])


def test_active_on_is_inclusive_at_both_ends():
    p = handover_plan()
    assert list(p.active_on("2026-12-31")) == [False, False, True]
    assert list(p.active_on("2027-01-01")) == [True, False, True]
    assert list(p.active_on("2027-03-31")) == [True, False, True]   # valid_to is inclusive
    assert list(p.active_on("2027-04-01")) == [False, False, True]
    assert list(p.active_on("2027-04-08")) == [False, True, True]   # valid_from is inclusive
    assert p.change_dates() == ["2027-01-01", "2027-04-01", "2027-04-08"]


def test_figures_on_a_day_reuse_the_partition_and_are_exact():
    p = handover_plan()
    ext = p.full_extents()
    whole = analyze(p.sectors, ext, p.contingents)
    assert whole.domains["land"]["gap_km2"] == pytest.approx(0, abs=1e-6)
    assert whole.domains["land"]["conflict_km2"] == pytest.approx(half(), rel=1e-6)  # A and B, never at once
    hole = analyze(p.sectors, ext, p.contingents, active=p.active_on("2027-04-03"))
    assert hole.domains["land"]["gap_km2"] == pytest.approx(half(), rel=1e-6)
    assert hole.domains["land"]["overlap_km2"] == pytest.approx(0, abs=1e-6)
    assert hole.domains["land"]["sectors"] == 1
    assert [g["area_km2"] for g in hole.gaps if g["domain"] == "land"] == pytest.approx([half()], rel=1e-6)
    assert sorted(hole.contingents["POL"]["lead_sectors"]) == ["C"] and hole.contingents["FRA"]["lead_sectors"] == []
    later = analyze(p.sectors, ext, p.contingents, active=p.active_on("2027-05-01"))
    assert later.domains["land"]["gap_km2"] == pytest.approx(0, abs=1e-6)
    assert later.domains["land"]["overlap_km2"] == pytest.approx(0, abs=1e-6)


def test_timeline_intervals_and_the_handover_gap():
    rows, holes = timeline(handover_plan())
    assert [(r["from"], r["to"], r["active_sectors"]) for r in rows] == [
        (None, "2027-01-01", 1), ("2027-01-01", "2027-04-01", 2), ("2027-04-01", "2027-04-08", 1),
        ("2027-04-08", None, 2)]
    gaps = [r["domains"]["land"]["gap_km2"] for r in rows]
    assert gaps == pytest.approx([half(), 0, half(), 0], abs=1e-6)
    assert rows[1]["starting"] == ["A"] and rows[2]["ending"] == ["A"] and rows[3]["starting"] == ["B"]
    (h,) = [h for h in holes if h["layer"] == "land"]
    assert (h["from"], h["to"], h["ended"], h["started"]) == ("2027-04-01", "2027-04-08", ["A"], ["B"])
    assert h["gap_km2"] == pytest.approx(half(), rel=1e-6)
    assert h["bounds"] == pytest.approx([30.0, 49.0, 30.5, 50.0])


def test_a_phase_gives_dates_to_sectors_without_their_own():
    phases = pd.DataFrame({"name": ["Entry", "Consolidation"], "start": ["2027-01-01", "2027-04-01"],
                           "end": ["2027-03-31", ""], "notes": ""})
    p = handover_plan(phases)
    p.sectors.loc[2, "phase"] = "Consolidation"  # C has no dates of its own: active from 1 April
    assert list(p.active_on("2027-03-31")) == [True, False, False]
    assert list(p.active_on("2027-04-01")) == [False, False, True]
    assert p.phases_on("2027-04-03") == ["Consolidation"]
    rows, _ = timeline(p)
    assert [r["phase"] for r in rows] == [[], ["Entry"], ["Consolidation"], ["Consolidation"]]


@pytest.mark.parametrize("field, value, rule", [
    ("valid_from", "next spring", "date-invalid"), ("valid_to", "31/02/2027", "date-invalid"),
    ("valid_to", "2027-02-30", "date-invalid"), ("valid_from", "2028-01-01", "date-order")])
def test_date_rules(field, value, rule):
    from _files import base_plan, geojson_bytes

    plan = base_plan()
    plan["valid_from"], plan["valid_to"] = "2027-01-01", ""
    plan = plan.astype({"valid_from": object, "valid_to": object})
    plan.loc[0, "valid_to"] = "2027-06-30"
    plan.loc[0, field] = value
    r = validate_file(geojson_bytes(plan))
    assert not r["accepted"] and r["problems"][0]["rule"] == rule, r["problems"]
    assert r["problems"][0]["field"] == field and r["problems"][0]["feature"] == 0


def test_dates_in_other_forms_are_stored_as_iso():
    from _files import base_plan, geojson_bytes

    plan = base_plan()
    plan["valid_from"] = pd.Series(["2027-01-01"] * len(plan), dtype=object)
    plan.loc[0, "valid_from"] = "01.02.2027"
    plan.loc[1, "valid_from"] = "2027/2/1"
    from ua_coverage.ingest import read_sectors

    res = read_sectors(geojson_bytes(plan), strict=True)
    assert res.accepted and list(res.sectors["valid_from"][:2]) == ["2027-02-01", "2027-02-01"]


def test_phases_import_and_cli_at_and_timeline(tmp_path):
    d = tmp_path / "data"
    ph = tmp_path / "phases.csv"
    ph.write_text("name,start,end,notes\nAlpha,2027-01-01,2027-03-31,\nBravo,01.04.2027,,\n", encoding="utf-8")
    run = lambda *a: run_cli(*a, "--data-dir", str(d))
    p = run("import", "--phases", str(ph), "-m", "phases")
    assert p.returncode == 0 and "phase      Alpha added" in p.stdout, p.stdout + p.stderr
    assert "Entry" in p.stdout and "phase-unknown" in p.stdout + p.stderr  # the sample's sectors name Entry
    doc = json.loads(run("analyze", "--revision", "current", "--at", "2026-12-31", "--json").stdout)
    assert doc["at"] == "2026-12-31" and doc["domains"]["land"]["covered_km2"] == 0 and doc["at_active_sectors"] == 0
    doc = json.loads(run("analyze", "--revision", "current", "--timeline", "--json").stdout)
    assert [(r["from"], r["to"]) for r in doc["timeline"]] == [
        (None, "2027-01-01"), ("2027-01-01", "2027-02-15"), ("2027-02-15", "2027-04-01"),
        ("2027-04-01", "2027-04-08"), ("2027-04-08", None)]
    assert [r["phase"] for r in doc["timeline"]] == [[], ["Alpha"], ["Alpha"], ["Bravo"], ["Bravo"]]
    assert [(h["layer"], h["from"]) for h in doc["handover_gaps"]] == [("land", "2027-04-01")]
    assert doc["domains"]["land"]["gap_km2"] == doc["timeline"][-1]["domains"]["land"]["gap_km2"]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,start,end\nX,2027-05-01,2027-04-01\n", encoding="utf-8")
    p = run("import", "--phases", str(bad), "-m", "bad")
    assert p.returncode == 1 and "date-order" in p.stderr
    assert run("analyze", "--at", "soon").returncode == 2


def test_the_sample_plan_in_time():
    """The bundled sample's designed findings through time: a handover gap over Kyiv city from 1 to 7 April
    (NLD's L-04 ends on 31 March, GBR's L-08 starts on 8 April) and a naval group arriving late (S-02,
    15 February); the whole-plan figures (every sector at once) are those of the designed sample."""
    from ua_coverage.workflow import analyze_plan, sample_plan

    plan = sample_plan()
    assert list(plan.phases["name"]) == ["Entry", "Consolidation"]
    rows, holes = timeline(plan)
    assert [(r["from"], r["phase"], r["starting"], r["ending"]) for r in rows[1:]] == [
        ("2027-01-01", ["Entry"], [s for s in plan.sectors["sector_id"] if s not in ("S-02", "L-08")], []),
        ("2027-02-15", ["Entry"], ["S-02"], []),
        ("2027-04-01", ["Consolidation"], [], ["L-04"]),
        ("2027-04-08", ["Consolidation"], ["L-08"], [])]
    (h,) = holes
    assert (h["layer"], h["from"], h["to"], h["ended"], h["started"]) == ("land", "2027-04-01", "2027-04-08",
                                                                       ["L-04"], ["L-08"])
    assert h["extra_km2"] == pytest.approx(1642, abs=5)  # Kyiv city, with no land zone for a week
    sea = [r["domains"]["sea"]["gap_km2"] for r in rows[1:]]
    assert sea[0] - sea[1] == pytest.approx(8997, abs=10)  # S-02 not yet there (less its overlap with S-01)
    assert sea[1] == sea[2] == sea[3]
    whole = analyze_plan(plan).domains
    assert whole["land"]["gap_km2"] == pytest.approx(rows[-1]["domains"]["land"]["gap_km2"], abs=0.5)
    assert whole["sea"]["gap_km2"] == pytest.approx(sea[-1], abs=0.5)


@pytest.fixture
def dated_store(tmp_path):
    """The sample with a designed handover: FRA leaves the central land zone on 31 March, GBR takes it over on
    8 April; the Kyiv city zone arrives late (15 February)."""
    from ua_coverage import geodata

    s = gpd.read_file(geodata.sample_sectors_path())
    s["valid_from"], s["valid_to"] = "2027-01-01", ""  # not the sample's own dates: a handover of its own
    s.loc[s["sector_id"] == "L-05", "valid_to"] = "2027-03-31"
    s.loc[s["sector_id"] == "L-04", "valid_from"] = "2027-02-15"
    new = s[s["sector_id"] == "L-05"].copy()
    new["sector_id"], new["name"], new["contingent"] = "L-10", "Central land zone (relief)", "GBR"
    new["valid_from"], new["valid_to"] = "2027-04-08", ""
    path = tmp_path / "dated.geojson"
    pd.concat([s, new]).to_file(path)
    st = workflow.open_store(tmp_path / "data")
    workflow.commit(st, workflow.propose(st, sectors=str(path), notional=True), message="dated", author="t")
    return st, tmp_path / "data"


def test_the_sample_with_a_designed_handover(dated_store):
    st, _ = dated_store
    plan = st.load(2)
    rows, holes = timeline(plan)
    assert [r["from"] for r in rows] == [None, "2027-01-01", "2027-02-15", "2027-04-01", "2027-04-08"]
    (h,) = [h for h in holes if h["layer"] == "land"]
    assert (h["from"], h["to"], h["ended"], h["started"]) == ("2027-04-01", "2027-04-08", ["L-05"], ["L-10"])
    assert h["extra_km2"] > 50_000  # the central zone (three oblasts) is uncovered for a week


@pytest.mark.browser
def test_the_day_slider_and_a_handover_click(dash_duo, dated_store):
    from _browser import wait_for
    from selenium.webdriver.common.action_chains import ActionChains

    from ua_coverage.app import create_app

    st, d = dated_store
    dash_duo.start_server(create_app(d))
    dash_duo.wait_for_text_to_equal("#kpi-extent", "483,305 km²", timeout=30)
    whole = dash_duo.find_element("#kpi-gap").text
    # the slider's stops: whole plan, 2027-01-01, 02-15, 04-01, 04-08 -> press 'End'-like: use keyboard arrows
    handle = dash_duo.find_element("#day-slider [role=slider]")
    for _ in range(3):
        handle.send_keys("\ue014")  # arrow right: to 2027-04-01, inside the handover hole
    wait_for(lambda: "on 2027-04-01" in dash_duo.find_element("#revision-info").text,
             what=f"day shown (slider at {handle.get_attribute('aria-valuenow')}, "
                  f"{dash_duo.find_element('#revision-info').text!r})")
    hole_gap = dash_duo.find_element("#kpi-gap").text
    assert hole_gap != whole
    handle.send_keys("\ue014")  # 2027-04-08: GBR has taken over
    wait_for(lambda: "on 2027-04-08" in dash_duo.find_element("#revision-info").text, what="next day")
    wait_for(lambda: dash_duo.find_element("#kpi-gap").text != hole_gap, what="KPI after the handover")
    # click the handover diamond on the timeline: the slider goes to its day and the map zooms to the hole
    zoom0 = dash_duo.driver.execute_script("return document.querySelector('#map .js-plotly-plot')._fullLayout.map.zoom")
    diamond = dash_duo.find_elements("#timeline-chart .scatterlayer .trace:last-child .point")[0]
    ActionChains(dash_duo.driver).move_to_element(diamond).click().perform()
    wait_for(lambda: "on 2027-04-01" in dash_duo.find_element("#revision-info").text, what="jump to the hole")
    wait_for(lambda: dash_duo.driver.execute_script(
        "return document.querySelector('#map .js-plotly-plot')._fullLayout.map.zoom") > zoom0 + 0.3, what="zoom")
    assert dash_duo.get_logs() == []


def test_the_briefing_pack_has_a_timeline_page_when_the_plan_has_dates(tmp_path, monkeypatch):
    """The pack of a dated plan gains "Gap through time" (chart and handover-gap table), every page says the
    day; a plan without dates keeps the six pages."""
    import subprocess as sp

    from ua_coverage import export
    from ua_coverage.figures import MapView
    from ua_coverage.store import RevisionInfo
    from ua_coverage.workflow import analyze_plan, sample_plan

    rev = RevisionInfo(id=3, parent=2, author="t", time="2027-01-01T00:00:00Z", message="phased", hash="x", sectors=19)
    plan = sample_plan()
    out = export.run_export(plan, analyze_plan(plan, at="2027-04-03"), rev, "pack", tmp_path / "p.pdf",
                            view=MapView(), day="2027-04-03")
    pages = sp.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                   check=True).stdout.split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) == 8 and all("on 2027-04-03 (Consolidation)" in " ".join(p.split()) for p in pages)
    (page,) = [p for p in pages if "Gap through time" in p]
    words = " ".join(page.split())
    assert "Land 2027-04-01 2027-04-07 7 1,642 64,879 L-04 L-08" in words  # the handover-gap table
    assert "2027-02-15 2027-03-31 Entry 18 S-02" in words  # the late naval group, in the intervals
    assert "land +1,642 km²" in words  # the diamond's label on the chart

    class Rendered(Exception):
        pass

    def count(j, timeout):
        jobs.extend(j)
        raise Rendered

    jobs = []
    monkeypatch.setattr(export, "render", count)
    undated = sample_plan()
    undated.sectors["valid_from"], undated.sectors["valid_to"] = "", ""
    undated.phases = undated.phases.iloc[0:0]
    with pytest.raises(Rendered):
        export.run_export(undated, analyze_plan(undated), rev, "pack", tmp_path / "q.pdf", view=MapView())
    assert len(jobs) == 7  # overview, four domains, watched by sensors, contingents: no timeline page
