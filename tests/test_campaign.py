"""Pre-approved offers: who gets one, how much, in which order; the CSV and the store's campaign; the CLI."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pandas as pd
import pytest

from scoring import cli
from scoring.bundle import ModelBundle
from scoring.decision import affordability as afford
from scoring.decision.campaign import OFFER_COLUMNS, campaign_offers, ids_of_test_split, run_campaign
from scoring.features import build_features_and_policy_inputs, features_and_policy_inputs_from_records
from scoring.store import open_store, save_offers
from tests.api_fixtures import copy_store
from tests.decision_fixtures import BASE, EXAMPLE, edited_policy, example_policy


@pytest.fixture(scope="module")
def bundle(trained_models):
    return ModelBundle.load(trained_models)


@pytest.fixture(scope="module")
def portfolio(synth_dir):
    return build_features_and_policy_inputs(synth_dir)


@pytest.fixture(scope="module")
def everyone(portfolio, bundle):
    return campaign_offers(*portfolio, bundle, example_policy())


def test_every_offer_is_one_the_policy_approves_within_its_caps(everyone, portfolio, bundle):
    policy, offers = example_policy(), everyone.offers
    section = policy.affordability
    assert list(offers.columns) == list(OFFER_COLUMNS) and len(offers) > 100
    assert everyone.clients_scored == len(portfolio[0]) == len(offers) + sum(everyone.not_offered.values())
    assert set(everyone.not_offered) <= {"decline", "refer", "technical_refusal", "below_min_offer"}
    assert everyone.not_offered["decline"] > 0
    features = portfolio[0].loc[offers["client_id"]]
    assert (offers["pd"] < bundle.threshold).all()
    assert (offers["amount"] >= section.min_offer).all() and (offers["amount"] % section.round_to == 0).all()
    caps = afford.max_amount_by_income(features["AMT_INCOME_TOTAL"], offers["grade"], section)
    assert (offers["amount"] <= caps).all()
    cap = np.where(offers["grade"] == "G7", 0.45, np.where(offers["grade"] == "G8", 0.40, 0.50))
    assert (offers["dsti"] <= cap + 1e-12).all()
    assert (offers["term_months"] == policy.campaign.term_months).all()
    expected = afford.annuity(offers["amount"], policy.campaign.term_months, section.annual_rate)
    np.testing.assert_allclose(offers["annuity"], expected, rtol=1e-12)


def test_offers_are_ranked_by_pd_lowest_first(everyone):
    offers = everyone.offers
    assert offers["rank"].tolist() == list(range(1, len(offers) + 1))
    assert offers["pd"].is_monotonic_increasing and offers["client_id"].is_unique


def _crafted(bundle, **changes):
    frame = pd.DataFrame([{**BASE, **changes}])
    return campaign_offers(*features_and_policy_inputs_from_records(frame, None), bundle, example_policy())


def test_the_offer_is_the_largest_affordable_amount_at_the_standard_term(bundle):
    campaign = _crafted(bundle, EXT_SOURCE_2=0.9, EXT_SOURCE_3=0.9)
    (offer,) = campaign.offers.to_dict("records")
    policy = example_policy()
    section, term = policy.affordability, policy.campaign.term_months
    cap = 0.40 if offer["grade"] == "G8" else 0.45 if offer["grade"] == "G7" else 0.50
    multiple = {"G7": 1.0, "G8": 0.75}.get(offer["grade"], 1.5)
    # 100,000 a month, no other debt: the DSTI cap allows cap x 100,000 a month over 36 months
    by_dsti = float(afford.amount_for_annuity(cap * 100000.0, term, section.annual_rate))
    largest = min(by_dsti, multiple * 12 * 100000.0)
    assert offer["amount"] == np.floor(largest / section.round_to) * section.round_to
    assert offer["amount"] > largest - section.round_to


def test_a_stop_factor_or_a_small_income_gives_no_offer(bundle):
    declined = _crafted(bundle, DAYS_BIRTH=-365 * 20)  # 20 years old
    assert declined.offers.empty and declined.not_offered == {"decline": 1}
    small = _crafted(bundle, AMT_INCOME_TOTAL=1000.0)  # the largest affordable loan is under min_offer
    assert small.offers.empty and set(small.not_offered) <= {"decline", "below_min_offer"}


def test_a_policy_without_a_campaign_section_is_refused(tmp_path, portfolio, bundle):
    policy = edited_policy(tmp_path, lambda doc: doc.pop("campaign"))
    with pytest.raises(ValueError, match="no campaign section"):
        campaign_offers(*portfolio, bundle, policy)


def test_the_default_campaign_is_the_test_split(synth_dir, trained_models):
    campaign = run_campaign(synth_dir, trained_models, example_policy())
    test_ids = set(ids_of_test_split(synth_dir).tolist())
    assert test_ids and set(campaign.offers["client_id"]) <= test_ids
    assert campaign.clients_scored == len(test_ids)


def test_the_store_keeps_the_last_campaign_only(store_path, tmp_path, everyone):
    path = copy_store(store_path, tmp_path / "store.sqlite")
    store = open_store(path)
    assert store.list_offers() == {"campaign": None, "total": 0, "items": []}
    save_offers(path, everyone.offers.iloc[:5], {**everyone.meta(), "policy_version": "first"})
    assert save_offers(path, everyone.offers, everyone.meta()) == len(everyone.offers)
    listing = store.list_offers(limit=3, offset=1)
    assert listing["total"] == len(everyone.offers) and [o["rank"] for o in listing["items"]] == [2, 3, 4]
    assert listing["campaign"]["policy_version"] == "example-2025.1"
    assert listing["campaign"]["offers"] == len(everyone.offers)
    assert listing["campaign"]["model_version"] == everyone.model_version
    first = everyone.offers.iloc[0]
    offer = store.get_offer(int(first["client_id"]))
    assert offer["amount"] == first["amount"] and offer["campaign"]["message"]["fr"]
    assert store.get_offer(-1) is None and store.get_offer("abc") is None


def test_offers_are_filtered_by_grade_and_amount(store_path, tmp_path, everyone):
    path = copy_store(store_path, tmp_path / "store.sqlite")
    save_offers(path, everyone.offers, everyone.meta())
    store, offers = open_store(path), everyone.offers
    grade = offers["grade"].mode()[0]
    low, high = offers["amount"].quantile([0.25, 0.75])
    listing = store.list_offers(grade=grade, min_amount=low, max_amount=high, limit=1000)
    expected = offers[(offers["grade"] == grade) & offers["amount"].between(low, high)]
    assert listing["total"] == len(expected) > 0
    assert [o["client_id"] for o in listing["items"]] == expected["client_id"].tolist()
    with pytest.raises(ValueError, match="amount bound"):
        store.list_offers(min_amount="lots")
    with pytest.raises(ValueError, match="finite"):
        store.list_offers(max_amount=float("nan"))


def test_a_failed_write_keeps_the_previous_campaign(store_path, tmp_path, everyone):
    path = copy_store(store_path, tmp_path / "store.sqlite")
    save_offers(path, everyone.offers, everyone.meta())
    twice = pd.concat([everyone.offers.iloc[:2], everyone.offers.iloc[:1]])  # a client offered twice: refused
    with pytest.raises(sqlite3.IntegrityError):
        save_offers(path, twice, everyone.meta())
    assert open_store(path).list_offers()["total"] == len(everyone.offers)


def test_the_cli_writes_the_csv_and_the_store(synth_dir, trained_models, store_path, tmp_path, capsys):
    path = copy_store(store_path, tmp_path / "store.sqlite")
    out = tmp_path / "offers.csv"
    args = ["campaign", "--data", str(synth_dir), "--models", str(trained_models), "--store", str(path)]
    assert cli.main([*args, "--out", str(out), "--all", "--policy", str(EXAMPLE)]) == 0
    written = pd.read_csv(out)
    assert list(written.columns) == list(OFFER_COLUMNS)
    assert open_store(path).list_offers()["total"] == len(written) > 100
    assert f"{len(written):,} pre-approved offers out of" in capsys.readouterr().out


def test_a_tampered_model_is_refused_before_anything_is_written(
    synth_dir, trained_models, store_path, tmp_path, capsys
):
    models = tmp_path / "models"
    shutil.copytree(trained_models, models)
    card = models / "model_card.json"
    card.write_text(card.read_text().replace('"threshold"', '"threshold" ', 1))
    path = copy_store(store_path, tmp_path / "store.sqlite")
    out = tmp_path / "offers.csv"
    args = ["campaign", "--data", str(synth_dir), "--models", str(models), "--store", str(path), "--out", str(out)]
    assert cli.main(args) == 2
    assert capsys.readouterr().err.startswith("error: ") and not out.exists()
    assert open_store(path).list_offers()["campaign"] is None
