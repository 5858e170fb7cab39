"""Model kinds: looked up by the saved name, refused when unknown, legacy bundles read as LightGBM, exact round trip."""

from __future__ import annotations

import hashlib

import joblib
import numpy as np
import pytest

from scoring import signing
from scoring.bundle import CARD_JSON, CARD_MD, MANIFEST, MODEL_FILE, SIGNATURE, ModelBundle, ModelIntegrityError
from scoring.model_kinds import KINDS, ModelKind, kind_class
from scoring.model_kinds.lightgbm import LightGBMKind
from scoring.train import fit_bundle
from tests.test_bundle import _toy


@pytest.fixture(scope="module")
def toy():
    X, y = _toy(n=800, seed=2)
    return X, fit_bundle(X, y, n_folds=3, max_rounds=40, seed=2)


@pytest.fixture()
def saved(toy, tmp_path):
    toy[1].save(tmp_path / "m")
    return tmp_path / "m"


def _sign_with_state(models, state) -> None:
    """What the key holder does: write a state, list the files in a new manifest, sign it with the training key."""
    joblib.dump(state, models / MODEL_FILE)
    manifest = "".join(
        f"{hashlib.sha256((models / n).read_bytes()).hexdigest()}  {n}\n" for n in (MODEL_FILE, CARD_JSON, CARD_MD)
    )
    (models / MANIFEST).write_text(manifest)
    (models / SIGNATURE).write_text(signing.sign(signing.load_or_create_signing_key(), manifest.encode()))


def test_registry_finds_each_kind_by_name():
    assert kind_class("lightgbm") is LightGBMKind
    assert set(KINDS) == {"lightgbm", "scorecard", "blend"}
    contract = ("raw_score", "contributions", "to_state", "from_state")
    assert all(callable(getattr(cls, name, None)) for cls in KINDS.values() for name in contract)
    assert all(cls.kind == name for name, cls in KINDS.items())


@pytest.mark.parametrize("name", ["scorecard-v0", "LightGBM", None])
def test_unknown_kind_is_named_with_the_known_ones(name):
    with pytest.raises(ValueError, match=rf"unknown model kind {name!r}; known kinds: blend, lightgbm, scorecard"):
        kind_class(name)


def test_trained_bundle_holds_a_lightgbm_kind_and_saves_its_name(toy, saved):
    _, bundle = toy
    assert isinstance(bundle.model, LightGBMKind) and isinstance(bundle.model, ModelKind)
    state = joblib.load(saved / MODEL_FILE)
    assert state["format"] == 2 and state["kind"] == "lightgbm" and isinstance(state["model"], str)
    assert isinstance(ModelBundle.load(saved).model, LightGBMKind)


def test_card_says_the_kind(toy, saved):
    assert toy[1].card["model"]["kind"] == "lightgbm"
    assert "Model: kind `lightgbm` (LightGBM," in (saved / CARD_MD).read_text()


def test_signed_bundle_of_an_unknown_kind_is_refused_at_load(saved):
    state = joblib.load(saved / MODEL_FILE)
    state["kind"] = "no-such-kind"
    _sign_with_state(saved, state)
    with pytest.raises(
        ModelIntegrityError, match="unknown model kind 'no-such-kind'; known kinds: blend, lightgbm, scorecard"
    ):
        ModelBundle.load(saved)


def test_signed_bundle_without_a_kind_name_is_refused(saved):
    state = joblib.load(saved / MODEL_FILE)
    del state["kind"]
    _sign_with_state(saved, state)
    with pytest.raises(ModelIntegrityError, match="unknown model kind None"):
        ModelBundle.load(saved)


def test_format_1_bundle_without_kind_loads_as_lightgbm(toy, saved):
    X, bundle = toy
    state = joblib.load(saved / MODEL_FILE)
    legacy = {k: v for k, v in state.items() if k != "kind"} | {"format": 1}
    _sign_with_state(saved, legacy)
    loaded = ModelBundle.load(saved)
    assert isinstance(loaded.model, LightGBMKind) and loaded.version == bundle.version
    np.testing.assert_array_equal(loaded.raw_score(X), bundle.raw_score(X))
    np.testing.assert_array_equal(loaded.explain(X)[1], bundle.explain(X)[1])


def test_unsupported_format_is_refused(saved):
    state = joblib.load(saved / MODEL_FILE)
    _sign_with_state(saved, state | {"format": 3})
    with pytest.raises(ModelIntegrityError, match="supported format"):
        ModelBundle.load(saved)


def test_lightgbm_round_trip_gives_identical_scores_and_contributions(toy):
    X, bundle = toy
    M = bundle.matrix(X)
    back = LightGBMKind.from_state(bundle.model.to_state())
    np.testing.assert_array_equal(back.raw_score(M), bundle.model.raw_score(M))
    np.testing.assert_array_equal(back.contributions(M), bundle.model.contributions(M))


@pytest.mark.parametrize("rows", [1, 2500])  # one thread below 2,000 rows, all of them above
def test_lightgbm_contributions_sum_to_the_raw_score(toy, rows):
    X, bundle = toy
    M = bundle.matrix(X.sample(rows, replace=True, random_state=0))
    contrib = bundle.model.contributions(M)
    assert contrib.shape == (rows, M.shape[1] + 1)
    assert np.ptp(contrib[:, -1]) == 0  # the last column is the expected value, the same for every row
    np.testing.assert_allclose(contrib.sum(axis=1), bundle.model.raw_score(M), rtol=0, atol=1e-9)
