"""Audit entries of concurrent requests committed together (api/audit_commit.py): each request returns once its own
entry is committed, the entries of one round of requests share a transaction, chained in order; a failed commit
fails every request it held and writes none of their entries; an interrupted leader leaves nobody waiting. Then the
served set-up: real gunicorn, requests arriving together on several connections."""

from __future__ import annotations

import socket
import sqlite3
import time

import gevent
import pytest
import requests

from api import audit_commit
from scoring import audit
from tests.api_fixtures import PASSWORD
from tests.servers import gunicorn, worker_counters


@pytest.fixture(autouse=True)
def _own_keys(monkeypatch):
    monkeypatch.delenv("SCORING_AUDIT_KEY", raising=False)
    monkeypatch.delenv("SCORING_SECRET_KEY", raising=False)


@pytest.fixture()
def cooperative(monkeypatch):
    """Greenlets of this test stand for a gevent worker's requests (the test process's sockets are not patched)."""
    from gevent.event import Event

    monkeypatch.setattr(audit_commit, "_gevent_event", lambda: Event)


def _entry(n: int) -> tuple:
    return audit.entry(user=f"u{n}", role="manager", client_id=n, route=f"GET /r{n}", outcome="ok", model_version="v")


def _requests_at_once(queue, n: int) -> list[gevent.Greenlet]:
    """`n` requests appending their entry at once; each greenlet's value: its number, or what its append raised."""

    def request(i):
        try:
            queue.append(_entry(i))
        except Exception as exc:  # noqa: BLE001 - the test reads it (a greenlet's own failure would be printed)
            return exc
        return i

    greenlets = [gevent.spawn(request, i) for i in range(n)]
    gevent.joinall(greenlets, timeout=30)
    return greenlets


def test_entries_of_requests_running_together_share_one_commit(scores_only_store, cooperative):
    queue = audit_commit.GroupCommit(scores_only_store)
    done = _requests_at_once(queue, 5)
    assert [g.value for g in done] == list(range(5))  # every request returned, none raised
    assert (queue.commits, queue.entries) == (1, 5)
    assert [e["route"] for e in audit.read_audit(scores_only_store)] == [f"GET /r{i}" for i in range(5)]
    assert audit.verify_audit(scores_only_store)["ok"]
    _requests_at_once(queue, 3)  # the next round: a new leader, chained after the first round
    assert (queue.commits, queue.entries) == (2, 8)
    report = audit.verify_audit(scores_only_store)
    assert report["ok"] and report["chained"] == 8


def test_a_failed_commit_fails_every_request_it_held_and_writes_none(scores_only_store, cooperative, monkeypatch):
    queue = audit_commit.GroupCommit(scores_only_store)
    calls = []

    def failing(store, entries):
        calls.append(len(entries))
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(audit.__name__ + ".append_entries", failing)
    done = _requests_at_once(queue, 4)
    assert calls == [4]  # one transaction was tried, for all four
    assert all(isinstance(g.value, sqlite3.OperationalError) for g in done)
    assert audit.read_audit(scores_only_store) == []
    assert (queue.commits, queue.entries) == (0, 0)


def test_a_leader_interrupted_while_waiting_still_commits_the_queued_entries(scores_only_store, cooperative):
    queue = audit_commit.GroupCommit(scores_only_store)
    leader = gevent.spawn(queue.append, _entry(1))
    follower = gevent.spawn(queue.append, _entry(2))
    gevent.sleep(0)  # both have queued: the leader waits for the loop to be idle, the follower for the commit
    assert len(queue._queue) == 2
    leader.kill(block=True, timeout=30)  # e.g. the worker's request timeout
    follower.join(timeout=30)
    assert follower.successful()
    assert [e["route"] for e in audit.read_audit(scores_only_store)] == ["GET /r1", "GET /r2"]
    assert not queue._leading


def test_outside_a_gevent_worker_each_entry_is_its_own_commit(scores_only_store):
    """Greenlets in a process whose sockets are not patched (a command, the test client) do not wait for each
    other: each entry is written alone, at once."""
    queue = audit_commit.GroupCommit(scores_only_store)
    done = _requests_at_once(queue, 3)
    assert [g.value for g in done] == list(range(3))
    assert (queue.commits, queue.entries) == (3, 3)
    assert audit.verify_audit(scores_only_store)["ok"]


def test_served_requests_arriving_together_share_commits(fresh_api_env, tmp_path):
    """8 connections, a request sent on each at once, 10 rounds: every request answered 200 with its own entry in
    one valid chain, and the worker committed fewer transactions than entries."""
    store, api = fresh_api_env["store"], fresh_api_env
    before = len(audit.read_audit(store))
    env = {"SCORING_STORE": str(store), "SCORING_MODELS": str(api["models"])}
    with gunicorn("api:create_app()", env, workers=1, ready_path="/ready", log_path=tmp_path / "api.log") as base:
        port = int(base.rsplit(":", 1)[1])
        token = requests.post(
            f"{base}/api/v1/auth/token", json={"username": "manager", "password": PASSWORD}, timeout=30
        ).json()["access_token"]
        request = (
            f"GET /api/v1/clients/{api['own']}/score HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
        connections = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(8)]
        time.sleep(0.3)  # every connection accepted, its greenlet waiting to read
        statuses = []
        for _ in range(10):
            for sock in connections:
                sock.sendall(request)
            statuses += [_status(sock) for sock in connections]
        for sock in connections:
            sock.close()
        counted = worker_counters(base, ("scoring_audit_commits_total", "scoring_audit_entries_total"))
        commits, entries = counted["scoring_audit_commits_total"], counted["scoring_audit_entries_total"]
    assert statuses == [200] * 80
    written = audit.read_audit(store)[before:]
    assert len(written) == 80 == entries
    assert {(e["route"], e["outcome"], e["username"]) for e in written} == {
        ("GET /api/v1/clients/<client_id>/score", "ok", "manager")
    }
    assert audit.verify_audit(store)["ok"]
    assert commits <= entries / 2, (commits, entries)


def _status(sock: socket.socket) -> int:
    """The status of the next response on a keep-alive connection, its body read to the end."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = int(next(x for x in lines if x.lower().startswith(b"content-length")).split(b":")[1])
    while len(rest) < length:
        rest += sock.recv(65536)
    assert len(rest) == length  # one response at a time on each connection
    return int(lines[0].split()[1])
