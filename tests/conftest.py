import os

import pytest

os.environ.setdefault("UA_COVERAGE_TESTING", "1")


@pytest.fixture(scope="session")
def sample_result():
    from coverage.analysis import analyze_sample

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
