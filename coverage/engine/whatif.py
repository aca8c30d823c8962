"""What a what-if changes: the figures of the plan without some nations, against the plan's own.

A what-if is the same plan with nations withdrawn (:meth:`ua_coverage.plan.Plan.without`); its analysis is an
ordinary analysis. This measure compares two of them, layer by layer, so every surface (``analyze --without``,
the dashboard's KPI cards, exports) states the same change.

Examples
--------
>>> a = {"land": {"gap_km2": 10.0, "covered_km2": 90.0, "overlap_km2": 5.0, "covered_pct": 90.0}}
>>> b = {"land": {"gap_km2": 30.0, "covered_km2": 70.0, "overlap_km2": 1.0, "covered_pct": 70.0}}
>>> layer_deltas(a, b)["land"]
{'gap_km2': 20.0, 'covered_km2': -20.0, 'overlap_km2': -4.0, 'covered_pct': -20.0}
"""
from __future__ import annotations

#: the figures whose change a what-if reports, per layer
DELTA_KEYS = ("gap_km2", "covered_km2", "overlap_km2", "covered_pct")


def layer_deltas(plan_domains: dict, whatif_domains: dict) -> dict:
    """Per layer, what-if minus plan for each of :data:`DELTA_KEYS`."""
    return {layer: {k: whatif_domains[layer][k] - plan_domains[layer][k] for k in DELTA_KEYS}
            for layer in whatif_domains if layer in plan_domains}


def whatif_block(plan_analysis, whatif_analysis, withdrawn, assigned: set[str]) -> dict:
    """The ``"whatif"`` block of ``analyze --without``: who withdrew, the change per layer, and the sectors the
    withdrawal leaves with nobody (``newly_unassigned``). ``assigned`` is the set of nations the plan assigns
    anything to: a withdrawn code outside it changes nothing and is listed under ``not_in_plan``."""
    before = set(plan_analysis.unassigned_sectors)
    return {"without": sorted(withdrawn),
            "not_in_plan": sorted(set(withdrawn) - assigned),
            "deltas": layer_deltas(plan_analysis.domains, whatif_analysis.domains),
            "newly_unassigned": [s for s in whatif_analysis.unassigned_sectors if s not in before]}
