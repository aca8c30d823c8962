"""The embedded SQLite store: ``DATA_DIR/plan.sqlite``, WAL mode, synchronous=FULL (the default backend)."""
from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from ..errors import StoreError, for_operator
from .sql import SQLStore

_V1 = [
    "CREATE TABLE IF NOT EXISTS revisions (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES revisions(id), "
    "author TEXT NOT NULL, time TEXT NOT NULL, message TEXT NOT NULL, hash TEXT NOT NULL, sectors INTEGER NOT NULL, "
    "source_name TEXT NOT NULL DEFAULT '', source_format TEXT NOT NULL DEFAULT '', "
    "notional INTEGER NOT NULL DEFAULT 0, summary TEXT NOT NULL DEFAULT '{}')",
    "CREATE INDEX IF NOT EXISTS revisions_parent_hash ON revisions(parent, hash)",
    "CREATE TABLE IF NOT EXISTS sectors (revision INTEGER NOT NULL REFERENCES revisions(id), idx INTEGER NOT NULL, "
    "sector_id TEXT NOT NULL, attrs TEXT NOT NULL, geom BLOB NOT NULL, PRIMARY KEY (revision, idx))",
    "CREATE TABLE IF NOT EXISTS contingents (revision INTEGER NOT NULL REFERENCES revisions(id), "
    "idx INTEGER NOT NULL, row TEXT NOT NULL, PRIMARY KEY (revision, idx))",
    "CREATE TABLE IF NOT EXISTS extents (revision INTEGER NOT NULL REFERENCES revisions(id), layer TEXT NOT NULL, "
    "source TEXT NOT NULL, geom BLOB NOT NULL, PRIMARY KEY (revision, layer))",
    "CREATE TABLE IF NOT EXISTS current (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), "
    "revision INTEGER NOT NULL REFERENCES revisions(id))",
    "CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY, time TEXT NOT NULL, actor TEXT NOT NULL, "
    "action TEXT NOT NULL, revision INTEGER, detail TEXT NOT NULL DEFAULT '{}')",
]

# version 2: pending proposals (upload previews waiting for commit), shared by every app worker
_V2 = ["CREATE TABLE IF NOT EXISTS pending (token TEXT PRIMARY KEY, created REAL NOT NULL, owner TEXT NOT NULL, "
       "data BLOB NOT NULL)"]

# version 3: the phases table of a revision (name, start, end, notes as a JSON row)
_V3 = ["CREATE TABLE IF NOT EXISTS phases (revision INTEGER NOT NULL REFERENCES revisions(id), idx INTEGER NOT NULL, "
       "row TEXT NOT NULL, PRIMARY KEY (revision, idx))"]


# version 4: the sensor set of a revision (one row per sensor: its attributes as JSON, its point)
_V4 = ["CREATE TABLE IF NOT EXISTS sensors (revision INTEGER NOT NULL REFERENCES revisions(id), idx INTEGER NOT NULL, "
       "sensor_id TEXT NOT NULL, attrs TEXT NOT NULL, geom BLOB NOT NULL, PRIMARY KEY (revision, idx))"]


# version 5: each revision's parts (registry, phases, sensors, extents) with their source and notional flag, and the
# field mappings saved by name (``--mapping NAME``)
def _add_parts_column(con) -> None:
    """``ALTER TABLE revisions ADD COLUMN parts`` unless it is there (SQLite has no ADD COLUMN IF NOT EXISTS)."""
    if "parts" not in {r[1] for r in con.execute("PRAGMA table_info(revisions)")}:
        con.execute("ALTER TABLE revisions ADD COLUMN parts TEXT NOT NULL DEFAULT '{}'")


_V5 = [_add_parts_column,
       "CREATE TABLE IF NOT EXISTS mappings (name TEXT PRIMARY KEY, doc TEXT NOT NULL, author TEXT NOT NULL, "
       "time TEXT NOT NULL)"]


