"""The content rules of a sector file: fields, ids, domains, contingents and altitudes.

:func:`normalise_sectors` maps a freshly read layer onto the canonical columns and returns the
problems it found; it never raises for bad content, so the caller decides strict or lenient.
"""
from __future__ import annotations

import math
import re
from datetime import date

import pandas as pd

from ..errors import Problem
from ..schema import (CANONICAL, DATE_MAX, DATE_MIN, DERIVED_FIELDS, DOMAINS, ISO3, KINDS, REQUIRED, layer_of,
                      normalise_id, parse_contingents, supported_date)


def _text(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return str(v).strip()


_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?(?:Z|[+-]00:?00)?)?$")
_DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")  # 31.03.2027: the European form, never month first


def parse_date(text: str) -> str | None:
    """ISO ``YYYY-MM-DD`` for an unambiguous date (``2027-03-31``, ``2027/3/31``, ``31.03.2027``, a midnight
    timestamp), else None. Slashed day/month orders (``03/04/2027``) are ambiguous and never guessed."""
    m = _YMD.match(text)
    y, mo, d = (m.group(1), m.group(2), m.group(3)) if m else (None, None, None)
    if not m:
        m = _DMY.match(text)
        if not m:
            return None
        d, mo, y = m.groups()
    try:
        return date(int(y), int(mo), int(d)).isoformat()
    except ValueError:
        return None


def control_problem(name: str, value, **where) -> Problem | None:
    """``text-control`` for a text holding control characters (they would break KML and reach terminals)."""
    from ..text import control_characters

    bad = control_characters(_text(value)) if value is not None else []
    if bad:
        return Problem("text-control", f"{name} holds control characters ({', '.join(bad[:6])}); type the text again "
                       "without them", field=name, **where)
    return None


def date_range_problem(name: str, iso: str | None, **where) -> Problem | None:
    """``date-range`` for a date outside the supported range (one rule for sectors, phases and sensors)."""
    if iso and not supported_date(iso):
        return Problem("date-range", f"{name} {iso} is outside the dates a plan may hold ({DATE_MIN} to "
                       f"{DATE_MAX}); leave it empty for an open end", field=name, **where)
    return None


def _date_text(v) -> str:
    """A validity date as ISO ``YYYY-MM-DD`` when it is one (whatever form a format wrote it in), else the text."""
    t = _text(v)
    return parse_date(t) or t


def _check_dates(row: dict, i: int, sid: str, problems: list) -> None:
    """``date-invalid`` for a value that is no date, ``date-order`` when the validity ends before it starts."""
    iso = {}
    for name in ("valid_from", "valid_to"):
        t = _text(row[name])
        if not t:
            continue
        iso[name] = parse_date(t)
        if iso[name] is None:
            problems.append(Problem("date-invalid", f"{name} {t!r} is not a date we can read; write it as "
                                    "YYYY-MM-DD (e.g. 2027-03-31)", feature=i, sector_id=sid or None, field=name))
        elif (p := date_range_problem(name, iso[name], feature=i, sector_id=sid or None)) is not None:
            problems.append(p)
    if iso.get("valid_from") and iso.get("valid_to") and iso["valid_from"] > iso["valid_to"]:
        problems.append(Problem("date-order", f"valid_from {iso['valid_from']} is after valid_to {iso['valid_to']}",
                                feature=i, sector_id=sid or None, field="valid_from"))


def _number(v) -> float | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    f = float(v)
    return None if math.isnan(f) else f


_FL = re.compile(r"^FL\s*(\d{1,4})$", re.I)
_QTY = re.compile(r"^(\d{1,3}(?:[ ,\u00a0\u202f]\d{3})+|\d+(?:\.\d+)?)\s*(ft|feet|foot|'|m|metres?|meters?)?"
                  r"(?:\s*(amsl|msl|agl|agl/sfc))?$", re.I)
FT_PER_M = 1 / 0.3048


