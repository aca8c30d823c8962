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

    def _load_plan(self, rev_id: int) -> Plan:
        return self.store.load(rev_id)

    def _analyze(self, rev_id: int, withdrawn: tuple):
        return workflow.analyze_plan(self._plan(rev_id).without(withdrawn))

    def plan(self, rev_id: int, withdrawn: tuple = ()) -> Plan:
        return self._plan(rev_id).without(withdrawn)

    def analysis(self, rev_id: int, withdrawn: tuple = ()):
        return self._analysis(rev_id, tuple(sorted(withdrawn)))
