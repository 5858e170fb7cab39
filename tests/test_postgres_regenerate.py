"""explain-all, promotion and rollback on a PostgreSQL store (tests/postgres.py): a new generation re-scored from the
live one, equal to what the SQLite path writes, switched in with the alias file; a failure changes nothing; the
kept tables and the audit chain stay; a running API follows."""

from __future__ import annotations

import shutil
import time

import psycopg
import pytest

from scoring import audit, registry, users
from scoring.bundle import ModelBundle
from scoring.cli import main
from scoring.registry import promotion
from scoring.store import explain_all, open_store, regenerate, schema, store_exists, store_model_version
from scoring.store import postgres_schema as pg
from scoring.store.postgres import GENERATION_TTL
from tests.api_fixtures import PASSWORD, copy_store, registry_app
from tests.test_api_models import _versions
from tests.test_registry import second_bundle  # noqa: F401 - the fixture

_TABLES = {  # what explain-all writes, compared whole between the backends ({gen}: the generation's schema)
    "clients": f"SELECT {', '.join(schema.CLIENTS.column_names)} FROM {{gen}}.clients ORDER BY client_id",
    "scores": f"SELECT {', '.join(schema.SCORES.column_names)} FROM {{gen}}.scores ORDER BY client_id",
    "decisions": f"SELECT {', '.join(schema.DECISIONS.column_names)} FROM {{gen}}.decisions ORDER BY client_id",
    "sample": "SELECT name, kind, data, categories FROM {gen}.sample ORDER BY name",
    "quantiles": f"SELECT {', '.join(schema.QUANTILES.column_names)} FROM {{gen}}.quantiles ORDER BY feature",
    "groups": f"SELECT {', '.join(schema.POPULATION_GROUPS.column_names)} FROM {{gen}}.population_groups",
    # noise is drawn on each side for the PD sums and for the counts of grids of features the new model ranks
    # higher: the histograms' noisy counts are kept, the grids' cells must be the same ones
    "histograms": "SELECT x, xg, n FROM {gen}.population_cells WHERE y = '' ORDER BY x, xg",
    "cells": "SELECT x, y, xg, yg FROM {gen}.population_cells ORDER BY x, y, xg, yg",
}
_FRESH_META = {"explained_at", "decided_at", "generation"}  # times and a random name


@pytest.fixture()
def url(postgres_cluster, postgres_api_template) -> str:
    """A database holding the API template store (migrated from the SQLite file, with its users)."""
    return postgres_cluster.database(template=postgres_api_template["store"])


@pytest.fixture()
def reg(url, trained_models, second_bundle, tmp_path) -> dict:  # noqa: F811 - the imported fixture
    """A registry of two versions (A champion, which scored the store; B beside it) and the store in PostgreSQL."""
    models = tmp_path / "models"
    shutil.copytree(trained_models, models)
    a = registry.init_registry(models, "tester")
    b = registry.add_version(models, second_bundle, "tester")
    return {"models": models, "url": url, "a": a, "b": b, "args": ["--models", str(models), "--store", url]}


def _sqlite_rows(path, sql: str) -> list[tuple]:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(path)) as con:
        return con.execute(sql.format(gen="main")).fetchall()


def _pg_rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as con:
        return [tuple(r) for r in con.execute(sql.format(gen=pg.current_generation(con))).fetchall()]


