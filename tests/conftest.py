import os

import pytest

os.environ.setdefault("UA_COVERAGE_TESTING", "1")


@pytest.fixture(scope="session")
def sample_result():
    from coverage.analysis import analyze_sample

    return analyze_sample()
