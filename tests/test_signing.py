"""Signed model bundles (issue #9, item 4): whoever can write models/ can no longer change or replace the model."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scoring import signing
from scoring.bundle import MANIFEST, MODEL_FILE, SIGNATURE, ModelBundle, ModelIntegrityError
from tests.test_bundle import _toy

ROOT = Path(__file__).resolve().parents[1]
_FILES = (MODEL_FILE, "model_card.json", "model_card.md")


@pytest.fixture(scope="module")
def bundle():
    from scoring.train import fit_bundle

    X, y = _toy(n=800)
    return fit_bundle(X, y, n_folds=3, max_rounds=30, seed=3)


@pytest.fixture()
def saved(bundle, tmp_path) -> Path:
    bundle.save(tmp_path / "models")
    return tmp_path / "models"


def _recompute_manifest(models: Path) -> None:
    """What an attacker with write access to models/ does after changing a file."""
    lines = [f"{hashlib.sha256((models / n).read_bytes()).hexdigest()}  {n}\n" for n in _FILES]
    (models / MANIFEST).write_text("".join(lines))


class _Evil:
    """Unpickling this creates the marker file: stands for any command run as the server's user."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_training_key_pair_is_made_outside_models_with_safe_modes(bundle, saved):
    private, public = Path(os.environ["SCORING_SIGNING_KEY"]), Path(os.environ["SCORING_VERIFY_KEY"])
    assert private.exists() and public.exists()
    assert saved not in private.parents and saved not in public.parents
    assert private.stat().st_mode & 0o777 == 0o600
    assert public.stat().st_mode & 0o022 == 0  # nobody else may replace the trusted key
    assert (saved / SIGNATURE).read_text().startswith("ed25519 ")
    assert ModelBundle.load(saved).threshold == bundle.threshold


def test_threshold_raised_with_recomputed_manifest_is_refused(saved):
    # the attack of the review: threshold 0.99 approves almost everyone; before signing this loaded
    state = joblib.load(saved / MODEL_FILE)
    state["threshold"] = 0.99
    joblib.dump(state, saved / MODEL_FILE)
    _recompute_manifest(saved)
    with pytest.raises(ModelIntegrityError, match="signature does not match"):
        ModelBundle.load(saved)


def test_malicious_pickle_with_recomputed_manifest_never_runs(saved, tmp_path):
    marker = tmp_path / "pwned"
    (saved / MODEL_FILE).write_bytes(pickle.dumps(_Evil(str(marker))))
    _recompute_manifest(saved)
    with pytest.raises(ModelIntegrityError, match="signature"):
        ModelBundle.load(saved)
    assert not marker.exists()
    # the same file really is harmful once unpickled: the test would notice a load that skipped the check
    joblib.load(saved / MODEL_FILE)
    assert marker.exists()


def test_unsigned_bundle_is_refused(saved):
    (saved / SIGNATURE).unlink()
    with pytest.raises(ModelIntegrityError, match="not signed"):
        ModelBundle.load(saved)


def test_bundle_signed_with_another_key_is_refused(bundle, tmp_path):
    other = Ed25519PrivateKey.generate()
    bundle.save(tmp_path / "foreign", signing_key=other)
    assert ModelBundle.load(tmp_path / "foreign", verify_key=other.public_key()).version == bundle.version
    with pytest.raises(ModelIntegrityError, match="another key"):
        ModelBundle.load(tmp_path / "foreign")


def test_signature_copied_from_another_bundle_is_refused(bundle, saved, tmp_path):
    from scoring.train import fit_bundle

    X, y = _toy(n=600, seed=5)
    fit_bundle(X, y, n_folds=3, max_rounds=20, seed=4).save(tmp_path / "second")
    shutil.copy(tmp_path / "second" / SIGNATURE, saved / SIGNATURE)
    with pytest.raises(ModelIntegrityError, match="signature does not match"):
        ModelBundle.load(saved)


def test_missing_verify_key_is_refused_not_created(saved, tmp_path, monkeypatch):
    absent = tmp_path / "keys" / "nothing.pub"
    monkeypatch.setenv("SCORING_VERIFY_KEY", str(absent))
    with pytest.raises(ModelIntegrityError, match="SCORING_VERIFY_KEY"):
        ModelBundle.load(saved)
    assert not absent.exists()


def test_signing_key_not_pairing_with_verify_key_fails_at_training(bundle, tmp_path, monkeypatch):
    monkeypatch.setenv("SCORING_SIGNING_KEY", str(tmp_path / "new.key"))  # a new key, the old verify key kept
    monkeypatch.setenv("SCORING_VERIFY_KEY", os.environ["SCORING_VERIFY_KEY"])
    with pytest.raises(signing.SigningKeyError, match="verify key exists"):
        bundle.save(tmp_path / "m")


def test_api_refuses_to_start_on_a_tampered_model(saved, tmp_path):
    from api import create_app

    state = joblib.load(saved / MODEL_FILE)
    state["threshold"] = 0.99
    joblib.dump(state, saved / MODEL_FILE)
    _recompute_manifest(saved)
    with pytest.raises(ModelIntegrityError):
        create_app({"MODELS_DIR": saved, "STORE_PATH": tmp_path / "store.sqlite", "SECRET_KEY": "k" * 40})


@pytest.mark.parametrize("command", ["build-store", "explain-all", "predict"])
def test_cli_refuses_a_tampered_model_with_exit_2(saved, tmp_path, command):
    marker = tmp_path / "pwned"
    (saved / MODEL_FILE).write_bytes(pickle.dumps(_Evil(str(marker))))
    _recompute_manifest(saved)
    store, applications, out = tmp_path / "store.sqlite", tmp_path / "new.csv", tmp_path / "scored.csv"
    args = {
        "build-store": ["--data", str(tmp_path), "--store", str(store)],
        "explain-all": ["--store", str(store)],
        "predict": ["--input", str(applications), "--output", str(out), "--data", str(tmp_path)],
    }[command]
    if command == "explain-all":
        store.write_bytes(b"")  # a store to explain: the model is what gets refused
    applications.write_text("SK_ID_CURR,AMT_INCOME_TOTAL\n1,100000\n")
    result = subprocess.run(
        [sys.executable, "-m", "scoring", command, "--models", str(saved), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and "signature" in result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists() and not out.exists()
    assert command == "explain-all" or not store.exists()
