"""The audit log (issue #9 item 2): durable appends, a tamper-evident chain and its verify command, one entry per
request for every client read and every refusal on any route, routes stored normalised, a one-line-per-record export."""

from __future__ import annotations

import csv
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from scoring import audit, users
from scoring.cli import main as cli
from scoring.store.connection import connect, retry

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "quiet amber lantern harbour"
ENTRY = {"role": "manager", "client_id": 100002, "outcome": "ok", "model_version": "v1"}


@pytest.fixture(autouse=True)
def _own_keys(monkeypatch):
    """The chain key comes from the .secret_key file beside each test's store, never from the developer's env."""
    monkeypatch.delenv("SCORING_AUDIT_KEY", raising=False)
    monkeypatch.delenv("SCORING_SECRET_KEY", raising=False)


@pytest.fixture()
def store(scores_only_store) -> Path:
    return scores_only_store


def _fill(store, n=6) -> None:
    for i in range(1, n + 1):
        audit.append_audit(store, user=f"u{i}", route=f"GET /r{i}", **ENTRY)


def _attacker(store) -> sqlite3.Connection:
    """What anyone who can write the file can do: drop the append-only triggers."""
    con = sqlite3.connect(store, isolation_level=None)
    con.execute("DROP TRIGGER audit_no_update")
    con.execute("DROP TRIGGER audit_no_delete")
    return con


def _verify(store, *extra) -> tuple[int, str]:
    """`python -m scoring audit verify` in process: (exit code, stdout + stderr)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli(["audit", "verify", "--store", str(store), *extra])
    return code, out.getvalue() + err.getvalue()


# --- durable, append-only appends (moved from test_users.py) ---------------------------------------------------------


def test_audit_append_read_export(store, tmp_path):
    audit.append_audit(
        store,
        user="alice",
        role="manager",
        client_id=100002,
        route="/api/v1/clients/<id>",
        outcome="200",
        model_version="v1",
    )
    audit.append_audit(
        store,
        user=None,
        role=None,
        client_id="abc",
        route="/api/v1/clients/<id>/score",
        outcome="401",
        model_version="v1",
    )
    entries = audit.read_audit(store)
    assert [e["outcome"] for e in entries] == ["200", "401"]
    assert entries[0]["username"] == "alice" and entries[0]["client_id"] == 100002
    assert entries[1]["client_id"] is None
    assert entries[0]["time"].endswith("+00:00")  # UTC, ISO 8601
    assert all(len(e["hash"]) == 64 for e in entries)
    out = tmp_path / "audit" / "audit.csv"
    assert audit.export_audit(store, out) == 2
    assert out.stat().st_mode & 0o777 == 0o600  # it names clients
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["route"] for r in rows] == ["/api/v1/clients/<id>", "/api/v1/clients/<id>/score"]
    assert set(rows[0]) == set(audit.AUDIT_COLUMNS)


def test_audit_is_append_only(store):
    audit.append_audit(store, user="alice", role="manager", client_id=1, route="r", outcome="200", model_version="v")
    con = sqlite3.connect(store)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE audit SET outcome = '403'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM audit")
    con.close()
    assert audit.read_audit(store)[0]["outcome"] == "200"


def test_audit_waits_for_another_writer_then_appends(store):
    """A writer holding the lock (another worker mid-commit) delays an append; it neither fails nor is lost."""
    audit.append_audit(store, user="a", role="manager", client_id=1, route="/first", outcome="ok", model_version="v")
    other = sqlite3.connect(store, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    releaser = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    releaser.start()
    started = time.monotonic()
    audit.append_audit(store, user="a", role="manager", client_id=1, route="/second", outcome="ok", model_version="v")
    assert time.monotonic() - started >= 0.25
    releaser.join()
    other.close()
    entries = audit.read_audit(store)
    assert [e["route"] for e in entries] == ["/first", "/second"]
    assert entries[1]["id"] == entries[0]["id"] + 1
    assert audit.verify_audit(store)["ok"]


def test_a_lock_never_released_gives_a_clear_error(store):
    audit.append_audit(store, user="a", role="manager", client_id=1, route="/x", outcome="ok", model_version="v")
    other = sqlite3.connect(store, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            retry(lambda: audit._append(connect(store), audit._key(store), [("t",) * 7]), wait_seconds=0.2)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert [e["route"] for e in audit.read_audit(store)] == ["/x"]


def test_audit_survives_a_hard_crash(store):
    """A process killed right after append_audit returns (no close, no exit handlers) leaves its entry behind."""
    code = textwrap.dedent(f"""
        import os
        from scoring import audit
        audit.append_audit({str(store)!r}, user="alice", role="manager", client_id=100002, route="/x",
                           outcome="200", model_version="v1")
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
    assert [e["route"] for e in audit.read_audit(store)] == ["/x"]
    con = sqlite3.connect(store)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_no_password_reaches_the_audit_or_user_listing(store, tmp_path):
    users.add_user(store, "alice", PASSWORD, "manager")
    audit.append_audit(
        store,
        user="alice",
        role="manager",
        client_id=None,
        route="/api/v1/auth/token",
        outcome="200",
        model_version="v1",
    )
    out = tmp_path / "audit.csv"
    audit.export_audit(store, out)
    assert PASSWORD not in out.read_text()
    assert PASSWORD not in repr(users.list_users(store))


