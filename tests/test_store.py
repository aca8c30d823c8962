"""Plan revisions: atomic commits that survive SIGKILL, optimistic concurrency, diff, rollback, CLI."""
from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pyproj
import pytest
from _cli import run_cli
import shapely

from ua_coverage.errors import ConflictError, RevisionNotFound
from ua_coverage.plan import Plan, content_hash
from ua_coverage.workflow import sample_plan
from ua_coverage.store import resolve_data_dir
from ua_coverage.workflow import commit_plan, open_store
from ua_coverage import workflow

GEOD = pyproj.Geod(ellps="WGS84")


def geod_km2(g):
    return abs(GEOD.geometry_area_perimeter(shapely.segmentize(g, 0.05))[0]) / 1e6


PG_URL = os.environ.get("UA_COVERAGE_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgis"] if PG_URL else [])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    d = tmp_path_factory.mktemp("store-seed")
    open_store(d, url=None)
    return d


def _url(store) -> str | None:
    return f"{store.url}{'&' if '?' in store.url else '?'}schema={store.schema}" if hasattr(store, "schema") else None


@pytest.fixture(params=BACKENDS)
def store(request, seeded, tmp_path, monkeypatch):
    """A freshly seeded store on each backend (PostGIS when UA_COVERAGE_TEST_DATABASE_URL is set)."""
    import shutil
    import uuid

    monkeypatch.delenv("UA_COVERAGE_DATABASE_URL", raising=False)
    if request.param == "sqlite":
        shutil.copytree(seeded, tmp_path / "data")
        yield open_store(tmp_path / "data")
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    st = open_store(tmp_path / "data", url=f"{PG_URL}{'&' if '?' in PG_URL else '?'}schema={schema}")
    yield st
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f"DROP SCHEMA {schema} CASCADE")


def edited(plan: Plan, fn) -> Plan:
    s = plan.sectors.copy()
    s = fn(s)
    return Plan(s.reset_index(drop=True), plan.contingents, plan.extents, plan.notional, plan.phases, plan.sensors)


def test_seeded_with_the_sample_as_revision_1(store):
    cur = store.current()
    assert (cur.id, cur.parent, cur.sectors) == (1, None, 19)
    assert cur.hash == content_hash(sample_plan())
    assert cur.summary["unassigned_sectors"] == ["L-07"]
    assert content_hash(store.load(1)) == cur.hash  # round trip keeps content exactly
    assert store.load(1).notional


