"""Run the command line in this process (no interpreter start-up per call, and its lines count for coverage).

A few tests still run ``python -m ua_coverage`` as a subprocess: the entry point, the working directory, and
anything a process boundary is part of (SIGKILL, pipes).
"""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``ua-coverage ARGS`` in-process: a ``CompletedProcess`` with ``returncode``, ``stdout`` and ``stderr``.

    ``env`` sets (a value) or unsets (``None``) environment variables for the call only.
    """
    from ua_coverage.cli import main

    saved = {k: os.environ.get(k) for k in (env or {})}
    out, err = io.StringIO(), io.StringIO()
    try:
        for k, v in (env or {}).items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse: usage errors and --help
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return subprocess.CompletedProcess([sys.executable, "-m", "ua_coverage", *map(str, args)], code,
                                       out.getvalue(), err.getvalue())
