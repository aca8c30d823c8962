"""The plan workflow: propose → preview → commit, the one place that joins ingest, store and engine.

Both the command line (``import``, ``rollback``, ``diff``, ``analyze --revision``) and the dashboard
pages (upload, history, map) go through here, so what a preview shows is exactly what the commit does:

- :func:`propose` reads what the user offers (a sector file, a contingents registry, an extents file —
  any of them), merges it into the base revision by **scope**, validates the whole, analyses it once and
  returns a :class:`Proposal` holding the new plan, its change list and its coverage effect;
- :func:`commit` stores that proposal as a new revision (the store is handed the summary, it never runs
  the engine); :func:`refresh` re-proposes the same inputs against a newer revision after a conflict;
- :func:`rollback` and :func:`diff` for history; :func:`open_store` seeds an empty store with the sample.

Scopes (what an import replaces):

``layers`` (default)
    The file replaces every sector of the coverage layers it holds (air zones, sea zones, land zones,
    monitoring sectors); the other layers are kept as they are.
``sectors``
    Upsert by ``sector_id``: the file's sectors are added or replace those with the same id; all
    others are kept.
``all``
    The file is the whole plan: every sector not in it is removed.

Examples
--------
>>> import tempfile
>>> st = open_store(tempfile.mkdtemp())
>>> st.current().id, st.current().notional
(1, True)
>>> p = propose(st, sectors=None, contingents=None, extents=None)
Traceback (most recent call last):
...
ua_coverage.errors.UsageError: nothing to import: give a sector file, a contingents registry, an extents file, a phases table or a sensor file
"""
from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass, field

from .domains import Extents
from .errors import CoverageError, IngestError, Problem, UsageError
from .plan import Plan, content_hash
from .schema import LAYERS
from .settings import Limits

SCOPES = ("layers", "sectors", "all")
DEFAULT_SCOPE = "layers"


# -- opening the store -------------------------------------------------------------------------------------
def seed_sample(store) -> None:
    """Commit the bundled NOTIONAL sample plan as revision 1 of an empty store."""
    plan = sample_plan()
    store.commit(plan, base=0, author="ua-coverage", message="Seeded with the NOTIONAL sample plan",
                 source_name="sample/sectors.geojson", source_format="GeoJSON", summary=summary_of(analyze_plan(plan, measures=False)))


def open_store(data_dir=None, *, url: str | None = None, seed: bool = True):
    """The plan store (see :func:`ua_coverage.store.open_store`), seeded with the sample when empty."""
    from .store import open_store as _open

    return _open(data_dir, url=url, seed=seed_sample if seed else None)


# -- the sample plan ---------------------------------------------------------------------------------------
def sample_plan() -> Plan:
    """The bundled NOTIONAL sample plan with its own areas of responsibility."""
    from . import geodata
    from .domains import sample_extents
    from .ingest import load_sectors
    from .ingest.phases import read_phases
    from .ingest.registry import read_contingents

    reg = read_contingents(geodata.sample_contingents_path())
    res = load_sectors(geodata.sample_sectors_path(), registry=set(reg["code"]), strict=True, isolate=False)
    plan = Plan(res.sectors, reg, sample_extents(), notional=True, phases=read_phases(geodata.sample_phases_path()),
                sensors=_sample_sensors(set(reg["code"])))
    plan.parts = record_parts(plan, SAMPLE_PARTS)
    return plan


#: where the sample's parts come from (all NOTIONAL)
SAMPLE_PARTS = {"registry": "sample/contingents.csv (NOTIONAL sample)", "phases": "sample/phases.csv (NOTIONAL sample)",
                "sensors": "sample/sensors.geojson (NOTIONAL sample)"}
#: the parts of a plan besides its sectors, each chosen on its own with scope ``all``
PARTS = ("extents", "registry", "phases", "sensors")


def record_parts(plan: Plan, sources: dict | None = None, notional: dict | None = None) -> dict:
    """The complete record of a plan's parts (what a revision keeps): :meth:`Plan.part_sources` with the given
    ``sources`` and ``notional`` flags (by part name, or ``extents`` → {layer: ...}) on top."""
    rec = plan.part_sources()
    for name, src in (sources or {}).items():
        if name == "extents":
            for layer, s in src.items():
                rec["extents"][layer]["source"] = s
        elif rec[name]["present"]:
            rec[name]["source"] = src
    for name, flag in (notional or {}).items():
        if name == "extents":
            for layer, f in flag.items():
                if not rec["extents"][layer]["default"]:
                    rec["extents"][layer]["notional"] = bool(f)
        elif rec[name]["present"]:
            rec[name]["notional"] = bool(flag)
    return rec


def national_registry(codes, colours_from=None):
    """A registry of the nations ``codes`` names: ISO 3166-1 English short names, the colour ``colours_from`` (a
    registry) gives a nation it lists, a suggested distinct colour otherwise. Returns ``(registry, codes that are no
    country)``."""
    import pandas as pd

    from .colours import suggest
    from .ingest.nations import is_country, name_of

    codes = sorted(set(codes))
    known = dict(zip(colours_from["code"], colours_from["colour"])) if colours_from is not None else {}
    unknown = [c for c in codes if not is_country(c)]
    codes = [c for c in codes if is_country(c)]
    fresh = [c for c in codes if c not in known]
    extra = dict(zip(fresh, suggest([known[c] for c in codes if c in known], len(fresh)) if fresh else []))
    frame = pd.DataFrame({"code": codes, "name": [name_of(c) for c in codes],
                          "colour": [known.get(c) or extra[c] for c in codes], "notes": [""] * len(codes)},
                         columns=["code", "name", "colour", "notes"])
    return frame, unknown


def _sample_sensors(registry: set[str]):
    from . import geodata
    from .ingest.sensors import read_sensors

    sensors, problems, _ = read_sensors(geodata.sample_sensors_path(), registry=registry)
    if problems:  # the bundled file is checked by the tests; this would be a packaging fault
        raise IngestError(f"the sample sensor set is broken: {problems[0]}", problems=problems)
    return sensors


def analyze_sample(min_area_km2: float | None = None):
    """Analyse the bundled NOTIONAL sample plan against its own extents.

    >>> r = analyze_sample()
    >>> sorted(r.domains)
    ['air', 'land', 'monitoring', 'sea']
    """
    return analyze_plan(sample_plan(), **({} if min_area_km2 is None else {"min_area_km2": min_area_km2}))


