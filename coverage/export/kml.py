"""KML and KMZ for Google Earth and ATAK/WinTAK: the sectors styled by lead contingent, gaps and overlaps.

KML 2.2, self-contained: no NetworkLink, no remote icons (polygons only, so nothing to embed), the marking in
the document name and description. Each sector's balloon gives its name, contingents (lead first), domain,
kind, altitude limits and validity.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import shapely

from ..text import xml_text as escape
from ..view import oblasts_in_words

GAP, OVERLAP = "#ff00ff", "#404040"


def _kml_colour(hex_colour: str, alpha: float) -> str:
    """KML's aabbggrr from ``#rrggbb``."""
    h = hex_colour.lstrip("#")
    return f"{round(alpha * 255):02x}{h[4:6]}{h[2:4]}{h[0:2]}".lower()


def _ring(coords) -> str:
    return " ".join(f"{x:.7f},{y:.7f},0" for x, y in coords)


def _polygon(poly) -> str:
    poly = shapely.orient_polygons(poly, exterior_cw=False)
    inner = "".join(f"<innerBoundaryIs><LinearRing><coordinates>{_ring(r.coords)}</coordinates></LinearRing>"
                    f"</innerBoundaryIs>" for r in poly.interiors)
    return (f"<Polygon><tessellate>1</tessellate><outerBoundaryIs><LinearRing><coordinates>{_ring(poly.exterior.coords)}"
            f"</coordinates></LinearRing></outerBoundaryIs>{inner}</Polygon>")


def _geometry(geom) -> str:
    if geom is None or geom.is_empty:
        return ""
    parts = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and not g.is_empty]
    if len(parts) == 1:
        return _polygon(parts[0])
    return "<MultiGeometry>" + "".join(_polygon(g) for g in parts) + "</MultiGeometry>"


def _style(sid: str, colour: str, fill_alpha: float, line: str | None = None, width: float = 1.5) -> str:
    return (f'<Style id="{escape(sid)}"><LineStyle><color>{_kml_colour(line or colour, 1.0)}</color>'
            f"<width>{width}</width></LineStyle><PolyStyle><color>{_kml_colour(colour, fill_alpha)}</color>"
            "<fill>1</fill><outline>1</outline></PolyStyle></Style>")


def _placemark(name: str, style: str, description: str, geom) -> str:
    g = _geometry(geom)
    if not g:
        return ""
    return (f"<Placemark><name>{escape(name)}</name><styleUrl>#{escape(style)}</styleUrl>"
            f"<description><![CDATA[{description}]]></description>{g}</Placemark>")


