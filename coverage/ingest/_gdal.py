"""GDAL hardening, applied before pyogrio is first imported.

GDAL picks its reader by content, not by extension: a VRT renamed ``.geojson`` reads local files,
and network drivers fetch URLs. ``GDAL_SKIP`` deregisters every vector driver except the six formats
the tool reads; it only works if set before GDAL registers its drivers (the first ``import pyogrio``),
so ``coverage/__init__.py`` imports this module first. The ingest worker (a fresh process) always
gets it in time, and additionally checks which driver opened each file.
"""
from __future__ import annotations

import os

#: format name -> the GDAL driver that must open it
DRIVERS = {
    "GeoJSON": "GeoJSON",
    "GeoPackage": "GPKG",
    "Shapefile": "ESRI Shapefile",
    "KML": "LIBKML",  # the plain KML driver drops ExtendedData (our attributes)
    "FlatGeobuf": "FlatGeobuf",
    "CSV": "CSV",
}
ALLOWED = set(DRIVERS.values())
# Every other vector driver of GDAL 3.12 (pyogrio 0.13 wheels); unknown future drivers are caught by
# the driver check in the worker.
_OTHERS = [
    "ADBC", "AIVector", "AVCBin", "AVCE00", "AmigoCloud", "CSW", "Carto", "DGN", "DXF", "EDIGEO", "EEDA",
    "ESRIJSON", "Elasticsearch", "GDALG", "GML", "GPSBabel", "GPX", "GTFS", "GeoJSONSeq", "GeoRSS", "HTTP",
    "Idrisi", "JML", "JSONFG", "KML", "LVBAG", "MBTiles", "MVT", "MapInfo File", "MapML",
    "MiraMonVector", "NGW", "OAPIF", "ODS", "OGCAPI", "OGR_GMT", "OGR_PDS", "OGR_VRT", "OSM", "OpenFileGDB",
    "PCIDSK", "PDF", "PDS4", "PGDUMP", "PLSCENES", "PMTiles", "S57", "SQLite", "SXF", "Selafin", "TopoJSON",
    "VDV", "VFK", "VICAR", "WAsP", "WFS", "XLSX", "VRT",
]

ENV = {
    "GDAL_SKIP": ",".join(_OTHERS),
    # no network through GDAL's virtual file systems
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".none-allowed",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "CPL_CURL_VERBOSE": "NO",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "OGR_GEOJSON_MAX_OBJ_SIZE": "200",  # MB; our own limits are far lower
    "LIBKML_RESOLVE_STYLE": "NO",
    "LIBKML_EXTERNAL_STYLE": "NO",
}


def harden() -> None:
    """Apply :data:`ENV` to this process (keeps values a user has set explicitly, except GDAL_SKIP)."""
    for k, v in ENV.items():
        if k == "GDAL_SKIP":  # merge with what is there (a child process inherits ours)
            have = [x for x in os.environ.get(k, "").split(",") if x]
            os.environ[k] = ",".join(have + [x for x in v.split(",") if x not in have])
        else:
            os.environ.setdefault(k, v)


harden()
