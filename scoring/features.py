"""THE feature code path: the same DuckDB SQL over the raw files (batch) or over one applicant's rows (API).

One statement computes the application features, one per history source its aggregates per client; a small
numpy step joins them (no rows: NULL, or 0 for counts) and adds the cross-table ratios.

The same statements also compute the policy inputs (POLICY_INPUTS): what the lender's stop factors and
affordability read (scoring.decision). They are never model inputs: they come back in a frame of their own, so
that feature_names(), the trained model and its figures stay as they are.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from scoring.config import settings
from scoring.tables import NO_DATE_DAYS, SCHEMAS, duckdb_views, read_table
from scoring.values import plain

_SQL_TYPES = {"int": "BIGINT", "float": "DOUBLE", "str": "VARCHAR"}
_HISTORY_TABLES = (
    "bureau",
    "bureau_balance",
    "previous_application",
    "POS_CASH_balance",
    "installments_payments",
    "credit_card_balance",
)
_APP_SCHEMA = SCHEMAS["application_test"]  # application fields without TARGET

# --- application: raw fields kept as they are -------------------------------------------------------------
# Gender is a protected attribute: never a model input. The model card still reports AUC and approval
# rate by gender (read from the raw table), which is how a lender checks the model for disparate impact.
PROTECTED_FIELDS = ("CODE_GENDER",)
CATEGORICAL_FEATURES = [
    "NAME_CONTRACT_TYPE",
    "FLAG_OWN_CAR",
    "FLAG_OWN_REALTY",
    "NAME_TYPE_SUITE",
    "NAME_INCOME_TYPE",
    "NAME_EDUCATION_TYPE",
    "NAME_FAMILY_STATUS",
    "NAME_HOUSING_TYPE",
    "OCCUPATION_TYPE",
    "WEEKDAY_APPR_PROCESS_START",
    "ORGANIZATION_TYPE",
    "FONDKAPREMONT_MODE",
    "HOUSETYPE_MODE",
    "WALLSMATERIAL_MODE",
    "EMERGENCYSTATE_MODE",
    "PREV_LAST_STATUS",
]
_BUILDING = [
    "APARTMENTS",
    "BASEMENTAREA",
    "YEARS_BEGINEXPLUATATION",
    "YEARS_BUILD",
    "COMMONAREA",
    "ELEVATORS",
    "ENTRANCES",
    "FLOORSMAX",
    "FLOORSMIN",
    "LANDAREA",
    "LIVINGAPARTMENTS",
    "LIVINGAREA",
    "NONLIVINGAPARTMENTS",
    "NONLIVINGAREA",
]
# The _MODE and _MEDI building statistics repeat the _AVG ones; FLAG_MOBIL is constant; documents are counted.
APP_NUMERIC_RAW = [
    "CNT_CHILDREN",
    "AMT_INCOME_TOTAL",
    "AMT_CREDIT",
    "AMT_ANNUITY",
    "AMT_GOODS_PRICE",
    "REGION_POPULATION_RELATIVE",
    "OWN_CAR_AGE",
    "FLAG_EMP_PHONE",
    "FLAG_WORK_PHONE",
    "FLAG_CONT_MOBILE",
    "FLAG_PHONE",
    "FLAG_EMAIL",
    "CNT_FAM_MEMBERS",
    "REGION_RATING_CLIENT",
    "REGION_RATING_CLIENT_W_CITY",
    "HOUR_APPR_PROCESS_START",
    "REG_REGION_NOT_LIVE_REGION",
    "REG_REGION_NOT_WORK_REGION",
    "LIVE_REGION_NOT_WORK_REGION",
    "REG_CITY_NOT_LIVE_CITY",
    "REG_CITY_NOT_WORK_CITY",
    "LIVE_CITY_NOT_WORK_CITY",
    "EXT_SOURCE_1",
    "EXT_SOURCE_2",
    "EXT_SOURCE_3",
    *[f"{b}_AVG" for b in _BUILDING],
    "TOTALAREA_MODE",
    "OBS_30_CNT_SOCIAL_CIRCLE",
    "DEF_30_CNT_SOCIAL_CIRCLE",
    "OBS_60_CNT_SOCIAL_CIRCLE",
    "DEF_60_CNT_SOCIAL_CIRCLE",
    "FLAG_DOCUMENT_3",
    "AMT_REQ_CREDIT_BUREAU_HOUR",
    "AMT_REQ_CREDIT_BUREAU_DAY",
    "AMT_REQ_CREDIT_BUREAU_WEEK",
    "AMT_REQ_CREDIT_BUREAU_MON",
    "AMT_REQ_CREDIT_BUREAU_QRT",
    "AMT_REQ_CREDIT_BUREAU_YEAR",
]
_APP_CATEGORICAL = [c for c in CATEGORICAL_FEATURES if c in _APP_SCHEMA]
_CATEGORICAL_SET = frozenset(CATEGORICAL_FEATURES)


def _div(num: str, den: str) -> str:
    return f"(({num}) / NULLIF(({den}), 0))"


_E = ["a.EXT_SOURCE_1", "a.EXT_SOURCE_2", "a.EXT_SOURCE_3"]
_E_LIST = f"[{', '.join(_E)}]"
_E_N = " + ".join(f"({e} IS NOT NULL)::INT" for e in _E)
_EMPLOYED = f"NULLIF(a.DAYS_EMPLOYED, {NO_DATE_DAYS})"
_DOCS = " + ".join(f"coalesce(a.FLAG_DOCUMENT_{i}, 0)" for i in range(2, 22))
_REGION_FLAGS = " + ".join(f"coalesce(a.{c}, 0)" for c in APP_NUMERIC_RAW if c.startswith(("REG_", "LIVE_")))
_BUREAU_REQ = " + ".join(f"coalesce(a.{c}, 0)" for c in APP_NUMERIC_RAW if c.startswith("AMT_REQ_"))
_BUILDING_ALL = [c for c in _APP_SCHEMA if c.endswith(("_AVG", "_MODE", "_MEDI")) and _APP_SCHEMA[c] == "float"]

APP_ENGINEERED = [
    ("AGE_YEARS", "-a.DAYS_BIRTH / 365.25"),
    ("EMPLOYED_YEARS", f"-{_EMPLOYED} / 365.25"),
    ("NOT_EMPLOYED_FLAG", f"(a.DAYS_EMPLOYED = {NO_DATE_DAYS})::INT"),
    ("EMPLOYED_TO_AGE", _div(_EMPLOYED, "a.DAYS_BIRTH")),
    ("REGISTRATION_YEARS", "-a.DAYS_REGISTRATION / 365.25"),
    ("ID_PUBLISH_YEARS", "-a.DAYS_ID_PUBLISH / 365.25"),
    ("PHONE_CHANGE_YEARS", "-a.DAYS_LAST_PHONE_CHANGE / 365.25"),
    ("CAR_AGE_TO_AGE", _div("a.OWN_CAR_AGE", "-a.DAYS_BIRTH / 365.25")),
    ("CREDIT_TO_ANNUITY", _div("a.AMT_CREDIT", "a.AMT_ANNUITY")),
    ("PAYMENT_RATE", _div("a.AMT_ANNUITY", "a.AMT_CREDIT")),
    ("ANNUITY_TO_INCOME", _div("a.AMT_ANNUITY", "a.AMT_INCOME_TOTAL")),
    ("CREDIT_TO_INCOME", _div("a.AMT_CREDIT", "a.AMT_INCOME_TOTAL")),
    ("CREDIT_TO_GOODS", _div("a.AMT_CREDIT", "a.AMT_GOODS_PRICE")),
    ("CREDIT_MINUS_GOODS", "a.AMT_CREDIT - a.AMT_GOODS_PRICE"),
    ("INCOME_PER_PERSON", _div("a.AMT_INCOME_TOTAL", "a.CNT_FAM_MEMBERS")),
    ("INCOME_AFTER_ANNUITY_PER_PERSON", _div("a.AMT_INCOME_TOTAL - a.AMT_ANNUITY", "a.CNT_FAM_MEMBERS")),
    ("CHILDREN_SHARE", _div("a.CNT_CHILDREN", "a.CNT_FAM_MEMBERS")),
    ("EXT_SOURCE_MEAN", f"list_avg({_E_LIST})"),
    ("EXT_SOURCE_MIN", f"list_min({_E_LIST})"),
    ("EXT_SOURCE_MAX", f"list_max({_E_LIST})"),
    ("EXT_SOURCE_STD", f"list_stddev_pop({_E_LIST})"),
    ("EXT_SOURCE_PRODUCT", " * ".join(_E)),
    (
        "EXT_SOURCE_WEIGHTED",
        _div(
            " + ".join(f"{w} * coalesce({e}, 0)" for w, e in zip((2, 3, 4), _E, strict=True)),
            " + ".join(f"{w} * ({e} IS NOT NULL)::INT" for w, e in zip((2, 3, 4), _E, strict=True)),
        ),
    ),
    ("EXT_SOURCE_COUNT", _E_N),
    ("EXT_SOURCE_2_TO_AGE", _div("a.EXT_SOURCE_2", "-a.DAYS_BIRTH / 365.25")),
    ("DOCUMENT_COUNT", _DOCS),
    ("REGION_MISMATCH_COUNT", _REGION_FLAGS),
    ("BUREAU_ENQUIRIES_TOTAL", _BUREAU_REQ),
    ("SOCIAL_DEFAULT_SHARE_30", _div("a.DEF_30_CNT_SOCIAL_CIRCLE", "a.OBS_30_CNT_SOCIAL_CIRCLE")),
    ("BUILDING_INFO_COUNT", " + ".join(f"(a.{c} IS NOT NULL)::INT" for c in _BUILDING_ALL)),
]

# --- history tables: (feature, aggregate SQL, 0 when the client has no rows) -------------------------------
_DPD = "('1','2','3','4','5')"
_BUCKET = f"CASE WHEN STATUS IN {_DPD} THEN CAST(STATUS AS INT) ELSE 0 END"
_BB_PER_CREDIT = f"""
SELECT SK_ID_BUREAU,
  count(*) AS bb_months,
  count(*) FILTER (WHERE STATUS IN {_DPD}) AS bb_dpd,
  count(*) FILTER (WHERE STATUS = '1') AS bb_dpd1,
  count(*) FILTER (WHERE STATUS IN ('2','3','4')) AS bb_dpd2_4,
  count(*) FILTER (WHERE STATUS = '5') AS bb_dpd5,
  max({_BUCKET}) AS bb_max_bucket,
  count(*) FILTER (WHERE STATUS IN {_DPD} AND MONTHS_BALANCE >= -12) AS bb_dpd_12m,
  count(*) FILTER (WHERE STATUS IN {_DPD} AND MONTHS_BALANCE >= -24) AS bb_dpd_24m,
  count(*) FILTER (WHERE MONTHS_BALANCE >= -12) AS bb_months_12m,
  max({_BUCKET}) FILTER (WHERE MONTHS_BALANCE >= -12) AS bb_max_bucket_12m,
  count(*) FILTER (WHERE STATUS IN ('4', '5') AND MONTHS_BALANCE >= -12) AS bb_dpd90_12m
