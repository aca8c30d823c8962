"""Outputs other GIS tools trust: styled GeoPackages with the whole picture and its state, KML/KMZ for Google
Earth and TAK, and (when Debian's QGIS is installed, as CI does) QGIS's own validity check and default styles."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
import zipfile

import geopandas as gpd
import pytest
import shapely

from ua_coverage import workflow
from ua_coverage.export import run_export
from ua_coverage.export.data import write_layers
from ua_coverage.figures import MapView

LAYERS = ("gaps", "overlaps", "partition", "sectors", "sensor_footprints")  # the sensor points keep QGIS's marker
KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    plan = workflow.sample_plan()
    result = workflow.analyze_plan(plan)
    out = tmp_path_factory.mktemp("gis")
    write_layers(result, out, plan=plan, state=["Plan revision 1", "WHAT-IF — without FRA: not the plan"])
    return out, plan, result


def test_the_geopackage_holds_every_layer_styled_and_says_what_it_shows(written):
    out, plan, _ = written
    gpkg = out / "analysis.gpkg"
    con = sqlite3.connect(gpkg)
    styles = {r[0]: r for r in con.execute(
        "SELECT f_table_name, styleQML, styleSLD, useAsDefault FROM layer_styles")}
    contents = dict(con.execute("SELECT table_name, description FROM gpkg_contents"))
    indexed = {r[0] for r in con.execute("SELECT table_name FROM gpkg_extensions WHERE extension_name = 'gpkg_rtree_index'")}
    con.close()
    assert set(styles) == set(LAYERS)
    for name in LAYERS:
        _, qml, sld, default = styles[name]
        assert default and ET.fromstring(qml).find("renderer-v2") is not None and "StyledLayerDescriptor" in sld
        assert "WHAT-IF — without FRA" in contents[name]
        assert name in indexed
    assert "layer_styles" in contents  # registered, so QGIS (through GDAL) finds it
    assert "WHAT-IF — without FRA" in contents["sensors"] and "sensors" in indexed
    qml = ET.fromstring(styles["sectors"][1])
    cats = {c.get("value"): c.get("label") for c in qml.iter("category")}
    assert cats["FRA"] == "FRA — France" and "" in cats
    assert "255,0,255" in styles["gaps"][1]  # gaps magenta, as on the map
    sectors = gpd.read_file(gpkg, layer="sectors")
    assert len(sectors) == len(plan.sectors) and set(sectors["lead"]) >= {"FRA", "GBR", ""}
    part = gpd.read_file(gpkg, layer="partition")
    assert set(part["state"]) >= {"covered", "gap", "conflict"}
    assert shapely.is_valid(part.geometry.values).all() and shapely.is_valid(sectors.geometry.values).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["view"]["state"][1].startswith("WHAT-IF")


def test_kml_and_kmz_for_google_earth_and_tak(tmp_path):
    st = workflow.open_store(tmp_path / "data")
    info = st.current()
    plan = st.load(info.id).without(("FRA",))
    analysis = workflow.analyze_plan(plan)
    kml = run_export(plan, analysis, info, "kml", tmp_path / "plan.kml", view=MapView(withdrawn=("FRA",)),
                     banner="UNCLASSIFIED // NOTIONAL PLANNING DATA")
    doc = ET.parse(kml).getroot()
    assert doc.tag == f"{KML}kml"
    text = kml.read_text(encoding="utf-8")
    assert "NetworkLink" not in text and "http://" not in text.replace("http://www.opengis.net/kml/2.2", "")
    name = doc.find(f"{KML}Document/{KML}name").text
    assert name.startswith("UNCLASSIFIED // NOTIONAL PLANNING DATA")
    assert "WHAT-IF — without FRA" in doc.find(f"{KML}Document/{KML}description").text
    folders = [f.find(f"{KML}name").text for f in doc.find(f"{KML}Document").findall(f"{KML}Folder")]
    assert folders == ["Sectors", "Gaps", "Overlaps", "Sensors"]  # the sample's sensors (#20)
    marks = doc.findall(f".//{KML}Placemark")
    sensors = doc.findall(f".//{KML}Folder[{KML}name='Sensors']//{KML}Placemark")
    assert len(marks) - len(sensors) == len(plan.sectors) + len(analysis.gaps) + len(analysis.overlaps)
    l01 = next(m for m in marks if m.find(f"{KML}name").text.startswith("L-01"))
    assert "POL (Poland) lead" in l01.find(f"{KML}description").text
    styles = {s.get("id"): s.find(f"{KML}PolyStyle/{KML}color").text for s in doc.iter(f"{KML}Style")}
    assert styles["gap"].endswith("ff00ff") and styles["lead-POL"] == "59e9b456"  # aabbggrr of #56b4e9
    # outer rings counter-clockwise, as KML wants
    ring = l01.find(f".//{KML}outerBoundaryIs/{KML}LinearRing/{KML}coordinates").text.split()
    assert shapely.is_ccw(shapely.LinearRing([tuple(map(float, p.split(",")[:2])) for p in ring]))
    kmz = run_export(plan, analysis, info, "kmz", tmp_path / "plan.kmz", view=MapView(withdrawn=("FRA",)))
    with zipfile.ZipFile(kmz) as z:
        assert z.namelist() == ["doc.kml"]
    # and GDAL (LIBKML, what our own upload check uses) reads the sectors back
    import pyogrio

    layers = [n for n, _ in pyogrio.list_layers(kml)]
    assert len(layers) >= 3


QGIS_PROCESS = shutil.which("qgis_process.bin") or ("/usr/bin/qgis_process.bin" if os.path.exists("/usr/bin/qgis_process.bin") else None)


@pytest.mark.skipif(QGIS_PROCESS is None, reason="Debian's QGIS is not installed (CI installs it)")
def test_qgis_finds_no_invalid_polygon_and_loads_our_default_styles(written):
    out, _, _ = written
    # Debian's QGIS embeds the system Python: give it a plain environment (no pyenv or virtualenv paths)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(out), "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(out),
           "LANG": "C.UTF-8"}
    for name in LAYERS:
        p = subprocess.run([QGIS_PROCESS, "run", "qgis:checkvalidity", f"--INPUT_LAYER={out / 'analysis.gpkg'}|layername={name}",
                            "--METHOD=2", "--VALID_OUTPUT=TEMPORARY_OUTPUT", "--INVALID_OUTPUT=TEMPORARY_OUTPUT",
                            "--ERROR_OUTPUT=TEMPORARY_OUTPUT"], capture_output=True, text=True, timeout=300, env=env)
        assert p.returncode == 0, p.stderr[-2000:]
        assert "INVALID_COUNT:\t0" in p.stdout or "INVALID_COUNT: 0" in p.stdout, (name, p.stdout[-800:])
    script = f"""
from qgis.core import QgsApplication, QgsVectorLayer
app = QgsApplication([], False); app.initQgis()
out = {{}}
for name in {list(LAYERS)!r}:
    layer = QgsVectorLayer({str(out / 'analysis.gpkg')!r} + "|layername=" + name, name, "ogr")
    msg, ok = layer.loadDefaultStyle()
    r = layer.renderer()
    out[name] = (layer.isValid(), ok, r.type(), getattr(r, "classAttribute", lambda: "")())
print(repr(out))
"""
    p = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    res = eval(p.stdout.strip().splitlines()[-1])  # our own repr of plain tuples
    assert res["gaps"] == (True, True, "categorizedSymbol", "kind")
    assert res["overlaps"][2:] == ("categorizedSymbol", "depth")
    assert res["partition"][2:] == ("categorizedSymbol", "state")
    assert res["sectors"][2:] == ("categorizedSymbol", "lead")
