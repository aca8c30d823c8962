"""Provenance that cannot be removed (issue 26, item 3): every page of every export of a NOTIONAL revision says
NOTIONAL and names the revision and its time — also with a custom banner, title and subtitle — and a what-if or a
day says so on every page. Read back from the PDF's own text (pdftotext), page by page."""
from __future__ import annotations

import csv
import json
import subprocess
import zipfile

import pytest
from _cli import run_cli


def _pages(pdf) -> list[str]:
    n = int(next(line.split()[-1] for line in subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                                                              check=True).stdout.splitlines() if line.startswith("Pages")))
    return [subprocess.run(["pdftotext", "-f", str(k), "-l", str(k), "-layout", str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout for k in range(1, n + 1)]


def _norm(text: str) -> str:
    return " ".join(text.replace("\u2009", " ").split())


@pytest.mark.slow
def test_every_page_of_a_custom_bannered_export_says_notional_and_the_revision(tmp_path):
    data = tmp_path / "data"
    custom = ["--banner", "UNCLASSIFIED // FOR TRAINING", "--title", "Exercise brief", "--subtitle", "Prepared for J5"]
    a4 = tmp_path / "a4.pdf"
    r = run_cli("export", "--data-dir", str(data), "--format", "pdf", "--size", "a4", "--out", str(a4), *custom)
    assert r.returncode == 0, r.stderr
    pack = tmp_path / "pack.pdf"
    r = run_cli("export", "--data-dir", str(data), "--format", "pack", "--out", str(pack),
                "--banner", "UNCLASSIFIED // FOR TRAINING")
    assert r.returncode == 0, r.stderr
    for pdf in (a4, pack):
        pages = _pages(pdf)
        assert len(pages) >= (1 if pdf is a4 else 5)
        for k, text in enumerate(pages, start=1):
            t = _norm(text)
            assert "NOTIONAL" in t, (pdf.name, k)
            assert "Plan revision 1" in t, (pdf.name, k)
            assert "UTC" in t and "FOR TRAINING" in t, (pdf.name, k)
    assert "Exercise brief" in _norm(_pages(a4)[0]) and "Prepared for J5" in _norm(_pages(a4)[0])


def test_every_csv_and_the_summary_name_the_view(tmp_path):
    data = tmp_path / "data"
    out = tmp_path / "d"
    r = run_cli("export", "--data-dir", str(data), "--format", "data", "--out", str(out))
    assert r.returncode == 0, r.stderr
    for f in sorted(out.glob("*.csv")):
        first = f.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# Plan revision 1") and "NOTIONAL" in first, (f.name, first)
        rows = list(csv.reader(f.open(encoding="utf-8")))
        assert len(rows) >= 2
    state = json.loads((out / "summary.json").read_text(encoding="utf-8"))["view"]["state"]
    assert state[0].startswith("Plan revision 1") and any("NOTIONAL" in s for s in state)


def test_a_snapshot_footer_names_what_if_day_and_bounds(tmp_path):
    from ua_coverage.export import Snapshot, snapshot_figure
    from ua_coverage.figures import MapView
    from ua_coverage.workflow import analyze_plan, open_store

    store = open_store(tmp_path / "data")
    rev = store.current()
    plan = store.load(rev.id).without(("GBR",))
    snap = Snapshot(plan, analyze_plan(plan, at="2027-04-03"), rev, MapView(domain="land", withdrawn=("GBR",)),
                    bounds=(30.0, 50.0, 31.0, 51.0), subtitle="anything", banner="X", day="2027-04-03")
    fig = snapshot_figure(snap, "slide")
    foot = _norm(next(a["text"] for a in fig["layout"]["annotations"] if a.get("name") == "provenance"))
    for words in ("Plan revision 1", "Land domain", "on 2027-04-03", "WHAT-IF — without GBR", "NOTIONAL",
                  "zoomed to lon 30.00–31.00, lat 50.00–51.00"):
        assert words in foot.replace("<br>", " "), (words, foot)
    sub = next(a["text"] for a in fig["layout"]["annotations"] if "anything" in a["text"])
    assert "anything" in sub  # the subtitle adds; the footer stays
    assert rev.message not in snap.default_subtitle()  # the default subtitle is the view, not the commit message


@pytest.mark.slow
def test_the_pack_of_a_generated_plan_loses_no_nation_and_counts_what_it_leaves_out(tmp_path):
    """A 320-zone Voronoi plan with 22 nations, imported as a whole plan: every nation of its registry is on the
    contingents pages, and each domain's gap and overlap tables list their pieces or count exactly the ones left
    out, naming the file of the data export that has them."""
    import sys
    from pathlib import Path

    import numpy as np

    sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
    from _plans import make_plan

    from ua_coverage import geodata
    from ua_coverage.workflow import open_store

    rng = np.random.default_rng(22)
    plan = make_plan(320, seed=22, vertices=30, clean=True)
    reg = list(csv.DictReader(geodata.sample_contingents_path().open(encoding="utf-8")))
    reg += [{"code": "CAN", "name": "Canada", "colour": "#6a3d9a", "notes": ""},
            {"code": "AUS", "name": "Australia", "colour": "#b15928", "notes": ""}]
    codes = [r["code"] for r in reg]
    plan["contingent"] = [";".join(rng.choice(codes[:-1], size=int(rng.integers(0, 3)), replace=False))
                          for _ in range(len(plan))]  # AUS stays idle
    src, reg_csv = tmp_path / "plan.geojson", tmp_path / "reg.csv"
    plan.to_file(src, driver="GeoJSON")
    with reg_csv.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["code", "name", "colour", "notes"])
        w.writeheader()
        w.writerows(reg)
    data = tmp_path / "data"
    r = run_cli("import", str(src), "--scope", "all", "--contingents", str(reg_csv), "-m", "generated plan",
                "--yes", "--data-dir", str(data))
    assert r.returncode == 0, r.stderr
    pack = tmp_path / "pack.pdf"
    r = run_cli("export", "--data-dir", str(data), "--format", "pack", "--out", str(pack))
    assert r.returncode == 0, r.stderr
    pages = [_norm(p) for p in _pages(pack)]
    store = open_store(data)
    rev = store.current()
    from ua_coverage.workflow import analyze_plan

    a = analyze_plan(store.load(rev.id))
    cont_pages = " ".join(p for p in pages if "Contingents" in p[:400])
    missing = [c for c in codes if c not in cont_pages.split()]
    assert not missing, missing
    import re

    for domain, title in (("air", "Air domain"), ("sea", "Sea domain"), ("land", "Land domain"),
                          ("monitoring", "Monitoring domain")):
        for kind, pieces in (("gaps", [g for g in a.gaps if g["domain"] == domain]),
                             ("overlaps", [o for o in a.overlaps if o["domain"] == domain])):
            text = " ".join(p for p in pages if p.startswith(f"UNCLASSIFIED // NOTIONAL PLANNING DATA {title}")
                            and (" — " not in p[:120] or f"{kind}, continued" in p[:160]))
            more = re.search(rf"\+([\d,]+) more ([\d,.]+) km² in all {kind} listed in {kind}\.csv", text)
            rest = int(more.group(1).replace(",", "")) if more else 0
            # the largest pieces are listed, every one of them; the rest are counted exactly
            unlisted = [x for x in pieces[:len(pieces) - rest] if f"{x['area_km2']:,.1f}" not in text]
            assert not unlisted, (domain, kind, len(unlisted), rest, len(pieces))
            if more:
                assert more.group(2) == f"{sum(x['area_km2'] for x in pieces[len(pieces) - rest:]):,.1f}"
    for k, p in enumerate(pages, start=1):
        assert f"Plan revision {rev.id}" in p, k