def parse_altitude(v) -> tuple[float | None, bool]:
    """An altitude in feet (AMSL) from a number or text as staff write it — ``18000``, ``FL180``, ``5000 ft``,
    ``1500 m``, ``1 500 m AMSL``, ``SFC``/``GND`` (0), ``UNL`` (unlimited: empty) — and whether it was converted.
    Raises ValueError for anything else (heights above ground, ``AGL``, are not converted).

    >>> parse_altitude("FL180"), parse_altitude("1500 m"), parse_altitude(5000)
    ((18000.0, True), (4921.26, True), (5000.0, False))
    """
    if not isinstance(v, str):
        return _number(v), False
    t = v.strip()
    if not t:
        return None, False
    try:
        return _number(t), False
    except ValueError:
        pass
    up = t.upper()
    if up in ("SFC", "GND", "SURFACE", "GROUND", "MSL"):
        return 0.0, True
    if up in ("UNL", "UNLTD", "UNLIMITED"):
        return None, True
    if m := _FL.match(t):
        return float(int(m.group(1)) * 100), True
    m = _QTY.match(t)
    if not m or (m.group(3) or "").lower().startswith("agl"):
        raise ValueError(t)
    number = float(re.sub(r"[ ,\u00a0\u202f]", "", m.group(1)))
    unit = (m.group(2) or "ft").lower()
    feet = number * FT_PER_M if unit.startswith("m") else number
    return round(feet, 2), True


def normalise_sectors(gdf, registry: set[str] | None = None) -> tuple["pd.DataFrame", list[Problem], list[Problem]]:
    """Map a read layer onto the canonical sector columns.

    Field names match case-insensitively; unknown fields are kept after the canonical ones.
    Returns ``(frame, problems, warnings)``. ``frame`` has the canonical columns (text as ``str``,
    ``floor_ft``/``ceiling_ft`` as float or NaN), a ``contingents`` tuple column, a ``layer``
    column, and the geometry untouched.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    lower = _field_map(gdf, problems)
    if any(p.rule == "field-missing" for p in problems):
        return gdf.iloc[0:0], problems, warnings
    out = pd.DataFrame(index=gdf.index)
    for f in CANONICAL:
        col = lower.get(f)
        out[f] = gdf[col] if col is not None else None
    for c in (c for k, c in lower.items() if k not in CANONICAL and k not in DERIVED_FIELDS):
        out[str(c)] = gdf[c].map(_text)
    derived = {k: gdf[c] for k, c in lower.items() if k in DERIVED_FIELDS}
    nations: dict[str, str] = {}
    converted: dict[str, list[str]] = {}

    ids, floors, ceilings, codes, layers = [], [], [], [], []
    seen: dict[str, int] = {}
    folded: dict[str, str] = {}
    for i, row in enumerate(out.itertuples(index=False)):
        row = row._asdict() if hasattr(row, "_asdict") else dict(zip(out.columns, row))
        sid = normalise_id(row["sector_id"])
        ids.append(sid)
        if _check_id_characters(sid, i, problems, warnings):
            _check_id(sid, i, seen, folded, problems, warnings)
        domain, kind = _text(row["domain"]).lower(), _text(row["kind"]).lower()
        _check_vocabulary(row, domain, kind, i, sid, problems)
        layers.append(layer_of(domain, kind))
        codes.append(_check_contingents(row["contingent"], i, sid, registry, problems, nations))
        fl, ce = _check_altitudes(row, domain, i, sid, problems, converted)
        _check_dates(row, i, sid, problems)
        for f in ("name", "phase", "notes"):
            if (p := control_problem(f, row[f], feature=i, sector_id=sid or None)) is not None:
                problems.append(p)
        floors.append(fl)
        ceilings.append(ce)

    out["sector_id"] = ids
    for f in ("name", "phase", "notes"):
        out[f] = out[f].map(_text)
    for f in ("valid_from", "valid_to"):
        out[f] = out[f].map(_date_text)
    out["domain"] = out["domain"].map(lambda v: _text(v).lower())
    out["kind"] = out["kind"].map(lambda v: _text(v).lower())
    out["contingent"] = [";".join(c) for c in codes]
    out["floor_ft"] = pd.array(floors, dtype="Float64").astype(float)
    out["ceiling_ft"] = pd.array(ceilings, dtype="Float64").astype(float)
    out["contingents"] = codes
    out["layer"] = layers
    out["geometry"] = gdf.geometry.values
    if nations:
        shown = ", ".join(f"{k!r} → {v}" for k, v in list(nations.items())[:12])
        warnings.append(Problem("contingent-normalised", f"nations written as names or alpha-2 codes were read as ISO "
                                f"3166-1 alpha-3: {shown}" + (f" and {len(nations) - 12} more" if len(nations) > 12
                                                              else ""), field="contingent"))
    for name, notes in converted.items():
        shown = ", ".join(notes[:8])
        warnings.append(Problem("altitude-converted", f"{name} values converted to feet (AMSL): {shown}"
                                + (f" and {len(notes) - 8} more" if len(notes) > 8 else ""), field=name))
    for k, col in derived.items():  # ua-coverage's own derived fields (an export read back): never user data
        lead = [c[0] if c else "" for c in codes]
        differ = [sid for sid, v, want in zip(ids, col.map(_text), lead) if v and v.upper() != want]
        if differ:
            warnings.append(Problem("field-derived", f"field {k!r} is derived by ua-coverage (the first code of "
                                    f"contingent) and was ignored; it differed from contingent in "
                                    f"{len(differ)} sector(s), e.g. {', '.join(differ[:5])}", field=k))
    return out, problems, warnings


def _field_map(gdf, problems: list[Problem]) -> dict[str, str]:
    """Lower-case field name -> the file's own name; duplicates and missing required fields are problems."""
    lower: dict[str, str] = {}
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        key = str(col).strip().lower()
        if key in lower:
            problems.append(Problem("field-duplicate", f"fields {lower[key]!r} and {col!r} differ only in "
                                    "case; keep one of them", field=str(col)))
            continue
        lower[key] = col
    for f in REQUIRED:
        if f not in lower:
            problems.append(Problem("field-missing", f"required field {f!r} is missing; every feature needs "
                                    f"{', '.join(REQUIRED)}", field=f))
    return lower


