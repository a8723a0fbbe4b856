"""The `.reviewbot.toml` policy file: values loaded, mistakes reported with their line."""

from __future__ import annotations

from pathlib import Path

from checks.findings import Severity
from checks.policy_file import load_policy

GOOD = """\
[licence]
allowed = ["Apache-2.0", "llama3.1"]
header-exempt = ["docs/**", "*.ipynb"]

[severity]
licence-header-missing = "low"

[weights]
allowed-imports = ["collections.OrderedDict", "numpy.core.*"]

[evals]
auc_drop_warn = 0.1
"""


def test_loads_every_key(tmp_path: Path) -> None:
    (tmp_path / ".reviewbot.toml").write_text(GOOD)
    policy, findings = load_policy(tmp_path)
    assert findings == []
    assert policy.allowed_licences == {"Apache-2.0", "llama3.1"}
    assert policy.header_exempt == ("docs/**", "*.ipynb")
    assert policy.severity_overrides == {"licence-header-missing": Severity.LOW}
    assert policy.extra_allowed_imports == {"collections.OrderedDict", "numpy.core.*"}
    assert policy.eval_thresholds == {"auc_drop_warn": 0.1}


def test_no_file_is_the_default_policy(tmp_path: Path) -> None:
    policy, findings = load_policy(tmp_path)
    assert findings == [] and policy.allowed_licences == frozenset()


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    (tmp_path / ".reviewbot.toml").write_text('[licence]\nallowed = ["MIT"\nheader-exempt = 3\n')
    _, findings = load_policy(tmp_path)
    assert [f.rule for f in findings] == ["policy-invalid"]
    assert findings[0].location is not None and findings[0].location.startswith("line ")


def test_bad_values_name_their_lines(tmp_path: Path) -> None:
    (tmp_path / ".reviewbot.toml").write_text(
        '[licence]\nallowed = ["MIT AND"]\n\n[severity]\nlicence-header-missing = "loud"\n'
        '[weights]\nallowed-imports = ["os system"]\n[evals]\nauc = "high"\n[colour]\n'
    )
    policy, findings = load_policy(tmp_path)
    assert [f.location for f in findings] == ["line 10", "line 2", "line 5", "line 7", "line 9"]
    assert policy.allowed_licences == frozenset() and policy.severity_overrides == {}


def test_the_dashboard_issue_is_opt_in(tmp_path: Path) -> None:
    assert load_policy(tmp_path)[0].dashboard_issue is False
    (tmp_path / ".reviewbot.toml").write_text("[triage]\ndashboard-issue = true\n")
    policy, findings = load_policy(tmp_path)
    assert findings == [] and policy.dashboard_issue is True


def test_a_dashboard_issue_that_is_not_a_boolean_is_reported(tmp_path: Path) -> None:
    (tmp_path / ".reviewbot.toml").write_text('[triage]\nshow = 1\ndashboard-issue = "yes"\n')
    policy, findings = load_policy(tmp_path)
    assert policy.dashboard_issue is False
    assert [f.message for f in findings] == [
        ".reviewbot.toml line 2: unknown key `show` in [triage] ignored",
        ".reviewbot.toml line 3: [triage] `dashboard-issue` must be true or false, not 'yes'",
    ]


def test_notify_says_when_the_bot_comments(tmp_path: Path) -> None:
    assert load_policy(tmp_path)[0].notify_comment == "on-change"  # the default
    (tmp_path / ".reviewbot.toml").write_text('[notify]\ncomment = "on-failure"\n')
    policy, findings = load_policy(tmp_path)
    assert findings == [] and policy.notify_comment == "on-failure"


def test_an_unknown_notify_mode_is_reported_and_the_default_applies(tmp_path: Path) -> None:
    (tmp_path / ".reviewbot.toml").write_text('[notify]\n\ncomment = "never"\nmention = true\n')
    policy, findings = load_policy(tmp_path)
    assert policy.notify_comment == "on-change"
    assert [f.location for f in findings] == ["line 4", "line 3"]
    assert "on-change, always, on-failure" in findings[1].message
