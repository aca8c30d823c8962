"""The public API re-exported from the package is a promise: pin it."""
import coverage


def test_public_api_is_pinned():
    assert coverage.__all__ == sorted([
        "AnalysisError", "Analysis", "CoverageError", "DataError", "Extents", "FormatError", "IngestError",
        "LimitError", "Problem", "ValidationError", "analyze", "analyze_sample", "load_sectors",
        "national_extents", "read_contingents", "read_extents", "read_sectors", "sample_extents",
        "validate_file",
    ]) + ["__version__"]
    for name in coverage.__all__:
        assert getattr(coverage, name) is not None


def test_every_error_derives_from_one_base():
    for name in ("DataError", "IngestError", "FormatError", "LimitError", "ValidationError", "AnalysisError"):
        assert issubclass(getattr(coverage, name), coverage.CoverageError)


def test_this_is_not_coverage_py():
    # coverage.py shares our import name; if it were installed it would shadow us or vice versa
    import importlib.metadata as md

    assert not any(d.metadata["Name"].lower() in ("coverage", "pytest-cov") for d in md.distributions())
    assert hasattr(coverage, "analyze")
