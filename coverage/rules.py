"""The rule registry: every rule code the product reports, with its family, severity and advice.

A rule code is the stable, machine-readable name of one reason a file, a registry or a command was
refused (or warned about). Codes appear in ``validate --json``, on the upload page and in
:class:`~ua_coverage.errors.Problem`. Advice depends on where it is read: the command line names its
flags, the browser names its own controls — never the other way round.

``tests/test_rules.py`` checks that every code the code base raises is registered here and that the
README's rule table lists exactly the codes of the families shown there.

Examples
--------
>>> RULES["invalid-geometry"].family
'geometry'
>>> advice("invalid-geometry", "web")
'Fix it in your GIS, or tick “repair invalid geometry” and upload the file again.'
>>> "--repair" in advice("invalid-geometry", "cli")
True
"""
from __future__ import annotations

from dataclasses import dataclass

SURFACES = ("cli", "web")


@dataclass(frozen=True)
class Rule:
    code: str
    family: str
    severity: str = "error"  # "error" (refused) or "warning" (accepted, reported)
    cli: str = ""  # advice on the command line
    web: str = ""  # advice in the browser (defaults to the CLI advice when it names no flag)

    def advice(self, surface: str = "cli") -> str:
        if surface == "web":
            return self.web or ("" if "--" in self.cli else self.cli)
        return self.cli


def _r(code, family, severity="error", cli="", web=""):
    return Rule(code, family, severity, cli, web)


