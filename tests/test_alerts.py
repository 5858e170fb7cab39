"""The Prometheus alert rules and scrape config (deploy/prometheus/) checked by promtool, their unit tests run by
promtool, each unit test shown able to fail (a mutated rule breaks it), the API's scoring_ready gauge following
/ready on a real app, and the score PSI alert evaluated by promtool on what the real API's /metrics says about a
store where a drifted cohort was recorded (fires) and one where only a stable cohort was (does not)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests import test_dashboard_monitoring
from tests.api_fixtures import copy_store

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES, CONFIG, UNIT_TESTS = PROMETHEUS / "alerts.yml", PROMETHEUS / "prometheus.yml", PROMETHEUS / "tests"

monitored_stores = test_dashboard_monitoring.monitored_stores  # the stores of the dashboard's monitoring tests

pytestmark = pytest.mark.skipif(not shutil.which("promtool"), reason="promtool is not installed (make system-deps)")


def promtool(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd)


def _rules() -> dict:
    return yaml.safe_load(RULES.read_text())


def _alerts(rules: dict) -> dict:
    return {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}


def _layout(folder: Path, rules: dict) -> Path:
    """A copy of deploy/prometheus/ with `rules` as alerts.yml; returns its tests folder."""
    (folder / "tests").mkdir(parents=True)
    (folder / "alerts.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    for test in UNIT_TESTS.glob("*.yml"):
        shutil.copy(test, folder / "tests" / test.name)
    return folder / "tests"


def _unit_tests(folder: Path) -> subprocess.CompletedProcess:
    return promtool("test", "rules", *sorted(p.name for p in folder.glob("*.yml")), cwd=folder)


# ---------------------------------------------------------------- syntax


def test_rules_and_config_pass_promtool_check():
    rules = promtool("check", "rules", RULES)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"SUCCESS: {len(_alerts(_rules()))} rules found" in rules.stdout
    config = promtool("check", "config", CONFIG)
    assert config.returncode == 0, config.stdout + config.stderr
    assert "1 rule files found" in config.stdout


def test_a_broken_rule_fails_the_rules_check_and_the_config_check(tmp_path):
    rules = _rules()
    _alerts(rules)["ScorePSIAct"]["expr"] = "max by (period) (scoring_score_psi > 0.25"  # unclosed parenthesis
    broken = tmp_path / "alerts.yml"
    broken.write_text(yaml.safe_dump(rules, sort_keys=False))
    shutil.copy(CONFIG, tmp_path / "prometheus.yml")
    result = promtool("check", "rules", broken)
    assert result.returncode != 0 and "unclosed left parenthesis" in result.stdout + result.stderr
    config = promtool("check", "config", tmp_path / "prometheus.yml")
    assert config.returncode != 0 and "alerts.yml" in config.stdout + config.stderr
    rules = _rules()
    del _alerts(rules)["ApiTargetDown"]["expr"]
    broken.write_text(yaml.safe_dump(rules, sort_keys=False))
    assert promtool("check", "rules", broken).returncode != 0


def test_every_alert_says_how_bad_for_whom_and_what_to_do_and_has_a_unit_test():
    tested = "\n".join(p.read_text() for p in UNIT_TESTS.glob("*.yml"))
    for name, rule in _alerts(_rules()).items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert rule["labels"]["team"] in ("risk", "it"), name
        assert rule.get("for"), name
        assert {"summary", "description"} <= set(rule["annotations"]), name
        assert f"alertname: {name}\n" in tested, f"{name} has no promtool unit test"


# ---------------------------------------------------------------- behaviour (promtool test rules)


def test_the_alert_unit_tests_pass():
    result = _unit_tests(UNIT_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


MUTATIONS = {  # a rule changed the wrong way -> what the unit tests then say
    "PSI act level lowered under a stable 0.24": ("ScorePSIAct", "expr", ("> 0.25", "> 0.20")),
    "PSI act firing before its hour": ("ScorePSIAct", "for", ("1h", "30m")),
    "PSI counted once per worker": ("ScorePSIAct", "expr", ("by (period)", "by (period, worker)")),
    "feature PSI of another period": ("FeaturePSIAct", "expr", ('period="month"', 'period="week"')),
    "error rate level at 0.5 %": ("ApiErrorRateHigh", "expr", ("> 0.02", "> 0.005")),
    "error rate not summed over workers": ("ApiErrorRateHigh", "expr", ("sum(rate(", "(rate(")),
    "p99 level at 2 s": ("ApiLatencyP99High", "expr", ("> 0.5", "> 2")),
    "p99 per worker": ("ApiLatencyP99High", "expr", ("sum by (le)", "max by (le, worker)")),
    "readiness of the last scrape only": ("ApiNotReady", "expr", ("min_over_time(scoring_ready[2m])", "scoring_ready")),
    "target down without waiting": ("ApiTargetDown", "for", ("2m", "10m")),
    "disagreement on a handful of applications": ("ChallengerDisagreement", "expr", (">= 100", ">= 10")),
    "disagreement level at 20 %": ("ChallengerDisagreement", "expr", ("> 0.10", "> 0.20")),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_each_unit_test_fails_when_its_rule_is_wrong(mutation, tmp_path):
    name, field, (old, new) = MUTATIONS[mutation]
    rules = _rules()
    rule = _alerts(rules)[name]
    assert old in rule[field], (name, rule[field])
    rule[field] = rule[field].replace(old, new)
    result = _unit_tests(_layout(tmp_path, rules))
    assert result.returncode != 0, f"{mutation}: the unit tests still pass"
    assert f"alertname: {name}" in result.stdout + result.stderr, result.stdout + result.stderr


# ---------------------------------------------------------------- the readiness gauge on a real app


def _ready_gauge(client) -> list[str]:
    body = client.get("/metrics").get_data(as_text=True)
    assert "# TYPE scoring_ready gauge" in body
    return [line.rsplit(" ", 1)[1] for line in body.splitlines() if line.startswith("scoring_ready{")]


def test_the_ready_gauge_is_1_when_ready_answers_200_and_0_when_it_answers_503(store_path, trained_models, tmp_path):
    from api import create_app

    store = copy_store(store_path, tmp_path / "store.sqlite")
    client = create_app({"STORE_PATH": store, "MODELS_DIR": trained_models, "SECRET_KEY": "alerts"}).test_client()
    assert client.get("/ready").status_code == 200
    assert _ready_gauge(client) == ["1"]
    store.rename(tmp_path / "kept.sqlite")  # the store file gone: /ready says 503, the gauge 0
    assert client.get("/ready").status_code == 503
    assert _ready_gauge(client) == ["0"]
    (tmp_path / "kept.sqlite").rename(store)
    assert client.get("/ready").status_code == 200
    assert _ready_gauge(client) == ["1"]


# ---------------------------------------------------------------- the PSI alert on what the real API publishes


def scraped_samples(text: str) -> dict[str, float]:
    """{'name{labels}': value} of a Prometheus text page (comments and blank lines left out)."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            samples[series if "{" in series else series + "{}"] = float(value)
    return samples


def _scrape(store: Path, models: Path) -> dict[str, float]:
    from api import create_app

    client = create_app({"STORE_PATH": store, "MODELS_DIR": models, "SECRET_KEY": "alerts"}).test_client()
    response = client.get("/metrics")
    assert response.status_code == 200
    return scraped_samples(response.get_data(as_text=True))


def _psi_alert_test(samples: dict[str, float], expected: list[dict], folder: Path) -> subprocess.CompletedProcess:
    """A promtool test: the scraped samples held for two hours, then ScorePSIAct as expected after its hour."""
    test = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": "score PSI act on the scraped /metrics",
                "interval": "1m",
                "input_series": [{"series": series, "values": f"{value!r}x120"} for series, value in samples.items()],
                "alert_rule_test": [
                    {"eval_time": "59m", "alertname": "ScorePSIAct", "exp_alerts": []},
                    {"eval_time": "61m", "alertname": "ScorePSIAct", "exp_alerts": expected},
                ],
            }
        ],
    }
    path = folder / "scraped_test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    return promtool("test", "rules", path.name, cwd=folder)


