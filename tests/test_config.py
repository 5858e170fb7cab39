"""One settings object: every variable declared once, checked with its name, and the app built from it or a mapping."""

import re
import shutil
from pathlib import Path

import pytest

from scoring import config
from scoring.config import SETTINGS, settings

ROOT = Path(__file__).resolve().parents[1]
# what the code base reads from the environment outside the two settings declarations
_READ = re.compile(r"""environ(?:\.get)?[(\[]\s*["']([A-Z][A-Z0-9_]+)["']""")
_DECLARED_ELSEWHERE = {
    "DUCKDB_JE_MALLOC_CONF",  # set for DuckDB's allocator before duckdb loads (scoring/__init__.py)
}
# other programs' variables, not settings of ours: read (and passed on) where the program is started
_OTHER_PROGRAMS = {
    "JAVA_HOME",  # Java's: Spark's JVM is found through it or PATH (scoring/spark/session.py)
    "PYTHONPATH",  # Python's: Spark's Python workers get the project's root on it (scoring/spark/session.py)
}


def test_every_field_is_declared_once():
    config.check_declaration()
    envs = [s.env for s in SETTINGS]
    assert len(envs) == len(set(envs))


def test_defaults_parse_and_match_the_documented_values():
    s = settings({})
    assert s.store_path == Path("data/processed/store.sqlite") and s.models_dir == Path("models")
    assert s.token_ttl_seconds == 3600 and s.max_body_bytes == 1024 * 1024
    assert s.trusted_proxies == {"127.0.0.1", "::1"} and s.audit_sync == "NORMAL" and s.log_level == "INFO"
    assert s.token_secret is None and s.audit_key is None
    assert s.features_memory == "4GB"  # one default for the feature build and the store build


def test_values_come_from_the_mapping_given():
    s = settings(
        {
            "SCORING_TOKEN_TTL": "60",
            "SCORING_TRUSTED_PROXIES": "none",
            "SCORING_SIGNIN_TARPIT": "0",
            "SCORING_AUDIT_SYNC": "full",
            "SCORING_GRADE_BOUNDS": "0.1, 0.5, 1",
            "SCORING_STORE": " s.db ",
        }
    )
    assert s.token_ttl_seconds == 60 and s.trusted_proxies == frozenset() and s.signin_tarpit == 0
    assert s.audit_sync == "FULL" and s.grade_bounds == (0.1, 0.5, 1.0) and s.store == "s.db"


def test_the_process_environment_is_read_at_call_time(monkeypatch):
    monkeypatch.setenv("SCORING_TOKEN_TTL", "77")
    assert settings().token_ttl_seconds == 77
    monkeypatch.delenv("SCORING_TOKEN_TTL")
    assert settings().token_ttl_seconds == 3600
    monkeypatch.setenv("SCORING_TOKEN_TTL", "  ")  # blank is unset
    assert settings().token_ttl_seconds == 3600