def plan_from_files(sector_file=None, *, contingents=None, extents=None, repair: bool = False,
                    layer: str | None = None, encoding: str | None = None, phases=None, mapping=None,
                    crs: int | None = None, base=None, keep=()):
    """A plan from local files for analysis (lenient: no upload limits, unknown codes reported, not refused).

    With no ``sector_file``, the NOTIONAL sample plan with its own extents, phases and sensors. A file is the
    whole plan, measured as ``import FILE --scope all`` would: the national extents (``extents`` replaces the
    layers it names), no phases, no sensors. ``base`` is ``(plan, label)`` of a stored revision (the plan store's
    current one, where a store exists): its registry is used when no ``contingents`` is given, and the parts named in
    ``keep`` (``extents``, ``phases``, ``sensors``, ``registry``) are taken from it. ``mapping`` and ``crs`` are the
    file's field mapping and declared CRS (see :func:`ua_coverage.ingest.read_sectors`).

    Returns ``(plan, warnings, sectors_label, registry_label)``; ``plan.parts`` records where each part came from.
    Raises :class:`~ua_coverage.errors.ValidationError` if the file breaks a rule other than the limits.
    """
    from pathlib import Path

    from . import geodata
    from .domains import sample_extents
    from .ingest import load_sectors
    from .ingest.extents import read_extents
    from .ingest.registry import read_contingents

    sample = sector_file is None
    keep = set(keep or ())
    if keep and base is None:
        raise UsageError("--keep takes parts of a stored revision: give --revision N or --data-dir DIR",
                         rule="parts-invalid")
    sector_path = geodata.sample_sectors_path() if sample else Path(sector_file)
    base_plan, base_label = base if base is not None else (None, "")
    sources: dict = {"extents": {}}
    flags: dict = {"extents": {}}
    if contingents:
        reg_path = Path(contingents)
        registry = read_contingents(reg_path)
        sources["registry"], flags["registry"] = reg_path.name, False
    elif base_plan is not None and not sample:
        registry, reg_path = base_plan.contingents, base_label
        prior = base_plan.part_sources()["registry"]
        sources["registry"] = _kept(prior["source"], base_label)
        flags["registry"] = prior["notional"]
    else:
        reg_path = geodata.sample_contingents_path()
        registry = read_contingents(reg_path)
        sources["registry"], flags["registry"] = SAMPLE_PARTS["registry"], True
    res = load_sectors(sector_path, strict=False, repair=repair, layer=layer, encoding=encoding,
                       **({} if sample else {"mapping": mapping, "crs": crs}))
    from .ingest.phases import read_phases

    if sample:
        own = sample_extents()
    elif "extents" in keep:
        own = base_plan.extents
        prior = base_plan.part_sources()["extents"]
        for layer_ in own.layers:
            sources["extents"][layer_] = _kept(prior[layer_]["source"], base_label)
            flags["extents"][layer_] = prior[layer_]["notional"]
    else:
        own = Extents({}, {})
    if extents:
        given = read_extents(extents)
        own = own.replace(given)
        for layer_ in given.layers:
            sources["extents"][layer_], flags["extents"][layer_] = Path(extents).name, False
    table, sensor_set = None, None
    if phases is not None:
        table = read_phases(phases)
        sources["phases"], flags["phases"] = Path(phases).name, False
    elif sample:
        table = read_phases(geodata.sample_phases_path())
        sources["phases"], flags["phases"] = SAMPLE_PARTS["phases"], True
    elif "phases" in keep:
        table = base_plan.phases
        sources["phases"] = _kept(base_plan.part_sources()["phases"]["source"], base_label)
        flags["phases"] = base_plan.part_sources()["phases"]["notional"]
    if sample:
        sensor_set = _sample_sensors(set(registry["code"]))
        sources["sensors"], flags["sensors"] = SAMPLE_PARTS["sensors"], True
    elif "sensors" in keep:
        sensor_set = base_plan.sensors
        sources["sensors"] = _kept(base_plan.part_sources()["sensors"]["source"], base_label)
        flags["sensors"] = base_plan.part_sources()["sensors"]["notional"]
    plan = Plan(res.sectors, registry, own, notional=sample)
    if table is not None:
        plan.phases = table
    if sensor_set is not None:
        plan.sensors = sensor_set
    plan.parts = record_parts(plan, sources, flags)
    return plan, res.warnings, sector_path, reg_path


def existing_store(data_dir=None, *, url: str | None = None, create: bool = False):
    """The plan store when one exists (``data_dir`` given, a database URL set, or a ``plan.sqlite`` in the resolved
    data directory), else None — so that ``validate`` and ``analyze FILE`` answer against the store's registry where
    there is one, without making one where there is none (``create`` makes it anyway)."""
    import os

    from .store import resolve_data_dir

    if create or data_dir or url or os.environ.get("UA_COVERAGE_DATABASE_URL") or (
            resolve_data_dir(None) / "plan.sqlite").exists():
        return open_store(data_dir, url=url)
    return None


def answer_basis(store, revision=None, *, contingents=None, scope: str = "all", keep=(), defaults=()) -> dict:
    """What ``validate`` and ``analyze FILE`` answer against, as ``import`` would: ``{"plan": base plan or None,
    "label": "revision N", "registry": frame, "registry_source": text, "extent_source": {LAYER: text},
    "info": RevisionInfo or None}``. The registry is ``contingents`` (a path), else the stored revision's
    (``revision``, default the current one; see :func:`existing_store`), else the sample's; the extents are those
    :func:`part_choices` picks for ``scope``."""
    from pathlib import Path

    from . import geodata
    from .domains import national_extents
    from .ingest.registry import read_contingents

    info = plan = None
    if store is not None:
        info = store.current() if revision in (None, "current") else store.revision(int(revision))
        plan = store.load(info.id)
    elif revision not in (None, "current"):
        raise UsageError("--revision needs a plan store (--data-dir DIR)")
    label = f"revision {info.id}" if info else ""
    keep, defaults = check_parts(keep, defaults, given={"registry": contingents is not None})
    choice = part_choices(scope, keep, defaults, given={"registry": contingents is not None})
    if contingents is not None:
        registry, reg_source = read_contingents(contingents), Path(contingents).name
    elif plan is not None and choice["registry"] == "keep":
        registry = plan.contingents
        reg_source = _kept(plan.part_sources()["registry"]["source"], info.id)
    elif choice["registry"] == "national":
        registry, reg_source = None, "ISO 3166-1 names of the nations the plan assigns"
    else:
        registry, reg_source = read_contingents(geodata.sample_contingents_path()), SAMPLE_PARTS["registry"]
    nat = national_extents()
    ext = {}
    own = plan.part_sources()["extents"] if plan is not None else {}
    for layer in LAYERS:
        if plan is not None and choice["extents"] == "keep" and not own[layer]["default"]:
            ext[layer] = _kept(own[layer]["source"], info.id)
        else:
            ext[layer] = f"national default: {nat.source.get(layer, '')}"
    return {"plan": plan, "info": info, "label": label, "registry": registry, "registry_source": reg_source,
            "extent_source": ext, "choices": choice}


