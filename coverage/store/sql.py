"""The SQL store behind both backends: SQLite (embedded, default) and PostGIS (shared).

A commit is one write transaction that inserts the revision, its sectors, registry, extents, phases and sensors, moves
``current`` and appends to the audit log; a writer killed at any point leaves the last committed state
(``tests/test_store.py`` kills writers to show it). Backends differ only in connecting, locking, column
types and how geometry goes in and out (see :mod:`.sqlite` and :mod:`.postgis`).
"""
from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Sequence

import geopandas as gpd
import pandas as pd
import shapely

from ..domains import Extents
from ..errors import ConflictError, RevisionNotFound, StoreError, for_operator
from ..plan import PHASE_FIELDS, Plan, content_hash, sector_attrs, sensor_attrs, sensors_from_rows
from ..schema import layer_of, parse_contingents
from . import RevisionInfo, Store

log = logging.getLogger("ua_coverage.store")

#: the longest texts a revision stores (every surface checks them here, whatever the client sends)
MAX_MESSAGE_CHARS = 500
MAX_NAME_CHARS = 200


def _json_dict(text) -> dict:
    """A stored JSON object (``{}`` for none, or for text that is not one)."""
    try:
        v = json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
    return v if isinstance(v, dict) else {}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_driver_error(exc: BaseException) -> bool:
    """A database driver's own error (sqlite3, psycopg), to be reported as a :class:`StoreError`."""
    mod = type(exc).__module__ or ""
    return mod.startswith(("sqlite3", "psycopg", "_sqlite3")) and isinstance(exc, Exception)


# -- a plan as rows: how a revision is stored, and (through the workflow) how a pending preview is kept -----------
def sector_rows(sectors) -> list[tuple[str, str, bytes]]:
    """``(sector_id, attributes as JSON, 2-D WKB)`` per sector, in order."""
    return [(str(row["sector_id"]), json.dumps(sector_attrs(row), ensure_ascii=False, default=str),
             shapely.to_wkb(geom, output_dimension=2))
            for (_, row), geom in zip(sectors.iterrows(), sectors.geometry)]


def sectors_from_rows(attrs: list[dict], wkbs: Sequence[bytes]) -> gpd.GeoDataFrame:
    """The canonical sector frame from stored attributes and WKB (``contingents`` and ``layer`` derived again)."""
    frame = pd.DataFrame(attrs)
    if len(frame):
        frame["contingents"] = [parse_contingents(c) for c in frame["contingent"]]
        frame["layer"] = [layer_of(d, k) for d, k in zip(frame["domain"], frame["kind"])]
        for col in ("floor_ft", "ceiling_ft"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(shapely.from_wkb([bytes(g) for g in wkbs]), crs=4326))


def registry_rows(contingents) -> list[str]:
    """One JSON object per registry row (empty cells as null)."""
    return [json.dumps({k: (None if pd.isna(v) else v) for k, v in r.items()}, ensure_ascii=False)
            for r in contingents.to_dict("records")]


def phase_rows(phases) -> list[str]:
    """One JSON object per phase (every value as text, empty for none)."""
    return [json.dumps({k: ("" if pd.isna(v) else str(v)) for k, v in r.items()}, ensure_ascii=False)
            for r in phases.to_dict("records")]


def phases_from_rows(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=None if rows else list(PHASE_FIELDS)).fillna("")


def sensor_rows(sensors) -> list[tuple[str, str, bytes]]:
    """``(sensor_id, attributes as JSON, 2-D WKB)`` per sensor, in order."""
    return [(str(row["sensor_id"]), json.dumps(sensor_attrs(row), ensure_ascii=False),
             shapely.to_wkb(geom, output_dimension=2))
            for (_, row), geom in zip(sensors.iterrows(), sensors.geometry)]


def extent_rows(extents: Extents) -> list[tuple[str, str, bytes]]:
    """``(layer, source, 2-D WKB)`` per layer the extents define."""
    return [(layer, extents.source.get(layer, ""), shapely.to_wkb(g, output_dimension=2))
            for layer, g in extents.layers.items()]


