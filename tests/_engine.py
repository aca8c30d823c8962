"""Engine settings for tests: force the tiled partition (and its worker processes) on small plans."""
from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def engine_settings(per_tile: int, workers: int = 0):
    """Tiles of at most ``per_tile`` vertices (``10**9``: untiled), on ``workers`` processes (0 or 1: in-process);
    the cached arrangements are dropped on the way in and out."""
    from ua_coverage.engine import _partition, analysis

    saved = _partition.VERTICES_PER_TILE, _partition.POOL_MIN_VERTICES, os.environ.get("UA_COVERAGE_ENGINE_WORKERS")
    _partition.VERTICES_PER_TILE, _partition.POOL_MIN_VERTICES = per_tile, 0
    os.environ["UA_COVERAGE_ENGINE_WORKERS"] = str(workers)
    analysis._ARRANGEMENTS.clear()
    try:
        yield
    finally:
        _partition.VERTICES_PER_TILE, _partition.POOL_MIN_VERTICES = saved[:2]
        if saved[2] is None:
            os.environ.pop("UA_COVERAGE_ENGINE_WORKERS", None)
        else:
            os.environ["UA_COVERAGE_ENGINE_WORKERS"] = saved[2]
        analysis._ARRANGEMENTS.clear()
