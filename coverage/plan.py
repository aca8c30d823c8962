"""A complete plan: sectors, the contingents registry and the plan's own extents.

This is what a revision holds and what the engine analyses. :func:`content_hash` gives a stable
identity to a plan's content (the order of features does not matter).
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .domains import Extents, national_extents

PHASE_FIELDS = ("name", "start", "end", "notes")
SENSOR_FIELDS = ("sensor_id", "name", "domain", "contingent", "type", "range_km", "min_range_km", "azimuth_from_deg",
                 "azimuth_to_deg", "antenna_m", "target_m", "valid_from", "valid_to", "notes")
SENSOR_NUMBERS = ("range_km", "min_range_km", "azimuth_from_deg", "azimuth_to_deg", "antenna_m", "target_m")
SECTOR_FIELDS = ("sector_id", "name", "domain", "kind", "contingent", "floor_ft", "ceiling_ft", "phase",
                 "valid_from", "valid_to", "notes")
_DERIVED = ("contingents", "layer", "geometry")


@dataclass
class Plan:
    """Sectors (canonical frame, EPSG:4326), the contingents registry, and extents the plan defines."""

    sectors: gpd.GeoDataFrame
    contingents: pd.DataFrame
    extents: Extents = field(default_factory=lambda: Extents({}, {}))
    notional: bool = False
    #: the phases table (``name``, ``start``, ``end``, ``notes``; ISO dates, empty = open), maybe empty
    phases: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(PHASE_FIELDS)))
    #: the sensor set (points with a reach, see :mod:`ua_coverage.ingest.sensors`), maybe empty
    sensors: gpd.GeoDataFrame = field(default_factory=lambda: empty_sensors())
    #: where each part came from and whether it is notional: ``{"registry" | "phases" | "sensors": {"source",
    #: "notional"}, "extents": {LAYER: {"source", "notional"}}}`` for the plan's own parts (see :meth:`part_sources`)
    parts: dict = field(default_factory=dict)

    def full_extents(self) -> Extents:
        """National defaults with the plan's own layers on top."""
        return national_extents().replace(self.extents)

    def registry(self) -> set[str]:
        return set(self.contingents["code"])

    # -- provenance of the parts -------------------------------------------------------------------------
    def part_sources(self) -> dict:
        """Every part of the plan with its source and notional flag: ``registry``, ``phases``, ``sensors`` and
        ``extents`` per layer (the national defaults for the layers the plan does not define; the monitoring
        default is the sample's NOTIONAL belt). Parts recorded in :attr:`parts` say so themselves; a plan kept
        before parts were recorded gets the revision's flag (an extent whose source says NOTIONAL is notional)."""
        from .domains import national_extents, national_notional

        own = self.parts or {}
        out = {}
        for name, present in (("registry", True), ("phases", len(self.phases) > 0), ("sensors", len(self.sensors) > 0)):
            rec = own.get(name) or {}
            if not present:
                out[name] = {"source": "none", "notional": False, "present": False}
                continue
            out[name] = {"source": str(rec.get("source", "")), "notional": bool(rec.get("notional", self.notional)),
                         "present": True}
        ext = {}
        nat = national_extents()
        for layer in ("air", "sea", "land", "monitoring"):
            rec = (own.get("extents") or {}).get(layer)
            if layer in self.extents.layers:
                src = str((rec or {}).get("source") or self.extents.source.get(layer, ""))
                flag = bool(rec["notional"]) if rec and "notional" in rec else (
                    self.notional or "NOTIONAL" in src.upper())
                ext[layer] = {"source": src, "notional": flag, "default": False}
            else:
                ext[layer] = {"source": f"national default: {nat.source.get(layer, '')}",
                              "notional": national_notional(layer), "default": True}
        out["extents"] = ext
        return out

    def notional_parts(self) -> list[str]:
        """The parts of this plan that are NOTIONAL (illustrative) although the plan itself is not: e.g.
        ``["registry", "monitoring extent"]``. Empty for a notional plan (all of it is) and for a plan with none."""
        if self.notional:
            return []
        src = self.part_sources()
        out = [n for n in ("registry", "phases", "sensors") if src[n]["present"] and src[n]["notional"]]
        return out + [f"{layer} extent" for layer, v in src["extents"].items() if v["notional"]]

    def without(self, codes) -> "Plan":
        """What-if: the plan as if these contingents withdrew.

        Each is removed from every sector it leads or supports; a supporting nation then leads, and a
        sector left with nobody becomes unassigned. Their sensors go with them: a sensor manned by a
        withdrawn nation and another stays (the other runs it); one left with nobody is switched off.
        """
        gone = set(codes)
        if not gone:
            return self
        s = self.sectors.copy()
        s["contingents"] = [tuple(c for c in cs if c not in gone) for cs in s["contingents"]]
        s["contingent"] = [";".join(cs) for cs in s["contingents"]]
        sensors = self.sensors
        if len(sensors):
            from .schema import parse_contingents

            left = [";".join(c for c in parse_contingents(v) if c not in gone) for v in sensors["contingent"]]
            keep = [bool(x) or not parse_contingents(v) for x, v in zip(left, sensors["contingent"])]
            sensors = sensors.assign(contingent=left)[keep].reset_index(drop=True)
        return Plan(s, self.contingents, self.extents, self.notional, self.phases, sensors, self.parts)

    # -- time ----------------------------------------------------------------------------------------------
    def periods(self) -> list[tuple[str | None, str | None]]:
        """Each sector's validity ``(from, to)`` (ISO dates, both inclusive, None = open): its own dates, else
        its phase's dates when its ``phase`` names one in the phases table, else always."""
        table = {str(r["name"]): (r["start"] or None, r["end"] or None) for r in self.phases.to_dict("records")}
        out = []
        for row in self.sectors.itertuples(index=False):
            vf = getattr(row, "valid_from", "") or None
            vt = getattr(row, "valid_to", "") or None
            if not vf and not vt:
                vf, vt = table.get(str(getattr(row, "phase", "") or ""), (None, None))
            out.append((vf if isinstance(vf, str) else None, vt if isinstance(vt, str) else None))
        return out

    def active_on(self, day: str) -> np.ndarray:
        """Which sectors are active on ``day`` (``YYYY-MM-DD``): (no from or from ≤ day) and (no to or day ≤ to)."""
        return _active(self.periods(), day)

    def change_dates(self) -> list[str]:
        """The days the set of active sectors can change: every start, and the day after every end."""
        return _change_days(self.periods())

    def intervals(self) -> list[tuple[str | None, str | None]]:
        """Intervals over which the active set is constant: ``[from, to)``, None for the open ends."""
        days = self.change_dates()
        if not days:
            return [(None, None)]
        return [(None, days[0])] + list(zip(days[:-1], days[1:])) + [(days[-1], None)]

    def on(self, day: str | None) -> "Plan":
        """The plan as it stands on ``day``: only the sectors active then (for drawing; the engine takes a mask)."""
        if day is None:
            return self
        s = self.sectors[self.active_on(day)].reset_index(drop=True)
        return Plan(s, self.contingents, self.extents, self.notional, self.phases, self.sensors_on(day), self.parts)

    def sensors_on(self, day: str | None) -> gpd.GeoDataFrame:
        """The sensors in service on ``day`` (their own ``valid_from``/``valid_to``, both inclusive)."""
        if day is None or not len(self.sensors):
            return self.sensors
        return self.sensors[_active(self._sensor_periods(), day)].reset_index(drop=True)

    def _sensor_periods(self) -> list[tuple[str | None, str | None]]:
        return [(str(f) if f else None, str(t) if t else None)
                for f, t in zip(self.sensors["valid_from"], self.sensors["valid_to"])]

    def sensor_change_dates(self) -> list[str]:
        """The days the set of sensors in service can change: every ``valid_from``, and the day after every
        ``valid_to``."""
        return _change_days(self._sensor_periods()) if len(self.sensors) else []

    def phases_on(self, day: str) -> list[str]:
        """The phases whose period holds ``day``."""
        return [str(r["name"]) for r in self.phases.to_dict("records")
                if (not r["start"] or r["start"] <= day) and (not r["end"] or day <= r["end"])]