_TABLE = [
    # format: what the bytes are
    _r("file-empty", "format", cli="The file is empty; export it again."),
    _r("file-unreadable", "format", cli="Check the path and that you may read it."),
    _r("format-unknown", "format",
       cli="Use GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ, FlatGeobuf or CSV with a WKT column."),
    _r("format-damaged", "format", cli="Export the file again from your GIS."),
    _r("json-invalid", "format", cli="Export the file again; the JSON text is broken."),
    _r("driver-mismatch", "format", cli="Export the file again in one of the formats we read."),
    _r("layer-multiple", "format", cli="Name the layer to read with --layer.",
       web="Keep only the sector layer in the file, or export that layer alone."),
    _r("layer-missing", "format", cli="Check the layer name given to --layer."),
    _r("shapefile-incomplete", "format", cli="Zip the .shp, .shx, .dbf and .prj together."),
    _r("shapefile-damaged", "format", cli="Export the shapefile again."),
    _r("zip-damaged", "format", cli="Zip the files again."),
    _r("zip-unsupported", "format", cli="Use a plain (deflate) zip without encryption."),
    _r("zip-no-layer", "format", cli="Put one shapefile, GeoPackage, KML or GeoJSON in the zip."),
    _r("csv-delimiter", "format", cli="Save the CSV again with one delimiter (comma or semicolon) between every field "
       "and quotes around values that hold it."),
    # limits: checked before the expensive work
    _r("file-too-large", "limits", cli="Split the plan or simplify its polygons."),
    _r("zip-too-large", "limits", cli="Split the plan or simplify its polygons."),
    _r("zip-ratio", "limits", cli="The archive expands too much; zip the files again without padding."),
    _r("zip-entries", "limits", cli="Zip only the parts of one layer."),
    _r("feature-limit", "limits", cli="Split the plan into several files (one per layer)."),
    _r("field-limit", "limits", cli="Drop the fields the plan does not need."),
    _r("vertex-limit-feature", "limits", cli="Simplify the polygon in your GIS."),
    _r("vertex-limit-file", "limits", cli="Simplify the polygons in your GIS."),
    _r("text-too-long", "limits", cli="Shorten the text value."),
    _r("parse-timeout", "limits", cli="Simplify the file or split it."),
    _r("parse-memory", "limits", cli="Simplify the file or split it."),
    _r("band-limit", "limits", cli="Use fewer distinct floor_ft/ceiling_ft values (round them to common levels)."),
    # security: content we never pass on
    _r("xml-doctype", "security", cli="Remove the DOCTYPE/ENTITY declarations from the KML."),
    _r("kml-networklink", "security", cli="Make the KML self-contained (no NetworkLink)."),
    _r("geojson-crs", "security",
       cli="Reproject to WGS 84 lon/lat and remove the 'crs' member, or name an accepted EPSG code in it."),
    _r("zip-path", "security", cli="Zip the files without absolute or '..' paths."),
    _r("zip-symlink", "security", cli="Zip real files, not symbolic links."),
    _r("zip-nested", "security", cli="Do not put archives inside the archive."),
    _r("field-binary", "security", cli="Drop binary fields."),
    # CRS and encoding
    _r("crs-missing", "crs", cli="Declare the CRS the file was drawn in (a shapefile needs its .prj), or name it with "
       "--crs EPSG:NNNN (the message says which it looks like).",
       web="Declare the CRS the file was drawn in (a shapefile needs its .prj)."),
    _r("crs-not-allowed", "crs", cli="Reproject to WGS 84 (EPSG:4326) or one of the accepted CRSs."),
    _r("crs-wrong", "crs", cli="Declare the CRS the coordinates were drawn in (see the message)."),
    _r("latlon-swapped", "crs", cli="Write longitude first (x = lon, y = lat)."),
    _r("out-of-area", "crs", cli="Check the CRS the file declares."),
    _r("encoding-invalid", "crs", cli="Save the text as UTF-8, or name its encoding with --encoding (e.g. cp1251).",
       web="Save the text as UTF-8 (or add a .cpg file naming the encoding to the zip)."),
    _r("encoding-unknown", "crs", cli="Name a known encoding with --encoding (e.g. cp1251).",
       web="Add a .cpg file naming a known encoding (e.g. CP1251) to the zip."),
    _r("gpkg-feature-count", "crs", cli="Export the GeoPackage again."),
    _r("crs-mismatch", "crs", cli="Export the file again with the CRS's standard definition (.prj)."),
    _r("crs-declared", "crs", cli="Leave out --crs: the file declares its own CRS (reproject the file itself to change "
       "it).", web="Leave the CRS choice empty: the file declares its own."),
    # geometry
    _r("geometry-empty", "geometry", cli="Draw the feature's polygon."),
    _r("geometry-type", "geometry", cli="Sectors must be Polygon or MultiPolygon."),
    _r("geometry-not-finite", "geometry", cli="Fix the NaN or infinite coordinate."),
    _r("outside-plan-area", "geometry", cli="Keep extents and sensors within Ukraine and about 300 km around it "
       "(lon 18.5–43.8, lat 40.5–56.0), and check the CRS the file declares."),
    _r("invalid-geometry", "geometry", cli="Fix it in your GIS, or accept an automatic repair (--repair).",
       web="Fix it in your GIS, or tick “repair invalid geometry” and upload the file again."),
    # schema
    _r("field-missing", "schema", cli="Add the field (see the data model in the README)."),
    _r("field-duplicate", "schema", cli="Keep one of the fields."),
    _r("sector-id-missing", "schema", cli="Give every sector a unique sector_id."),
    _r("sector-id-duplicate", "schema", cli="Make every sector_id unique."),
    _r("sector-id-characters", "schema", cli="Type the id again with visible characters only."),
    _r("name-missing", "schema", cli="Give the sector a name."),
    _r("domain-invalid", "schema", cli="Use air, sea or land."),
    _r("kind-invalid", "schema", cli="Use zone or monitoring."),
    _r("contingent-invalid", "schema", cli="Use ISO 3166-1 alpha-3 codes (FRA), ';'-separated, lead first."),
    _r("contingent-unknown", "schema",
       cli="Add the nation to the registry in the same import (--contingents CSV), or fix the code.",
       web="Add the nation with a contingents registry file in the same upload, or fix the code."),
    _r("contingent-duplicate", "schema", cli="List each contingent once."),
    _r("altitude-invalid", "schema", cli="Give feet between 0 and 200,000."),
    _r("altitude-not-air", "schema", cli="Remove the altitude limits from non-air sectors."),
    _r("altitude-order", "schema", cli="Make floor_ft lower than ceiling_ft."),
    _r("date-invalid", "schema", cli="Write dates as YYYY-MM-DD."),
    _r("date-order", "schema", cli="Make valid_from no later than valid_to."),
    _r("text-control", "schema", cli="Remove the control characters from the text (retype it)."),
    _r("date-range", "schema", cli="Use a date from 1900-01-01 to 2200-12-31, or leave it empty for an open end."),
    _r("phase-unknown", "warnings", "warning", cli="Add the phase to the phases table (--phases CSV).",
       web="Add the phase to the phases table (upload a phases CSV)."),
    _r("no-features", "schema", cli="The file holds no sectors."),
    _r("mapping-invalid", "schema", cli="Write --field TARGET=SOURCE and --set FIELD=VALUE with TARGET/FIELD one of "
       "the data model's fields and SOURCE a field of the file; --mapping NAME must name a saved mapping.",
       web="Map each of the data model's fields to a field the file has."),
    # warnings: accepted, reported
    _r("geometry-z-dropped", "warnings", "warning"),
    _r("geometry-repaired", "warnings", "warning"),
    _r("sector-id-lookalike", "warnings", "warning", cli="Check the sector_id for mixed alphabets."),
    _r("contingent-normalised", "warnings", "warning", cli="Check that each nation was read as the one you meant."),
    _r("altitude-converted", "warnings", "warning", cli="Check the altitudes converted to feet (AMSL)."),
    _r("encoding-guessed", "warnings", "warning",
       cli="Check the text; name the encoding with --encoding if it was guessed wrong, or save the file as UTF-8.",
       web="Check the text; save the file as UTF-8 if it was guessed wrong."),
    _r("field-replaced", "warnings", "warning", cli="Check the mapping: the file's field of that name is not read."),
    _r("field-derived", "warnings", "warning",
       cli="The field is derived by ua-coverage and ignored; change the field it derives from instead."),
    # contingents registry
    _r("contingents-unreadable", "registry", cli="Save the registry as a UTF-8 CSV."),
    _r("contingents-field-missing", "registry", cli="The registry needs code, name and colour columns."),
    _r("contingents-invalid", "registry", cli="Fix the rows listed."),
    _r("contingents-code", "registry", cli="Use ISO 3166-1 alpha-3 codes."),
    _r("contingents-colour", "registry", cli="Use #rrggbb, never the APP-6 hostile red."),
    _r("contingents-duplicate", "registry", cli="List each code once."),
    _r("contingents-in-use", "registry",
       cli="Keep the code in the registry, or re-assign those sectors in the same import.",
       web="Keep the code in the registry, or re-assign those sectors in the same upload."),
    # sensors
    _r("sensor-invalid", "sensors", cli="Fix the sensor's range, azimuth sector or heights (see the README)."),
    _r("sensors-missing", "sensors", cli="Import a sensor set (ua-coverage import --sensors FILE) or give --sensors FILE.",
       web="Upload a sensor file (points with range_km) on the Upload page."),
    # phases table
    _r("phases-invalid", "phases", cli="Fix the rows listed (name,start,end[,notes]; dates YYYY-MM-DD)."),
    # extents
    _r("extents-invalid", "extents", cli="Fix the features listed."),
    # plan workflow
    _r("scope-invalid", "workflow", cli="Use --scope layers, sectors or all.", web="Choose one of the three scopes."),
    _r("nothing-to-import", "workflow", cli="Give a sector file, --contingents CSV, --extents FILE, --phases CSV or "
                                            "--sensors FILE.",
       web="Choose a sector file, a contingents registry, an extents file, a phases table or a sensor file."),
    _r("message-missing", "workflow", cli="Say what the revision changes with -m.",
       web="Write a message saying what this revision changes."),
    _r("author-missing", "workflow", cli="Name the author with --author.", web="Sign in again."),
    _r("message-too-long", "workflow", cli="Shorten the message (at most 500 characters).",
       web="Shorten the message (at most 500 characters)."),
    _r("nothing-to-do", "workflow"),
    _r("parts-invalid", "workflow", cli="Name each part (extents, registry, phases, sensors) once: in --keep, in "
       "--defaults, or as a file.", web="Choose one source for each part."),
    # error classes' default codes (see errors.py)
    _r("error", "error"),
    _r("ingest", "error"),
    _r("limit", "limits"),
    _r("invalid", "error"),
    _r("data-missing", "error", cli="Reinstall the package with `pip install .`."),
    _r("analysis", "error"),
    _r("export", "error"),
    _r("store", "error"),
    _r("conflict", "workflow", cli="Review the new current revision and import again with --base N.",
       web="Refresh the preview against the new current revision, review it, and commit again."),
    _r("revision-not-found", "workflow", cli="`ua-coverage history` lists the revisions.",
       web="The History page lists the revisions."),
    _r("usage", "error"),
    _r("request-invalid", "error", cli="", web="Reload the page: it asked for something this server does not hold."),
    _r("store-unreachable", "error",
       cli="Check that the database server is running and reachable from here, and the address in "
           "UA_COVERAGE_DATABASE_URL.",
       web="Try again in a few minutes; if it keeps happening, tell the administrator (the server log has the details)."),
    _r("store-damaged", "error",
       cli="Restore plan.sqlite from a backup (keep the damaged file for inspection), or move it away to start a new "
           "store seeded with the sample.",
       web="Tell the administrator: the plan store must be restored from a backup."),
    _r("store-read-only", "error",
       cli="Make the data folder and its plan.sqlite writable by the user running ua-coverage, or point --data-dir "
           "at a writable copy.",
       web="Tell the administrator: the server's data folder must be writable."),
]

#: every rule code, in the order of the table above
RULES: dict[str, Rule] = {r.code: r for r in _TABLE}

#: the families shown in the README's rule table, in its order (its first column)
README_FAMILIES = {"format": "format", "limits": "limits", "security": "security", "crs": "CRS and encoding",
                   "geometry": "geometry", "schema": "schema", "warnings": "warnings",
                   "registry": "contingents registry", "phases": "phases table", "sensors": "sensors", "extents": "extents",
                   "workflow": "plan workflow"}


def advice(code: str, surface: str = "cli") -> str:
    """The advice for ``code`` on ``surface`` (``cli`` or ``web``); empty if the rule has none."""
    rule = RULES.get(code)
    return rule.advice(surface) if rule else ""


def codes(family: str | None = None) -> list[str]:
    """Every registered code (of one family)."""
    return [c for c, r in RULES.items() if family is None or r.family == family]
