"""Recognise a sector file by its bytes and unpack archives safely, before GDAL sees anything.

Nothing here trusts the client's file name. Archives are read member by member with byte caps and
never extracted under the names they carry; the result is a set of files with names *we* choose.
"""
from __future__ import annotations

import io
import json
import re
import stat
import zipfile
from dataclasses import dataclass, field

from ..errors import FormatError, IngestError, LimitError, Problem
from ..settings import MB, Limits

_XML_DANGER = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ARCHIVE_EXT = (".zip", ".kmz", ".gz", ".tgz", ".tar", ".7z", ".rar", ".bz2", ".xz")
_SHP_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
WGS84_NAMES = {
    "urn:ogc:def:crs:ogc:1.3:crs84", "urn:ogc:def:crs:ogc::crs84", "urn:ogc:def:crs:epsg::4326",
    "urn:ogc:def:crs:epsg:6.6:4326", "epsg:4326", "crs84", "ogc:crs84",
}


#: CRSs a sector file may declare (EPSG codes), besides OGC:CRS84
ALLOWED_EPSG = {
    4326: "WGS 84", 4258: "ETRS89", 3035: "ETRS89 / LAEA Europe", 3034: "ETRS89 / LCC Europe",
    3857: "WGS 84 / Pseudo-Mercator",
    **{32600 + z: f"WGS 84 / UTM zone {z}N" for z in range(34, 38)},
    **{5558 + z: f"UCS-2000 / Gauss-Kruger zone {z}" for z in range(4, 8)},      # 5562-5565
    **{6374 + z: f"UCS-2000 / Ukraine TM zone {z}" for z in range(7, 14)},      # 6381-6387
    **{28400 + z: f"Pulkovo 1942 / Gauss-Kruger zone {z}" for z in range(4, 8)},  # 28404-28407
}

_EPSG_NAME = re.compile(r"^(?:urn:ogc:def:crs:)?epsg:(?:[0-9.]*:)?(\d+)$", re.I)