FROM bureau_balance GROUP BY SK_ID_BUREAU"""
_ACTIVE = "CREDIT_ACTIVE = 'Active'"
_CLOSED = "CREDIT_ACTIVE = 'Closed'"
BUREAU = [
    ("BUREAU_COUNT", "count(*)", True),
    ("BUREAU_ACTIVE_COUNT", f"count(*) FILTER (WHERE {_ACTIVE})", True),
    ("BUREAU_CLOSED_COUNT", f"count(*) FILTER (WHERE {_CLOSED})", True),
    ("BUREAU_BAD_DEBT_COUNT", "count(*) FILTER (WHERE CREDIT_ACTIVE IN ('Bad debt', 'Sold'))", True),
    ("BUREAU_ACTIVE_SHARE", f"avg(({_ACTIVE})::INT)", False),
    ("BUREAU_CREDIT_COUNT_365D", "count(*) FILTER (WHERE DAYS_CREDIT >= -365)", True),
    ("BUREAU_CREDIT_COUNT_730D", "count(*) FILTER (WHERE DAYS_CREDIT >= -730)", True),
    ("BUREAU_CONSUMER_COUNT", "count(*) FILTER (WHERE CREDIT_TYPE = 'Consumer credit')", True),
    ("BUREAU_CARD_COUNT", "count(*) FILTER (WHERE CREDIT_TYPE = 'Credit card')", True),
    ("BUREAU_CAR_LOAN_COUNT", "count(*) FILTER (WHERE CREDIT_TYPE = 'Car loan')", True),
    ("BUREAU_MORTGAGE_COUNT", "count(*) FILTER (WHERE CREDIT_TYPE = 'Mortgage')", True),
    ("BUREAU_MICROLOAN_COUNT", "count(*) FILTER (WHERE CREDIT_TYPE = 'Microloan')", True),
    ("BUREAU_CREDIT_SUM_TOTAL", "sum(AMT_CREDIT_SUM)", False),
    ("BUREAU_CREDIT_SUM_MEAN", "avg(AMT_CREDIT_SUM)", False),
    ("BUREAU_CREDIT_SUM_MAX", "max(AMT_CREDIT_SUM)", False),
    ("BUREAU_ACTIVE_CREDIT_SUM", f"sum(AMT_CREDIT_SUM) FILTER (WHERE {_ACTIVE})", False),
    ("BUREAU_CLOSED_CREDIT_SUM", f"sum(AMT_CREDIT_SUM) FILTER (WHERE {_CLOSED})", False),
    ("BUREAU_CREDIT_SUM_365D", "sum(AMT_CREDIT_SUM) FILTER (WHERE DAYS_CREDIT >= -365)", False),
    ("BUREAU_DEBT_TOTAL", "sum(AMT_CREDIT_SUM_DEBT)", False),
    ("BUREAU_ACTIVE_DEBT", f"sum(AMT_CREDIT_SUM_DEBT) FILTER (WHERE {_ACTIVE})", False),
    (
        "BUREAU_ACTIVE_DEBT_TO_CREDIT",
        _div(f"sum(AMT_CREDIT_SUM_DEBT) FILTER (WHERE {_ACTIVE})", f"sum(AMT_CREDIT_SUM) FILTER (WHERE {_ACTIVE})"),
        False,
    ),
    ("BUREAU_ACTIVE_LIMIT", f"sum(AMT_CREDIT_SUM_LIMIT) FILTER (WHERE {_ACTIVE})", False),
    ("BUREAU_ACTIVE_ANNUITY", f"sum(AMT_ANNUITY) FILTER (WHERE {_ACTIVE})", False),
    ("BUREAU_OVERDUE_AMOUNT", "sum(AMT_CREDIT_SUM_OVERDUE)", False),
    ("BUREAU_MAX_OVERDUE_AMOUNT", "max(AMT_CREDIT_MAX_OVERDUE)", False),
    ("BUREAU_OVERDUE_COUNT", "count(*) FILTER (WHERE CREDIT_DAY_OVERDUE > 0)", True),
    ("BUREAU_DAYS_OVERDUE_MAX", "max(CREDIT_DAY_OVERDUE)", False),
    ("BUREAU_PROLONGATIONS", "sum(CNT_CREDIT_PROLONG)", True),
    ("BUREAU_DAYS_SINCE_LAST_CREDIT", "-max(DAYS_CREDIT)", False),
    ("BUREAU_DAYS_SINCE_FIRST_CREDIT", "-min(DAYS_CREDIT)", False),
    ("BUREAU_DAYS_SINCE_LAST_CLOSED", "-max(DAYS_ENDDATE_FACT)", False),
    ("BUREAU_DAYS_SINCE_LAST_UPDATE", "-max(DAYS_CREDIT_UPDATE)", False),
    ("BUREAU_ACTIVE_DAYS_TO_END_MAX", f"max(DAYS_CREDIT_ENDDATE) FILTER (WHERE {_ACTIVE})", False),
    ("BUREAU_CREDIT_DURATION_MEAN", "avg(DAYS_CREDIT_ENDDATE - DAYS_CREDIT)", False),
    ("BUREAU_EARLY_CLOSURE_DAYS_MEAN", f"avg(DAYS_CREDIT_ENDDATE - DAYS_ENDDATE_FACT) FILTER (WHERE {_CLOSED})", False),
    ("BUREAU_BALANCE_MONTHS", "sum(bb_months)", True),
    ("BUREAU_DPD_MONTHS", "sum(bb_dpd)", True),
    ("BUREAU_DPD_1_30_MONTHS", "sum(bb_dpd1)", True),
    ("BUREAU_DPD_31_120_MONTHS", "sum(bb_dpd2_4)", True),
    ("BUREAU_DPD_120_PLUS_MONTHS", "sum(bb_dpd5)", True),
    ("BUREAU_DPD_MONTH_SHARE", _div("sum(bb_dpd)", "sum(bb_months)"), False),
    ("BUREAU_DPD_MAX_BUCKET", "max(bb_max_bucket)", False),
    ("BUREAU_DPD_CREDIT_COUNT", "count(*) FILTER (WHERE bb_dpd > 0)", True),
    ("BUREAU_DPD_MONTHS_12M", "sum(bb_dpd_12m)", True),
    ("BUREAU_DPD_MONTHS_24M", "sum(bb_dpd_24m)", True),
    ("BUREAU_DPD_MONTH_SHARE_12M", _div("sum(bb_dpd_12m)", "sum(bb_months_12m)"), False),
    ("BUREAU_DPD_MAX_BUCKET_12M", "max(bb_max_bucket_12m)", False),
]

_APPROVED, _REFUSED = "NAME_CONTRACT_STATUS = 'Approved'", "NAME_CONTRACT_STATUS = 'Refused'"
_ONGOING = f"{_APPROVED} AND DAYS_LAST_DUE = {NO_DATE_DAYS}"  # 365243 marks a date still in the future
PREVIOUS = [
    ("PREV_COUNT", "count(*)", True),
    ("PREV_APPROVED_COUNT", f"count(*) FILTER (WHERE {_APPROVED})", True),
    ("PREV_REFUSED_COUNT", f"count(*) FILTER (WHERE {_REFUSED})", True),
    ("PREV_CANCELED_COUNT", "count(*) FILTER (WHERE NAME_CONTRACT_STATUS = 'Canceled')", True),
    ("PREV_UNUSED_OFFER_COUNT", "count(*) FILTER (WHERE NAME_CONTRACT_STATUS = 'Unused offer')", True),
    ("PREV_REFUSAL_RATE", f"avg(({_REFUSED})::INT)", False),
    ("PREV_APPROVAL_RATE", f"avg(({_APPROVED})::INT)", False),
    ("PREV_COUNT_365D", "count(*) FILTER (WHERE DAYS_DECISION >= -365)", True),
    ("PREV_REFUSED_COUNT_365D", f"count(*) FILTER (WHERE {_REFUSED} AND DAYS_DECISION >= -365)", True),
    ("PREV_REFUSED_COUNT_730D", f"count(*) FILTER (WHERE {_REFUSED} AND DAYS_DECISION >= -730)", True),
    ("PREV_REFUSAL_RATE_730D", f"avg(({_REFUSED})::INT) FILTER (WHERE DAYS_DECISION >= -730)", False),
    ("PREV_CASH_COUNT", "count(*) FILTER (WHERE NAME_CONTRACT_TYPE = 'Cash loans')", True),
    ("PREV_CONSUMER_COUNT", "count(*) FILTER (WHERE NAME_CONTRACT_TYPE = 'Consumer loans')", True),
    ("PREV_REVOLVING_COUNT", "count(*) FILTER (WHERE NAME_CONTRACT_TYPE = 'Revolving loans')", True),
    ("PREV_HIGH_YIELD_COUNT", "count(*) FILTER (WHERE NAME_YIELD_GROUP = 'high')", True),
    ("PREV_ONGOING_COUNT", f"count(*) FILTER (WHERE {_ONGOING})", True),
    ("PREV_ONGOING_ANNUITY", f"sum(AMT_ANNUITY) FILTER (WHERE {_ONGOING})", False),
    ("PREV_APPROVED_CREDIT_SUM", f"sum(AMT_CREDIT) FILTER (WHERE {_APPROVED})", False),
    ("PREV_APPROVED_CREDIT_MEAN", f"avg(AMT_CREDIT) FILTER (WHERE {_APPROVED})", False),
    ("PREV_APPROVED_CREDIT_MAX", f"max(AMT_CREDIT) FILTER (WHERE {_APPROVED})", False),
    ("PREV_APPROVED_ANNUITY_MEAN", f"avg(AMT_ANNUITY) FILTER (WHERE {_APPROVED})", False),
    ("PREV_REFUSED_APPLICATION_MEAN", f"avg(AMT_APPLICATION) FILTER (WHERE {_REFUSED})", False),
    ("PREV_APPLICATION_TO_CREDIT_MEAN", f"avg({_div('AMT_APPLICATION', 'AMT_CREDIT')})", False),
    ("PREV_APPLICATION_TO_CREDIT_MIN", f"min({_div('AMT_APPLICATION', 'AMT_CREDIT')})", False),
    ("PREV_CREDIT_TO_GOODS_MEAN", f"avg({_div('AMT_CREDIT', 'AMT_GOODS_PRICE')})", False),
    ("PREV_DOWN_PAYMENT_RATE_MEAN", "avg(RATE_DOWN_PAYMENT)", False),
    ("PREV_TERM_MEAN", "avg(CNT_PAYMENT)", False),
    ("PREV_SIMPLE_INTEREST_MEAN", f"avg({_div('AMT_ANNUITY * CNT_PAYMENT', 'AMT_CREDIT')} - 1)", False),
    ("PREV_DAYS_SINCE_LAST_DECISION", "-max(DAYS_DECISION)", False),
    ("PREV_DAYS_SINCE_FIRST_DECISION", "-min(DAYS_DECISION)", False),
    ("PREV_DAYS_SINCE_LAST_APPROVAL", f"-max(DAYS_DECISION) FILTER (WHERE {_APPROVED})", False),
    ("PREV_DAYS_SINCE_LAST_REFUSAL", f"-max(DAYS_DECISION) FILTER (WHERE {_REFUSED})", False),
    ("PREV_LAST_STATUS", "arg_max(NAME_CONTRACT_STATUS, DAYS_DECISION * 100000000 + SK_ID_PREV)", False),
]

# One row per payment: late / early days, shortfall (instalments may be paid in several parts).
_INST_ROWS = """
SELECT SK_ID_CURR, SK_ID_PREV, DAYS_INSTALMENT, DAYS_ENTRY_PAYMENT, AMT_INSTALMENT, AMT_PAYMENT,
  greatest(DAYS_ENTRY_PAYMENT - DAYS_INSTALMENT, 0) AS late_days,
  greatest(DAYS_INSTALMENT - DAYS_ENTRY_PAYMENT, 0) AS early_days,
  greatest(AMT_INSTALMENT - AMT_PAYMENT, 0) AS shortfall,
  AMT_PAYMENT / NULLIF(AMT_INSTALMENT, 0) AS pay_ratio,
  DAYS_INSTALMENT >= -365 AS y1, DAYS_INSTALMENT >= -730 AS y2
