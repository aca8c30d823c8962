"""The ``ua-coverage`` command line.

Exit codes: 0 success, 1 the input was rejected or the work failed (with a message saying why),
2 usage error. Heavy modules are imported inside each command so ``--help`` stays instant and the
analysis path never loads Dash or plotly.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from dataclasses import replace

from .errors import CoverageError, IngestError, UsageError

DATA_DIR_HELP = ("the plan store's folder (default: $UA_COVERAGE_DATA_DIR, else "
                 "$XDG_DATA_HOME/ua-coverage, i.e. ~/.local/share/ua-coverage)")
NOTIONAL_NOTE = "NOTIONAL PLANNING DATA - illustrative sample plan, not a real deployment"


def _day_arg(text: str) -> str:
    """``--at``: an unambiguous date of the supported range, as ISO ``YYYY-MM-DD``."""
    from .ingest.sectors import parse_date
    from .schema import DATE_MAX, DATE_MIN, supported_date

    day = parse_date(text.strip())
    if day is None:
        raise UsageError(f"--at {text!r} is not a date; write YYYY-MM-DD")
    if not supported_date(day):
        raise UsageError(f"--at {day} is outside the supported dates ({DATE_MIN} to {DATE_MAX})", rule="date-range")
    return day


def _codes_arg(text: str) -> tuple[str, ...]:
    """``--without FRA,GBR``: ISO 3166-1 alpha-3 codes, sorted and unique."""
    from .schema import ISO3

    codes = sorted({c.strip().upper() for c in text.replace(";", ",").split(",") if c.strip()})
    bad = [c for c in codes if not ISO3.match(c)]
    if bad or not codes:
        raise UsageError(f"--without {text!r}: give ISO 3166-1 alpha-3 codes separated by commas (e.g. GBR,NOR)")
    return tuple(codes)


def _safe(text: str) -> str:
    """Text for a terminal: control characters (an ANSI escape in an id) are shown, never obeyed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def _fmt_km2(v: float) -> str:
    return f"{v:,.1f}"


def _table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    align = align or "l" + "r" * (len(headers) - 1)

    def line(vals):
        return "  ".join(v.ljust(w) if a == "l" else v.rjust(w) for v, w, a in zip(vals, widths, align))

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def _print_problems(problems, out=None) -> None:
    out = out or sys.stderr  # resolved per call: a caller may redirect it
    for p in problems[:50]:
        print(f"  - {p.text('cli')}", file=out)
    if len(problems) > 50:
        print(f"  ... and {len(problems) - 50} more", file=out)


