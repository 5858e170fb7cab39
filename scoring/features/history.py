"""The history aggregates: per client, one DuckDB statement per history source (AGGREGATE_SQL), model features
and the policy inputs the rules read from the history; (feature, aggregate SQL, 0 when the client has no rows).
"""

from __future__ import annotations

from scoring.features.application import div_sql
from scoring.tables import NO_DATE_DAYS

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
        div_sql(f"sum(AMT_CREDIT_SUM_DEBT) FILTER (WHERE {_ACTIVE})", f"sum(AMT_CREDIT_SUM) FILTER (WHERE {_ACTIVE})"),
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
    ("BUREAU_DPD_MONTH_SHARE", div_sql("sum(bb_dpd)", "sum(bb_months)"), False),
    ("BUREAU_DPD_MAX_BUCKET", "max(bb_max_bucket)", False),
    ("BUREAU_DPD_CREDIT_COUNT", "count(*) FILTER (WHERE bb_dpd > 0)", True),
    ("BUREAU_DPD_MONTHS_12M", "sum(bb_dpd_12m)", True),
    ("BUREAU_DPD_MONTHS_24M", "sum(bb_dpd_24m)", True),
    ("BUREAU_DPD_MONTH_SHARE_12M", div_sql("sum(bb_dpd_12m)", "sum(bb_months_12m)"), False),
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
    ("PREV_APPLICATION_TO_CREDIT_MEAN", f"avg({div_sql('AMT_APPLICATION', 'AMT_CREDIT')})", False),
    ("PREV_APPLICATION_TO_CREDIT_MIN", f"min({div_sql('AMT_APPLICATION', 'AMT_CREDIT')})", False),
    ("PREV_CREDIT_TO_GOODS_MEAN", f"avg({div_sql('AMT_CREDIT', 'AMT_GOODS_PRICE')})", False),
    ("PREV_DOWN_PAYMENT_RATE_MEAN", "avg(RATE_DOWN_PAYMENT)", False),
    ("PREV_TERM_MEAN", "avg(CNT_PAYMENT)", False),
    ("PREV_SIMPLE_INTEREST_MEAN", f"avg({div_sql('AMT_ANNUITY * CNT_PAYMENT', 'AMT_CREDIT')} - 1)", False),
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
    ("CC_PAYMENT_TO_MINIMUM_MEAN", f"avg({div_sql('AMT_PAYMENT_CURRENT', 'AMT_INST_MIN_REGULARITY')})", False),
    ("CC_BELOW_MINIMUM_MONTHS", "count(*) FILTER (WHERE AMT_PAYMENT_CURRENT < AMT_INST_MIN_REGULARITY)", True),
    ("CC_RECEIVABLE_MEAN", "avg(AMT_TOTAL_RECEIVABLE)", False),
    ("CC_DPD_MAX", "max(SK_DPD)", False),
    ("CC_DPD_MONTHS", "count(*) FILTER (WHERE SK_DPD > 0)", True),
    ("CC_DPD_DEF_MAX", "max(SK_DPD_DEF)", False),
    ("CC_DPD_MONTHS_12M", f"count(*) FILTER (WHERE {_M12} AND SK_DPD > 0)", True),
    ("CC_BALANCE_MEAN_12M", f"avg(AMT_BALANCE) FILTER (WHERE {_M12})", False),
    ("CC_MONTHS_SINCE_LAST", "-max(MONTHS_BALANCE)", False),
]


# --- policy inputs read from the history (scoring.decision), never model inputs ------------------------------
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

AGGREGATES = [  # (alias, source SQL, model features, policy inputs)
    ("b", f"SELECT * FROM bureau LEFT JOIN ({_BB_PER_CREDIT}) USING (SK_ID_BUREAU)", BUREAU, POLICY_BUREAU),
    ("p", "SELECT * FROM previous_application", PREVIOUS, POLICY_PREVIOUS),
    ("i", _INST_ROWS, INSTALMENTS, []),
    ("ia", _INSTALMENTS_DUE_6M, [], POLICY_ARREARS),
    ("s", "SELECT * FROM POS_CASH_balance", POS, []),
    ("sc", _POS_LAST, POS_CONTRACTS, []),
    ("c", "SELECT * FROM credit_card_balance", CARDS, []),
]
_BY_ALIAS = {alias: (source, feats + policy) for alias, source, feats, policy in AGGREGATES}
HISTORY_POLICY_INPUTS = [n for *_, policy in AGGREGATES for n, _, _ in policy]