def extents_from_rows(rows: Sequence[tuple[str, str, bytes]]) -> Extents:
    return Extents({layer: shapely.from_wkb(bytes(g)) for layer, _, g in rows}, {layer: s for layer, s, _ in rows})


class SQLStore(Store):
    """Generic SQL implementation; subclasses provide the dialect."""

    #: versioned migrations: MIGRATIONS[i] brings the schema from version i to i + 1
    MIGRATIONS: list[list[str]] = []
    #: the sign-in state's tables (attempts, revoked sessions), versioned on their own (``meta.auth_schema_version``):
    #: they belong to the dashboard's workers, not to the plan, and a plan store's schema version stays the plan's
    AUTH_MIGRATIONS: list[list[str]] = []
    GEOM_IN = "?"
    GEOM_OUT = "geom"

    def _init_store(self, seed) -> None:
        self._migrate()
        if callable(seed) and self._current_id() is None:
            try:
                seed(self)
            except ConflictError:
                pass  # another process seeded it at the same moment

    # -- plumbing (dialect hooks) -------------------------------------------------------------
    def _connect(self):
        raise NotImplementedError

    def _begin_write(self, con) -> None:
        """Start a transaction that serialises writers (and take the writers' lock)."""
        raise NotImplementedError

    def _begin_keyed(self, con, keys: Sequence[str]) -> None:
        """Start a write transaction that serialises only with writers of the same ``keys`` (small bookkeeping:
        sign-in attempts, pending previews). By default the writers' lock; a server database locks per key."""
        self._begin_write(con)

    def _kind(self, exc: BaseException) -> str:
        """The rule of a driver's exception (the dialect knows its codes): ``store-unreachable``, ``store-damaged``,
        ``store-read-only``, or plain ``store``."""
        return "store"

    def _fail(self, exc: BaseException, doing: str) -> StoreError:
        """The store error for a driver's exception while ``doing`` ("open", "read", "write"), worded for its reader:
        an operator gets where the store is and what the driver said, the dashboard only what it means (the server
        log keeps the details either way)."""
        rule = self._kind(exc)
        said = " ".join(str(exc).split())[:300].rstrip(".")
        operator = for_operator()
        log.log(logging.DEBUG if operator else logging.ERROR, "plan store %s: %s failed: %s", self.describe(), doing,
                said)
        where = f" ({self.describe()}: {said})" if operator else ""
        unchanged = " Nothing was changed." if doing == "write" else ""
        if rule == "store-unreachable":
            return StoreError(f"the plan database cannot be reached{where}.{unchanged}", rule="store-unreachable")
        if rule == "store-damaged":
            return StoreError(f"the plan store is damaged{where}: its file holds pages the database cannot read."
                              f"{unchanged}", rule="store-damaged")
        if rule == "store-read-only":
            return StoreError(f"the plan store is read-only{where}: its folder or its file cannot be written, and the "
                              f"store must write even to read (its write-ahead log).{unchanged}", rule="store-read-only")
        verb = "opened" if doing == "open" else "read" if doing == "read" else "written"
        if operator:
            return StoreError(f"the plan store could not be {verb} ({self.describe()}): {said}.{unchanged}")
        return StoreError(f"the plan store could not be {verb}.{unchanged} The server log has the details.")

    def _sql(self, sql: str) -> str:
        return sql

    def _schema_version(self, con) -> int:
        raise NotImplementedError

    def _migrate(self) -> None:
        with self._read() as con:
            if (self._schema_version(con) >= len(self.MIGRATIONS)
                    and self._meta_version(con, "auth_schema_version") >= len(self.AUTH_MIGRATIONS)):
                return
        with self._tx() as con:
            # versions re-read under the lock: another process may have migrated
            for key, steps, version in (("schema_version", self.MIGRATIONS, self._schema_version(con)),
                                        ("auth_schema_version", self.AUTH_MIGRATIONS,
                                         self._meta_version(con, "auth_schema_version"))):
                for v in range(version, len(steps)):
                    for stmt in steps[v]:  # a statement, or a callable step (a change SQL cannot make idempotent)
                        stmt(con) if callable(stmt) else con.execute(stmt)
                    con.execute(self._sql("INSERT INTO meta (key, value) VALUES (?, ?) "
                                          "ON CONFLICT(key) DO UPDATE SET value = excluded.value"), (key, str(v + 1)))

    def _meta_version(self, con, key: str) -> int:
        row = con.execute(self._sql("SELECT value FROM meta WHERE key = ?"), (key,)).fetchone()
        return 0 if row is None else int(row[0])

    @staticmethod
    def _rollback(con) -> None:
        try:
            con.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - nothing to roll back
            pass

    @contextmanager
    def _tx(self, write: bool = True, *, keys: Sequence[str] | None = None):
        """A transaction: with the writers' lock (``write``), or only with writers of the same ``keys``."""
        con = self._connect()
        try:
            if keys is not None:
                self._begin_keyed(con, keys)
            elif write:
                self._begin_write(con)
            else:
                con.execute("BEGIN")
            yield con
            con.execute("COMMIT")
        except BaseException as exc:
            self._rollback(con)
            if _is_driver_error(exc):  # disk full, locked, lost connection...: a message, the store intact
                raise self._fail(exc, "write" if write or keys is not None else "read") from exc
            raise
        finally:
            con.close()

    @contextmanager
    def _read(self):
        con = self._connect()
        try:
            yield con
        except BaseException as exc:
            if _is_driver_error(exc):  # a damaged page, a connection lost mid-read: a message, not a traceback
                raise self._fail(exc, "read") from exc
            raise
        finally:
            try:
                con.close()
            except Exception:  # noqa: BLE001 - a connection already lost
                pass

    def _current_id(self, con=None) -> int | None:
        if con is None:
            with self._read() as c:
                return self._current_id(c)
        row = con.execute(self._sql("SELECT revision FROM current WHERE singleton = 1")).fetchone()
        return None if row is None else int(row[0])

    @staticmethod
    def _info(row) -> RevisionInfo:
        return RevisionInfo(id=row[0], parent=row[1], author=row[2], time=row[3], message=row[4], hash=row[5],
                            sectors=row[6], source_name=row[7], source_format=row[8],
                            summary=json.loads(row[9] or "{}"), notional=bool(row[10]),
                            parts=_json_dict(row[11] if len(row) > 11 else None))

    _COLS = "id, parent, author, time, message, hash, sectors, source_name, source_format, summary, notional, parts"

    # -- reading --------------------------------------------------------------------------------
    def current(self) -> RevisionInfo:
        with self._read() as con:
            cur = self._current_id(con)
            if cur is None:  # (a PostGIS store has no path: its description names it)
                where = f" ({self.describe()})" if for_operator() else ""
                raise StoreError(f"the plan store{where} holds no revision yet")
            return self._revision(con, cur)

    def _revision(self, con, rev_id: int) -> RevisionInfo:
        row = con.execute(self._sql(f"SELECT {self._COLS} FROM revisions WHERE id = ?"), (int(rev_id),)).fetchone()
        if row is None:
            raise RevisionNotFound(f"there is no revision {rev_id}.")
        return self._info(row)

    def revision(self, rev_id: int) -> RevisionInfo:
        with self._read() as con:
            return self._revision(con, rev_id)

    def history(self) -> list[RevisionInfo]:
        with self._read() as con:
            return [self._info(r) for r in con.execute(self._sql(f"SELECT {self._COLS} FROM revisions ORDER BY id"))]

    def load(self, rev_id: int) -> Plan:
        with self._read() as con:
            con.execute("BEGIN")  # one snapshot for every table
            self._revision(con, rev_id)
            head = con.execute(self._sql("SELECT notional, parts FROM revisions WHERE id = ?"), (rev_id,)).fetchone()
            notional, parts = bool(head[0]), _json_dict(head[1])
            rows = con.execute(self._sql(f"SELECT attrs, {self.GEOM_OUT} FROM sectors WHERE revision = ? ORDER BY idx"),
                               (rev_id,)).fetchall()
            reg = [json.loads(r[0]) for r in con.execute(
                self._sql("SELECT row FROM contingents WHERE revision = ? ORDER BY idx"), (rev_id,))]
            ext = con.execute(self._sql(f"SELECT layer, source, {self.GEOM_OUT} FROM extents WHERE revision = ?"),
                              (rev_id,)).fetchall()
            phases = [json.loads(r[0]) for r in con.execute(
                self._sql("SELECT row FROM phases WHERE revision = ? ORDER BY idx"), (rev_id,))]
            sen = con.execute(self._sql(f"SELECT attrs, {self.GEOM_OUT} FROM sensors WHERE revision = ? ORDER BY idx"),
                              (rev_id,)).fetchall()
            con.execute("COMMIT")
        try:
            sectors = sectors_from_rows([json.loads(a) for a, _ in rows], [g for _, g in rows])
            extents = extents_from_rows(ext)
            sensors = sensors_from_rows([json.loads(a) for a, _ in sen], shapely.from_wkb([bytes(g) for _, g in sen]))
        except (ValueError, TypeError, KeyError, shapely.errors.GEOSException) as exc:  # rows the store did not write
            log.log(logging.DEBUG if for_operator() else logging.ERROR, "revision %s of %s does not decode: %s", rev_id,
                    self.describe(), exc)
            where = f" ({self.describe()}: {' '.join(str(exc).split())[:200]})" if for_operator() else ""
            raise StoreError(f"revision {rev_id} in the plan store is damaged{where}: its stored rows do not decode.",
                             rule="store-damaged") from exc
        return Plan(sectors, pd.DataFrame(reg), extents, notional=notional, phases=phases_from_rows(phases),
                    sensors=sensors, parts=parts)

    def audit(self) -> list[dict]:
        with self._read() as con:
            return [{"id": r[0], "time": r[1], "actor": r[2], "action": r[3], "revision": r[4],
                     "detail": json.loads(r[5])}
                    for r in con.execute(self._sql("SELECT id, time, actor, action, revision, detail FROM audit ORDER BY id"))]

    # -- writing --------------------------------------------------------------------------------
    def commit(self, plan: Plan, *, base: int, author: str, message: str, source_name: str = "",
               source_format: str = "", summary: dict | None = None, _in_transaction=None) -> RevisionInfo:
        if not message.strip():
            raise StoreError("a commit needs a message saying what changed", rule="message-missing")
        if not author.strip():
            raise StoreError("a commit needs an author", rule="author-missing")
        if len(message) > MAX_MESSAGE_CHARS:
            raise StoreError(f"the message has {len(message):,} characters; the limit is {MAX_MESSAGE_CHARS}",
                             rule="message-too-long")
        author, source_name, source_format = author[:MAX_NAME_CHARS], source_name[:MAX_NAME_CHARS], source_format[:40]
        digest = content_hash(plan)
        summary = summary or {}
        sector_rows_ = [(i, *r) for i, r in enumerate(sector_rows(plan.sectors))]
        reg_rows = list(enumerate(registry_rows(plan.contingents)))
        ext_rows = extent_rows(plan.extents)
        phase_rows_ = list(enumerate(phase_rows(plan.phases)))
        sensor_rows_ = [(i, *r) for i, r in enumerate(sensor_rows(plan.sensors))]
        with self._tx() as con:
            cur = self._current_id(con)
            same = con.execute(self._sql(f"SELECT {self._COLS} FROM revisions WHERE hash = ? AND "
                                         "(parent = ? OR (parent IS NULL AND ? = 0))"), (digest, base, base)).fetchone()
            if same is not None:  # a retry of a commit that already went through
                return self._info(same)
            if cur is not None and cur != base:
                raise ConflictError(f"the plan moved on: your change was based on revision {base}, but revision "
                                    f"{cur} is now current.", base=base, current=cur)
            if cur is None and base != 0:
                raise ConflictError(f"the store is empty; commit with base 0, not {base}", base=base, current=None)
            if cur is not None:
                cur_hash = con.execute(self._sql("SELECT hash FROM revisions WHERE id = ?"), (cur,)).fetchone()[0]
                if cur_hash == digest:  # nothing changed: no empty revision
                    return self._revision(con, cur)
            now = _now()
            # ids count 1, 2, 3 … with no gaps: taken under the writers' lock, not from a sequence
            # (a PostgreSQL sequence would skip the ids of rolled-back commits)
            rid = int(con.execute(self._sql("SELECT COALESCE(MAX(id), 0) + 1 FROM revisions")).fetchone()[0])
            con.execute(self._sql(
                "INSERT INTO revisions (id, parent, author, time, message, hash, sectors, source_name, "
                "source_format, notional, summary, parts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                (rid, cur, author, now, message, digest, len(sector_rows_), source_name, source_format,
                 int(plan.notional), json.dumps(summary, default=float),
                 json.dumps(plan.parts or {}, ensure_ascii=False, default=str)))
            self._executemany(con, f"INSERT INTO sectors (revision, idx, sector_id, attrs, geom) "
                                   f"VALUES (?, ?, ?, ?, {self.GEOM_IN})", [(rid, *r) for r in sector_rows_])
            self._executemany(con, "INSERT INTO contingents (revision, idx, row) VALUES (?, ?, ?)",
                              [(rid, *r) for r in reg_rows])
            self._executemany(con, f"INSERT INTO extents (revision, layer, source, geom) VALUES (?, ?, ?, {self.GEOM_IN})",
                              [(rid, *r) for r in ext_rows])
            self._executemany(con, "INSERT INTO phases (revision, idx, row) VALUES (?, ?, ?)",
                              [(rid, *r) for r in phase_rows_])
            self._executemany(con, f"INSERT INTO sensors (revision, idx, sensor_id, attrs, geom) "
                                   f"VALUES (?, ?, ?, ?, {self.GEOM_IN})", [(rid, *r) for r in sensor_rows_])
            if _in_transaction is not None:
                _in_transaction()  # tests: a hook to kill the writer mid-commit
            con.execute(self._sql("INSERT INTO current (singleton, revision) VALUES (1, ?) "
                                  "ON CONFLICT(singleton) DO UPDATE SET revision = excluded.revision"), (rid,))
            con.execute(self._sql("INSERT INTO audit (time, actor, action, revision, detail) VALUES (?, ?, ?, ?, ?)"),
                        (now, author, "rollback" if source_name.startswith("rollback to") else "commit", rid,
                         json.dumps({"parent": cur, "message": message, "source": source_name,
                                     "format": source_format, "hash": digest})))
            return self._revision(con, rid)

    def _executemany(self, con, sql: str, rows: list) -> None:
        if rows:
            con.cursor().executemany(self._sql(sql), rows)

    # -- field mappings -------------------------------------------------------------------------------
    def save_mapping(self, name: str, doc: dict, *, author: str = "") -> None:
        name = str(name).strip()
        if not name or len(name) > MAX_NAME_CHARS:
            raise StoreError(f"a mapping needs a name of 1 to {MAX_NAME_CHARS} characters", rule="mapping-invalid")
        with self._tx(keys=(f"mapping:{name}",)) as con:
            con.execute(self._sql("INSERT INTO mappings (name, doc, author, time) VALUES (?, ?, ?, ?) "
                                  "ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, author = excluded.author, "
                                  "time = excluded.time"),
                        (name, json.dumps(doc, ensure_ascii=False), author[:MAX_NAME_CHARS], _now()))

    def mapping(self, name: str) -> dict | None:
        with self._read() as con:
            row = con.execute(self._sql("SELECT doc FROM mappings WHERE name = ?"), (str(name).strip(),)).fetchone()
        return None if row is None else _json_dict(row[0])

    def mappings(self) -> list[str]:
        with self._read() as con:
            return [str(r[0]) for r in con.execute(self._sql("SELECT name FROM mappings ORDER BY name"))]

    # -- pending proposals ----------------------------------------------------------------------------
    # (their own rows, one token each: no need to wait for a commit's writers' lock)
    def put_pending(self, token: str, data: bytes, *, owner: str = "") -> None:
        now = time.time()
        with self._tx(keys=()) as con:
            con.execute(self._sql("DELETE FROM pending WHERE created < ?"), (now - self.PENDING_TTL_S,))
            con.execute(self._sql("INSERT INTO pending (token, created, owner, data) VALUES (?, ?, ?, ?)"),
                        (token, now, owner, data))

    def pending_entry(self, token: str) -> tuple[str, bytes] | None:
        with self._read() as con:
            row = con.execute(self._sql("SELECT owner, data FROM pending WHERE token = ? AND created >= ?"),
                              (token, time.time() - self.PENDING_TTL_S)).fetchone()
        return None if row is None else (str(row[0]), bytes(row[1]))

    def drop_pending(self, token: str, *, owner: str | None = None) -> bool:
        with self._tx(keys=()) as con:
            if owner is None:
                cur = con.execute(self._sql("DELETE FROM pending WHERE token = ?"), (token,))
            else:
                cur = con.execute(self._sql("DELETE FROM pending WHERE token = ? AND owner = ?"), (token, owner))
            return (cur.rowcount or 0) > 0

    # -- sign-in attempts and revoked sessions -----------------------------------------------------------
    def count_attempt(self, limits: dict[str, int], window_s: float) -> tuple[int, list[int]]:
        # checked and recorded under one lock per key: parallel tries of one key queue here, so no more than
        # ``limit`` of them can ever pass, however many workers they reach
        with self._tx(keys=sorted(limits)) as con:
            now = time.time()  # once the lock is ours: the time this attempt counts from
            con.execute(self._sql("DELETE FROM auth_attempts WHERE at < ?"), (now - window_s,))
            wait = 0
            for key, limit in limits.items():
                n = int(con.execute(self._sql("SELECT COUNT(*) FROM auth_attempts WHERE key = ?"), (key,)).fetchone()[0])
                if n >= limit:  # free again when the attempt that makes the count ``limit`` leaves the window
                    first = con.execute(self._sql("SELECT at FROM auth_attempts WHERE key = ? ORDER BY at, id "
                                                  "LIMIT 1 OFFSET ?"), (key, n - limit)).fetchone()[0]
                    wait = max(wait, int(window_s - (now - float(first))) + 1)
            if wait:
                return wait, []
            return 0, [int(con.execute(self._sql("INSERT INTO auth_attempts (key, at) VALUES (?, ?) RETURNING id"),
                                       (key, now)).fetchone()[0]) for key in limits]

    def forget_attempts(self, *, key: str | None = None, ids: Sequence[int] = ()) -> None:
        with self._tx(keys=[key] if key else ()) as con:
            if key:
                con.execute(self._sql("DELETE FROM auth_attempts WHERE key = ?"), (key,))
            self._executemany(con, "DELETE FROM auth_attempts WHERE id = ?", [(int(i),) for i in ids])

    def revoke_session(self, sid: str, *, keep_s: float) -> None:
        now = time.time()
        with self._tx(keys=()) as con:
            con.execute(self._sql("DELETE FROM revoked_sessions WHERE until < ?"), (now,))
            con.execute(self._sql("INSERT INTO revoked_sessions (sid, until) VALUES (?, ?) "
                                  "ON CONFLICT(sid) DO NOTHING"), (sid, now + keep_s))

    def is_revoked(self, sid: str) -> bool:
        with self._read() as con:
            return con.execute(self._sql("SELECT 1 FROM revoked_sessions WHERE sid = ?"), (sid,)).fetchone() is not None
