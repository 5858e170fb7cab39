"""The model registry: versions side by side, signed aliases, `python -m scoring models ...`, each command audited."""

from __future__ import annotations

import getpass
import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from scoring import registry
from scoring.bundle import ModelBundle, ModelIntegrityError
from scoring.cli import main
from scoring.registry import promotion
from scoring.store import open_store
from tests.api_fixtures import copy_store


@pytest.fixture(scope="session")
def second_bundle(synth_dir, trained_models, tmp_path_factory) -> Path:
    """Another small training on the same data (another seed, fewer rounds): a second version."""
    from scoring.train import train_model

    out = tmp_path_factory.mktemp("second-model")
    bundle = train_model(synth_dir, out, n_folds=2, max_rounds=20, seed=1)
    assert bundle.version != ModelBundle.load(trained_models).version
    return out


@pytest.fixture()
def reg(trained_models, second_bundle, store_path, tmp_path) -> dict:
    """A registry made from the legacy folder (champion A) plus version B, and a copy of the store scored by A."""
    models = tmp_path / "models"
    shutil.copytree(trained_models, models)
    store = copy_store(store_path, tmp_path / "store.sqlite")
    a = registry.init_registry(models, "tester")
    b = registry.add_version(models, second_bundle, "tester")
    return {"models": models, "store": store, "a": a, "b": b, "args": ["--models", str(models), "--store", str(store)]}


def _audit(store: Path) -> list[dict]:
    with closing(sqlite3.connect(store)) as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT * FROM audit WHERE role = 'cli' ORDER BY id")]


