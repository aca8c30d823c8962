"""Every CSV the product reads — sectors (with a WKT column), the contingents registry, the phases table, sensors — is
decoded and split the same way, here.

**Encoding**: a byte-order mark decides (UTF-8, UTF-16); else the encoding named by the user; else UTF-8 when the
bytes are UTF-8; else the one of Windows-1251 (Cyrillic) and Windows-1252 (Western European) that reads the text as
words of one alphabet — reported as a guess (``encoding-guessed``). Bytes neither reads are refused.

**Delimiter**: comma, semicolon, tab or ``|`` (Excel in a European locale writes ``;``). The delimiter is the one
that splits every line (quotes respected) into the same number of fields, more than one; when several do, the one
that makes the header hold the expected columns, else the one splitting into more fields… and when it still cannot
be decided, the message names the delimiters it saw on each line (``csv-delimiter``).

>>> sniff(b"code;name;colour\\nFRA;France;#004488\\n", expected=("code",)).delimiter
';'
>>> sniff(b"name,start,end\\nEntry,2027-01-01,2027-03-31\\n").delimiter
','
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from ..errors import FormatError, Problem

DELIMITERS = (",", ";", "\t", "|")
_NAMES = {",": "comma ','", ";": "semicolon ';'", "\t": "tab", "|": "bar '|'"}
#: how many lines decide the delimiter
_SAMPLE_LINES = 200


@dataclass
class Sniffed:
    text: str
    encoding: str
    delimiter: str
    warnings: list[Problem] = field(default_factory=list)


def _fail(rule: str, message: str, cls=FormatError):
    return cls(message, rule=rule, problems=[Problem(rule, message)])


def decode(data: bytes, encoding: str | None = None, what: str = "the CSV") -> tuple[str, str, list[Problem]]:
    """``(text, encoding, warnings)``; raises :class:`FormatError` (``encoding-invalid``, ``encoding-unknown``)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "strict") if _utf8(data[3:]) else _bad(data[3:], "UTF-8", what), "utf-8", []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", []
        except UnicodeDecodeError as exc:
            raise _fail("encoding-invalid", f"{what} starts like UTF-16 but is not (byte {exc.start})") from exc
    if encoding:
        try:
            return data.decode(encoding), encoding, []
        except LookupError as exc:
            raise _fail("encoding-unknown", f"unknown encoding {encoding!r}") from exc
        except UnicodeDecodeError as exc:
            raise _fail("encoding-invalid", f"{what} is not {encoding} (byte {exc.start}); save it as UTF-8 or name "
                        "its encoding") from exc
    if _utf8(data):
        return data.decode("utf-8"), "utf-8", []
    guess = _guess_single_byte(data)
    if guess is None:
        _bad(data, "UTF-8", what)
    text = data.decode(guess)
    label = {"cp1251": "Windows-1251 (Cyrillic)", "cp1252": "Windows-1252 (Western European)"}[guess]
    return text, guess, [Problem("encoding-guessed", f"{what} is not UTF-8; its text was read as {label}")]


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _bad(data: bytes, enc: str, what: str):
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail("encoding-invalid", f"{what} is not {enc} (byte {exc.start}) and its encoding cannot be told; "
                    "save it as UTF-8 or name its encoding") from exc
    raise _fail("encoding-invalid", f"{what} is not {enc}")


def _guess_single_byte(data: bytes) -> str | None:
    """cp1251 or cp1252: the one whose non-ASCII letters form words of one alphabet (None when neither does).

    Under the wrong one, Cyrillic words turn into runs of accented Latin letters and Latin words with accents into
    Latin words with a Cyrillic letter inside: a Cyrillic word is Cyrillic throughout, a Western word mostly ASCII
    letters with an accent or two."""
    scores = {}
    for enc in ("cp1251", "cp1252"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        words = [w for w in re.findall(r"[^\W\d_]+", text) if not w.isascii()]
        if not words:
            continue
        if enc == "cp1251":  # Cyrillic words are Cyrillic throughout
            good = sum(1 for w in words if all("\u0400" <= c <= "\u04ff" for c in w) and len(w) > 1)
        else:  # Western words are mostly ASCII letters with an accent or two
            good = sum(1 for w in words if sum(not c.isascii() for c in w) * 2 <= len(w) or len(w) == 1)
        scores[enc] = good / len(words)
    if not scores:
        return None
    best = max(scores, key=lambda e: (scores[e], e == "cp1252"))
    return best if scores[best] > 0.5 else None


def _mixes(word: str) -> bool:
    """A word mixing Latin and Cyrillic letters (or holding symbols a decoding made of letters' bytes)."""
    cyr = any("\u0400" <= c <= "\u04ff" for c in word)
    lat = any(c.isascii() or "\u00c0" <= c <= "\u024f" for c in word)
    return cyr and lat


def _rows(text: str, delim: str) -> list[list[str]]:
    lines = [ln for ln in text.splitlines() if ln.strip()][:_SAMPLE_LINES]
    try:
        return list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim, quotechar='"', strict=False))
    except csv.Error:
        return []