# -- analysis ------------------------------------------------------------------------------------------------
def analyze_plan(plan: Plan, *, at: str | None = None, measures: bool = True, **kw):
    """The engine's :func:`~ua_coverage.engine.analyze` of a whole plan against its full extents (on day ``at``:
    only the sectors active that day). With ``measures`` (the default: every view) the pieces carry their measures;
    a revision's summary (commit, preview, seeding) needs only the figures and skips them."""
    from .engine import analyze

    if at is not None:
        kw["active"] = plan.active_on(at)
    analysis = analyze(plan.sectors, plan.full_extents(), plan.contingents, **kw)
    if measures:
        _piece_measures(analysis, plan, at, kw.get("active"))
    return analysis


def _piece_measures(analysis, plan: Plan, at: str | None, active=None) -> None:
    """The measures of a view's gap and overlap pieces, added to the pieces every surface reads (the JSON, the page's
    tables and hovers, the pack): by whom (``candidates``) and since when (``since``/``until`` on a day,
    ``on_no_day`` for the whole plan). Each is one engine module over the analysis."""
    from .engine.candidates import gap_candidates
    from .engine.persistence import piece_runs

    for g, c in zip(analysis.gaps, gap_candidates(analysis, plan.full_extents())):
        g["candidates"] = c
    runs = piece_runs(analysis, plan, at)
    for g, r in zip(analysis.gaps, runs["gaps"]):
        g.update(r)
    for o, r in zip(analysis.overlaps, runs["overlaps"]):
        o.update(r)


def summary_of(analysis) -> dict:
    """What a revision keeps of its analysis (shown in the history, used for coverage effects)."""
    return {"domains": analysis.domains, "unassigned_sectors": analysis.unassigned_sectors,
            "unknown_contingents": analysis.unknown_contingents}


def _summary(store, info) -> dict:
    """A revision's summary; computed (not stored back) for a revision committed without one."""
    if info.summary.get("domains"):
        return info.summary
    return summary_of(analyze_plan(store.load(info.id), measures=False))


# -- proposals -------------------------------------------------------------------------------------------------
@dataclass
class Inputs:
    """What the user offered, parsed and validated on its own (kept so a proposal can be refreshed)."""

    sectors: object = None  # canonical GeoDataFrame, or None
    contingents: object = None  # registry DataFrame, or None
    extents: Extents | None = None
    phases: object = None  # phases table DataFrame, or None
    sensors: object = None  # sensor set GeoDataFrame, or None
    scope: str = DEFAULT_SCOPE
    notional: bool = False
    source_name: str = ""
    source_format: str = ""
    warnings: list = field(default_factory=list)
    #: parts to keep from the base revision / to take national defaults for (see :func:`part_choices`)
    keep: tuple = ()
    defaults: tuple = ()
    #: each offered file's name, by input ("contingents", "extents", "phases", "sensors")
    labels: dict = field(default_factory=dict)


@dataclass
class Proposal:
    """A validated change waiting for commit: the whole new plan, what it changes, what that does."""

    base: int
    inputs: Inputs
    plan: Plan | None = None
    problems: list[Problem] = field(default_factory=list)
    diff: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    removed_by_scope: dict = field(default_factory=dict)
    registry_notes: list[str] = field(default_factory=list)
    unknown_codes: list[str] = field(default_factory=list)
    changed: bool = False
    #: each part of the new plan: ``{"choices": {PART: "file" | "keep" | "national"}, "sources": record}``
    #: (see :func:`record_parts`), what the preview lists
    parts: dict = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return not self.problems

    @property
    def warnings(self) -> list[Problem]:
        return self.inputs.warnings

    def to_bytes(self) -> bytes:
        """The proposal as data: JSON, its plans as the store keeps a revision (attributes, WKB geometry).

        Never a pickle: the bytes wait in the store, and whoever could write there must not be able to make the
        server run anything when they are read back.
        """
        doc = {"format": PROPOSAL_FORMAT, "version": PROPOSAL_VERSION, "base": int(self.base),
               "inputs": _inputs_doc(self.inputs), "plan": None if self.plan is None else _plan_doc(self.plan),
               "problems": [_problem_doc(p) for p in self.problems], "diff": self.diff, "summary": self.summary,
               "removed_by_scope": self.removed_by_scope, "registry_notes": list(self.registry_notes),
               "unknown_codes": list(self.unknown_codes), "changed": bool(self.changed), "parts": self.parts}
        return json.dumps(doc, ensure_ascii=False, default=_plain).encode("utf-8")

    @staticmethod
    def from_bytes(data: bytes) -> "Proposal":
        """The proposal :meth:`to_bytes` wrote; raises :class:`ProposalUnreadable` for anything else (another
        format or version, damaged or altered bytes) — such bytes are data that fails to decode, never code."""
        try:
            doc = json.loads(bytes(data).decode("utf-8"))
        except Exception as exc:  # noqa: BLE001 - not UTF-8, not JSON, nested too deeply: not ours
            raise ProposalUnreadable(f"not a pending proposal ({type(exc).__name__})") from None
        if not isinstance(doc, dict) or doc.get("format") != PROPOSAL_FORMAT:
            raise ProposalUnreadable("not a pending proposal")
        if doc.get("version") != PROPOSAL_VERSION:
            raise ProposalUnreadable(f"a pending proposal of format version {doc.get('version')!r}, not "
                                     f"{PROPOSAL_VERSION}")
        try:
            return Proposal(
                base=int(doc["base"]), inputs=_inputs_from(doc["inputs"]),
                plan=None if doc["plan"] is None else _plan_from(doc["plan"]),
                problems=[_problem_from(p) for p in doc["problems"]], diff=_dict(doc["diff"]),
                summary=_dict(doc["summary"]), removed_by_scope=_dict(doc["removed_by_scope"]),
                registry_notes=[str(n) for n in doc["registry_notes"]],
                unknown_codes=[str(c) for c in doc["unknown_codes"]], changed=bool(doc["changed"]),
                parts=_dict(doc.get("parts", {})))
        except Exception as exc:  # noqa: BLE001 - whatever is wrong inside, the bytes are not a proposal
            raise ProposalUnreadable(f"a damaged pending proposal ({type(exc).__name__}: {str(exc)[:200]})") from None