def _generations(url: str) -> tuple[str, set[str]]:
    """(the generation readers use, every generation schema present)."""
    with psycopg.connect(url) as con:
        names = {r[0] for r in con.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'scoring_gen_%'")}
        return pg.current_generation(con), names


def _cli_audit(url: str) -> list[tuple]:
    with psycopg.connect(url) as con:
        sql = f"SELECT route, outcome, model_version FROM {pg.KEPT_SCHEMA}.audit WHERE role = 'cli' ORDER BY id"
        return [tuple(r) for r in con.execute(sql)]


def test_explain_all_writes_what_it_writes_on_an_equal_sqlite_store(
    url,
    api_template,
    second_bundle,  # noqa: F811 - the imported fixture
    tmp_path,
):
    path = copy_store(api_template["store"], tmp_path / "store.sqlite")
    assert _pg_rows(url, _TABLES["clients"]) == _sqlite_rows(path, _TABLES["clients"])  # equal stores to start
    before, _ = _generations(url)
    n = explain_all(url, second_bundle)
    assert n == explain_all(path, second_bundle) == open_store(path).meta()["n_clients"]
    for name, sql in _TABLES.items():
        assert _pg_rows(url, sql) == _sqlite_rows(path, sql), name
    pg_meta, file_meta = open_store(url).meta(), open_store(path).meta()
    version = ModelBundle.load(second_bundle).version
    assert pg_meta["model_version"] == file_meta["model_version"] == version
    assert {k: v for k, v in pg_meta.items() if k not in _FRESH_META} == {
        k: v for k, v in file_meta.items() if k not in _FRESH_META
    }
    for cid in [c["client_id"] for c in open_store(path).list_clients(limit=200)["items"]][::23]:
        a, b = open_store(url).get_explanation(cid), open_store(path).get_explanation(cid)
        assert a.pop("generation") != b.pop("generation") and a == b  # PD, grade and SHAP of the new model
        assert open_store(url).get_decision(cid) == open_store(path).get_decision(cid)
    live, present = _generations(url)
    assert live != before and present == {before, live}  # the replaced generation kept for pinned readers


def test_promote_then_rollback_switch_meta_alias_and_keep_the_kept_tables(reg, capsys, monkeypatch):
    url, a, b = reg["url"], reg["a"], reg["b"]
    from scoring.store import postgres_regenerate

    names = {u["username"] for u in users.list_users(url)}
    pinned = open_store(url)
    pinned.pin_generation()  # a request in flight: it reads its generation to the end
    cid = pinned.list_clients(limit=1)["items"][0]["client_id"]
    old_pd = pinned.get_score(cid)["pd"]
    first, _ = _generations(url)
    real = postgres_regenerate._aggregates

    def rescored_then_written(*args, **kwargs):  # a sign-up and an audited command land during the re-scoring
        real(*args, **kwargs)
        users.add_user(url, "late", PASSWORD, "manager")
        promotion.record(url, user="api", command="probe", outcome="ok", version=None)

    monkeypatch.setattr(postgres_regenerate, "_aggregates", rescored_then_written)
    assert main(["models", "promote", b, *reg["args"], "--quiet"]) == 0
    monkeypatch.setattr(postgres_regenerate, "_aggregates", real)
    out = capsys.readouterr().out
    assert "PostgreSQL database scoring_test_" in out and url not in out
    assert registry.read_registry(reg["models"])["champion"] == b and store_model_version(url) == b
    second, present = _generations(url)
    assert present == {first, second}
    assert pinned.get_score(cid)["pd"] == old_pd and pinned.meta()["model_version"] == a
    promoted = open_store(url).get_score(cid)
    assert promoted["model_version"] == b and promoted["pd"] != old_pd
    time.sleep(GENERATION_TTL)
    pinned.pin_generation()
    assert pinned.get_score(cid) == promoted

    assert main(["models", "rollback", *reg["args"], "--quiet"]) == 0
    assert registry.read_registry(reg["models"])["champion"] == a and store_model_version(url) == a
    third, present = _generations(url)
    assert present == {second, third}  # one previous generation kept, the one before dropped
    assert open_store(url).get_score(cid)["pd"] == pytest.approx(old_pd, abs=1e-12)
    assert {u["username"] for u in users.list_users(url)} == names | {"late"}
    assert _cli_audit(url) == [
        ("models probe", "ok", None),
        ("models promote", f"promoted from {a}", b),
        ("models rollback", f"rolled back from {b}", a),
    ]
    report = audit.verify_audit(url)
    assert report["ok"] and report["chained"] == report["entries"] >= 3
    assert main(["audit", "verify", "--store", url]) == 0
    assert [h["action"] for h in registry.read_registry(reg["models"])["history"]] == ["init", "promote", "rollback"]


def _unchanged(reg, alias: bytes, generations) -> None:
    assert registry.alias_path(reg["models"]).read_bytes() == alias
    assert registry.read_registry(reg["models"])["champion"] == reg["a"]
    assert _generations(reg["url"]) == generations  # the live one, and no stray schema
    assert store_model_version(reg["url"]) == reg["a"]


def test_a_failure_while_rescoring_changes_nothing(reg, monkeypatch):
    from scoring.store import rows

    alias, generations = registry.alias_path(reg["models"]).read_bytes(), _generations(reg["url"])
    real, calls = ModelBundle.score_and_explain, []

    def fails_at_the_second_chunk(self, features):
        calls.append(len(features))
        if len(calls) == 2:
            raise RuntimeError("scoring failed")
        return real(self, features)

    monkeypatch.setattr(rows, "CHUNK_CLIENTS", 500)
    monkeypatch.setattr(ModelBundle, "score_and_explain", fails_at_the_second_chunk)
    with pytest.raises(RuntimeError, match="scoring failed"):
        promotion.promote(reg["models"], reg["url"], reg["b"], user="tester")
    assert calls == [500, 500]
    _unchanged(reg, alias, generations)


def test_a_failed_switch_restores_the_alias_file(reg, monkeypatch):
    """The alias is written at the switch, inside its transaction: if that transaction fails, the old alias is back."""
    from scoring.store import postgres_regenerate

    alias, generations = registry.alias_path(reg["models"]).read_bytes(), _generations(reg["url"])
    real = postgres_regenerate._switch

    def named_then_lost(con, where, *, prepare, on_switch):
        def on_switch_then_fail():
            on_switch()
            assert registry.read_registry(reg["models"])["champion"] == reg["b"]
            raise OSError("connection lost before the commit")

        real(con, where, prepare=prepare, on_switch=on_switch_then_fail)

    monkeypatch.setattr(postgres_regenerate, "_switch", named_then_lost)
    with pytest.raises(OSError, match="connection lost"):
        promotion.promote(reg["models"], reg["url"], reg["b"], user="tester")
    _unchanged(reg, alias, generations)


def test_a_generation_switched_in_meanwhile_is_never_undone(reg, monkeypatch):
    """Another build switching the pointer during the re-scoring wins: explain-all refuses and drops its own."""
    from scoring.store import postgres_regenerate

    url = reg["url"]
    live, _ = _generations(url)
    real = postgres_regenerate._aggregates

    def another_build_switches(*args, **kwargs):
        real(*args, **kwargs)
        with psycopg.connect(url, autocommit=True) as con:
            con.execute("CREATE SCHEMA scoring_gen_other")
            with con.transaction():
                pg.switch(con, "scoring_gen_other", "now")

    monkeypatch.setattr(postgres_regenerate, "_aggregates", another_build_switches)
    with pytest.raises(RuntimeError, match="switched in during explain-all"):
        explain_all(url, registry.version_dir(reg["models"], reg["b"]))
    assert _generations(url) == ("scoring_gen_other", {live, "scoring_gen_other"})


def test_rescoring_is_shadow_scored_into_the_database(reg):
    """A generation scored again by the champion logs the challenger's view of every client, as on SQLite."""
    url, a, b = reg["url"], reg["a"], reg["b"]
    registry.set_challenger(reg["models"], b, "tester")
    n = regenerate(url, registry.version_dir(reg["models"], a), on_switch=lambda: None)
    with psycopg.connect(url) as con:
        logged = con.execute(
            "SELECT source, champion_version, challenger_version, client_id, champion_pd, request_id "
            f"FROM {pg.KEPT_SCHEMA}.shadow_scores"
        ).fetchall()
    assert len(logged) == n == open_store(url).meta()["n_clients"]
    assert {r[:3] for r in logged} == {("store", a, b)} and len({r[5] for r in logged}) == 1
    cid, pd = logged[0][3], logged[0][4]
    assert pd == pytest.approx(open_store(url).get_score(cid)["pd"], abs=1e-12)


def test_the_cli_takes_a_postgresql_store(reg, postgres_cluster, second_bundle, capsys):  # noqa: F811
    url = reg["url"]
    assert main(["explain-all", "--models", str(second_bundle), "--store", url, "--quiet"]) == 0
    assert store_model_version(url) == reg["b"]
    assert main(["models", "list", *reg["args"]]) == 0
    listed = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:] if line.strip()}
    assert listed[reg["b"]].rstrip().endswith("store") and "promote" in listed["note:"]
    empty = postgres_cluster.database()  # no store built there: nothing to record the command in
    assert not store_exists(empty) and store_exists(url)
    assert main(["models", "promote", reg["a"], "--models", str(reg["models"]), "--store", empty]) == 2
    assert "build-store" in capsys.readouterr().err
    assert ("models list", "ok", None) in _cli_audit(url)