def _active(periods, day: str) -> np.ndarray:
    """Which of ``(from, to)`` periods (inclusive, None = open) hold ``day``."""
    return np.array([(f is None or f <= day) and (t is None or day <= t) for f, t in periods], dtype=bool)


def _change_days(periods) -> list[str]:
    """The days a set of ``(from, to)`` periods can change: every start, and the day after every end."""
    days = set()
    for f, t in periods:
        if f:
            days.add(f)
        if t and (n := next_day(t)):
            days.add(n)
    return sorted(days)


def next_day(day: str) -> str | None:
    """The day after ``day`` (None after the calendar's last day: an end there changes nothing)."""
    d = date.fromisoformat(day)
    return None if d == date.max else (d + timedelta(days=1)).isoformat()


def empty_sensors() -> gpd.GeoDataFrame:
    """A sensor set with no sensors (the canonical columns)."""
    return gpd.GeoDataFrame({f: pd.Series(dtype=float if f in SENSOR_NUMBERS else object) for f in SENSOR_FIELDS},
                            geometry=gpd.GeoSeries([], crs=4326))


def sensor_attrs(row) -> dict:
    """One sensor's attributes as JSON-able values (the canonical fields; empty numbers as None)."""
    out = {}
    for f in SENSOR_FIELDS:
        v = row.get(f)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            v = None if f in SENSOR_NUMBERS else ""
        elif hasattr(v, "item"):
            v = v.item()
        out[f] = float(v) if f in SENSOR_NUMBERS and v is not None else v
    return out


