"""Reading a phases table (CSV ``name,start,end[,notes]``): the named periods of a plan."""
from __future__ import annotations


import pandas as pd

from ..errors import IngestError, Problem
from .sectors import control_problem, date_range_problem, parse_date

MAX_PHASES_BYTES = 256 * 1024


def read_phases(source) -> pd.DataFrame:
    """A phases table from a path or uploaded bytes: ``name`` (unique), ``start``/``end`` (ISO dates, either may be
    empty = open), ``notes``; extra columns kept. Raises :class:`~ua_coverage.errors.IngestError` listing every
    bad row (``phases-invalid``, ``date-invalid``, ``date-order``).

    >>> read_phases(b"name,start,end\\nEntry,2027-01-01,31.03.2027\\n")[["name", "start", "end"]].values.tolist()
    [['Entry', '2027-01-01', '2027-03-31']]
    """
    from ._csv import read_table

    label = "the uploaded phases table" if isinstance(source, (bytes, bytearray, memoryview)) else str(source)
    # delimiter and encoding sniffed as for every CSV (see ingest/_csv.py)
    df, warnings = read_table(source, what=label, max_bytes=MAX_PHASES_BYTES, expected=("name", "start", "end"),
                              unreadable="phases-invalid")
    problems = [Problem("phases-invalid", f"column {c!r} is missing", field=c)
                for c in ("name", "start", "end") if c not in df.columns]
    if problems:
        raise IngestError(f"{label} needs the columns name, start, end", rule="phases-invalid", problems=problems)
    if "notes" not in df.columns:
        df["notes"] = ""
    df["name"] = df["name"].str.strip()
    for i, row in df.iterrows():
        if not row["name"]:
            problems.append(Problem("phases-invalid", "the phase has no name", feature=int(i), field="name"))
        for f in ("name", "notes"):
            if (p := control_problem(f, row[f], feature=int(i))) is not None:
                problems.append(p)
        iso = {}
        for col in ("start", "end"):
            t = str(row[col]).strip()
            iso[col] = parse_date(t) if t else ""
            if iso[col] is None:
                problems.append(Problem("date-invalid", f"{col} {t!r} is not a date we can read; write YYYY-MM-DD",
                                        feature=int(i), field=col))
            elif (p := date_range_problem(col, iso[col], feature=int(i))) is not None:
                problems.append(p)
            else:
                df.loc[i, col] = iso[col]
        if iso.get("start") and iso.get("end") and iso["start"] > iso["end"]:
            problems.append(Problem("date-order", f"phase {row['name']!r} starts {iso['start']}, after it ends "
                                    f"{iso['end']}", feature=int(i), field="start"))
    for name in df["name"][df["name"].duplicated()]:
        problems.append(Problem("phases-invalid", f"phase {name!r} is listed twice", field="name"))
    if problems:
        raise IngestError(f"{label} has {len(problems)} problem(s)", rule="phases-invalid", problems=problems)
    df = df.reset_index(drop=True)
    df.attrs["warnings"] = warnings
    return df