# --- tamper evidence -------------------------------------------------------------------------------------------------


def test_an_intact_chain_verifies(store):
    _fill(store)
    code, text = _verify(store)
    assert code == 0 and "intact: 6 chained entries" in text
    head = audit.read_audit(store)[-1]
    assert f"--expect 6:{head['hash']}" in text
    assert _verify(store, "--expect", f"6:{head['hash']}")[0] == 0


def test_an_altered_field_is_named(store):
    _fill(store)
    _attacker(store).execute("UPDATE audit SET outcome = 'refused 404 not_found' WHERE id = 3")
    report = audit.verify_audit(store)
    assert not report["ok"] and report["problem"]["id"] == 3 and "altered" in report["problem"]["what"]
    code, text = _verify(store)
    assert code == 1 and "entry #3 altered" in text


def test_an_altered_field_with_a_recomputed_hash_is_named(store):
    """Without the key, a recomputed hash is just another wrong hash."""
    import hashlib

    _fill(store)
    con = _attacker(store)
    con.execute("UPDATE audit SET client_id = 100003 WHERE id = 2")
    con.execute("UPDATE audit SET hash = ? WHERE id = 2", (hashlib.sha256(b"guess").hexdigest(),))
    assert audit.verify_audit(store)["problem"]["id"] == 2


def test_a_deleted_middle_entry_is_named(store):
    _fill(store)
    _attacker(store).execute("DELETE FROM audit WHERE id = 4")
    report = audit.verify_audit(store)
    assert report["problem"] == {"id": 4, "what": "missing: entry #4 was deleted (the next entry present is #5)"}
    code, text = _verify(store)
    assert code == 1 and "entry #4 missing" in text


def test_deleted_and_renumbered_entries_are_named(store):
    """Deleting #2 then renumbering #3.. to close the gap: #2 (the old #3) no longer follows #1."""
    _fill(store)
    con = _attacker(store)
    con.execute("DELETE FROM audit WHERE id = 2")
    for old in range(3, 7):
        con.execute("UPDATE audit SET id = ? WHERE id = ?", (old - 1, old))
    report = audit.verify_audit(store)
    assert report["problem"]["id"] == 2 and "out of place" in report["problem"]["what"]


def test_reordered_entries_are_named(store):
    _fill(store)
    con = _attacker(store)
    rows = {r[0]: r[1:] for r in con.execute("SELECT id, time, username, route, hash FROM audit WHERE id IN (2, 3)")}
    for target, source in ((2, 3), (3, 2)):
        con.execute(
            "UPDATE audit SET time = ?, username = ?, route = ?, hash = ? WHERE id = ?", (*rows[source], target)
        )
    assert audit.verify_audit(store)["problem"]["id"] == 2