_FILTER = " FILTER (WHERE "


def _closing(sql: str, start: int) -> int:
    """The index of the parenthesis closing the one opened at `start`."""
    depth = 0
    for i in range(start, len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[i], 0)
        if depth == 0:
            return i
    raise ValueError(f"unbalanced parentheses in {sql!r}")


def _opening(sql: str, end: int) -> int:
    """The index of the parenthesis that the one at `end` closes."""
    depth = 0
    for i in range(end, -1, -1):
        depth += {")": 1, "(": -1}.get(sql[i], 0)
        if depth == 0:
            return i
    raise ValueError(f"unbalanced parentheses in {sql!r}")


def _has_top_level_comma(argument: str) -> bool:
    depth = 0
    for ch in argument:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            return True
    return False


def without_filter(sql: str) -> str:
    """`agg(x) FILTER (WHERE c)` written as `agg(CASE WHEN c THEN x END)`, `count(*)`'s as `count(CASE WHEN c THEN 1
    END)`: the same values (a row whose c is false or NULL is left out of both), computed much faster.

    The catalog reads best with FILTER, but DuckDB 1.4's cost grows with the square of a statement's filtered
    aggregates (50: 4.0 ms for 7 rows, 100: 15 ms) where the CASE form grows linearly (0.49 and 1.1 ms)."""
    while (at := sql.find(_FILTER)) >= 0:
        call_end = at - 1  # the aggregate call's closing parenthesis, right before FILTER
        if sql[call_end] != ")":
            raise ValueError(f"FILTER not after an aggregate call in {sql!r}")
        call_open = _opening(sql, call_end)
        cond_open = at + len(" FILTER ")
        cond_end = _closing(sql, cond_open)
        argument = sql[call_open + 1 : call_end]
        condition = sql[cond_open + len("(WHERE ") : cond_end]
        if argument.upper().startswith("DISTINCT") or _has_top_level_comma(argument):
            raise ValueError(f"FILTER on a DISTINCT or several-argument aggregate in {sql!r}: write it by hand")
        value = "1" if argument.strip() == "*" else argument
        sql = f"{sql[: call_open + 1]}CASE WHEN {condition} THEN {value} END){sql[cond_end + 1 :]}"
    return sql


def written_sql(alias: str, *, one_client: bool = False) -> str:
    """The statement of history source `alias` as the catalogue writes it (FILTER clauses): per client, or with
    `one_client` over rows all of one client as an ungrouped aggregate.

    One applicant's statements ran DuckDB's hash aggregate for a single group, 0.5-1.2 ms more each than the
    ungrouped one (3.3 ms of the 7 statements for a 500-row history); HAVING keeps the grouped statement's
    answer when no row is left (as `ia`'s 6-month window may leave none): no row, not a row of NULLs and zeros."""
    source, feats = _BY_ALIAS[alias]
    aggs = ", ".join(f'{expr} AS "{name}"' for name, expr, _ in feats)
    if one_client:
        return f"SELECT min(SK_ID_CURR) AS SK_ID_CURR, {aggs} FROM ({source}) HAVING count(*) > 0"
    return f"SELECT SK_ID_CURR, {aggs} FROM ({source}) GROUP BY SK_ID_CURR"


# What runs: the written statements with their FILTER clauses as CASE (without_filter)
AGGREGATE_SQL = {alias: without_filter(written_sql(alias)) for alias, *_ in AGGREGATES}
ONE_CLIENT_AGGREGATE_SQL = {alias: without_filter(written_sql(alias, one_client=True)) for alias, *_ in AGGREGATES}
