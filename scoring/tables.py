"""The eight Home Credit files: exact Kaggle schema, schema check, reading as CSV or Parquet."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

TABLES = (
    "application_train",
    "application_test",
    "bureau",
    "bureau_balance",
    "previous_application",
    "POS_CASH_balance",
    "installments_payments",
    "credit_card_balance",
)
REQUIRED = ("application_train",)
ID_COLUMNS = ("SK_ID_CURR", "SK_ID_BUREAU", "SK_ID_PREV")
_KINDS = {"i": "int", "f": "float", "s": "str"}
_SQL_TYPES = {"int": "BIGINT", "float": "DOUBLE", "str": "VARCHAR"}
SYNTHETIC_MARKER = "SYNTHETIC.json"
# Kaggle's day count for "no such date": DAYS_EMPLOYED of the retired and the unemployed, previous-loan dates not set
NO_DATE_DAYS = 365243


def _cols(spec: str) -> dict[str, str]:
    return {name: _KINDS[kind] for name, kind in (token.split(":") for token in spec.split())}


SCHEMAS: dict[str, dict[str, str]] = {
    "application_train": _cols("""
        SK_ID_CURR:i TARGET:i NAME_CONTRACT_TYPE:s CODE_GENDER:s FLAG_OWN_CAR:s FLAG_OWN_REALTY:s
        CNT_CHILDREN:i AMT_INCOME_TOTAL:f AMT_CREDIT:f AMT_ANNUITY:f AMT_GOODS_PRICE:f NAME_TYPE_SUITE:s
        NAME_INCOME_TYPE:s NAME_EDUCATION_TYPE:s NAME_FAMILY_STATUS:s NAME_HOUSING_TYPE:s
        REGION_POPULATION_RELATIVE:f DAYS_BIRTH:i DAYS_EMPLOYED:i DAYS_REGISTRATION:f DAYS_ID_PUBLISH:i
        OWN_CAR_AGE:f FLAG_MOBIL:i FLAG_EMP_PHONE:i FLAG_WORK_PHONE:i FLAG_CONT_MOBILE:i FLAG_PHONE:i
        FLAG_EMAIL:i OCCUPATION_TYPE:s CNT_FAM_MEMBERS:f REGION_RATING_CLIENT:i
        REGION_RATING_CLIENT_W_CITY:i WEEKDAY_APPR_PROCESS_START:s HOUR_APPR_PROCESS_START:i
        REG_REGION_NOT_LIVE_REGION:i REG_REGION_NOT_WORK_REGION:i LIVE_REGION_NOT_WORK_REGION:i
        REG_CITY_NOT_LIVE_CITY:i REG_CITY_NOT_WORK_CITY:i LIVE_CITY_NOT_WORK_CITY:i ORGANIZATION_TYPE:s
        EXT_SOURCE_1:f EXT_SOURCE_2:f EXT_SOURCE_3:f APARTMENTS_AVG:f BASEMENTAREA_AVG:f
        YEARS_BEGINEXPLUATATION_AVG:f YEARS_BUILD_AVG:f COMMONAREA_AVG:f ELEVATORS_AVG:f ENTRANCES_AVG:f
        FLOORSMAX_AVG:f FLOORSMIN_AVG:f LANDAREA_AVG:f LIVINGAPARTMENTS_AVG:f LIVINGAREA_AVG:f
        NONLIVINGAPARTMENTS_AVG:f NONLIVINGAREA_AVG:f APARTMENTS_MODE:f BASEMENTAREA_MODE:f
        YEARS_BEGINEXPLUATATION_MODE:f YEARS_BUILD_MODE:f COMMONAREA_MODE:f ELEVATORS_MODE:f
        ENTRANCES_MODE:f FLOORSMAX_MODE:f FLOORSMIN_MODE:f LANDAREA_MODE:f LIVINGAPARTMENTS_MODE:f
        LIVINGAREA_MODE:f NONLIVINGAPARTMENTS_MODE:f NONLIVINGAREA_MODE:f APARTMENTS_MEDI:f
        BASEMENTAREA_MEDI:f YEARS_BEGINEXPLUATATION_MEDI:f YEARS_BUILD_MEDI:f COMMONAREA_MEDI:f
        ELEVATORS_MEDI:f ENTRANCES_MEDI:f FLOORSMAX_MEDI:f FLOORSMIN_MEDI:f LANDAREA_MEDI:f
        LIVINGAPARTMENTS_MEDI:f LIVINGAREA_MEDI:f NONLIVINGAPARTMENTS_MEDI:f NONLIVINGAREA_MEDI:f
        FONDKAPREMONT_MODE:s HOUSETYPE_MODE:s TOTALAREA_MODE:f WALLSMATERIAL_MODE:s EMERGENCYSTATE_MODE:s
        OBS_30_CNT_SOCIAL_CIRCLE:f DEF_30_CNT_SOCIAL_CIRCLE:f OBS_60_CNT_SOCIAL_CIRCLE:f
        DEF_60_CNT_SOCIAL_CIRCLE:f DAYS_LAST_PHONE_CHANGE:f FLAG_DOCUMENT_2:i FLAG_DOCUMENT_3:i
        FLAG_DOCUMENT_4:i FLAG_DOCUMENT_5:i FLAG_DOCUMENT_6:i FLAG_DOCUMENT_7:i FLAG_DOCUMENT_8:i
        FLAG_DOCUMENT_9:i FLAG_DOCUMENT_10:i FLAG_DOCUMENT_11:i FLAG_DOCUMENT_12:i FLAG_DOCUMENT_13:i
        FLAG_DOCUMENT_14:i FLAG_DOCUMENT_15:i FLAG_DOCUMENT_16:i FLAG_DOCUMENT_17:i FLAG_DOCUMENT_18:i
        FLAG_DOCUMENT_19:i FLAG_DOCUMENT_20:i FLAG_DOCUMENT_21:i AMT_REQ_CREDIT_BUREAU_HOUR:f
        AMT_REQ_CREDIT_BUREAU_DAY:f AMT_REQ_CREDIT_BUREAU_WEEK:f AMT_REQ_CREDIT_BUREAU_MON:f
        AMT_REQ_CREDIT_BUREAU_QRT:f AMT_REQ_CREDIT_BUREAU_YEAR:f
    """),
    "bureau": _cols("""
        SK_ID_CURR:i SK_ID_BUREAU:i CREDIT_ACTIVE:s CREDIT_CURRENCY:s DAYS_CREDIT:i CREDIT_DAY_OVERDUE:i
        DAYS_CREDIT_ENDDATE:f DAYS_ENDDATE_FACT:f AMT_CREDIT_MAX_OVERDUE:f CNT_CREDIT_PROLONG:i
        AMT_CREDIT_SUM:f AMT_CREDIT_SUM_DEBT:f AMT_CREDIT_SUM_LIMIT:f AMT_CREDIT_SUM_OVERDUE:f
        CREDIT_TYPE:s DAYS_CREDIT_UPDATE:i AMT_ANNUITY:f
    """),
    "bureau_balance": _cols("""
        SK_ID_BUREAU:i MONTHS_BALANCE:i STATUS:s
    """),
    "previous_application": _cols("""
        SK_ID_PREV:i SK_ID_CURR:i NAME_CONTRACT_TYPE:s AMT_ANNUITY:f AMT_APPLICATION:f AMT_CREDIT:f
        AMT_DOWN_PAYMENT:f AMT_GOODS_PRICE:f WEEKDAY_APPR_PROCESS_START:s HOUR_APPR_PROCESS_START:i
        FLAG_LAST_APPL_PER_CONTRACT:s NFLAG_LAST_APPL_IN_DAY:i RATE_DOWN_PAYMENT:f RATE_INTEREST_PRIMARY:f
        RATE_INTEREST_PRIVILEGED:f NAME_CASH_LOAN_PURPOSE:s NAME_CONTRACT_STATUS:s DAYS_DECISION:i
        NAME_PAYMENT_TYPE:s CODE_REJECT_REASON:s NAME_TYPE_SUITE:s NAME_CLIENT_TYPE:s NAME_GOODS_CATEGORY:s
        NAME_PORTFOLIO:s NAME_PRODUCT_TYPE:s CHANNEL_TYPE:s SELLERPLACE_AREA:i NAME_SELLER_INDUSTRY:s
        CNT_PAYMENT:f NAME_YIELD_GROUP:s PRODUCT_COMBINATION:s DAYS_FIRST_DRAWING:f DAYS_FIRST_DUE:f
        DAYS_LAST_DUE_1ST_VERSION:f DAYS_LAST_DUE:f DAYS_TERMINATION:f NFLAG_INSURED_ON_APPROVAL:f
    """),
    "POS_CASH_balance": _cols("""
        SK_ID_PREV:i SK_ID_CURR:i MONTHS_BALANCE:i CNT_INSTALMENT:f CNT_INSTALMENT_FUTURE:f
        NAME_CONTRACT_STATUS:s SK_DPD:i SK_DPD_DEF:i
    """),
    "installments_payments": _cols("""
        SK_ID_PREV:i SK_ID_CURR:i NUM_INSTALMENT_VERSION:f NUM_INSTALMENT_NUMBER:i DAYS_INSTALMENT:f
        DAYS_ENTRY_PAYMENT:f AMT_INSTALMENT:f AMT_PAYMENT:f
    """),
    "credit_card_balance": _cols("""
        SK_ID_PREV:i SK_ID_CURR:i MONTHS_BALANCE:i AMT_BALANCE:f AMT_CREDIT_LIMIT_ACTUAL:f
        AMT_DRAWINGS_ATM_CURRENT:f AMT_DRAWINGS_CURRENT:f AMT_DRAWINGS_OTHER_CURRENT:f
        AMT_DRAWINGS_POS_CURRENT:f AMT_INST_MIN_REGULARITY:f AMT_PAYMENT_CURRENT:f
        AMT_PAYMENT_TOTAL_CURRENT:f AMT_RECEIVABLE_PRINCIPAL:f AMT_RECIVABLE:f AMT_TOTAL_RECEIVABLE:f
        CNT_DRAWINGS_ATM_CURRENT:f CNT_DRAWINGS_CURRENT:f CNT_DRAWINGS_OTHER_CURRENT:f
        CNT_DRAWINGS_POS_CURRENT:f CNT_INSTALMENT_MATURE_CUM:f NAME_CONTRACT_STATUS:s SK_DPD:i SK_DPD_DEF:i
    """),
}
SCHEMAS["application_test"] = {k: v for k, v in SCHEMAS["application_train"].items() if k != "TARGET"}
SCHEMAS = {name: SCHEMAS[name] for name in TABLES}


class SchemaError(ValueError):
    """Raised when raw tables do not match the Kaggle schema; the message lists every problem."""


@dataclass(frozen=True)
class SchemaProblem:
    file: str
    column: str | None
    row: int | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.column:
            where += f", column {self.column}"
        if self.row is not None:
            where += f", row {self.row}"
        return f"{where}: {self.message}"


def find_table(data_dir, name: str) -> Path | None:
    """The file holding table `name` (Parquet preferred, then CSV, then gzipped CSV), or None."""
    base = Path(data_dir)
    for suffix in (".parquet", ".csv", ".csv.gz"):
        path = base / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def data_source(data_dir) -> str:
    return "synthetic" if (Path(data_dir) / SYNTHETIC_MARKER).exists() else "real"


def synthetic_info(data_dir) -> dict | None:
    marker = Path(data_dir) / SYNTHETIC_MARKER
    return json.loads(marker.read_text()) if marker.exists() else None


def _sql_str(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _scan_sql(path: Path, name: str, typed: bool = True) -> str:
    """SQL reading one raw file; CSV columns typed from the schema so nothing is mis-inferred."""
    if path.suffix == ".parquet":
        return f"read_parquet({_sql_str(path)})"
    schema = SCHEMAS[name]
    kinds = {c: (_SQL_TYPES[k] if typed else "VARCHAR") for c, k in schema.items()}
    columns = "{" + ", ".join(f"{_sql_str(c)}: {_sql_str(t)}" for c, t in kinds.items()) + "}"
    return f"read_csv({_sql_str(path)}, header=true, columns={columns}, nullstr='', quote='\"', auto_detect=false)"


def _select_typed(name: str, source: str) -> str:
    cols = ", ".join(f'CAST("{c}" AS {_SQL_TYPES[k]}) AS "{c}"' for c, k in SCHEMAS[name].items())
    return f"SELECT {cols} FROM {source}"


def _empty_table_sql(name: str) -> str:
    cols = ", ".join(f'"{c}" {_SQL_TYPES[k]}' for c, k in SCHEMAS[name].items())
    return f"CREATE OR REPLACE TEMP TABLE {name} ({cols})"


def duckdb_views(con: duckdb.DuckDBPyConnection, data_dir) -> set[str]:
    """One view per table (absent optional ones as empty typed tables) plus `applications` (train+test)."""
    present = set()
    for name in TABLES:
        path = find_table(data_dir, name)
        if path is None:
            if name in REQUIRED:
                raise SchemaError(f"{Path(data_dir) / name}.csv (or .parquet): required file is missing")
            con.execute(_empty_table_sql(name))
            continue
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {_select_typed(name, _scan_sql(path, name))}")
        present.add(name)
    app_cols = ", ".join(f'"{c}"' for c in SCHEMAS["application_test"])
    con.execute(
        "CREATE OR REPLACE TEMP VIEW applications AS "
        f"SELECT {app_cols}, 'train' AS SPLIT FROM application_train "
        f"UNION ALL SELECT {app_cols}, 'test' AS SPLIT FROM application_test"
    )
    return present


def _to_pandas_dtypes(df: pd.DataFrame, name: str) -> pd.DataFrame:
    for col in df.columns:
        kind = SCHEMAS[name].get(col)
        if kind == "str":
            df[col] = df[col].astype(object).where(df[col].notna(), None)
        elif kind == "int" and (col in ID_COLUMNS or col == "TARGET") and not df[col].isna().any():
            df[col] = df[col].astype("int64")
        elif kind in ("int", "float"):
            df[col] = df[col].astype("float64")
    return df


def read_table(data_dir, name: str, columns: list[str] | None = None, where: str | None = None) -> pd.DataFrame:
    """Read a table into pandas: ids int64, other numbers float64 (NaN for gaps), strings object."""
    if name not in SCHEMAS:
        raise ValueError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}")
    path = find_table(data_dir, name)
    wanted = list(columns) if columns else list(SCHEMAS[name])
    unknown = [c for c in wanted if c not in SCHEMAS[name]]
    if unknown:
        raise ValueError(f"table {name} has no column(s) {', '.join(unknown)}")
    if path is None:
        if name in REQUIRED:
            raise SchemaError(f"{Path(data_dir) / name}.csv (or .parquet): required file is missing")
        return _to_pandas_dtypes(pd.DataFrame({c: pd.Series(dtype="float64") for c in wanted}), name)
    con = duckdb.connect()
    try:
        select = ", ".join(f'"{c}"' for c in wanted)
        sql = f"SELECT {select} FROM ({_select_typed(name, _scan_sql(path, name))})"
        if where:
            sql += f" WHERE {where}"
        df = con.execute(sql).df()
    finally:
        con.close()
    return _to_pandas_dtypes(df, name)


def _header(path: Path) -> list[str]:
    con = duckdb.connect()
    try:
        if path.suffix == ".parquet":
            return [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_str(path)})").fetchall()]
        rel = con.execute(f"SELECT * FROM read_csv({_sql_str(path)}, header=true, all_varchar=true) LIMIT 0")
        return [d[0] for d in rel.description]
    finally:
        con.close()


def check_schema(data_dir) -> list[SchemaProblem]:
    """Every problem found: missing files or columns, unparseable values (first bad row), duplicate ids."""
    data_dir = Path(data_dir)
    problems: list[SchemaProblem] = []
    if not data_dir.is_dir():
        return [
            SchemaProblem(
                f"{data_dir}/application_train.csv",
                None,
                None,
                f"data folder {data_dir} does not exist (application_train is required)",
            )
        ]
    for name in TABLES:
        path = find_table(data_dir, name)
        if path is None:
            if name in REQUIRED:
                problems.append(SchemaProblem(f"{data_dir / name}.csv", None, None, "required file is missing"))
            continue
        try:
            problems += _check_file(path, name)
        except duckdb.Error as exc:
            problems.append(SchemaProblem(path.name, None, None, f"cannot be read: {str(exc).splitlines()[0]}"))
    return problems


def _check_file(path: Path, name: str) -> list[SchemaProblem]:
    schema = SCHEMAS[name]
    header = _header(path)
    missing = [c for c in schema if c not in header]
    problems = [SchemaProblem(path.name, c, None, "required column is missing") for c in missing]
    checked = [c for c in schema if c in header and schema[c] != "str"]
    con = duckdb.connect()
    try:
        if path.suffix == ".parquet":
            source = f"(SELECT *, row_number() OVER () AS __row FROM read_parquet({_sql_str(path)}))"
            as_text = {c: f'CAST("{c}" AS VARCHAR)' for c in checked}
        else:
            source = (
                f"(SELECT *, row_number() OVER () AS __row FROM read_csv({_sql_str(path)}, header=true, "
                "all_varchar=true, nullstr=''))"
            )
            as_text = {c: f'"{c}"' for c in checked}
        if checked:
            parts = []
            for c in checked:
                sql_type = _SQL_TYPES[schema[c]]
                bad = f"({as_text[c]} IS NOT NULL AND TRY_CAST({as_text[c]} AS {sql_type}) IS NULL)"
                parts.append(
                    f"count(*) FILTER (WHERE {bad}), min(__row) FILTER (WHERE {bad}), "
                    f"arg_min({as_text[c]}, __row) FILTER (WHERE {bad})"
                )
            row = con.execute(f"SELECT {', '.join(parts)} FROM {source}").fetchone()
            for i, c in enumerate(checked):
                count, first_row, value = row[3 * i : 3 * i + 3]
                if count:
                    problems.append(
                        SchemaProblem(
                            path.name,
                            c,
                            int(first_row),
                            f"value {value!r} is not a valid {schema[c]} ({count} bad value{'s' if count > 1 else ''})",
                        )
                    )
        if name.startswith("application") and "SK_ID_CURR" in header:
            dup = con.execute(
                f'SELECT "SK_ID_CURR", count(*) FROM {source} GROUP BY 1 HAVING count(*) > 1 ORDER BY 1 LIMIT 1'
            ).fetchone()
            if dup:
                problems.append(
                    SchemaProblem(path.name, "SK_ID_CURR", None, f"client id {dup[0]} appears {dup[1]} times")
                )
    finally:
        con.close()
    return problems


def require_valid(data_dir) -> None:
    """Raise SchemaError listing every problem, so pipelines fail with file/column/row, not a traceback."""
    problems = check_schema(data_dir)
    if problems:
        raise SchemaError("raw tables do not match the Home Credit schema:\n" + "\n".join(f"  - {p}" for p in problems))
