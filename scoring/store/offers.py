"""The campaign of pre-approved offers in the store (a SQLite file, or a PostgreSQL store's current generation):
written in one transaction that replaces the previous campaign, read page by page in rank order (list_offers and
get_offer of both backends).

Readers (the API) see the old campaign or the new one, never a mix. The offers belong to the store generation
they were made on: a rebuild starts without any (its model may differ), until the campaign runs again.
"""

from __future__ import annotations

import json
import math
import sqlite3

import pandas as pd

from scoring.store import schema
from scoring.store.connection import connect, execute, retry
from scoring.store.location import store_location

_OFFER_COLUMNS = schema.OFFERS.column_names


def save_offers(location, offers: pd.DataFrame, campaign: dict) -> int:
    """Replace the store's campaign by `offers` (columns of the offers table) and `campaign` (run_at,
    policy_version, policy_sha256, model_version, clients_scored, message); the number of offers written."""
    rows = list(offers[list(_OFFER_COLUMNS)].itertuples(index=False, name=None))
    rows = [
        (int(r[0]), int(r[1]), float(r[2]), str(r[3]), *map(float, r[4:6]), int(r[6]), *map(float, r[7:])) for r in rows
    ]
    head = (
        1,
        campaign["run_at"],
        campaign["policy_version"],
        campaign["policy_sha256"],
        campaign["model_version"],
        int(campaign["clients_scored"]),
        json.dumps(campaign["message"], ensure_ascii=False),
    )
    where = store_location(location)
    con = connect(where)  # PostgreSQL: the current generation's tables (every build makes them)
    execute(con, "BEGIN IMMEDIATE")
    try:
        if not isinstance(where, str):  # a store file built before campaigns existed
            schema.create_tables(con, (schema.CAMPAIGN, schema.OFFERS))
            schema.create_indexes(con, (schema.CAMPAIGN, schema.OFFERS))
        con.execute("DELETE FROM offers")
        con.execute("DELETE FROM campaign")
        con.execute(f"INSERT INTO campaign VALUES ({', '.join('?' * len(head))})", head)
        con.executemany(f"INSERT INTO offers ({', '.join(_OFFER_COLUMNS)}) VALUES ({', '.join('?' * 9)})", rows)
        retry(lambda: con.execute("COMMIT"))
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(rows)


# ----------------------------------------------------------------------------------------------- reading
_CAMPAIGN_COLUMNS = ("run_at", "policy_version", "policy_sha256", "model_version", "clients_scored", "message")
_MAX_PAGE = 1000


def campaign_of(con) -> dict | None:
    """The campaign the offers come from, with its number of offers; None before the first (or in an old store)."""
    try:
        row = con.execute(
            f"SELECT {', '.join(_CAMPAIGN_COLUMNS)}, (SELECT count(*) FROM offers) FROM campaign WHERE id = 1"
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    if row is None:
        return None
    out = dict(zip(_CAMPAIGN_COLUMNS, row[:-1], strict=True))
    out["message"] = json.loads(out["message"])
    out["offers"] = row[-1]
    return out


def list_offers(con, grade=None, min_amount=None, max_amount=None, limit: int = 20, offset: int = 0) -> dict:
    """One page of offers in rank order; the contract is ClientStore.list_offers."""
    campaign = campaign_of(con)
    if campaign is None:
        return {"campaign": None, "total": 0, "items": []}
    limit, offset = max(0, min(int(limit), _MAX_PAGE)), max(0, int(offset))
    where, params = [], []
    if grade is not None:
        where.append("grade = ?")
        params.append(str(grade))
    for bound, op in ((min_amount, ">="), (max_amount, "<=")):
        if bound is not None:
            where.append(f"amount {op} ?")
            params.append(_amount(bound))
    cond = f" WHERE {' AND '.join(where)}" if where else ""
    total = con.execute(f"SELECT count(*) FROM offers{cond}", params).fetchone()[0]
    rows = con.execute(
        f"SELECT {', '.join(_OFFER_COLUMNS)} FROM offers{cond} ORDER BY rank LIMIT ? OFFSET ?", [*params, limit, offset]
    )
    return {"campaign": campaign, "total": total, "items": [dict(zip(_OFFER_COLUMNS, r, strict=True)) for r in rows]}


def get_offer(con, client_id: int) -> dict | None:
    campaign = campaign_of(con)
    if campaign is None:
        return None
    row = con.execute(f"SELECT {', '.join(_OFFER_COLUMNS)} FROM offers WHERE client_id = ?", (client_id,)).fetchone()
    return None if row is None else {**dict(zip(_OFFER_COLUMNS, row, strict=True)), "campaign": campaign}


def _amount(value) -> float:
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"an amount bound must be a number, not {value!r}") from None
    if not math.isfinite(amount):
        raise ValueError(f"an amount bound must be a finite number, not {value!r}")
    return amount