#: what :meth:`Proposal.to_bytes` writes; bytes of another format or version are an expired preview
PROPOSAL_FORMAT, PROPOSAL_VERSION = "ua-coverage/proposal", 1


class ProposalUnreadable(ValueError):
    """Bytes that are not a pending proposal of this format version (an older server wrote them, or they were
    damaged or altered in the store)."""


def _plain(v):
    """JSON for the values a diff or summary may hold besides JSON's own (numpy scalars, dates, sets)."""
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        return v.item() if getattr(v, "ndim", 0) == 0 else v.tolist()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, (set, frozenset)):
        return sorted(v)
    raise TypeError(f"a {type(v).__name__} cannot be kept in a pending proposal")


def _dict(v) -> dict:
    if not isinstance(v, dict):
        raise TypeError(f"expected an object, found {type(v).__name__}")
    return v


def _wkb_out(wkb: bytes) -> str:
    import base64

    return base64.b64encode(wkb).decode("ascii")


def _wkb_in(text: str) -> bytes:
    import base64

    return base64.b64decode(text.encode("ascii"), validate=True)


def _columns(frame, doc: dict):
    """``frame`` with the columns, in the order, of the frame that was encoded (the store's rows keep no order)."""
    cols = [str(c) for c in doc["columns"]]
    if set(cols) == {str(c) for c in frame.columns}:
        return frame[cols]
    if not len(frame):
        return frame.reindex(columns=cols)
    raise ValueError(f"columns {sorted(map(str, frame.columns))} where {sorted(cols)} were kept")


def _sectors_doc(frame) -> dict:
    from .store.sql import sector_rows

    rows = sector_rows(frame)
    return {"columns": [str(c) for c in frame.columns], "attrs": [json.loads(a) for _, a, _ in rows],
            "wkb": [_wkb_out(g) for _, _, g in rows]}


def _sectors_from(doc: dict):
    import geopandas as gpd

    from .store.sql import sectors_from_rows

    frame = sectors_from_rows([_dict(a) for a in doc["attrs"]], [_wkb_in(g) for g in doc["wkb"]])
    return gpd.GeoDataFrame(_columns(frame, doc), geometry="geometry", crs=4326)


def _table_doc(frame, rows_of) -> dict:
    return {"columns": [str(c) for c in frame.columns], "rows": [json.loads(r) for r in rows_of(frame)]}


def _table_from(doc: dict, fill=None):
    import pandas as pd

    frame = pd.DataFrame([_dict(r) for r in doc["rows"]], columns=[str(c) for c in doc["columns"]])
    return frame if fill is None else frame.fillna(fill)


def _sensors_doc(frame) -> dict:
    from .store.sql import sensor_rows

    rows = sensor_rows(frame)
    return {"attrs": [json.loads(a) for _, a, _ in rows], "wkb": [_wkb_out(g) for _, _, g in rows]}


def _sensors_from(doc: dict):
    import shapely

    from .plan import sensors_from_rows

    return sensors_from_rows([_dict(a) for a in doc["attrs"]], shapely.from_wkb([_wkb_in(g) for g in doc["wkb"]]))


def _extents_doc(ext: Extents) -> dict:
    from .store.sql import extent_rows

    return {"layers": {layer: _wkb_out(g) for layer, _, g in extent_rows(ext)}, "source": dict(ext.source)}


def _extents_from(doc: dict) -> Extents:
    from .store.sql import extents_from_rows

    source = {str(k): str(v) for k, v in _dict(doc["source"]).items()}
    layers = extents_from_rows([(str(k), "", _wkb_in(g)) for k, g in _dict(doc["layers"]).items()]).layers
    return Extents(layers, source)


def _problem_doc(p: Problem) -> dict:
    from dataclasses import asdict

    return asdict(p)


def _problem_from(doc: dict) -> Problem:
    from dataclasses import fields

    return Problem(**{f.name: _dict(doc)[f.name] for f in fields(Problem) if f.name in doc})


def _plan_doc(plan: Plan) -> dict:
    from .store.sql import phase_rows, registry_rows

    return {"notional": bool(plan.notional), "parts": plan.parts or {}, "sectors": _sectors_doc(plan.sectors),
            "contingents": _table_doc(plan.contingents, registry_rows), "extents": _extents_doc(plan.extents),
            "phases": _table_doc(plan.phases, phase_rows), "sensors": _sensors_doc(plan.sensors)}


def _plan_from(doc: dict) -> Plan:
    return Plan(_sectors_from(doc["sectors"]), _table_from(doc["contingents"]), _extents_from(doc["extents"]),
                notional=bool(doc["notional"]), phases=_table_from(doc["phases"], ""),
                sensors=_sensors_from(doc["sensors"]), parts=_dict(doc.get("parts", {})))


def _inputs_doc(inp: Inputs) -> dict:
    from .store.sql import phase_rows, registry_rows

    def opt(v, enc):
        return None if v is None else enc(v)

    return {"sectors": opt(inp.sectors, _sectors_doc),
            "contingents": opt(inp.contingents, lambda f: _table_doc(f, registry_rows)),
            "extents": opt(inp.extents, _extents_doc), "phases": opt(inp.phases, lambda f: _table_doc(f, phase_rows)),
            "sensors": opt(inp.sensors, _sensors_doc), "scope": inp.scope, "notional": bool(inp.notional),
            "source_name": inp.source_name, "source_format": inp.source_format,
            "warnings": [_problem_doc(w) for w in inp.warnings], "keep": list(inp.keep),
            "defaults": list(inp.defaults), "labels": dict(inp.labels)}


def _inputs_from(doc: dict) -> Inputs:
    def opt(key, dec):
        return None if doc[key] is None else dec(doc[key])

    scope = str(doc["scope"])
    if scope not in SCOPES:
        raise ValueError(f"scope {scope!r}")
    return Inputs(sectors=opt("sectors", _sectors_from), contingents=opt("contingents", _table_from),
                  extents=opt("extents", _extents_from), phases=opt("phases", lambda d: _table_from(d, "")),
                  sensors=opt("sensors", _sensors_from), scope=scope, notional=bool(doc["notional"]),
                  source_name=str(doc["source_name"]), source_format=str(doc["source_format"]),
                  warnings=[_problem_from(w) for w in doc["warnings"]],
                  keep=tuple(str(k) for k in doc.get("keep", ()) if str(k) in PARTS),
                  defaults=tuple(str(k) for k in doc.get("defaults", ()) if str(k) in PARTS),
                  labels={str(k): str(v) for k, v in _dict(doc.get("labels", {})).items()})


