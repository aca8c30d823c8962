"""Briefing exports, checked for content: pixels, PDF text and pages, SVG vectors, offline HTML."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _cli import run_cli
from PIL import Image

from ua_coverage.engine.analysis import analyze
from ua_coverage.export import (ExportError, Snapshot, briefing_pack, export_data, export_snapshot, render, safe_cell,
                             snapshot_figure)
from ua_coverage.figures import MapView
from ua_coverage.workflow import sample_plan
from ua_coverage.store import RevisionInfo

pytestmark = pytest.mark.slow
BANNER = "UNCLASSIFIED // NOTIONAL PLANNING DATA"
REV = RevisionInfo(id=7, parent=6, author="briefer", time="2026-11-26T06:00:00Z", message="Test revision",
                   hash="x", sectors=19)


@pytest.fixture(scope="module")
def snap():
    plan = sample_plan()
    return Snapshot(plan, analyze(plan.sectors, plan.full_extents(), plan.contingents), REV, MapView(domain="land"))


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("exports")


def colour_share(png: Path, rgb: tuple, tol: int = 30) -> float:
    a = np.asarray(Image.open(png).convert("RGB")).astype(int)
    return float((np.abs(a - np.array(rgb)).max(axis=2) <= tol).mean())


def pdf_text(pdf: Path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.replace("\ufb01", "fi").replace("\ufb02", "fl")  # typographic ligatures


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def test_png_slide_has_banner_gap_colour_and_size(snap, out):
    p = export_snapshot(snap, "png", out / "land.png")
    im = Image.open(p)
    assert im.size == (1920, 1080)
    assert colour_share(p, (255, 0, 255), tol=60) > 0.01  # the magenta gaps (drawn at 75 % opacity)
    top = np.asarray(im.convert("RGB"))[:20].astype(int)
    assert (np.abs(top - np.array([0x2E, 0x7D, 0x32])).max(axis=2) < 10).mean() > 0.8  # banner band


def test_png_print_size_is_300_dpi(snap, out):
    p = export_snapshot(snap, "png", out / "land-a4.png", size="a4")
    assert Image.open(p).size == (3508, 2480)


def test_pdf_is_vector_with_title_banner_and_revision(snap, out):
    p = export_snapshot(snap, "pdf", out / "land.pdf", size="a4")
    assert pdf_pages(p) == 1
    text = pdf_text(p)
    assert "Land domain coverage" in text
    assert text.count(BANNER) == 2
    assert "Plan revision 7" in text
    assert "Made with Natural Earth" in text and "OpenStreetMap contributors" in text
    assert "NOTIONAL" in text
    assert "km" in text and "N" in text  # scale bar and north arrow labels


def test_svg_has_vector_paths_not_an_image(snap, out):
    p = export_snapshot(snap, "svg", out / "land.svg")
    svg = p.read_text(encoding="utf-8")
    assert svg.count("<path") > 100
    assert "<image" not in svg
    assert BANNER in svg and "Plan revision 7" in svg


def test_html_opens_from_disk_with_no_network(snap, out, tmp_path):
    p = export_snapshot(snap, "html", out / "land.html")
    html = p.read_text(encoding="utf-8")
    assert "PlotlyGeoAssets" in html and "<script src=" not in html  # everything inline
    shot = tmp_path / "html.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
                    "--disable-background-networking", "--no-first-run",
                    "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1600,900",
                    "--virtual-time-budget=15000", f"--screenshot={shot}", p.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists()
    assert colour_share(shot, (255, 0, 255), tol=60) > 0.005  # the map drew, gaps and all
    assert colour_share(shot, (0x2E, 0x7D, 0x32), tol=10) > 0.01  # banner


def test_air_band_and_title_override(snap, out):
    s = Snapshot(snap.plan, snap.analysis, REV, MapView(domain="air", band=0), title="Air: low band",
                 subtitle="for the morning brief")
    fig = snapshot_figure(s)
    texts = [a["text"] for a in fig["layout"]["annotations"]]
    assert "<b>Air: low band</b>" in texts and "for the morning brief" in texts
    default = Snapshot(snap.plan, snap.analysis, REV, MapView(domain="air", band=0))
    assert default.default_title() == "Air domain coverage, 0–10,000 ft"
    assert default.default_subtitle().startswith("Plan revision 7 · 2026-11-26 06:00:00 UTC")


def test_briefing_pack(snap, out):
    p = briefing_pack(snap.plan, snap.analysis, REV, out / "pack.pdf")
    assert pdf_pages(p) == 7  # overview, four domains, watched by sensors (the sample has a sensor set), contingents
    text = pdf_text(p)
    pages = text.split("\f")
    assert all(BANNER in pg and "revision 7" in pg for pg in pages if pg.strip())
    for title in ("Coverage briefing", "Air domain", "Sea domain", "Land domain", "Monitoring domain", "Contingents"):
        assert title in text
    assert "41,759.1" in text and "L-01, L-08" in text  # the land gap and overlap tables


def test_data_exports_neutralise_formulas(snap, out):
    plan = snap.plan
    s = plan.sectors.copy()
    s.loc[s["sector_id"] == "L-07", "sector_id"] = "=HYPERLINK(\"http://x\")"
    from ua_coverage.plan import Plan

    p2 = Plan(s, plan.contingents, plan.extents, plan.notional)
    a = analyze(p2.sectors, p2.full_extents(), p2.contingents)
    files = export_data(a, out / "data")
    names = {f.name for f in files}
    assert {"gaps.geojson", "overlaps.geojson", "partition.geojson", "analysis.gpkg", "domains.csv",
            "contingents.csv", "gaps.csv", "overlaps.csv", "oblasts.csv"} <= names
    rows = list(csv.DictReader(open(out / "data" / "gaps.csv", encoding="utf-8")))
    assert any(r["sectors"] == "'=HYPERLINK(\"http://x\")" for r in rows)
    assert float(rows[0]["area_km2"]) > 40_000  # numbers stay numbers
    assert safe_cell("+1") == "'+1" and safe_cell("-x") == "'-x" and safe_cell("@a") == "'@a"
    assert safe_cell(-5.0) == -5.0 and safe_cell("ok") == "ok"


def test_export_time_limit_is_a_clear_error(snap, out):
    with pytest.raises(ExportError, match="longer than 0.01 s"):
        render([{"figure": snapshot_figure(snap), "path": str(out / "never.png"), "format": "png",
                 "width": 100, "height": 100}], timeout=0.01)


def test_renderer_stays_warm_and_a_dead_one_is_replaced(snap, out):
    from ua_coverage import export

    export_snapshot(snap, "png", out / "first.png")
    pid = export._RENDERER.proc.pid
    export_snapshot(snap, "png", out / "second.png")
    assert export._RENDERER.proc.pid == pid  # the same browser served both (timings: bench_export.py)
    assert Image.open(out / "second.png").size == Image.open(out / "first.png").size
    export._RENDERER.kill()  # e.g. the OOM killer, or it went idle
    export_snapshot(snap, "svg", out / "third.svg")
    assert export._RENDERER.proc.pid != pid
    assert (out / "third.svg").read_text(encoding="utf-8").lstrip().startswith("<")


def test_export_cli(tmp_path):
    run = lambda *a: run_cli("export", "--data-dir", str(tmp_path / "d"), *a)
    p = run("--out", str(tmp_path / "sea.png"), "--domain", "sea", "--without", "ITA")
    assert p.returncode == 0, p.stderr
    assert "revision 1" in p.stdout and Image.open(tmp_path / "sea.png").size == (1920, 1080)
    assert run("--out", str(tmp_path / "x.doc")).returncode == 2
    assert run("--out", str(tmp_path / "x.png"), "--bounds", "1,2,3").returncode == 2
    assert run("--out", str(tmp_path / "x.png"), "--band", "0").returncode == 2  # not air