def test_a_forged_entry_is_named(store, monkeypatch):
    """A forged entry inserted in the middle (later ones moved up), linked with the attacker's own key."""
    _fill(store)
    con = _attacker(store)
    for old in range(6, 3, -1):
        con.execute("UPDATE audit SET id = ? WHERE id = ?", (old + 1, old))
    prev = con.execute("SELECT hash FROM audit WHERE id = 3").fetchone()[0]
    monkeypatch.setenv("SCORING_AUDIT_KEY", "the attacker's key")
    fields = ("2026-01-01T00:00:00.000+00:00", "mallory", "manager", 100002, "GET /x", "ok", "v1")
    forged = audit._link(audit._key(store), 4, fields, prev)
    monkeypatch.delenv("SCORING_AUDIT_KEY")
    con.execute(
        f"INSERT INTO audit ({', '.join(audit.AUDIT_COLUMNS)}) VALUES (4, ?, ?, ?, ?, ?, ?, ?, ?)", (*fields, forged)
    )
    report = audit.verify_audit(store)
    assert report["problem"]["id"] == 4 and "forged" in report["problem"]["what"]
    assert _verify(store)[0] == 1


def test_a_cut_tail_is_caught_against_a_recorded_head(store):
    _fill(store)
    head = audit.read_audit(store)[-1]
    _attacker(store).execute("DELETE FROM audit WHERE id >= 5")
    assert audit.verify_audit(store)["ok"]  # the chain alone cannot show it (documented)
    code, text = _verify(store, "--expect", f"{head['id']}:{head['hash']}")
    assert code == 1 and "entry #6 missing" in text and "cut after #4" in text


def test_verify_refuses_another_key_and_a_missing_key(store, monkeypatch, tmp_path):
    _fill(store, 2)
    monkeypatch.setenv("SCORING_AUDIT_KEY", "not the key the API had")
    assert audit.verify_audit(store)["problem"]["id"] == 1
    monkeypatch.delenv("SCORING_AUDIT_KEY")
    copy = tmp_path / "elsewhere" / "store.sqlite"
    copy.parent.mkdir()
    shutil.copy(store, copy)  # without the .secret_key file beside it: say so, do not make up a key
    code, text = _verify(copy)
    assert code == 2 and "no audit key" in text
    assert not (copy.parent / ".secret_key").exists()


def test_an_older_store_is_migrated_and_its_entries_reported_before_the_chain(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE audit (id INTEGER PRIMARY KEY, time TEXT NOT NULL, username TEXT, role TEXT, client_id INTEGER,
                            route TEXT NOT NULL, outcome TEXT NOT NULL, model_version TEXT);
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'append-only'); END;
        INSERT INTO audit (time, username, route, outcome) VALUES ('t1', 'old', '/a', 'ok'), ('t2', 'old', '/b', 'ok'),
                                                                  ('t3', 'old', '/c', 'ok');
    """)
    con.close()
    _fill(path, 2)
    report = audit.verify_audit(path)
    assert report["ok"] and (report["before_chain"], report["chained"], report["last_id"]) == (3, 2, 5)
    code, text = _verify(path)
    assert code == 0 and "2 chained entries, 3 before the chain" in text
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("DROP TRIGGER audit_no_update")
    con.execute("UPDATE audit SET hash = NULL WHERE id = 5")  # passing a chained entry off as an old one
    assert audit.verify_audit(path)["problem"]["id"] == 5


def test_two_processes_appending_at_once_keep_one_valid_chain(store):
    _fill(store, 1)
    start = time.time() + 3
    code = textwrap.dedent(f"""
        import sys, time
        from scoring import audit
        time.sleep(max(0.0, {start} - time.time()))
        for i in range(300):
            audit.append_audit({str(store)!r}, user=sys.argv[1], role="manager", client_id=i, route="GET /x",
                               outcome="ok", model_version="v")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code, name], cwd=ROOT) for name in ("w1", "w2")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    entries = audit.read_audit(store)
    names = [e["username"] for e in entries[1:]]
    assert len(entries) == 601 and names.count("w1") == names.count("w2") == 300
    assert sum(a != b for a, b in zip(names, names[1:], strict=False)) > 2  # they really interleaved
    report = audit.verify_audit(store)
    assert report["ok"] and report["chained"] == 601