def check_parts(keep=(), defaults=(), *, given: dict | None = None) -> tuple[tuple, tuple]:
    """``--keep`` and ``--defaults`` checked: known parts, each named once, none also given as a file (an extents
    file may be laid over kept or national extents). Raises :class:`UsageError` (``parts-invalid``)."""
    keep, defaults = tuple(dict.fromkeys(keep or ())), tuple(dict.fromkeys(defaults or ()))
    bad = [p for p in keep + defaults if p not in PARTS]
    if bad:
        raise UsageError(f"{', '.join(bad)} is not a part of a plan; the parts are {', '.join(PARTS)}",
                         rule="parts-invalid")
    both = sorted(set(keep) & set(defaults))
    if both:
        raise UsageError(f"{', '.join(both)}: keep the current one or take the national default, not both",
                         rule="parts-invalid")
    flag = {"registry": "--contingents", "phases": "--phases", "sensors": "--sensors"}
    clash = [p for p in keep + defaults if p in flag and (given or {}).get(p)]
    if clash:
        raise UsageError(f"{', '.join(clash)} is given as a file ({', '.join(flag[p] for p in clash)}) and also named "
                         "in --keep/--defaults; choose one", rule="parts-invalid")
    return keep, defaults


def part_choices(scope: str, keep=(), defaults=(), given: dict | None = None) -> dict[str, str]:
    """Where each part of the new plan comes from: ``file`` (offered with the import), ``keep`` (the base
    revision's) or ``national`` (national extents; no phases; no sensors; a registry of ISO 3166-1 names).

    With scope ``layers`` or ``sectors`` a part not offered is kept; with ``all`` (the file is the whole plan) the
    extents, phases and sensors are the national defaults unless kept, and the registry is kept (it says which
    nations exist) unless ``defaults`` names it. An extents file lays its layers over the kept or national ones.
    """
    given = given or {}
    out = {}
    for part in PARTS:
        if given.get(part) and part != "extents":
            out[part] = "file"
        elif part in keep:
            out[part] = "keep"
        elif part in defaults:
            out[part] = "national"
        else:
            out[part] = "national" if scope == "all" and part != "registry" else "keep"
    return out


def read_inputs(*, sectors=None, contingents=None, extents=None, phases=None, sensors=None,
                scope: str = DEFAULT_SCOPE,
                notional: bool = False, repair: bool = False, layer: str | None = None,
                encoding: str | None = None, limits: Limits | None = None, registry: set[str] | None = None,
                sectors_name: str | None = None, mapping=None, crs: int | None = None, keep=(),
                defaults=()) -> tuple[Inputs, list[Problem]]:
    """Read and check each offered file on its own (strict upload rules). Returns inputs and problems.

    ``mapping`` (``--field``/``--set``) and ``crs`` (``--crs``) apply to the sector file; ``keep`` and ``defaults``
    choose the parts not offered (see :func:`part_choices`)."""
    from pathlib import Path

    from .ingest import read_sectors
    from .ingest.extents import read_extents
    from .ingest.phases import read_phases
    from .ingest.registry import read_contingents

    if scope not in SCOPES:
        raise UsageError(f"scope {scope!r} is not one of {', '.join(SCOPES)}", rule="scope-invalid")
    if sectors is None and contingents is None and extents is None and phases is None and sensors is None:
        raise UsageError("nothing to import: give a sector file, a contingents registry, an extents file, a "
                         "phases table or a sensor file", rule="nothing-to-import")
    keep, defaults = check_parts(keep, defaults, given={"registry": contingents is not None,
                                                        "phases": phases is not None, "sensors": sensors is not None})
    limits = limits or Limits.from_env()
    inp = Inputs(scope=scope, notional=notional, keep=keep, defaults=defaults)
    problems: list[Problem] = []
    names = []
    tables = (("contingents", contingents, "contingents registry", read_contingents),
              ("extents", extents, "extents file",
               lambda src: read_extents(src, limits=limits, label=_label(src, "extents file"))),
              ("phases", phases, "phases table", read_phases))
    for attr, source, what, read in tables:  # each read on its own: every file's problems are reported
        if source is None:
            continue
        try:
            setattr(inp, attr, read(source))
            got = getattr(inp, attr)
            inp.warnings += list(getattr(got, "attrs", {}).get("warnings", []) or [])
        except IngestError as exc:
            problems += exc.problems
        names.append(_label(source, what))
        inp.labels[attr] = _label(source, what)
    reg = set(inp.contingents["code"]) if inp.contingents is not None else registry
    if inp.contingents is None and "registry" in defaults:
        reg = None  # a registry of ISO 3166-1 names is made for the nations the plan uses: checked on the whole plan
    if sensors is not None:
        from .ingest.sensors import read_sensors

        frame, sensor_problems, sensor_warnings = read_sensors(sensors, registry=reg, strict=True, limits=limits)
        problems += sensor_problems
        inp.warnings += sensor_warnings
        inp.sensors = frame
        names.append(_label(sensors, "sensor file"))
        inp.labels["sensors"] = _label(sensors, "sensor file")
    if sectors is not None:
        res = read_sectors(sectors, registry=reg, strict=True, repair=repair, limits=limits, layer=layer,
                           encoding=encoding, mapping=mapping, crs=crs)
        problems += res.problems
        inp.warnings += res.warnings
        inp.sectors = res.sectors if res.accepted else None
        inp.source_format = res.format
        names.insert(0, sectors_name or (Path(sectors).name if not isinstance(sectors, (bytes, bytearray))
                                         else "the uploaded file"))
    else:
        inp.source_format = "extents" if inp.extents is not None else "sensors" if inp.sensors is not None else "CSV"
    inp.source_name = " + ".join(names)
    return inp, problems


def read_registry(source):
    """A contingents registry from a path or uploaded bytes (raises :class:`~ua_coverage.errors.IngestError`)."""
    from .ingest.registry import read_contingents

    return read_contingents(source)


def _label(source, what: str) -> str:
    from pathlib import Path

    return what if isinstance(source, (bytes, bytearray, memoryview)) else Path(source).name