def _balloon(rows: list[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><td><b>{escape(k)}</b></td><td>{escape(str(v))}</td></tr>"
                               for k, v in rows if v not in (None, "")) + "</table>"


def document_kind(state: list[str]) -> str:
    """What a KML document shows, for its name (what Google Earth and ATAK list): the plan, a what-if, a day.

    >>> document_kind(["Plan revision 6 · 2027-01-01 10:00 UTC"])
    'coverage plan, revision 6'
    >>> document_kind(["Plan revision 6 · t", "on 2027-04-01", "WHAT-IF — without GBR, NOR: not the plan"])
    'coverage WHAT-IF without GBR, NOR (not the plan), revision 6, on 2027-04-01'
    """
    rev = next((p.split(" · ")[0].replace("Plan revision", "revision") for p in state if p.startswith("Plan revision")),
               "")
    whatif = next((p for p in state if p.startswith("WHAT-IF")), "")
    kind = ("coverage WHAT-IF " + whatif.split("— ", 1)[-1].replace(": not the plan", " (not the plan)")
            if whatif else "coverage plan")
    day = next((p for p in state if p.startswith("on ")), "")
    band = next((p for p in state if p.startswith("altitude band")), "")
    return ", ".join(x for x in (kind, rev, day, band) if x)


def write_kml(plan, analysis, out: str | Path, *, marking: str, state: list[str], kmz: bool = False) -> Path:
    """Write the plan's sectors, its gaps and overlaps (and its sensors with their footprints) as KML (or a KMZ
    holding ``doc.kml``)."""
    out = Path(out)
    reg = plan.contingents
    colours = dict(zip(reg["code"], reg["colour"]))
    names = dict(zip(reg["code"], reg["name"]))
    styles = [_style("unassigned", "#9e9e9e", 0.35), _style("gap", GAP, 0.55, line="#000000", width=2),
              _style("overlap", OVERLAP, 0.45)]
    styles += [_style(f"lead-{c}", col, 0.35) for c, col in colours.items()]
    sectors = []
    for (_, r), geom in zip(plan.sectors.iterrows(), plan.sectors.geometry):
        cs = list(r["contingents"])
        limits = ""
        if r["layer"] == "air":
            lo = r.get("floor_ft")
            hi = r.get("ceiling_ft")
            limits = f"{0 if lo != lo or lo is None else lo:,.0f}–{'∞' if hi != hi or hi is None else format(hi, ',.0f')} ft"
        validity = " to ".join(x for x in (str(r.get("valid_from") or ""), str(r.get("valid_to") or "")) if x)
        desc = _balloon([("Sector", r["sector_id"]), ("Name", r["name"]),
                         ("Contingents", ", ".join(f"{c} ({names.get(c, 'not in registry')})" + (" lead" if i == 0 else "")
                                                   for i, c in enumerate(cs)) or "unassigned"),
                         ("Domain", r["domain"]), ("Kind", r["kind"]), ("Altitude", limits),
                         ("Phase", r.get("phase", "")), ("Valid", validity), ("Notes", r.get("notes", ""))])
        style = f"lead-{cs[0]}" if cs and cs[0] in colours else "unassigned"
        sectors.append(_placemark(f"{r['sector_id']} {r['name']}", style, desc, geom))
    gaps = [_placemark(f"Gap {g['area_km2']:,.1f} km² ({g['domain']})", "gap", _balloon([
        ("Layer", g["domain"]), ("Area km²", f"{g['area_km2']:,.1f}"), ("Oblasts", oblasts_in_words(g["oblasts"])),
        ("Inside unassigned", ", ".join(g.get("sectors", [])))]), geom)
        for g, geom in zip(analysis.gaps, analysis.gap_pieces.geometry)]
    overlaps = [_placemark(f"Overlap {o['area_km2']:,.1f} km² ({o['domain']})", "overlap", _balloon([
        ("Layer", o["domain"]), ("Area km²", f"{o['area_km2']:,.1f}"), ("Sectors", ", ".join(o["sectors"])),
        ("Contingents", ", ".join(o["contingents"])), ("Kind", "conflict" if o["conflict"] else "same lead")]), geom)
        for o, geom in zip(analysis.overlaps, analysis.overlap_pieces.geometry)]

    def folder(name: str, items: list[str]) -> str:
        return f"<Folder><name>{escape(name)}</name>{''.join(i for i in items if i)}</Folder>"

    sensors = ""
    if len(getattr(plan, "sensors", ())):
        from ..engine.sensors import SMOOTH_EARTH_NOTE
        from .data import sensor_layers

        layers = sensor_layers(plan)
        styles.append(_style("footprint", "#004d40", 0.08, width=1.5))
        points, prints = [], []
        for (_, r), geom in zip(layers["sensors"].iterrows(), layers["sensors"].geometry):
            desc = _balloon([("Sensor", r["sensor_id"]), ("Name", r["name"]), ("Type", r["type"]),
                             ("Contingents", r["contingent"].replace(";", ", ")), ("Domain", r["domain"]),
                             ("Range km", f"{r['range_km']:,.1f}"), ("Reach km", f"{r['reach_km']:,.1f}"),
                             ("Radar horizon km", "" if r["horizon_km"] != r["horizon_km"] or r["horizon_km"] is None
                              else f"{r['horizon_km']:,.1f}"), ("Model", SMOOTH_EARTH_NOTE)])
            points.append(f"<Placemark><name>{escape(str(r['sensor_id']))}</name><description><![CDATA[{desc}]]>"
                          f"</description><Point><coordinates>{geom.x:.7f},{geom.y:.7f},0</coordinates></Point>"
                          "</Placemark>")
        for (_, r), geom in zip(layers["sensor_footprints"].iterrows(), layers["sensor_footprints"].geometry):
            alt = "" if r["altitude_ft"] is None or r["altitude_ft"] != r["altitude_ft"] else \
                f" at {r['altitude_ft']:,.0f} ft"
            prints.append(_placemark(f"{r['sensor_id']} reach{alt}", "footprint", _balloon([
                ("Sensor", r["sensor_id"]), ("Reach km", f"{r['reach_km']:,.1f}"), ("Target altitude", alt.strip()),
                ("Model", SMOOTH_EARTH_NOTE)]), geom))
        sensors = folder("Sensors", points + [folder("Footprints (smooth earth, no terrain)", prints)])

    by_layer = {}
    for (_, r), pm in zip(plan.sectors.iterrows(), sectors):
        by_layer.setdefault(r["layer"], []).append(pm)
    description = escape(" · ".join([marking, *state]))
    doc = ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
           f"<name>{escape(marking)} — {escape(document_kind(state))}</name><description>{description}</description>"
           + "".join(styles)
           + folder("Sectors", [folder(layer.title(), pms) for layer, pms in by_layer.items()])
           + folder("Gaps", gaps) + folder("Overlaps", overlaps) + sensors + "</Document></kml>\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    if kmz:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("doc.kml", doc)
    else:
        out.write_text(doc, encoding="utf-8")
    return out
