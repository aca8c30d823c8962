"""The plan's data model: sector fields, vocabularies and the contingents registry.

A *sector file* has one row per safeguarding zone or monitoring sector (see ``DESIGN.md``). This
module holds only the vocabulary every layer shares; the rules that check a file live in
:mod:`ua_coverage.ingest.sectors`, reading a registry in :mod:`ua_coverage.ingest.registry`.

Examples
--------
>>> parse_contingents(" fra; bel ")
('FRA', 'BEL')
>>> parse_contingents("")
()
"""
from __future__ import annotations

import math
import re
import unicodedata

DOMAINS = ("air", "sea", "land")
KINDS = ("zone", "monitoring")
#: the four coverage layers the engine analyses independently
LAYERS = ("air", "sea", "land", "monitoring")
REQUIRED = ("sector_id", "name", "domain", "kind")
OPTIONAL = ("contingent", "floor_ft", "ceiling_ft", "phase", "valid_from", "valid_to", "notes")
CANONICAL = REQUIRED + OPTIONAL
#: fields ua-coverage writes into its own exports that derive from the data model's (``lead`` = the first code of
#: ``contingent``): ignored when a file is read, so a round trip through an export is no change
DERIVED_FIELDS = ("lead",)
ISO3 = re.compile(r"^[A-Z]{3}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# APP-6 hostile red and its near neighbours are never used for friendly forces.
HOSTILE_REDS = {"#ff0000", "#ff8080", "#e41a1c", "#d62728", "#c00000", "#cc0000"}
#: where sectors may lie: Ukraine's surroundings, lon/lat (W, S, E, N)
SECTOR_AREA = (21.5, 43.5, 40.8, 53.0)
#: where extents and sensors may lie: the sector area and about 300 km around it (a radar in a neighbouring country,
#: a maritime area off the coast) — never across the antimeridian, never a globe
PLAN_AREA = (18.5, 40.5, 43.8, 56.0)


def outside_plan_area(geom, area: tuple = PLAN_AREA) -> str | None:
    """Why ``geom`` is not within ``area`` (a sentence), or None when it is.

    >>> import shapely
    >>> outside_plan_area(shapely.box(30, 48, 31, 49)) is None
    True
    >>> outside_plan_area(shapely.box(-180, -90, 180, 90))[:40]
    'it spans the whole globe (lon -180 to 18'
    """
    import shapely

    if geom is None or geom.is_empty:
        return None
    minx, miny, maxx, maxy = shapely.bounds(geom)
    if area[0] <= minx and maxx <= area[2] and area[1] <= miny and maxy <= area[3]:
        return None
    where = f"lon {minx:g} to {maxx:g}, lat {miny:g} to {maxy:g}"
    if maxx - minx >= 359 and maxy - miny >= 179:
        return f"it spans the whole globe ({where})"
    if maxx - minx > 180 or minx < -180 or maxx > 180:
        return f"it reaches across the antimeridian or around the world ({where})"
    return f"it lies at {where}"


#: the dates a plan may hold (validity, phases, sensors, a day asked for): wide enough for any plan, narrow enough
#: that a day ± 1, a chart axis and a pack's period arithmetic always work
DATE_MIN, DATE_MAX = "1900-01-01", "2200-12-31"
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def supported_date(text) -> bool:
    """True for an ISO ``YYYY-MM-DD`` calendar date between :data:`DATE_MIN` and :data:`DATE_MAX`.

    >>> supported_date("2027-04-01"), supported_date("9999-12-31"), supported_date("2027-02-30")
    (True, False, False)
    """
    from datetime import date

    if not isinstance(text, str) or not _ISO_DAY.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return DATE_MIN <= text <= DATE_MAX


def parse_contingents(value) -> tuple[str, ...]:
    """Split a ``contingent`` value (``"FRA;BEL"``) into codes, lead first; empty -> ``()``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    codes = [c.strip().upper() for c in str(value).replace(",", ";").split(";")]
    return tuple(c for c in codes if c)


def layer_of(domain: str, kind: str) -> str:
    """The coverage layer a sector counts in: monitoring sectors form their own layer."""
    return "monitoring" if kind == "monitoring" else domain


def normalise_id(value) -> str:
    """Sector ids are compared after Unicode NFKC normalisation and trimming."""
    return unicodedata.normalize("NFKC", "" if value is None else str(value)).strip()
