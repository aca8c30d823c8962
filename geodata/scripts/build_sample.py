"""Build the NOTIONAL sample plan in ``geodata/sample/`` from the committed base layers.

Everything here is illustrative planning data for demonstrating the tool: the line of contact is a
coarse, approximate sketch; the contingent assignments are invented and say nothing about real
deployments. Run from anywhere::

    python geodata/scripts/build_sample.py

Designed-in findings (the tests assert them by sector id and km²):

* a gap in every layer: Poltava Oblast has no land zone; the north-east corner has no air zone;
  the southern maritime area and the Ochakiv approaches have no sea zone; the belt between
  M-03 and M-04 has no monitoring sector;
* overlaps between different contingents: S-01 (ROU) / S-02 (ITA) along the 12 NM limit; L-08 (Capital region, GBR) over L-01 (POL) and L-04 (NLD);
  A-01 (SWE) / A-02 (GBR); M-01 (DNK) / M-02 (EST);
* a contingent overlapping itself: L-09 (Dnipro reserve, FRA) inside L-05 (FRA);
* altitude bands: A-03 (FRA, FL100 and up) and A-04 (FRA, surface to 10,000 ft) stack without
  overlapping; south-east of 48°N nothing covers the low band;
* an unassigned zone: L-07 (Donetsk and Zaporizhzhia), no contingent;
* a contingent with nothing assigned: PRT is in the registry but holds no zone.

Designed-in findings through time (``phases.csv``: *Entry* 1 January – 31 March 2027, *Consolidation* from
1 April 2027; the whole-plan figures above treat every sector as active at once and are unchanged by dates):

* a handover gap: L-04 (Kyiv city, NLD) ends on 31 March, L-08 (Capital region, GBR) starts on 8 April, so
  Kyiv city (about 1,640 km²) has no land zone from 1 to 7 April;
* a late-arriving contingent: the ITA/ESP naval group's S-02 (North-western Black Sea) starts on
  15 February, six weeks after everything else.

Designed-in findings of the notional sensor set (``sensors.geojson``; smooth earth, no terrain):

* the monitoring sectors along the line (M-01, M-02, M-03) are watched by ground radars and observation posts;
  M-04 (Dnipro) is assigned but **unwatched** — no sensor reaches it;
* the two air surveillance radars (25 m masts) see a target at the surface only within the radar horizon,
  about 21 km: low-level air is almost all gap, while at 10,000 ft (A-03's floor) their 250 km range covers
  most of the air extent;
* the coastal radars are limited by the horizon (40 m masts: about 33 km, not their 80 km range), so the
  outer maritime area is unwatched.
"""
from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import LineString, Point, Polygon, box

GEODATA = Path(__file__).resolve().parents[1]
OUT = GEODATA / "sample"
LAEA = "+proj=laea +lat_0=48.5 +lon_0=31.5 +ellps=WGS84 +units=m +no_defs"
PRECISION = 6
NOTE = "NOTIONAL - illustrative planning data, not a real deployment"

PHASES = [
    ("Entry", "2027-01-01", "2027-03-31", "NOTIONAL - the force deploys"),
    ("Consolidation", "2027-04-01", "", "NOTIONAL - reliefs in place, sectors adjusted"),
]

