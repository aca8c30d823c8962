"""Server-side state of the dashboard: the store, and analyses cached per (revision, what-if).

The engine is pure, so a cache keyed by revision id is always right: a new commit is a new key.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache

from .. import workflow
from ..plan import Plan


class BoundedCache:
    """A least-recently-used cache bounded in entries and in (estimated) bytes, whose concurrent callers of one key
    wait for a single computation (the warm-up thread and a first visitor must not both analyse the same revision
    on two cores). Keys are made by the server from checked values (:mod:`ua_coverage.app.inputs`), so their space
    is the plan's, never the client's.

    >>> c = BoundedCache(lambda k: "x" * k, max_entries=2, max_bytes=10, weigh=lambda key, value: len(value))
    >>> c(4), c(5), c(6)  # 4 + 5 + 6 bytes > 10: the oldest go
    ('xxxx', 'xxxxx', 'xxxxxx')
    >>> c.keys()
    [(6,)]
    """

    def __init__(self, fn, *, max_entries: int, max_bytes: float = float("inf"), weigh=None):
        self._fn, self._weigh = fn, weigh or (lambda _k, _v: 0)
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._data: OrderedDict = OrderedDict()  # key -> (value, bytes)
        self._bytes = 0
        self._guard = threading.Lock()
        self._locks: dict = {}
        self._hits = self._misses = 0

    def cache_info(self):
        """Hits, misses and size, as :func:`functools.lru_cache` reports them."""
        from functools import _CacheInfo

        return _CacheInfo(self._hits, self._misses, self.max_entries, len(self._data))

    def keys(self) -> list:
        with self._guard:
            return list(self._data)

    @property
    def bytes(self) -> int:
        return self._bytes

    def __call__(self, *key):
        with self._guard:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
                self._hits += 1
                return hit[0]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            try:
                with self._guard:
                    hit = self._data.get(key)  # computed while this caller waited
                if hit is not None:
                    self._hits += 1
                    return hit[0]
                self._misses += 1
                value = self._fn(*key)
                try:
                    size = int(self._weigh(key, value))
                except Exception:  # noqa: BLE001 - a weight is an estimate; never a reason to fail the view
                    size = 0
                with self._guard:
                    self._data[key] = (value, size)
                    self._bytes += size
                    while len(self._data) > 1 and (len(self._data) > self.max_entries or self._bytes > self.max_bytes):
                        _, (_, gone) = self._data.popitem(last=False)
                        self._bytes -= gone
                return value
            finally:
                with self._guard:
                    self._locks.pop(key, None)


def _single_flight(fn, maxsize: int):
    """A :class:`BoundedCache` of ``maxsize`` entries (kept for callers of the older name)."""
    return BoundedCache(fn, max_entries=maxsize)


def _cache_mb() -> float:
    import os

    try:
        return float(os.environ.get("UA_COVERAGE_CACHE_MB", "") or 2048)
    except ValueError:
        return 2048.0


class AppState:
    def __init__(self, store, cache_size: int = 32):
        self.store = store
        self._plan = lru_cache(maxsize=8)(self._load_plan)
        budget = _cache_mb() * 1024 * 1024
        # analyses by estimated size (its faces, display geometry and traces grow with the plan's vertices), so a
        # 10,000-sector plan keeps a few views and the sample keeps dozens, within UA_COVERAGE_CACHE_MB
        self._analysis = BoundedCache(self._analyze, max_entries=cache_size, max_bytes=budget, weigh=self._weight)
        self._timeline = BoundedCache(self._make_timeline, max_entries=8)
        self._watched = BoundedCache(self._make_watched, max_entries=8, max_bytes=budget / 4,
                                     weigh=lambda _k, w: 0 if w is None else 2_000 * len(w.get("watched_pct", {})))

    def warm_up(self) -> threading.Thread | None:
        """Analyse the newest revision in the background (its land map, timeline and sensors too), so that the first
        planner after a start does not wait for it: a cold analysis of a 2,000-sector plan takes seconds."""
        try:
            head = self.store.current()
        except Exception:  # noqa: BLE001 - an empty or unreachable store: the page says so when asked
            return None

        def work():
            from ..figures import MapView, map_figure

            try:
                analysis = self.analysis(head.id)
                map_figure(self.plan(head.id), analysis, MapView(domain="land"))  # memoises the view's traces
                self.timeline(head.id)
                self.watched(head.id)
            except Exception:  # noqa: BLE001 - a page load computes (and reports) the same again
                pass

        t = threading.Thread(target=work, name="ua-coverage-warm-up", daemon=True)
        t.start()
        return t

    def _weight(self, key: tuple, _analysis) -> int:
        """Estimated bytes an analysis holds with its display geometry and traces: ~400 B per vertex of the plan's
        sectors (partition faces, dissolved pieces, their GeoJSON), plus 1 MB."""
        import shapely

        n = int(shapely.get_num_coordinates(self._plan(key[0]).sectors.geometry.values).sum())
        return 1_000_000 + 400 * n

    def _load_plan(self, rev_id: int) -> Plan:
        return self.store.load(rev_id)

    def _analyze(self, rev_id: int, withdrawn: tuple, day: str | None = None):
        return workflow.analyze_plan(self._plan(rev_id).without(withdrawn), at=day)

    def _make_timeline(self, rev_id: int, withdrawn: tuple):
        from ..engine.timeline import timeline

        return timeline(self._plan(rev_id).without(withdrawn))

    def _make_watched(self, rev_id: int, withdrawn: tuple, day: str | None, altitude_ft: float | None = None):
        from ..engine.sensors import watched

        plan = self.plan(rev_id, withdrawn, day)
        if not len(plan.sensors):
            return None
        return watched(plan.sensors, plan.full_extents(), plan.sectors, by_contingent=False,
                       altitudes_ft=None if altitude_ft is None else [float(altitude_ft)])

    def watched(self, rev_id: int, withdrawn: tuple = (), day: str | None = None,
                altitude_ft: float | None = None) -> dict | None:
        """What the plan's sensors watch (per domain, each sector's watched share), cached; None without sensors.
        With ``altitude_ft`` (one the page offers: the caller checks it), air zones are judged at that target
        altitude instead of each at its floor."""
        return self._watched(rev_id, tuple(sorted(withdrawn)), day, altitude_ft)

    def plan(self, rev_id: int, withdrawn: tuple = (), day: str | None = None) -> Plan:
        return self._plan(rev_id).without(withdrawn).on(day)

    def analysis(self, rev_id: int, withdrawn: tuple = (), day: str | None = None):
        return self._analysis(rev_id, tuple(sorted(withdrawn)), day)

    def timeline(self, rev_id: int, withdrawn: tuple = ()):
        """``(intervals, handover_gaps)`` of a revision (what-if included), cached."""
        return self._timeline(rev_id, tuple(sorted(withdrawn)))

    def days(self, rev_id: int, extra: str | None = None) -> list[str]:
        """The days a planner can step through: change dates and phase starts (and ``extra``)."""
        plan = self._plan(rev_id)
        days = set(plan.change_dates()) | set(plan.sensor_change_dates()) | {
            str(d) for d in plan.phases.get("start", []) if d}
        if extra:
            days.add(extra)
        return sorted(days)
