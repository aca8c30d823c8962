"""Issue 27 item 4 and 5: files as staff really have them — their own field names (``--field``), values every
feature takes (``--set``), nations in words, altitudes as FL/ft/m, no CRS (``--crs``), mappings saved by name."""
from __future__ import annotations

import io
import json
import os
import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _cli import run_cli

from ua_coverage.domains import national_extents
from ua_coverage.ingest import read_sectors
from ua_coverage.ingest.mapping import FieldMapping
from ua_coverage.ingest.nations import normalise_nations, to_alpha3
from ua_coverage.ingest.sectors import parse_altitude

NATIONS = ["FRA", "GBR", "DEU", "POL", "ITA", "NLD", "BEL", "DNK", "SWE", "NOR", "FIN", "EST", "LVA", "LTU", "ROU",
           "BGR", "ESP", "CZE", "PRT", "USA", "CAN"]
#: each nation as staff might write it: names in four languages, alpha-2 codes
WRITTEN = {"FRA": "France", "GBR": "Royaume-Uni", "DEU": "Deutschland", "POL": "Польща", "ITA": "Italie",
           "NLD": "Pays-Bas", "BEL": "Belgien", "DNK": "DK", "SWE": "Suède", "NOR": "Norway", "FIN": "Фінляндія",
           "EST": "EE", "LVA": "Lettland", "LTU": "Lithuania", "ROU": "Roumanie", "BGR": "Болгарія", "ESP": "Spanien",
           "CZE": "Czechia", "PRT": "PT", "USA": "United States", "CAN": "Kanada"}


def air_grid(n: int = 12, seed: int = 3) -> gpd.GeoDataFrame:
    """Air zones only (a file of one cell: no domain or kind field needed), in canonical form, EPSG:4326."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = national_extents().layers["land"].bounds
    rows = []
    for i in range(n):
        for j in range(n // 2):
            cell = shapely.box(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * j / (n // 2),
                               x0 + (x1 - x0) * (i + 1) / n, y0 + (y1 - y0) * (j + 1) / (n // 2))
            codes = list(rng.choice(NATIONS, size=int(rng.integers(1, 3)), replace=False))
            floor = float(rng.choice([0, 5000, 18000]))
            rows.append({"sector_id": f"A{i:02d}{j:02d}", "name": f"Air zone {i}-{j}", "domain": "air", "kind": "zone",
                         "contingent": ";".join(codes), "floor_ft": floor, "ceiling_ft": floor + 20000.0,
                         "geometry": cell})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def shapefile(frame: gpd.GeoDataFrame, tmp, stem: str, prj: bool = True) -> bytes:
    d = tmp / stem
    d.mkdir()
    frame.to_file(d / f"{stem}.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in sorted(os.listdir(d)):
            if prj or not f.endswith(".prj"):
                z.write(d / f, f)
    return buf.getvalue()


def foreign(canon: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The same plan as staff have it: their field names, nations in words, FL/ft/m altitudes, no domain or kind."""
    def alt(v, k):
        return [f"FL{int(v / 100):03d}", f"{int(v)} ft", f"{v * 0.3048:.6f} m"][k % 3] if v else "SFC"

    return gpd.GeoDataFrame({
        "SECT_ID": canon["sector_id"], "LABEL": canon["name"],
        "NATION": [";".join(WRITTEN[c] for c in v.split(";")) for v in canon["contingent"]],
        "BASE": [alt(v, k) for k, v in enumerate(canon["floor_ft"])],
        "TOP": [alt(v, k + 1) for k, v in enumerate(canon["ceiling_ft"])]}, geometry=canon.geometry.values,
        crs=canon.crs)


FIELDS = ["--field", "sector_id=SECT_ID", "--field", "name=LABEL", "--field", "contingent=NATION",
          "--field", "floor_ft=BASE", "--field", "ceiling_ft=TOP", "--set", "domain=air", "--set", "kind=zone"]


def test_nations_in_words_codes_and_four_languages():
    for code, text in WRITTEN.items():
        assert to_alpha3(text) == code, text
        assert to_alpha3(code) == code and to_alpha3(code.lower()) == code
    assert normalise_nations("France;Belgium") == ("FRA;BEL", {"France": "FRA", "Belgium": "BEL"}, [])
    assert normalise_nations("Allemagne, Vereinigtes Königreich") == ("DEU;GBR", {"Allemagne": "DEU",
                                                                                  "Vereinigtes Königreich": "GBR"}, [])
    assert to_alpha3("Atlantis") is None and to_alpha3("Korea") is None  # unknown, and ambiguous: never guessed


def test_altitudes_as_staff_write_them():
    assert parse_altitude("FL180") == (18000.0, True)
    assert parse_altitude("5000 ft") == (5000.0, True)
    assert parse_altitude("1500 m") == (round(1500 / 0.3048, 2), True)
    assert parse_altitude("1 500 m AMSL") == (round(1500 / 0.3048, 2), True)
    assert parse_altitude("SFC") == (0.0, True) and parse_altitude("UNL") == (None, True)
    assert parse_altitude(12000) == (12000.0, False) and parse_altitude("") == (None, False)
    for bad in ("500 ft AGL", "high", "FL"):
        with pytest.raises(ValueError):
            parse_altitude(bad)