FROM installments_payments"""
INSTALMENTS = [
    ("INST_COUNT", "count(*)", True),
    ("INST_CONTRACT_COUNT", "count(DISTINCT SK_ID_PREV)", True),
    ("INST_LATE_COUNT", "count(*) FILTER (WHERE late_days > 0)", True),
    ("INST_LATE_SHARE", "avg((late_days > 0)::INT)", False),
    ("INST_LATE_30_COUNT", "count(*) FILTER (WHERE late_days > 30)", True),
    ("INST_LATE_DAYS_MEAN", "avg(late_days)", False),
    ("INST_LATE_DAYS_MAX", "max(late_days)", False),
    ("INST_LATE_DAYS_SUM", "sum(late_days)", False),
    ("INST_EARLY_DAYS_MEAN", "avg(early_days)", False),
    ("INST_UNDERPAID_COUNT", "count(*) FILTER (WHERE shortfall > 0)", True),
    ("INST_UNDERPAID_SHARE", "avg((shortfall > 0)::INT)", False),
    ("INST_SHORTFALL_SUM", "sum(shortfall)", False),
    ("INST_PAYMENT_RATIO_MEAN", "avg(pay_ratio)", False),
    ("INST_PAYMENT_RATIO_MIN", "min(pay_ratio)", False),
    ("INST_AMT_INSTALMENT_MEAN", "avg(AMT_INSTALMENT)", False),
    ("INST_AMT_PAYMENT_SUM", "sum(AMT_PAYMENT)", False),
    ("INST_UNPAID_COUNT", "count(*) FILTER (WHERE DAYS_ENTRY_PAYMENT IS NULL)", True),
    ("INST_DAYS_SINCE_LAST_PAYMENT", "-max(DAYS_ENTRY_PAYMENT)", False),
    ("INST_COUNT_365D", "count(*) FILTER (WHERE y1)", True),
    ("INST_LATE_COUNT_365D", "count(*) FILTER (WHERE y1 AND late_days > 0)", True),
    ("INST_LATE_SHARE_365D", "avg((late_days > 0)::INT) FILTER (WHERE y1)", False),
    ("INST_LATE_DAYS_MEAN_365D", "avg(late_days) FILTER (WHERE y1)", False),
    ("INST_LATE_DAYS_MAX_365D", "max(late_days) FILTER (WHERE y1)", False),
    ("INST_UNDERPAID_SHARE_365D", "avg((shortfall > 0)::INT) FILTER (WHERE y1)", False),
    ("INST_PAYMENT_RATIO_MEAN_365D", "avg(pay_ratio) FILTER (WHERE y1)", False),
    ("INST_LATE_SHARE_730D", "avg((late_days > 0)::INT) FILTER (WHERE y2)", False),
    ("INST_LATE_DAYS_MEAN_730D", "avg(late_days) FILTER (WHERE y2)", False),
    ("INST_LATE_SHARE_TREND", "avg((late_days > 0)::INT) FILTER (WHERE y1) - avg((late_days > 0)::INT)", False),
]

# Latest month of each POS contract: instalments still to pay and its status.
_POS_LAST = """
SELECT SK_ID_CURR, SK_ID_PREV,
  arg_max(CNT_INSTALMENT_FUTURE, MONTHS_BALANCE * 10000 + coalesce(CNT_INSTALMENT_FUTURE, 0)) AS future_left,
  max(NAME_CONTRACT_STATUS = 'Completed'::VARCHAR)::INT AS completed
