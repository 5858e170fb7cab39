"""The policy file: the example loads with its version and hash; every kind of mistake is refused naming the file,
the rule (or section) and the reason; SCORING_POLICY chooses the file."""

from __future__ import annotations

import hashlib

import pytest

from scoring.config import settings
from scoring.decision import PolicyError, load_policy
from scoring.decision.policy_file import STAGES
from tests.decision_fixtures import EXAMPLE, edited_policy


def test_example_policy_loads_with_version_hash_and_label():
    policy = load_policy(EXAMPLE)
    assert policy.version == "example-2025.1"
    assert policy.sha256 == hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
    assert "example for the lender to set" in policy.label.lower()
    assert EXAMPLE.read_text().startswith("# AN EXAMPLE FOR THE LENDER TO SET")
    stages = [STAGES.index(rule.stage) for rule in policy.rules]
    assert stages == sorted(stages) and set(stages) == {0, 1}  # history-free rules first
    assert {rule.action for rule in policy.rules} == {"decline", "refer", "info"}
    assert policy.affordability.dsti_cap == 0.5


def test_the_hash_follows_the_bytes(tmp_path):
    copy = tmp_path / "copy.yaml"
    copy.write_bytes(EXAMPLE.read_bytes() + b"\n# a comment changes the file, so the hash\n")
    assert load_policy(copy).sha256 != load_policy(EXAMPLE).sha256


def test_scoring_policy_setting_chooses_the_file(tmp_path, monkeypatch):
    assert str(settings({}).policy_path) == "policies/example.yaml"
    copy = tmp_path / "lender.yaml"
    copy.write_text(EXAMPLE.read_text().replace('version: "example-2025.1"', 'version: "lender-7"'))
    monkeypatch.setenv("SCORING_POLICY", str(copy))
    assert load_policy().version == "lender-7"


def _rule(document, code):
    return next(rule for rule in document["rules"] if rule["code"] == code)


def _refused(tmp_path, edit) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        edited_policy(tmp_path, edit)
    error = caught.value
    assert str(tmp_path / "policy.yaml") in str(error) and error.path == str(tmp_path / "policy.yaml")
    return error


@pytest.mark.parametrize(
    ("edit", "where", "reason"),
    [
        (lambda d: _rule(d, "AGE_BELOW_21").update(weight=2), "rule AGE_BELOW_21", "weight: unknown field"),
        (lambda d: d.update(owner="risk"), "file", "owner: unknown field"),
        (lambda d: d["affordability"].update(dsti_limit=0.4), "affordability", "dsti_limit: unknown field"),
        (lambda d: _rule(d, "AGE_BELOW_21").update(threshold="twenty-one"), "rule AGE_BELOW_21", "threshold: "),
        (lambda d: _rule(d, "AGE_BELOW_21").update(threshold=float("inf")), "rule AGE_BELOW_21", "finite number"),
        (lambda d: _rule(d, "AGE_BELOW_21").update(threshold=True), "rule AGE_BELOW_21", "threshold: "),
        (lambda d: _rule(d, "INCOME_MISSING").update(threshold=0.5), "rule INCOME_MISSING", "== needs a whole number"),
        (
            lambda d: _rule(d, "BUREAU_BAD_DEBT").update(code="AGE_BELOW_21"),
            "rule AGE_BELOW_21",
            "used by another rule",
        ),
        (
            lambda d: _rule(d, "BUREAU_BAD_DEBT").update(code="UNAFFORDABLE"),
            "rule UNAFFORDABLE",
            "a reason the product gives itself",
        ),
        (
            lambda d: _rule(d, "BUREAU_BAD_DEBT").update(inputs=["BUREAU_BAD_DEBTS"]),
            "rule BUREAU_BAD_DEBT",
            "unknown input BUREAU_BAD_DEBTS",
        ),
        (
            lambda d: _rule(d, "BUREAU_BAD_DEBT").update(inputs=["NAME_INCOME_TYPE"]),
            "rule BUREAU_BAD_DEBT",
            "a category, not a number",
        ),
        (
            lambda d: _rule(d, "BUREAU_BAD_DEBT").update(stage="application"),
            "rule BUREAU_BAD_DEBT",
            "BUREAU_BAD_DEBT_COUNT needs the credit history",
        ),
        (lambda d: _rule(d, "BUREAU_BAD_DEBT").update(stage="bureau"), "rule BUREAU_BAD_DEBT", "stage: "),
        (lambda d: _rule(d, "BUREAU_BAD_DEBT").update(action="warn"), "rule BUREAU_BAD_DEBT", "action: "),
        (lambda d: _rule(d, "BUREAU_BAD_DEBT").update(comparison="!="), "rule BUREAU_BAD_DEBT", "comparison: "),
        (lambda d: _rule(d, "BUREAU_BAD_DEBT").update(inputs=[]), "rule BUREAU_BAD_DEBT", "inputs: "),
        (
            lambda d: _rule(d, "REFUSED_RECENTLY")["message"].pop("fr"),
            "rule REFUSED_RECENTLY",
            "message.fr: required but missing",
        ),
        (
            lambda d: _rule(d, "REFUSED_RECENTLY")["message"].update(de="Abgelehnt"),
            "rule REFUSED_RECENTLY",
            "message.de: unknown field",
        ),
        (
            lambda d: _rule(d, "REFUSED_RECENTLY").pop("description"),
            "rule REFUSED_RECENTLY",
            "description: required but missing",
        ),
        (lambda d: d["rules"][0].pop("code"), "rule number 1", "code: required but missing"),
        (
            lambda d: d["affordability"]["counter_offer_message"].pop("en"),
            "affordability",
            "counter_offer_message.en: required but missing",
        ),
        (lambda d: d["affordability"].update(dsti_cap=1.5), "affordability", "dsti_cap: "),
        (lambda d: d["affordability"]["dsti_cap_by_grade"].update(G9=0.3), "affordability", "unknown grade G9"),
        (lambda d: d["technical"].update(age_years_min=120), "technical", "age_years_min must be below"),
        (lambda d: d.pop("score"), "file", "score: required but missing"),
        (lambda d: d.update(version=3), "file", "version: "),
    ],
)
def test_mistakes_are_refused_naming_file_rule_and_reason(tmp_path, edit, where, reason):
    error = _refused(tmp_path, edit)
    assert error.rule == where and reason in error.reason, str(error)
    assert f"{error.path}: {where}: " in str(error)


def test_every_problem_is_listed_at_once(tmp_path):
    def same_code_twice_and_unknown_input(document):
        _rule(document, "BUREAU_BAD_DEBT").update(code="AGE_BELOW_21", inputs=["NO_SUCH_INPUT"])

    error = _refused(tmp_path, same_code_twice_and_unknown_input)
    assert [reason for _, reason in error.problems] == [
        "code: the same code is used by another rule",
        "inputs: unknown input NO_SUCH_INPUT",
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("version: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ('version: "1"\nversion: "2"\n', "key 'version' appears twice"),
    ],
)
def test_unreadable_files_are_refused(tmp_path, text, reason):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=reason) as caught:
        load_policy(path)
    assert caught.value.rule == "file" and str(path) in str(caught.value)
    with pytest.raises(PolicyError, match="cannot be read"):
        load_policy(tmp_path / "absent.yaml")


def test_a_repeated_key_inside_a_rule_is_refused(tmp_path):
    text = EXAMPLE.read_text().replace("    threshold: 21\n", "    threshold: 21\n    threshold: 18\n", 1)
    path = tmp_path / "twice.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError, match="key 'threshold' appears twice"):
        load_policy(path)