def sensors_from_rows(attrs: list[dict], geoms: list) -> gpd.GeoDataFrame:
    """A sensor frame from stored attributes and point geometries."""
    if not attrs:
        return empty_sensors()
    frame = pd.DataFrame(attrs, columns=list(SENSOR_FIELDS))
    for f in SENSOR_NUMBERS:
        frame[f] = pd.to_numeric(frame[f], errors="coerce").astype(float)
    for f in set(SENSOR_FIELDS) - set(SENSOR_NUMBERS):
        frame[f] = frame[f].fillna("").astype(str)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(list(geoms), crs=4326))


def sector_attrs(row) -> dict:
    """The attributes of one sector as JSON-able values (canonical fields first, then extras)."""
    out = {}
    for k, v in row.items():
        if k in _DERIVED:
            continue
        if isinstance(v, float) and math.isnan(v):
            v = None
        elif hasattr(v, "item"):
            v = v.item()
        out[k] = v
    return out


def content_hash(plan: Plan) -> str:
    """SHA-256 of the plan's content: sectors sorted by id (attributes + normalised 2-D WKB), registry, extents,
    notional flag."""
    h = hashlib.sha256()
    s = plan.sectors.sort_values("sector_id", kind="stable")
    for (_, row), geom in zip(s.iterrows(), s.geometry):
        h.update(json.dumps(sector_attrs(row), sort_keys=True, ensure_ascii=False, default=str).encode())
        h.update(shapely.to_wkb(shapely.normalize(geom), output_dimension=2, hex=False))
    reg = plan.contingents.sort_values("code").astype(str)
    h.update(reg.to_csv(index=False).encode())
    for name in sorted(plan.extents.layers):
        h.update(name.encode())
        h.update(shapely.to_wkb(shapely.normalize(plan.extents.layers[name]), output_dimension=2))
    if plan.notional:  # notional is part of the data: marking real data notional (or back) is a change
        h.update(b"\x00notional")
    if len(plan.phases):
        h.update(b"\x00phases")
        h.update(plan.phases.sort_values("name").astype(str).to_csv(index=False).encode())
    flagged = _flagged_parts(plan)
    if flagged:  # a part whose notional flag differs from the plan's (absent otherwise: hashes stay what they were)
        h.update(b"\x00notional-parts")
        h.update(json.dumps(flagged, sort_keys=True).encode())
    if len(plan.sensors):  # absent from plans without sensors: their hashes stay what they were
        h.update(b"\x00sensors")
        sen = plan.sensors.sort_values("sensor_id", kind="stable")
        for (_, row), geom in zip(sen.iterrows(), sen.geometry):
            h.update(json.dumps(sensor_attrs(row), sort_keys=True, ensure_ascii=False, default=str).encode())
            h.update(shapely.to_wkb(geom, output_dimension=2))
    return h.hexdigest()


def _flagged_parts(plan: Plan) -> dict:
    """The recorded parts whose notional flag differs from the plan's own (part of the content: a notional
    registry in a real plan is not the same plan as a real one)."""
    own = plan.parts or {}
    out = {}
    for name in ("registry", "phases", "sensors"):
        rec = own.get(name)
        present = name == "registry" or len(getattr(plan, name)) > 0
        if rec and present and "notional" in rec and bool(rec["notional"]) != bool(plan.notional):
            out[name] = bool(rec["notional"])
    for layer, rec in sorted((own.get("extents") or {}).items()):
        if layer in plan.extents.layers and "notional" in rec and bool(rec["notional"]) != bool(plan.notional):
            out[f"extent:{layer}"] = bool(rec["notional"])
    return out
