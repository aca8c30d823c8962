"""The plan's data model: sector fields, vocabularies and the contingents registry.

A *sector file* has one row per safeguarding zone or monitoring sector (see ``DESIGN.md``).
:func:`normalise_sectors` maps a freshly read layer onto the canonical columns and returns the
problems it found; it never raises for bad content, so the caller decides strict or lenient.

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
from pathlib import Path

import pandas as pd

from .errors import IngestError, Problem

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


def _text(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return str(v).strip()


def _number(v) -> float | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    f = float(v)
    return None if math.isnan(f) else f


def normalise_sectors(gdf, registry: set[str] | None = None) -> tuple["pd.DataFrame", list[Problem], list[Problem]]:
    """Map a read layer onto the canonical sector columns.

    Field names match case-insensitively; unknown fields are kept after the canonical ones.
    Returns ``(frame, problems, warnings)``. ``frame`` has the canonical columns (text as ``str``,
    ``floor_ft``/``ceiling_ft`` as float or NaN), a ``contingents`` tuple column, a ``layer``
    column, and the geometry untouched.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
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
    missing = [f for f in REQUIRED if f not in lower]
    for f in missing:
        problems.append(Problem("field-missing", f"required field {f!r} is missing; every feature needs "
                                f"{', '.join(REQUIRED)}", field=f))
    if missing:
        return gdf.iloc[0:0], problems, warnings

    out = pd.DataFrame(index=gdf.index)
    for f in CANONICAL:
        col = lower.get(f)
        out[f] = gdf[col] if col is not None else None
    extra = [c for k, c in lower.items() if k not in CANONICAL]
    for c in extra:
        out[str(c)] = gdf[c].map(_text)

    ids, floors, ceilings, codes, layers = [], [], [], [], []
    seen: dict[str, int] = {}
    folded: dict[str, str] = {}
    for i, row in enumerate(out.itertuples(index=False)):
        row = row._asdict() if hasattr(row, "_asdict") else dict(zip(out.columns, row))
        sid = normalise_id(row["sector_id"])
        ids.append(sid)
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
        domain = _text(row["domain"]).lower()
        kind = _text(row["kind"]).lower()
        if domain not in DOMAINS:
            problems.append(Problem("domain-invalid", f"domain {_text(row['domain'])!r} is not one of "
                                    f"{', '.join(DOMAINS)}", feature=i, sector_id=sid or None, field="domain"))
        if kind not in KINDS:
            problems.append(Problem("kind-invalid", f"kind {_text(row['kind'])!r} is not one of "
                                    f"{', '.join(KINDS)}", feature=i, sector_id=sid or None, field="kind"))
        if not _text(row["name"]):
            problems.append(Problem("name-missing", "name is empty; give the sector a human label",
                                    feature=i, sector_id=sid or None, field="name"))
        layers.append(layer_of(domain, kind))
        cs = parse_contingents(row["contingent"])
        for c in cs:
            if not ISO3.match(c):
                problems.append(Problem("contingent-invalid", f"contingent code {c!r} is not an ISO 3166-1 "
                                        "alpha-3 code (three letters, e.g. FRA)", feature=i,
                                        sector_id=sid or None, field="contingent"))
            elif registry is not None and c not in registry:
                problems.append(Problem("contingent-unknown", f"contingent {c!r} is not in the contingents "
                                        "registry; add it there or fix the code", feature=i,
                                        sector_id=sid or None, field="contingent"))
        if len(set(cs)) != len(cs):
            problems.append(Problem("contingent-duplicate", "a contingent is listed twice in "
                                    f"{_text(row['contingent'])!r}", feature=i, sector_id=sid or None,
                                    field="contingent"))
        codes.append(cs)
        fl = ce = None
        for name, target in (("floor_ft", "floor"), ("ceiling_ft", "ceiling")):
            try:
                val = _number(row[name])
            except (TypeError, ValueError):
                problems.append(Problem("altitude-invalid", f"{name} {row[name]!r} is not a number of feet",
                                        feature=i, sector_id=sid or None, field=name))
                val = None
            if val is not None and domain != "air":
                problems.append(Problem("altitude-not-air", f"{name} is only allowed on air zones",
                                        feature=i, sector_id=sid or None, field=name))
            if val is not None and not (0 <= val <= 200_000):
                problems.append(Problem("altitude-invalid", f"{name} {val:g} ft is outside 0–200,000 ft",
                                        feature=i, sector_id=sid or None, field=name))
            if target == "floor":
                fl = val
            else:
                ce = val
        if fl is not None and ce is not None and fl >= ce:
            problems.append(Problem("altitude-order", f"floor_ft {fl:g} is not below ceiling_ft {ce:g}",
                                    feature=i, sector_id=sid or None, field="floor_ft"))
        floors.append(fl)
        ceilings.append(ce)

    out["sector_id"] = ids
    for f in ("name", "phase", "valid_from", "valid_to", "notes"):
        out[f] = out[f].map(_text)
    out["domain"] = out["domain"].map(lambda v: _text(v).lower())
    out["kind"] = out["kind"].map(lambda v: _text(v).lower())
    out["contingent"] = [";".join(c) for c in codes]
    out["floor_ft"] = pd.array(floors, dtype="Float64").astype(float)
    out["ceiling_ft"] = pd.array(ceilings, dtype="Float64").astype(float)
    out["contingents"] = codes
    out["layer"] = layers
    out["geometry"] = gdf.geometry.values
    return out, problems, warnings


_CONFUSABLE = str.maketrans("АВЕКМНОРСТХІЈаеорсухіј", "ABEKMHOPCTXIJaeopcyxij")


def _skeleton(sid: str) -> str:
    return sid.translate(_CONFUSABLE).casefold()


def read_contingents(path: str | Path) -> pd.DataFrame:
    """Read a contingents registry CSV (``code``, ``name``, ``colour``, ``notes``; extras kept).

    Raises :class:`~coverage.errors.IngestError` listing every bad row.
    """
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise IngestError(f"cannot read the contingents registry {path}: {exc}", rule="contingents-unreadable") from exc
    df.columns = [c.strip().lower() for c in df.columns]
    problems = []
    for col in ("code", "name", "colour"):
        if col not in df.columns:
            problems.append(Problem("contingents-field-missing", f"column {col!r} is missing", field=col))
    if problems:
        raise IngestError(f"contingents registry {path} is missing columns", rule="contingents-invalid",
                          problems=problems)
    if "notes" not in df.columns:
        df["notes"] = ""
    df["code"] = df["code"].str.strip().str.upper()
    for i, row in df.iterrows():
        if not ISO3.match(row["code"]):
            problems.append(Problem("contingents-code", f"code {row['code']!r} is not ISO 3166-1 alpha-3",
                                    feature=int(i), field="code"))
        if not COLOUR.match(row["colour"].strip()):
            problems.append(Problem("contingents-colour", f"colour {row['colour']!r} is not #rrggbb",
                                    feature=int(i), field="colour"))
        elif row["colour"].strip().lower() in HOSTILE_REDS:
            problems.append(Problem("contingents-colour", f"colour {row['colour']} is the hostile red of "
                                    "APP-6; choose another", feature=int(i), field="colour"))
    dup = df["code"][df["code"].duplicated()]
    for c in dup:
        problems.append(Problem("contingents-duplicate", f"code {c} is listed twice", field="code"))
    if problems:
        raise IngestError(f"contingents registry {path} has {len(problems)} problem(s)",
                          rule="contingents-invalid", problems=problems)
    df["colour"] = df["colour"].str.strip().str.lower()
    return df.reset_index(drop=True)