def test_legacy_folder_is_a_registry_of_one(trained_models, store_path, tmp_path, capsys):
    store = copy_store(store_path, tmp_path / "store.sqlite")
    version = ModelBundle.load(trained_models).version
    assert main(["models", "list", "--models", str(trained_models), "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert version in out and "champion" in out
    assert registry.bundle_dir(trained_models) == trained_models
    assert main(["models", "promote", version, "--models", str(trained_models), "--store", str(store)]) == 2
    assert "not a model registry" in capsys.readouterr().err
    assert [(r["route"], r["outcome"][:7]) for r in _audit(store)] == [
        ("models list", "ok"),
        ("models promote", "refused"),
    ]


def test_init_moves_the_bundle_into_its_version_folder(reg):
    models = reg["models"]
    assert registry.version_names(models) == sorted([reg["a"], reg["b"]])
    assert not (models / "model.joblib").exists()
    state = registry.read_registry(models)
    assert state["champion"] == reg["a"] and state["challenger"] is None
    assert ModelBundle.load(models).version == reg["a"]  # a registry folder loads its champion


def test_list_shows_kind_metrics_and_aliases(reg, capsys):
    assert main(["models", "challenger", reg["b"], *reg["args"]]) == 0
    assert main(["models", "list", *reg["args"]]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "champion" in lines[reg["a"]] and "store" in lines[reg["a"]] and "lightgbm" in lines[reg["a"]]
    assert lines[reg["b"]].rstrip().endswith("challenger")
    rows = {r["version"]: r for r in registry.describe(reg["models"])}
    assert 0.5 < rows[reg["a"]]["auc"] < 1 and 0 <= rows[reg["a"]]["ece"] < 0.5 and rows[reg["b"]]["threshold"] > 0


def test_promote_rescores_the_store_then_rollback_returns(reg, capsys):
    store, b, a = reg["store"], reg["b"], reg["a"]
    cid = open_store(store).list_clients(limit=1)["items"][0]["client_id"]
    before = open_store(store).get_score(cid)
    assert main(["models", "promote", b, *reg["args"]]) == 0
    assert registry.read_registry(reg["models"])["champion"] == b
    after = open_store(store)
    assert after.meta()["model_version"] == b and after.get_score(cid)["model_version"] == b
    assert after.get_explanation(cid)["model_version"] == b
    assert after.get_score(cid)["pd"] == pytest.approx(
        ModelBundle.load(reg["models"]).predict_pd(ModelBundle.load(reg["models"]).prepare(_features(after, cid)))[0],
        abs=1e-6,
    )
    assert after.get_score(cid)["pd"] != before["pd"]
    assert not Path(str(store) + ".promote.tmp").exists()
    assert main(["models", "rollback", *reg["args"]]) == 0
    assert registry.read_registry(reg["models"])["champion"] == a
    assert open_store(store).get_score(cid)["pd"] == pytest.approx(before["pd"], abs=1e-9)
    rows = _audit(store)
    assert [(r["route"], r["model_version"]) for r in rows] == [("models promote", b), ("models rollback", a)]
    assert rows[0]["outcome"] == f"promoted from {a}" and {r["username"] for r in rows} == {getpass.getuser()}
    history = registry.read_registry(reg["models"])["history"]
    assert [h["action"] for h in history] == ["init", "promote", "rollback"]
    assert main(["audit", "verify", "--store", str(store)]) == 0  # the chain survived two store generations


def _features(store, cid):
    import pandas as pd

    return pd.DataFrame([store.get_client(cid)["features"]])


def test_promotion_keeps_users_and_audit_rows_written_meanwhile(reg, monkeypatch):
    from scoring import users
    from scoring.store import generation

    real = generation.explain_all

    def explain_then_write(*args, **kwargs):  # a sign-up and an audited read land while the copy is re-scored
        n = real(*args, **kwargs)
        users.add_user(reg["store"], "late", "correct horse battery", "manager")
        promotion.record(reg["store"], user="api", command="probe", outcome="ok", version=None)
        return n

    monkeypatch.setattr(generation, "explain_all", explain_then_write)
    promotion.promote(reg["models"], reg["store"], reg["b"], user="tester")
    assert "late" in [u["username"] for u in users.list_users(reg["store"])]
    assert [r["route"] for r in _audit(reg["store"])] == ["models probe"]


def test_retire_and_challenger(reg, capsys):
    models, b = reg["models"], reg["b"]
    assert main(["models", "challenger", b, *reg["args"]]) == 0
    assert registry.read_registry(models)["challenger"] == b
    assert main(["models", "challenger", "--none", *reg["args"]]) == 0
    assert registry.read_registry(models)["challenger"] is None
    assert main(["models", "challenger", b, *reg["args"]]) == 0
    assert main(["models", "retire", b, *reg["args"]]) == 0
    assert (models / "retired" / b).is_dir() and not (models / b).exists()
    assert registry.read_registry(models)["challenger"] is None  # a retired version is compared no more
    assert [r["route"] for r in _audit(reg["store"])] == ["models challenger"] * 3 + ["models retire"]


@pytest.mark.parametrize(
    "command, message",
    [
        (["promote", "20990101-000000-deadbeef"], "no model version"),
        (["promote", "../etc"], "not a version name"),
        (["retire", "{a}"], "is the champion"),
        (["promote", "{a}"], "already the champion"),
        (["challenger", "{a}"], "is the champion"),
        (["challenger"], "VERSION or --none"),
        (["rollback"], "nothing to roll back to"),
    ],
)
def test_refusals_change_nothing_and_are_audited(reg, capsys, command, message):
    before = registry.alias_path(reg["models"]).read_bytes()
    argv = [part.format(a=reg["a"]) for part in command]
    assert main(["models", *argv, *reg["args"]]) == 2
    assert message in capsys.readouterr().err
    assert registry.alias_path(reg["models"]).read_bytes() == before
    assert open_store(reg["store"]).meta()["model_version"] == reg["a"]
    (row,) = _audit(reg["store"])
    assert row["route"] == f"models {argv[0]}" and row["outcome"].startswith("refused: ")


def test_tampered_bundle_never_becomes_champion(reg, capsys):
    models = reg["models"]
    bad = models / "20990101-000000-tampered"
    shutil.copytree(models / reg["b"], bad)
    card = json.loads((bad / "model_card.json").read_text())
    card["version"] = bad.name
    (bad / "model_card.json").write_text(json.dumps(card))
    assert main(["models", "promote", bad.name, *reg["args"]]) == 2
    assert "does not match its SHA-256" in capsys.readouterr().err
    assert registry.read_registry(models)["champion"] == reg["a"]
    assert open_store(reg["store"]).meta()["model_version"] == reg["a"]
    assert main(["models", "challenger", bad.name, *reg["args"]]) == 2
    assert main(["models", "list", *reg["args"]]) == 0
    refused = [line.split()[:2] for line in capsys.readouterr().out.splitlines() if "REFUSED" in line]
    assert refused == [[bad.name, "REFUSED:"]]
    # a bundle copied into another version's folder is refused too: the folder name is part of what is checked
    shutil.rmtree(bad)
    shutil.copytree(models / reg["b"], bad)
    with pytest.raises(ModelIntegrityError, match="not 20990101"):
        registry.load_version(models, bad.name)


def test_tampered_alias_file_is_refused(reg, capsys):
    path = registry.alias_path(reg["models"])
    doc = json.loads(path.read_text())
    doc["registry"]["champion"] = reg["b"]
    path.write_text(json.dumps(doc))
    with pytest.raises(registry.RegistryIntegrityError, match="altered"):
        registry.read_registry(reg["models"])
    with pytest.raises(ModelIntegrityError):
        ModelBundle.load(reg["models"])  # nothing loads what an altered alias file names
    assert main(["models", "list", *reg["args"]]) == 2
    assert "altered" in capsys.readouterr().err
    path.write_text("{}")
    with pytest.raises(registry.RegistryIntegrityError, match="not a signed alias file"):
        registry.read_registry(reg["models"])


def test_train_into_a_registry_adds_a_version(reg, synth_dir, monkeypatch):
    from scoring.registry import commands
    from scoring.train import train_model

    monkeypatch.setenv("SCORING_STORE", str(reg["store"]))
    with commands.training_folder(reg["models"]) as out:
        assert out.parent == reg["models"] and out.name.startswith(".training-")
        bundle = train_model(synth_dir, out, n_folds=2, max_rounds=5, seed=2)
    assert not out.exists()
    assert bundle.version in registry.version_names(reg["models"])
    assert registry.read_registry(reg["models"])["champion"] == reg["a"]  # a champion exists: only added
    assert [(r["route"], r["model_version"]) for r in _audit(reg["store"])] == [("models add", bundle.version)]


def test_first_version_of_an_empty_registry_becomes_champion(second_bundle, tmp_path):
    models = tmp_path / "models"
    assert registry.init_registry(models, "tester") is None
    with pytest.raises(ModelIntegrityError, match="no champion"):
        ModelBundle.load(models)
    version = registry.add_version(models, second_bundle, "tester")
    assert registry.read_registry(models)["champion"] == version
    with pytest.raises(registry.RegistryError, match="already"):
        registry.add_version(models, second_bundle, "tester")