@pytest.mark.parametrize(
    "env, raw, words",
    [
        ("SCORING_TOKEN_TTL", "abc", "whole number"),
        ("SCORING_TOKEN_TTL", "-5", "positive"),
        ("SCORING_TOKEN_TTL", "0", "positive"),
        ("SCORING_MAX_BODY", "1.5", "whole number"),
        ("SCORING_SIGNIN_WINDOW", "nan", "finite"),
        ("SCORING_SIGNIN_WINDOW", "inf", "finite"),
        ("SCORING_SIGNIN_TARPIT", "-1", "zero or more"),
        ("SCORING_AUDIT_SYNC", "OFF", "NORMAL, FULL"),
        ("LOG_LEVEL", "LOUD", "DEBUG"),
        ("SCORING_GRADE_BOUNDS", "a,b", "comma list"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(env, raw, words):
    with pytest.raises(ValueError, match=env) as err:
        settings({env: raw})
    assert words in str(err.value) and repr(raw) in str(err.value)


def test_the_code_reads_no_variable_the_declarations_miss():
    """A new os.environ read outside scoring/config.py and dashboard/settings.py must be declared there."""
    from dashboard import settings as dashboard_settings

    declared = {s.env for s in SETTINGS} | {s.env for s in dashboard_settings.SETTINGS} | _DECLARED_ELSEWHERE
    own = {ROOT / "scoring" / "config.py", ROOT / "dashboard" / "settings.py"}
    stray = {}
    for path in [
        *ROOT.glob("scoring/**/*.py"),
        *ROOT.glob("api/**/*.py"),
        *ROOT.glob("dashboard/**/*.py"),
        ROOT / "deploy" / "gunicorn.conf.py",
    ]:
        if path in own:
            continue
        for name in set(_READ.findall(path.read_text())) - _OTHER_PROGRAMS:
            stray.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert not {k: v for k, v in stray.items() if k not in declared}, "declare these in scoring/config.py"
    assert not stray, f"read through the settings object instead: {stray}"


# --------------------------------------------------------------------------------------- the app factory
@pytest.fixture()
def app_files(store_path, trained_models, tmp_path):
    path = tmp_path / "store.sqlite"
    shutil.copy(store_path, path)
    return {"store": path, "models": trained_models}


def test_the_app_is_built_from_the_environment(app_files, monkeypatch):
    from api import create_app

    monkeypatch.setenv("SCORING_STORE", str(app_files["store"]))
    monkeypatch.setenv("SCORING_MODELS", str(app_files["models"]))
    monkeypatch.setenv("SCORING_TOKEN_TTL", "123")
    monkeypatch.setenv("SCORING_MAX_BODY", "2048")
    monkeypatch.setenv("SCORING_SECRET_KEY", "from-the-environment-" * 3)
    app = create_app()
    assert app.config["SETTINGS"] == settings()
    assert app.config["TOKEN_TTL"] == 123 and app.config["MAX_CONTENT_LENGTH"] == 2048
    assert app.config["SECRET_KEY"] == "from-the-environment-" * 3
    client = app.test_client()
    assert client.get("/health").status_code == 200
    big = client.post("/api/v1/auth/token", data="x" * 4096, content_type="application/json")
    assert big.status_code == 413 and "2048" in big.json["error"]["message"]


def test_the_app_is_built_from_a_mapping_that_wins_over_the_environment(app_files, monkeypatch, tmp_path):
    from api import create_app

    monkeypatch.setenv("SCORING_MODELS", str(tmp_path / "no-such-models"))
    monkeypatch.setenv("SCORING_TOKEN_TTL", "123")
    app = create_app(
        {
            "STORE_PATH": app_files["store"],
            "MODELS_DIR": app_files["models"],
            "TOKEN_TTL": 5,
            "SECRET_KEY": "from-a-mapping-" * 3,
        }
    )
    assert app.config["TOKEN_TTL"] == 5 and app.config["SECRET_KEY"] == "from-a-mapping-" * 3
    assert app.test_client().get("/health").status_code == 200


def test_a_bad_setting_stops_the_app_before_it_serves(app_files, monkeypatch):
    from api import create_app

    monkeypatch.setenv("SCORING_MAX_BODY", "lots")
    with pytest.raises(ValueError, match="SCORING_MAX_BODY"):
        create_app({"STORE_PATH": app_files["store"], "MODELS_DIR": app_files["models"]})


def test_the_readme_table_is_the_declarations():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "settings_table.py"), "--check", str(ROOT / "README.md")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    readme = (ROOT / "README.md").read_text()
    for spec in SETTINGS:
        assert f"| `{spec.env}` |" in readme


def test_the_table_check_sees_a_stale_readme(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("settings_table", ROOT / "scripts" / "settings_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stale = tmp_path / "README.md"
    stale.write_text((ROOT / "README.md").read_text().replace("token lifetime in seconds", "token lifetime"))
    assert module.main(["--check", str(stale)]) == 1
    assert module.main(["--write", str(stale)]) == 0 and module.main(["--check", str(stale)]) == 0
