"""The rendering worker: turns figure dicts into PNG/SVG/PDF with kaleido and Debian's Chromium.

Run as ``python -m coverage._render`` with a JSON request on stdin. Rendering runs in its own process
so that a hung browser can be killed by the parent's time limit, and so that no kaleido server ever
lives in the Dash process (a kaleido server in a process that forks hung Dash's background callbacks).
MathJax is off and plotly.js comes from the installed plotly package: nothing is fetched.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path


async def _render(jobs: list[dict], topojson: str) -> None:
    import kaleido
    import plotly

    plotlyjs = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    async with kaleido.Kaleido(n=1, timeout=120, plotlyjs=str(plotlyjs), mathjax=False) as k:
        for job in jobs:
            await k.write_fig(job["figure"], path=job["path"],
                              opts={"format": job["format"], "width": job["width"], "height": job["height"],
                                    "scale": job.get("scale", 1)},
                              topojson=topojson)


def main() -> int:
    req = json.loads(sys.stdin.buffer.read())
    os.environ.setdefault("BROWSER_PATH", "/usr/bin/chromium")
    asyncio.run(_render(req["jobs"], req["topojson"]))
    for job in req["jobs"]:
        if not Path(job["path"]).exists() or Path(job["path"]).stat().st_size == 0:
            print(f"no output for {job['path']}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