def test_a_running_api_follows_a_promotion(
    url,
    postgres_api_template,
    second_bundle,  # noqa: F811 - the imported fixture
    tmp_path,
    monkeypatch,
):
    """The API in process on the database: after `promote`, a request is scored by B and reads the generation B
    scored; after `rollback`, A again. Until the worker reads the pointer again it keeps A with A's generation."""
    from scoring.store import postgres

    s = registry_app({**postgres_api_template, "store": url}, second_bundle, tmp_path)
    monkeypatch.setattr(postgres, "GENERATION_TTL", 3600.0)  # the pointer read below is reused: no re-read by chance
    assert set(_versions(s).values()) == {s["a"]}
    before = s["client"].get(f"/api/v1/clients/{s['cid']}/score", headers=s["heads"]["manager"]).json
    promotion.promote(s["models"], url, s["b"], user="tester")
    assert set(_versions(s).values()) == {s["a"]}  # the alias file moved, the pointer not yet read: A with its own
    monkeypatch.setattr(postgres, "GENERATION_TTL", 0.0)  # the time a worker reuses the pointer is over
    assert set(_versions(s).values()) == {s["b"]}
    after = s["client"].get(f"/api/v1/clients/{s['cid']}/score", headers=s["heads"]["manager"]).json
    assert after["pd"] == pytest.approx(open_store(url).get_score(s["cid"])["pd"], abs=1e-12) != before["pd"]
    promotion.rollback(s["models"], url, user="tester")
    assert set(_versions(s).values()) == {s["a"]}