def cmd_analyze(args) -> int:
    from . import workflow

    if args.revision is not None and not args.sector_file:
        st = workflow.open_store(args.data_dir)
        info = st.current() if args.revision == "current" else st.revision(_rev_id(args.revision))
        plan = st.load(info.id)
        sample = plan.notional
        sector_path = f"revision {info.id} ({info.message})"
        reg_path = f"revision {info.id}"
        warnings = []
        if args.extents:
            from .ingest.extents import read_extents

            plan = replace(plan, extents=plan.extents.replace(read_extents(args.extents)))
        if args.phases:
            from .ingest.phases import read_phases

            plan = replace(plan, phases=read_phases(args.phases))
    else:
        sample = args.sector_file is None
        if not sample and _big(Path(args.sector_file)):
            from .engine import _partition

            _partition.warm_up()  # the engine's worker processes start while the file is read
        base = None
        if not sample:  # a file is measured as import --scope all would: the store's registry where there is one
            st = workflow.existing_store(args.data_dir, create=bool(args.keep))
            if st is not None:
                info = st.current() if args.revision in (None, "current") else st.revision(_rev_id(args.revision))
                base = (st.load(info.id), f"revision {info.id}")
            elif args.revision is not None:
                raise UsageError("--revision needs a plan store (--data-dir DIR)")
            mapping = _mapping(args, st)
        plan, warnings, sector_path, reg_path = workflow.plan_from_files(
            args.sector_file, contingents=args.contingents, extents=args.extents, repair=args.repair,
            layer=args.layer, encoding=args.encoding, phases=args.phases,
            **({} if sample else {"mapping": mapping, "crs": _crs_arg(args.crs), "base": base,
                                  "keep": _parts_arg(args.keep, "--keep")}))
    extra: dict = {}
    active = None
    if args.at:
        day = _day_arg(args.at)
        active = plan.active_on(day)
        extra = {"at": day, "at_phase": plan.phases_on(day), "at_active_sectors": int(active.sum())}
    withdrawn = _codes_arg(args.without) if args.without else ()
    whole = plan  # the plan the what-if is measured against
    if withdrawn:
        base = workflow.analyze_plan(whole, min_area_km2=args.min_area, active=active, measures=False)  # figures
        plan = plan.without(withdrawn)
    result = workflow.analyze_plan(plan, min_area_km2=args.min_area, progress=_progress("partition", "tiles"),
                                   active=active)
    if withdrawn:
        from .engine.whatif import whatif_block

        extra["whatif"] = whatif_block(base, result, withdrawn, {c for cs in whole.sectors["contingents"] for c in cs})
    # the sensors --sensors names, read once (none without it): the --json block, the timeline and --out use them
    from .plan import empty_sensors

    sensor_plan = replace(plan, sensors=_sensor_set(args, plan) if args.sensors else empty_sensors())
    heights = _altitudes(args)
    if args.sensors:
        from .engine.sensors import watched

        now = sensor_plan.on(extra.get("at"))
        extra["sensors"] = watched(now.sensors, plan.full_extents(), now.sectors, altitudes_ft=heights)
        for sid, pct in extra["sensors"].pop("watched_pct").items():  # each sector's share, in "sectors"
            if sid in result.sectors:
                result.sectors[sid]["watched_pct"] = pct
    if args.timeline:
        from .engine.timeline import timeline

        rows, holes = timeline(plan, min_area_km2=args.min_area, progress=_progress("timeline", "intervals"))
        extra.update(timeline=rows, handover_gaps=holes)
        if args.sensors:
            from .engine.sensors import watched_timeline

            extra["sensors_timeline"] = watched_timeline(sensor_plan, altitudes_ft=heights)
    if args.out:
        from .export.data import write_layers

        state = [str(sector_path)] + ([f"on {extra['at']}"] if args.at else []) + \
            (["NOTIONAL plan — illustrative, not a real deployment"] if plan.notional else [])
        written = write_layers(result, Path(args.out), plan=sensor_plan.on(extra.get("at")), state=state,
                               altitudes_ft=heights)
        print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    if args.json:
        src = plan.part_sources()
        sys.stdout.write(result.to_json({**extra, "plan": {
            "sectors_file": str(sector_path), "contingents_file": str(reg_path), "notional": bool(plan.notional),
            "warnings": [w.as_dict() for w in warnings], "registry_source": src["registry"]["source"],
            "extent_source": {layer: v["source"] for layer, v in src["extents"].items()},
            "parts": src, "notional_parts": plan.notional_parts()}}))
        return 0
    print(_human(result, sector_path, plan.notional, warnings))
    _print_notional_parts(plan)
    if withdrawn:
        w = extra["whatif"]
        rows = [[layer, _fmt_km2(result.domains[layer]["gap_km2"]), f"{d['gap_km2']:+,.1f}",
                 f"{result.domains[layer]['covered_pct']:.1f}%", f"{d['covered_pct']:+.1f}",
                 f"{d['overlap_km2']:+,.1f}"] for layer, d in w["deltas"].items()]
        print(f"\nWHAT-IF — without {', '.join(w['without'])}: not the plan. Change against the plan:")
        print(_table(["domain", "gap km²", "change", "covered", "change (points)", "overlap change km²"], rows))
        print(f"Sectors left with nobody: {', '.join(w['newly_unassigned']) or 'none'}"
              + (f"; not assigned in the plan (no effect): {', '.join(w['not_in_plan'])}" if w["not_in_plan"] else ""))
    if args.at:
        print(f"\nOn {extra['at']} ({', '.join(extra['at_phase']) or 'no named phase'}): "
              f"{extra['at_active_sectors']} of {len(plan.sectors)} sectors active; the figures above are that day's.")
    if args.sensors:
        w = extra["sensors"]
        rows = [[d, _fmt_km2(w[d]["covered_km2"]), f"{w[d]['covered_pct']:.1f}%", _fmt_km2(w[d]["gap_km2"]),
                 w[d]["sensors"]] for d in ("land", "sea")]
        rows += [[f"air at {a['altitude_ft']:,.0f} ft", _fmt_km2(a["covered_km2"]), f"{a['covered_pct']:.1f}%",
                  _fmt_km2(a["gap_km2"]), w["air"]["sensors"]] for a in w["air"]["altitudes"]]
        print(f"\nWatched by sensors ({w['note']}):")
        print(_table(["domain", "watched km²", "watched", "unwatched km²", "sensors"], rows))
        print(f"Assigned sectors no sensor watches: {', '.join(w['unwatched_sectors']) or 'none'}")
        crow = []
        for code, v in w["contingents"].items():
            for layer in ("land", "sea"):
                if layer in v:
                    crow.append([code, layer, v[layer]["sensors"], _fmt_km2(v[layer]["watched_km2"]),
                                 _fmt_km2(v[layer]["exclusive_km2"]), _fmt_km2(v[layer]["shared_km2"])])
            for a in v.get("air", []):
                crow.append([code, f"air at {a['altitude_ft']:,.0f} ft", a["sensors"], _fmt_km2(a["watched_km2"]),
                             _fmt_km2(a["exclusive_km2"]), _fmt_km2(a["shared_km2"])])
        if crow:
            print("\nWatched per contingent (lead or support):")
            print(_table(["contingent", "domain", "sensors", "watched km²", "alone km²", "shared km²"], crow,
                         align="llrrrr"))
        big = w["gaps"][:5]
        if big:
            print("Largest unwatched areas: " + "; ".join(
                f"{g['domain']}{' at ' + format(g['altitude_ft'], ',.0f') + ' ft' if 'altitude_ft' in g else ''} "
                f"{_fmt_km2(g['area_km2'])} km²" for g in big) + f" ({len(w['gaps'])} pieces; --json lists them)")
    if args.timeline:
        print("\n" + _timeline_table(extra["timeline"], extra["handover_gaps"]))
    if "sensors_timeline" in extra:
        rows = extra["sensors_timeline"]
        alts = [a["altitude_ft"] for a in rows[0]["air"]["altitudes"]] if rows else []
        print("\nWatched by sensors through time (% of each extent; from inclusive, to exclusive; smooth earth):")
        print(_table(["from", "to", "sensors", "land", "sea", *[f"air {a:,.0f} ft" for a in alts], "unwatched sectors"],
                     [[r["from"] or "…", r["to"] or "…", r["active_sensors"], f"{r['land']['covered_pct']:.1f}",
                       f"{r['sea']['covered_pct']:.1f}", *[f"{a['covered_pct']:.1f}" for a in r["air"]["altitudes"]],
                       _safe(", ".join(r["unwatched_sectors"][:6])) + (" …" if len(r["unwatched_sectors"]) > 6 else "")
                       or "-"] for r in rows], align="llrrr" + "r" * len(alts) + "l"))
    return 0


PLAN_SENSORS = "\0plan"  # --sensors with no FILE: the plan's own


def _parts_arg(text, flag: str) -> tuple[str, ...]:
    """``--keep extents,phases`` / ``--defaults registry``: part names (checked by the workflow)."""
    return tuple(p.strip().lower() for p in (text or "").replace(";", ",").split(",") if p.strip())


def _crs_arg(text) -> int | None:
    """``--crs EPSG:32636`` (or ``32636``): an EPSG code a sector file may be drawn in."""
    if not text:
        return None
    from .ingest._sniff import ALLOWED_EPSG

    t = str(text).strip().upper().removeprefix("EPSG:").removeprefix("EPSG").strip(": ")
    if not t.isdigit():
        raise UsageError(f"--crs {text!r}: give an EPSG code, e.g. --crs EPSG:32636")
    code = int(t)
    if code not in ALLOWED_EPSG:
        raise UsageError(f"--crs EPSG:{code} is not one of the CRSs we accept ("
                         + ", ".join(f"EPSG:{k}" for k in sorted(ALLOWED_EPSG)) + ")", rule="crs-not-allowed")
    return code