def describe_metres(x: float, y: float) -> str:
    """Which projected CRS coordinates in metres around Ukraine look like (Web Mercator is not UTM)."""
    ax, ay = abs(x), abs(y)
    if 1.6e5 <= ax <= 8.4e5 and 4.8e6 <= ay <= 5.95e6:
        return "UTM zone 34N–37N (EPSG:32634–32637; zone 36N, EPSG:32636, covers central Ukraine)"
    if 2.3e6 <= ax <= 4.7e6 and 5.3e6 <= ay <= 7.1e6:
        return "Web Mercator (EPSG:3857)"
    if 4.1e6 <= ax <= 8.0e6 and 4.8e6 <= ay <= 5.95e6:
        zone = int(ax // 1e6)
        return (f"Gauss–Krüger zone {zone} with its zone prefix (Pulkovo 1942 EPSG:{28400 + zone} or "
                f"UCS-2000 EPSG:{5558 + zone})")
    if 2.0e6 <= ax <= 4.2e6 and 1.3e6 <= ay <= 3.0e6:
        return "ETRS89 / LAEA Europe (EPSG:3035)"
    return "a projected CRS in metres"


@dataclass
class Prepared:
    """A recognised file: its format, the files to hand to GDAL (our names), and what we noticed."""

    format: str
    files: dict[str, bytes]
    main: str
    warnings: list[Problem] = field(default_factory=list)
    encoding_checked: bool = False
    #: the EPSG code a legacy GeoJSON ``crs`` member names (an accepted one), else None
    declared_epsg: int | None = None


def _limit(rule: str, message: str) -> LimitError:
    return LimitError(message, rule=rule, problems=[Problem(rule, message)])


def _reject(rule: str, message: str, cls=IngestError) -> IngestError:
    return cls(message, rule=rule, problems=[Problem(rule, message)])


def prepare(data: bytes, limits: Limits, encoding: str | None = None) -> Prepared:
    """Detect the format of ``data`` and return the files GDAL should read."""
    if len(data) > limits.max_file_mb * MB:
        raise _limit("file-too-large", f"the file is {len(data) / MB:.1f} MB; the limit is "
                     f"{limits.max_file_mb:g} MB. Split the plan or simplify its polygons.")
    if len(data) == 0:
        raise _reject("file-empty", "the file is empty", FormatError)
    head = data[:64]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _prepare_zip(data, limits, encoding)
    if head.startswith(b"SQLite format 3\x00"):
        app_id = data[68:72] if len(data) >= 72 else b""
        if app_id not in (b"GPKG", b"GP10", b"GP11"):
            raise _reject("format-unknown", "this is an SQLite database but not a GeoPackage "
                          "(application_id is not GPKG); export it as GeoPackage", FormatError)
        return Prepared("GeoPackage", {"plan.gpkg": data}, "plan.gpkg")
    if head[:3] == b"fgb" and head[4:7] == b"fgb":
        _check_fgb_count(data, limits)
        return Prepared("FlatGeobuf", {"plan.fgb": data}, "plan.fgb")
    text_head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text_head.startswith(b"<"):
        return _prepare_xml(data, "KML")
    if text_head.startswith(b"{") or text_head.startswith(b"["):
        return _prepare_geojson(data)
    return _prepare_csv(data, encoding)


def _prepare_xml(data: bytes, fmt: str, name: str = "plan.kml") -> Prepared:
    if _XML_DANGER.search(data):
        raise _reject("xml-doctype", "the XML declares a DOCTYPE or ENTITY, which could read local files or "
                      "fetch URLs; export the KML again without a DOCTYPE")
    if re.search(rb"<([^\s<>:/!?]+:)?NetworkLink[\s/>]", data):  # any prefix: match the local name
        raise _reject("kml-networklink", "the KML contains a NetworkLink, which would fetch data from elsewhere; "
                      "export a self-contained KML")
    root = re.search(rb"<(?!\?|!)([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)", data)
    if not root or root.group(2) != b"kml":
        found = root.group(2).decode("ascii", "replace") if root else "nothing"
        raise _reject("format-unknown", f"this XML file's root element is <{found}>, not <kml>; only KML is "
                      "read among XML formats (not GML, GPX or GDAL VRT)", FormatError)
    return Prepared(fmt, {name: data}, name)


def _check_fgb_count(data: bytes, limits: Limits) -> None:
    """Count a FlatGeobuf's features by walking them, never trusting the header's count.

    The header's count sizes the spatial index and GDAL believes it: a header that says 0 hides the count
    from the feature limit, one that under-counts makes GDAL drop the rest without a word. Here the features
    are walked (each is a length-prefixed buffer) from after the index to the end of the file.
    """
    import struct

    def u32(off):
        return struct.unpack_from("<I", data, off)[0]

    try:
        hsize = u32(8)
        base = 12
        root = base + u32(base)
        vt = root - struct.unpack_from("<i", data, root)[0]
        vt_len = struct.unpack_from("<H", data, vt)[0]

        def field(i, fmt, default):
            slot = 4 + 2 * i
            if slot >= vt_len:
                return default
            off = struct.unpack_from("<H", data, vt + slot)[0]
            return default if off == 0 else struct.unpack_from(fmt, data, root + off)[0]

        claimed = field(8, "<Q", 0)
        node = field(9, "<H", 16)
        n, nodes = claimed, claimed
        if claimed and node >= 2:
            while n != 1:
                n = -(-n // node)
                nodes += n
        pos = base + hsize + (nodes * 40 if claimed and node >= 2 else 0)
        real = 0
        while pos + 4 <= len(data):
            size = u32(pos)
            pos += 4 + size
            real += 1
            if real > limits.max_features:
                raise _limit("feature-limit", f"the layer has more than {limits.max_features} features (its header "
                             f"says {claimed}); the limit is {limits.max_features}")
    except (struct.error, IndexError, OverflowError) as exc:
        raise _reject("format-damaged", f"the FlatGeobuf structure is damaged ({exc})", FormatError) from exc
    if pos != len(data) or real != claimed:
        raise _reject("format-damaged", f"the FlatGeobuf header says {claimed} features but the file holds "
                      f"{real if pos == len(data) else 'a different number of'} features; export it again",
                      FormatError)


def _prepare_geojson(data: bytes) -> Prepared:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise _reject("encoding-invalid", f"GeoJSON must be UTF-8 (byte {exc.start} is not); save it as UTF-8",
                      FormatError) from exc
    except json.JSONDecodeError as exc:
        raise _reject("json-invalid", f"the file is not valid JSON: {exc.msg} at line {exc.lineno}, "
                      f"column {exc.colno}", FormatError) from exc
    except RecursionError as exc:
        raise _reject("json-invalid", "the JSON is nested too deeply to be a plan; export it again",
                      FormatError) from exc
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise _reject("format-unknown", "this JSON is not GeoJSON (no FeatureCollection or Feature); "
                      "Esri JSON and TopoJSON are not read", FormatError)
    crs = doc.get("crs")
    declared = None
    if crs is not None:
        name = ""
        if isinstance(crs, dict) and crs.get("type") == "name" and isinstance(crs.get("properties"), dict):
            name = str(crs["properties"].get("name", ""))
        m = _EPSG_NAME.match(name.strip())
        if name.lower() in WGS84_NAMES:
            pass
        elif m and int(m.group(1)) in ALLOWED_EPSG:  # a legacy (pre-RFC 7946) member naming an accepted CRS
            declared = int(m.group(1))
        else:
            what = f"type {crs.get('type')!r}" if isinstance(crs, dict) else "an unexpected value"
            raise _reject("geojson-crs", f"the GeoJSON 'crs' member ({what}{', ' + name if name else ''}) names "
                          "no CRS we accept (links and URLs never are); GeoJSON should be WGS84 lon/lat (RFC 7946)")
    return Prepared("GeoJSON", {"plan.geojson": data}, "plan.geojson", encoding_checked=True, declared_epsg=declared)


#: WKT geometry types GDAL would turn into straight segments without a word (a sector's area would change)
_CURVED_WKT = re.compile(rb"\b(CURVEPOLYGON|MULTISURFACE|COMPOUNDCURVE|CIRCULARSTRING|MULTICURVE)\s*(?:ZM|Z|M)?\s*\(",
                         re.I)


def _prepare_csv(data: bytes, encoding: str | None) -> Prepared:
    if b"\x00" in data:
        at = data.index(b"\x00")
        line = data[:at].count(b"\n") + 1
        what = ("this is a binary file of a kind we do not read; not a format we read" if b"\x00" in data[:4096]
                else "this CSV holds binary content")
        raise _reject("format-unknown", f"{what}: NUL bytes (the first on line {line:,}, byte {at:,}); a CSV is plain "
                      "text — save it again as a UTF-8 CSV from your spreadsheet or GIS (or use GeoJSON, GeoPackage, "
                      "zipped Shapefile, KML/KMZ or FlatGeobuf)", FormatError)
    curved = _CURVED_WKT.search(data)
    if curved:
        line = data[:curved.start()].count(b"\n") + 1
        n = sum(1 for row in data.splitlines() if _CURVED_WKT.search(row))
        raise _reject("geometry-type", f"line {line:,} holds a curved geometry type ({curved.group(1).decode().upper()}"
                      f"{f'; {n:,} lines hold curved geometries' if n > 1 else ''}); sectors must be Polygon or "
                      "MultiPolygon with straight edges: segmentize the arcs in your GIS (QGIS: Processing › "
                      "Segmentize) and export again", FormatError)
    from ._csv import decode, delimiter_of, to_comma_csv

    # encoding and delimiter sniffed as for every CSV (registry, phases, sensors too: see ingest/_csv.py)
    text, _enc, warnings = decode(data, encoding, "the CSV")
    text = text.lstrip("\ufeff")
    first = text.splitlines()[0] if text else ""
    cols = [c.strip().strip('"').lower() for c in re.split(r"[,;\t|]", first)]
    if not any(c in _WKT_NAMES for c in cols):
        raise _reject("format-unknown", "not a format we read: a CSV needs a WKT geometry column named "
                      "'wkt' or 'geometry'; other files must be GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ "
                      "or FlatGeobuf", FormatError)
    text = to_comma_csv(text, delimiter_of(text, _WKT_NAMES, "the CSV"))  # GDAL is handed commas
    return Prepared("CSV", {"plan.csv": text.encode("utf-8")}, "plan.csv", warnings=warnings, encoding_checked=True)


_WKT_NAMES = ("wkt", "geometry", "the_geom", "geom")


def _prepare_zip(data: bytes, limits: Limits, encoding: str | None) -> Prepared:
    """A zipped shapefile or a KMZ: entries checked, then only the layer's parts read, under our names."""
    zf, infos = _open_zip(data)
    _check_entries(infos, limits)
    files = [i for i in infos if not i.is_dir()]
    by_ext = _by_extension(files)
    read = _bounded_reader(zf, limits)
    shp, kml = by_ext.get(".shp", []), by_ext.get(".kml", [])
    if shp:
        return _shapefile_from_zip(shp, files, read, encoding)
    if kml:
        doc = [i for i in kml if i.filename.rsplit("/", 1)[-1].lower() == "doc.kml"] or kml
        if len(kml) > 1 and len(doc) != 1:
            raise _reject("layer-multiple", "the KMZ holds several KML documents; keep one (doc.kml)")
        return _prepare_xml(read(doc[0]), "KMZ")
    for ext, fmt in ((".geojson", "GeoJSON"), (".json", "GeoJSON"), (".gpkg", "GeoPackage"), (".fgb", "FlatGeobuf")):
        if ext in by_ext:
            raise _reject("zip-unsupported", f"zip archives are read for shapefiles and KMZ only; upload the "
                          f"{fmt} file itself, unzipped", FormatError)
    raise _reject("zip-no-layer", "the archive holds no shapefile (.shp with .shx and .dbf) and no KML",
                  FormatError)


def _open_zip(data: bytes):
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        return zf, zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise _reject("zip-damaged", f"the zip archive is damaged: {exc}", FormatError) from exc


def _check_entries(infos: list, limits: Limits) -> None:
    """Entry count, paths, links, nesting and declared size — before a byte is unpacked."""
    if len(infos) > limits.max_zip_entries:
        raise _limit("zip-entries", f"the archive has {len(infos)} entries; the limit is "
                     f"{limits.max_zip_entries}. Zip only the layer's files.")
    for i in infos:
        name = i.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise _reject("zip-path", f"the archive entry {name!r} has an absolute or '..' path; zip the files "
                          "without folders")
        if stat.S_ISLNK(i.external_attr >> 16):
            raise _reject("zip-symlink", f"the archive entry {name!r} is a symbolic link; zip real files only")
        if len([p for p in parts if p]) > 2:
            raise _reject("zip-nested", f"the archive entry {name!r} is nested more than one folder deep; zip the "
                          "layer's files at the top level")
        if name.lower().endswith(_ARCHIVE_EXT):
            raise _reject("zip-nested", f"the archive contains another archive ({name!r}); nested archives are "
                          "not read")
    declared = sum(i.file_size for i in infos if not i.is_dir())
    if declared > limits.max_unpacked_mb * MB:
        raise _limit("zip-too-large", f"the archive unpacks to {declared / MB:.1f} MB; the limit is "
                     f"{limits.max_unpacked_mb:g} MB")


def _by_extension(files: list) -> dict[str, list]:
    """Entries by lower-case extension, without hidden files and macOS resource forks."""
    by_ext: dict[str, list[zipfile.ZipInfo]] = {}
    for i in files:
        base = i.filename.rsplit("/", 1)[-1]
        if base.startswith(".") or base.startswith("__MACOSX") or i.filename.startswith("__MACOSX"):
            continue
        ext = "." + base.rsplit(".", 1)[-1].lower() if "." in base else ""
        by_ext.setdefault(ext, []).append(i)
    return by_ext


def _bounded_reader(zf, limits: Limits):
    """A reader of entries that stops at the unpacked-size budget and at the expansion ratio (zip bombs)."""
    budget = [limits.max_unpacked_mb * MB]

    def read(info: zipfile.ZipInfo) -> bytes:
        out = bytearray()
        try:
            with zf.open(info) as fh:
                while chunk := fh.read(1 << 16):
                    out += chunk
                    budget[0] -= len(chunk)
                    if budget[0] < 0:
                        raise _limit("zip-too-large", "the archive unpacks to more than "
                                     f"{limits.max_unpacked_mb:g} MB")
                    if len(out) > max(info.compress_size, 1) * limits.max_zip_ratio and len(out) > MB:
                        raise _limit("zip-ratio", f"the archive entry {info.filename!r} expands more than "
                                     f"{limits.max_zip_ratio:g}:1 (a zip bomb?); it is refused")
        except (zipfile.BadZipFile, RuntimeError, OSError, EOFError) as exc:
            raise _reject("zip-damaged", f"the archive entry {info.filename!r} cannot be read: {exc}",
                          FormatError) from exc
        if out[:4] == b"PK\x03\x04":
            raise _reject("zip-nested", f"the archive entry {info.filename!r} is itself an archive; nested "
                          "archives are not read")
        return bytes(out)

    return read


def _shapefile_from_zip(shp: list, files: list, read, encoding: str | None) -> Prepared:
    if len(shp) > 1:
        raise _reject("layer-multiple", "the archive holds several shapefiles (" +
                      ", ".join(i.filename for i in shp) + "); upload one layer per file")
    stem = shp[0].filename[:-4]
    parts = {}
    for ext in _SHP_PARTS:
        match = [i for i in files if i.filename.lower() == (stem + ext).lower()]
        if match:
            parts[ext] = read(match[0])
    for ext in (".shx", ".dbf"):
        if ext not in parts:
            raise _reject("shapefile-incomplete", f"the shapefile has no {ext} file; zip the .shp, .shx, "
                          ".dbf and .prj together", FormatError)
    prepared = Prepared("Shapefile", {f"plan{ext}": b for ext, b in parts.items()}, "plan.shp")
    _check_dbf_encoding(prepared, encoding)
    return prepared


def _known_code_page(cpg: str) -> bool:
    """Whether a .cpg value names an encoding (``1251``, ``cp1251``, ``ANSI 1251``, ``windows-1251``, ``koi8-u``)."""
    import codecs

    name = cpg.strip().lower().removeprefix("ansi").strip()
    for candidate in (name, f"cp{name}" if name.isdigit() else name):
        try:
            codecs.lookup(candidate)
            return True
        except LookupError:
            continue
    return False


def _check_dbf_encoding(p: Prepared, encoding: str | None) -> None:
    """Shapefile text must be UTF-8, or in the encoding named by a .cpg file or by the user."""
    if encoding:
        try:
            "".encode(encoding)
        except LookupError as exc:
            raise _reject("encoding-unknown", f"unknown encoding {encoding!r}") from exc
        p.files["plan.cpg"] = encoding.encode("ascii")
        p.encoding_checked = True
        return
    cpg = p.files.get("plan.cpg", b"").decode("ascii", "replace").strip().lower()
    if cpg and cpg.replace("-", "") not in ("utf8", "65001"):
        if not _known_code_page(cpg):
            raise _reject("encoding-unknown", f"the .cpg file names the code page {cpg[:40]!r}, which is not one "
                          "we know; write a known one in it (e.g. CP1251, UTF-8) or name the encoding when "
                          "uploading", FormatError)
        return  # GDAL honours the declared code page
    dbf = p.files["plan.dbf"]
    if len(dbf) < 32:
        raise _reject("shapefile-damaged", "the .dbf file is truncated", FormatError)
    header_len = int.from_bytes(dbf[8:10], "little")
    body = dbf[header_len:]
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _reject("encoding-invalid", "the shapefile's text is not UTF-8 and no .cpg file names its "
                      "encoding; add a .cpg file (e.g. containing 'cp1251') or name the encoding when "
                      "uploading", FormatError) from exc
    p.files["plan.cpg"] = b"UTF-8"
    p.encoding_checked = True