def propose(store, *, sectors=None, contingents=None, extents=None, phases=None, sensors=None,
            scope: str = DEFAULT_SCOPE,
            notional: bool = False, base: int | None = None, repair: bool = False, layer: str | None = None,
            encoding: str | None = None, limits: Limits | None = None, sectors_name: str | None = None,
            progress=None, mapping=None, crs: int | None = None, keep=(), defaults=()) -> Proposal:
    """Validate what the user offers against a base revision and work out exactly what committing does.

    Parameters
    ----------
    store : the plan store.
    sectors, contingents, extents, phases, sensors : a path or the uploaded bytes of each; at least one (a
        sensor file replaces the plan's whole sensor set).
    scope : ``layers`` (default), ``sectors`` or ``all`` — see the module docs.
    notional : mark the new revision as notional (illustrative) data.
    base : the revision the change is based on (default: the current one).
    mapping, crs : the sector file's field mapping (``--field``/``--set``) and declared CRS (``--crs``).
    keep, defaults : parts (``extents``, ``registry``, ``phases``, ``sensors``) to keep from the base revision / to
        take the national defaults for (see :func:`part_choices`; scope ``all`` takes the national extents, no phases
        and no sensors unless kept).

    Returns
    -------
    Proposal
        ``problems`` (empty when accepted), the new ``plan``, its ``diff`` (with the coverage effect),
        ``removed_by_scope`` (what each scope would remove) and ``changed`` (False: nothing to commit).
    """
    base_id = store.current().id if base is None else int(base)
    base_plan = store.load(base_id)
    inputs, problems = read_inputs(sectors=sectors, contingents=contingents, extents=extents, phases=phases,
                                   sensors=sensors, scope=scope,
                                   notional=notional, repair=repair, layer=layer, encoding=encoding,
                                   limits=limits, registry=base_plan.registry(), sectors_name=sectors_name,
                                   mapping=mapping, crs=crs, keep=keep, defaults=defaults)
    if problems:
        prop = Proposal(base=base_id, inputs=inputs, problems=problems)
        prop.unknown_codes = sorted({_code_of(p) for p in problems if p.rule == "contingent-unknown"} - {""})
        return prop
    return _build(store, base_id, base_plan, inputs, progress, limits or Limits.from_env())


def _code_of(p: Problem) -> str:
    import re

    m = re.search(r"contingent '([A-Z]{3})'", p.message)
    return m.group(1) if m else ""


def refresh(store, proposal: Proposal, limits: Limits | None = None) -> Proposal:
    """The same inputs proposed again against the current revision (after a conflict)."""
    cur = store.current().id
    return _build(store, cur, store.load(cur), proposal.inputs, None, limits or Limits.from_env())


def air_band_count(sectors) -> int:
    """How many altitude bands the air layer forms: one between each pair of distinct limits (the cost driver)."""
    import numpy as np

    air = sectors[sectors["layer"] == "air"] if len(sectors) else sectors
    if not len(air):
        return 0
    levels = {0.0}
    for col in ("floor_ft", "ceiling_ft"):
        if col in air:
            v = np.asarray(air[col], dtype=float)
            levels.update(v[~np.isnan(v)].tolist())
    return len(levels)


def _build(store, base_id: int, base_plan: Plan, inputs: Inputs, progress, limits: Limits) -> Proposal:
    from .engine.diff import change_count, coverage_effect_of, diff_plans

    import pandas as pd

    from .plan import PHASE_FIELDS, empty_sensors

    prop = Proposal(base=base_id, inputs=inputs)
    sectors, prop.removed_by_scope = _merge(base_plan.sectors, inputs.sectors, inputs.scope)
    choice = part_choices(inputs.scope, inputs.keep, inputs.defaults,
                          given={"registry": inputs.contingents is not None, "phases": inputs.phases is not None,
                                 "sensors": inputs.sensors is not None})
    # every part the import does not bring is chosen, never inherited silently (see part_choices)
    ext_base = base_plan.extents if choice["extents"] == "keep" else Extents({}, {})
    extents = ext_base.replace(inputs.extents) if inputs.extents is not None else ext_base
    sensor_set = inputs.sensors if inputs.sensors is not None else (
        base_plan.sensors if choice["sensors"] == "keep" else empty_sensors())
    phase_table = inputs.phases if inputs.phases is not None else (
        base_plan.phases if choice["phases"] == "keep" else pd.DataFrame(columns=list(PHASE_FIELDS)))
    not_countries: list[str] = []
    if inputs.contingents is not None:
        registry = inputs.contingents
    elif choice["registry"] == "national":
        from .schema import parse_contingents

        used = {c for cs in sectors["contingents"] for c in cs} | {
            c for v in sensor_set["contingent"] for c in parse_contingents(v)}
        registry, not_countries = national_registry(used, base_plan.contingents)
    else:
        registry = base_plan.contingents
    prop.problems = _plan_problems(sectors, registry, inputs, sensor_set)
    for code in not_countries:  # a national registry names countries only
        prop.problems = [p for p in prop.problems if _code_of(p) != code]
        prop.problems.append(Problem("contingent-unknown", f"contingent '{code}' is not an ISO 3166-1 country, so a "
                                     "registry of national names cannot list it; give a registry (--contingents CSV)",
                                     field="contingent"))
    bands = air_band_count(sectors)
    if bands > limits.max_air_bands:  # refused up front: the analysis would take minutes and gigabytes
        prop.problems.append(Problem("band-limit", f"the air zones form {bands} altitude bands (from their distinct "
                                     f"floor_ft/ceiling_ft values); the limit is {limits.max_air_bands}"))
    if prop.problems:
        return prop
    prop.registry_notes = _registry_notes(base_plan.contingents, registry)
    plan = Plan(sectors, registry, extents, notional=inputs.notional, phases=phase_table, sensors=sensor_set)
    plan.parts = _parts_record(plan, base_plan, base_id, inputs, choice)
    prop.parts = {"choices": choice, "sources": plan.parts}
    inputs.warnings = [w for w in inputs.warnings if w.rule != "phase-unknown"] + _phase_warnings(plan)
    prop.plan = plan
    base_info = store.revision(base_id)
    prop.diff = diff_plans(base_plan, plan, base_info, None)
    prop.diff["parts"] = parts_diff(base_plan, plan)
    # a change is what a person would call one: a round trip through another format (dates as text,
    # 5000 vs 5000.0, empty vs null, a ring started elsewhere, sub-0.01 km² reshapes) is none
    flag_changes = sum(1 for c in prop.diff["parts"] if c["from"]["notional"] != c["to"]["notional"])
    prop.changed = content_hash(plan) != base_info.hash and (change_count(prop.diff) + flag_changes) > 0
    if prop.changed:
        analysis = analyze_plan(plan, progress=progress, measures=False)
        prop.summary = summary_of(analysis)
    else:
        prop.summary = _summary(store, base_info)
    prop.diff["coverage"] = coverage_effect(_summary(store, base_info)["domains"], prop.summary["domains"])
    return prop


