"""Helpers shared by the browser tests."""
from __future__ import annotations

import time


def wait_for(cond, timeout: float = 60, what: str = "condition") -> None:
    """Poll ``cond`` until it is true (exceptions count as not yet), or fail saying what was awaited."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            if cond():
                return
        except Exception:  # noqa: BLE001 - element not there yet
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def on_map(dash_duo, body: str):
    """Run ``body`` (JavaScript, with ``g`` the map's plotly graph div) in the page and return its result."""
    return dash_duo.driver.execute_script("var g = document.querySelector('#map .js-plotly-plot'); " + body)
