"""The project's errors: one base class with families beneath it.

Every library exception that can reach a user is mapped to the most specific class here, at one
place per boundary (GDAL/pyogrio in the ingest worker, GEOS in the engine, psycopg/sqlite3 in the
store, kaleido/Chromium in the export renderer), so the CLI and the app show a clear message instead
of a traceback. Every ``rule`` is registered in :mod:`ua_coverage.rules`.

Who reads a message matters: :data:`AUDIENCE` is ``"cli"`` (the operator at a terminal, for whom where the
store is and what the driver said help) unless the dashboard set ``"web"`` for the request it serves (anyone
signed in: host names, ports and paths stay in the server log). A :class:`StoreError` names what kind of trouble
it is by its rule: ``store-unreachable`` (the database server), ``store-damaged`` (corrupt pages),
``store-read-only`` (a folder or file that cannot be written), else ``store``.

::

    CoverageError                      exit 1 unless said otherwise
    ├── DataError                      the installation's bundled data is missing or damaged
    ├── IngestError                    a file could not be read or did not pass validation
    │   ├── FormatError                not a format we read, or damaged bytes
    │   ├── LimitError                 over a size, feature, vertex or archive limit
    │   └── ValidationError            read, but features break the rules
    ├── AnalysisError                  the engine could not analyse the plan
    ├── ExportError                    an export could not be produced
    ├── StoreError                     the plan store could not be opened, read or written
    │   ├── ConflictError              the plan moved on since the change's base revision
    │   └── RevisionNotFound           no such revision
    └── UsageError                     a command was used wrongly (exit 2)
"""
from __future__ import annotations

import os
from contextvars import ContextVar
from dataclasses import dataclass


class CoverageError(Exception):
    """Base class of every error this package raises on purpose."""

    #: stable machine-readable code, used in JSON output (registered in :mod:`ua_coverage.rules`)
    rule: str = "error"
    #: the command line's exit status for this error
    exit_code: int = 1

    def __init__(self, message: str, *, rule: str | None = None):
        super().__init__(message)
        self.message = message
        if rule is not None:
            self.rule = rule


class DataError(CoverageError):
    """Committed geodata or a bundled file is missing or damaged (an installation problem)."""

    rule = "data-missing"


@dataclass
class Problem:
    """One reason a file was refused: which rule, where, and how to fix it."""

    rule: str
    message: str
    feature: int | None = None
    sector_id: str | None = None
    field: str | None = None

    def __post_init__(self):
        if os.environ.get("UA_COVERAGE_TESTING"):  # the suite fails on any code missing from the registry
            from .rules import RULES

            if self.rule not in RULES:
                raise AssertionError(f"rule {self.rule!r} is not registered in ua_coverage.rules")

    def advice(self, surface: str = "cli") -> str:
        """What to do about it, worded for the surface showing it (``cli`` or ``web``)."""
        from .rules import advice

        return advice(self.rule, surface)

    def as_dict(self, surface: str = "cli") -> dict:
        return {"rule": self.rule, "message": self.message, "feature": self.feature,
                "sector_id": self.sector_id, "field": self.field, "advice": self.advice(surface)}

    def text(self, surface: str = "cli") -> str:
        """The one-line report with the advice for ``surface``."""
        tip = self.advice(surface)
        text = str(self)
        if not tip or tip in self.message:
            return text
        return text + ("" if text.rstrip().endswith((".", "!", "?", ":")) else ".") + f" {tip}"

    def __str__(self) -> str:
        where = []
        if self.feature is not None:
            where.append(f"feature {self.feature}")
        if self.sector_id:
            where.append(f"sector {self.sector_id!r}")
        if self.field:
            where.append(f"field {self.field!r}")
        return (f"[{self.rule}] " + (", ".join(where) + ": " if where else "") + self.message)


class IngestError(CoverageError):
    """A sector, contingents or extents file could not be read or did not pass validation."""

    rule = "ingest"

    def __init__(self, message: str, *, rule: str | None = None,
                 problems: list[Problem] | None = None):
        super().__init__(message, rule=rule)
        self.problems: list[Problem] = problems or [Problem(self.rule, message)]


class FormatError(IngestError):
    """The file's format is not one we read, or the bytes are damaged."""

    rule = "format-unknown"


class LimitError(IngestError):
    """The file exceeds a size, feature, vertex or archive limit."""

    rule = "limit"


class ValidationError(IngestError):
    """The file was read but one or more features break the rules."""

    rule = "invalid"


class AnalysisError(CoverageError):
    """The coverage engine could not analyse the plan (for example, an empty extent)."""

    rule = "analysis"


class ExportError(CoverageError):
    """An export could not be produced (time limit, renderer failure, bad options)."""

    rule = "export"


class StoreError(CoverageError):
    """The plan store could not be opened, read or written."""

    rule = "store"


class ConflictError(StoreError):
    """A commit was based on a revision that is no longer current (someone else committed first)."""

    rule = "conflict"

    def __init__(self, message: str, *, base: int | None = None, current: int | None = None):
        super().__init__(message)
        self.base = base
        self.current = current


class RevisionNotFound(StoreError):
    """No revision has the id asked for."""

    rule = "revision-not-found"


class UsageError(CoverageError):
    """A command or option was used wrongly (the CLI exits 2)."""

    rule = "usage"
    exit_code = 2


#: who reads the messages raised in this context: "cli" (default) or "web" (set per request by the dashboard)
AUDIENCE: ContextVar[str] = ContextVar("ua_coverage_audience", default="cli")


def for_operator() -> bool:
    """True when technical details (hosts, ports, paths, driver messages) may go into a message."""
    return AUDIENCE.get() != "web"
