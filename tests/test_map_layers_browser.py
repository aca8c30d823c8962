"""The map is what the legend says (issue 28, item 1): after any sequence of the controls, every visible trace plotly
holds has its layers in MapLibre's style. A long seeded random walk over domains, layers, bands, altitudes,
what-ifs and days, checked after every step, in headless Chromium."""
from __future__ import annotations

import os
import random
import time

import pytest

from _browser import on_map, wait_for

#: every visible map trace's layers, as MapLibre holds them (plotly names a trace's layers by its uid)
CHECK = """
var sub = g._fullLayout.map._subplot, m = sub.map, style = m.getStyle();
var ids = style.layers.map(function(l) { return l.id; });
var missing = [];
g._fullData.forEach(function(t) {
    if (t.visible !== true || (t.type !== 'scattermap' && t.type !== 'choroplethmap')) { return; }
    var has = ids.some(function(id) { return id.indexOf('plotly-trace-layer-' + t.uid + '-') === 0; });
    var kept = sub.traceHash[t.uid];
    if (!has || !kept || kept.type !== t.type) { missing.push((t.name || '?') + ' [' + t.type + ']'); }
});
return {missing: missing, traces: g._fullData.length};
"""


def _settled(dash_duo):
    """The page is idle: no callback pending, no loading spinner, and MapLibre has loaded what plotly gave it."""
    time.sleep(0.05)  # the click's request has started
    wait_for(lambda: dash_duo.driver.execute_script(
        "return !document.querySelector('[data-dash-is-loading=\"true\"], ._dash-loading');"), timeout=30,
        what="callbacks done")
    wait_for(lambda: on_map(dash_duo, "var s = g._fullLayout.map._subplot; return !!(s && s.map && s.map.loaded() "
                                      "&& g._fullData.length > 5);"), timeout=30, what="map drawn")


def _click(dash_duo, css: str) -> None:
    el = dash_duo.find_element(css)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", el)
    el.click()


def _open(dash_duo, app) -> None:
    """The dashboard on the sample, its first map drawn."""
    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#kpi-extent", "483,305 km²", timeout=30)
    _settled(dash_duo)


def _missing(dash_duo):
    return on_map(dash_duo, CHECK)["missing"]


@pytest.mark.browser
@pytest.mark.slow
def test_the_issue_sequence_keeps_every_layer(dash_duo, app):
    """Land → Air → Sensors on → Sensors off → Land lost the labels, boundaries, extent and monitoring outlines."""
    _open(dash_duo, app)
    for css in ("#domain-picker input[value='air']", "#layer-picker input[value='sensors']",
                "#layer-picker input[value='sensors']", "#domain-picker input[value='land']"):
        _click(dash_duo, css)
        _settled(dash_duo)
        assert _missing(dash_duo) == [], css


@pytest.mark.browser
@pytest.mark.slow
def test_a_long_random_walk_over_the_controls_never_drops_a_layer(dash_duo, app):
    _open(dash_duo, app)
    rng = random.Random(28)
    domains = ["air", "sea", "land", "monitoring"]
    layers = ["zones", "gaps", "overlaps", "labels", "sensors", "unwatched"]
    codes = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#contingent-filter input')).map(function(i) { return i.value; });")
    steps = []
    for step in range(int(os.environ.get("UA_COVERAGE_WALK_STEPS", 200))):
        what = rng.choice(["domain", "domain", "layer", "layer", "layer", "nation", "day", "band", "altitude"])
        if what == "domain":
            target = f"#domain-picker input[value='{rng.choice(domains)}']"
        elif what == "layer":
            target = f"#layer-picker input[value='{rng.choice(layers)}']"
        elif what == "nation":
            target = f"#contingent-filter input[value='{rng.choice(codes)}']"
        else:
            target = None
        if target:
            _click(dash_duo, target)
        elif what == "day":
            marks = dash_duo.find_elements("#day-slider .rc-slider-mark-text")
            if marks:
                dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", marks[0])
                rng.choice(marks).click()
        else:  # a band or a sensor altitude: pick an option of the (enabled) dropdown
            box = "#band-picker" if what == "band" else "#sensor-altitude"
            if dash_duo.driver.execute_script(f"return !document.querySelector('{box} .Select--disabled, "
                                              f"{box}.is-disabled, {box} input[disabled]');"):
                try:
                    _click(dash_duo, f"{box} .Select-control, {box} .dash-dropdown")
                    opts = dash_duo.find_elements(f"{box} .VirtualizedSelectOption, {box} [role='option']")
                    if opts:
                        rng.choice(opts).click()
                    else:
                        dash_duo.driver.execute_script("document.activeElement && document.activeElement.blur();")
                except Exception:  # noqa: BLE001 - a dropdown closing under the pointer: the next step goes on
                    pass
        steps.append(what)
        _settled(dash_duo)
        missing = _missing(dash_duo)
        assert missing == [], f"step {step} ({what}; walk so far {steps[-8:]}): traces without layers {missing}"
    assert dash_duo.get_logs() == []
