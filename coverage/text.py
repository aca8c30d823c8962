"""Plan data is text: every string from a plan, a registry, a commit message or a note, made safe for one output.

Plotly reads trace names, annotations and table cells as pseudo-HTML (``<a href>``, ``<span style>``, ``<br>``),
SVG and HTML exports keep that markup, KML is XML (which refuses most control characters), and a spreadsheet runs
a cell that starts with ``=``. So text from plan data is escaped at the one point where it enters each output, and
control characters never reach any of them.

Examples
--------
>>> plotly_text('<a href="x">FRA</a>')
'&lt;a href=&quot;x&quot;&gt;FRA&lt;/a&gt;'
>>> strip_controls("Kyiv\\x00\\x1b[31m")
'Kyiv[31m'
>>> control_characters("ok\\tfine"), control_characters("bad\\x07")
([], ['U+0007'])
"""
from __future__ import annotations

import html
import re

#: C0 controls but tab, newline and carriage return; DEL; the C1 controls (XML 1.0 refuses most of them, and a
#: terminal obeys them)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_characters(text) -> list[str]:
    """The control characters ``text`` holds, as ``U+XXXX`` (empty when there are none)."""
    return sorted({f"U+{ord(c):04X}" for c in _CONTROL.findall(str(text))})


def strip_controls(text) -> str:
    return _CONTROL.sub("", "" if text is None else str(text))


def plotly_text(text) -> str:
    """Text for plotly's pseudo-HTML (trace names, annotations, table cells, titles): shown, never obeyed."""
    return html.escape(strip_controls(text), quote=True)


def xml_text(text) -> str:
    """Text for an XML element or attribute (KML, SVG): escaped, with no character XML 1.0 refuses."""
    return html.escape(strip_controls(text), quote=True)
