import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("UA_COVERAGE_TESTING", "1")

# `python -m pytest` puts the checkout on sys.path, where the folder `coverage/` (our package, imported as
# ua_coverage) would shadow coverage.py: drop it. The README's test command is `pytest`, which never adds it.
_ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT]
if "coverage" in sys.modules and getattr(sys.modules["coverage"], "__file__", "").startswith(str(_ROOT)):
    del sys.modules["coverage"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A plan store seeded with the sample, shared by a module's browser tests."""
    from ua_coverage.workflow import open_store

    d = tmp_path_factory.mktemp("app-data")
    open_store(d)
    return d


@pytest.fixture
def app(data_dir):
    """The dashboard on that store."""
    from ua_coverage.app import create_app

    return create_app(data_dir)


@pytest.fixture(scope="session")
def sample_result():
    from ua_coverage.workflow import analyze_sample

    return analyze_sample()


def pytest_setup_options():
    """Headless Debian Chromium for dash_duo (no browser download, no background network)."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = os.environ.get("BROWSER_PATH", "/usr/bin/chromium")
    for arg in ("--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1366,900",
                # every host but this machine is unresolvable: an off-host request fails and logs an error
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"):
        options.add_argument(arg)
    return options


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``-n``), every browser test runs on one worker, one after the other: dash_duo serves on
    port 8050 and a single Chromium at a time keeps the 2-core machine responsive. The rest spread freely."""
    for item in items:
        if "dash_duo" in getattr(item, "fixturenames", ()) or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))