# --- one record per line ---------------------------------------------------------------------------------------------


def test_control_characters_are_escaped_and_the_export_has_one_record_per_line(store, tmp_path):
    audit.append_audit(
        store,
        user='eve\r\nadmin,"x"\u202e',
        role="customer",
        client_id="1\n2",
        route="GET /api/v1/clients/1\n\r/score",
        outcome="ok\x00",
        model_version="v\x1b[31m",
    )
    audit.append_audit(
        store, user='=HYPERLINK("http://x")', role=None, client_id=None, route="/r", outcome="ok", model_version=None
    )
    entry = audit.read_audit(store)[0]
    assert entry["username"] == 'eve\\x0d\\x0aadmin,"x"\\u202e' and entry["client_id"] is None
    assert entry["route"] == "GET /api/v1/clients/1\\x0a\\x0d/score" and entry["outcome"] == "ok\\x00"
    assert audit.clean("a\\b") == "a\\\\b"  # a literal backslash cannot pass for an escape
    out = tmp_path / "audit.csv"
    assert audit.export_audit(store, out) == 2
    lines = out.read_text(encoding="utf-8").split("\n")
    assert len(lines) == 4 and lines[-1] == ""  # header, 2 records, final newline
    rows = list(csv.reader(lines[1:3]))
    assert rows[1][2].startswith("'=")  # a spreadsheet shows it as text, never runs it
    assert audit.verify_audit(store)["ok"]


# --- the API: every client read and every refusal, once, with the route normalised ------------------------------------


@pytest.fixture(scope="module")
def api(store_path, trained_models, tmp_path_factory):
    from api import create_app
    from scoring.store import open_store

    path = tmp_path_factory.mktemp("audit-api") / "store.sqlite"
    shutil.copy(store_path, path)
    store = open_store(path)
    ids = [c["client_id"] for c in store.list_clients(limit=2)["items"]]
    users.add_user(path, "boss", PASSWORD, "manager")
    users.add_user(path, "alice", PASSWORD, "customer", client_id=ids[0])
    users.add_user(path, "carol", PASSWORD, "customer", client_id=ids[0])
    app = create_app({"STORE_PATH": path, "MODELS_DIR": trained_models, "SECRET_KEY": "audit-tests", "TOKEN_TTL": 3600})
    client = app.test_client()
    meta = store.meta()
    numeric = [f for f in meta["feature_names"] if f not in set(meta.get("categorical_features", []))]
    grid = store.aggregation()["grid_features"]  # the pairs customers may ask a 2-D view of

    def token(name):
        response = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
        assert response.status_code == 200, response.json
        return {"Authorization": f"Bearer {response.json['access_token']}"}

    return {
        "client": client,
        "store": path,
        "own": ids[0],
        "other": ids[1],
        "numeric": numeric,
        "grid": grid,
        "heads": {name: token(name) for name in ("boss", "alice", "carol")},
    }


def _new_entries(api, request) -> tuple[object, list[dict]]:
    before = len(audit.read_audit(api["store"]))
    response = request()
    return response, audit.read_audit(api["store"])[before:]


def test_a_manager_reading_one_clients_feature_values_is_audited_each_time(api):
    client, other, boss = api["client"], api["other"], api["heads"]["boss"]
    features = api["numeric"][:8]
    for feature in features:
        response, entries = _new_entries(
            api, lambda f=feature: client.get(f"/api/v1/features/{f}/distribution?client_id={other}", headers=boss)
        )
        assert response.status_code == 200 and response.json["client"]["client_id"] == other
        assert [(e["username"], e["client_id"], e["outcome"], e["route"]) for e in entries] == [
            ("boss", other, f"ok {feature}", "GET /api/v1/features/<name>/distribution")
        ]
    x, y = features[:2]
    response, entries = _new_entries(
        api, lambda: client.get(f"/api/v1/features/bivariate?x={x}&y={y}&client_id={other}", headers=boss)
    )
    assert response.status_code == 200
    assert [(e["client_id"], e["outcome"]) for e in entries] == [(other, f"ok {x},{y}")]
    response, entries = _new_entries(api, lambda: client.get("/api/v1/clients?limit=5", headers=boss))
    assert response.status_code == 200 and [e["outcome"] for e in entries] == ["listed 5"]