def sniff(data: bytes, *, encoding: str | None = None, expected: tuple[str, ...] = (), what: str = "the CSV") -> Sniffed:
    """Decode ``data`` and decide its delimiter (see the module docs)."""
    text, enc, warnings = decode(data, encoding, what)
    text = text.lstrip("\ufeff")
    return Sniffed(text, enc, delimiter_of(text, expected, what), warnings)


def delimiter_of(text: str, expected: tuple[str, ...] = (), what: str = "the CSV") -> str:
    counts = {}
    for d in DELIMITERS:
        rows = _rows(text, d)
        widths = [len(r) for r in rows]
        counts[d] = widths
    consistent = [d for d, w in counts.items() if w and min(w) > 1 and len(set(w)) == 1]
    if len(consistent) == 1:
        return consistent[0]
    if len(consistent) > 1:
        want = {e.lower() for e in expected}
        if want:
            hit = {d: len(want & {c.strip().strip('"').lower() for c in _rows(text, d)[0]}) for d in consistent}
            top = max(hit.values())
            best = [d for d in consistent if hit[d] == top]
            if top and len(best) == 1:
                return best[0]
            consistent = best if top else consistent
        widest = max(counts[d][0] for d in consistent)
        best = [d for d in consistent if counts[d][0] == widest]
        if len(best) == 1:
            return best[0]
        if "," in best:  # a comma and another splitting alike: the CSV default
            return ","
        return best[0]
    # no delimiter splits every line alike: a one-column file, or a broken one
    header = {d: counts[d][0] for d in DELIMITERS if counts[d]}
    if header and all(n == 1 for n in header.values()):
        return ","
    seen = []
    for d in DELIMITERS:
        w = counts[d]
        if w and max(w) > 1:
            lo, hi = min(w) - 1, max(w) - 1
            seen.append(f"{_NAMES[d]} ({lo} to {hi} per line)" if lo != hi else f"{_NAMES[d]} ({lo} per line)")
    raise _fail("csv-delimiter", f"cannot tell which delimiter {what} uses: no delimiter splits every line into the "
                f"same number of fields; seen: {', '.join(seen) or 'none'}")


def to_comma_csv(text: str, delimiter: str) -> str:
    """The same table with comma delimiters (for readers that expect them)."""
    if delimiter == ",":
        return text
    out = io.StringIO()
    writer = csv.writer(out, delimiter=",", quotechar='"', quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    for row in csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"'):
        writer.writerow(row)
    return out.getvalue()


def read_table(source, *, what: str, max_bytes: int, expected: tuple[str, ...] = (), encoding: str | None = None,
               unreadable: str = "format-damaged"):
    """A CSV (path or bytes) as a frame of text (``""`` for empty cells), column names trimmed and lower-cased,
    with the sniffing warnings: ``(frame, warnings)``. Raises :class:`~ua_coverage.errors.IngestError`."""
    import pandas as pd

    from ..errors import IngestError

    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        try:
            from pathlib import Path

            path = Path(source)
            if path.stat().st_size > max_bytes:
                raise IngestError(f"{what} is larger than {max_bytes // 1024} KB", rule="file-too-large")
            data = path.read_bytes()
        except OSError as exc:
            raise IngestError(f"cannot read {what}: {exc.strerror or exc}", rule=unreadable) from exc
    if len(data) > max_bytes:
        raise IngestError(f"{what} is {len(data) / 1024:.0f} KB; it may be at most {max_bytes // 1024} KB",
                          rule="file-too-large")
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(f"{what} holds binary content (NUL bytes); save it again as a UTF-8 CSV", rule=unreadable)
    sn = sniff(data, encoding=encoding, expected=expected, what=what)
    try:
        df = pd.read_csv(io.StringIO(sn.text), sep=sn.delimiter, dtype=str, keep_default_na=False,
                         skipinitialspace=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise IngestError(f"cannot read {what}: {str(exc).strip()[:200]}", rule=unreadable) from exc
    df.columns = [str(c).strip().lower() for c in df.columns]
    return df, sn.warnings
