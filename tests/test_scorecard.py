"""The scorecard and blend kinds: optbinning's bins and points, exact contributions, signed bundles, the API."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest

from scoring.bundle import MODEL_FILE, ModelBundle, ModelIntegrityError
from scoring.cli import build_parser
from scoring.encoding import FeatureEncoder
from scoring.model_card import render_markdown
from scoring.model_kinds import ModelKind, kind_class
from scoring.model_kinds import scorecard as sc
from scoring.model_kinds.blend import BlendKind
from scoring.model_kinds.scorecard import ScorecardKind
from scoring.train import fit_bundle
from tests.test_bundle import _toy


@pytest.fixture(scope="module")
def toy():
    X, y = _toy(n=1500, seed=4)
    return X, y


@pytest.fixture(scope="module")
def card_bundle(toy):
    X, y = toy
    return fit_bundle(X, y, n_folds=3, seed=0, kind="scorecard")


@pytest.fixture(scope="module")
def blend_bundle(toy):
    X, y = toy
    return fit_bundle(X, y, n_folds=3, max_rounds=60, seed=0, kind="blend")


@pytest.fixture(scope="module")
def optbinning_fit(toy):
    """optbinning's own fitted Scorecard and the plain-data kind drawn from it, on the same rows."""
    X, y = toy
    encoder = FeatureEncoder.fit(X)
    M = encoder.matrix(X)
    fitted = sc.fit_optbinning(M, y.to_numpy(), encoder.feature_names, encoder.categories)
    kind = sc.from_optbinning(fitted, M, encoder.feature_names, encoder.categories)
    return pd.DataFrame(M, columns=encoder.feature_names), M, fitted, kind


