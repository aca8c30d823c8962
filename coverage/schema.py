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
ISO3 = re.compile(r"^[A-Z]{3}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# APP-6 hostile red and its near neighbours are never used for friendly forces.
HOSTILE_REDS = {"#ff0000", "#ff8080", "#e41a1c", "#d62728", "#c00000", "#cc0000"}


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
