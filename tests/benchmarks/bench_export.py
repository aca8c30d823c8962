"""Export timings on the sample plan (not part of CI): the first export starts the render worker and
its browser; later ones reuse them.

    python tests/benchmarks/bench_export.py
"""
from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

_sys.path.insert(0, str(_Path(__file__).resolve().parents[2]))  # this checkout, not an installed copy

import tempfile  # noqa: E402
import time  # noqa: E402

from ua_coverage.engine.analysis import analyze  # noqa: E402
from ua_coverage.export import Snapshot, briefing_pack, export_snapshot  # noqa: E402
from ua_coverage.figures import MapView  # noqa: E402
from ua_coverage.workflow import sample_plan  # noqa: E402
from ua_coverage.store import RevisionInfo  # noqa: E402


def main() -> None:
    plan = sample_plan()
    rev = RevisionInfo(id=1, parent=None, author="bench", time="2026-11-26T00:00:00Z", message="sample",
                       hash="x", sectors=len(plan.sectors))
    snap = Snapshot(plan, analyze(plan.sectors, plan.full_extents(), plan.contingents), rev, MapView(domain="land"))
    out = _Path(tempfile.mkdtemp(prefix="bench-export-"))
    for label, fmt, size in [("PNG slide (cold: starts the browser)", "png", "slide"), ("PNG slide", "png", "slide"),
                             ("PNG slide", "png", "slide"), ("PNG A4 300 dpi", "png", "a4"), ("SVG slide", "svg", "slide"),
                             ("PDF A4", "pdf", "a4"), ("HTML", "html", "slide")]:
        t = time.perf_counter()
        export_snapshot(snap, fmt, out / f"x.{fmt}", size=size)
        print(f"{label:<40} {time.perf_counter() - t:6.2f} s")
    t = time.perf_counter()
    briefing_pack(plan, snap.analysis, rev, out / "pack.pdf")
    print(f"{'briefing pack (6 pages)':<40} {time.perf_counter() - t:6.2f} s")


if __name__ == "__main__":
    main()