#: characters an id may never hold: controls, format characters (bidi overrides, zero-width), separators
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


def _check_id_characters(sid: str, i: int, problems: list, warnings: list) -> bool:
    """Refuse ids with invisible or control characters; warn on ids mixing scripts. False when refused."""
    import unicodedata

    bad = sorted({f"U+{ord(c):04X}" for c in sid if unicodedata.category(c) in _INVISIBLE_CATEGORIES
                  or (unicodedata.category(c) == "Zs" and c != " ")})
    if bad:
        visible = "".join(c for c in sid if unicodedata.category(c) not in _INVISIBLE_CATEGORIES).strip()
        rule = "sector-id-characters" if visible else "sector-id-missing"
        problems.append(Problem(rule, f"sector_id {visible!r} holds invisible or control characters "
                                f"({', '.join(bad[:6])}); type the id again with visible characters only",
                                feature=i, sector_id=visible or None, field="sector_id"))
        return False
    scripts = {unicodedata.name(c, "?").split()[0] for c in sid if c.isalpha()}
    if len(scripts) > 1:
        warnings.append(Problem("sector-id-lookalike", f"sector_id {sid!r} mixes {' and '.join(sorted(s.title() for s in scripts))} "
                                "letters; check that it was typed in one alphabet", feature=i, sector_id=sid,
                                field="sector_id"))
    return True


def _check_id(sid: str, i: int, seen: dict, folded: dict, problems: list, warnings: list) -> None:
    if not sid:
        problems.append(Problem("sector-id-missing", "sector_id is empty; give every sector a unique id",
                                feature=i, field="sector_id"))
    elif sid in seen:
        problems.append(Problem("sector-id-duplicate", f"sector_id {sid!r} is also used by feature "
                                f"{seen[sid]}; ids must be unique", feature=i, sector_id=sid, field="sector_id"))
    else:
        seen[sid] = i
        key = _skeleton(sid)
        if key in folded and folded[key] != sid:
            warnings.append(Problem("sector-id-lookalike", f"sector_id {sid!r} looks like {folded[key]!r} "
                                    "(Latin and Cyrillic letters mixed?)", feature=i, sector_id=sid,
                                    field="sector_id"))
        folded.setdefault(key, sid)


