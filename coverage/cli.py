"""The ``ua-coverage`` command line.

Exit codes: 0 success, 1 the input was rejected or the work failed (with a message saying why),
2 usage error. Heavy modules are imported inside each command so ``--help`` stays instant and the
analysis path never loads Dash or plotly.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import CoverageError, IngestError

NOTIONAL_NOTE = "NOTIONAL PLANNING DATA - illustrative sample plan, not a real deployment"


def _fmt_km2(v: float) -> str:
    return f"{v:,.1f}"


def _table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    align = align or "l" + "r" * (len(headers) - 1)

    def line(vals):
        return "  ".join(v.ljust(w) if a == "l" else v.rjust(w) for v, w, a in zip(vals, widths, align))

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def _print_problems(problems, out=sys.stderr) -> None:
    for p in problems[:50]:
        print(f"  - {p}", file=out)
    if len(problems) > 50:
        print(f"  ... and {len(problems) - 50} more", file=out)


def cmd_analyze(args) -> int:
    from . import geodata
    from .analysis import analyze
    from .domains import national_extents, read_extents, sample_extents
    from .ingest import load_sectors
    from .schema import read_contingents

    sample = args.sector_file is None
    sector_path = geodata.sample_sectors_path() if sample else Path(args.sector_file)
    reg_path = Path(args.contingents) if args.contingents else geodata.sample_contingents_path()
    registry = read_contingents(reg_path)
    res = load_sectors(sector_path, strict=False, repair=args.repair, layer=args.layer, encoding=args.encoding)
    extents = national_extents().replace(sample_extents()) if sample else national_extents()
    if args.extents:
        extents = extents.replace(read_extents(args.extents))
    result = analyze(res.sectors, extents, registry, min_area_km2=args.min_area)
    if args.out:
        from .analysis import write_layers

        written = write_layers(result, Path(args.out))
        print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    if args.json:
        doc = result.to_dict()
        doc["plan"] = {"sectors_file": str(sector_path), "contingents_file": str(reg_path),
                       "notional": sample, "warnings": [w.as_dict() for w in res.warnings]}
        json.dump(doc, sys.stdout, indent=2, ensure_ascii=False, default=float)
        print()
        return 0
    print(_human(result, sector_path, sample, res.warnings))
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
    from .ingest import validate_file

    report = validate_file(args.file, contingents=args.contingents, repair=args.repair, layer=args.layer,
                           encoding=args.encoding)
    if args.json:
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        verdict = "ACCEPTED" if report["accepted"] else "REJECTED"
        print(f"{args.file}: {verdict} ({report['format'] or 'unknown format'}, {report['features']} features)")
        from .errors import Problem

        for p in report["problems"]:
            print(f"  - {Problem(**p)}")
        for w in report["warnings"]:
            print(f"  warning: {Problem(**w)}")
    return 0 if report["accepted"] else 1


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

    a = sub.add_parser("analyze", help="gaps, overlaps and coverage per layer (default: the sample plan)")
    a.add_argument("sector_file", nargs="?", help="sector file (default: the bundled NOTIONAL sample plan)")
    a.add_argument("--contingents", metavar="CSV", help="contingents registry (default: the sample's)")
    a.add_argument("--extents", metavar="FILE", help="polygons with a 'domain' field replacing default extents")
    a.add_argument("--json", action="store_true", help="print the stable JSON document (see README)")
    a.add_argument("--out", metavar="DIR", help="write gap, overlap and partition layers (GeoJSON + GeoPackage)")
    a.add_argument("--min-area", type=float, default=0.01, metavar="KM2",
                   help="smallest gap/overlap piece listed, km² (default 0.01; totals stay exact)")
    a.add_argument("--repair", action="store_true", help="repair invalid polygons instead of refusing them")
    a.add_argument("--layer", help="the layer to read when the file holds several")
    a.add_argument("--encoding", help="text encoding of a shapefile without .cpg, or of a CSV (e.g. cp1251)")
    a.set_defaults(func=cmd_analyze)

    v = sub.add_parser("validate", help="would this file be accepted as a new plan revision?")
    v.add_argument("file")
    v.add_argument("--contingents", metavar="CSV", help="contingents registry (default: the sample's)")
    v.add_argument("--json", action="store_true", help="print the stable JSON report (see README)")
    v.add_argument("--repair", action="store_true", help="accept invalid polygons by repairing them")
    v.add_argument("--layer", help="the layer to read when the file holds several")
    v.add_argument("--encoding", help="text encoding of a shapefile without .cpg, or of a CSV (e.g. cp1251)")
    v.set_defaults(func=cmd_validate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except IngestError as exc:
        print(f"ua-coverage: {exc.message}", file=sys.stderr)
        if len(exc.problems) > 1 or (exc.problems and exc.problems[0].message != exc.message):
            _print_problems(exc.problems)
        return 1
    except CoverageError as exc:
        print(f"ua-coverage: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `ua-coverage analyze --json | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
