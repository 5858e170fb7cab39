"""The application features: raw fields kept as they are and the engineered ones, as DuckDB SQL over one table.

One statement (APPLICATION_SQL) reads the applications table, the batch build's view of the raw file or one
applicant's staged row; it also computes the policy inputs the application alone gives (POLICY_APPLICATION).
"""

from __future__ import annotations

from scoring.tables import NO_DATE_DAYS, SCHEMAS

APP_SCHEMA = SCHEMAS["application_test"]  # application fields without TARGET

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
APP_CATEGORICAL = [c for c in CATEGORICAL_FEATURES if c in APP_SCHEMA]


def div_sql(num: str, den: str) -> str:
    """num / den in SQL, NULL (never inf) when den is 0."""
    return f"(({num}) / NULLIF(({den}), 0))"


_E = ["a.EXT_SOURCE_1", "a.EXT_SOURCE_2", "a.EXT_SOURCE_3"]
_E_LIST = f"[{', '.join(_E)}]"
_E_N = " + ".join(f"({e} IS NOT NULL)::INT" for e in _E)
_EMPLOYED = f"NULLIF(a.DAYS_EMPLOYED, {NO_DATE_DAYS})"
_DOCS = " + ".join(f"coalesce(a.FLAG_DOCUMENT_{i}, 0)" for i in range(2, 22))
_REGION_FLAGS = " + ".join(f"coalesce(a.{c}, 0)" for c in APP_NUMERIC_RAW if c.startswith(("REG_", "LIVE_")))
_BUREAU_REQ = " + ".join(f"coalesce(a.{c}, 0)" for c in APP_NUMERIC_RAW if c.startswith("AMT_REQ_"))
_BUILDING_ALL = [c for c in APP_SCHEMA if c.endswith(("_AVG", "_MODE", "_MEDI")) and APP_SCHEMA[c] == "float"]

APP_ENGINEERED = [
    ("AGE_YEARS", "-a.DAYS_BIRTH / 365.25"),
    ("EMPLOYED_YEARS", f"-{_EMPLOYED} / 365.25"),
    ("NOT_EMPLOYED_FLAG", f"(a.DAYS_EMPLOYED = {NO_DATE_DAYS})::INT"),
    ("EMPLOYED_TO_AGE", div_sql(_EMPLOYED, "a.DAYS_BIRTH")),
    ("REGISTRATION_YEARS", "-a.DAYS_REGISTRATION / 365.25"),
    ("ID_PUBLISH_YEARS", "-a.DAYS_ID_PUBLISH / 365.25"),
    ("PHONE_CHANGE_YEARS", "-a.DAYS_LAST_PHONE_CHANGE / 365.25"),
    ("CAR_AGE_TO_AGE", div_sql("a.OWN_CAR_AGE", "-a.DAYS_BIRTH / 365.25")),
    ("CREDIT_TO_ANNUITY", div_sql("a.AMT_CREDIT", "a.AMT_ANNUITY")),
    ("PAYMENT_RATE", div_sql("a.AMT_ANNUITY", "a.AMT_CREDIT")),
    ("ANNUITY_TO_INCOME", div_sql("a.AMT_ANNUITY", "a.AMT_INCOME_TOTAL")),
    ("CREDIT_TO_INCOME", div_sql("a.AMT_CREDIT", "a.AMT_INCOME_TOTAL")),
    ("CREDIT_TO_GOODS", div_sql("a.AMT_CREDIT", "a.AMT_GOODS_PRICE")),
    ("CREDIT_MINUS_GOODS", "a.AMT_CREDIT - a.AMT_GOODS_PRICE"),
    ("INCOME_PER_PERSON", div_sql("a.AMT_INCOME_TOTAL", "a.CNT_FAM_MEMBERS")),
    ("INCOME_AFTER_ANNUITY_PER_PERSON", div_sql("a.AMT_INCOME_TOTAL - a.AMT_ANNUITY", "a.CNT_FAM_MEMBERS")),
    ("CHILDREN_SHARE", div_sql("a.CNT_CHILDREN", "a.CNT_FAM_MEMBERS")),
    ("EXT_SOURCE_MEAN", f"list_avg({_E_LIST})"),
    ("EXT_SOURCE_MIN", f"list_min({_E_LIST})"),
    ("EXT_SOURCE_MAX", f"list_max({_E_LIST})"),
    ("EXT_SOURCE_STD", f"list_stddev_pop({_E_LIST})"),
    ("EXT_SOURCE_PRODUCT", " * ".join(_E)),
    (
        "EXT_SOURCE_WEIGHTED",
        div_sql(
            " + ".join(f"{w} * coalesce({e}, 0)" for w, e in zip((2, 3, 4), _E, strict=True)),
            " + ".join(f"{w} * ({e} IS NOT NULL)::INT" for w, e in zip((2, 3, 4), _E, strict=True)),
        ),
    ),
    ("EXT_SOURCE_COUNT", _E_N),
    ("EXT_SOURCE_2_TO_AGE", div_sql("a.EXT_SOURCE_2", "-a.DAYS_BIRTH / 365.25")),
    ("DOCUMENT_COUNT", _DOCS),
    ("REGION_MISMATCH_COUNT", _REGION_FLAGS),
    ("BUREAU_ENQUIRIES_TOTAL", _BUREAU_REQ),
    ("SOCIAL_DEFAULT_SHARE_30", div_sql("a.DEF_30_CNT_SOCIAL_CIRCLE", "a.OBS_30_CNT_SOCIAL_CIRCLE")),
    ("BUILDING_INFO_COUNT", " + ".join(f"(a.{c} IS NOT NULL)::INT" for c in _BUILDING_ALL)),
]

# --- policy inputs: read by the lender's rules (scoring.decision), never by the model ---------------------------
# Kaggle's enquiry periods are disjoint (each excludes the shorter ones): the last 3 months are HOUR + DAY + WEEK +
# MON + QRT; YEAR covers months 4 to 12. No enquiry column at all (no bureau file): NULL, not 0.
_ENQUIRIES_3M = ", ".join(f"a.AMT_REQ_CREDIT_BUREAU_{p}" for p in ("HOUR", "DAY", "WEEK", "MON", "QRT"))
POLICY_APPLICATION = [
    ("BUREAU_ENQUIRIES_3M", f"list_sum([{_ENQUIRIES_3M}])"),
    ("INCOME_MISSING_OR_ZERO", "(a.AMT_INCOME_TOTAL IS NULL OR a.AMT_INCOME_TOTAL <= 0)::INT"),
]
HISTORY_FREE_POLICY_INPUTS = [n for n, _ in POLICY_APPLICATION]


def application_sql(source: str = "applications") -> str:
    """Application features; `source` is the applications table, or one applicant's row given as parameters."""
    cols = [f'a."{c}"' for c in APP_CATEGORICAL]
    cols += [f'CAST(a."{c}" AS DOUBLE) AS "{c}"' for c in APP_NUMERIC_RAW]
    cols += [f'CAST({expr} AS DOUBLE) AS "{name}"' for name, expr in APP_ENGINEERED + POLICY_APPLICATION]
    return f"SELECT a.SK_ID_CURR, {', '.join(cols)} FROM {source} a"


APPLICATION_SQL = application_sql()


def application_feature_names() -> list[str]:
    """Features computed from the application row alone."""
    return list(APP_CATEGORICAL) + APP_NUMERIC_RAW + [n for n, _ in APP_ENGINEERED]
