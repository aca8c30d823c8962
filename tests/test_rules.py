"""One rule registry: every code the code base raises is registered, and the README's table matches it."""
from __future__ import annotations

import re
from pathlib import Path

from ua_coverage.rules import README_FAMILIES, RULES, advice, codes

ROOT = Path(__file__).resolve().parents[1]
# a rule code where the code names one: Problem("x", ...), _problem("x", ...), _reject("x", ...), rule="x",
# rule = "x" (class defaults and conditional choices)
_CODE = re.compile(r'(?:Problem\(|_problem\(|_reject\(|_limit\(|rule=|rule = )"([a-z0-9-]+)"')


def _raised_codes() -> set[str]:
    found = set()
    for path in (ROOT / "coverage").rglob("*.py"):
        if path.name == "rules.py":
            continue
        text = path.read_text()
        found.update(m.group(1) for m in _CODE.finditer(text))
        for line in re.findall(r"^\s*rule = .* if .*$", text, flags=re.M):  # a rule chosen by a condition
            found.update(re.findall(r'"([a-z0-9-]+)"', line))
    return found


def test_every_code_in_the_source_is_registered():
    raised = _raised_codes()
    assert len(raised) > 50
    assert raised - set(RULES) == set(), f"register these in ua_coverage/rules.py: {sorted(raised - set(RULES))}"


def test_every_rule_has_a_family_severity_and_browser_safe_advice():
    for code, rule in RULES.items():
        assert rule.code == code and rule.family and rule.severity in ("error", "warning")
        assert "--" not in advice(code, "web"), f"{code}: the browser's advice names a command-line flag"
    assert "--repair" in advice("invalid-geometry", "cli")
    assert "repair invalid geometry" in advice("invalid-geometry", "web")


def test_readme_rule_table_matches_the_registry():
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| ([^|]+?) \| (`[^|]*`) \|$", readme, flags=re.M))
    for family, label in README_FAMILIES.items():
        assert label in rows, f"the README's rule table has no row {label!r}"
        listed = re.findall(r"`([a-z0-9-]+)`", rows[label])
        assert sorted(listed) == sorted(codes(family)), (family, sorted(set(listed) ^ set(codes(family))))


def test_an_unregistered_code_fails_loudly_in_tests():
    import pytest

    from ua_coverage.errors import Problem

    with pytest.raises(AssertionError, match="not registered"):
        Problem("no-such-rule", "x")