def test_a_writer_waiting_behind_a_switch_writes_into_the_new_generation(url):
    """BEGIN IMMEDIATE takes the write lock, then reads the generation pointer: a writer that waited while a switch
    held the lock finds the generation switched in, not the one it replaced (where its rows would be lost)."""
    import threading

    from scoring.store import postgres_kept

    new = pg.new_generation_schema()
    seen, started = [], threading.Event()
    con = postgres_kept.connect(url)  # the kept schema checked now, not behind the switcher's locks
    with psycopg.connect(url) as switcher:
        switcher.execute("SELECT pg_advisory_xact_lock(%s)", (postgres_kept.WRITE_LOCK,))
        switcher.execute(f"CREATE SCHEMA {new}")
        pg.switch(switcher, new, "2026-12-02T00:00:00Z")

        def write():
            started.set()
            con.execute("BEGIN IMMEDIATE")  # waits for the switcher's lock
            seen.append(con.execute("SELECT current_setting('search_path')").fetchone()[0])
            con.execute("COMMIT")

        writer = threading.Thread(target=write)
        writer.start()
        assert started.wait(10)
        with psycopg.connect(url, autocommit=True) as watcher:  # the writer's backend waits on the advisory lock
            deadline = time.monotonic() + 20
            waiting = """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"""
            while watcher.execute(waiting).fetchone()[0] == 0:
                assert time.monotonic() < deadline, "the writer never waited on the write lock"
                time.sleep(0.05)
        assert not seen
        switcher.commit()
    writer.join(30)
    assert seen and seen[0].split(",")[0].strip() == new, seen