def test_bins_woe_scores_and_points_are_optbinnings(optbinning_fit):
    frame, M, fitted, kind = optbinning_fit
    selected = list(fitted.binning_process_.get_support(names=True))
    assert [c["feature"] for c in kind.characteristics] == selected and "EXT" in selected
    assert "CODE_GENDER" not in selected  # no information value: left out by the IV selection
    usable = [c for c in frame.columns if frame[c].nunique() > 1]
    woe = fitted.binning_process_.transform(frame[usable], metric="woe", metric_missing="empirical")[selected]
    np.testing.assert_allclose(kind.woe(M), woe.to_numpy(), rtol=0, atol=1e-12)
    p = fitted.predict_proba(frame[usable])[:, 1]
    np.testing.assert_allclose(kind.raw_score(M), np.log(p / (1 - p)), rtol=0, atol=1e-9)
    np.testing.assert_allclose(kind.score(M), fitted.score(frame[usable]), rtol=0, atol=1e-8)
    theirs = fitted.table(style="detailed")
    theirs = theirs[theirs["Bin"] != "Special"]  # no special codes: an empty bin optbinning always lists
    ours = kind.table()
    assert len(ours) == len(theirs)
    np.testing.assert_allclose([r["points"] for r in ours], theirs["Points"].to_numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose([r["woe"] for r in ours], theirs["WoE"].to_numpy(), rtol=0, atol=1e-12)


def test_missing_values_have_their_own_bin_and_unknown_levels_read_as_missing(card_bundle, toy):
    X, _ = toy
    ratio = next(c for c in card_bundle.model.characteristics if c["feature"] == "RATIO")
    assert ratio["count_missing"] == int(X["RATIO"].isna().sum()) > 0
    assert ratio["woe_missing"] != 0.0  # the missing clients' own evidence, not the average
    row = X.iloc[[0]].copy()
    row["RATIO"] = np.nan
    k = [c["feature"] for c in card_bundle.model.characteristics].index("RATIO")
    assert card_bundle.model.woe(card_bundle.matrix(row))[0, k] == ratio["woe_missing"]
    kinds = next(c for c in card_bundle.model.characteristics if c["feature"] == "KIND")
    assert kinds["dtype"] == "categorical" and any("d" == label for label in kinds["labels"])
    row["KIND"] = "never-seen"
    kk = [c["feature"] for c in card_bundle.model.characteristics].index("KIND")
    assert card_bundle.model.woe(card_bundle.matrix(row))[0, kk] == kinds["woe_missing"]


def _reference_bins(characteristics, M):
    """Bins one characteristic at a time, with optbinning's rule written plainly: np.digitize on the cut points,
    np.isin on each group of codes (a later group wins)."""
    out = np.full((len(M), len(characteristics)), -1)
    for k, c in enumerate(characteristics):
        x = M[:, c["index"]]
        present = ~np.isnan(x)
        if c["dtype"] == "numerical":
            out[present, k] = np.digitize(x[present], np.asarray(c["splits"], dtype=float), right=False)
        else:
            for pos, codes in enumerate(c["groups"]):
                out[present & np.isin(x, codes), k] = pos
    return out


@pytest.mark.parametrize("rows", [1, 5000])
def test_bins_and_woe_of_every_kind_of_value_follow_the_plain_rule(card_bundle, toy, rows):
    """The array lookup bins as the rule does: cut points themselves, +-inf, missing values, unknown codes."""
    X, _ = toy
    kind = card_bundle.model
    rng = np.random.default_rng(rows)
    M = card_bundle.matrix(X.sample(rows, replace=True, random_state=rows))
    cuts = np.concatenate([c["splits"] for c in kind.characteristics if c["dtype"] == "numerical"])
    for j in range(M.shape[1]):
        if card_bundle.feature_names[j] in card_bundle.categories:
            pick = rng.uniform(size=rows)
            M[pick < 0.2, j] = np.nan
            M[(pick >= 0.2) & (pick < 0.3), j] = 99  # a code no group holds
        else:
            pick = rng.uniform(size=rows)
            M[pick < 0.1, j] = np.nan
            M[(pick >= 0.1) & (pick < 0.3), j] = rng.choice(cuts, size=int(((pick >= 0.1) & (pick < 0.3)).sum()))
            M[(pick >= 0.3) & (pick < 0.35), j] = np.inf
            M[(pick >= 0.35) & (pick < 0.4), j] = -np.inf
    expected = _reference_bins(kind.characteristics, M)
    np.testing.assert_array_equal(kind.bins(M), expected)
    chars = kind.characteristics
    woe = np.array(
        [[c["woe"][b] if b >= 0 else c["woe_missing"] for c, b in zip(chars, row, strict=True)] for row in expected]
    )
    np.testing.assert_array_equal(kind.woe(M), woe)
    assert rows == 1 or ((expected == -1).any() and (expected > 0).any())  # the odd values were drawn


@pytest.mark.parametrize("rows", [1, 700])
def test_contributions_are_exact_and_centred(card_bundle, toy, rows):
    X, _ = toy
    model = card_bundle.model
    M = card_bundle.matrix(X.sample(rows, replace=True, random_state=1))
    contrib = model.contributions(M)
    assert contrib.shape == (rows, M.shape[1] + 1) and np.ptp(contrib[:, -1]) == 0
    np.testing.assert_allclose(contrib.sum(axis=1), model.raw_score(M), rtol=0, atol=1e-12)
    # coefficient x (WoE - mean WoE) per characteristic; features the scorecard left out contribute nothing
    index = [c["index"] for c in model.characteristics]
    coef = np.array([c["coef"] for c in model.characteristics])
    mean = np.array([c["mean_woe"] for c in model.characteristics])
    np.testing.assert_allclose(contrib[:, index], (model.woe(M) - mean) * coef, rtol=0, atol=1e-15)
    assert not contrib[:, [j for j in range(M.shape[1]) if j not in index]].any()
    # the base is the expected value: the training clients' mean raw score
    full = card_bundle.matrix(X)
    assert contrib[0, -1] == pytest.approx(model.raw_score(full).mean(), abs=1e-12)
    base, shap = card_bundle.explain(M)
    np.testing.assert_allclose(base + shap.sum(axis=1), card_bundle.raw_score(M), rtol=0, atol=1e-12)


def test_points_are_a_linear_map_of_the_contributions_and_sum_to_the_score(card_bundle, toy):
    X, _ = toy
    model = card_bundle.model
    M = card_bundle.matrix(X.iloc[:300])
    points = model.points(M)
    np.testing.assert_allclose(points.sum(axis=1), model.score(M), rtol=0, atol=1e-9)
    np.testing.assert_allclose(model.score(M), model.offset - model.factor * model.raw_score(M), rtol=0, atol=1e-9)
    index = [c["index"] for c in model.characteristics]
    coef = np.array([c["coef"] for c in model.characteristics])
    mean = np.array([c["mean_woe"] for c in model.characteristics])
    n = len(index)
    linear = -(model.contributions(M)[:, index] + coef * mean + model.intercept / n) * model.factor + model.offset / n
    np.testing.assert_allclose(points, linear, rtol=0, atol=1e-9)
    # 20 more points double the good:bad odds
    assert model.factor * np.log(2) == pytest.approx(sc.SCALING["pdo"])


def test_card_shows_the_scorecard_table(card_bundle):
    model = card_bundle.card["model"]
    assert model["kind"] == "scorecard" and model["library"] == "optbinning + scikit-learn"
    table = model["scorecard"]["table"]
    assert table == card_bundle.model.table()
    ext = [r for r in table if r["characteristic"] == "EXT"]
    assert len(ext) >= 3 and ext[-1]["bin"] == "missing"
    observed = [r for r in ext if r["n"] > 0]
    # the safer the bin (higher EXT), the fewer defaults and the more points
    assert observed[0]["event_rate"] > observed[-1]["event_rate"] and observed[0]["points"] < observed[-1]["points"]
    md = render_markdown(card_bundle.card)
    assert "Model: kind `scorecard` (optbinning + scikit-learn, logistic scorecard on WoE bins" in md
    section = md.split("## Scorecard (points per attribute)")[1].split("\n## ")[0]
    assert "| characteristic | bin | clients | default rate | WoE | points |" in section
    first = ext[0]
    assert f"| EXT | {first['bin']} | {first['n']} |" in section and f"| {first['points']:.1f} |" in section
    assert model["params"] == sc.settings() and card_bundle.card["metrics"]["ece_calibrated"] < 0.05


def test_pd_is_calibrated_on_the_out_of_fold_scores(card_bundle):
    cal = card_bundle.card["calibration"]["table"]
    assert max(abs(r["mean_pd"] - r["observed_rate"]) for r in cal) < 0.08
    m = card_bundle.card["metrics"]
    assert m["brier_calibrated"] < m["brier_base_rate"] and 0.65 < m["cv_auc"] < 0.95


def test_signed_scorecard_bundle_round_trips_as_plain_data(card_bundle, toy, tmp_path):
    X, _ = toy
    card_bundle.save(tmp_path / "m")
    state = joblib.load(tmp_path / "m" / MODEL_FILE)
    assert state["kind"] == "scorecard"
    json.dumps(state["model"])  # text and numbers only: the pickle holds no optbinning object
    loaded = ModelBundle.load(tmp_path / "m")
    assert isinstance(loaded.model, ScorecardKind) and isinstance(loaded.model, ModelKind)
    M = card_bundle.matrix(X)
    np.testing.assert_array_equal(loaded.model.raw_score(M), card_bundle.model.raw_score(M))
    np.testing.assert_array_equal(loaded.model.contributions(M), card_bundle.model.contributions(M))
    pd.testing.assert_frame_equal(loaded.score(X), card_bundle.score(X))
    with open(tmp_path / "m" / MODEL_FILE, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelIntegrityError, match="altered or replaced"):
        ModelBundle.load(tmp_path / "m")


def test_blend_is_the_weighted_sum_of_its_parts(blend_bundle, toy, tmp_path):
    X, _ = toy
    model = blend_bundle.model
    assert isinstance(model, BlendKind) and kind_class("blend") is BlendKind
    tried = blend_bundle.card["model"]["blend"]["tried"]
    assert model.weight == max(tried, key=lambda t: t["cv_auc"])["weight"]
    assert blend_bundle.card["metrics"]["cv_auc"] >= max(t["cv_auc"] for t in tried) - 1e-12
    M = blend_bundle.matrix(X.iloc[:400])
    w = model.weight
    parts = w * model.lightgbm.contributions(M) + (1 - w) * model.scorecard.contributions(M)
    np.testing.assert_allclose(model.contributions(M), parts, rtol=0, atol=1e-12)
    raw = w * model.lightgbm.raw_score(M) + (1 - w) * model.scorecard.raw_score(M)
    np.testing.assert_allclose(model.raw_score(M), raw, rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.contributions(M).sum(axis=1), raw, rtol=0, atol=1e-9)
    assert "## Scorecard (points per attribute)" in render_markdown(blend_bundle.card)
    blend_bundle.save(tmp_path / "b")
    loaded = ModelBundle.load(tmp_path / "b")
    np.testing.assert_array_equal(loaded.model.contributions(M), model.contributions(M))
    assert loaded.model.weight == w


def test_a_blend_weight_outside_zero_one_is_refused(blend_bundle):
    state = blend_bundle.model.to_state()
    with pytest.raises(ValueError, match="within"):
        BlendKind.from_state({**state, "weight": 1.5})


def test_unknown_kind_is_refused_before_training(toy):
    X, y = toy
    with pytest.raises(ValueError, match="unknown model kind 'forest'; known kinds: blend, lightgbm, scorecard"):
        fit_bundle(X, y, n_folds=3, kind="forest")


def test_cli_trains_the_kinds_it_names():
    parser = build_parser()
    assert parser.parse_args(["train"]).kind is None  # train_model then makes DEFAULT_KIND
    assert parser.parse_args(["train", "--kind", "scorecard"]).kind == "scorecard"
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--kind", "forest"])


def test_a_scorecard_store_serves_exact_explanations_through_the_api(synth_dir, tmp_path):
    """Train a scorecard on the synthetic portfolio, build the store, read a client through the API unchanged."""
    from scoring.features import build_features
    from scoring.store import build_store
    from scoring.train import train_model
    from tests.api_fixtures import create_test_app, prepare_store, sign_in

    models, store = tmp_path / "models", tmp_path / "store.sqlite"
    bundle = train_model(synth_dir, models, n_folds=3, seed=0, kind="scorecard")
    assert isinstance(ModelBundle.load(models).model, ScorecardKind)
    build_store(synth_dir, models, store)
    env = prepare_store(store, models, tmp_path / "served.sqlite")
    client = create_test_app(env).test_client()
    heads = sign_in(client, "manager")
    cid = env["other"]
    score = client.get(f"/api/v1/clients/{cid}/score", headers=heads).json
    exp = client.get(f"/api/v1/clients/{cid}/explanation?top=50", headers=heads).json
    total = exp["base_value"] + sum(c["shap"] for c in exp["contributions"]) + exp["others"]["shap"]
    assert total == pytest.approx(exp["raw_score"], abs=1e-4)
    assert exp["base_value"] == pytest.approx(bundle.model.expected_value, abs=1e-5)
    assert 0 < score["pd"] < 1 and score["decision"] in ("approve", "decline")
    features = build_features(synth_dir).loc[[cid]]
    assert score["pd"] == pytest.approx(bundle.predict_pd(features)[0], abs=1e-6)
    assert exp["raw_score"] == pytest.approx(bundle.raw_score(features)[0], abs=1e-5)


# Quality on real clients the model never saw: outer stratified 5-fold over the 6,999 real rows, each fold's model
# trained by the default path of `train` (fit_bundle's defaults: the default kind, 5 inner folds) on four fifths, the
# fifth scored; every real row is scored once, by a model that did not see it. README "Model kinds" has the figures.
REAL_OUTER_FOLDS = 5
REAL_OUTER_SEED = 100
REAL_MIN_AUC = 0.75
REAL_MAX_ECE = 0.02


def test_default_kind_on_real_clients_it_never_saw(real_sample_dir, tmp_path):
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from scoring.model_card import expected_calibration_error
    from scoring.train import DEFAULT_KIND, training_frame

    data = tmp_path / "real"
    data.mkdir()
    (data / "application_train.csv").symlink_to(real_sample_dir / "application_train.csv")
    X, y, _ = training_frame(data)
    yv = y.to_numpy()
    held_out = np.full(len(yv), np.nan)
    outer = StratifiedKFold(REAL_OUTER_FOLDS, shuffle=True, random_state=REAL_OUTER_SEED)
    for tr, te in outer.split(X, yv):
        bundle = fit_bundle(X.iloc[tr], y.iloc[tr])
        assert bundle.model.kind == DEFAULT_KIND
        held_out[te] = bundle.predict_pd(X.iloc[te])
    auc, ece = roc_auc_score(yv, held_out), expected_calibration_error(yv, held_out)
    print(f"{DEFAULT_KIND} on held-out real rows: AUC {auc:.4f}, ECE {ece:.4f}")
    assert auc >= REAL_MIN_AUC and ece <= REAL_MAX_ECE, f"AUC {auc:.4f}, ECE {ece:.4f}"