def _act_alert(period: str, psi: float) -> dict:
    """The alert promtool must find, its annotations rendered as alerts.yml writes them."""
    rule = _alerts(_rules())["ScorePSIAct"]
    render = {"{{ $labels.period }}": period, '{{ $value | printf "%.2f" }}': f"{psi:.2f}"}
    annotations = {}
    for key, text in rule["annotations"].items():
        for template, filled in render.items():
            text = text.replace(template, filled)
        annotations[key] = text
    return {"exp_labels": {**rule["labels"], "period": period}, "exp_annotations": annotations}


def test_the_psi_alert_fires_on_a_drifted_store_and_not_on_a_stable_one(monitored_stores, tmp_path):
    drifted = _scrape(monitored_stores["drifted"], monitored_stores["models"])
    stable = _scrape(monitored_stores["stable"], monitored_stores["models"])
    month = 'scoring_score_psi{period="month"}'
    assert drifted[month] > 0.25 and stable[month] < 0.10, (drifted[month], stable[month])
    assert drifted['scoring_monitored_applications{period="month"}'] == 300
    assert any(series.startswith("scoring_feature_psi{") for series in drifted)
    # every cohort was recorded on one day: the latest week and month hold the same applications
    expected = [_act_alert(period, drifted[f'scoring_score_psi{{period="{period}"}}']) for period in ("week", "month")]
    fired = _psi_alert_test(drifted, expected, tmp_path)
    assert fired.returncode == 0, fired.stdout + fired.stderr
    quiet = _psi_alert_test(stable, [], tmp_path)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    # and the check can fail: the drifted store's scrape does not pass for "no alert"
    assert _psi_alert_test(drifted, [], tmp_path).returncode != 0
