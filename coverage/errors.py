"""The project's errors: one base class with families beneath it.

Every library exception that can reach a user is mapped to the most specific class here, so the
CLI and the app can show a clear message instead of a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass


class CoverageError(Exception):
    """Base class of every error this package raises on purpose."""

    #: stable machine-readable code, used in JSON output
    rule: str = "error"

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

    def as_dict(self) -> dict:
        return {"rule": self.rule, "message": self.message, "feature": self.feature,
                "sector_id": self.sector_id, "field": self.field}

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
