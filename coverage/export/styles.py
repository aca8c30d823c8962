"""Layer styles for GIS tools: QGIS QML and OGC SLD for the layers we write, matching the dashboard's meaning.

Gaps are magenta with a black outline, overlaps grey by depth, the partition by state, sectors by lead
contingent in the registry's colours. :func:`add_styles` stores them in a GeoPackage's ``layer_styles`` table
(the table QGIS reads a layer's default style from), so a layer opens styled.
"""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

GAP = "#ff00ff"
OVERLAP_DEPTH = {"2": "#7f7f7f", "3": "#4d4d4d", "4+": "#1a1a1a"}
STATES = {"gap": ("Gap (no contingent covers it)", GAP, 0.6), "unassigned": ("Gap inside an unassigned sector", "#c51bcb", 0.6),
          "conflict": ("Overlap, different leads", "#4d4d4d", 0.55), "self_overlap": ("Overlap, same lead", "#8c8c8c", 0.5),
          "covered": ("Covered", "#4daf4a", 0.3), "outside": ("Outside the extent", "#bdbdbd", 0.3)}


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{round(alpha * 255)}"


def _symbol(name: str, colour: str, alpha: float, outline: str = "#000000", width: float = 0.26) -> str:
    props = {"color": _rgba(colour, alpha), "style": "solid", "outline_color": _rgba(outline, 1.0),
             "outline_style": "solid", "outline_width": str(width), "outline_width_unit": "MM", "joinstyle": "miter"}
    prop = "".join(f'<prop k="{k}" v="{v}"/>' for k, v in props.items())
    opts = "".join(f'<Option name="{k}" type="QString" value="{v}"/>' for k, v in props.items())
    return (f'<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="SimpleFill" pass="0" locked="0" enabled="1">{prop}<Option type="Map">{opts}</Option>'
            f'</layer></symbol>')


def qml_categorized(attr: str, categories: list[tuple[str, str, str, float]]) -> str:
    """A QGIS categorized renderer on ``attr``: ``(value, label, #rrggbb, alpha)`` per category."""
    cats = "".join(f'<category symbol="{i}" value={quoteattr(v)} label={quoteattr(lab)} render="true"/>'
                   for i, (v, lab, _, _) in enumerate(categories))
    syms = "".join(_symbol(str(i), c, a, outline="#000000" if c == GAP else c, width=0.4 if c == GAP else 0.26)
                   for i, (_, _, c, a) in enumerate(categories))
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
            '<qgis version="3.22.0" styleCategories="Symbology">'
            f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(attr)} symbollevels="0" enableorderby="0" '
            f'forceraster="0"><categories>{cats}</categories><symbols>{syms}</symbols></renderer-v2>'
            '<blendMode>0</blendMode><featureBlendMode>0</featureBlendMode><layerOpacity>1</layerOpacity></qgis>')


def sld_categorized(layer: str, attr: str, categories: list[tuple[str, str, str, float]]) -> str:
    """The same categories as an OGC SLD 1.1 document (for tools other than QGIS)."""
    rules = "".join(
        f"<se:Rule><se:Name>{escape(lab)}</se:Name><ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>"
        f"{escape(attr)}</ogc:PropertyName><ogc:Literal>{escape(v)}</ogc:Literal></ogc:PropertyIsEqualTo>"
        f"</ogc:Filter><se:PolygonSymbolizer><se:Fill><se:SvgParameter name=\"fill\">{c}</se:SvgParameter>"
        f"<se:SvgParameter name=\"fill-opacity\">{a}</se:SvgParameter></se:Fill><se:Stroke>"
        f"<se:SvgParameter name=\"stroke\">{'#000000' if c == GAP else c}</se:SvgParameter></se:Stroke>"
        f"</se:PolygonSymbolizer></se:Rule>" for v, lab, c, a in categories)
    return ('<?xml version="1.0" encoding="UTF-8"?><StyledLayerDescriptor version="1.1.0" '
            'xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc" '
            'xmlns:se="http://www.opengis.net/se"><NamedLayer>'
            f"<se:Name>{escape(layer)}</se:Name><UserStyle><se:FeatureTypeStyle>{rules}</se:FeatureTypeStyle>"
            "</UserStyle></NamedLayer></StyledLayerDescriptor>")


def layer_categories(name: str, registry=None) -> tuple[str, list[tuple[str, str, str, float]]]:
    """``(attribute, categories)`` of one of our layers: gaps, overlaps, partition or sectors."""
    if name == "gaps":
        return "kind", [("gap", "Gap (no contingent covers it)", GAP, 0.6),
                        ("unassigned", "Gap inside an unassigned sector", STATES["unassigned"][1], 0.6)]
    if name == "overlaps":
        return "depth", [(d, f"Overlap: {d} sectors", c, 0.55) for d, c in OVERLAP_DEPTH.items()]
    if name == "partition":
        return "state", [(k, lab, c, a) for k, (lab, c, a) in STATES.items()]
    cats = [("", "Unassigned sector", "#9e9e9e", 0.35)]
    if registry is not None:
        cats += [(str(c), f"{c} — {n}", str(col), 0.35) for c, n, col in
                 zip(registry["code"], registry["name"], registry["colour"])]
    return "lead", cats


def add_styles(gpkg, layers: dict[str, str], registry=None) -> None:
    """Write a ``layer_styles`` table (QML and SLD, default style per layer) into ``gpkg``.

    ``layers`` maps layer name to a description. The table is written through GDAL, so it is registered as
    an attributes table of the GeoPackage, where QGIS looks for it.
    """
    import pandas as pd
    import pyogrio

    rows = []
    for name, description in layers.items():
        attr, cats = layer_categories(name, registry)
        rows.append({"f_table_catalog": "", "f_table_schema": "", "f_table_name": name, "f_geometry_column": "geom",
                     "styleName": f"ua-coverage {name}", "styleQML": qml_categorized(attr, cats),
                     "styleSLD": sld_categorized(name, attr, cats), "useAsDefault": True,
                     "description": description, "owner": "ua-coverage", "ui": "",
                     "update_time": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")})
    pyogrio.write_dataframe(pd.DataFrame(rows), gpkg, layer="layer_styles", driver="GPKG")
