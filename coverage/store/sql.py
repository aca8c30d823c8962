"""The SQL store behind both backends: SQLite (embedded, default) and PostGIS (shared).

A commit is one write transaction that inserts the revision, its sectors, registry, extents, phases and sensors, moves
``current`` and appends to the audit log; a writer killed at any point leaves the last committed state
(``tests/test_store.py`` kills writers to show it). Backends differ only in connecting, locking, column
types and how geometry goes in and out (see :mod:`.sqlite` and :mod:`.postgis`).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timezone

import geopandas as gpd
import pandas as pd
import shapely

from ..domains import Extents
from ..errors import ConflictError, RevisionNotFound, StoreError
from ..plan import PHASE_FIELDS, Plan, content_hash, sector_attrs, sensor_attrs, sensors_from_rows
from ..schema import layer_of, parse_contingents
from . import RevisionInfo, Store

#: the longest texts a revision stores (every surface checks them here, whatever the client sends)
MAX_MESSAGE_CHARS = 500
MAX_NAME_CHARS = 200


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_driver_error(exc: BaseException) -> bool:
    """A database driver's own error (sqlite3, psycopg), to be reported as a :class:`StoreError`."""
    mod = type(exc).__module__ or ""
    return mod.startswith(("sqlite3", "psycopg", "_sqlite3")) and isinstance(exc, Exception)