FROM POS_CASH_balance GROUP BY SK_ID_CURR, SK_ID_PREV"""
POS = [
    ("POS_MONTHS", "count(*)", True),
    ("POS_CONTRACT_COUNT", "count(DISTINCT SK_ID_PREV)", True),
    ("POS_DPD_MAX", "max(SK_DPD)", False),
    ("POS_DPD_MEAN", "avg(SK_DPD)", False),
    ("POS_DPD_MONTHS", "count(*) FILTER (WHERE SK_DPD > 0)", True),
    ("POS_DPD_DEF_MAX", "max(SK_DPD_DEF)", False),
    ("POS_DPD_DEF_MONTHS", "count(*) FILTER (WHERE SK_DPD_DEF > 0)", True),
    ("POS_DPD_MONTH_SHARE", "avg((SK_DPD > 0)::INT)", False),
    ("POS_INSTALMENTS_MEAN", "avg(CNT_INSTALMENT)", False),
    ("POS_MONTHS_SINCE_LAST", "-max(MONTHS_BALANCE)", False),
    ("POS_MONTHS_12M", "count(*) FILTER (WHERE MONTHS_BALANCE >= -12)", True),
    ("POS_DPD_MONTHS_12M", "count(*) FILTER (WHERE MONTHS_BALANCE >= -12 AND SK_DPD > 0)", True),
    ("POS_DPD_MAX_12M", "max(SK_DPD) FILTER (WHERE MONTHS_BALANCE >= -12)", False),
    ("POS_DPD_MONTHS_24M", "count(*) FILTER (WHERE MONTHS_BALANCE >= -24 AND SK_DPD > 0)", True),
]
POS_CONTRACTS = [
    ("POS_COMPLETED_COUNT", "sum(completed)", True),
    ("POS_INSTALMENTS_LEFT", "sum(future_left)", False),
]

_CC_UTIL = "AMT_BALANCE / NULLIF(AMT_CREDIT_LIMIT_ACTUAL, 0)"
_M12 = "MONTHS_BALANCE >= -12"
CARDS = [
    ("CC_MONTHS", "count(*)", True),
    ("CC_CARD_COUNT", "count(DISTINCT SK_ID_PREV)", True),
    ("CC_BALANCE_MEAN", "avg(AMT_BALANCE)", False),
    ("CC_BALANCE_MAX", "max(AMT_BALANCE)", False),
    ("CC_LIMIT_MEAN", "avg(AMT_CREDIT_LIMIT_ACTUAL)", False),
    ("CC_LIMIT_MAX", "max(AMT_CREDIT_LIMIT_ACTUAL)", False),
    ("CC_UTILISATION_MEAN", f"avg({_CC_UTIL})", False),
    ("CC_UTILISATION_MAX", f"max({_CC_UTIL})", False),
    ("CC_UTILISATION_12M", f"avg({_CC_UTIL}) FILTER (WHERE {_M12})", False),
    ("CC_UTILISATION_3M", f"avg({_CC_UTIL}) FILTER (WHERE MONTHS_BALANCE >= -3)", False),
    ("CC_DRAWINGS_MEAN", "avg(AMT_DRAWINGS_CURRENT)", False),
    ("CC_DRAWINGS_ATM_MEAN", "avg(AMT_DRAWINGS_ATM_CURRENT)", False),
    ("CC_DRAWINGS_COUNT_MEAN", "avg(CNT_DRAWINGS_CURRENT)", False),
    ("CC_DRAWINGS_MEAN_12M", f"avg(AMT_DRAWINGS_CURRENT) FILTER (WHERE {_M12})", False),
    ("CC_PAYMENT_MEAN", "avg(AMT_PAYMENT_TOTAL_CURRENT)", False),
    ("CC_PAYMENT_TO_MINIMUM_MEAN", f"avg({_div('AMT_PAYMENT_CURRENT', 'AMT_INST_MIN_REGULARITY')})", False),
    ("CC_BELOW_MINIMUM_MONTHS", "count(*) FILTER (WHERE AMT_PAYMENT_CURRENT < AMT_INST_MIN_REGULARITY)", True),
    ("CC_RECEIVABLE_MEAN", "avg(AMT_TOTAL_RECEIVABLE)", False),
    ("CC_DPD_MAX", "max(SK_DPD)", False),
    ("CC_DPD_MONTHS", "count(*) FILTER (WHERE SK_DPD > 0)", True),
    ("CC_DPD_DEF_MAX", "max(SK_DPD_DEF)", False),
    ("CC_DPD_MONTHS_12M", f"count(*) FILTER (WHERE {_M12} AND SK_DPD > 0)", True),
    ("CC_BALANCE_MEAN_12M", f"avg(AMT_BALANCE) FILTER (WHERE {_M12})", False),
    ("CC_MONTHS_SINCE_LAST", "-max(MONTHS_BALANCE)", False),
]

# Cross-table ratios, computed in _assemble from the aggregates (pandas, the same for batch and one applicant).
CROSS = [
    "BUREAU_ACTIVE_DEBT_TO_INCOME",
    "BUREAU_ACTIVE_DEBT_TO_CREDIT_APPLIED",
    "TOTAL_ANNUITY_TO_INCOME",
    "CREDIT_TO_PREV_APPROVED_MEAN",
]

# --- policy inputs: read by the lender's rules (scoring.decision), never by the model ---------------------------
# Kaggle's enquiry periods are disjoint (each excludes the shorter ones): the last 3 months are HOUR + DAY + WEEK +
# MON + QRT; YEAR covers months 4 to 12. No enquiry column at all (no bureau file): NULL, not 0.
_ENQUIRIES_3M = ", ".join(f"a.AMT_REQ_CREDIT_BUREAU_{p}" for p in ("HOUR", "DAY", "WEEK", "MON", "QRT"))
POLICY_APPLICATION = [
    ("BUREAU_ENQUIRIES_3M", f"list_sum([{_ENQUIRIES_3M}])"),
    ("INCOME_MISSING_OR_ZERO", "(a.AMT_INCOME_TOTAL IS NULL OR a.AMT_INCOME_TOTAL <= 0)::INT"),
]
POLICY_BUREAU = [
    ("BUREAU_DPD90_CREDITS_12M", "count(*) FILTER (WHERE bb_dpd90_12m > 0)", True),  # STATUS 4 or 5 in 12 months
]
_DAYS_3M, _DAYS_6M = 91, 183
POLICY_PREVIOUS = [
    ("PREV_REFUSED_COUNT_3M", f"count(*) FILTER (WHERE {_REFUSED} AND DAYS_DECISION >= -{_DAYS_3M})", True),
]
# One row per instalment due in the last 6 months (an instalment may be paid in several parts): the day of its
# last payment, what was paid in all, and whether a part is still unpaid (DAYS_ENTRY_PAYMENT NULL).
_INSTALMENTS_DUE_6M = f"""
SELECT SK_ID_CURR, max(DAYS_INSTALMENT) AS due_day, max(AMT_INSTALMENT) AS due, sum(AMT_PAYMENT) AS paid,
  max(DAYS_ENTRY_PAYMENT) AS last_paid_day, bool_or(DAYS_ENTRY_PAYMENT IS NULL) AS unpaid
