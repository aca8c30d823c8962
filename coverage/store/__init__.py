"""Plan revisions: one narrow interface, an embedded SQLite implementation (the default).

A revision is an immutable, complete plan with its metadata; "current" is a pointer moved in the
same transaction that adds a revision. Nothing is overwritten in place; rollback adds a revision.

Where the store lives: ``--data-dir DIR``, else ``$UA_COVERAGE_DATA_DIR``, else the per-user default
``$XDG_DATA_HOME/ua-coverage`` (``~/.local/share/ua-coverage``). It is created on first use; the
workflow (:func:`ua_coverage.workflow.open_store`) seeds an empty store with the NOTIONAL sample plan.

The store stores what it is given: it never reads files and never runs the engine. A revision's
coverage summary is computed by the caller and handed to :meth:`Store.commit`.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..errors import StoreError
from ..plan import Plan


@dataclass(frozen=True)
class RevisionInfo:
    """A revision's metadata (people see the id as "revision N")."""

    id: int
    parent: int | None
    author: str
    time: str  # UTC, ISO 8601
    message: str
    hash: str
    sectors: int
    source_name: str = ""
    source_format: str = ""
    summary: dict = field(default_factory=dict, compare=False)
    notional: bool = False
    #: the parts' sources and notional flags as committed (see :attr:`ua_coverage.plan.Plan.parts`); {} before them
    parts: dict = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict:
        return {"id": self.id, "parent": self.parent, "author": self.author, "time": self.time,
                "message": self.message, "sectors": self.sectors, "hash": self.hash,
                "source_name": self.source_name, "source_format": self.source_format, "notional": self.notional,
                "notional_parts": self.notional_parts()}

    def notional_parts(self) -> list[str]:
        """The NOTIONAL parts of a revision that is not notional itself (as recorded when it was committed)."""
        if self.notional or not self.parts:
            return []
        p = self.parts
        out = [n for n in ("registry", "phases", "sensors")
               if isinstance(p.get(n), dict) and p[n].get("present", True) and p[n].get("notional")]
        ext = p.get("extents") if isinstance(p.get("extents"), dict) else {}
        return out + [f"{layer} extent" for layer, v in ext.items() if isinstance(v, dict) and v.get("notional")]