# A notional sensor set (sensors.geojson): id, name, domain, contingent, (lon, lat), range_km, antenna_m, type.
SENSORS = [
    ("GSR-01", "Ground radar Kharkiv north", "land", "DNK;USA", (36.70, 50.30), 32, 12, "ground surveillance radar"),
    ("GSR-02", "Ground radar Kupiansk", "land", "DNK;USA", (37.25, 49.75), 32, 12, "ground surveillance radar"),
    ("GSR-03", "Ground radar Donetsk north", "land", "EST;USA", (37.55, 49.00), 32, 12, "ground surveillance radar"),
    ("GSR-04", "Ground radar Donetsk south", "land", "LVA;USA", (37.45, 48.20), 32, 12, "ground surveillance radar"),
    ("OP-01", "Observation post Sloviansk", "land", "EST;USA", (37.55, 48.75), 6, None, "observation post"),
    ("OP-02", "Observation post Pokrovsk", "land", "LVA;USA", (37.10, 48.30), 6, None, "observation post"),
    ("ASR-01", "Air surveillance radar Kyiv", "air", "GBR;NOR", (30.50, 50.45), 250, 25, "air surveillance radar"),
    ("ASR-02", "Air surveillance radar Dnipro", "air", "FRA;DEU", (35.05, 48.45), 250, 25, "air surveillance radar"),
    ("CR-01", "Coastal radar Odesa", "sea", "ROU;BGR", (30.74, 46.48), 80, 40, "coastal radar"),
    ("CR-02", "Coastal radar Zatoka", "sea", "ITA;ESP", (30.45, 46.17), 80, 40, "coastal radar"),
]

# A coarse, notional line of contact, north to south (lon, lat). Approximate and illustrative.
LINE = [
    (37.05, 50.60), (36.95, 50.30), (37.45, 49.95), (37.62, 49.70), (37.80, 49.20),
    (37.85, 48.95), (38.05, 48.80), (37.85, 48.58), (37.80, 48.40), (37.30, 48.30),
    (37.05, 48.10), (36.80, 47.85), (36.25, 47.65), (35.80, 47.55), (35.35, 47.48),
    (34.65, 47.50), (34.15, 47.30), (33.70, 47.05), (33.37, 46.78), (32.95, 46.68),
    (32.62, 46.62), (32.30, 46.55), (31.95, 46.48), (31.45, 46.40),
]
# Closing the line around the west gives the notional area on Ukraine's side.
WEST_CLOSURE = [(31.45, 43.0), (20.0, 43.0), (20.0, 53.5), (37.05, 53.5)]

CONTINGENTS = [
    # code, name, colour (Okabe-Ito and Tol palettes, no hostile red), notes
    ("FRA", "France", "#004488", "framework nation, land"),
    ("GBR", "United Kingdom", "#009E73", "framework nation, land and air"),
    ("DEU", "Germany", "#F6A600", "air defence"),
    ("POL", "Poland", "#56B4E9", "land, western sector"),
    ("ITA", "Italy", "#E377C2", "maritime"),
    ("NLD", "Netherlands", "#F0E442", "land"),
    ("BEL", "Belgium", "#882255", "supporting"),
    ("DNK", "Denmark", "#17BECF", "monitoring"),
    ("SWE", "Sweden", "#332288", "air policing"),
    ("NOR", "Norway", "#98DF8A", "supporting"),
    ("FIN", "Finland", "#01665E", "supporting, air"),
    ("EST", "Estonia", "#999933", "monitoring"),
    ("LVA", "Latvia", "#7570B3", "monitoring"),
    ("LTU", "Lithuania", "#FDBF6F", "supporting, land"),
    ("ROU", "Romania", "#F99379", "maritime"),
    ("BGR", "Bulgaria", "#882D17", "maritime"),
    ("ESP", "Spain", "#F7B6D2", "maritime"),
    ("CZE", "Czechia", "#EE3377", "land"),
    ("PRT", "Portugal", "#D55E00", "in reserve: nothing assigned in the sample"),
    ("USA", "United States", "#33A02C", "monitoring, intelligence and logistics support only"),
]


def _proj(geom):
    return gpd.GeoSeries([geom], crs=4326).to_crs(LAEA).iloc[0]


def _unproj(geom):
    return gpd.GeoSeries([geom], crs=LAEA).to_crs(4326).iloc[0]


def _units(admin1, *codes):
    return shapely.union_all(admin1.set_index("code").loc[list(codes)].geometry.values)


def _lon_band(west, east, south=40.0, north=56.0):
    return shapely.segmentize(box(west, south, east, north), 0.05)


