"""The plan store on each backend for the workflow tests: SQLite in a temporary folder, and PostGIS in a schema of
its own (dropped afterwards) when ``UA_COVERAGE_TEST_DATABASE_URL`` names a test database."""
from __future__ import annotations

import os

PG_URL = os.environ.get("UA_COVERAGE_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgis"] if PG_URL else [])


def backend_store(backend: str, tmp_path, monkeypatch, prefix: str):
    """Yield a store of ``backend`` (a fixture body: ``yield from backend_store(...)``)."""
    import uuid

    from ua_coverage import workflow

    monkeypatch.delenv("UA_COVERAGE_DATABASE_URL", raising=False)
    if backend == "sqlite":
        yield workflow.open_store(tmp_path / "data")
        return
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    yield workflow.open_store(tmp_path / "data", url=f"{PG_URL}{'&' if '?' in PG_URL else '?'}schema={schema}")
    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f"DROP SCHEMA {schema} CASCADE")