class Store(ABC):
    """What every backend provides (SQLite now, PostGIS later); callers use only this."""

    @abstractmethod
    def current(self) -> RevisionInfo: ...

    @abstractmethod
    def revision(self, rev_id: int) -> RevisionInfo: ...

    @abstractmethod
    def history(self) -> list[RevisionInfo]: ...

    @abstractmethod
    def load(self, rev_id: int) -> Plan: ...

    @abstractmethod
    def commit(self, plan: Plan, *, base: int, author: str, message: str, source_name: str = "",
               source_format: str = "", summary: dict | None = None) -> RevisionInfo:
        """Add a revision based on ``base`` and make it current, atomically.

        ``summary`` is the revision's coverage summary as the caller computed it (stored as given).
        Raises :class:`~ua_coverage.errors.ConflictError` if ``base`` is no longer current. Retrying the
        same content on the same base returns the revision the first attempt made; content equal to the
        current revision's makes no new revision (the current one is returned).
        """

    @abstractmethod
    def audit(self) -> list[dict]: ...

    def is_empty(self) -> bool:
        """True when no revision has been committed yet."""
        try:
            self.current()
        except StoreError:
            return True
        return False

    def rollback(self, rev_id: int, *, author: str, message: str, base: int | None = None) -> RevisionInfo:
        """A new revision whose content (and so whose coverage summary) equals revision ``rev_id``."""
        plan = self.load(rev_id)
        old = self.revision(rev_id)
        base = self.current().id if base is None else base
        return self.commit(plan, base=base, author=author, message=message, summary=old.summary,
                           source_name=f"rollback to revision {rev_id}", source_format=old.source_format)

    # -- pending proposals: previews waiting for commit or discard, shared by every app worker ------------
    PENDING_TTL_S = 3600

    @abstractmethod
    def put_pending(self, token: str, data: bytes, *, owner: str = "") -> None:
        """Keep an opaque pending proposal under ``token`` for ``owner`` (expired ones are dropped on the way)."""

    @abstractmethod
    def pending_entry(self, token: str) -> tuple[str, bytes] | None:
        """``(owner, data)`` of the pending proposal under ``token``, or ``None`` if it is unknown or expired."""

    def get_pending(self, token: str) -> bytes | None:
        """The pending proposal under ``token``, or ``None`` if it is unknown or expired."""
        entry = self.pending_entry(token)
        return None if entry is None else entry[1]

    @abstractmethod
    def drop_pending(self, token: str, *, owner: str | None = None) -> bool:
        """Forget a pending proposal (committed or discarded); with ``owner``, only if it is theirs. True if one
        was dropped."""

    # -- field mappings saved by name (``--mapping NAME``): opaque JSON documents the ingest layer reads ----------
    def save_mapping(self, name: str, doc: dict, *, author: str = "") -> None:
        """Keep a field mapping under ``name`` (replacing one of that name)."""
        raise StoreError("this store keeps no field mappings")

    def mapping(self, name: str) -> dict | None:
        """The field mapping saved under ``name``, or None."""
        return None

    def mappings(self) -> list[str]:
        """The names of the saved field mappings, sorted."""
        return []

    # -- sign-in state, shared by every app worker (they may share no disk, only this store) -------------------
    @abstractmethod
    def count_attempt(self, limits: dict[str, int], window_s: float) -> tuple[int, list[int]]:
        """One sign-in attempt for every key of ``limits`` (a user name, an address), checked and recorded in one
        atomic step: when a key already has its limit of attempts within the last ``window_s`` seconds, nothing is
        recorded and the seconds to wait are returned; otherwise ``(0, ids)`` with the ids of the recorded attempts."""

    @abstractmethod
    def forget_attempts(self, *, key: str | None = None, ids: Sequence[int] = ()) -> None:
        """Drop every attempt of ``key`` (a successful sign-in) and the attempts ``ids``."""

    @abstractmethod
    def revoke_session(self, sid: str, *, keep_s: float) -> None:
        """Revoke a session id for ``keep_s`` seconds (longer than any cookie it could be in lives)."""

    @abstractmethod
    def is_revoked(self, sid: str) -> bool:
        """True when the session id was revoked."""


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "ua-coverage"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir``, else ``$UA_COVERAGE_DATA_DIR``, else :func:`default_data_dir`."""
    if data_dir:
        return Path(data_dir)
    env = os.environ.get("UA_COVERAGE_DATA_DIR")
    return Path(env) if env else default_data_dir()


def open_store(data_dir: str | os.PathLike | None = None, *, url: str | None = None, seed=None) -> Store:
    """Open (creating and migrating if needed) the plan store.

    ``seed``, if given, is called with the store when it holds no revision yet (the workflow seeds the
    NOTIONAL sample plan this way: :func:`ua_coverage.workflow.open_store`).

    ``url`` (else ``$UA_COVERAGE_DATABASE_URL``) selects PostGIS (``postgresql://...``); otherwise the
    embedded SQLite store in the resolved data directory. The data directory is used either way for
    local files (the dashboard's session key); the dashboard's sign-in state (attempts, revoked sessions)
    lives in the store, so workers that share the store share it.
    """
    url = url or os.environ.get("UA_COVERAGE_DATABASE_URL")
    directory = resolve_data_dir(data_dir)
    if url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise StoreError(f"unsupported database URL {url.split(':', 1)[0]}://...; use postgresql://")
        from .postgis import PostGISStore

        directory.mkdir(parents=True, exist_ok=True)
        return PostGISStore(url, data_dir=directory, seed=seed)
    from .sqlite import SQLiteStore

    return SQLiteStore(directory, seed=seed)
