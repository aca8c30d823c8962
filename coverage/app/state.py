"""Server-side state of the dashboard: the store, and analyses cached per (revision, what-if).

The engine is pure, so a cache keyed by revision id is always right: a new commit is a new key.
"""
from __future__ import annotations

import threading
from functools import lru_cache

from .. import workflow
from ..plan import Plan


def _single_flight(fn, maxsize: int):
    """``lru_cache`` whose concurrent callers of one key wait for a single computation (the warm-up thread and a
    first visitor must not both analyse the same revision on two cores)."""
    cached = lru_cache(maxsize=maxsize)(fn)
    locks: dict = {}
    guard = threading.Lock()

    def call(*key):
        with guard:
            lock = locks.setdefault(key, threading.Lock())
        with lock:
            try:
                return cached(*key)
            finally:
                with guard:
                    locks.pop(key, None)

    call.cache_info = cached.cache_info
    return call


class AppState:
    def __init__(self, store, cache_size: int = 32):
        self.store = store
        self._plan = lru_cache(maxsize=8)(self._load_plan)
        self._analysis = _single_flight(self._analyze, cache_size)
        self._timeline = _single_flight(self._make_timeline, 8)
        self._watched = _single_flight(self._make_watched, 8)

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

    def _load_plan(self, rev_id: int) -> Plan:
        return self.store.load(rev_id)

    def _analyze(self, rev_id: int, withdrawn: tuple, day: str | None = None):
        return workflow.analyze_plan(self._plan(rev_id).without(withdrawn), at=day)

    def _make_timeline(self, rev_id: int, withdrawn: tuple):
        from ..engine.timeline import timeline

        return timeline(self._plan(rev_id).without(withdrawn))

    def _make_watched(self, rev_id: int, withdrawn: tuple, day: str | None):
        from ..engine.sensors import watched

        plan = self.plan(rev_id, withdrawn, day)
        if not len(plan.sensors):
            return None
        return watched(plan.sensors, plan.full_extents(), plan.sectors, by_contingent=False)

    def watched(self, rev_id: int, withdrawn: tuple = (), day: str | None = None) -> dict | None:
        """What the plan's sensors watch (per domain, each sector's watched share), cached; None without sensors."""
        return self._watched(rev_id, tuple(sorted(withdrawn)), day)

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
