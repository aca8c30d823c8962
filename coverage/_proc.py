"""Worker processes: how every worker is started, framed and stopped (ingest reader, engine tiles, renderer).

Workers are plain ``python -m ua_coverage.<package>.<module>`` subprocesses — not multiprocessing, which
re-imports the caller's ``__main__`` under spawn. Long-lived workers talk length-prefixed frames: 8 bytes of
little-endian length, then that many bytes; writers flush after each frame and readers read exactly one, so a
reply can never be mistaken for part of the next one. :func:`kill_tree` stops a worker and everything it
started (a browser runs in a session of its own).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys


def spawn(module: str, *args: str, stderr=None, new_session: bool = False, env: dict | None = None) -> subprocess.Popen:
    """Start ``python -m module args`` with pipes on stdin and stdout (frames go there)."""
    return subprocess.Popen([sys.executable, "-m", module, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=stderr, env=env, start_new_session=new_session)


def run(module: str, data: bytes, *, timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a one-shot worker on ``data`` (stdin) with a wall-clock limit; ``subprocess.TimeoutExpired`` kills it."""
    return subprocess.run([sys.executable, "-m", module], input=data, capture_output=True, timeout=timeout, env=env)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL a worker, its process group and every descendant (even those in sessions of their own)."""
    for pid in [*descendants(proc.pid), proc.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def write_frame(stream, data: bytes) -> None:
    stream.write(len(data).to_bytes(8, "little"))
    stream.write(data)
    stream.flush()


def read_frame(stream) -> bytes | None:
    """One frame, or ``None`` if the stream ended before it began; ``EOFError`` if it ended inside it."""
    head = _read_exact(stream, 8)
    if head is None:
        return None
    data = _read_exact(stream, int.from_bytes(head, "little"))
    if data is None:
        raise EOFError("the stream ended inside a frame")
    return data


def _read_exact(stream, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(min(n - got, 1 << 24))
        if not chunk:
            if got:
                raise EOFError("the stream ended inside a frame")
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def protocol_stdout():
    """The process's stdout for frames only: anything else printing to fd 1 goes to stderr from now on."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return out