def build() -> None:
    admin1 = gpd.read_file(GEODATA / "ukraine_admin1.geojson")
    outline = gpd.read_file(GEODATA / "ukraine_outline.geojson").geometry.iloc[0]
    tsea = gpd.read_file(GEODATA / "territorial_sea.geojson").geometry.iloc[0]

    line = LineString(LINE)
    own_side = Polygon(LINE + WEST_CLOSURE)
    land_aor = outline.intersection(own_side)
    # Plan-defined maritime area: north-western Black Sea beyond the territorial sea.
    maritime = shapely.segmentize(Polygon([(29.9, 45.3), (31.45, 46.40), (31.45, 44.6), (29.9, 44.6)]), 0.05)
    maritime = maritime.difference(tsea).difference(outline)
    sea_aor = tsea.intersection(own_side).union(maritime)
    air_aor = land_aor.union(sea_aor)
    belt = _unproj(_proj(line).buffer(20_000)).intersection(land_aor)
    belt = shapely.union_all([p for p in shapely.get_parts(belt) if _proj(p).area > 1e6])

    extents = gpd.GeoDataFrame(
        {"domain": ["land", "sea", "air", "monitoring"],
         "name": ["Land AOR (notional)", "Maritime AOR (notional)", "Air AOR (notional)",
                  "Monitoring belt, 20 km (notional)"],
         "notes": [NOTE] * 4},
        geometry=[land_aor, sea_aor, air_aor, belt], crs=4326)

    def land(*codes):
        return _units(admin1, *codes).intersection(land_aor)

    kyiv = _units(admin1, "UA-30")
    capital = _unproj(_proj(kyiv.centroid).buffer(70_000)).intersection(land_aor)
    dnipro_reserve = _unproj(_proj(Point(33.9, 49.2)).buffer(50_000)).intersection(land_aor)

    def sea(geom):
        return geom.intersection(sea_aor)

    def air(west, east, south=40.0, north=56.0):
        return _lon_band(west, east, south, north).intersection(air_aor)

    def belt_part(south, north):
        return belt.intersection(shapely.segmentize(box(30.0, south, 40.0, north), 0.05))

    S = []

    def add(sid, name, domain, kind, contingent, geom, **kw):
        S.append({"sector_id": sid, "name": name, "domain": domain, "kind": kind,
                  "contingent": contingent, "floor_ft": kw.get("floor"), "ceiling_ft": kw.get("ceiling"),
                  "phase": kw.get("phase", "Entry"), "valid_from": kw.get("valid_from", "2027-01-01"),
                  "valid_to": kw.get("valid_to", ""),
                  "notes": kw.get("notes", NOTE), "geometry": geom})

    add("L-01", "Northern land zone", "land", "zone", "POL;LTU", land("UA-74", "UA-59", "UA-32"))
    add("L-02", "Western land zone", "land", "zone", "CZE;POL",
        land("UA-07", "UA-56", "UA-46", "UA-21", "UA-26", "UA-61", "UA-77"))
    add("L-03", "West-central land zone", "land", "zone", "NLD;BEL", land("UA-18", "UA-68", "UA-05"))
    add("L-04", "Kyiv city zone", "land", "zone", "NLD", land("UA-30"), valid_to="2027-03-31",
        notes=NOTE + "; hands Kyiv city over to L-08 at the end of the entry phase")
    add("L-05", "Central land zone", "land", "zone", "FRA;BEL", land("UA-71", "UA-35", "UA-12"))
    add("L-06", "Southern land zone", "land", "zone", "GBR;NOR", land("UA-51", "UA-48", "UA-65"))
    add("L-07", "Eastern land zone", "land", "zone", "", land("UA-14", "UA-23", "UA-63"),
        notes=NOTE + "; lead nation not yet agreed")
    add("L-08", "Capital region", "land", "zone", "GBR;FIN", capital, phase="Consolidation",
        valid_from="2027-04-08",
        notes=NOTE + "; overlaps L-01 and L-04 on purpose; arrives a week after L-04 leaves (handover gap)")
    add("L-09", "Dnipro reserve area", "land", "zone", "FRA", dnipro_reserve,
        notes=NOTE + "; inside L-05, same lead")

    add("S-01", "Odesa approaches", "sea", "zone", "ROU;BGR",
        tsea.intersection(own_side).intersection(_lon_band(28.0, 31.0)))
    # S-02 reaches 5 km inside the territorial sea, on purpose: an overlap with S-01.
    s02 = _unproj(_proj(maritime).buffer(5_000)).intersection(sea_aor)
    add("S-02", "North-western Black Sea", "sea", "zone", "ITA;ESP",
        s02.intersection(_lon_band(29.0, 32.0, 45.05, 47.0)), valid_from="2027-02-15",
        notes=NOTE + "; the naval group arrives late, on 15 February")

    add("A-01", "Western air policing area", "air", "zone", "SWE;FIN", air(20.0, 29.0), floor=0, ceiling=66000)
    add("A-02", "Central air policing area", "air", "zone", "GBR;NOR", air(28.5, 33.5), floor=0, ceiling=66000)
    add("A-03", "Eastern upper airspace", "air", "zone", "FRA;DEU", air(33.5, 40.0, north=50.0),
        floor=10000, ceiling=66000)
    add("A-04", "Eastern lower airspace", "air", "zone", "FRA;ITA", air(33.5, 40.0, south=48.0, north=50.0),
        floor=0, ceiling=10000)

    add("M-01", "Monitoring sector Kharkiv", "land", "monitoring", "DNK;USA", belt_part(49.3, 51.0))
    add("M-02", "Monitoring sector Donetsk north", "land", "monitoring", "EST;USA", belt_part(48.4, 49.4))
    add("M-03", "Monitoring sector Donetsk south", "land", "monitoring", "LVA;USA", belt_part(47.7, 48.4))
    add("M-04", "Monitoring sector Dnipro", "land", "monitoring", "DNK;USA",
        belt.intersection(_lon_band(30.0, 35.5, north=47.62)))

    sectors = gpd.GeoDataFrame(S, crs=4326)
    sectors["geometry"] = [shapely.segmentize(g, 0.05) for g in sectors.geometry]
    OUT.mkdir(exist_ok=True)
    _write(sectors, "sectors.geojson")
    _write(extents, "extents.geojson")
    _write(gpd.GeoDataFrame({"name": ["Notional line of contact"], "notes": [NOTE + "; approximate"]},
                            geometry=[line], crs=4326), "line_of_contact.geojson")
    _write_csv("contingents.csv", ["code", "name", "colour", "notes"], CONTINGENTS)
    _write_csv("phases.csv", ["name", "start", "end", "notes"], PHASES)
    sensors = gpd.GeoDataFrame(
        [{"sensor_id": sid, "name": name, "domain": dom, "contingent": cont, "range_km": float(rng),
          "antenna_m": None if ant is None else float(ant), "type": kind, "valid_from": "2027-01-01",
          "notes": NOTE} for sid, name, dom, cont, _xy, rng, ant, kind in SENSORS],
        geometry=[Point(xy) for *_a, xy, _r, _h, _k in SENSORS], crs=4326)
    _write(sensors, "sensors.geojson")


def _write_csv(name: str, header: list[str], rows: list) -> None:
    with open(OUT / name, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {name}: {len(rows)} rows")


def _write(gdf: gpd.GeoDataFrame, name: str) -> None:
    gdf = gdf.copy()
    gdf["geometry"] = shapely.make_valid(shapely.set_precision(gdf.geometry.values, 10**-PRECISION))
    path = OUT / name
    path.unlink(missing_ok=True)
    gdf.to_file(path, driver="GeoJSON", COORDINATE_PRECISION=PRECISION, WRITE_NAME="NO")
    print(f"wrote {name}: {len(gdf)} features")


if __name__ == "__main__":
    build()
