"""Reading a contingents registry (CSV): codes, names, colours."""
from __future__ import annotations


import pandas as pd

from ..errors import IngestError, Problem
from ..colours import HOSTILE_DELTA_E, is_hostile_red
from ..schema import COLOUR, ISO3
from .sectors import control_problem


#: a registry lists nations, not features: anything larger is not a registry
MAX_REGISTRY_BYTES = 1024 * 1024


def read_contingents(path) -> pd.DataFrame:
    """Read a contingents registry CSV (``code``, ``name``, ``colour``, ``notes``; extras kept).

    ``path`` is a file path or the uploaded bytes. Raises :class:`~ua_coverage.errors.IngestError`
    listing every bad row (feature = the 0-based row).
    """
    from ._csv import read_table

    source = path
    if isinstance(path, (bytes, bytearray, memoryview)):
        path = "the uploaded registry"
    # delimiter (comma, semicolon, tab) and encoding sniffed as for every CSV (see ingest/_csv.py)
    what = path if isinstance(source, (bytes, bytearray, memoryview)) else f"the contingents registry {path}"
    df, warnings = read_table(source, what=what, max_bytes=MAX_REGISTRY_BYTES,
                              expected=("code", "name", "colour", "notes"), unreadable="contingents-unreadable")
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
        for f in ("name", "notes"):
            if (p := control_problem(f, row[f], feature=int(i))) is not None:
                problems.append(p)
        if not COLOUR.match(row["colour"].strip()):
            problems.append(Problem("contingents-colour", f"colour {row['colour']!r} is not #rrggbb",
                                    feature=int(i), field="colour"))
        elif is_hostile_red(row["colour"].strip()):
            problems.append(Problem("contingents-colour", f"colour {row['colour']} is too close to APP-6's hostile "
                                    f"red (colour difference under {HOSTILE_DELTA_E:g} ΔE); choose a colour that is not "
                                    "red", feature=int(i), field="colour"))
    dup = df["code"][df["code"].duplicated()]
    for c in dup:
        problems.append(Problem("contingents-duplicate", f"code {c} is listed twice", field="code"))
    if problems:
        raise IngestError(f"contingents registry {path} has {len(problems)} problem(s)",
                          rule="contingents-invalid", problems=problems)
    df["colour"] = df["colour"].str.strip().str.lower()
    df = df.reset_index(drop=True)
    df.attrs["warnings"] = warnings  # what sniffing guessed (the encoding), for the caller to report
    return df
