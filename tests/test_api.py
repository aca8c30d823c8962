"""The public API re-exported from the package is a promise: pin it."""
import ua_coverage


def test_public_api_is_pinned():
    assert ua_coverage.__all__ == sorted([
        "AnalysisError", "Analysis", "CoverageError", "DataError", "Extents", "FormatError", "IngestError",
        "LimitError", "Problem", "ValidationError", "analyze", "analyze_sample", "load_sectors",
        "national_extents", "read_contingents", "read_extents", "read_sectors", "sample_extents",
        "validate_file",
        # added with the structure and plan-workflow work: the error family and the workflow
        "ExportError", "StoreError", "ConflictError", "RevisionNotFound", "UsageError", "RULES", "Plan",
        "analyze_plan", "propose", "commit", "open_store", "Proposal",
    ]) + ["__version__"]
    for name in ua_coverage.__all__:
        assert getattr(ua_coverage, name) is not None


def test_every_error_derives_from_one_base():
    import inspect

    from ua_coverage import errors

    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, Exception) and c.__module__ == errors.__name__]
    assert len(classes) >= 12
    for c in classes:
        assert issubclass(c, ua_coverage.CoverageError), c
        assert getattr(ua_coverage, c.__name__) is c  # every error is exported
    assert ua_coverage.UsageError.exit_code == 2
    assert ua_coverage.IngestError.exit_code == ua_coverage.ConflictError.exit_code == 1
    assert ua_coverage.RevisionNotFound.exit_code == 1  # a well-formed id that names no revision


def test_coexists_with_coverage_py():
    # the import name is ua_coverage: coverage.py (and pytest-cov) install beside it
    import importlib.metadata as md

    import coverage

    assert hasattr(coverage, "Coverage") and not hasattr(coverage, "analyze")
    assert md.distribution("coverage").metadata["Name"].lower() == "coverage"
    assert md.distribution("ua-domain-coverage").metadata["Name"] == "ua-domain-coverage"
    assert ua_coverage.__name__ == "ua_coverage" and hasattr(ua_coverage, "analyze")
