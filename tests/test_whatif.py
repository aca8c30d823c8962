"""What-if deltas (issue 28, item 4): ``analyze --without CODES`` gives the what-if's own JSON plus a ``"whatif"``
block, checked against an independent analysis of a file the withdrawn nations were edited out of by hand."""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _cli import run_cli

CODES = ["FRA", "GBR", "DEU", "POL", "ITA", "NLD", "BEL", "DNK", "SWE", "NOR", "FIN", "EST", "LVA", "LTU", "ROU",
         "BGR", "ESP", "CZE", "PRT", "USA"]


def _grid_plan(n_side: int, seed: int) -> gpd.GeoDataFrame:
    """A grid of overlapping cells over central Ukraine, 1–3 nations each, a few unassigned."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_side):
        for j in range(n_side):
            x, y = 24.0 + i * 12.0 / n_side, 46.5 + j * 5.0 / n_side
            cell = shapely.box(x, y, x + 12.0 / n_side * rng.uniform(0.8, 1.25), y + 5.0 / n_side * rng.uniform(0.8, 1.25))
            k = int(rng.integers(0, 4))
            conts = ";".join(rng.choice(CODES, size=k, replace=False)) if k else ""
            layer = rng.choice(["land", "air", "monitoring"], p=[0.6, 0.3, 0.1])
            rows.append({"sector_id": f"G-{i:02d}-{j:02d}", "name": f"cell {i},{j}",
                         "domain": "land" if layer == "monitoring" else layer,
                         "kind": "monitoring" if layer == "monitoring" else "zone", "contingent": conts,
                         "geometry": cell})
    return gpd.GeoDataFrame(rows, crs=4326)


def _analyze(path, *extra):
    r = run_cli("analyze", str(path), "--json", *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("n_side,seed,gone", [(9, 1, ("GBR", "NOR")), (12, 7, ("FRA", "DEU", "POL", "USA"))])
def test_whatif_deltas_equal_the_difference_of_two_independent_analyses(tmp_path, n_side, seed, gone):
    plan = _grid_plan(n_side, seed)
    src = tmp_path / "plan.geojson"
    plan.to_file(src, driver="GeoJSON")
    edited = plan.copy()  # the withdrawal done by hand on the file: the next nation leads
    edited["contingent"] = [";".join(c for c in s.split(";") if c and c not in gone) for s in plan["contingent"]]
    alt = tmp_path / "edited.geojson"
    edited.to_file(alt, driver="GeoJSON")

    whatif, base, hand = _analyze(src, "--without", ",".join(gone)), _analyze(src), _analyze(alt)
    w = whatif["whatif"]
    assert w["without"] == sorted(gone)
    for layer, d in w["deltas"].items():
        for k in ("gap_km2", "covered_km2", "overlap_km2", "covered_pct"):
            assert whatif["domains"][layer][k] == pytest.approx(hand["domains"][layer][k], rel=1e-9, abs=1e-6)
            assert d[k] == pytest.approx(hand["domains"][layer][k] - base["domains"][layer][k], rel=1e-9, abs=1e-6)
    left_alone = sorted(sid for sid, s, e in zip(plan["sector_id"], plan["contingent"], edited["contingent"])
                        if s and not e)
    assert sorted(w["newly_unassigned"]) == left_alone
    assert any(abs(d["gap_km2"]) > 1 for d in w["deltas"].values()), "the what-if should change something"


def test_without_names_codes_not_in_the_plan_and_refuses_non_codes():
    r = run_cli("analyze", "--without", "GBR,XXX", "--json")
    assert r.returncode == 0
    assert json.loads(r.stdout)["whatif"]["not_in_plan"] == ["XXX"]
    r = run_cli("analyze", "--without", "GB1")
    assert r.returncode == 2 and "alpha-3" in r.stderr


def test_the_sample_what_if_of_the_issue():
    d = json.loads(run_cli("analyze", "--without", "GBR,NOR", "--json").stdout)
    land = d["domains"]["land"]["gap_km2"]
    assert land == pytest.approx(127_059, abs=1) and d["whatif"]["deltas"]["land"]["gap_km2"] == pytest.approx(63_822, abs=1)
    assert d["whatif"]["newly_unassigned"] == ["L-06", "A-02"]


def test_the_kpi_cards_show_the_change_against_the_plan(tmp_path):
    from test_hardening_inputs import _call, _client, _dep

    from ua_coverage.app import create_app

    client, deps = _client(create_app(tmp_path / "data", warm=False))
    dep = _dep(deps, "map.figure")
    opts = [{"label": c, "value": c} for c in ("FRA", "GBR", "NOR", "POL")]
    r = _call(client, dep, "contingent-filter.value", **{"contingent-filter.value": ["FRA", "POL"],
                                                         "contingent-filter.options": opts})
    text = json.dumps(json.loads(r.data)["response"]["kpis"]["children"], ensure_ascii=False)
    assert "127,059 km²" in text and "+63,822 km² against the plan" in text and "-13.2 points against the plan" in text
    r = _call(client, dep, "contingent-filter.value", **{"contingent-filter.value": ["FRA", "GBR", "NOR", "POL"],
                                                         "contingent-filter.options": opts})
    assert "against the plan" not in json.dumps(json.loads(r.data)["response"]["kpis"]["children"])
