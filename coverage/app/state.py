"""Server-side state of the dashboard: the store, and analyses cached per (revision, what-if).

The engine is pure, so a cache keyed by revision id is always right: a new commit is a new key.
"""
from __future__ import annotations

from functools import lru_cache

from .. import workflow
from ..plan import Plan


class AppState:
    def __init__(self, store, cache_size: int = 32):
        self.store = store
        self._plan = lru_cache(maxsize=8)(self._load_plan)
        self._analysis = lru_cache(maxsize=cache_size)(self._analyze)
        self._timeline = lru_cache(maxsize=8)(self._make_timeline)
        self._watched = lru_cache(maxsize=8)(self._make_watched)

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
