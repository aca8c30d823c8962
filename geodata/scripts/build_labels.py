"""Build ``geodata/labels.geojson``: place labels drawn as polygons, in English and Ukrainian.

MapLibre draws map text with glyphs fetched from a glyph server (fonts.openmaptiles.org for plotly's
built-in styles). To stay offline, the dashboard and the exports draw labels as filled polygons
instead: the outlines of the letters, set in DejaVu Sans (Bitstream Vera licence, bundled with
matplotlib), placed at each unit's representative point. Needs matplotlib (not a run-time dependency):

    pip install matplotlib && python geodata/scripts/build_labels.py
"""
from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextPath

G = Path(__file__).resolve().parents[1]
FONT = FontProperties(family="DejaVu Sans", weight="normal")
# Hand-placed anchors where the representative point sits badly (lon, lat)
ANCHORS = {"UA-30": (30.52, 50.45), "UA-32": (30.0, 50.9), "UA-40": (33.55, 44.55), "UA-43": (34.2, 45.35)}


def text_polygons(text: str, lon: float, lat: float, height_deg: float):
    """The outline of ``text`` as a (Multi)Polygon centred on lon/lat, cap height ``height_deg`` of latitude."""
    path = TextPath((0, 0), text, size=1.0, prop=FONT)
    polys = path.to_polygons(closed_only=True)
    if not polys:
        return None
    rings = [shapely.LinearRing(p) for p in polys if len(p) >= 4]
    # even-odd fill: build polygons by symmetric difference of all rings
    shape = shapely.Polygon()
    for r in rings:
        shape = shape.symmetric_difference(shapely.Polygon(r))
    minx, miny, maxx, maxy = shape.bounds
    kx = height_deg / 0.73 / math.cos(math.radians(lat))  # 0.73 ≈ cap height of DejaVu at size 1
    ky = height_deg / 0.73
    shape = shapely.affinity.translate(shape, -(minx + maxx) / 2, -(miny + maxy) / 2)
    shape = shapely.affinity.scale(shape, kx, ky, origin=(0, 0))
    shape = shapely.affinity.translate(shape, lon, lat)
    return shapely.simplify(shapely.make_valid(shape), height_deg / 60)


def build() -> None:
    import shapely.affinity  # noqa: F401

    rows = []
    admin = gpd.read_file(G / "ukraine_admin1.geojson")
    for _, u in admin.iterrows():
        lon, lat = ANCHORS.get(u.code) or (u.geometry.representative_point().x, u.geometry.representative_point().y)
        for lang, col in (("en", "name_en"), ("uk", "name_uk")):
            name = u[col]
            short = name.replace(" Oblast", "").replace(" область", "").replace("ська", "ська")
            if lang == "uk" and name.endswith(" область"):
                short = name[: -len(" область")]
            if u.code == "UA-43":
                short = "Crimea" if lang == "en" else "Крим"
            size = 0.09 if u.code not in ("UA-30", "UA-40") else 0.06
            rows.append({"kind": "unit", "code": u.code, "lang": lang, "text": short,
                         "geometry": text_polygons(short, lon, lat, size)})
    seas = {"Black Sea": ("Чорне море", 31.8, 43.9), "Sea of Azov": ("Азовське море", 36.7, 46.2)}
    for en, (uk, lon, lat) in seas.items():
        for lang, t in (("en", en), ("uk", uk)):
            rows.append({"kind": "sea", "code": en, "lang": lang, "text": t,
                         "geometry": text_polygons(t, lon, lat, 0.14)})
    nb = gpd.read_file(G / "neighbours.geojson")
    places = {"POL": (23.0, 51.9), "SVK": (21.6, 48.85), "HUN": (21.8, 47.95), "ROU": (26.2, 47.2),
              "MDA": (28.6, 47.55), "BLR": (27.5, 52.4), "RUS": (38.8, 51.4)}
    for _, c in nb.iterrows():
        lon, lat = places[c.iso3]
        for lang, t in (("en", c.name_en), ("uk", c.name_uk)):
            rows.append({"kind": "country", "code": c.iso3, "lang": lang, "text": t,
                         "geometry": text_polygons(t.upper(), lon, lat, 0.11)})
    gdf = gpd.GeoDataFrame(rows, crs=4326)
    gdf["geometry"] = shapely.set_precision(gdf.geometry.values, 1e-4)
    out = G / "labels.geojson"
    out.unlink(missing_ok=True)
    gdf.to_file(out, driver="GeoJSON", COORDINATE_PRECISION=4, WRITE_NAME="NO")
    print(f"wrote {out.name}: {len(gdf)} labels, {shapely.get_num_coordinates(gdf.geometry.values).sum()} vertices")


if __name__ == "__main__":
    build()
