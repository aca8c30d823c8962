"""Builders of small sector files, good and bad, for the ingest tests (all generated, nothing committed)."""
from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from ua_coverage import geodata

FIELDS = ["sector_id", "name", "domain", "kind", "contingent", "floor_ft", "ceiling_ft", "notes"]


def base_plan() -> gpd.GeoDataFrame:
    """Four sectors of the sample plan (one per layer), attributes as plain strings/numbers."""
    src = gpd.read_file(geodata.sample_sectors_path())
    src = src[src["sector_id"].isin(["L-04", "S-01", "A-03", "M-02"])].reset_index(drop=True)
    out = src[FIELDS + ["geometry"]].copy()
    out["notes"] = "NOTIONAL test – naïve ünïcode ✓"
    out["geometry"] = shapely.set_precision(out.geometry.values, 1e-6)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326)


def geojson_bytes(gdf: gpd.GeoDataFrame, crs_member=None) -> bytes:
    doc = json.loads(gdf.to_json(drop_id=True))
    if crs_member is not None:
        doc["crs"] = crs_member
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def write(gdf: gpd.GeoDataFrame, path: Path, driver: str, **kw) -> Path:
    gdf.to_file(path, driver=driver, **kw)
    return path


def shapefile_zip(gdf: gpd.GeoDataFrame, tmp: Path, *, drop=(), stem="sectors", encoding=None,
                  extra: dict | None = None) -> bytes:
    d = tmp / f"shp-{stem}-{len(os.listdir(tmp))}"
    d.mkdir()
    gdf.to_file(d / f"{stem}.shp")
    if encoding:  # re-encode the .dbf's text (pyogrio always writes UTF-8), keeping field widths
        dbf = d / f"{stem}.dbf"
        raw = dbf.read_bytes()
        for text in set(gdf.select_dtypes("object").stack().astype(str)):
            try:
                utf8, other = text.encode("utf-8"), text.encode(encoding)
            except UnicodeEncodeError:
                continue
            if utf8 != other:
                raw = raw.replace(utf8, other.ljust(len(utf8), b" "))
        dbf.write_bytes(raw)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(os.listdir(d)):
            if any(f.endswith(x) for x in drop):
                continue
            z.write(d / f, f)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buf.getvalue()


def zip_of(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, "/etc/passwd")
    return buf.getvalue()


def kml_bytes(gdf: gpd.GeoDataFrame, tmp: Path) -> bytes:
    p = tmp / f"k{len(os.listdir(tmp))}.kml"
    gdf.to_file(p, driver="LIBKML")
    return p.read_bytes()


def csv_bytes(gdf: gpd.GeoDataFrame) -> bytes:
    df = pd.DataFrame(gdf.drop(columns="geometry"))
    df["wkt"] = shapely.to_wkt(gdf.geometry.values, rounding_precision=-1)
    return df.to_csv(index=False).encode("utf-8")


def gpkg_stale_count(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    gdf.to_file(path, driver="GPKG", layer="sectors")
    con = sqlite3.connect(path)
    con.execute("DELETE FROM sectors WHERE fid = (SELECT MAX(fid) FROM sectors)")
    con.commit()
    con.close()
    # GDAL keeps gpkg_ogr_contents right through its own API; a raw DELETE (e.g. a script) leaves it stale,
    # unless triggers are present; drop them first to model a file from another tool
    con = sqlite3.connect(path)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        con.execute(f'DROP TRIGGER "{name}"')
    con.execute("UPDATE gpkg_ogr_contents SET feature_count = feature_count + 5")
    con.commit()
    con.close()
    return path