def coverage_effect(before: dict, after: dict) -> dict:
    """The coverage effect per layer (:func:`~ua_coverage.engine.diff.coverage_effect_of`) with the part of the
    sectors beyond the extent, ``outside_km2``, before and after."""
    from .engine.diff import coverage_effect_of

    eff = coverage_effect_of(before, after)
    for layer, v in eff.items():
        a, b = before[layer].get("outside_km2"), after[layer].get("outside_km2")
        if a is not None and b is not None:
            v["outside_km2"] = {"before": a, "after": b, "change": b - a}
    return eff


def _kept(src: str, base) -> str:
    """A kept part's source: the original one, saying since which revision (an id, or "revision N") it is kept."""
    if "kept from revision" in src:
        return src
    rev = base if isinstance(base, str) else f"revision {base}"
    return f"{src}, kept from {rev}" if src else rev


def _parts_record(plan: Plan, base_plan: Plan, base_id: int, inputs: Inputs, choice: dict) -> dict:
    """Where each part of a proposed plan comes from, and whether it is notional (what the revision records)."""
    prior = base_plan.part_sources()
    sources: dict = {"extents": {}}
    flags: dict = {"extents": {}}
    labels = inputs.labels
    for part, attr in (("registry", "contingents"), ("phases", "phases"), ("sensors", "sensors")):
        how = choice[part]
        if how == "file":
            sources[part], flags[part] = labels.get(attr, f"the uploaded {part}"), inputs.notional
        elif how == "keep":
            sources[part], flags[part] = _kept(prior[part]["source"], base_id), prior[part]["notional"]
        else:
            sources[part] = {"registry": "ISO 3166-1 names of the nations the plan assigns"}.get(part, "none")
            flags[part] = False
    given = set(inputs.extents.layers) if inputs.extents is not None else set()
    for layer in plan.extents.layers:
        if layer in given:
            sources["extents"][layer] = labels.get("extents", "the uploaded extents file")
            flags["extents"][layer] = inputs.notional
        else:
            sources["extents"][layer] = _kept(prior["extents"][layer]["source"], base_id)
            flags["extents"][layer] = prior["extents"][layer]["notional"]
    return record_parts(plan, sources, flags)


def parts_diff(a: Plan, b: Plan) -> list[dict]:
    """The parts whose source or notional flag differs from ``a`` to ``b``: ``[{"part", "from": {"source",
    "notional"}, "to": {...}}]`` (``part`` is ``registry``, ``phases``, ``sensors`` or ``extent:LAYER``)."""
    pa, pb = a.part_sources(), b.part_sources()
    out = []
    rows = [(n, pa[n], pb[n]) for n in ("registry", "phases", "sensors")]
    rows += [(f"extent:{layer}", pa["extents"][layer], pb["extents"][layer]) for layer in LAYERS]
    import re

    def origin(src: str) -> str:  # a part kept from one revision to the next is the same part
        return re.sub(r"(^|, )kept from revision \d+$", "", src or "")

    for name, x, y in rows:
        fx = {"source": x["source"], "notional": bool(x["notional"])}
        fy = {"source": y["source"], "notional": bool(y["notional"])}
        if fx["notional"] != fy["notional"] or origin(fx["source"]) != origin(fy["source"]):
            out.append({"part": name, "from": fx, "to": fy})
    return out


def _merge(base, new, scope: str):
    """The plan's sectors after applying ``new`` to ``base`` by scope, and what each scope removes."""
    import pandas as pd

    base_ids = [str(s) for s in base["sector_id"]]
    if new is None:
        return base, {s: [] for s in SCOPES}
    new_ids = {str(s) for s in new["sector_id"]}
    new_layers = set(new["layer"])
    removes = {
        "all": sorted(set(base_ids) - new_ids),
        "layers": sorted(s for s, lay in zip(base_ids, base["layer"]) if lay in new_layers and s not in new_ids),
        "sectors": [],
    }
    if scope == "all":
        merged = new
    else:
        keep = ~base["layer"].isin(new_layers) if scope == "layers" else ~base["sector_id"].astype(str).isin(new_ids)
        kept = base[keep.values]
        cols = list(dict.fromkeys(list(base.columns) + list(new.columns)))
        merged = pd.concat([kept.reindex(columns=cols), new.reindex(columns=cols)], ignore_index=True)
        for c in merged.columns:  # fields only one side has: empty text, not NaN
            if c not in ("floor_ft", "ceiling_ft", "geometry", "contingents") and merged[c].dtype == object:
                merged[c] = merged[c].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else v)
        import geopandas as gpd

        merged = gpd.GeoDataFrame(merged, geometry="geometry", crs=4326)
    return merged.reset_index(drop=True), removes


def _plan_problems(sectors, registry, inputs: Inputs, sensors=None) -> list[Problem]:
    """Rules on the merged plan: unique ids across kept and new sectors, registry covers every code (of the sectors
    and the sensors)."""
    problems = []
    ids = [str(s) for s in sectors["sector_id"]]
    seen: dict[str, int] = {}
    for i, sid in enumerate(ids):
        if sid in seen:
            problems.append(Problem("sector-id-duplicate", f"sector_id {sid!r} is used by a sector of another "
                                    f"layer that this scope keeps ({inputs.scope}); rename it, or use scope "
                                    "'sectors' to replace it", sector_id=sid, field="sector_id"))
        seen.setdefault(sid, i)
    codes = set(registry["code"])
    by_code: dict[str, list[str]] = {}
    for sid, cs in zip(ids, sectors["contingents"]):
        for c in cs:
            if c not in codes:
                by_code.setdefault(c, []).append(sid)
    if sensors is not None and len(sensors):
        from .schema import parse_contingents

        for sid, cs in zip(sensors["sensor_id"], sensors["contingent"]):
            for c in parse_contingents(cs):
                if c not in codes:
                    by_code.setdefault(c, []).append(f"sensor {sid}")
    for c, sids in sorted(by_code.items()):
        if inputs.contingents is not None:
            problems.append(Problem("contingents-in-use", f"the registry drops {c}, still assigned to "
                                    f"{_some(sids)}", field="code"))
        else:
            problems.append(Problem("contingent-unknown", f"contingent '{c}' is not in the contingents registry "
                                    f"(used by {_some(sids)})", field="contingent"))
    return problems