def _mapping(args, st):
    """The field mapping of ``--mapping NAME`` (saved in the store) with ``--field``/``--set`` on top; saved under
    ``--save-mapping NAME`` when asked. None when there is none."""
    from .ingest.mapping import FieldMapping

    given = FieldMapping.parse(args.field, args.set)
    if not (args.mapping or args.save_mapping):
        return given or None
    if st is None:
        from . import workflow

        st = workflow.open_store(args.data_dir)
    mapping = FieldMapping()
    if args.mapping:
        doc = st.mapping(args.mapping)
        if doc is None:
            names = st.mappings()
            raise UsageError(f"--mapping {args.mapping!r}: no mapping of that name is saved in the plan store ("
                             + (f"saved: {', '.join(names)}" if names else "none is saved yet: save one with "
                                "--save-mapping NAME") + ")", rule="mapping-invalid")
        mapping = FieldMapping.from_doc(doc)
    mapping = mapping.merged(given)
    if args.save_mapping:
        if not mapping:
            raise UsageError("--save-mapping needs --field or --set (or --mapping) to save", rule="mapping-invalid")
        st.save_mapping(args.save_mapping, mapping.as_doc(), author=_author(args))
        print(f"saved mapping {args.save_mapping!r}: {mapping.describe()}", file=sys.stderr)
    return mapping or None


def _print_notional_parts(plan, out=None) -> None:
    """The line every view of a plan that is not notional gives when some of its parts are."""
    parts = plan.notional_parts()
    if parts:
        names = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
        print(f"\n*** NOTIONAL parts: this plan is not notional, but its {names} "
              f"{'is' if len(parts) == 1 else 'are'} NOTIONAL (illustrative, not a real deployment) ***",
              file=out or sys.stdout)


def _print_parts(prop, out=None) -> None:
    """Each part of the proposed plan and where it comes from (the preview's part list)."""
    out = out or sys.stdout
    parts = prop.parts or {}
    src, choice = parts.get("sources") or {}, parts.get("choices") or {}
    if not src:
        return
    given = set(prop.inputs.extents.layers) if prop.inputs.extents is not None else set()
    word = {"file": "from the import", "keep": "kept", "national": "national default"}
    rows = []
    for name in ("registry", "phases", "sensors"):
        v = src.get(name) or {}
        how = word.get(choice.get(name, ""), "")
        if name != "registry" and not v.get("present", True):
            text = f"no {name}" + (" (the current revision has none)" if choice.get(name) == "keep" else "")
        else:
            text = v.get("source", "")
        rows.append([name, how, _safe(text), "NOTIONAL" if v.get("notional") and v.get("present", True) else ""])
    for layer, v in (src.get("extents") or {}).items():
        how = "from the import" if layer in given else ("national default" if v.get("default") else "kept")
        rows.append([f"{layer} extent", how, _safe(v.get("source", "")), "NOTIONAL" if v.get("notional") else ""])
    print(f"Parts of the new plan (scope {prop.inputs.scope}):", file=out)
    print(_table(["part", "from", "source", ""], rows, align="llll"), file=out)


def _sensor_set(args, plan):
    """The sensors ``--sensors`` names: a file (read leniently: unknown codes are not refused), or with no FILE the
    plan's own."""
    from .errors import ValidationError
    from .ingest.sensors import read_sensors

    source = args.sensors
    if source == PLAN_SENSORS:
        if not len(plan.sensors):
            raise UsageError("this plan has no sensor set: give --sensors FILE (or import one with "
                             "ua-coverage import --sensors FILE)", rule="sensors-missing")
        return plan.sensors
    sensors, problems, _ = read_sensors(source, registry=plan.registry())
    if problems:
        raise ValidationError(f"{Path(source).name} cannot be used: {problems[0]}", rule=problems[0].rule,
                              problems=problems)
    return sensors


def _altitudes(args) -> list[float] | None:
    if not args.target_altitudes_ft:
        return None
    import math

    usage = UsageError("--target-altitudes-ft is a comma-separated list of feet (0 to 200,000), e.g. 0,1000,10000")
    try:
        feet = sorted({float(x) for x in args.target_altitudes_ft.split(",") if x.strip()})
    except ValueError:
        raise usage from None
    if not feet or not all(math.isfinite(f) and 0 <= f <= 200_000 for f in feet):
        raise usage
    return feet


def _timeline_table(rows: list[dict], holes: list[dict]) -> str:
    out = ["Timeline (gap km² per layer; from inclusive, to exclusive)"]
    out.append(_table(["from", "to", "phase", "active", "air", "sea", "land", "monitoring", "starting", "ending"], [
        [r["from"] or "…", r["to"] or "…", ", ".join(r["phase"]) or "-", r["active_sectors"],
         *(_fmt_km2(r["domains"][d]["gap_km2"]) for d in ("air", "sea", "land", "monitoring")),
         _safe(", ".join(r["starting"][:6])) or "-", _safe(", ".join(r["ending"][:6])) or "-"] for r in rows],
        align="lllrrrrrll"))
    out.append("")
    out.append("Handover gaps: " + ("none" if not holes else ""))
    for h in holes:
        out.append(f"  {h['layer']}: {h['from']} to {h['to']} (exclusive): gap {_fmt_km2(h['gap_km2'])} km² "
                   f"(+{_fmt_km2(h['extra_km2'])} km²); ended {', '.join(h['ended']) or '-'}, "
                   f"then started {', '.join(h['started']) or '-'}")
    return "\n".join(out)


def _big(path: Path) -> bool:
    try:
        return path.stat().st_size > 2 * 1024 * 1024
    except OSError:
        return False


