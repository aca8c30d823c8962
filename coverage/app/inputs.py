"""What a callback may take from the browser: every value checked against the server's own state.

A Dash callback receives whatever the client sends — a crafted request can put any JSON in any input. The
functions here turn those values into ones the server defines (a revision it holds, a domain of the four layers,
a band of the analysis, an altitude it offers, a day of the supported range, nations of the plan), or raise
:class:`RequestInvalid`, whose message the page shows. Nothing from the client reaches a file name, a cache key
or the engine without passing through here.

Examples
--------
>>> domain("land")
'land'
>>> day_of([None, "2027-04-01"], 1)
'2027-04-01'
>>> day_of([None, "/../../x"], 1)  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
ua_coverage.app.inputs.RequestInvalid: the day '/../../x' is not a date (YYYY-MM-DD between 1900-01-01 and 2200-12-31)
>>> slug("r6-land-without-GBR;NOR/..")
'r6-land-without-GBR-NOR'
"""
from __future__ import annotations

import math
import re

from ..errors import CoverageError
from ..schema import LAYERS, supported_date

#: export formats the menu offers (anything else is refused before work)
EXPORT_FORMATS = ("png", "pdf", "svg", "html", "pack", "data", "kmz")
LANGS = ("en", "uk")


class RequestInvalid(CoverageError):
    """A callback input the server does not define (a crafted or stale request)."""

    rule = "request-invalid"


def _digits(value) -> int | None:
    """An int from an int or a string of ASCII digits ('²'.isdigit() is True in Python: not a number here)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 12:
        value = int(value)
    return value if isinstance(value, int) and 0 <= value < 10**11 else None


def revision(store, value):
    """The store's revision named by ``value`` (refused unless it is a revision id the store holds)."""
    rev_id = _digits(value)
    if rev_id is None:
        raise RequestInvalid(f"{str(value)[:40]!r} is not a revision number; reload the page")
    return store.revision(rev_id)  # RevisionNotFound for an id it does not hold


def domain(value) -> str:
    if value not in LAYERS:
        raise RequestInvalid(f"{str(value)[:40]!r} is not a domain; choose one of {', '.join(LAYERS)}")
    return value


def band(value, n_bands: int, dom: str) -> int | None:
    """An air band index of the analysis (``None`` = all altitudes); ``-1`` or a band it lacks is refused."""
    if dom != "air" or value in (None, "all"):
        return None
    i = _digits(value)
    if i is None or not 0 <= i < n_bands:
        raise RequestInvalid(f"altitude band {str(value)[:20]!r} does not exist in this revision; choose another")
    return i


def layers(values, allowed) -> tuple[str, ...]:
    """The layer switches, in the server's order; unknown names are dropped (they draw nothing)."""
    got = set(values) if isinstance(values, (list, tuple)) else set()
    return tuple(v for v in allowed if v in got)


def lang(value) -> str:
    return value if value in LANGS else "en"


def day_of(days, index) -> str | None:
    """The day at slider stop ``index`` of ``days`` (stop 0 = the whole plan); the day itself must be an ISO date
    of the supported range, so it is safe in a file name and a cache key."""
    i = _digits(index)
    if not days or not isinstance(days, list) or i is None or i <= 0 or i >= len(days):
        return None
    return day(days[i])


def day(value) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not supported_date(value):
        raise RequestInvalid(f"the day {str(value)[:40]!r} is not a date (YYYY-MM-DD between 1900-01-01 and "
                             "2200-12-31)")
    return value


def altitude(value, offered) -> float:
    """A sensor target altitude the page offers (the nearest of ``offered``): the cache key space is the plan's
    list, never the client's numbers."""
    try:
        ft = float(value or 0.0)
    except (TypeError, ValueError):
        ft = 0.0
    if not math.isfinite(ft):
        ft = 0.0
    offered = sorted(float(a) for a in offered) or [0.0]
    ft = min(max(ft, offered[0]), offered[-1])
    return min(offered, key=lambda a: (abs(a - ft), a))


def withdrawn(used: set[str], ticked, options) -> tuple[str, ...]:
    """The nations a what-if withdraws: the plan's own (``used``) that the filter offers and are not ticked."""
    offered = {o.get("value") for o in options if isinstance(o, dict)} if isinstance(options, list) else set(used)
    ticked = {t for t in ticked if isinstance(t, str)} if isinstance(ticked, (list, tuple)) else set()
    return tuple(sorted(used & (offered - ticked)))


def export_format(value) -> str:
    if value not in EXPORT_FORMATS:
        raise RequestInvalid(f"{str(value)[:20]!r} is not an export format; choose one from the menu")
    return value


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def slug(text: str, limit: int = 120) -> str:
    """A file-name part of ASCII letters, digits, ``_ . -`` only (no separators, no ``..``)."""
    s = _UNSAFE.sub("-", str(text))
    s = re.sub(r"\.{2,}", "-", s)
    s = re.sub(r"-{2,}", "-", s).strip("-.")
    return s[:limit] or "export"
