"""The PostgreSQL backend against a real server (tests/postgres.py): a store moved from the SQLite file answers
byte for byte as the file does, a build writes the declared tables with COPY and switches generations whole, the
audit log stays append-only and its chain verifies after a migration, and no URL reaches a message."""

from __future__ import annotations

import json
import sqlite3
import time

import psycopg
import pytest

from scoring import audit, users
from scoring.store import build_store, open_store, schema
from scoring.store import postgres_schema as pg
from scoring.store.postgres import GENERATION_TTL
from scoring.store.postgres_build import migrate
from tests.test_registry import second_bundle  # noqa: F401 - the fixture


@pytest.fixture(scope="module")
def source(api_template, tmp_path_factory):
    """A copy of the API template store (built store, one user per role) with a few chained audit entries."""
    from tests.api_fixtures import copy_store

    path = copy_store(api_template["store"], tmp_path_factory.mktemp("pg-source") / "store.sqlite")
    for i in range(3):
        audit.append_audit(path, user="m", role="manager", client_id=i, route="/x", outcome="ok", model_version="v")
    return path


@pytest.fixture(scope="module")
def migrated(postgres_cluster, source) -> str:
    """The source store moved into a fresh database."""
    url = postgres_cluster.database()
    counts = migrate(source, url)
    assert counts["clients"] > 0 and counts["users"] == 3 and counts["audit"] >= 3
    return url


@pytest.fixture(scope="module")
def built(postgres_cluster, synth_dir, trained_models) -> str:
    url = postgres_cluster.database()
    assert build_store(synth_dir, trained_models, url) > 0
    return url


def _answers(store, ids) -> str:
    out = {
        "meta": store.meta(),
        "list": store.list_clients(limit=1000),
        "search": store.list_clients(search="1000", limit=50, grade="G3"),
        "aggregation": store.aggregation(),
        "offers": store.list_offers(),
    }
    for cid in ids:
        explanation = store.get_explanation(cid, top=10)
        explanation.pop("generation")  # a random name per store
        out[str(cid)] = [store.get_client(cid), store.get_score(cid), store.get_decision(cid), explanation]
    features = store.meta()["numeric_features"][:5] + store.meta()["categorical_features"][:2]
    for f in features:
        out[f] = [store.distribution(f), store.percentile(f, 1.5) if f in store.meta()["numeric_features"] else None]
        out["r" + f] = store.released_distribution(f)
    out["density"] = store.density(features[0], features[1])
    out["points"] = store.sample_points(features[0], features[1], n=200)
    return json.dumps(out, sort_keys=True)


def test_a_migrated_store_answers_byte_for_byte_as_the_file(migrated, source):
    file_store, pg_store = open_store(source), open_store(migrated)
    ids = [item["client_id"] for item in file_store.list_clients(limit=1000)["items"]][::37]
    assert _answers(pg_store, ids) == _answers(file_store, ids)
    assert pg_store.get_score(-1) is None and pg_store.get_explanation("x") is None
    assert pg_store.list_clients(search="abc") == {"total": 0, "items": []}


def test_migration_keeps_users_and_the_audit_chain(migrated, source):
    path = source
    columns = ", ".join(schema.AUDIT.column_names)
    with psycopg.connect(migrated) as con:
        rows = con.execute(f"SELECT {columns} FROM {pg.KEPT_SCHEMA}.audit ORDER BY id").fetchall()
        names = {r[0] for r in con.execute(f"SELECT username FROM {pg.KEPT_SCHEMA}.users")}
    assert rows == [tuple(r) for r in audit._rows(path)]
    assert names == {u["username"] for u in users.list_users(path)}
    key, prev = audit._key(path, create=False), audit._GENESIS
    for row in rows:  # the chain recomputed from the rows PostgreSQL holds
        entry = dict(zip(schema.AUDIT.column_names, row, strict=True))
        if entry["hash"] is None:
            continue
        assert audit._link(key, entry["id"], tuple(entry[c] for c in audit._LINKED), prev) == entry["hash"]
        prev = entry["hash"]
    assert prev != audit._GENESIS
    assert audit.verify_audit(migrated)["ok"]  # the key file beside the source moved into the database