def test_a_file_as_staff_have_it_is_refused_then_read_with_a_mapping(tmp_path):
    canon = air_grid().to_crs(32636)
    data = shapefile(foreign(canon), tmp_path, "staff", prj=False)
    res = read_sectors(data, strict=True, isolate=False)
    assert [p.rule for p in res.problems] == ["crs-missing"] and "EPSG:32636" in res.problems[0].message
    mapping = FieldMapping.parse(["sector_id=SECT_ID", "name=LABEL", "contingent=NATION", "floor_ft=BASE",
                                  "ceiling_ft=TOP"], ["domain=air", "kind=zone"])
    no_crs = read_sectors(data, strict=True, isolate=False, mapping=mapping)
    assert [p.rule for p in no_crs.problems] == ["crs-missing"]
    res = read_sectors(data, registry=set(NATIONS), strict=True, isolate=False, mapping=mapping, crs=32636)
    assert res.accepted, res.problems[:3]
    assert {w.rule for w in res.warnings} == {"contingent-normalised", "altitude-converted"}
    want = canon.to_crs(4326)
    assert list(res.sectors["contingent"]) == list(want["contingent"])
    assert np.allclose(res.sectors["floor_ft"], want["floor_ft"], atol=0.01)
    assert set(res.sectors["domain"]) == {"air"} and set(res.sectors["kind"]) == {"zone"}
    # a mapping naming a field the file lacks, or a CRS for a file that declares its own, is refused
    bad = read_sectors(data, strict=True, isolate=False, mapping=FieldMapping.parse(["sector_id=SECTOR"]), crs=32636)
    assert [p.rule for p in bad.problems] == ["mapping-invalid"] and "SECT_ID" in bad.problems[0].message
    declared = shapefile(foreign(canon), tmp_path, "declared", prj=True)
    own = read_sectors(declared, strict=True, isolate=False, mapping=mapping, crs=32636)
    assert [p.rule for p in own.problems] == ["crs-declared"]
    gj = tmp_path / "p.geojson"
    foreign(canon).to_crs(4326).to_file(gj)
    assert [p.rule for p in read_sectors(gj, mapping=mapping, crs=32636).problems] == ["crs-declared"]


def test_the_mapped_import_makes_the_canonical_files_revision(tmp_path, monkeypatch):
    """--field/--set/--crs on a foreign file: the revision's content hash equals the canonical file's."""
    monkeypatch.delenv("UA_COVERAGE_DATABASE_URL", raising=False)
    canon = air_grid(n=16).to_crs(32636)
    (tmp_path / "canon.zip").write_bytes(shapefile(canon, tmp_path, "canon"))
    (tmp_path / "staff.zip").write_bytes(shapefile(foreign(canon), tmp_path, "staff", prj=False))
    a, b = tmp_path / "a", tmp_path / "b"
    r = run_cli("import", str(tmp_path / "canon.zip"), "--scope", "all", "--defaults", "registry", "-m", "canonical",
                "--data-dir", str(a))
    assert r.returncode == 0, r.stderr
    staff = [str(tmp_path / "staff.zip"), "--scope", "all", "--defaults", "registry", "--data-dir", str(b)]
    refused = run_cli("validate", str(tmp_path / "staff.zip"), "--data-dir", str(b), "--json")
    assert refused.returncode == 1 and json.loads(refused.stdout)["problems"][0]["rule"] == "crs-missing"
    ok = run_cli("validate", str(tmp_path / "staff.zip"), *FIELDS, "--crs", "EPSG:32636", "--scope", "all",
                 "--defaults", "registry", "--data-dir", str(b), "--json")
    assert ok.returncode == 0, ok.stdout[:600]
    r = run_cli("import", *staff, *FIELDS, "--crs", "EPSG:32636", "--save-mapping", "air-cell", "-m", "staff file")
    assert r.returncode == 0, r.stderr
    assert "contingent-normalised" in r.stderr and "altitude-converted" in r.stderr
    ha = json.loads(run_cli("history", "--json", "--data-dir", str(a)).stdout)["revisions"][-1]["hash"]
    hb = json.loads(run_cli("history", "--json", "--data-dir", str(b)).stdout)["revisions"][-1]["hash"]
    assert ha == hb
    # the saved mapping: the same file again is no change; analyze reads it too
    again = run_cli("import", *staff, "--mapping", "air-cell", "--crs", "EPSG:32636", "-m", "again", "--dry-run")
    assert again.returncode == 0 and "No change" in again.stdout, again.stderr
    an = run_cli("analyze", str(tmp_path / "staff.zip"), "--mapping", "air-cell", "--crs", "32636", "--data-dir",
                 str(b), "--json")
    assert an.returncode == 0, an.stderr
    assert len(json.loads(an.stdout)["sectors"]) == len(canon)
    unknown = run_cli("import", *staff, "--mapping", "nope", "-m", "x", "--dry-run")
    assert unknown.returncode == 2 and "air-cell" in unknown.stderr
    usage = run_cli("validate", str(tmp_path / "staff.zip"), "--field", "colour=X")
    assert usage.returncode == 2 and "not a field of the data model" in usage.stderr
    assert run_cli("validate", str(tmp_path / "staff.zip"), "--crs", "EPSG:2154").returncode == 2


def test_mappings_are_kept_in_the_store(tmp_path, monkeypatch):
    monkeypatch.delenv("UA_COVERAGE_DATABASE_URL", raising=False)
    from ua_coverage import workflow

    st = workflow.open_store(tmp_path)
    m = FieldMapping.parse(["sector_id=SECT_ID"], ["domain=air"])
    st.save_mapping("cell", m.as_doc(), author="me")
    st.save_mapping("cell", FieldMapping.parse(["sector_id=ID"]).as_doc(), author="me")
    assert FieldMapping.from_doc(workflow.open_store(tmp_path).mapping("cell")).fields == {"sector_id": "ID"}
    assert st.mappings() == ["cell"] and st.mapping("other") is None
