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