def test_data_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("UA_COVERAGE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_data_dir() == tmp_path / "xdg" / "ua-coverage"
    monkeypatch.setenv("UA_COVERAGE_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "flag") == tmp_path / "flag"


def test_diff_against_hand_built_revisions(store):
    base = store.load(1)
    box = shapely.box(30.0, 49.0, 30.5, 49.3)
    bigger = shapely.box(30.0, 49.0, 30.6, 49.3)

    def change(s):
        s = s[s["sector_id"] != "L-09"].copy()
        s.loc[s["sector_id"] == "L-07", ["contingent"]] = "CZE;LTU"
        s.loc[s["sector_id"] == "L-07", "contingents"] = [("CZE", "LTU")]
        s.loc[s["sector_id"] == "S-02", "notes"] = "moved north"
        new = s.iloc[[0]].copy()
        new["sector_id"], new["name"], new["geometry"] = "L-10", "Test box", [box]
        return __import__("pandas").concat([s, new])

    r2 = commit_plan(store, edited(base, change), base=1, author="a", message="edit")
    p2 = store.load(2)

    def reshape(s):
        s = s.copy()
        s.loc[s["sector_id"] == "L-10", "geometry"] = [bigger]
        return s

    r3 = commit_plan(store, edited(p2, reshape), base=2, author="a", message="reshape")
    d = workflow.diff(store, 1, 2)
    assert [a["sector_id"] for a in d["added"]] == ["L-10"]
    assert d["added"][0]["area_km2"] == pytest.approx(geod_km2(box), rel=1e-3)
    assert [r["sector_id"] for r in d["removed"]] == ["L-09"]
    assert d["reassigned"] == [{"sector_id": "L-07", "from": [], "to": ["CZE", "LTU"]}]
    assert d["attributes"] == [{"sector_id": "S-02", "changes": {"notes": {
        "from": base.sectors.set_index("sector_id").loc["S-02", "notes"], "to": "moved north"}}}]
    assert d["reshaped"] == []
    # unassigned L-07 became assigned: the land gap shrinks by exactly the unassigned area that L-10 does not cover
    land = d["coverage"]["land"]["gap_km2"]
    assert land["before"] == pytest.approx(store.revision(1).summary["domains"]["land"]["gap_km2"])
    assert land["after"] < land["before"] - 30_000
    d23 = workflow.diff(store, 2, 3)
    assert d23["added"] == d23["removed"] == d23["reassigned"] == d23["attributes"] == []
    (rs,) = d23["reshaped"]
    assert rs["sector_id"] == "L-10" and rs["lost_km2"] == pytest.approx(0, abs=1e-9)
    assert rs["gained_km2"] == pytest.approx(geod_km2(bigger) - geod_km2(box), rel=1e-3)
    assert (r2.id, r3.id, r3.parent) == (2, 3, 2)


def test_conflict_idempotent_retry_and_no_change(store):
    base = store.load(1)
    a = edited(base, lambda s: s[s["sector_id"] != "M-04"])
    b = edited(base, lambda s: s[s["sector_id"] != "M-03"])
    r = store.commit(a, base=1, author="ed1", message="drop M-04")
    assert store.commit(a, base=1, author="ed1", message="drop M-04 (retry)").id == r.id  # idempotent
    with pytest.raises(ConflictError, match="based on revision 1, but revision 2 is now current"):
        store.commit(b, base=1, author="ed2", message="drop M-03")
    assert store.commit(a, base=2, author="ed1", message="same again").id == 2  # no empty revision
    assert [h.id for h in store.history()] == [1, 2]
    with pytest.raises(RevisionNotFound):
        store.load(99)


def test_rollback_and_audit(store):
    base = store.load(1)
    store.commit(edited(base, lambda s: s[s["sector_id"] != "A-04"]), base=1, author="ed", message="drop A-04")
    r = store.rollback(1, author="chief", message="undo A-04 removal")
    assert (r.id, r.parent, r.hash) == (3, 2, store.revision(1).hash)
    assert content_hash(store.load(3)) == store.revision(1).hash
    audit = store.audit()
    assert [(a["actor"], a["action"], a["revision"]) for a in audit] == [
        ("ua-coverage", "commit", 1), ("ed", "commit", 2), ("chief", "rollback", 3)]
    assert audit[2]["detail"]["source"] == "rollback to revision 1"


def _commit_on(data_dir, url, sector, barrier, results):
    st = open_store(data_dir, url=url)
    plan = st.load(1)
    plan = Plan(plan.sectors[plan.sectors["sector_id"] != sector].reset_index(drop=True), plan.contingents,
                plan.extents, plan.notional)
    barrier.wait()
    try:
        results.put(("ok", st.commit(plan, base=1, author=sector, message=f"drop {sector}").id))
    except ConflictError as exc:
        results.put(("conflict", exc.current))


def test_two_processes_committing_on_the_same_base(store):
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_commit_on, args=(store.data_dir, _url(store), s, barrier, results))
             for s in ("M-01", "M-02")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    outcomes = sorted(results.get(timeout=5) for _ in procs)
    assert outcomes == [("conflict", 2), ("ok", 2)]
    assert [h.id for h in store.history()] == [1, 2]


KILL_CHILD = textwrap.dedent("""
    import os, sys, time
    from ua_coverage.workflow import open_store
    from ua_coverage.plan import Plan
    st = open_store(sys.argv[1], url=sys.argv[2] if len(sys.argv) > 2 else None)
    base = st.load(1)
    sys.stdin.readline()  # started early (imports hidden behind the previous round); go when told
    def hook():
        print("IN_TX", flush=True)
        time.sleep(0.5)
    cur = st.current().id
    for i in range(100):
        keep = base.sectors[base.sectors.index != (i % len(base.sectors))].reset_index(drop=True)
        plan = Plan(keep, base.contingents, base.extents, base.notional)
        cur = st.commit(plan, base=cur, author="writer", message=f"step {i}", _in_transaction=hook).id
        print("COMMITTED", cur, flush=True)
""")


def _check_consistent(store) -> int:
    if not hasattr(store, "schema"):
        con = sqlite3.connect(store.data_dir / "plan.sqlite")
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
    st = open_store(store.data_dir, url=_url(store), seed=False)
    cur = st.current()
    plan = st.load(cur.id)
    assert len(plan.sectors) == cur.sectors
    assert content_hash(plan) == cur.hash
    assert [h.id for h in st.history()] == list(range(1, cur.id + 1))  # no gaps, nothing beyond current
    return cur.id


@pytest.mark.slow
def test_sigkill_mid_commit_never_corrupts(store):
    import time

    rnd = random.Random(7)
    seen = []

    def spawn():
        return subprocess.Popen([sys.executable, "-c", KILL_CHILD, str(store.data_dir)] +
                                ([_url(store)] if _url(store) else []), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)

    nxt = spawn()
    for k in range(20):
        before = store.current().id
        p, nxt = nxt, (spawn() if k < 19 else None)  # the next writer imports while this one is killed
        p.stdin.write("go\n")
        p.stdin.flush()
        n_tx = wanted = rnd.randint(1, 2)
        for line in p.stdout:
            if line.startswith("IN_TX"):
                n_tx -= 1
                if n_tx == 0:
                    break
        time.sleep(rnd.uniform(0.0, 0.6))  # inside the 0.5 s transaction, or just after it committed
        p.send_signal(signal.SIGKILL)
        p.wait()
        after = _check_consistent(store)
        # killed inside commit number `wanted` (it is lost, earlier ones stay) or just after it committed
        assert after in (before + wanted - 1, before + wanted), (before, wanted, after, [h.message for h in store.history()][-8:])
        seen.append(after == before + wanted - 1)
    assert len(seen) == 20
    assert sum(seen) >= 5  # many kills landed inside a transaction


def _store_state(store) -> str:
    """The store's bytes (SQLite: the database and its WAL), or its full content (PostGIS)."""
    h = hashlib.sha256()
    if hasattr(store, "schema"):
        h.update(json.dumps([r.as_dict() for r in store.history()] + store.audit(), default=str).encode())
        h.update(str(store.current().id).encode())
        return h.hexdigest()
    for name in ("plan.sqlite", "plan.sqlite-wal"):
        p = store.data_dir / name
        h.update(p.read_bytes() if p.exists() else b"-")
    return h.hexdigest()


def cli(*args, data_dir, url=None):
    return run_cli(*args, "--data-dir", str(data_dir), env={"UA_COVERAGE_DATABASE_URL": url or None})


def test_rejected_import_leaves_the_store_byte_identical(store, tmp_path):
    import geopandas as gpd

    from ua_coverage import geodata

    before = _store_state(store)
    bad = gpd.read_file(geodata.sample_sectors_path())
    bad.loc[0, "contingent"] = "XYZ"
    bad.to_file(tmp_path / "bad.geojson")
    p = cli("import", str(tmp_path / "bad.geojson"), "-m", "bad", data_dir=store.data_dir, url=_url(store))
    assert p.returncode == 1
    assert "REJECTED" in p.stderr and "revision 1 is still current" in p.stderr and "contingent-unknown" in p.stderr
    (tmp_path / "junk.geojson").write_bytes(b"\x00\x01junk")
    assert cli("import", str(tmp_path / "junk.geojson"), "-m", "junk", data_dir=store.data_dir, url=_url(store)).returncode == 1
    assert _store_state(store) == before


def test_cli_round_trip(store, tmp_path):
    import geopandas as gpd

    from ua_coverage import geodata

    s = gpd.read_file(geodata.sample_sectors_path())
    s.loc[s["sector_id"] == "L-07", "contingent"] = "CZE"
    s.to_file(tmp_path / "rev2.geojson")
    p = cli("import", str(tmp_path / "rev2.geojson"), "-m", "Assign L-07", "--author", "staff", data_dir=store.data_dir, url=_url(store))
    assert p.returncode == 0, p.stderr
    assert "> reassigned L-07: unassigned -> CZE" in p.stdout and "Committed revision 2" in p.stdout
    p = cli("import", str(tmp_path / "rev2.geojson"), "-m", "again", "--base", "1", data_dir=store.data_dir, url=_url(store))
    assert p.returncode == 0 and "Already committed as revision 2" in p.stdout
    s.loc[s["sector_id"] == "L-07", "contingent"] = "LTU"
    s.to_file(tmp_path / "rev2b.geojson")
    p = cli("import", str(tmp_path / "rev2b.geojson"), "-m", "stale", "--base", "1", data_dir=store.data_dir, url=_url(store))
    assert p.returncode == 1 and "CONFLICT" in p.stderr
    p = cli("rollback", "1", "-m", "Back", "--author", "chief", data_dir=store.data_dir, url=_url(store))
    assert p.returncode == 0 and "Committed revision 3" in p.stdout
    doc = json.loads(cli("history", "--json", data_dir=store.data_dir, url=_url(store)).stdout)
    assert doc["current"] == 3
    assert [(r["id"], r["parent"], r["author"], r["message"]) for r in doc["revisions"]] == [
        (1, None, "ua-coverage", "Seeded with the NOTIONAL sample plan"), (2, 1, "staff", "Assign L-07"),
        (3, 2, "chief", "Back")]
    assert all({"id", "parent", "author", "time", "message", "sectors", "hash"} <= set(r) for r in doc["revisions"])
    d = json.loads(cli("diff", "2", "3", "--json", data_dir=store.data_dir, url=_url(store)).stdout)
    assert d["reassigned"] == [{"sector_id": "L-07", "from": ["CZE"], "to": []}]
    assert d["coverage"]["land"]["gap_km2"]["change"] > 30_000
    a = json.loads(cli("analyze", "--revision", "2", "--json", data_dir=store.data_dir, url=_url(store)).stdout)
    assert a["unassigned_sectors"] == []
    assert cli("diff", "1", "9", data_dir=store.data_dir, url=_url(store)).returncode == 1


def test_sensors_are_part_of_a_revision(store, tmp_path):
    """import --sensors: stored with the revision (both backends), listed in the diff, analysed from the store, undone
    by a rollback; a bad sensor file or a registry that drops a sensor's nation changes nothing."""
    import geopandas as gpd

    from ua_coverage import geodata

    first = store.load(1).sensors
    file_ = gpd.read_file(geodata.sample_sensors_path())
    assert list(first["sensor_id"]) == list(file_["sensor_id"]) and len(first) == 10
    assert first.loc[first["sensor_id"] == "CR-01", "antenna_m"].item() == 40.0
    assert shapely.equals_exact(first.geometry.values, file_.geometry.values, tolerance=0).all()

    s = file_.copy()
    gsr = s["sensor_id"] == "GSR-01"
    s.loc[gsr, "geometry"] = [shapely.Point(GEOD.fwd(p.x, p.y, 90, 5000)[:2]) for p in s.loc[gsr, "geometry"]]
    s.loc[s["sensor_id"] == "CR-02", "range_km"] = 20.0
    s = s[s["sensor_id"] != "OP-02"]
    extra = s[s["sensor_id"] == "OP-01"].copy()
    extra["sensor_id"], extra["name"] = "OP-03", "Observation post Kramatorsk"
    s = gpd.GeoDataFrame(pd_concat([s, extra]), crs=4326)
    s.to_file(tmp_path / "sensors.geojson")
    p = cli("import", "--sensors", str(tmp_path / "sensors.geojson"), "-m", "Sensor plan v2", "--author", "staff",
            data_dir=store.data_dir, url=_url(store))
    assert p.returncode == 0, p.stderr
    assert "+ sensor     OP-03 added" in p.stdout and "- sensor     OP-02 removed" in p.stdout
    assert "* sensor     GSR-01: moved 5.00 km" in p.stdout and "range_km: 80.0 -> 20.0" in p.stdout
    assert "Committed revision 2" in p.stdout
    assert store.current().hash != store.revision(1).hash and store.current().sectors == store.revision(1).sectors
    d = json.loads(cli("diff", "1", "2", "--json", data_dir=store.data_dir, url=_url(store)).stdout)
    assert d["sensors"]["added"] == ["OP-03"] and d["sensors"]["removed"] == ["OP-02"]
    moved = {c["sensor_id"]: c["changes"] for c in d["sensors"]["changed"]}
    assert set(moved) == {"GSR-01", "CR-02"} and moved["GSR-01"]["position"]["moved_m"] == pytest.approx(5000, abs=1)
    assert d["added"] == d["removed"] == d["reassigned"] == []

    a = json.loads(cli("analyze", "--revision", "current", "--sensors", "--json", data_dir=store.data_dir,
                       url=_url(store)).stdout)["sensors"]
    a1 = json.loads(cli("analyze", "--revision", "1", "--sensors", "--json", data_dir=store.data_dir,
                        url=_url(store)).stdout)["sensors"]
    assert a["sea"]["covered_km2"] < a1["sea"]["covered_km2"]  # CR-02 reaches 20 km, short of its 33 km horizon
    assert a["land"]["sensors"] == a1["land"]["sensors"] == 6

    before = _store_state(store)
    bad = s.copy()
    bad.loc[bad.index[0], "contingent"] = "XYZ"
    bad.to_file(tmp_path / "bad.geojson")
    p = cli("import", "--sensors", str(tmp_path / "bad.geojson"), "-m", "bad", data_dir=store.data_dir,
            url=_url(store))
    assert p.returncode == 1 and "REJECTED" in p.stderr and "contingent-unknown" in p.stderr and "GSR-01" in p.stderr
    reg = gpd.pd.read_csv(geodata.sample_contingents_path())
    reg[reg["code"] != "ITA"].to_csv(tmp_path / "reg.csv", index=False)
    p = cli("import", "--contingents", str(tmp_path / "reg.csv"), "-m", "drop ITA", data_dir=store.data_dir,
            url=_url(store))
    assert p.returncode == 1 and "contingents-in-use" in p.stderr and "sensor CR-02" in p.stderr
    assert _store_state(store) == before

    p = cli("rollback", "1", "-m", "Back", "--author", "chief", data_dir=store.data_dir, url=_url(store))
    assert p.returncode == 0 and store.current().hash == store.revision(1).hash
    assert list(store.load(store.current().id).sensors["sensor_id"]) == list(first["sensor_id"])


def pd_concat(frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def test_a_store_from_before_sensors_is_migrated(tmp_path):
    """A version-3 SQLite store (no sensors table) opens, gains the table, and its revisions load with no sensors."""
    open_store(tmp_path)
    con = sqlite3.connect(tmp_path / "plan.sqlite")
    con.execute("DROP TABLE sensors")
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    st = open_store(tmp_path)
    assert len(st.load(1).sensors) == 0 and st.current().id == 1
    con = sqlite3.connect(tmp_path / "plan.sqlite")
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "5"
    con.close()