def _phase_warnings(plan: Plan) -> list[Problem]:
    """A sector naming a phase the phases table lacks (only when the plan has a phases table)."""
    if not len(plan.phases):
        return []
    known = set(plan.phases["name"].astype(str))
    return [Problem("phase-unknown", f"phase {ph!r} is not in the phases table ({', '.join(sorted(known))})",
                    sector_id=str(sid), field="phase")
            for sid, ph in zip(plan.sectors["sector_id"], plan.sectors.get("phase", [""] * len(plan.sectors)))
            if str(ph or "").strip() and str(ph) not in known]


def _some(ids: list[str], n: int = 8) -> str:
    return ", ".join(ids[:n]) + (f" and {len(ids) - n} more" if len(ids) > n else "")


def _registry_notes(old, new) -> list[str]:
    """New nations, dropped nations, changed colours and colours too close to tell apart on the map."""
    from .colours import clash_notes

    notes = []
    a, b = set(old["code"]), set(new["code"])
    if b - a:
        notes.append("new nations: " + _some(sorted(b - a), 40))
    if a - b:
        notes.append("dropped nations: " + _some(sorted(a - b), 40))
    oc = dict(zip(old["code"], old["colour"]))
    changed = [c for c, col in zip(new["code"], new["colour"]) if c in oc and oc[c] != col]
    if changed:
        notes.append("colour changed: " + _some(changed, 40))
    # near-linear, and summarised: a registry of thousands of nations gets a dozen lines, not one per pair
    notes += clash_notes(dict(zip(new["code"], new["colour"])), (b - a) | set(changed))
    return notes


def commit(store, proposal: Proposal, *, message: str, author: str):
    """Store an accepted proposal as a new revision; returns its :class:`~ua_coverage.store.RevisionInfo`.

    Raises :class:`~ua_coverage.errors.ConflictError` when the plan moved on since ``proposal.base``
    (use :func:`refresh`). A proposal that changes nothing commits nothing: the base revision is returned.
    """
    if not proposal.accepted or proposal.plan is None:
        raise CoverageError("a rejected proposal cannot be committed", rule="invalid")
    if not proposal.changed:
        return store.revision(proposal.base)
    inp = proposal.inputs
    return store.commit(proposal.plan, base=proposal.base, author=author, message=message,
                        source_name=inp.source_name, source_format=inp.source_format, summary=proposal.summary)


def commit_plan(store, plan: Plan, *, base: int, author: str, message: str, source_name: str = "",
                source_format: str = ""):
    """Commit a plan built in code (analysed here, so the revision has its summary)."""
    return store.commit(plan, base=base, author=author, message=message, source_name=source_name,
                        source_format=source_format, summary=summary_of(analyze_plan(plan, measures=False)))


def rollback(store, rev_id: int, *, author: str, message: str, base: int | None = None):
    """A new revision whose content equals revision ``rev_id`` (its summary is reused)."""
    store.revision(rev_id)
    return store.rollback(rev_id, author=author, message=message, base=base)


def diff(store, a: int, b: int) -> dict:
    """Differences from revision ``a`` to ``b`` by ``sector_id``, registry and extents, and their effect on coverage."""
    from .engine.diff import coverage_effect_of, diff_plans

    ia, ib = store.revision(a), store.revision(b)
    pa, pb = store.load(a), store.load(b)
    d = diff_plans(pa, pb, ia, ib)
    d["parts"] = parts_diff(pa, pb)
    d["coverage"] = coverage_effect(_summary(store, ia)["domains"], _summary(store, ib)["domains"])
    return d


# -- pending proposals (upload previews), kept in the store so every app worker sees them ---------------
class NotYourPreview(PermissionError):
    """A pending preview kept for another user: only the user who previewed it may commit or discard it."""


def _token_ok(token) -> bool:
    """A token as :func:`keep_pending` makes them (whatever else a client sends is no token)."""
    return isinstance(token, str) and 0 < len(token) <= 64 and token.isascii() and all(
        c.isalnum() or c in "-_" for c in token)


def keep_pending(store, proposal: Proposal, *, owner: str = "") -> str:
    """Keep an accepted proposal for ``owner`` (the signed-in user); returns its token."""
    token = secrets.token_urlsafe(16)
    store.put_pending(token, proposal.to_bytes(), owner=owner)
    return token


def pending(store, token: str | None, *, owner: str | None = None) -> Proposal | None:
    """The pending proposal under ``token``, or None when it is unknown, expired, or its bytes do not decode as a
    proposal of this version (an older server's, or altered in the store: dropped, never run — upload again).

    With ``owner``, a preview kept for someone else raises :class:`NotYourPreview` (its bytes are not even read).
    """
    import logging

    if not _token_ok(token):
        return None
    entry = store.pending_entry(token)
    if entry is None:
        return None
    kept_for, data = entry
    if owner is not None and kept_for != owner:
        raise NotYourPreview("this preview belongs to another user")
    try:
        return Proposal.from_bytes(data)
    except ProposalUnreadable as exc:
        logging.getLogger("ua_coverage.workflow").warning("pending preview %s… dropped: %s", token[:6], exc)
        store.drop_pending(token)
        return None


def pending_owner(store, token: str | None) -> str | None:
    """Who a pending preview is kept for (None when there is none under ``token``)."""
    entry = store.pending_entry(token) if _token_ok(token) else None
    return None if entry is None else entry[0]


def drop_pending(store, token: str | None, *, owner: str | None = None) -> bool:
    """Forget a pending proposal; with ``owner``, only one kept for them. True if one was dropped."""
    return store.drop_pending(token, owner=owner) if _token_ok(token) else False


__all__ = ["SCOPES", "DEFAULT_SCOPE", "Inputs", "Proposal", "open_store", "seed_sample", "sample_plan",
           "analyze_sample", "analyze_plan", "summary_of", "read_inputs", "read_registry", "plan_from_files", "propose", "refresh", "commit",
           "commit_plan", "rollback", "diff", "keep_pending", "pending", "pending_owner", "drop_pending", "NotYourPreview",
           "ProposalUnreadable", "LAYERS"]