FROM installments_payments WHERE DAYS_INSTALMENT >= -{_DAYS_6M}
GROUP BY SK_ID_CURR, SK_ID_PREV, NUM_INSTALMENT_VERSION, NUM_INSTALMENT_NUMBER"""
POLICY_ARREARS = [
    # days between due day and last payment; a part still unpaid counts the days since it fell due
    (
        "ARREARS_DAYS_LATE_MAX_6M",
        "max(CASE WHEN unpaid THEN -due_day ELSE greatest(last_paid_day - due_day, 0) END)",
        True,
    ),
    # paid in all less than due, beyond a cent of rounding in the recorded amounts
    ("ARREARS_SHORT_INSTALMENTS_6M", "count(*) FILTER (WHERE coalesce(paid, 0) < due - 0.01)", True),
]
# Computed in _assemble from the aggregates: annuities of active bureau credits and of ongoing loans with us.
POLICY_CROSS = ["EXISTING_DEBT_SERVICE"]

_AGGREGATES = [  # (alias, source SQL, model features, policy inputs)
    ("b", f"SELECT * FROM bureau LEFT JOIN ({_BB_PER_CREDIT}) USING (SK_ID_BUREAU)", BUREAU, POLICY_BUREAU),
    ("p", "SELECT * FROM previous_application", PREVIOUS, POLICY_PREVIOUS),
    ("i", _INST_ROWS, INSTALMENTS, []),
    ("ia", _INSTALMENTS_DUE_6M, [], POLICY_ARREARS),
    ("s", "SELECT * FROM POS_CASH_balance", POS, []),
    ("sc", _POS_LAST, POS_CONTRACTS, []),
    ("c", "SELECT * FROM credit_card_balance", CARDS, []),
]
_BY_ALIAS = {alias: (source, feats + policy) for alias, source, feats, policy in _AGGREGATES}
HISTORY_FREE_POLICY_INPUTS = [n for n, _ in POLICY_APPLICATION]
POLICY_INPUTS = HISTORY_FREE_POLICY_INPUTS + [n for *_, policy in _AGGREGATES for n, _, _ in policy] + POLICY_CROSS


def _application_sql(source: str = "applications") -> str:
    """Application features; `source` is the applications table, or one applicant's row given as parameters."""
    cols = [f'a."{c}"' for c in _APP_CATEGORICAL]
    cols += [f'CAST(a."{c}" AS DOUBLE) AS "{c}"' for c in APP_NUMERIC_RAW]
    cols += [f'CAST({expr} AS DOUBLE) AS "{name}"' for name, expr in APP_ENGINEERED + POLICY_APPLICATION]
    return f"SELECT a.SK_ID_CURR, {', '.join(cols)} FROM {source} a"


