"""Synthetic portfolio in the exact Kaggle Home Credit schema: the demo default, labelled as synthetic.

Marginals come from an aggregate profile of the real files (scoring/synth_profile.json: quantiles and
category frequencies, no rows). Structure carries the default mechanism: a latent creditworthiness
seen through EXT_SOURCE_*, affordability, age and employment, and a payment discipline that shows in
bureau days past due, refusals, late instalments and card utilisation.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from scipy.special import expit, ndtr

from scoring import progress
from scoring.tables import NO_DATE_DAYS, SCHEMAS, SYNTHETIC_MARKER, TABLES

TEST_FRACTION = 48_744 / 356_255
CHUNK_CLIENTS = 40_000
_PROFILE_PATH = Path(__file__).with_name("synth_profile.json")
_ARROW_TYPES = {"int": pa.int64(), "float": pa.float64(), "str": pa.string()}
# intercept of the default model, set so that about 8 % of training clients default
_DEFAULT_INTERCEPT = -3.4
# A later cohort of new applicants (generate_cohort): "stable" is drawn as the portfolio is; "drifted" has incomes
# down (the loans asked stay as they were, so the payment-to-income ratio rises) and a worse payment discipline,
# which shows in more bureau days past due, late instalments and refusals.
COHORTS = {"stable": None, "drifted": {"income_factor": 0.5, "discipline_shift": 1.25}}
COHORT_FIRST_IDS = {"stable": 5_000_000, "drifted": 6_000_000}  # apart from a portfolio's 100002.. and each other


def _profile() -> dict:
    return json.loads(_PROFILE_PATH.read_text())


class _Columns(dict):
    """Column name -> (values, missing mask) for one table chunk, completed from the profile."""

    def __init__(self, rng: np.random.Generator, table: str, n: int, profile: dict):
        super().__init__()
        self.rng, self.table, self.n, self.profile = rng, table, n, profile[table]

    def put(self, name: str, values, missing=None) -> None:
        values = np.asarray(values)
        if missing is None:
            missing = np.zeros(self.n, bool) if values.dtype != object else np.array([v is None for v in values])
        self[name] = (values, np.asarray(missing, bool))

    def sample(self, name: str, n: int | None = None, exclude: tuple = ()):
        """Draw from the profiled marginal of column `name` (missing rate included)."""
        spec, kind = self.profile[name], SCHEMAS[self.table][name]
        n = self.n if n is None else n
        missing = self.rng.random(n) < spec["missing"]
        if "values" in spec:
            values, freq = list(spec["values"]), np.array(spec["freq"], float)
            keep = np.array([v not in exclude for v in values])
            freq = np.where(keep, freq, 0.0)
            idx = self.rng.choice(len(values), size=n, p=freq / freq.sum())
            table = np.array(values, dtype=object if kind == "str" else float)
            return table[idx], missing
        q = np.asarray(spec["quantiles"], float)
        if not len(q):
            return np.zeros(n), np.ones(n, bool)
        x = np.interp(self.rng.random(n) * (len(q) - 1), np.arange(len(q)), q)
        return (np.round(x) if kind == "int" else x), missing

    def from_quantile(self, name: str, u) -> np.ndarray:
        """The profiled marginal at probabilities u (a Gaussian copula keeps it exact while adding structure)."""
        q = np.asarray(self.profile[name]["quantiles"], float)
        return np.interp(np.asarray(u) * (len(q) - 1), np.arange(len(q)), q)

    def to_arrow(self) -> pa.Table:
        arrays = []
        for col, kind in SCHEMAS[self.table].items():
            values, missing = self[col] if col in self else self.sample(col)
            if kind == "str":
                values = np.where(missing, None, values).astype(object)
                arrays.append(pa.array(values, type=pa.string()))
            else:
                data = np.asarray(values, float)
                missing = missing | np.isnan(data)
                if kind == "int":
                    data = np.round(np.nan_to_num(data)).astype(np.int64)
                arrays.append(pa.array(data, type=_ARROW_TYPES[kind], mask=missing))
        return pa.Table.from_arrays(arrays, schema=_schema(self.table))


def _schema(table: str) -> pa.Schema:
    return pa.schema([(c, _ARROW_TYPES[k]) for c, k in SCHEMAS[table].items()])


def _days_from_years(rng, years) -> np.ndarray:
    return -np.floor(np.asarray(years) * 365.25 + rng.random(len(years)) * 30).astype(np.int64)


def _applications(rng, ids, profile, rare, drift: dict | None = None) -> tuple[_Columns, dict]:
    """Application rows; `rare` draws the few applicants that trip the lender's cheapest stop factors (under 21,
    no income stated), from a stream of its own so that `rng` makes the same draws as before they existed.
    `drift` (COHORTS) moves the population without changing any draw."""
    n = len(ids)
    c = _Columns(rng, "application_train", n, profile)
    z = rng.standard_normal(n)  # creditworthiness, never observed directly
    h = 0.6 * z + 0.8 * rng.standard_normal(n)  # payment discipline, seen in the history tables
    if drift:
        h = h - drift["discipline_shift"]
    age = 21 + 48 * rng.beta(1.5, 1.7, n)
    age = np.where(rare.random(n) < 0.002, 20 + rare.random(n), age)  # real files: from 20.5
    pensioner = rng.random(n) < np.where(age >= 58, 0.72, 0.035)
    income_type, _ = c.sample("NAME_INCOME_TYPE", exclude=("Pensioner",))
    income_type = np.where(pensioner, "Pensioner", income_type).astype(object)
    years_employed = np.minimum(rng.exponential(6.5, n), np.maximum(age - 18, 0.1))
    income = np.exp(11.85 + 0.5 * rng.standard_normal(n) + 0.12 * z - 0.25 * pensioner)
    income = np.maximum(np.round(income / 2250) * 2250, 25650.0)
    u_goods = ndtr(0.45 * (np.log(income) - 11.85) / 0.5 + 0.89 * rng.standard_normal(n))
    goods = np.round(c.from_quantile("AMT_GOODS_PRICE", u_goods) / 4500) * 4500 + 4500
    contract, _ = c.sample("NAME_CONTRACT_TYPE")
    loading = 1 + np.where(contract == "Cash loans", 0.3 * rng.beta(1.2, 3, n), 0.02 * rng.random(n))
    credit = np.round(goods * loading / 10) * 10
    # credit / annuity follows the real spread (10th, 50th, 90th percentiles about 10, 20, 34)
    term = rng.choice([10, 12, 18, 24, 30, 36, 48, 60], n, p=[0.08, 0.15, 0.1, 0.2, 0.1, 0.17, 0.1, 0.1])
    annuity = np.round(credit * (1 + 0.08 * term / 12) / term * 2) / 2
    if drift:  # after the loan is drawn: the same loans asked on lower incomes
        income = np.maximum(np.round(income * drift["income_factor"] / 2250) * 2250, 25650.0)
    pti = annuity / income
    female = rng.random(n) < 0.66
    gender = np.where(female, "F", "M").astype(object)
    gender[rng.random(n) < 1.3e-5] = "XNA"
    education, _ = c.sample("NAME_EDUCATION_TYPE")
    edu_risk = np.select([education == "Higher education", education == "Lower secondary"], [-0.35, 0.35], 0.0)
    risk = (
        _DEFAULT_INTERCEPT
        - 0.95 * z
        - 0.55 * h
        + 2.2 * (pti - 0.18)
        + 0.35 * (credit / goods > 1.15)
        - 0.022 * (age - 40)
        + 0.35 * (years_employed < 1) * ~pensioner
        + 0.18 * ~female
        + edu_risk
        + 0.35 * rng.standard_normal(n)
    )
    target = (rng.random(n) < expit(risk)).astype(np.int64)

    c.put("SK_ID_CURR", ids)
    c.put("TARGET", target)
    c.put("NAME_CONTRACT_TYPE", contract)
    c.put("CODE_GENDER", gender)
    c.put("NAME_INCOME_TYPE", income_type)
    c.put("NAME_EDUCATION_TYPE", education)
    c.put("AMT_INCOME_TOTAL", income, rare.random(n) < 0.001)  # real files: never missing
    c.put("AMT_GOODS_PRICE", goods, rng.random(n) < 0.001)
    c.put("AMT_CREDIT", credit)
    c.put("AMT_ANNUITY", annuity, rng.random(n) < 0.00004)
    c.put("DAYS_BIRTH", _days_from_years(rng, age))
    c.put("DAYS_EMPLOYED", np.where(pensioner, NO_DATE_DAYS, _days_from_years(rng, years_employed)))
    c.put("FLAG_EMP_PHONE", np.where(pensioner, 0, 1))
    org, org_missing = c.sample("ORGANIZATION_TYPE", exclude=("XNA",))
    c.put("ORGANIZATION_TYPE", np.where(pensioner, "XNA", org).astype(object), org_missing & ~pensioner)
    occ, occ_missing = c.sample("OCCUPATION_TYPE")
    c.put("OCCUPATION_TYPE", occ, occ_missing | pensioner)
    for k, (rho, name) in enumerate(((0.55, "EXT_SOURCE_1"), (0.6, "EXT_SOURCE_2"), (0.6, "EXT_SOURCE_3"))):
        latent = rho * z + np.sqrt(1 - rho**2) * rng.standard_normal(n)
        if k == 0:  # the first external score also knows the applicant's age, as the real one does
            latent = 0.85 * latent + 0.5 * (age - 44) / 12
            latent /= latent.std() if n > 1 else 1
        c.put(name, c.from_quantile(name, ndtr(latent)), rng.random(n) < c.profile[name]["missing"])
    children, _ = c.sample("CNT_CHILDREN")
    status, _ = c.sample("NAME_FAMILY_STATUS")
    couple = np.isin(status, ["Married", "Civil marriage"])
    c.put("CNT_CHILDREN", children)
    c.put("NAME_FAMILY_STATUS", status)
    c.put("CNT_FAM_MEMBERS", children + 1 + couple)
    c.put("DAYS_REGISTRATION", -np.floor(rng.random(n) * np.maximum(age - 18, 1) * 365.25))
    c.put("DAYS_ID_PUBLISH", -np.floor(rng.random(n) * np.minimum(age - 16, 20) * 365.25).astype(np.int64))
    return c, {"h": h, "n_ids": ids}


def _bureau(rng, ids, h, profile, next_bureau_id):
    n = len(ids)
    counts = np.where(rng.random(n) < 0.86, 1 + rng.poisson(4.6, n), 0)
    idx = np.repeat(np.arange(n), counts)
    m = len(idx)
    c = _Columns(rng, "bureau", m, profile)
    hb = h[idx]
    bureau_ids = next_bureau_id + np.arange(m)
    u = rng.random(m)
    active = u < 0.36
    status = np.where(active, "Active", np.where(u < 0.9955, "Closed", "Sold")).astype(object)
    status[(rng.random(m) < 0.0002 * (1 + 4 * (hb < -1)))] = "Bad debt"
    days_credit = -rng.integers(0, 2922, m)
    end = days_credit + rng.integers(30, 3650, m)
    closed = ~active
    fact = np.where(closed, np.minimum(end, -1) - rng.integers(0, 200, m), np.nan)
    fact = np.maximum(fact, days_credit)
    overdue_p = expit(-4.8 - 1.4 * hb)
    overdue_days = np.where(active & (rng.random(m) < overdue_p), rng.integers(1, 300, m), 0)
    credit_sum, cs_missing = c.sample("AMT_CREDIT_SUM")
    debt = np.where(active, credit_sum * rng.random(m), 0.0)
    c.put("SK_ID_CURR", ids[idx])
    c.put("SK_ID_BUREAU", bureau_ids)
    c.put("CREDIT_ACTIVE", status)
    c.put("DAYS_CREDIT", days_credit)
    c.put("CREDIT_DAY_OVERDUE", overdue_days)
    c.put("DAYS_CREDIT_ENDDATE", end, rng.random(m) < 0.06)
    c.put("DAYS_ENDDATE_FACT", fact, ~closed)
    c.put("AMT_CREDIT_SUM", credit_sum, cs_missing)
    c.put("AMT_CREDIT_SUM_DEBT", debt, rng.random(m) < 0.15)
    c.put("AMT_CREDIT_SUM_OVERDUE", np.where(overdue_days > 0, debt * rng.uniform(0.01, 0.3, m), 0.0))
    max_overdue = np.where(rng.random(m) < expit(-2.5 - 1.2 * hb), credit_sum * rng.uniform(0.01, 0.2, m), 0.0)
    c.put("AMT_CREDIT_MAX_OVERDUE", max_overdue, rng.random(m) < 0.65)
    update = np.where(active, -rng.integers(0, 60, m), np.nan_to_num(fact) + rng.integers(0, 30, m))
    c.put("DAYS_CREDIT_UPDATE", np.minimum(update, 0))
    # monthly balance rows for a part of the credits, from the month the credit opened up to today
    has_bal = rng.random(m) < 0.43
    start = np.maximum(np.floor(days_credit / 30.4).astype(np.int64), -96)
    months = np.where(has_bal, 1 - start, 0)
    bidx = np.repeat(np.arange(m), months)
    offset = np.arange(len(bidx)) - np.repeat(np.cumsum(months) - months, months)
    month = start[bidx] + offset
    end_month = np.where(closed, np.floor(np.nan_to_num(fact) / 30.4), 1)[bidx]
    q = expit(-4.6 - 1.6 * hb)[bidx]
    r = rng.random(len(bidx))
    dpd = np.select([r < 0.70 * q, r < 0.82 * q, r < 0.88 * q, r < 0.92 * q, r < q], ["1", "2", "3", "4", "5"], "0")
    status_bal = np.where(month > end_month, "C", np.where(rng.random(len(bidx)) < 0.2, "X", dpd)).astype(object)
    bb = _Columns(rng, "bureau_balance", len(bidx), profile)
    bb.put("SK_ID_BUREAU", bureau_ids[bidx])
    bb.put("MONTHS_BALANCE", month)
    bb.put("STATUS", status_bal)
    return c, bb


def _previous(rng, ids, h, profile, next_prev_id):
    n = len(ids)
    counts = np.where(rng.random(n) < 0.95, rng.poisson(4.9, n), 0)
    idx = np.repeat(np.arange(n), counts)
    m = len(idx)
    c = _Columns(rng, "previous_application", m, profile)
    hp = h[idx]
    prev_ids = next_prev_id + np.arange(m)
    u = rng.random(m)
    refused_p = expit(-1.9 - 0.9 * hp)
    status = np.select(
        [u < refused_p, u < refused_p + 0.16, u < refused_p + 0.18], ["Refused", "Canceled", "Unused offer"], "Approved"
    ).astype(object)
    approved = status == "Approved"
    contract, _ = c.sample("NAME_CONTRACT_TYPE")
    term, term_missing = c.sample("CNT_PAYMENT")
    term = np.maximum(term, 0)
    application, _ = c.sample("AMT_APPLICATION")
    credit = np.where(status == "Canceled", 0.0, application * rng.uniform(0.9, 1.2, m))
    annuity = np.where(term > 0, credit * (1 + 0.15 * term / 12) / np.maximum(term, 1), np.nan)
    decision = -rng.integers(1, 2922, m)
    first_due = np.where(approved, decision + rng.integers(10, 60, m), np.nan)
    last_due_1st = first_due + 30 * term
    finished = last_due_1st < 0
    reject, _ = c.sample("CODE_REJECT_REASON", exclude=("XAP",))
    c.put("SK_ID_PREV", prev_ids)
    c.put("SK_ID_CURR", ids[idx])
    c.put("NAME_CONTRACT_TYPE", contract)
    c.put("NAME_CONTRACT_STATUS", status)
    c.put("CODE_REJECT_REASON", np.where(status == "Refused", reject, "XAP").astype(object))
    c.put("AMT_APPLICATION", application)
    c.put("AMT_CREDIT", credit)
    c.put("AMT_ANNUITY", annuity, term_missing | np.isnan(annuity))
    c.put("CNT_PAYMENT", term, term_missing)
    c.put("DAYS_DECISION", decision)
    c.put("DAYS_FIRST_DRAWING", np.full(m, float(NO_DATE_DAYS)), ~approved)
    c.put("DAYS_FIRST_DUE", first_due, ~approved)
    c.put("DAYS_LAST_DUE_1ST_VERSION", last_due_1st, ~approved)
    c.put("DAYS_LAST_DUE", np.where(finished, last_due_1st, NO_DATE_DAYS), ~approved)
    c.put("DAYS_TERMINATION", np.where(finished, last_due_1st + 3, NO_DATE_DAYS), ~approved)
    instal_mask = approved & (term > 0) & ~term_missing
    return c, dict(
        idx=idx, prev_ids=prev_ids, first_due=first_due, term=term, annuity=annuity, instal_mask=instal_mask, h=hp
    )


def _expand(counts):
    idx = np.repeat(np.arange(len(counts)), counts)
    k = np.arange(len(idx)) - np.repeat(np.cumsum(counts) - counts, counts)
    return idx, k


def _pos_and_instalments(rng, ids, prev, profile):
    sel = np.flatnonzero(prev["instal_mask"])
    first_due, term, h = prev["first_due"][sel], prev["term"][sel].astype(np.int64), prev["h"][sel]
    elapsed = np.clip(np.floor(-first_due / 30.4).astype(np.int64) + 1, 0, term)
    # POS: one row per month from the first due date up to the end of the term or today
    p_idx, k = _expand(np.minimum(elapsed + 1, 96))
    start_month = np.floor(first_due / 30.4).astype(np.int64)
    pos = _Columns(rng, "POS_CASH_balance", len(p_idx), profile)
    hp = h[p_idx]
    dpd = np.where(rng.random(len(p_idx)) < expit(-4.2 - 1.5 * hp), rng.integers(1, 60, len(p_idx)), 0)
    future = np.maximum(term[p_idx] - k, 0)
    pos.put("SK_ID_PREV", prev["prev_ids"][sel][p_idx])
    pos.put("SK_ID_CURR", ids[prev["idx"][sel]][p_idx])
    pos.put("MONTHS_BALANCE", np.minimum(start_month[p_idx] + k, -1))
    pos.put("CNT_INSTALMENT", term[p_idx].astype(float))
    pos.put("CNT_INSTALMENT_FUTURE", future.astype(float))
    pos.put("NAME_CONTRACT_STATUS", np.where(future == 0, "Completed", "Active").astype(object))
    pos.put("SK_DPD", dpd)
    pos.put("SK_DPD_DEF", np.where(dpd > 30, dpd - 30, 0))
    # instalments: one row per instalment due so far
    i_idx, k = _expand(elapsed)
    inst = _Columns(rng, "installments_payments", len(i_idx), profile)
    hi = h[i_idx]
    due = first_due[i_idx] + 30 * k
    mi = len(i_idx)
    late = rng.random(mi) < expit(-2.6 - 1.3 * hi)
    delay = np.where(late, np.ceil(rng.exponential(12, mi)), -np.floor(rng.exponential(8, mi)))
    amount = np.round(prev["annuity"][sel][i_idx], 3)
    under = rng.random(mi) < expit(-3.4 - 1.3 * hi)
    inst.put("SK_ID_PREV", prev["prev_ids"][sel][i_idx])
    inst.put("SK_ID_CURR", ids[prev["idx"][sel]][i_idx])
    inst.put("NUM_INSTALMENT_VERSION", np.where(k == 0, 1.0, rng.choice([0.0, 1.0, 2.0], mi, p=[0.25, 0.7, 0.05])))
    inst.put("NUM_INSTALMENT_NUMBER", k + 1)
    inst.put("DAYS_INSTALMENT", due.astype(float))
    inst.put("DAYS_ENTRY_PAYMENT", np.minimum(due + delay, -1), rng.random(mi) < 0.0002)
    inst.put("AMT_INSTALMENT", amount)
    inst.put("AMT_PAYMENT", np.where(under, amount * rng.uniform(0.2, 0.95, mi), amount))
    return pos, inst


def _credit_cards(rng, ids, h, profile, next_prev_id):
    n = len(ids)
    holders = np.flatnonzero(rng.random(n) < 0.29)
    months = np.minimum(1 + rng.geometric(1 / 37, len(holders)), 96)
    c_idx, k = _expand(months)
    m = len(c_idx)
    cc = _Columns(rng, "credit_card_balance", m, profile)
    limit_card = np.round(cc.from_quantile("AMT_CREDIT_LIMIT_ACTUAL", rng.random(len(holders))) / 4500) * 4500 + 45000
    hc = h[holders][c_idx]
    util = expit(-0.6 - 1.1 * hc + 0.6 * rng.standard_normal(m))
    limit = limit_card[c_idx]
    balance = limit * util
    dpd = np.where(rng.random(m) < expit(-5.0 - 1.6 * hc), rng.integers(1, 90, m), 0)
    drawings = np.where(rng.random(m) < 0.3, limit * rng.uniform(0, 0.3, m), 0.0)
    cc.put("SK_ID_PREV", (next_prev_id + np.arange(len(holders)))[c_idx])
    cc.put("SK_ID_CURR", ids[holders][c_idx])
    cc.put("MONTHS_BALANCE", -(k + 1))
    cc.put("AMT_BALANCE", balance)
    cc.put("AMT_CREDIT_LIMIT_ACTUAL", limit)
    cc.put("AMT_DRAWINGS_CURRENT", drawings)
    cc.put("AMT_RECEIVABLE_PRINCIPAL", balance * 0.95)
    cc.put("AMT_RECIVABLE", balance)
    cc.put("AMT_TOTAL_RECEIVABLE", balance)
    cc.put("AMT_INST_MIN_REGULARITY", balance * 0.05)
    cc.put("AMT_PAYMENT_CURRENT", np.where(dpd > 0, 0.0, balance * rng.uniform(0.05, 0.3, m)))
    cc.put("NAME_CONTRACT_STATUS", np.where(rng.random(m) < 0.96, "Active", "Completed").astype(object))
    cc.put("SK_DPD", dpd)
    cc.put("SK_DPD_DEF", np.where(dpd > 30, dpd - 30, 0))
    return cc, len(holders)


class _Writer:
    """Writes each table chunk by chunk, as Parquet (default) or Kaggle-style CSV."""

    def __init__(self, out_dir: Path, fmt: str):
        self.out_dir, self.fmt, self.writers, self.rows = out_dir, fmt, {}, dict.fromkeys(TABLES, 0)

    def write(self, table: str, data: pa.Table) -> None:
        if table not in self.writers:
            path = self.out_dir / f"{table}.{self.fmt}"
            if self.fmt == "parquet":
                self.writers[table] = pq.ParquetWriter(path, _schema(table), compression="snappy")
            else:
                self.writers[table] = pacsv.CSVWriter(path, _schema(table))
        self.writers[table].write_table(data)
        self.rows[table] += data.num_rows

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


def generate(
    out_dir,
    n_clients: int,
    seed: int = 0,
    fmt: str = "parquet",
    test_fraction: float = TEST_FRACTION,
    chunk_clients: int = CHUNK_CLIENTS,
) -> dict[str, int]:
    """Write all eight tables for n_clients (train + test) into out_dir; deterministic for a seed."""
    if n_clients < 10:
        raise ValueError(f"--clients must be at least 10, got {n_clients}")
    out_dir = _clean_dir(out_dir, fmt)
    writer = _Writer(out_dir, fmt)
    try:
        _write_clients(writer, n_clients, seed, test_fraction, chunk_clients)
    finally:
        writer.close()
    _mark_synthetic(out_dir, seed, n_clients, fmt)
    return writer.rows


def generate_cohort(
    out_dir,
    n_clients: int,
    cohort: str = "stable",
    seed: int = 0,
    first_id: int | None = None,
    fmt: str = "parquet",
    observed_on: str | None = None,
) -> dict[str, int]:
    """A later cohort of new applicants in out_dir: application_test rows and their history tables (what predict
    reads), and outcomes.csv (client_id, defaulted, observed_on: the synthetic outcome of each, for
    `outcomes import`). Drawn from a stream of its own, so a stable cohort is not the portfolio again; a drifted one
    is the same draws moved (COHORTS)."""
    if cohort not in COHORTS:
        raise ValueError(f"cohort must be one of {', '.join(COHORTS)}, got {cohort!r}")
    if n_clients < 10:
        raise ValueError(f"--clients must be at least 10, got {n_clients}")
    first_id = COHORT_FIRST_IDS[cohort] if first_id is None else first_id
    if not 0 < first_id < 2**62:
        raise ValueError(f"--first-id must be a positive id, got {first_id}")
    out_dir = _clean_dir(out_dir, fmt)
    writer = _Writer(out_dir, fmt)
    try:
        outcomes = _write_clients(
            writer, n_clients, seed, 1.0, CHUNK_CLIENTS, first_id=first_id, drift=COHORTS[cohort], stream=7
        )
    finally:
        writer.close()
    day = observed_on or datetime.now(timezone.utc).date().isoformat()
    lines = ["client_id,defaulted,observed_on"] + [f"{int(i)},{int(t)},{day}" for i, t in outcomes]
    (out_dir / "outcomes.csv").write_text("\n".join(lines) + "\n")
    _mark_synthetic(out_dir, seed, n_clients, fmt, cohort=cohort)
    return {**writer.rows, "outcomes.csv": len(outcomes)}


def _clean_dir(out_dir, fmt: str) -> Path:
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"format must be parquet or csv, got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in TABLES:  # never leave a file of the other format behind: find_table prefers Parquet
        for suffix in (".parquet", ".csv", ".csv.gz"):
            (out_dir / f"{name}{suffix}").unlink(missing_ok=True)
    return out_dir


def _write_clients(
    writer, n_clients, seed, test_fraction, chunk_clients, *, first_id=100_002, drift=None, stream=None
) -> list[tuple[int, int]]:
    """Every table's rows of n_clients, chunk by chunk; the (id, TARGET) of the test rows."""
    profile = _profile()
    next_bureau, next_prev = 5_000_000, 1_000_000
    tested = []
    with progress.step("writing tables", total=n_clients, unit="clients") as done:
        for chunk, start in enumerate(range(0, n_clients, chunk_clients)):
            key = [seed, chunk] if stream is None else [seed, chunk, stream]
            rng = np.random.default_rng(key)
            ids = first_id + np.arange(start, min(start + chunk_clients, n_clients), dtype=np.int64)
            apps, state = _applications(rng, ids, profile, np.random.default_rng([*key, 1]), drift)
            is_test = rng.random(len(ids)) < test_fraction
            table = apps.to_arrow()
            if test_fraction < 1:
                writer.write("application_train", table.filter(pa.array(~is_test)))
            test = table.filter(pa.array(is_test))
            tested += zip(test["SK_ID_CURR"].to_pylist(), test["TARGET"].to_pylist(), strict=True)
            writer.write("application_test", test.drop_columns(["TARGET"]))
            bureau, balance = _bureau(rng, ids, state["h"], profile, next_bureau)
            next_bureau += bureau.n
            writer.write("bureau", bureau.to_arrow())
            writer.write("bureau_balance", balance.to_arrow())
            prev, prev_state = _previous(rng, ids, state["h"], profile, next_prev)
            next_prev += prev.n
            writer.write("previous_application", prev.to_arrow())
            pos, inst = _pos_and_instalments(rng, ids, prev_state, profile)
            writer.write("POS_CASH_balance", pos.to_arrow())
            writer.write("installments_payments", inst.to_arrow())
            cards, n_cards = _credit_cards(rng, ids, state["h"], profile, next_prev)
            next_prev += n_cards
            writer.write("credit_card_balance", cards.to_arrow())
            done.update(len(ids))
    return tested


def _mark_synthetic(out_dir: Path, seed: int, n_clients: int, fmt: str, cohort: str | None = None) -> None:
    marker = {
        "generator": "scoring.synth",
        "synthetic": True,
        "seed": seed,
        "clients": n_clients,
        "format": fmt,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "note": "Synthetic demo data in the Home Credit schema: not real clients.",
    }
    if cohort:
        marker["cohort"] = cohort
    (out_dir / SYNTHETIC_MARKER).write_text(json.dumps(marker, indent=2))