def _progress(what: str, unit: str):
    """A progress callback printing ``what: done/total unit`` on a terminal's stderr (else nothing)."""
    if not sys.stderr.isatty():
        return None

    def report(done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(f"\r{what}: {done}/{total} {unit}", end=end, file=sys.stderr, flush=True)

    return report


def _rev_id(text) -> int:
    try:
        return int(str(text).removeprefix("r").removeprefix("revision").strip())
    except ValueError:
        raise UsageError(f"{text!r} is not a revision id (revision ids are whole numbers; "
                         "`ua-coverage history` lists them)") from None


def _author(args) -> str:
    import getpass

    return getattr(args, "author", None) or os.environ.get("UA_COVERAGE_AUTHOR") or getpass.getuser()


def _print_diff(d: dict, out=None) -> None:
    out = out or sys.stdout  # resolved per call: a caller may redirect it
    from .engine.diff import change_count

    def line(s=""):
        print(s, file=out)

    line(f"Changes from revision {d['from']} to {d['to'] if d['to'] else 'the new plan'}: {change_count(d)}")
    for a in d["added"]:
        line(f"  + added      {a['sector_id']} {a['name']!r} ({a['layer']}, {a['area_km2']:,.1f} km²)")
    for r in d["removed"]:
        line(f"  - removed    {r['sector_id']} {r['name']!r} ({r['layer']}, {r['area_km2']:,.1f} km²)")
    for r in d["reshaped"]:
        line(f"  ~ reshaped   {r['sector_id']}: +{r['gained_km2']:,.2f} km² gained, -{r['lost_km2']:,.2f} km² lost")
    for r in d["reassigned"]:
        line(f"  > reassigned {r['sector_id']}: {';'.join(r['from']) or 'unassigned'} -> "
             f"{';'.join(r['to']) or 'unassigned'}")
    for r in d["attributes"]:
        ch = ", ".join(f"{k}: {v['from']!r} -> {v['to']!r}" for k, v in r["changes"].items())
        line(f"  * attributes {r['sector_id']}: {ch}")
    _listed_changes(line, "registry", d.get("contingents_registry", {}), "code")
    for e in d.get("extents", []):
        line(f"  # extent     {e['layer']}: {e['before_km2']:,.1f} -> {e['after_km2']:,.1f} km² "
             f"({e['change_km2']:+,.1f}; {e['source']})")
    _listed_changes(line, "phase", d.get("phases", {}), "name")
    _listed_changes(line, "sensor", d.get("sensors", {}), "sensor_id", _sensor_change)
    for c in d.get("parts", []):
        a, b = c["from"], c["to"]
        flag = (f"notional {'yes' if a['notional'] else 'no'} -> {'yes' if b['notional'] else 'no'}; "
                if a["notional"] != b["notional"] else "")
        line(f"  ~ part       {c['part']}: {flag}{_safe(a['source']) or '-'} -> {_safe(b['source']) or '-'}")
    nt = d.get("notional")
    if nt and nt["from"] != nt["to"]:
        line(f"  ! notional   {'yes' if nt['from'] else 'no'} -> {'yes' if nt['to'] else 'no'}")
    if d.get("coverage"):
        _print_effect(d["coverage"], out)


def _listed_changes(line, label: str, block: dict, key: str, fmt=None) -> None:
    """A diff's table of rows by name (registry, phases, sensors): added, removed, and what changed in each."""
    fmt = fmt or (lambda k, v: f"{k}: {v['from']!r} -> {v['to']!r}")
    for n in block.get("added", []):
        line(f"  + {label:<10} {n} added")
    for n in block.get("removed", []):
        line(f"  - {label:<10} {n} removed")
    for c in block.get("changed", []):
        line(f"  * {label:<10} {c[key]}: " + ", ".join(fmt(k, v) for k, v in c["changes"].items()))


def _sensor_change(k: str, v: dict) -> str:
    if k == "position":
        return f"moved {v['moved_m'] / 1000:,.2f} km"
    return f"{k}: {v['from']!r} -> {v['to']!r}"


def _print_effect(effect: dict, out=None) -> None:
    out = out or sys.stdout  # resolved per call: a caller may redirect it
    print("Coverage effect (km², before -> after):", file=out)
    for layer, v in effect.items():
        g, o = v["gap_km2"], v["overlap_km2"]
        x = v.get("outside_km2")
        beyond = (f"   outside the extent {x['before']:>10,.1f} -> {x['after']:>10,.1f} ({x['change']:+,.1f})"
                  if x else "")
        print(f"  {layer:<11} gap {g['before']:>11,.1f} -> {g['after']:>11,.1f} ({g['change']:+,.1f})   "
              f"overlap {o['before']:>10,.1f} -> {o['after']:>10,.1f} ({o['change']:+,.1f}){beyond}", file=out)


def cmd_import(args) -> int:
    from . import workflow
    from .errors import ConflictError

    if not (args.file or args.contingents or args.extents or args.phases or args.sensors):
        raise UsageError("give a SECTOR_FILE, --contingents CSV, --extents FILE, --phases CSV or --sensors FILE "
                         "(or several)", rule="nothing-to-import")
    st = workflow.open_store(args.data_dir)
    cur = st.current()
    base = cur.id if args.base is None else _rev_id(args.base)
    mapping = _mapping(args, st) if args.file else None
    prop = workflow.propose(st, sectors=args.file, contingents=args.contingents, extents=args.extents,
                            phases=args.phases, sensors=args.sensors,
                            scope=args.scope, notional=args.notional, base=base, repair=args.repair,
                            layer=args.layer, encoding=args.encoding, progress=_progress("partition", "tiles"),
                            mapping=mapping, crs=_crs_arg(args.crs), keep=_parts_arg(args.keep, "--keep"),
                            defaults=_parts_arg(args.defaults, "--defaults"))
    for w in prop.warnings:
        print(f"warning: {w.text('cli')}", file=sys.stderr)
    if not prop.accepted:
        print(f"ua-coverage: {prop.inputs.source_name or 'the import'} was REJECTED ({len(prop.problems)} "
              f"problem(s)); nothing was changed, revision {cur.id} is still current.", file=sys.stderr)
        _print_problems(prop.problems)
        if prop.unknown_codes:
            print(f"  To add {', '.join(prop.unknown_codes)} in the same revision, give a registry that lists "
                  "them: --contingents CSV (code,name,colour,notes)"
                  + (", or --defaults registry for a registry of the ISO 3166-1 names of the nations the plan assigns"
                     if args.scope == "all" else "") + ".", file=sys.stderr)
        return 1
    if args.file and args.scope != "all" and prop.removed_by_scope.get("all"):
        kept = len(prop.removed_by_scope["all"]) - len(prop.removed_by_scope[args.scope])
        if kept:
            print(f"Scope {args.scope}: {kept} sector(s) not in the file are kept (--scope all would remove "
                  "them).")
    for note in prop.registry_notes:
        print(f"registry: {note}")
    _print_parts(prop)
    if prop.plan is not None:
        _print_notional_parts(prop.plan)
    _print_diff(prop.diff)
    if not prop.changed:
        print(f"No change: revision {base} stays current; nothing was committed.")
        return 0
    if args.dry_run:
        print("Dry run: nothing was committed.")
        return 0
    if sys.stdin.isatty() and not args.yes:
        answer = input(f"Commit this as a new revision on top of revision {base}? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("Not committed.")
            return 1
    try:
        info = workflow.commit(st, prop, message=args.message, author=_author(args))
    except ConflictError as exc:
        print(f"ua-coverage: CONFLICT: {exc.message} Review revision {exc.current} and import again with "
              f"--base {exc.current}.", file=sys.stderr)
        return 1
    if info.id <= cur.id:
        print(f"Already committed as revision {info.id} (same content on the same base, by {info.author} at "
              f"{info.time}); nothing new was committed.")
        return 0
    print(f"Committed revision {info.id} (parent {info.parent}) by {info.author} at {info.time}: {info.message}")
    return 0


def cmd_history(args) -> int:
    from .workflow import open_store

    st = open_store(args.data_dir)
    cur = st.current().id
    revs = st.history()
    if args.json:
        json.dump({"current": cur, "revisions": [r.as_dict() for r in revs]}, sys.stdout, indent=2,
                  ensure_ascii=False)
        print()
        return 0
    print(_table(["", "revision", "parent", "time (UTC)", "author", "sectors", "hash", "message"], [
        ["*" if r.id == cur else "", r.id, r.parent or "-", r.time, r.author, r.sectors, r.hash[:12], r.message]
        for r in revs], align="lrrllrll"))
    print(f"\n* current: revision {cur}")
    return 0


def cmd_diff(args) -> int:
    from . import workflow

    d = workflow.diff(workflow.open_store(args.data_dir), _rev_id(args.a), _rev_id(args.b))
    if args.json:
        json.dump(d, sys.stdout, indent=2, ensure_ascii=False, default=float)
        print()
    else:
        _print_diff(d)
    return 0


def cmd_rollback(args) -> int:
    from . import workflow
    from .errors import ConflictError

    st = workflow.open_store(args.data_dir)
    target = _rev_id(args.id)
    before = st.current()
    try:
        info = workflow.rollback(st, target, author=_author(args), message=args.message)
    except ConflictError as exc:
        print(f"ua-coverage: CONFLICT: {exc.message}", file=sys.stderr)
        return 1
    if info.id == before.id:
        print(f"Nothing to do: revision {before.id}, the current one, already has the content of revision {target}; "
              "no revision was made.")
        return 0
    print(f"Committed revision {info.id} (parent {info.parent}) with the content of revision {target}: "
          f"{info.message}")
    return 0


def _human(result, path, sample: bool, warnings) -> str:
    out = []
    if sample:
        out += [f"*** {NOTIONAL_NOTE} ***", ""]
    out.append(f"Coverage of {path}")
    out.append("")
    rows = []
    for d, v in result.domains.items():
        rows.append([d, _fmt_km2(v["extent_km2"]), _fmt_km2(v["covered_km2"]), f"{v['covered_pct']:.1f}%",
                     _fmt_km2(v["gap_km2"]), _fmt_km2(v["unassigned_km2"]), _fmt_km2(v["overlap_km2"]),
                     _fmt_km2(v["conflict_km2"]), _fmt_km2(v["self_overlap_km2"]), _fmt_km2(v["outside_km2"])])
    out.append(_table(["layer", "extent km²", "covered km²", "covered", "gap km²", "unassigned km²",
                       "overlap km²", "conflict km²", "self-overlap km²", "outside km²"], rows))
    if result.air_bands and len(result.air_bands) > 1:
        out += ["", "Air by altitude band"]
        out.append(_table(["band (ft)", "covered km²", "covered", "gap km²"], [
            [f"{b['floor_ft']:,.0f}–{'∞' if b['ceiling_ft'] is None else format(b['ceiling_ft'], ',.0f')}",
             _fmt_km2(b["covered_km2"]), f"{b['covered_pct']:.1f}%", _fmt_km2(b["gap_km2"])]
            for b in result.air_bands]))
    out += ["", "Gaps (largest first)"]
    out.append(_table(["layer", "km²", "centroid (lon, lat)", "oblasts", "inside unassigned"], [
        [g["domain"], _fmt_km2(g["area_km2"]), f"{g['centroid'][0]:.3f}, {g['centroid'][1]:.3f}",
         ", ".join(g["oblasts"][:4]) + (" (nearest, at sea)" if g["at_sea"] else ""),
         ", ".join(g["sectors"]) or "-"] for g in result.gaps[:15]]))
    out += ["", "Overlaps (largest first)"]
    out.append(_table(["layer", "km²", "sectors", "contingents", "kind"], [
        [o["domain"], _fmt_km2(o["area_km2"]), ", ".join(o["sectors"]), ", ".join(o["contingents"]),
         "conflict" if o["conflict"] else ("self-overlap" if o["self_overlap"] else "overlap")]
        for o in result.overlaps[:15]]))
    f = result.filtered
    out.append(f"\nPieces under {result.min_area_km2} km² not listed: {f['gaps']['count']} gap pieces "
               f"({f['gaps']['area_km2']:.3f} km²), {f['overlaps']['count']} overlap pieces "
               f"({f['overlaps']['area_km2']:.3f} km²); totals above include them.")
    out += ["", "Contingents"]
    out.append(_table(["code", "assigned km²", "exclusive km²", "shared km²", "leads", "supports", "shares with"], [
        [c, _fmt_km2(v["assigned_km2"]), _fmt_km2(v["exclusive_km2"]), _fmt_km2(v["shared_km2"]),
         ", ".join(v["lead_sectors"]) or "-", ", ".join(v["supporting_sectors"]) or "-",
         ", ".join(v["shares_with"]) or "-"] for c, v in result.contingents.items()]))
    out += ["", f"Unassigned sectors: {', '.join(result.unassigned_sectors) or 'none'}",
            f"Contingent codes unknown to the registry: {', '.join(result.unknown_contingents) or 'none'}",
            f"Registered contingents with nothing assigned: {', '.join(result.idle_contingents) or 'none'}"]
    for w in warnings:
        out.append(f"warning: {w}")
    if sample:
        out += ["", f"*** {NOTIONAL_NOTE} ***"]
    return "\n".join(out)


def cmd_validate(args) -> int:
    from . import workflow
    from .ingest import validate_file

    # the registry import would check against: --contingents, else the plan store's revision (where a store
    # exists), else the sample's; and the extents import would measure against (see --scope, --keep)
    st = workflow.existing_store(args.data_dir, create=bool(args.save_mapping))
    basis = workflow.answer_basis(st, None if args.revision is None else (
        "current" if args.revision == "current" else _rev_id(args.revision)), contingents=args.contingents,
        scope=args.scope, keep=_parts_arg(args.keep, "--keep"), defaults=_parts_arg(args.defaults, "--defaults"))
    if basis["registry"] is not None:
        codes = set(basis["registry"]["code"])
    else:  # --defaults registry: a registry of national names, so every country is known
        from .ingest.nations import country_codes

        codes = country_codes()
    report = validate_file(args.file, registry=codes, repair=args.repair, layer=args.layer,
                           encoding=args.encoding, mapping=_mapping(args, st), crs=_crs_arg(args.crs))
    report["registry_source"] = basis["registry_source"]
    report["extent_source"] = basis["extent_source"]
    if args.json:
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        verdict = "ACCEPTED" if report["accepted"] else "REJECTED"
        print(f"{args.file}: {verdict} ({report['format'] or 'unknown format'}, {report['features']} features)")
        from .errors import Problem

        for p in report["problems"]:
            print(f"  - {Problem(**_fields(p)).text('cli')}")
        for w in report["warnings"]:
            print(f"  warning: {Problem(**_fields(w)).text('cli')}")
    return 0 if report["accepted"] else 1


def _fields(d: dict) -> dict:
    return {k: d[k] for k in ("rule", "message", "feature", "sector_id", "field")}


def cmd_serve(args) -> int:
    if args.workers > 1:
        return _serve_gunicorn(args)
    from .app import create_app

    app = create_app(args.data_dir, marking=args.banner, host=args.host)
    print(f"Serving the dashboard on http://{args.host}:{args.port}/ (Ctrl+C to stop)", file=sys.stderr)
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0


def cmd_export(args) -> int:
    from . import workflow
    from .export import ALL_FORMATS, run_export
    from .figures import DEFAULT_LAYERS, VIEW_LAYERS, MapView, zoom_to

    fmt = args.format or Path(args.out).suffix.lstrip(".").lower()
    if fmt not in ALL_FORMATS:
        raise UsageError(f"cannot tell the format from {args.out!r}; give --format ({', '.join(ALL_FORMATS)})")
    bounds = _bounds(args.bounds) if args.bounds else None
    st = workflow.open_store(args.data_dir)
    info = st.current() if args.revision in (None, "current") else st.revision(_rev_id(args.revision))
    withdrawn = tuple(sorted(c.strip().upper() for c in (args.without or "").split(",") if c.strip()))
    plan = st.load(info.id).without(withdrawn)
    day = None
    if args.at:
        day = _day_arg(args.at)
    analysis = workflow.analyze_plan(plan, at=day)
    band = None
    if args.band is not None:
        if args.domain != "air" or not (0 <= args.band < len(analysis.air_bands)):
            raise UsageError(f"--band needs --domain air and a number below {len(analysis.air_bands)}")
        band = args.band
    layers = tuple(x.strip() for x in args.layers.split(",") if x.strip()) if args.layers else DEFAULT_LAYERS
    if not (0 <= args.sensor_altitude_ft <= 200_000):  # also refuses nan
        raise UsageError("--sensor-altitude-ft is feet from 0 to 200,000")
    unknown = [x for x in layers if x not in VIEW_LAYERS]
    if unknown:
        raise UsageError(f"--layers: {', '.join(unknown)} is not a layer; choose from {','.join(VIEW_LAYERS)}")
    if set(layers) & {"sensors", "unwatched"} and not len(plan.sensors):
        if len(st.load(info.id).sensors):
            raise UsageError(f"the what-if withdraws every nation manning a sensor of revision {info.id}: there is "
                             "no sensor left to draw", rule="sensors-missing")
        raise UsageError(f"revision {info.id} has no sensor set to draw; import one with ua-coverage import "
                         "--sensors FILE", rule="sensors-missing")
    view = MapView(domain=args.domain, layers=layers, band=band, lang=args.lang, withdrawn=withdrawn,
                   sensor_altitude_ft=args.sensor_altitude_ft)
    if bounds:
        z = zoom_to(bounds)
        view.center, view.zoom = z["center"], z["zoom"]
    out = run_export(plan, analysis, info, fmt, args.out, view=view, bounds=bounds, title=args.title,
                     subtitle=args.subtitle, banner=args.banner, size=args.size, timeout=args.timeout, day=day)
    if fmt == "data":
        print(f"wrote {len(list(Path(out).iterdir()))} files to {out}")
    elif fmt in ("pack", "kml", "kmz"):
        print(f"wrote {out} ({'briefing pack' if fmt == 'pack' else fmt.upper()}, revision {info.id})")
    else:
        print(f"wrote {out} ({fmt}, {args.size if fmt != 'html' else 'interactive'}, revision {info.id})")
    return 0


def _bounds(text: str) -> tuple[float, float, float, float]:
    import math

    usage = UsageError("--bounds is WEST,SOUTH,EAST,NORTH in degrees (longitude -180..180, latitude -85..85, "
                       "west < east, south < north), e.g. 29,45,33,47.5")
    try:
        b = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise usage from None
    if len(b) != 4 or not all(math.isfinite(v) for v in b) or not (b[0] < b[2] and b[1] < b[3]):
        raise usage
    if not (-180 <= b[0] and b[2] <= 180 and -85 <= b[1] and b[3] <= 85):
        raise usage
    return b


def cmd_user(args) -> int:
    import getpass

    from .app.auth import ROLES, save_user, users_file

    path = Path(args.users) if args.users else users_file()
    if path is None:
        print("ua-coverage: give --users FILE or set UA_COVERAGE_USERS", file=sys.stderr)
        return 2
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    password = None
    if not args.keep_password:
        password = os.environ.get("UA_COVERAGE_NEW_PASSWORD") or getpass.getpass(f"Password for {args.name}: ")
        if len(password) < 10:
            print("ua-coverage: choose a password of at least 10 characters", file=sys.stderr)
            return 1
    try:
        save_user(path, args.name, password, roles)
    except ValueError as exc:
        print(f"ua-coverage: {exc} (roles: {', '.join(ROLES)})", file=sys.stderr)
        return 2
    print(f"{args.name}: roles {', '.join(sorted(set(roles) | {'viewer'}))} saved in {path}")
    return 0


def _serve_gunicorn(args) -> int:
    import shutil

    if shutil.which("gunicorn") is None:
        print("ua-coverage: --workers needs gunicorn: pip install 'ua-domain-coverage[server]'", file=sys.stderr)
        return 1
    from .store import resolve_data_dir
    from .workflow import open_store

    env = {**os.environ, "UA_COVERAGE_DATA_DIR": str(resolve_data_dir(args.data_dir))}
    if args.host not in ("0.0.0.0", "::"):  # the workers answer to the bound address too
        env["UA_COVERAGE_ALLOWED_HOSTS"] = ",".join(filter(None, [env.get("UA_COVERAGE_ALLOWED_HOSTS", ""), args.host]))
    if args.banner:
        env["UA_COVERAGE_BANNER"] = args.banner
    st = open_store(args.data_dir)  # create, migrate and seed once, before the workers start
    print(f"Serving {st.describe()} with {args.workers} workers on http://{args.host}:{args.port}/", file=sys.stderr)
    os.execvpe("gunicorn", ["gunicorn", "-w", str(args.workers), "-b", f"{args.host}:{args.port}", "--timeout", "180",
                            "ua_coverage.app.wsgi:server"], env)
    return 0  # not reached


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 2 with a hint
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ua-coverage", description="Ukraine domain-coverage planning tool: gaps and overlaps "
                "of safeguarding zones and monitoring sectors per domain.")
    from . import __version__

    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_analyze(sub)
    _add_import(sub)
    _add_history(sub)
    _add_diff(sub)
    _add_rollback(sub)
    _add_validate(sub)
    _add_export(sub)
    _add_user(sub)
    _add_serve(sub)
    return p


def _add_file_options(p) -> None:
    """A sector file as staff have it: its own field names, values every feature takes, a CRS it lacks."""
    p.add_argument("--field", action="append", default=[], metavar="TARGET=SOURCE",
                   help="read the file's field SOURCE as the data model's TARGET (repeatable: --field "
                        "sector_id=SECT_ID --field contingent=NATION)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="give every feature this value (repeatable: --set domain=air --set kind=zone)")
    p.add_argument("--mapping", metavar="NAME", help="a field mapping saved in the plan store (--save-mapping); "
                   "--field and --set add to it")
    p.add_argument("--save-mapping", metavar="NAME", help="save the mapping given (--mapping, --field, --set) in the "
                   "plan store under NAME")
    p.add_argument("--crs", metavar="EPSG:N", help="the CRS a file that declares none was drawn in (e.g. a shapefile "
                   "without .prj: --crs EPSG:32636); refused for a file that declares its own")


def _add_parts_options(p, defaults: bool = True) -> None:
    p.add_argument("--keep", metavar="PARTS", help="parts to keep from the current revision (comma-separated: "
                   "extents,registry,phases,sensors); with --scope all the extents are national, and there are no "
                   "phases and no sensors, unless kept or given as a file")
    if defaults:
        p.add_argument("--defaults", metavar="PARTS", help="parts to take the national defaults for (extents: "
                       "national extents; phases, sensors: none; registry: ISO 3166-1 names of the nations used)")


def _add_analyze(sub) -> None:
    a = sub.add_parser("analyze", help="gaps, overlaps and coverage per layer (default: the sample plan)")
    a.add_argument("sector_file", nargs="?", help="sector file (default: the bundled NOTIONAL sample plan)")
    a.add_argument("--contingents", metavar="CSV", help="contingents registry (default: the sample's)")
    a.add_argument("--extents", metavar="FILE", help="polygons with a 'domain' field replacing default extents")
    a.add_argument("--phases", metavar="CSV", help="the plan's phases table (name,start,end[,notes]; default: the "
                   "sample's with the sample, none with a file)")
    a.add_argument("--json", action="store_true", help="print the stable JSON document (see README)")
    a.add_argument("--out", metavar="DIR", help="write gap, overlap and partition layers (GeoJSON + GeoPackage)")
    a.add_argument("--min-area", type=float, default=0.01, metavar="KM2",
                   help="smallest gap/overlap piece listed, km² (default 0.01; totals stay exact)")
    a.add_argument("--repair", action="store_true", help="repair invalid polygons instead of refusing them")
    a.add_argument("--layer", help="the layer to read when the file holds several")
    a.add_argument("--encoding", help="text encoding of a shapefile without .cpg, or of a CSV (e.g. cp1251)")
    a.add_argument("--revision", metavar="ID", help="analyse a plan revision from the store ('current' or a number); "
                   "with a SECTOR_FILE: the revision whose registry (and --keep parts) the file is analysed with "
                   "(default: the store's current one, where a store exists)")
    a.add_argument("--at", metavar="YYYY-MM-DD", help="only the sectors active on that day (validity dates, phases)")
    a.add_argument("--without", metavar="CODES", help="what-if: the plan as if these nations withdrew (comma-separated "
                                                       "ISO codes); the JSON gains a \"whatif\" block of changes")
    a.add_argument("--sensors", metavar="FILE", nargs="?", const=PLAN_SENSORS,
                   help="point sensors with a reach: add what they watch per domain (no FILE: the plan's own sensor "
                        "set, i.e. the revision's, or the sample's NOTIONAL one)")
    a.add_argument("--target-altitudes-ft", metavar="LIST",
                   help="air target altitudes for --sensors, feet (default: 0 and every air zone's floor_ft)")
    a.add_argument("--timeline", action="store_true",
                   help="add the figures of every interval with a constant set of active sectors, and handover gaps")
    a.add_argument("--data-dir", metavar="DIR", help=DATA_DIR_HELP)
    _add_file_options(a)
    _add_parts_options(a, defaults=False)
    a.set_defaults(func=cmd_analyze)


def _add_import(sub) -> None:
    im = sub.add_parser("import", help="validate a sector file, registry and/or extents, show the change, commit "
                        "it as a new revision")
    im.add_argument("file", nargs="?", help="sector file (optional when --contingents or --extents is given)")
    im.add_argument("-m", "--message", required=True, help="what this revision changes")
    im.add_argument("--scope", choices=["layers", "sectors", "all"], default="layers",
                    help="what the file replaces: layers = every sector of the coverage layers it holds (default); "
                         "sectors = add or replace by sector_id, keep all others; all = the file is the whole plan")
    im.add_argument("--contingents", metavar="CSV", help="a new contingents registry for this revision")
    im.add_argument("--extents", metavar="FILE", help="areas of responsibility: replaces the layers it names")
    im.add_argument("--phases", metavar="CSV", help="the plan's phases table (name,start,end[,notes])")
    im.add_argument("--sensors", metavar="FILE", help="the plan's sensor set (points with a reach; replaces the "
                                                      "whole set; see the README's Sensors section)")
    im.add_argument("--notional", action="store_true",
                    help="mark the new revision as NOTIONAL (illustrative) data; by default it is not")
    im.add_argument("--dry-run", action="store_true", help="show the change and its effect, commit nothing")
    im.add_argument("--yes", "-y", action="store_true", help="commit without asking (asked only on a terminal)")
    im.add_argument("--author", help="who commits (default: $UA_COVERAGE_AUTHOR or your login name)")
    im.add_argument("--base", metavar="ID", help="the revision your file was based on (default: current)")
    im.add_argument("--repair", action="store_true", help="accept invalid polygons by repairing them")
    im.add_argument("--layer", help="the layer to read when the file holds several")
    im.add_argument("--encoding", help="text encoding of a shapefile without .cpg, or of a CSV")
    im.add_argument("--data-dir", metavar="DIR", help=DATA_DIR_HELP)
    _add_file_options(im)
    _add_parts_options(im)
    im.set_defaults(func=cmd_import)


def _add_history(sub) -> None:
    h = sub.add_parser("history", help="list every plan revision")
    h.add_argument("--json", action="store_true", help="print the stable JSON document (see README)")
    h.add_argument("--data-dir", metavar="DIR", help=DATA_DIR_HELP)
    h.set_defaults(func=cmd_history)


def _add_diff(sub) -> None:
    d = sub.add_parser("diff", help="what changed between two revisions, and its effect on coverage")
    d.add_argument("a")
    d.add_argument("b")
    d.add_argument("--json", action="store_true", help="print the stable JSON document (see README)")
    d.add_argument("--data-dir", metavar="DIR", help=DATA_DIR_HELP)
    d.set_defaults(func=cmd_diff)


def _add_rollback(sub) -> None:
    r = sub.add_parser("rollback", help="make a new revision whose content equals an earlier one")
    r.add_argument("id")
    r.add_argument("-m", "--message", required=True)
    r.add_argument("--author", help="who commits (default: $UA_COVERAGE_AUTHOR or your login name)")
    r.add_argument("--data-dir", metavar="DIR", help=DATA_DIR_HELP)
    r.set_defaults(func=cmd_rollback)


def _add_validate(sub) -> None:
    v = sub.add_parser("validate", help="would this file be accepted as a new plan revision?")
    v.add_argument("file")
    v.add_argument("--contingents", metavar="CSV", help="contingents registry (default: the plan store's current "
                   "one where a store exists, else the sample's)")
    v.add_argument("--json", action="store_true", help="print the stable JSON report (see README)")
    v.add_argument("--repair", action="store_true", help="accept invalid polygons by repairing them")
    v.add_argument("--layer", help="the layer to read when the file holds several")
    v.add_argument("--encoding", help="text encoding of a shapefile without .cpg, or of a CSV (e.g. cp1251)")
    v.add_argument("--data-dir", metavar="DIR", help=DATA_DIR_HELP + "; its current revision's registry is the "
                   "default where a store exists")
    v.add_argument("--revision", metavar="ID", help="check against this revision's registry (default: current)")
    v.add_argument("--scope", choices=["layers", "sectors", "all"], default="layers",
                   help="the scope of the import this answers for (decides the extents reported)")
    _add_file_options(v)
    _add_parts_options(v)
    v.set_defaults(func=cmd_validate)


def _add_export(sub) -> None:
    ex = sub.add_parser("export", help="map snapshot (PNG/SVG/PDF/HTML), briefing pack PDF, or data files")
    ex.add_argument("--revision", metavar="ID", help="plan revision (default: current)")
    ex.add_argument("--domain", choices=["air", "sea", "land", "monitoring"], default="land")
    ex.add_argument("--format", choices=["png", "svg", "pdf", "html", "pack", "data", "kml", "kmz"],
                    help="default: from the --out file's extension; 'pack' = multi-page briefing PDF, "
                         "'data' = a folder of GeoJSON/styled GeoPackage/CSV, 'kml'/'kmz' = Google Earth and TAK")
    ex.add_argument("--size", choices=["slide", "a4", "a3"], default="slide",
                    help="slide = 1920x1080; a4/a3 landscape at 300 dpi (PNG) or page size (SVG/PDF)")
    ex.add_argument("--out", required=True, metavar="FILE")
    ex.add_argument("--title")
    ex.add_argument("--subtitle")
    ex.add_argument("--lang", choices=["en", "uk"], default="en", help="place labels")
    ex.add_argument("--band", type=int, metavar="N", help="air altitude band index (see analyze --json air_bands)")
    ex.add_argument("--layers", metavar="LIST", help="comma-separated: zones,gaps,overlaps,labels,sensors,unwatched "
                                                     "(default zones,gaps,overlaps,labels)")
    ex.add_argument("--sensor-altitude-ft", type=float, default=0.0, metavar="FT",
                    help="with --domain air and the sensors/unwatched layers: the target altitude (default 0)")
    ex.add_argument("--without", metavar="CODES", help="what-if: comma-separated contingents that withdrew")
    ex.add_argument("--at", metavar="YYYY-MM-DD", help="the plan as it stands on that day (validity dates, phases)")
    ex.add_argument("--bounds", metavar="W,S,E,N", help="map extent in degrees (default: all of Ukraine)")
    ex.add_argument("--banner", help="marking (default: $UA_COVERAGE_BANNER or the notional marking)")
    ex.add_argument("--timeout", type=float, default=120, help="seconds before rendering is stopped (default 120)")
    ex.add_argument("--data-dir", metavar="DIR", help=DATA_DIR_HELP)
    ex.set_defaults(func=cmd_export)


def _add_user(sub) -> None:
    us = sub.add_parser("user", help="add or change a dashboard user (salted password hash, roles)")
    us.add_argument("name")
    us.add_argument("--roles", default="viewer", help="comma-separated: viewer, editor, exporter (default viewer)")
    us.add_argument("--users", metavar="FILE", help="users file (default: $UA_COVERAGE_USERS)")
    us.add_argument("--keep-password", action="store_true", help="change roles only")
    us.set_defaults(func=cmd_user)


def _add_serve(sub) -> None:
    sv = sub.add_parser("serve", help="run the dashboard on the current plan revision")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sv.add_argument("--port", type=int, default=8050)
    sv.add_argument("--data-dir", metavar="DIR", help=DATA_DIR_HELP)
    sv.add_argument("--banner", help="marking shown top and bottom (default: $UA_COVERAGE_BANNER or "
                    "'UNCLASSIFIED // NOTIONAL PLANNING DATA')")
    sv.add_argument("--workers", type=int, default=1,
                    help="worker processes (>1 runs gunicorn; use with UA_COVERAGE_DATABASE_URL for PostGIS)")
    sv.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    sv.set_defaults(func=cmd_serve)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except IngestError as exc:
        print(f"ua-coverage: {exc.message}", file=sys.stderr)
        if len(exc.problems) > 1 or (exc.problems and exc.problems[0].message != exc.message):
            _print_problems(exc.problems)
        return exc.exit_code
    except CoverageError as exc:
        from .rules import advice

        tip = advice(exc.rule, "cli")
        print(f"ua-coverage: {exc.message}" + (f" {tip}" if tip and tip not in exc.message else ""), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `ua-coverage analyze --json | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - never a traceback for the user; UA_COVERAGE_DEBUG=1 shows it
        if os.environ.get("UA_COVERAGE_DEBUG"):
            raise
        print(f"ua-coverage: unexpected error ({type(exc).__name__}: {str(exc)[:300]}). Nothing was changed. This "
              "is a bug: run again with UA_COVERAGE_DEBUG=1 for the details and report them.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
