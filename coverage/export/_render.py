"""The rendering worker: turns figure dicts into PNG/SVG/PDF with kaleido and Debian's Chromium.

Run as ``python -m ua_coverage.export._render``. It keeps one kaleido session (one headless Chromium) open and
answers requests, each a length-prefixed JSON document on stdin, with a length-prefixed JSON reply
on stdout, so only the first export pays for starting the browser. It exits when stdin closes or
after ``--idle`` seconds without a request. Rendering runs in its own process so that a hung browser
can be killed by the parent's time limit (the parent then starts a fresh worker), and so that no
kaleido server ever lives in the Dash process (a kaleido server in a process that forks hung Dash's
background callbacks). MathJax is off and plotly.js comes from the installed plotly package: nothing
is fetched.
"""
from __future__ import annotations

import asyncio
import json
import os
import select
import sys
import tempfile
from pathlib import Path

from .._proc import protocol_stdout, read_frame, write_frame


def read_message(stream) -> dict | None:
    """One JSON message, or ``None`` at end of stream."""
    data = read_frame(stream)
    return None if data is None else json.loads(data)


def write_message(stream, msg: dict) -> None:
    write_frame(stream, json.dumps(msg).encode())


async def _serve(idle: float) -> None:
    import kaleido
    import plotly

    from ..figures import empty_topojson

    stdin, stdout = sys.stdin.buffer, _REPLIES
    plotlyjs = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    with tempfile.TemporaryDirectory(prefix="ua-render-") as tmp:
        topo = Path(tmp)
        for name in ("world_110m.json", "world_50m.json"):
            (topo / name).write_text(json.dumps(empty_topojson()))
        topojson = topo.as_uri() + "/"
        async with kaleido.Kaleido(n=1, timeout=120, plotlyjs=str(plotlyjs), mathjax=False) as k:
            write_message(stdout, {"ready": True})
            loop = asyncio.get_running_loop()
            while True:
                ready, _, _ = await loop.run_in_executor(None, select.select, [stdin], [], [], idle)
                if not ready:
                    return  # idle: free the browser; the parent starts a new worker when needed
                req = await loop.run_in_executor(None, read_message, stdin)
                if req is None:
                    return
                try:
                    for job in req["jobs"]:
                        await k.write_fig(job["figure"], path=job["path"],
                                          opts={"format": job["format"], "width": job["width"],
                                                "height": job["height"], "scale": job.get("scale", 1)},
                                          topojson=topojson)
                    missing = [j["path"] for j in req["jobs"]
                               if not Path(j["path"]).exists() or Path(j["path"]).stat().st_size == 0]
                    reply = {"ok": not missing, "error": f"no output for {', '.join(missing)}" if missing else ""}
                except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises ExportError
                    reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                write_message(stdout, reply)


_REPLIES = None


def main() -> int:
    global _REPLIES
    # replies go to the original stdout; anything else printing to fd 1 (imports, the browser) goes
    # to stderr — set up before anything else runs
    _REPLIES = protocol_stdout()
    idle = float(sys.argv[sys.argv.index("--idle") + 1]) if "--idle" in sys.argv else 600.0
    os.environ.setdefault("BROWSER_PATH", "/usr/bin/chromium")
    asyncio.run(_serve(idle))
    return 0


if __name__ == "__main__":
    sys.exit(main())
