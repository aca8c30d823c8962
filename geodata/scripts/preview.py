"""Draw the committed base layers and the NOTIONAL sample plan to a PNG (a quick visual check).

    pip install matplotlib && python geodata/scripts/preview.py out.png
"""
import sys
from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

G = Path(__file__).resolve().parents[1]


def main(out: str) -> None:
    fig, ax = plt.subplots(figsize=(16, 10), dpi=100)
    gpd.read_file(G / "seas.geojson").plot(ax=ax, color="#dbe9f6", edgecolor="none")
    gpd.read_file(G / "neighbours.geojson").plot(ax=ax, color="#eeeeee", edgecolor="#999999", linewidth=0.5)
    gpd.read_file(G / "territorial_sea.geojson").plot(ax=ax, color="#a9cce3", edgecolor="none")
    units = gpd.read_file(G / "ukraine_admin1.geojson")
    units.plot(ax=ax, color="#fbf7ee", edgecolor="#8c8c8c", linewidth=0.6)
    reg = pd.read_csv(G / "sample" / "contingents.csv").set_index("code")
    sectors = gpd.read_file(G / "sample" / "sectors.geojson")
    for layer, style in (("land", "-"), ("sea", "-"), ("air", ":"), ("monitoring", "--")):
        sel = sectors[(sectors.kind == "monitoring")] if layer == "monitoring" else \
            sectors[(sectors.kind == "zone") & (sectors.domain == layer)]
        for _, s in sel.iterrows():
            lead = (s.contingent or "").split(";")[0]
            colour = reg.colour.get(lead, "#ff00ff") if lead else "#ff00ff"
            gpd.GeoSeries([s.geometry]).plot(ax=ax, facecolor=colour if layer in ("land", "sea") else "none",
                                             alpha=0.35 if layer in ("land", "sea") else 1, edgecolor=colour,
                                             linestyle=style, linewidth=1.2)
    gpd.read_file(G / "sample" / "line_of_contact.geojson").plot(ax=ax, color="#333333", linewidth=1.5)
    for _, u in units.iterrows():
        p = u.geometry.representative_point()
        ax.annotate(u.name_en.replace(" Oblast", ""), (p.x, p.y), fontsize=7, ha="center", color="#444")
    ax.set_xlim(21.5, 41)
    ax.set_ylim(43.8, 52.8)
    ax.set_aspect(1 / 0.66)
    ax.set_title("Ukraine: 27 units, territorial sea, NOTIONAL sample plan "
                 "(UNCLASSIFIED // NOTIONAL PLANNING DATA)")
    fig.savefig(out, bbox_inches="tight")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "geodata-preview.png")