def _unpacked_row(schema: dict[str, str], source: str) -> str:
    """One staged row (`source`: numbers in a DOUBLE[] `nums`, text in a VARCHAR[] `texts`) as typed columns.

    The values arrive as two bound list parameters, never as SQL text; statements reading them stay prepared.
    """
    cols, positions = [], {"nums": 0, "texts": 0}
    for c, kind in schema.items():
        part = "texts" if kind == "str" else "nums"
        positions[part] += 1
        cols.append(f'CAST(r.{part}[{positions[part]}] AS {_SQL_TYPES[kind]}) AS "{c}"')
    return f"(SELECT {', '.join(cols)} FROM {source} r)"


def _aggregate_sql(alias: str) -> str:
    source, feats = _BY_ALIAS[alias]
    aggs = ", ".join(f'{expr} AS "{name}"' for name, expr, _ in feats)
    return f"SELECT SK_ID_CURR, {aggs} FROM ({source}) GROUP BY SK_ID_CURR"


APPLICATION_SQL = _application_sql()
AGGREGATE_SQL = {alias: _aggregate_sql(alias) for alias, *_ in _AGGREGATES}


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out[den == 0] = np.nan
    return out


def _assemble(app: tuple, parts: dict[str, tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Application features plus every table's aggregates (no rows: NULL, or 0 for counts), then cross ratios;
    the model features and the policy inputs as two frames on the same index.

    Each input is (client ids, {column: numpy array}); the same code serves the batch and one applicant.
    """
    ids, app_cols = app
    index = pd.Index(ids, name="SK_ID_CURR")
    n, cols = len(index), dict(app_cols)
    for alias, _, feats, policy in _AGGREGATES:
        part_ids, part_cols = parts.get(alias, (np.empty(0, dtype="int64"), {}))
        pos = index.get_indexer(part_ids) if len(part_ids) else np.empty(0, dtype="int64")
        found = pos >= 0
        for name, _, zero in feats + policy:
            if name in _CATEGORICAL_SET:
                values = np.full(n, np.nan, dtype=object)
            else:
                values = np.full(n, 0.0 if zero else np.nan)
            if len(pos):
                values[pos[found]] = part_cols[name][found]
                if zero:
                    values[np.isnan(values)] = 0.0
            cols[name] = values
    _cross(cols)
    cols["EXISTING_DEBT_SERVICE"] = _filled(cols, "BUREAU_ACTIVE_ANNUITY") + _filled(cols, "PREV_ONGOING_ANNUITY")
    for col in CATEGORICAL_FEATURES:
        values = cols[col].astype(object)
        values[pd.isna(values)] = np.nan
        cols[col] = values
    features = pd.DataFrame({name: cols[name] for name in _FEATURE_NAMES}, index=index)
    return features, pd.DataFrame({name: cols[name] for name in POLICY_INPUTS}, index=index)


def _filled(cols: dict, name: str) -> np.ndarray:
    """An aggregate as floats, missing (no such rows) read as 0."""
    return np.nan_to_num(np.asarray(cols[name], dtype=float), nan=0.0)


def _cross(cols: dict) -> None:
    """Cross-table ratios from application values and history aggregates (numpy arrays), in place."""
    debt = _filled(cols, "BUREAU_ACTIVE_DEBT")
    income, credit = np.asarray(cols["AMT_INCOME_TOTAL"], dtype=float), np.asarray(cols["AMT_CREDIT"], dtype=float)
    cols["BUREAU_ACTIVE_DEBT_TO_INCOME"] = _ratio(debt, income)
    cols["BUREAU_ACTIVE_DEBT_TO_CREDIT_APPLIED"] = _ratio(debt, credit)
    annuities = (
        np.asarray(cols["AMT_ANNUITY"], dtype=float)
        + _filled(cols, "BUREAU_ACTIVE_ANNUITY")
        + _filled(cols, "PREV_ONGOING_ANNUITY")
    )
    cols["TOTAL_ANNUITY_TO_INCOME"] = _ratio(annuities, income)
    cols["CREDIT_TO_PREV_APPROVED_MEAN"] = _ratio(credit, np.asarray(cols["PREV_APPROVED_CREDIT_MEAN"], dtype=float))


def application_feature_names() -> list[str]:
    """Features computed from the application row alone."""
    return list(_APP_CATEGORICAL) + APP_NUMERIC_RAW + [n for n, _ in APP_ENGINEERED]


def features_with_new_application(application: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """A what-if: clients' features after their application changed but not their history.

    Application features come from the same SQL as always, history aggregates from `stored` (indexed by
    SK_ID_CURR like `application`), and the cross-table ratios are recomputed from both.
    """
    fresh = features_from_records(application)
    out = stored.reindex(fresh.index).copy()
    app_cols = application_feature_names()
    out[app_cols] = fresh[app_cols]
    cols = {c: out[c].to_numpy() for c in out.columns}
    _cross(cols)
    for name in CROSS:
        out[name] = cols[name]
    return out


def feature_names() -> list[str]:
    """Feature columns in output order (the order of the final SELECT)."""
    return list(_FEATURE_NAMES)


_FEATURE_NAMES = application_feature_names() + [n for _, _, feats, _ in _AGGREGATES for n, _, _ in feats] + CROSS


def batch_connection(**extra) -> duckdb.DuckDBPyConnection:
    """DuckDB for whole-portfolio work (feature and store builds): SCORING_FEATURES_THREADS and _MEMORY."""
    s = settings()
    return duckdb.connect(config={"threads": s.features_threads, "memory_limit": s.features_memory, **extra})


def build_features(data_dir) -> pd.DataFrame:
    """Features of every train and test client (one row each, history or not) from the raw tables."""
    return build_features_and_policy_inputs(data_dir)[0]


def build_features_and_policy_inputs(data_dir) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Model features and policy inputs of every train and test client, from one pass of the same SQL."""
    con = batch_connection(preserve_insertion_order=False)
    try:
        with tempfile.TemporaryDirectory(prefix="features-") as spill:
            con.execute(f"SET temp_directory = '{spill}'")
            duckdb_views(con, data_dir)
            app = _arrays(con.execute(APPLICATION_SQL).df(), sort=True)
            parts = {alias: _arrays(con.execute(sql).df()) for alias, sql in AGGREGATE_SQL.items()}
    finally:
        con.close()
    return _assemble(app, parts)


def _arrays(df: pd.DataFrame, sort: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A query result as (client ids, {column: float64 or object array}), optionally in client-id order."""
    ids = df["SK_ID_CURR"].to_numpy(dtype="int64")
    order = np.argsort(ids, kind="stable") if sort else slice(None)
    cols = {}
    for name in df.columns.drop("SK_ID_CURR"):
        if name in _CATEGORICAL_SET:
            cols[name] = df[name].to_numpy(dtype=object)[order]
        else:
            cols[name] = df[name].to_numpy(dtype="float64", na_value=np.nan)[order]
    return ids[order], cols


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A small result as arrays (much cheaper than .df() for a few wide rows)."""
    return _fetch_result(con.execute(sql))


def _fetch_result(result) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    names, rows = [d[0] for d in result.description], result.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    cols = {
        name: np.array(values, dtype=object if name in _CATEGORICAL_SET else "float64")
        for name, values in zip(names[1:], columns[1:], strict=True)
    }
    return np.array(columns[0], dtype="int64"), cols


def load_target(data_dir) -> pd.Series:
    """TARGET (0 repaid, 1 defaulted) of the training clients, indexed by SK_ID_CURR."""
    df = read_table(data_dir, "application_train", ["SK_ID_CURR", "TARGET"])
    return df.set_index("SK_ID_CURR")["TARGET"].astype("int64")


# --- single applicant: the same SQL on a small in-memory connection, one per thread -------------------------
_local = threading.local()
_INPUT_TABLES = {"applications": _APP_SCHEMA, **{t: SCHEMAS[t] for t in _HISTORY_TABLES}}
_SOURCES = {
    "b": ("bureau",),
    "p": ("previous_application",),
    "i": ("installments_payments",),
    "ia": ("installments_payments",),
    "s": ("POS_CASH_balance",),
    "sc": ("POS_CASH_balance",),
    "c": ("credit_card_balance",),
}


def _connection() -> duckdb.DuckDBPyConnection:
    con = getattr(_local, "con", None)
    if con is None or getattr(_local, "pid", None) != os.getpid():  # never reuse a connection across fork
        # Small flush thresholds hand freed memory back at once: without them a long-lived API worker's RSS
        # creeps up by hundreds of MB over a few thousand calls.
        con = duckdb.connect(
            config={
                "threads": 1,
                "memory_limit": "2GB",
                "allocator_flush_threshold": "1MB",
                "allocator_bulk_deallocation_flush_threshold": "1MB",
            }
        )
        for name, schema in _INPUT_TABLES.items():
            cols = ", ".join(f'"{c}" {_SQL_TYPES[k]}' for c, k in schema.items())
            con.execute(f"CREATE TABLE {name} ({cols})")
            con.execute(f"CREATE TABLE {name}_row (nums DOUBLE[], texts VARCHAR[])")  # one staged row, updated
            con.execute(f"INSERT INTO {name}_row VALUES (NULL, NULL)")
        # Prepared once, executed on every call's rows: the optimizers that would bake the (empty) tables'
        # statistics into the plan are off, so the plan stays valid whatever rows are loaded later.
        con.execute("SET disabled_optimizers = 'statistics_propagation,compressed_materialization'")
        for name, schema in _INPUT_TABLES.items():
            staged = _unpacked_row(schema, f"{name}_row")
            con.execute(f"PREPARE insert_{name} AS INSERT INTO {name} SELECT * FROM {staged}")
        con.execute(f"PREPARE features_application AS {APPLICATION_SQL}")
        con.execute(
            f"PREPARE features_application_row AS {_application_sql(_unpacked_row(_APP_SCHEMA, 'applications_row'))}"
        )
        for alias, sql in AGGREGATE_SQL.items():
            con.execute(f"PREPARE features_{alias} AS {sql}")
        _local.con, _local.pid, _local.filled = con, os.getpid(), set()
    return con


def _staged(row: pd.Series, schema: dict[str, str], table: str) -> list[list]:
    """One raw row as the two bound lists of _unpacked_row (numbers, text); numbers checked here, values never
    written into an error message (they are an applicant's)."""
    nums, texts, values = [], [], row.to_dict()
    for column, kind in schema.items():
        value = plain(values.get(column))
        if kind == "str":
            texts.append(None if value is None else str(value))
            continue
        if value is None:
            nums.append(None)
            continue
        try:
            number = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise ValueError(f"{table}.{column}: not a number") from None
        if math.isinf(number):
            raise ValueError(f"{table}.{column}: not a finite number")
        if kind == "int" and not math.isnan(number) and (not number.is_integer() or abs(number) >= 2**63):
            raise ValueError(f"{table}.{column}: not a whole number within 64 bits")
        nums.append(None if math.isnan(number) else number)
    return [nums, texts]


def _execute_staged(con, table: str, lists: list[list], statement: str):
    """Run prepared `statement` on one row staged in `table`_row as bound parameters; its result as arrays."""
    con.execute(f"UPDATE {table}_row SET nums = ?, texts = ?", lists)
    return _fetch_result(con.execute(f"EXECUTE {statement}"))


def _load(con, name: str, frame: pd.DataFrame) -> None:
    """Insert raw rows, cast to the schema types; one row goes as bound parameters (much cheaper than a scan)."""
    schema = _INPUT_TABLES[name]
    try:
        if len(frame) == 1:  # staged as two bound lists, then a prepared INSERT: no planning per call
            _execute_staged(con, name, _staged(frame.iloc[0], schema, name), f"insert_{name}")
            return
        exprs = [
            f'CAST(_input."{c}" AS {_SQL_TYPES[k]})' if c in frame.columns else f"CAST(NULL AS {_SQL_TYPES[k]})"
            for c, k in schema.items()
        ]
        try:  # Arrow is far cheaper for DuckDB to scan than pandas; mixed-type columns fall back to pandas
            source = pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError):
            source = frame
        con.register("_input", source)
        try:
            con.execute(f"INSERT INTO {name} SELECT {', '.join(exprs)} FROM _input")
        finally:
            con.unregister("_input")
    except duckdb.Error as exc:
        # DuckDB's text quotes the offending value: an applicant's data, kept out of messages and logs
        raise ValueError(f"{name}: a value does not have the expected type ({type(exc).__name__})") from None


def _check_inputs(application: pd.DataFrame, history: dict) -> dict[str, pd.DataFrame]:
    if not isinstance(application, pd.DataFrame):
        raise ValueError("application must be a pandas DataFrame of raw application rows")
    if "SK_ID_CURR" not in application.columns or application["SK_ID_CURR"].isna().any():
        raise ValueError("application: every row needs a SK_ID_CURR")
    if application["SK_ID_CURR"].duplicated().any():
        raise ValueError("application: SK_ID_CURR values must be unique")
    if not isinstance(history, dict | None):
        raise ValueError("history must be a dict of table name -> DataFrame")
    tables = {}
    for name, frame in (history or {}).items():
        if name not in _HISTORY_TABLES:
            raise ValueError(f"unknown history table {name!r}; expected one of {', '.join(_HISTORY_TABLES)}")
        if frame is None:
            continue
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"{name} must be a pandas DataFrame")
        if len(frame) == 0:
            continue
        if "SK_ID_CURR" in SCHEMAS[name] and "SK_ID_CURR" not in frame.columns:
            if len(application) != 1:
                raise ValueError(f"{name}: SK_ID_CURR is needed when several applicants are scored")
            frame = frame.assign(SK_ID_CURR=application["SK_ID_CURR"].iloc[0])
        tables[name] = frame
    return tables


def features_from_records(application: pd.DataFrame, history: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Features of one or a few applicants from their raw rows (Kaggle names), equal to build_features'."""
    return features_and_policy_inputs_from_records(application, history)[0]


def features_and_policy_inputs_from_records(
    application: pd.DataFrame, history: dict[str, pd.DataFrame] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Model features and policy inputs of one or a few applicants, equal to build_features_and_policy_inputs'."""
    tables = _check_inputs(application, history)
    con = _connection()
    for name in _local.filled:
        con.execute(f"DELETE FROM {name}")
    _local.filled = set(tables)
    for name, frame in tables.items():
        _load(con, name, frame)
    if len(application) == 1:  # a wide one-row INSERT costs more than the query: the query reads the staged row
        lists = _staged(application.iloc[0], _APP_SCHEMA, "applications")
        app = _execute_staged(con, "applications", lists, "features_application_row")
    else:
        _local.filled.add("applications")
        _load(con, "applications", application)
        app = _fetch(con, "EXECUTE features_application")
    parts = {
        alias: _fetch(con, f"EXECUTE features_{alias}")
        for alias, tables_used in _SOURCES.items()
        if any(t in tables for t in tables_used)
    }
    order = application["SK_ID_CURR"].astype("int64").to_numpy()
    return tuple(frame.reindex(order) for frame in _assemble(app, parts))