def test_the_audit_log_is_append_only_and_ids_follow_the_copied_ones(migrated):
    with psycopg.connect(migrated) as con:
        for statement in (f"UPDATE {pg.KEPT_SCHEMA}.audit SET outcome = 'x'", f"DELETE FROM {pg.KEPT_SCHEMA}.audit"):
            with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
                con.execute(statement)
            con.rollback()
        last = con.execute(f"SELECT max(id) FROM {pg.KEPT_SCHEMA}.audit").fetchone()[0]
        new = con.execute(
            f"INSERT INTO {pg.KEPT_SCHEMA}.audit (time, route, outcome) VALUES ('t', '/r', 'ok') RETURNING id"
        ).fetchone()[0]
        con.rollback()
    assert new == last + 1
    audit.append_audit(migrated, user="m", role="manager", client_id=1, route="/y", outcome="ok", model_version="v")
    report = audit.verify_audit(migrated)  # appended on PostgreSQL, chained to the migrated entries
    assert report["ok"] and report["chained"] == report["last_id"] == last + 1


def test_a_migration_into_a_store_with_users_is_refused(migrated, source):
    with pytest.raises(ValueError, match="already holds users"):
        migrate(source, migrated)


def test_a_build_holds_exactly_the_declared_tables(built):
    with psycopg.connect(built) as con:
        where = pg.current_generation(con)
        generations = [r[0] for r in con.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'scoring_gen_%'")]
        found = {}
        for s, t, c, kind, nullable in con.execute(
            "SELECT table_schema, table_name, column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema IN (%s, %s) ORDER BY ordinal_position",
            (where, pg.KEPT_SCHEMA),
        ):
            found.setdefault((s, t), []).append((c, kind.upper(), nullable == "NO"))
    assert generations == [where]
    for table in schema.TABLES:
        place = pg.KEPT_SCHEMA if table.kept else where
        declared = [(c.name, pg.PG_TYPES[c.type], c.not_null or c.name in table.primary_key) for c in table.columns]
        assert found[(place, table.name)] == declared, table.name


def _same(a, b) -> bool:
    """Equal, floats to 1e-9 relative: two builds each run the feature SQL, and DuckDB's parallel sums may differ in
    their last bit from one run to the next (a migrated store, copied, is compared exactly above)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-12, nan_ok=True)
    return a == b


def test_a_build_answers_as_the_sqlite_build(built, store_path):
    file_store, pg_store = open_store(store_path), open_store(built)
    ids = [item["client_id"] for item in file_store.list_clients(limit=1000)["items"]][::53]
    for cid in ids:
        assert _same(pg_store.get_client(cid), file_store.get_client(cid))
        assert _same(pg_store.get_decision(cid), file_store.get_decision(cid))
        a, b = pg_store.get_explanation(cid), file_store.get_explanation(cid)
        assert a.pop("generation") != b.pop("generation") and _same(a, b)
    feature = file_store.meta()["numeric_features"][0]
    assert _same(pg_store.distribution(feature), file_store.distribution(feature))
    assert _same(pg_store.list_clients(grade="G2"), file_store.list_clients(grade="G2"))


def _generations(url: str) -> set[str]:
    with psycopg.connect(url) as con:
        return {r[0] for r in con.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'scoring_gen_%'")}


def test_a_rebuild_switches_generations_and_a_failed_one_leaves_the_store(
    postgres_cluster, built, synth_dir, trained_models, tmp_path
):
    """A pinned reader finishes on its generation; the one a switch replaces is kept until the next, older ones go."""
    store = open_store(built)
    cid = store.list_clients(limit=1)["items"][0]["client_id"]
    before = store.get_explanation(cid)["generation"]
    with pytest.raises(Exception):  # noqa: B017 - no raw tables: the build fails before any switch
        build_store(tmp_path, trained_models, built)
    assert len(_generations(built)) == 1
    assert store.get_explanation(cid)["generation"] == before
    key = store.pin_generation()
    assert _generations(built) == {key} and store.generation_key() == key
    with psycopg.connect(built, autocommit=True) as con:  # what a build that died before its switch leaves
        con.execute("CREATE SCHEMA scoring_gen_crashed")
    build_store(synth_dir, trained_models, built)
    assert store.get_explanation(cid)["generation"] == before  # pinned: the generation the request started on
    assert open_store(built).get_explanation(cid)["generation"] != before  # unpinned: the new one
    time.sleep(GENERATION_TTL)
    new_key = store.pin_generation()
    assert new_key != key and store.get_explanation(cid)["generation"] != before
    assert _generations(built) == {key, new_key}  # the replaced one kept, the crashed build's dropped


def test_a_build_with_a_challenger_logs_its_view_of_every_client(
    postgres_cluster,
    synth_dir,
    trained_models,
    second_bundle,  # noqa: F811 - the imported fixture
    tmp_path,
):
    """build-store on PostgreSQL shadow-scores the portfolio as the SQLite build does, into the kept schema."""
    import shutil

    from scoring import registry

    models = tmp_path / "models"
    shutil.copytree(trained_models, models)
    a = registry.init_registry(models, "tester")
    b = registry.add_version(models, second_bundle, "tester")
    registry.set_challenger(models, b, "tester")
    url = postgres_cluster.database()
    n = build_store(synth_dir, models, url)
    with psycopg.connect(url) as con:
        rows = con.execute(
            "SELECT source, champion_version, challenger_version, client_id, champion_pd, champion_grade, "
            f"request_id FROM {pg.KEPT_SCHEMA}.shadow_scores"
        ).fetchall()
    assert len(rows) == n and len({r[3] for r in rows}) == n and len({r[6] for r in rows}) == 1
    assert {(r[0], r[1], r[2]) for r in rows} == {("store", a, b)}
    store = open_store(url)
    cid = rows[0][3]
    assert rows[0][4] == pytest.approx(store.get_score(cid)["pd"], abs=1e-12)
    assert rows[0][5] == store.get_score(cid)["grade"]


def test_no_message_repeats_the_url(postgres_cluster):
    url = postgres_cluster.database().replace("postgres@", "postgres:s3cret@")
    with pytest.raises(FileNotFoundError, match="build-store") as err:
        open_store(url)
    assert "s3cret" not in str(err.value)
    with psycopg.connect(postgres_cluster.url()) as con:
        con.execute("SELECT 1")


def test_the_cli_migrates_a_store_and_never_prints_the_url(postgres_cluster, source, capsys):
    from scoring.cli import main

    url = postgres_cluster.database()
    assert main(["store", "migrate", "--from", str(source), "--to", url]) == 0
    out = capsys.readouterr().out
    assert "users 3" in out and "PostgreSQL database scoring_test_" in out and url not in out
    assert open_store(url).meta() == open_store(source).meta()


def _round_trips(con, action) -> tuple[int, str]:
    """(requests `action` sent on the pooled connection `con` and waited for, what it sent): libpq's trace, where
    the server's ReadyForQuery ends each request however many messages it held."""
    import tempfile

    from psycopg import pq

    with tempfile.TemporaryFile() as trace:
        con.pgconn.trace(trace.fileno())
        con.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            action()
        finally:
            con.pgconn.untrace()
        trace.seek(0)
        lines = trace.read().decode(errors="replace").splitlines()
    sent = "\n".join(line for line in lines if line.startswith("F"))
    return sum(1 for line in lines if line.startswith("B") and "ReadyForQuery" in line), sent


def test_a_read_is_one_statement_in_one_round_trip(migrated):
    """A lookup is its statement alone, its tables named in the generation read: no BEGIN, search_path or COMMIT
    around it (four round trips before), pinned or not; and it refuses anything but a SELECT."""
    from scoring.store.postgres_pool import pool

    store = open_store(migrated)
    cid = store.list_clients(limit=1)["items"][0]["client_id"]
    for pinned in (False, True):
        if pinned:
            store.pin_generation()
        store.get_explanation(cid)  # the generation's layout read (and cached)
        with pool(migrated, autocommit=True).connection() as con:
            saved, con.prepare_threshold = con.prepare_threshold, None  # its text sent each time, as first sent
        try:  # the readers' connection just given back: the next read's
            trips, sent = _round_trips(con, lambda: [store.get_explanation(cid) for _ in range(5)])
        finally:
            con.prepare_threshold = saved
        assert trips == 5, sent
        assert sent.count(f"FROM {store.generation_key()}.clients c JOIN") == 5, sent
        assert not any(word in sent for word in ("BEGIN", "COMMIT", "search_path", "set_config"))
    with pytest.raises(sqlite3.OperationalError, match="readonly"):  # as the SQLite backend's read connection
        store._con().execute("DELETE FROM users")


def test_kept_only_statements_are_named_in_the_kept_schema():
    """A statement on kept tables alone names them in the kept schema; anything else is left to the search_path."""
    from scoring.store.postgres_kept import kept_only

    k = pg.KEPT_SCHEMA
    assert kept_only("SELECT role FROM users WHERE username = %s") == f"SELECT role FROM {k}.users WHERE username = %s"
    assert (
        kept_only("INSERT INTO audit (id, hash) VALUES (%s, %s)") == f"INSERT INTO {k}.audit (id, hash) VALUES (%s, %s)"
    )
    assert kept_only("UPDATE users SET token_epoch = 2") == f"UPDATE {k}.users SET token_epoch = 2"
    assert kept_only("SELECT count(*) FROM audit a JOIN users u ON u.username = a.username") == (
        f"SELECT count(*) FROM {k}.audit a JOIN {k}.users u ON u.username = a.username"
    )
    assert kept_only("SELECT * FROM offers o JOIN users u ON u.client_id = o.client_id") is None  # a generation's
    assert kept_only("SELECT * FROM audit, users") is None  # a comma join: users would not be named
    assert kept_only("SELECT users FROM audit") is None  # a column of a table's name
    assert kept_only("SELECT current_setting('search_path')") is None  # no store table: on the search_path
    assert kept_only(f"SELECT * FROM {k}.users") is None  # already named


def test_the_token_check_and_an_audit_append_skip_the_search_path(migrated):
    """The user row every request checks its token against is one round trip on the readers' pool (it was four:
    BEGIN, search_path, SELECT, COMMIT); an audit append takes the write lock, then reads and writes the chain
    in the kept schema, with no search_path statement; the chain still verifies."""
    from scoring.store.postgres_pool import pool

    name = users.list_users(migrated)[0]["username"]
    assert users.get_user(migrated, name) is not None
    with pool(migrated, autocommit=True).connection() as con:
        pass
    trips, sent = _round_trips(con, lambda: users.get_user(migrated, name))
    assert trips == 1 and f"FROM {pg.KEPT_SCHEMA}.users" in sent, sent
    assert not any(word in sent for word in ("BEGIN", "COMMIT", "search_path"))

    def append():
        audit.append_audit(
            migrated, user=name, role="manager", client_id=1, route="/x", outcome="ok", model_version="v"
        )

    append()
    with pool(migrated).connection() as con:
        pass
    trips, sent = _round_trips(con, append)
    assert "search_path" not in sent and "pg_advisory_xact_lock" in sent, sent
    assert sent.index("pg_advisory_xact_lock") < sent.index(f"FROM {pg.KEPT_SCHEMA}.audit ORDER BY id DESC")
    assert f"INTO {pg.KEPT_SCHEMA}.audit" in sent and trips == 5  # BEGIN and the lock, the last entry, insert, commit
    assert audit.verify_audit(migrated)["ok"]


def test_a_request_pinned_on_a_dropped_generation_reads_the_current_one(
    postgres_cluster, postgres_api_template, synth_dir, trained_models
):
    """Two switches after a pin, its generation is gone: a read finds the one the pointer names, not an error."""
    url = postgres_cluster.database(template=postgres_api_template["store"])
    store = open_store(url)
    cid = store.list_clients(limit=1)["items"][0]["client_id"]
    first = store.pin_generation()
    before = store.get_explanation(cid)["generation"]
    build_store(synth_dir, trained_models, url)
    assert store.get_explanation(cid)["generation"] == before  # pinned: kept until the next switch
    build_store(synth_dir, trained_models, url)
    assert first not in _generations(url)
    now = open_store(url).get_explanation(cid)["generation"]
    assert store.get_explanation(cid)["generation"] == now != before


_FIRST_REQUESTS = """
import sys
from gevent import monkey
monkey.patch_all(thread=False, time=False)  # as an API worker (deploy/gunicorn.conf.py)
import gevent
from scoring import users
done = []
def first_request(i):
    users.get_user(sys.argv[1], "nobody")  # the token check: the kept tables ensured, a connection made
    done.append(i)
gevent.joinall([gevent.spawn(first_request, i) for i in range(4)], timeout=30)
print(len(done))
"""


def test_a_gevent_workers_first_requests_at_once_all_answer(postgres_cluster):
    """A fresh worker's first requests each make their first connection (a cooperative wait in gevent) before the
    kept tables are known to exist: none may wait for another's connection under an OS lock, which would stop the
    whole worker for good (seen as a second worker that served nothing)."""
    import subprocess
    import sys
    from pathlib import Path

    url = postgres_cluster.database()
    root = Path(__file__).resolve().parents[1]
    ran = subprocess.run(
        [sys.executable, "-c", _FIRST_REQUESTS, url], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.split() == ["4"]