def _check_vocabulary(row: dict, domain: str, kind: str, i: int, sid: str, problems: list) -> None:
    if domain not in DOMAINS:
        problems.append(Problem("domain-invalid", f"domain {_text(row['domain'])!r} is not one of "
                                f"{', '.join(DOMAINS)}", feature=i, sector_id=sid or None, field="domain"))
    if kind not in KINDS:
        problems.append(Problem("kind-invalid", f"kind {_text(row['kind'])!r} is not one of "
                                f"{', '.join(KINDS)}", feature=i, sector_id=sid or None, field="kind"))
    if not _text(row["name"]):
        problems.append(Problem("name-missing", "name is empty; give the sector a human label",
                                feature=i, sector_id=sid or None, field="name"))


def _check_contingents(value, i: int, sid: str, registry: set[str] | None, problems: list,
                       nations: dict | None = None) -> tuple[str, ...]:
    from .nations import normalise_nations

    written, mapped, _unknown = normalise_nations(value)  # names and alpha-2 codes -> alpha-3
    if nations is not None:
        nations.update(mapped)
    cs = parse_contingents(written)
    for c in cs:
        if not ISO3.match(c):
            problems.append(Problem("contingent-invalid", f"contingent {c!r} is neither an ISO 3166-1 code (alpha-3 "
                                    "such as FRA, or alpha-2) nor a country name we know (English, French, German "
                                    "or Ukrainian)", feature=i, sector_id=sid or None, field="contingent"))
        elif registry is not None and c not in registry:
            problems.append(Problem("contingent-unknown", f"contingent {c!r} is not in the contingents "
                                    "registry", feature=i, sector_id=sid or None, field="contingent"))
    if len(set(cs)) != len(cs):
        problems.append(Problem("contingent-duplicate", "a contingent is listed twice in "
                                f"{_text(value)!r}", feature=i, sector_id=sid or None, field="contingent"))
    return cs


def _check_altitudes(row: dict, domain: str, i: int, sid: str, problems: list,
                     converted: dict | None = None) -> tuple[float | None, float | None]:
    vals = {}
    for name in ("floor_ft", "ceiling_ft"):
        try:
            val, conv = parse_altitude(row[name])
            if conv and converted is not None:
                notes = converted.setdefault(name, [])
                note = f"{_text(row[name])!r} → {'unlimited' if val is None else format(val, ',.0f') + ' ft'}"
                if len(notes) < 50 and note not in notes:
                    notes.append(note)
        except (TypeError, ValueError):
            problems.append(Problem("altitude-invalid", f"{name} {row[name]!r} is not a number of feet, a flight "
                                    "level (FL180) or metres (1500 m), above mean sea level",
                                    feature=i, sector_id=sid or None, field=name))
            val = None
        if val is not None and domain != "air":
            problems.append(Problem("altitude-not-air", f"{name} is only allowed on air zones",
                                    feature=i, sector_id=sid or None, field=name))
        if val is not None and not (0 <= val <= 200_000):
            problems.append(Problem("altitude-invalid", f"{name} {val:g} ft is outside 0–200,000 ft",
                                    feature=i, sector_id=sid or None, field=name))
        vals[name] = val
    fl, ce = vals["floor_ft"], vals["ceiling_ft"]
    if fl is not None and ce is not None and fl >= ce:
        problems.append(Problem("altitude-order", f"floor_ft {fl:g} is not below ceiling_ft {ce:g}",
                                feature=i, sector_id=sid or None, field="floor_ft"))
    return fl, ce


_CONFUSABLE = str.maketrans("АВЕКМНОРСТХІЈаеорсухіјΑΒΕΖΗΙΚΜΝΟΡΤΥΧοτνκ", "ABEKMHOPCTXIJaeopcyxijABEZHIKMNOPTYXotvk")


def _skeleton(sid: str) -> str:
    return sid.translate(_CONFUSABLE).casefold()
