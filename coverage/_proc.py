"""Length-prefixed frames over a pipe, shared by the engine's and the renderer's worker processes.

A frame is 8 bytes of little-endian length, then that many bytes. Writers flush after each frame;
readers read exactly one frame, so a reply can never be mistaken for part of the next one.
"""
from __future__ import annotations

import os


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
