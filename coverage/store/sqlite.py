"""The embedded SQLite store: one file in the data directory, WAL mode, synchronous=FULL.

A commit is one ``BEGIN IMMEDIATE`` transaction that inserts the revision, its sectors, registry and
extents, moves ``current`` and appends to the audit log; a writer killed at any point leaves the last
committed state (SQLite's journal guarantees it; ``tests/test_store.py`` kills writers to show it).
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from ..domains import Extents
from ..errors import ConflictError, RevisionNotFound, StoreError
from ..plan import Plan, content_hash, sector_attrs
from ..schema import layer_of, parse_contingents
from . import RevisionInfo, Store

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revisions (
    id INTEGER PRIMARY KEY,
    parent INTEGER REFERENCES revisions(id),
    author TEXT NOT NULL,
    time TEXT NOT NULL,
    message TEXT NOT NULL,
    hash TEXT NOT NULL,
    sectors INTEGER NOT NULL,
    source_name TEXT NOT NULL DEFAULT '',
    source_format TEXT NOT NULL DEFAULT '',
    notional INTEGER NOT NULL DEFAULT 0,
    summary TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS revisions_parent_hash ON revisions(parent, hash);
CREATE TABLE IF NOT EXISTS sectors (
    revision INTEGER NOT NULL REFERENCES revisions(id),
    idx INTEGER NOT NULL,
    sector_id TEXT NOT NULL,
    attrs TEXT NOT NULL,
    geom BLOB NOT NULL,
    PRIMARY KEY (revision, idx)
);
CREATE TABLE IF NOT EXISTS contingents (
    revision INTEGER NOT NULL REFERENCES revisions(id),
    idx INTEGER NOT NULL,
    row TEXT NOT NULL,
    PRIMARY KEY (revision, idx)
);
CREATE TABLE IF NOT EXISTS extents (
    revision INTEGER NOT NULL REFERENCES revisions(id),
    layer TEXT NOT NULL,
    source TEXT NOT NULL,
    geom BLOB NOT NULL,
    PRIMARY KEY (revision, layer)
);
CREATE TABLE IF NOT EXISTS current (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    revision INTEGER NOT NULL REFERENCES revisions(id)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    revision INTEGER,
    detail TEXT NOT NULL DEFAULT '{}'
);
"""


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class SQLiteStore(Store):
    """Plan revisions in ``DATA_DIR/plan.sqlite``."""

    def __init__(self, data_dir: Path, *, seed: bool = True):
        self.data_dir = Path(data_dir)
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the data directory {self.data_dir}: {exc.strerror or exc}") from exc
        self.path = self.data_dir / "plan.sqlite"
        con = self._connect()
        try:
            if self._needs_schema(con):
                con.executescript(_SCHEMA)  # every statement is IF NOT EXISTS: safe if two processes race
        finally:
            con.close()
        if seed and self._current_id() is None:
            from ..plan import sample_plan

            try:
                self.commit(sample_plan(), base=0, author="ua-coverage",
                            message="Seeded with the NOTIONAL sample plan", source_name="sample/sectors.geojson",
                            source_format="GeoJSON")
            except ConflictError:
                pass  # another process seeded it at the same moment

    # -- plumbing -------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            con.execute("PRAGMA foreign_keys=ON")
            con.execute("PRAGMA busy_timeout=30000")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the plan store {self.path}: {exc}") from exc
        return con

    @staticmethod
    def _needs_schema(con) -> bool:
        return con.execute("SELECT count(*) FROM sqlite_master WHERE name='current'").fetchone()[0] == 0

    @contextmanager
    def _tx(self, write: bool = True):
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield con
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
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
        row = con.execute("SELECT revision FROM current WHERE singleton = 1").fetchone()
        return None if row is None else int(row[0])

    @staticmethod
    def _info(row) -> RevisionInfo:
        return RevisionInfo(id=row[0], parent=row[1], author=row[2], time=row[3], message=row[4], hash=row[5],
                            sectors=row[6], source_name=row[7], source_format=row[8],
                            summary=json.loads(row[9] or "{}"))

    _COLS = "id, parent, author, time, message, hash, sectors, source_name, source_format, summary"

    # -- reading --------------------------------------------------------------------------------
    def current(self) -> RevisionInfo:
        with self._read() as con:
            cur = self._current_id(con)
            if cur is None:
                raise StoreError(f"the plan store {self.path} is empty")
            return self._revision(con, cur)

    def _revision(self, con, rev_id: int) -> RevisionInfo:
        row = con.execute(f"SELECT {self._COLS} FROM revisions WHERE id = ?", (int(rev_id),)).fetchone()
        if row is None:
            raise RevisionNotFound(f"there is no revision {rev_id}; `ua-coverage history` lists them")
        return self._info(row)

    def revision(self, rev_id: int) -> RevisionInfo:
        with self._read() as con:
            return self._revision(con, rev_id)

    def history(self) -> list[RevisionInfo]:
        with self._read() as con:
            return [self._info(r) for r in con.execute(f"SELECT {self._COLS} FROM revisions ORDER BY id")]

    def load(self, rev_id: int) -> Plan:
        with self._read() as con:
            con.execute("BEGIN")  # one snapshot for all three tables
            self._revision(con, rev_id)
            notional = bool(con.execute("SELECT notional FROM revisions WHERE id = ?", (rev_id,)).fetchone()[0])
            rows = con.execute("SELECT attrs, geom FROM sectors WHERE revision = ? ORDER BY idx",
                               (rev_id,)).fetchall()
            reg = [json.loads(r[0]) for r in con.execute(
                "SELECT row FROM contingents WHERE revision = ? ORDER BY idx", (rev_id,))]
            ext = con.execute("SELECT layer, source, geom FROM extents WHERE revision = ?", (rev_id,)).fetchall()
            con.execute("COMMIT")
        attrs = pd.DataFrame([json.loads(a) for a, _ in rows])
        if len(attrs):
            attrs["contingents"] = [parse_contingents(c) for c in attrs["contingent"]]
            attrs["layer"] = [layer_of(d, k) for d, k in zip(attrs["domain"], attrs["kind"])]
            for col in ("floor_ft", "ceiling_ft"):
                attrs[col] = pd.to_numeric(attrs[col], errors="coerce").astype(float)
        sectors = gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(shapely.from_wkb([g for _, g in rows]), crs=4326))
        contingents = pd.DataFrame(reg)
        extents = Extents({layer: shapely.from_wkb(g) for layer, _, g in ext}, {layer: s for layer, s, _ in ext})
        return Plan(sectors, contingents, extents, notional=notional)

    def audit(self) -> list[dict]:
        with self._read() as con:
            return [{"id": r[0], "time": r[1], "actor": r[2], "action": r[3], "revision": r[4],
                     "detail": json.loads(r[5])}
                    for r in con.execute("SELECT id, time, actor, action, revision, detail FROM audit ORDER BY id")]

    # -- writing --------------------------------------------------------------------------------
    def commit(self, plan: Plan, *, base: int, author: str, message: str, source_name: str = "",
               source_format: str = "", _in_transaction=None) -> RevisionInfo:
        from ..analysis import analyze

        if not message.strip():
            raise StoreError("a commit needs a message saying what changed (-m)")
        if not author.strip():
            raise StoreError("a commit needs an author (--author)")
        digest = content_hash(plan)
        result = analyze(plan.sectors, plan.full_extents(), plan.contingents)
        summary = {"domains": result.domains, "unassigned_sectors": result.unassigned_sectors,
                   "unknown_contingents": result.unknown_contingents}
        sector_rows = [(i, str(row["sector_id"]), json.dumps(sector_attrs(row), ensure_ascii=False, default=str),
                        shapely.to_wkb(geom, output_dimension=2))
                       for i, ((_, row), geom) in enumerate(zip(plan.sectors.iterrows(), plan.sectors.geometry))]
        reg_rows = [(i, json.dumps({k: (None if pd.isna(v) else v) for k, v in r.items()}, ensure_ascii=False))
                    for i, r in enumerate(plan.contingents.to_dict("records"))]
        ext_rows = [(layer, plan.extents.source.get(layer, ""), shapely.to_wkb(g, output_dimension=2))
                    for layer, g in plan.extents.layers.items()]
        with self._tx() as con:
            cur = self._current_id(con)
            same = con.execute(f"SELECT {self._COLS} FROM revisions WHERE hash = ? AND "
                               "(parent = ? OR (parent IS NULL AND ? = 0))", (digest, base, base)).fetchone()
            if same is not None:  # a retry of a commit that already went through
                return self._info(same)
            if cur is not None and cur != base:
                raise ConflictError(f"the plan moved on: your change was based on revision {base}, but revision "
                                    f"{cur} is now current. Review revision {cur} and import again with "
                                    f"--base {cur}.", base=base, current=cur)
            if cur is None and base != 0:
                raise ConflictError(f"the store is empty; commit with base 0, not {base}", base=base, current=None)
            if cur is not None:
                cur_hash = con.execute("SELECT hash FROM revisions WHERE id = ?", (cur,)).fetchone()[0]
                if cur_hash == digest:  # nothing changed: no empty revision
                    return self._revision(con, cur)
            now = _now()
            rid = con.execute(
                "INSERT INTO revisions (parent, author, time, message, hash, sectors, source_name, source_format, "
                "notional, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (cur, author, now, message, digest, len(sector_rows), source_name, source_format,
                 int(plan.notional), json.dumps(summary, default=float))).lastrowid
            con.executemany("INSERT INTO sectors (revision, idx, sector_id, attrs, geom) VALUES (?, ?, ?, ?, ?)",
                            [(rid, *r) for r in sector_rows])
            con.executemany("INSERT INTO contingents (revision, idx, row) VALUES (?, ?, ?)",
                            [(rid, *r) for r in reg_rows])
            con.executemany("INSERT INTO extents (revision, layer, source, geom) VALUES (?, ?, ?, ?)",
                            [(rid, *r) for r in ext_rows])
            if _in_transaction is not None:
                _in_transaction()  # tests: a hook to kill the writer mid-commit
            con.execute("INSERT INTO current (singleton, revision) VALUES (1, ?) "
                        "ON CONFLICT(singleton) DO UPDATE SET revision = excluded.revision", (rid,))
            con.execute("INSERT INTO audit (time, actor, action, revision, detail) VALUES (?, ?, ?, ?, ?)",
                        (now, author, "rollback" if source_name.startswith("rollback to") else "commit", rid,
                         json.dumps({"parent": cur, "message": message, "source": source_name,
                                     "format": source_format, "hash": digest})))
            con.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))
            return self._revision(con, rid)