def test_every_refused_customer_action_leaves_exactly_one_entry(api):
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    from api.auth import _SALT

    class _LongAgo(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - 10 * 3600

    client, own, other, alice = api["client"], api["own"], api["other"], api["heads"]["alice"]
    x, y = api["grid"][:2]
    expired = URLSafeTimedSerializer("audit-tests", salt=_SALT, signer=_LongAgo).dumps(
        {"u": "alice", "r": "customer", "c": own, "e": 1}
    )
    carol = api["heads"]["carol"]
    users.remove_user(api["store"], "carol")  # her token is revoked with her
    attempts = {
        "another file": (lambda: client.get(f"/api/v1/clients/{other}", headers=alice), 404, "alice", other),
        "another score": (lambda: client.get(f"/api/v1/clients/{other}/score", headers=alice), 404, "alice", other),
        "another explanation": (
            lambda: client.get(f"/api/v1/clients/{other}/explanation", headers=alice),
            404,
            "alice",
            other,
        ),
        "a what-if": (
            lambda: client.post(
                f"/api/v1/clients/{other}/what-if", json={"changes": {"AMT_CREDIT": 1e5}}, headers=alice
            ),
            403,
            "alice",
            other,
        ),
        "another distribution": (
            lambda: client.get(f"/api/v1/features/{x}/distribution?client_id={other}", headers=alice),
            404,
            "alice",
            other,
        ),
        "another bivariate": (
            lambda: client.get(f"/api/v1/features/bivariate?x={x}&y={y}&client_id={other}", headers=alice),
            404,
            "alice",
            other,
        ),
        "the client list": (lambda: client.get("/api/v1/clients", headers=alice), 403, "alice", None),
        "a malformed id": (lambda: client.get("/api/v1/clients/12ab/score", headers=alice), 404, "alice", None),
        "a bad token": (
            lambda: client.get(f"/api/v1/clients/{own}", headers={"Authorization": "Bearer forged"}),
            401,
            None,
            own,
        ),
        "an expired token": (
            lambda: client.get(f"/api/v1/clients/{own}", headers={"Authorization": f"Bearer {expired}"}),
            401,
            None,
            own,
        ),
        "a revoked token": (lambda: client.get(f"/api/v1/clients/{own}", headers=carol), 401, None, own),
        "no token": (lambda: client.get(f"/api/v1/clients/{own}/explanation"), 401, None, own),
        "a failed sign-in": (
            lambda: client.post("/api/v1/auth/token", json={"username": "alice", "password": "not her password"}),
            401,
            "alice",
            None,
        ),
    }
    for name, (request, status, username, client_id) in attempts.items():
        response, entries = _new_entries(api, request)
        assert response.status_code == status, (name, response.json)
        assert len(entries) == 1, (name, entries)
        entry = entries[0]
        assert entry["outcome"] == "denied" or entry["outcome"].startswith(f"refused {status} "), (name, entry)
        assert (entry["username"], entry["client_id"]) == (username, client_id), (name, entry)
        assert entry["route"].split()[0] in ("GET", "POST") and entry["route"].split()[1].startswith("/api/v1/")
        assert str(own) not in entry["route"] and str(other) not in entry["route"], (name, entry)  # the URL rule
    assert "not her password" not in repr(audit.read_audit(api["store"]))
    assert audit.verify_audit(api["store"])["ok"]


def test_rate_limited_sign_ins_are_audited_with_the_username_tried(api):
    client = api["client"]
    outcomes = []
    for _ in range(6):  # the default limit: 5 wrong passwords per username, then 429
        response, entries = _new_entries(
            api, lambda: client.post("/api/v1/auth/token", json={"username": "zed", "password": "guess number n"})
        )
        assert len(entries) == 1 and entries[0]["username"] == "zed" and entries[0]["role"] is None
        outcomes.append((response.status_code, entries[0]["outcome"]))
    assert outcomes == [(401, "refused 401 bad_credentials")] * 5 + [(429, "refused 429 too_many_attempts")]


def test_routes_are_stored_normalised_and_odd_usernames_escaped(api, tmp_path):
    client, alice = api["client"], api["heads"]["alice"]
    response, entries = _new_entries(api, lambda: client.get("/api/v1/clients/1%0A%0D/score", headers=alice))
    assert response.status_code == 404
    # "1\n\r" is not an id (int() would read it as client 1): refused as malformed, the route stored as its rule
    assert [(e["route"], e["client_id"], e["outcome"]) for e in entries] == [
        ("GET /api/v1/clients/<client_id>/score", None, "refused 404 not_found")
    ]
    other = api["other"]
    response, entries = _new_entries(api, lambda: client.get(f"/api/v1/clients/{other}/score", headers=alice))
    assert [(e["client_id"], e["outcome"]) for e in entries] == [(other, "denied")]  # the id in its own column
    response, entries = _new_entries(api, lambda: client.get("/api/v1/clients/x%0A%0D,1", headers=alice))
    assert response.status_code == 404
    assert [(e["route"], e["client_id"]) for e in entries] == [("GET /api/v1/clients/<client_id>", None)]
    odd = 'mallory\r\nok,1,"2"\x1b[2J'
    response, entries = _new_entries(
        api, lambda: client.post("/api/v1/auth/token", json={"username": odd, "password": "x" * 12})
    )
    assert response.status_code == 401
    assert entries[0]["username"] == 'mallory\\x0d\\x0aok,1,"2"\\x1b[2J'
    out = tmp_path / "audit.csv"
    n = audit.export_audit(api["store"], out)
    with open(out, encoding="utf-8", newline="") as handle:
        assert sum(1 for _ in handle) == n + 1  # one physical line per record, after the header
    assert all(ord(c) >= 32 for line in out.read_text().splitlines() for c in line)


@pytest.mark.slow
def test_two_api_workers_under_load_keep_one_valid_chain(api, trained_models, tmp_path):
    """The served set-up: 2 gunicorn workers, 8 callers at once, reads and refusals: one entry each, one chain."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from tests.servers import gunicorn

    store = tmp_path / "store.sqlite"
    source, copy = sqlite3.connect(api["store"]), sqlite3.connect(store)
    source.backup(copy)  # with what is still in the WAL (users, entries)
    source.close()
    copy.close()
    key_file = api["store"].parent / ".secret_key"
    if key_file.exists():  # the key of the entries already there goes with them
        shutil.copy(key_file, tmp_path / ".secret_key")
    before = len(audit.read_audit(store))
    env = {"SCORING_STORE": str(store), "SCORING_MODELS": str(trained_models)}
    with gunicorn("api:create_app()", env, workers=2, ready_path="/ready", log_path=tmp_path / "api.log") as base:
        session = requests.post(
            f"{base}/api/v1/auth/token", json={"username": "alice", "password": PASSWORD}, timeout=30
        ).json()
        assert "access_token" in session, session
        own = {"Authorization": f"Bearer {session['access_token']}"}
        urls = [
            (f"/api/v1/clients/{api['own']}/explanation", own, 200),
            (f"/api/v1/clients/{api['other']}/score", own, 404),
            (f"/api/v1/clients/{api['own']}/score", {}, 401),
        ] * 100

        def call(item):
            path, headers, status = item
            with requests.get(base + path, headers=headers, timeout=30) as response:
                return response.status_code == status

        with ThreadPoolExecutor(8) as pool:
            assert all(pool.map(call, urls))
    entries = audit.read_audit(store)[before:]
    assert len(entries) == len(urls)  # each call is one entry (a successful sign-in is none)
    assert {e["outcome"] for e in entries} >= {"ok", "denied", "refused 401 missing_token"}
    report = audit.verify_audit(store)
    assert report["ok"] and report["chained"] >= len(urls)