class SQLStore(Store):
    """Generic SQL implementation; subclasses provide the dialect."""

    #: versioned migrations: MIGRATIONS[i] brings the schema from version i to i + 1
    MIGRATIONS: list[list[str]] = []
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

    def _sql(self, sql: str) -> str:
        return sql

    def _schema_version(self, con) -> int:
        raise NotImplementedError

    def _migrate(self) -> None:
        with self._read() as con:
            if self._schema_version(con) >= len(self.MIGRATIONS):
                return
        with self._tx() as con:
            version = self._schema_version(con)  # re-read under the lock: another process may have migrated
            for v in range(version, len(self.MIGRATIONS)):
                for stmt in self.MIGRATIONS[v]:
                    con.execute(stmt)
                con.execute(self._sql("INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value"), (str(v + 1),))

    @staticmethod
    def _rollback(con) -> None:
        try:
            con.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - nothing to roll back
            pass

    @contextmanager
    def _tx(self, write: bool = True):
        con = self._connect()
        try:
            if write:
                self._begin_write(con)
            else:
                con.execute("BEGIN")
            yield con
            con.execute("COMMIT")
        except BaseException as exc:
            self._rollback(con)
            if _is_driver_error(exc):  # disk full, locked, lost connection...: a message, the store intact
                raise StoreError(f"the plan store could not be written ({self.describe()}): "
                                 f"{str(exc).strip()[:300]}. Nothing was changed.") from exc
            raise
        finally:
            con.close()

    @contextmanager
    def _read(self):
        con = self._connect()
        try:
            yield con
        finally:
            con.close()

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
                            summary=json.loads(row[9] or "{}"), notional=bool(row[10]))

    _COLS = "id, parent, author, time, message, hash, sectors, source_name, source_format, summary, notional"

    # -- reading --------------------------------------------------------------------------------
    def current(self) -> RevisionInfo:
        with self._read() as con:
            cur = self._current_id(con)
            if cur is None:
                raise StoreError(f"the plan store {self.path} is empty")
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
            notional = bool(con.execute(self._sql("SELECT notional FROM revisions WHERE id = ?"),
                                        (rev_id,)).fetchone()[0])
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
        attrs = pd.DataFrame([json.loads(a) for a, _ in rows])
        if len(attrs):
            attrs["contingents"] = [parse_contingents(c) for c in attrs["contingent"]]
            attrs["layer"] = [layer_of(d, k) for d, k in zip(attrs["domain"], attrs["kind"])]
            for col in ("floor_ft", "ceiling_ft"):
                attrs[col] = pd.to_numeric(attrs[col], errors="coerce").astype(float)
        sectors = gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(shapely.from_wkb([bytes(g) for _, g in rows]), crs=4326))
        contingents = pd.DataFrame(reg)
        extents = Extents({layer: shapely.from_wkb(bytes(g)) for layer, _, g in ext}, {layer: s for layer, s, _ in ext})
        phase_frame = pd.DataFrame(phases, columns=None if phases else list(PHASE_FIELDS)).fillna("")
        sensors = sensors_from_rows([json.loads(a) for a, _ in sen], shapely.from_wkb([bytes(g) for _, g in sen]))
        return Plan(sectors, contingents, extents, notional=notional, phases=phase_frame, sensors=sensors)

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
        sector_rows = [(i, str(row["sector_id"]), json.dumps(sector_attrs(row), ensure_ascii=False, default=str),
                        shapely.to_wkb(geom, output_dimension=2))
                       for i, ((_, row), geom) in enumerate(zip(plan.sectors.iterrows(), plan.sectors.geometry))]
        reg_rows = [(i, json.dumps({k: (None if pd.isna(v) else v) for k, v in r.items()}, ensure_ascii=False))
                    for i, r in enumerate(plan.contingents.to_dict("records"))]
        ext_rows = [(layer, plan.extents.source.get(layer, ""), shapely.to_wkb(g, output_dimension=2))
                    for layer, g in plan.extents.layers.items()]
        phase_rows = [(i, json.dumps({k: ("" if pd.isna(v) else str(v)) for k, v in r.items()}, ensure_ascii=False))
                      for i, r in enumerate(plan.phases.to_dict("records"))]
        sensor_rows = [(i, str(row["sensor_id"]), json.dumps(sensor_attrs(row), ensure_ascii=False),
                        shapely.to_wkb(geom, output_dimension=2))
                       for i, ((_, row), geom) in enumerate(zip(plan.sensors.iterrows(), plan.sensors.geometry))]
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
                "source_format, notional, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                (rid, cur, author, now, message, digest, len(sector_rows), source_name, source_format,
                 int(plan.notional), json.dumps(summary, default=float)))
            self._executemany(con, f"INSERT INTO sectors (revision, idx, sector_id, attrs, geom) "
                                   f"VALUES (?, ?, ?, ?, {self.GEOM_IN})", [(rid, *r) for r in sector_rows])
            self._executemany(con, "INSERT INTO contingents (revision, idx, row) VALUES (?, ?, ?)",
                              [(rid, *r) for r in reg_rows])
            self._executemany(con, f"INSERT INTO extents (revision, layer, source, geom) VALUES (?, ?, ?, {self.GEOM_IN})",
                              [(rid, *r) for r in ext_rows])
            self._executemany(con, "INSERT INTO phases (revision, idx, row) VALUES (?, ?, ?)",
                              [(rid, *r) for r in phase_rows])
            self._executemany(con, f"INSERT INTO sensors (revision, idx, sensor_id, attrs, geom) "
                                   f"VALUES (?, ?, ?, ?, {self.GEOM_IN})", [(rid, *r) for r in sensor_rows])
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

    # -- pending proposals ----------------------------------------------------------------------------
    def put_pending(self, token: str, data: bytes, *, owner: str = "") -> None:
        import time

        now = time.time()
        with self._tx() as con:
            con.execute(self._sql("DELETE FROM pending WHERE created < ?"), (now - self.PENDING_TTL_S,))
            con.execute(self._sql("INSERT INTO pending (token, created, owner, data) VALUES (?, ?, ?, ?)"),
                        (token, now, owner, data))

    def get_pending(self, token: str) -> bytes | None:
        import time

        with self._read() as con:
            row = con.execute(self._sql("SELECT data FROM pending WHERE token = ? AND created >= ?"),
                              (token, time.time() - self.PENDING_TTL_S)).fetchone()
        return None if row is None else bytes(row[0])

    def drop_pending(self, token: str) -> None:
        with self._tx() as con:
            con.execute(self._sql("DELETE FROM pending WHERE token = ?"), (token,))
