"""Real plans: scoped revisions, the registry and extents in a revision, notional not inherited, no phantom
changes — through the workflow module, the command line and the upload page, on both store backends."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import geopandas as gpd
import pytest
from _cli import run_cli
import shapely

from ua_coverage import geodata, workflow
from ua_coverage.errors import ConflictError, UsageError

from _files import shapefile_zip

from _stores import BACKENDS, PG_URL, backend_store  # noqa: E402,F401
SAMPLE_REGISTRY = geodata.sample_contingents_path().read_text(encoding="utf-8")


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path, monkeypatch):
    yield from backend_store(request.param, tmp_path, monkeypatch, "w")


def sample() -> gpd.GeoDataFrame:
    s = gpd.read_file(geodata.sample_sectors_path())
    s["valid_from"] = s["valid_from"].astype(str).replace("NaT", "")
    return s


def land_cell(tmp_path, **changes):
    """The land zones only, as a land cell would send its revision."""
    s = sample()
    land = s[(s["domain"] == "land") & (s["kind"] == "zone")].copy()
    for sid, code in changes.items():
        land.loc[land["sector_id"] == sid, "contingent"] = code
    path = tmp_path / "land.geojson"
    land.to_file(path)
    return path, set(land["sector_id"])


def layers_of(plan) -> dict:
    return plan.sectors.groupby("layer")["sector_id"].apply(sorted).to_dict()


# -- scopes --------------------------------------------------------------------------------------------------
def test_scope_layers_keeps_the_other_layers(store, tmp_path):
    base = store.load(1)
    path, land_ids = land_cell(tmp_path, **{"L-07": "CZE"})
    land_ids.discard("L-09")
    s = gpd.read_file(path)
    s = s[s["sector_id"] != "L-09"]  # the cell also drops one of its zones
    s.to_file(path)
    prop = workflow.propose(store, sectors=str(path))
    assert prop.accepted and prop.changed
    after = layers_of(prop.plan)
    before = layers_of(base)
    for layer in ("air", "sea", "monitoring"):
        assert after[layer] == before[layer]
    assert after["land"] == sorted(land_ids)
    assert prop.removed_by_scope["layers"] == ["L-09"]
    assert set(prop.removed_by_scope["all"]) == set(before["air"] + before["sea"] + before["monitoring"] + ["L-09"])
    assert [r["sector_id"] for r in prop.diff["removed"]] == ["L-09"]
    cov = prop.diff["coverage"]
    assert cov["air"]["gap_km2"]["change"] == 0 and cov["sea"]["gap_km2"]["change"] == 0
    info = workflow.commit(store, prop, message="land cell", author="land")
    assert info.id == 2 and layers_of(store.load(2)) == after
    # what the preview said is what the commit did
    assert workflow.diff(store, 1, 2)["coverage"] == prop.diff["coverage"]
    assert store.revision(2).summary["domains"]["land"]["gap_km2"] == pytest.approx(
        prop.summary["domains"]["land"]["gap_km2"])


def test_scope_sectors_upserts_and_scope_all_replaces(store, tmp_path):
    s = sample()
    one = s[s["sector_id"] == "L-07"].copy()
    one["contingent"] = "DEU"
    new = one.copy()
    new["sector_id"], new["name"] = "L-99", "New land zone"
    new["geometry"] = [shapely.box(30.0, 49.0, 30.3, 49.2)]
    path = tmp_path / "two.geojson"
    gpd.GeoDataFrame(pd_concat([one, new]), crs=4326).to_file(path)
    prop = workflow.propose(store, sectors=str(path), scope="sectors")
    assert prop.accepted and len(prop.plan.sectors) == 20
    assert [a["sector_id"] for a in prop.diff["added"]] == ["L-99"]
    assert prop.diff["removed"] == [] and prop.diff["reassigned"][0]["to"] == ["DEU"]
    prop_all = workflow.propose(store, sectors=str(path), scope="all")
    assert sorted(prop_all.plan.sectors["sector_id"]) == ["L-07", "L-99"]
    assert len(prop_all.diff["removed"]) == 18
    assert prop_all.diff["coverage"]["air"]["gap_km2"]["after"] == pytest.approx(
        prop_all.diff["coverage"]["air"]["extent_km2"]["after"])  # no air zone left: all gap
    with pytest.raises(UsageError, match="scope"):
        workflow.propose(store, sectors=str(path), scope="everything")


def pd_concat(frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def test_an_id_clash_with_a_kept_layer_is_refused(store, tmp_path):
    s = sample()
    land = s[s["sector_id"] == "L-01"].copy()
    land["sector_id"] = "A-01"  # a land zone reusing an air zone's id, which scope layers keeps
    path = tmp_path / "clash.geojson"
    land.to_file(path)
    prop = workflow.propose(store, sectors=str(path))
    assert not prop.accepted
    assert [p.rule for p in prop.problems] == ["sector-id-duplicate"] and "A-01" in prop.problems[0].message


# -- registry and extents ---------------------------------------------------------------------------------------
def test_registry_in_the_same_revision_admits_a_new_nation(store, tmp_path):
    path, _ = land_cell(tmp_path, **{"L-07": "TUR"})
    refused = workflow.propose(store, sectors=str(path))
    assert not refused.accepted and refused.unknown_codes == ["TUR"]
    assert "--contingents" in refused.problems[0].text("cli") and "--" not in refused.problems[0].text("web")
    reg = tmp_path / "reg.csv"
    reg.write_text(SAMPLE_REGISTRY.rstrip("\n") + "\nTUR,Türkiye,#17becf,notional\n", encoding="utf-8")
    prop = workflow.propose(store, sectors=str(path), contingents=str(reg))
    assert prop.accepted and prop.diff["contingents_registry"]["added"] == ["TUR"]
    assert any("new nations: TUR" in n for n in prop.registry_notes)
    info = workflow.commit(store, prop, message="TUR takes L-07", author="ed")
    a = workflow.analyze_plan(store.load(info.id))
    assert a.contingents["TUR"]["lead_sectors"] == ["L-07"] and a.contingents["TUR"]["assigned_km2"] > 30_000
    assert a.unknown_contingents == []


def test_a_registry_that_drops_a_used_code_is_refused(store, tmp_path):
    reg = tmp_path / "reg.csv"
    reg.write_text("\n".join(line for line in SAMPLE_REGISTRY.splitlines() if not line.startswith("FRA,")) + "\n",
                   encoding="utf-8")
    prop = workflow.propose(store, contingents=str(reg))
    assert not prop.accepted
    (p,) = prop.problems
    assert p.rule == "contingents-in-use" and "FRA" in p.message
    users = sorted(str(s) for s, cs in zip(store.load(1).sectors["sector_id"], store.load(1).sectors["contingents"])
                   if "FRA" in cs)
    assert all(u in p.message for u in users)
    assert store.current().id == 1


def test_extents_only_changes_the_extent_figures(store, tmp_path):
    land = shapely.box(30.0, 48.0, 34.0, 51.0)
    path = tmp_path / "aor.geojson"
    gpd.GeoDataFrame({"domain": ["land"]}, geometry=[land], crs=4326).to_file(path)
    prop = workflow.propose(store, extents=str(path))
    assert prop.accepted and prop.changed
    d = prop.diff
    assert d["added"] == d["removed"] == d["reshaped"] == d["attributes"] == d["reassigned"] == []
    (e,) = d["extents"]
    assert e["layer"] == "land" and e["after_km2"] == pytest.approx(_geod_km2(land), rel=1e-3)
    cov = d["coverage"]
    assert cov["land"]["extent_km2"]["after"] == pytest.approx(e["after_km2"], rel=1e-6)
    for layer in ("air", "sea", "monitoring"):
        assert cov[layer]["extent_km2"]["change"] == 0 and cov[layer]["gap_km2"]["change"] == 0
    info = workflow.commit(store, prop, message="new land AOR", author="ed")
    plan, first = store.load(info.id), store.load(1)
    assert list(plan.sectors["sector_id"]) == list(first.sectors["sector_id"])
    assert all(shapely.equals_exact(a, b, 0) for a, b in zip(plan.sectors.geometry, first.sectors.geometry))
    assert plan.contingents.equals(first.contingents)
    assert workflow.diff(store, 1, info.id)["extents"][0]["layer"] == "land"


def _geod_km2(g) -> float:
    import pyproj

    return abs(pyproj.Geod(ellps="WGS84").geometry_area_perimeter(shapely.segmentize(g, 0.05))[0]) / 1e6


# -- notional, no change, round trips --------------------------------------------------------------------------
def test_notional_is_a_property_of_the_data(store, tmp_path):
    assert store.current().notional
    path, _ = land_cell(tmp_path, **{"L-07": "CZE"})
    real = workflow.commit(store, workflow.propose(store, sectors=str(path)), message="real", author="ed")
    assert not real.notional and not store.load(real.id).notional
    again = workflow.commit(store, workflow.propose(store, extents=None, contingents=None, sectors=str(path),
                                                    notional=True), message="notional", author="ed")
    assert again.notional and again.id == real.id + 1
    assert [r.notional for r in store.history()] == [True, False, True]


def test_nothing_to_commit_is_no_revision(store, tmp_path):
    s = sample()
    path = tmp_path / "same.geojson"
    s.to_file(path)
    prop = workflow.propose(store, sectors=str(path), notional=True)
    assert prop.accepted and not prop.changed
    assert workflow.commit(store, prop, message="x", author="y").id == 1
    assert [r.id for r in store.history()] == [1]


def test_a_shapefile_round_trip_is_no_change(store, tmp_path):
    z = shapefile_zip(gpd.read_file(geodata.sample_sectors_path()), tmp_path)
    # scope all takes national extents and no phases or sensors unless kept (issue 27): keep them, so only the
    # sectors' round trip is compared
    prop = workflow.propose(store, sectors=z, scope="all", notional=True, sectors_name="plan.zip",
                            keep=("extents", "phases", "sensors"))
    assert prop.accepted, prop.problems
    assert not prop.changed, (prop.diff["attributes"][:3], prop.diff["reshaped"][:3])
    assert prop.diff["reshaped"] == prop.diff["attributes"] == []


def test_conflict_and_refresh(store, tmp_path):
    a_path, _ = land_cell(tmp_path, **{"L-07": "CZE"})
    (tmp_path / "b").mkdir()
    b_path, _ = land_cell(tmp_path / "b", **{"L-07": "DEU"})
    pa, pb = workflow.propose(store, sectors=str(a_path)), workflow.propose(store, sectors=str(b_path))
    workflow.commit(store, pa, message="A", author="a")
    with pytest.raises(ConflictError):
        workflow.commit(store, pb, message="B", author="b")
    fresh = workflow.refresh(store, pb)
    assert fresh.base == 2 and fresh.diff["reassigned"] == [{"sector_id": "L-07", "from": ["CZE"], "to": ["DEU"]}]
    assert workflow.commit(store, fresh, message="B", author="b").id == 3


def test_pending_proposals_live_in_the_store(store, tmp_path):
    path, _ = land_cell(tmp_path, **{"L-07": "CZE"})
    prop = workflow.propose(store, sectors=str(path))
    token = workflow.keep_pending(store, prop, owner="ed")
    # another worker (another store object on the same database) finds it
    other = type(store).__new__(type(store))
    other.__dict__.update(store.__dict__)
    got = workflow.pending(other, token)
    assert got is not None and got.diff == prop.diff and len(got.plan.sectors) == len(prop.plan.sectors)
    workflow.drop_pending(store, token)
    assert workflow.pending(store, token) is None
    assert workflow.pending(store, "../etc/passwd") is None


# -- the command line --------------------------------------------------------------------------------------------
def cli(*args, data_dir):
    return run_cli(*args, "--data-dir", str(data_dir))


def gap(data_dir, layer: str, rev: str = "current") -> float:
    doc = json.loads(cli("analyze", "--revision", rev, "--json", data_dir=data_dir).stdout)
    return doc["domains"][layer]["gap_km2"]


def test_cli_scoped_import_registry_extents_and_no_change(tmp_path):
    d = tmp_path / "data"
    air_gap = None
    path, _ = land_cell(tmp_path, **{"L-07": "TUR"})
    p = cli("import", str(path), "-m", "land cell", data_dir=d)
    assert p.returncode == 1 and "contingent-unknown" in p.stderr and "--contingents CSV" in p.stderr
    reg = tmp_path / "reg.csv"
    reg.write_text(SAMPLE_REGISTRY.rstrip("\n") + "\nTUR,Türkiye,#17becf,\n", encoding="utf-8")
    air_gap = gap(d, "air")
    p = cli("import", str(path), "--contingents", str(reg), "-m", "land cell + TUR", data_dir=d)
    assert p.returncode == 0, p.stderr
    assert "Committed revision 2" in p.stdout and "registry   TUR added" in p.stdout
    assert "kept (--scope all would remove them)" in p.stdout
    assert gap(d, "air") == pytest.approx(air_gap)  # air, sea and monitoring kept
    doc = json.loads(cli("analyze", "--revision", "2", "--json", data_dir=d).stdout)
    assert doc["contingents"]["TUR"]["lead_sectors"] == ["L-07"] and doc["plan"]["notional"] is False
    assert json.loads(cli("analyze", "--revision", "1", "--json", data_dir=d).stdout)["plan"]["notional"] is True
    # the same again: nothing to commit
    p = cli("import", str(path), "--contingents", str(reg), "-m", "again", data_dir=d)
    assert p.returncode == 0 and "No change: revision 2 stays current" in p.stdout
    # extents only
    aor = tmp_path / "aor.geojson"
    gpd.GeoDataFrame({"domain": ["monitoring"]}, geometry=[shapely.box(36.0, 47.0, 38.0, 49.0)], crs=4326).to_file(aor)
    before = json.loads(cli("analyze", "--revision", "2", "--json", data_dir=d).stdout)
    p = cli("import", "--extents", str(aor), "-m", "monitoring AOR", data_dir=d)
    assert p.returncode == 0 and "extent     monitoring" in p.stdout, p.stdout + p.stderr
    after = json.loads(cli("analyze", "--revision", "3", "--json", data_dir=d).stdout)
    assert after["domains"]["monitoring"]["extent_km2"] != pytest.approx(before["domains"]["monitoring"]["extent_km2"])
    for layer in ("air", "sea", "land"):
        assert after["domains"][layer] == before["domains"][layer]
    assert set(after["sectors"]) == set(before["sectors"])
    # scope all removes the other layers; a dry run commits nothing
    p = cli("import", str(path), "--contingents", str(reg), "--scope", "all", "--dry-run", "-m", "x", data_dir=d)
    assert p.returncode == 0 and "Dry run" in p.stdout and "removed    A-01" in p.stdout
    p = cli("import", str(path), "--contingents", str(reg), "--scope", "all", "-m", "land only", data_dir=d)
    assert p.returncode == 0 and "Committed revision 4" in p.stdout
    assert gap(d, "air") > 500_000
    hist = json.loads(cli("history", "--json", data_dir=d).stdout)
    assert [r["notional"] for r in hist["revisions"]] == [True, False, False, False]
    d23 = json.loads(cli("diff", "2", "3", "--json", data_dir=d).stdout)
    assert d23["extents"][0]["layer"] == "monitoring" and d23["added"] == d23["removed"] == []
    assert cli("import", "-m", "nothing", data_dir=d).returncode == 2
    assert cli("diff", "one", "2", data_dir=d).returncode == 2


# -- the upload page ---------------------------------------------------------------------------------------------
@pytest.mark.browser
def test_browser_scoped_upload_with_a_registry_addition(dash_duo, tmp_path):
    from _browser import wait_for

    from ua_coverage.app import create_app

    d = tmp_path / "data"
    store = workflow.open_store(d)
    dash_duo.start_server(create_app(d))
    dash_duo.driver.get(dash_duo.server_url + "/upload")
    dash_duo.wait_for_element("#upload", timeout=20)
    path, _ = land_cell(tmp_path, **{"L-07": "TUR"})
    dash_duo.find_element("#upload input[type=file]").send_keys(str(path))
    wait_for(lambda: "REJECTED" in dash_duo.find_element("#upload-report").text
             and "contingent-unknown" in dash_duo.find_element("#upload-report").text, what="rejection")
    report = dash_duo.find_element("#upload-report").text
    assert "--" not in report  # browser advice names the page's controls, never a command-line flag
    assert "TUR is not in the registry" in report
    fix = dash_duo.find_element("#registry-fix")
    wait_for(lambda: fix.is_displayed(), what="registry form")
    assert "TUR" in dash_duo.find_element("#registry-additions").text
    dash_duo.find_element("#registry-add-button").click()
    wait_for(lambda: "ACCEPTED" in dash_duo.find_element("#preview-summary").text
             and "re-assigned L-07" in dash_duo.find_element("#change-list").text, what="accepted with TUR")
    assert "registry: TUR added" in dash_duo.find_element("#change-list").text
    scope = dash_duo.find_element("#scope-table").text
    assert "layers (chosen)" in scope and "all" in scope and "A-01" in scope  # what scope all would remove
    assert dash_duo.find_element("#commit-row").is_displayed()
    dash_duo.find_element("#commit-message").send_keys("Land cell: TUR takes L-07")
    dash_duo.find_element("#commit-button").click()
    wait_for(lambda: "Committed revision 2" in dash_duo.find_element("#commit-status").text, what="commit")
    plan = store.load(2)
    assert "TUR" in plan.registry() and not plan.notional
    assert sorted(set(plan.sectors["layer"])) == ["air", "land", "monitoring", "sea"]  # scope layers kept them
    # the same file again: no change, no Commit button
    dash_duo.driver.get(dash_duo.server_url + "/upload")
    dash_duo.wait_for_element("#upload", timeout=20)
    dash_duo.find_element("#upload input[type=file]").send_keys(str(path))
    wait_for(lambda: "No change" in dash_duo.find_element("#preview-summary").text, what="no change")
    assert not dash_duo.find_element("#commit-row").is_displayed()
    # history shows the new revision and refreshes after a rollback without a reload
    dash_duo.driver.get(dash_duo.server_url + "/history")
    dash_duo.wait_for_element("#history-table", timeout=20)
    assert "Land cell: TUR takes L-07" in dash_duo.find_element("#history-table").text
    dash_duo.select_dcc_dropdown("#rollback-target", index=1)
    dash_duo.find_element("#rollback-message").send_keys("undo")
    dash_duo.find_element("#rollback-button").click()
    wait_for(lambda: "Committed revision 3" in dash_duo.find_element("#rollback-status").text, what="rollback")
    wait_for(lambda: "undo" in dash_duo.find_element("#history-table").text, what="history refreshed")
    assert dash_duo.get_logs() == []


def test_the_sample_palette_is_distinguishable_and_a_clashing_colour_is_named(tmp_path):
    """The sample's 20 registry colours differ by at least the clash threshold once filled as on the map; a
    registry change bringing a colour too close to another names both codes and the ΔE."""
    import pandas as pd

    from ua_coverage import geodata
    from ua_coverage.colours import clashes
    from ua_coverage.workflow import _registry_notes

    reg = pd.read_csv(geodata.sample_contingents_path(), keep_default_na=False)
    assert len(reg) == 20 and clashes(dict(zip(reg["code"], reg["colour"]))) == []  # every pair ≥ MIN_DELTA_E
    new = pd.concat([reg, pd.DataFrame([{"code": "TUR", "name": "Türkiye", "colour": "#00468C", "notes": ""}])])
    notes = _registry_notes(reg, new)
    assert any(n.startswith("colour clash: FRA and TUR are hard to tell apart (ΔE") for n in notes), notes