# the sign-in state of the dashboard's workers: attempts (per user name and per address) and revoked session ids
_AUTH_V1 = ["CREATE TABLE IF NOT EXISTS auth_attempts (id INTEGER PRIMARY KEY, key TEXT NOT NULL, at REAL NOT NULL)",
            "CREATE INDEX IF NOT EXISTS auth_attempts_key ON auth_attempts(key, at)",
            "CREATE INDEX IF NOT EXISTS auth_attempts_at ON auth_attempts(at)",
            "CREATE TABLE IF NOT EXISTS revoked_sessions (sid TEXT PRIMARY KEY, until REAL NOT NULL)"]

#: SQLite's codes (``sqlite3.Error.sqlite_errorname``) for a file it cannot read as a database
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


class SQLiteStore(SQLStore):
    """Plan revisions in ``DATA_DIR/plan.sqlite``."""

    MIGRATIONS = [_V1, _V2, _V3, _V4, _V5]
    AUTH_MIGRATIONS = [_AUTH_V1]

    def __init__(self, data_dir: Path, *, seed=None):
        self.data_dir = Path(data_dir)
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            rule = "store-read-only" if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else "store"
            raise StoreError(f"cannot create the data directory {self.data_dir}: {exc.strerror or exc}",
                             rule=rule) from exc
        self.path = self.data_dir / "plan.sqlite"
        fresh = not self.path.exists()
        self._check_file()
        self._init_store(seed)
        if fresh:  # the data folder is 0700 from its creation; the store itself is private too
            for f in (self.path, self.path.with_name("plan.sqlite-wal"), self.path.with_name("plan.sqlite-shm")):
                try:
                    os.chmod(f, 0o600)
                except OSError:
                    pass

    def _check_file(self) -> None:
        """An existing file must be a plan store: an empty or foreign file is never silently made into one."""
        if not self.path.exists():
            return
        if self.path.stat().st_size == 0 and not self.path.with_name("plan.sqlite-wal").exists():
            raise StoreError(f"{self.path} exists but is empty (0 bytes): it is not a plan store, and a new one is not "
                             "made in its place so that no history is lost without a word. Restore it from a backup, "
                             "or move it away to start a new store seeded with the sample.", rule="store")
        try:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            try:
                names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            if self._kind(exc) != "store" and _code(exc) != "SQLITE_NOTADB":
                raise self._fail(exc, "open") from exc  # a read-only folder or damaged pages are not "something else"
            raise StoreError(f"{self.path} is not a plan store (not an SQLite database: {exc}); restore it from a "
                             "backup, or move it away to start a new store.") from exc
        if names and not names & {"revisions", "meta"}:
            raise StoreError(f"{self.path} is an SQLite database of something else (tables: "
                             f"{', '.join(sorted(names)[:6])}), not a plan store; point --data-dir elsewhere.")

    def describe(self) -> str:
        return f"SQLite {self.path}"

    def _connect(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            con.execute("PRAGMA foreign_keys=ON")
            con.execute("PRAGMA busy_timeout=30000")
        except sqlite3.DatabaseError as exc:
            if self._kind(exc) != "store":
                raise self._fail(exc, "open") from exc
            where = f" {self.path}" if for_operator() else ""
            raise StoreError(f"cannot open the plan store{where}: {exc}") from exc
        return con

    def _kind(self, exc: BaseException) -> str:
        code = _code(exc)
        if code.startswith(_DAMAGED):
            return "store-damaged"
        if code.startswith("SQLITE_READONLY") or (code.startswith("SQLITE_CANTOPEN") and not self._writable()):
            return "store-read-only"
        return "store"

    def _writable(self) -> bool:
        """Whether this process may write the store's folder and file (SQLite needs both: the WAL and shm files)."""
        return os.access(self.data_dir, os.W_OK) and (not self.path.exists() or os.access(self.path, os.W_OK))

    def _begin_write(self, con) -> None:
        con.execute("BEGIN IMMEDIATE")  # takes the database's write lock now, not at the first write

    def _schema_version(self, con) -> int:
        con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:  # a store made before migrations were versioned has every table of version 1
            has = con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'current'").fetchone()[0]
            return 1 if has else 0
        return int(row[0])


def _code(exc: BaseException) -> str:
    """SQLite's own name for an error (``SQLITE_CORRUPT``, ``SQLITE_READONLY_DIRECTORY``, …), or ""."""
    return getattr(exc, "sqlite_errorname", None) or ""
