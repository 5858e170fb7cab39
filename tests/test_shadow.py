"""Shadow scoring (#13): the challenger scores what the champion decided (API, batch predict, store re-scoring),
both logged in shadow_scores; a challenger failing never fails the answer; the metrics; and the registry's
in-flight gap closed (a request pinned before a swap reads its generation to the end, with its bundle)."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from flask import current_app

from scoring import registry
from scoring.applicant_schema import validate_applicant
from scoring.decision import load_policy
from scoring.decision.service import decide_applicants
from scoring.registry import promotion
from scoring.shadow.log import write_rows
from scoring.shadow.rows import COLUMNS
from tests.api_fixtures import registry_app
from tests.test_registry import second_bundle  # noqa: F401 - the fixture


def _shadow(store) -> list[dict]:
    with closing(sqlite3.connect(store)) as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT * FROM shadow_scores ORDER BY id")]


def _applicant(store, cid) -> dict:
    from scoring.store import open_store

    raw = open_store(store).get_client(cid)["application"]
    return {"application": {k: v for k, v in raw.items() if v is not None and k != "SK_ID_CURR"}}


@pytest.fixture()
def served(fresh_api_env, second_bundle, tmp_path, monkeypatch):  # noqa: F811 - the imported fixture
    """The API on a registry: A champion (its store), B challenger; the headers of each role. Each request's
    applicants go to the challenger as soon as it closes (the queue's batching has its own test)."""
    monkeypatch.setattr("api.shadow.FLUSH_APPLICANTS", 1)
    return registry_app(fresh_api_env, second_bundle, tmp_path, challenger=True)


def _post(s, path, body, **headers):
    response = s["client"].post(path, json=body, headers={**s["heads"]["service"], **headers})
    response.close()  # what the WSGI server does once the answer is sent: the challenger runs then
    assert response.status_code == 200, response.json
    return response


def test_posted_applicants_are_shadow_scored_and_only_the_champion_answers(served):
    s = served
    one, two = _applicant(s["store"], s["cid"]), _applicant(s["store"], s["other"])
    answer = _post(s, "/api/v1/score", one, **{"X-Request-ID": "req-0123456789abcdef"})
    assert answer.headers["X-Request-ID"] == "req-0123456789abcdef"
    assert answer.json["model_version"] == s["a"]
    batch = _post(s, "/api/v1/score/batch", {"applicants": [one, two]})
    rows = _shadow(s["store"])
    assert [(r["source"], r["request_id"]) for r in rows] == [("api", "req-0123456789abcdef")] + [
        ("api", batch.headers["X-Request-ID"])
    ] * 2
    assert len(batch.headers["X-Request-ID"]) == 32  # a new id when the caller gives none
    assert {(r["champion_version"], r["challenger_version"], r["client_id"]) for r in rows} == {(s["a"], s["b"], None)}
    served_pds = [answer.json["pd"]] + [r["pd"] for r in batch.json["results"]]
    assert [r["champion_pd"] for r in rows] == pytest.approx(served_pds, abs=1e-12)
    assert [r["champion_outcome"] for r in rows] == [answer.json["decision"]["outcome"]] + [
        r["decision"]["outcome"] for r in batch.json["results"]
    ]
    # the challenger's figures are its own decision of the same applicants
    b = registry.load_version(s["models"], s["b"])
    theirs = decide_applicants(b, load_policy(None, grades=b.grades), [validate_applicant(x) for x in (one, one, two)])
    assert [r["challenger_pd"] for r in rows] == pytest.approx(theirs.scores["pd"].tolist(), abs=1e-12)
    assert [r["challenger_grade"] for r in rows] == theirs.scores["grade"].tolist()
    assert [r["challenger_outcome"] for r in rows] == list(theirs.decisions.outcome)
    assert [r["champion_pd"] for r in rows] != [r["challenger_pd"] for r in rows]
    assert datetime.fromisoformat(rows[0]["scored_at"]).tzinfo == timezone.utc
    # the same answer without a challenger: shadow scoring changes nothing of what is returned
    registry.set_challenger(s["models"], None, "tester")
    again = _post(s, "/api/v1/score", one)
    assert again.json == answer.json
    assert len(_shadow(s["store"])) == 3


def test_queued_requests_are_decided_together_as_each_alone(served, monkeypatch):
    """The worker's queue: nothing is logged until FLUSH_APPLICANTS are queued, then the challenger decides them in
    one pass, with each request's id, time and figures as when decided alone; a timer logs what waits longer."""
    import time

    from api.shadow import flush_queue

    s = served
    monkeypatch.setattr("api.shadow.FLUSH_APPLICANTS", 4)
    monkeypatch.setattr("api.shadow.FLUSH_SECONDS", 60.0)
    bodies = [_applicant(s["store"], cid) for cid in (s["cid"], s["other"], s["cid"])]
    first = _post(s, "/api/v1/score", bodies[0], **{"X-Request-ID": "queued-1"})
    batch = _post(s, "/api/v1/score/batch", {"applicants": bodies[1:]}, **{"X-Request-ID": "queued-2"})
    assert _shadow(s["store"]) == []  # three applicants queued, fewer than four
    last = _post(s, "/api/v1/score", bodies[1], **{"X-Request-ID": "queued-3"})
    rows = _shadow(s["store"])
    assert [r["request_id"] for r in rows] == ["queued-1", "queued-2", "queued-2", "queued-3"]
    served_pds = [first.json["pd"]] + [r["pd"] for r in batch.json["results"]] + [last.json["pd"]]
    assert [r["champion_pd"] for r in rows] == pytest.approx(served_pds, abs=1e-12)
    b = registry.load_version(s["models"], s["b"])
    alone = [
        decide_applicants(b, load_policy(None, grades=b.grades), [validate_applicant(x)])
        for x in (bodies[0], bodies[1], bodies[2], bodies[1])
    ]
    assert [r["challenger_pd"] for r in rows] == pytest.approx([a.scores["pd"].iloc[0] for a in alone], abs=1e-12)
    assert [r["challenger_outcome"] for r in rows] == [a.decisions.outcome[0] for a in alone]
    assert rows[0]["scored_at"] <= rows[1]["scored_at"] <= rows[3]["scored_at"]  # each request's own time
    monkeypatch.setattr("api.shadow.FLUSH_SECONDS", 0.2)
    _post(s, "/api/v1/score", bodies[2], **{"X-Request-ID": "queued-4"})
    deadline = time.monotonic() + 30
    while len(_shadow(s["store"])) < 5 and time.monotonic() < deadline:  # the timer's pass, on a busy machine too
        time.sleep(0.05)
    assert [r["request_id"] for r in _shadow(s["store"])][4:] == ["queued-4"]
    monkeypatch.setattr("api.shadow.FLUSH_SECONDS", 60.0)
    _post(s, "/api/v1/score", bodies[0], **{"X-Request-ID": "queued-5"})
    flush_queue()  # what the worker does as it exits
    assert [r["request_id"] for r in _shadow(s["store"])][5:] == ["queued-5"]


def test_the_timer_is_one_long_lived_thread_and_flushes_in_time(served, monkeypatch):
    """20 batches flushed by the timer: each logged FLUSH_SECONDS after its request was queued, not before and not
    much later, all by the process's one flusher thread (a timer per batch started an OS thread each time)."""
    import time

    import api.shadow as shadow

    s = served
    shadow.flush_queue()  # nothing another test left queued
    monkeypatch.setattr("api.shadow.FLUSH_APPLICANTS", 4)
    monkeypatch.setattr("api.shadow.FLUSH_SECONDS", 0.05)
    passes, decide = [], shadow._decide

    def spied(items):
        if items:
            passes.append((threading.current_thread(), time.monotonic(), [item[3] for item in items]))
        decide(items)

    monkeypatch.setattr("api.shadow._decide", spied)
    body, threads = _applicant(s["store"], s["cid"]), threading.active_count()
    for i in range(20):
        start = time.monotonic()
        _post(s, "/api/v1/score", body, **{"X-Request-ID": f"timed-{i:02d}"})
        sent = time.monotonic()
        while len(passes) <= i and time.monotonic() < sent + 30:
            time.sleep(0.005)
        _, at, ids = passes[i]
        assert ids == [f"timed-{i:02d}"]
        assert start + 0.05 <= at < sent + 0.05 + 2.0  # due once it has waited, then taken at once
        assert threading.active_count() <= threads + 1  # the flusher, if the first request started it
    assert len({thread for thread, _, _ in passes}) == 1 and passes[0][0] is not threading.current_thread()
    shadow.flush_queue()  # as a worker exits: returns once the flusher's pass in hand is logged
    assert [r["request_id"] for r in _shadow(s["store"])] == [f"timed-{i:02d}" for i in range(20)]


def test_a_forked_worker_makes_its_own_queue_and_flusher():
    import os
    import select
    import signal

    import api.shadow as shadow

    parent = shadow._worker_queue()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a gunicorn worker forked from a master that had the app loaded: no thread comes along
        try:
            mine = shadow._worker_queue()
            ok = mine is not parent and mine.pid == os.getpid() and mine.thread.is_alive()
            os.write(write, b"y" if ok else b"n")
        finally:
            os._exit(0)
    os.close(write)
    waiting = select.poll()  # not select(): the suite's process may hold more than 1,024 descriptors by now
    waiting.register(read, select.POLLIN)
    answered = waiting.poll(30_000)
    if not answered:
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert answered and os.read(read, 1) == b"y"
    assert shadow._worker_queue() is parent and parent.thread.is_alive()


_GEVENT_QUEUE = """
import json, sys, threading, time
from types import SimpleNamespace
from gevent import monkey
monkey.patch_all() if sys.argv[1] == "all" else monkey.patch_all(thread=False, time=False)
import api.shadow as shadow
os_thread = monkey.get_original("_thread", "get_ident")
passes = []
shadow._decide = lambda items: items and passes.append((os_thread(), time.monotonic()))
shadow.FLUSH_SECONDS = 0.05
item = ("store", object(), SimpleNamespace(features=[0]), "id", "at")
late = []
for i in range(20):
    start = time.monotonic()
    shadow._worker_queue().add(item)
    while len(passes) <= i and time.monotonic() < start + 30:
        time.sleep(0.005)
    late.append(passes[i][1] - start)
flushers = sorted({t for t, _ in passes})
print(json.dumps({"late": late, "same_os_thread": flushers == [os_thread()], "flushers": len(flushers),
                  "threads": threading.active_count()}))
"""


@pytest.mark.parametrize("patched", ["all", "api worker"])
def test_the_flusher_runs_under_gevent(patched, tmp_path):
    """Fully patched (threading green: the flusher a greenlet waiting on a green Condition) and as the API's gevent
    worker patches (threading real: an OS thread beside the hub): every batch flushed in time by one flusher."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    mode = "all" if patched == "all" else "api"
    done = subprocess.run(
        [sys.executable, "-c", _GEVENT_QUEUE, mode], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["flushers"] == 1 and out["same_os_thread"] is (mode == "all")
    assert all(0.05 <= late < 2.0 for late in out["late"]), out["late"]
    assert out["threads"] <= 3


def test_a_failing_challenger_never_fails_the_answer_and_is_counted(served):
    s = served
    with closing(sqlite3.connect(s["store"])) as con:  # a real failure of the shadow write, nothing else
        con.execute(
            "CREATE TRIGGER shadow_refused BEFORE INSERT ON shadow_scores BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        con.commit()

    def failures():
        text = s["client"].get("/metrics").get_data(as_text=True)
        (line,) = [x for x in text.splitlines() if x.startswith("scoring_shadow_failures_total")]
        return int(line.split()[-1])

    before = failures()
    answer = _post(s, "/api/v1/score", _applicant(s["store"], s["cid"]))
    assert answer.json["model_version"] == s["a"] and 0 <= answer.json["pd"] <= 1
    assert failures() == before + 1
    assert _shadow(s["store"]) == []


def test_metrics_publish_the_last_day_of_shadow_scores(served, monkeypatch):
    s = served

    def gauges():
        text = s["client"].get("/metrics").get_data(as_text=True)
        return {x.split()[0]: float(x.split()[1]) for x in text.splitlines() if x.startswith("scoring_shadow_")}

    first = gauges()
    assert first['scoring_shadow_compared{window="24h"}'] == 0
    assert "scoring_shadow_disagreement_ratio" not in first  # absent without rows
    now = datetime.now(timezone.utc)

    def row(at, ours, theirs):
        return (at.isoformat(), "r", "api", None, s["a"], s["b"], 0.1, 0.2, "G3", "G4", ours, theirs)

    old = now - timedelta(hours=25)
    write_rows(
        s["store"],
        [row(now, "approve", "approve"), row(now, "approve", "decline"), row(now, "refer", "refer")]
        + [row(old, "approve", "decline")] * 5,  # older than a day: not counted
    )
    assert gauges() == first  # read at most every 30 s per worker
    monkeypatch.setattr("api.shadow.METRICS_CACHE_SECONDS", 0.0)
    now_seen = gauges()
    assert now_seen['scoring_shadow_compared{window="24h"}'] == 3
    assert now_seen["scoring_shadow_disagreement_ratio"] == pytest.approx(1 / 3, abs=1e-6)


def test_worker_follows_the_challenger_alias(served):
    s = served
    assert s["app"].extensions["models_state"].challenger[0].version == s["b"]
    registry.set_challenger(s["models"], None, "tester")
    s["client"].get("/health")
    assert s["app"].config["CHALLENGER"] is None
    registry.set_challenger(s["models"], s["b"], "tester")
    s["client"].get("/health")
    assert s["app"].config["CHALLENGER"][0].version == s["b"]


def test_a_request_pinned_before_a_swap_reads_its_generation_to_the_end(served):
    """One request pins its generation, a promotion swaps the store, a request after it reads the new one: each
    with the bundle that scored what it reads."""
    s = served
    app, cid = s["app"], s["cid"]
    pinned, swapped, seen = threading.Event(), threading.Event(), {}

    def in_flight():
        with app.test_request_context(f"/api/v1/clients/{cid}/explanation"):
            app.preprocess_request()
            store = current_app.config["STORE"]
            seen["before"] = store.get_score(cid)
            pinned.set()
            swapped.wait(300)
            seen["after"] = store.get_explanation(cid)
            seen["meta"] = store.meta()["model_version"]
            seen["bundle"] = current_app.config["BUNDLE"].version

    thread = threading.Thread(target=in_flight)
    thread.start()
    try:
        assert pinned.wait(120)
        promotion.promote(s["models"], s["store"], s["b"], user="tester")
        newer = s["client"].get(f"/api/v1/clients/{cid}/explanation", headers=s["heads"]["manager"])
        assert newer.status_code == 200 and newer.json["model_version"] == s["b"]
        assert app.config["BUNDLE"].version == s["b"]
    finally:
        swapped.set()
        thread.join(120)
    assert seen["before"]["model_version"] == s["a"]
    assert seen["after"]["model_version"] == seen["meta"] == seen["bundle"] == s["a"]
    assert seen["after"]["pd"] == seen["before"]["pd"] != newer.json["pd"]


def test_store_rescoring_is_shadow_scored(served):
    """A store generation scored again (what a promotion does) logs the challenger's view of every client."""
    from scoring.store import open_store, regenerate

    s = served
    n = regenerate(s["store"], registry.version_dir(s["models"], s["a"]), on_switch=lambda: None)
    rows = _shadow(s["store"])
    assert len(rows) == n == open_store(s["store"]).meta()["n_clients"]
    assert {(r["source"], r["champion_version"], r["challenger_version"]) for r in rows} == {("store", s["a"], s["b"])}
    assert len({r["request_id"] for r in rows}) == 1
    stored = open_store(s["store"]).get_score(s["cid"])
    (mine,) = [r for r in rows if r["client_id"] == s["cid"]]
    assert mine["champion_pd"] == pytest.approx(stored["pd"], abs=1e-12) and mine["champion_grade"] == stored["grade"]


def test_batch_predict_is_shadow_scored_into_the_store(served, synth_dir, tmp_path, monkeypatch):
    from scoring.predict import predict_file

    s = served
    apps = pd.read_parquet(synth_dir / "application_test.parquet").head(40)
    apps.to_csv(tmp_path / "new.csv", index=False)
    monkeypatch.setenv("SCORING_STORE", str(s["store"]))
    assert predict_file(tmp_path / "new.csv", tmp_path / "out.csv", data_dir=synth_dir, models_dir=s["models"]) == 40
    out = pd.read_csv(tmp_path / "out.csv")
    rows = _shadow(s["store"])
    assert [r["client_id"] for r in rows] == out["SK_ID_CURR"].tolist()
    assert {(r["source"], r["champion_version"], r["challenger_version"]) for r in rows} == {("batch", s["a"], s["b"])}
    assert [r["champion_pd"] for r in rows] == pytest.approx(out["pd"].tolist(), abs=1e-9)
    assert [r["champion_outcome"] for r in rows] == out["outcome"].tolist()
    # without a store to log in, a batch is scored as before and nothing is shadow scored
    monkeypatch.setenv("SCORING_STORE", str(tmp_path / "absent.sqlite"))
    assert predict_file(tmp_path / "new.csv", tmp_path / "out2.csv", data_dir=synth_dir, models_dir=s["models"]) == 40
    assert len(_shadow(s["store"])) == 40


def test_predict_logs_the_challenger_into_its_store_dated_as_its_records(served, synth_dir, tmp_path, monkeypatch):
    """predict --store X --as-of DAY: the shadow rows go to X (not SCORING_STORE) and are dated DAY, as the
    monitoring records are, so a backfilled cohort is compared in its own month."""
    from scoring.cli import main

    s = served
    pd.read_parquet(synth_dir / "application_test.parquet").head(25).to_csv(tmp_path / "new.csv", index=False)
    monkeypatch.setenv("SCORING_STORE", str(tmp_path / "elsewhere.sqlite"))  # absent: nothing may go there
    args = ["predict", "--input", str(tmp_path / "new.csv"), "--output", str(tmp_path / "out.csv")]
    args += ["--data", str(synth_dir), "--models", str(s["models"]), "--store", str(s["store"]), "--quiet"]
    assert main([*args, "--as-of", "2026-10-15"]) == 0
    rows = _shadow(s["store"])
    assert len(rows) == 25 and {r["scored_at"] for r in rows} == {"2026-10-15T12:00:00.000+00:00"}
    with closing(sqlite3.connect(s["store"])) as con:
        recorded = {r[0] for r in con.execute("SELECT scored_at FROM scored_applications WHERE source = 'batch'")}
    assert recorded == {"2026-10-15T12:00:00.000+00:00"}
    assert not (tmp_path / "elsewhere.sqlite").exists()
    assert main(args) == 0  # without --as-of: when it was scored
    assert len({r["scored_at"] for r in _shadow(s["store"])}) >= 2


def test_rows_are_written_with_the_declared_columns(tmp_path, scores_only_store):
    """The table is the declared one, kept, and a store from before it gets it on the first write."""
    from scoring.store import schema

    assert schema.SHADOW_SCORES.kept and set(COLUMNS) == set(schema.SHADOW_SCORES.column_names) - {"id"}
    at = datetime.now(timezone.utc).isoformat()
    assert write_rows(scores_only_store, [(at, None, "batch", 7, "a", "b", None, None, None, None, "x", "y")]) == 1
    assert _shadow(scores_only_store)[0]["id"] == 1
    with pytest.raises(sqlite3.IntegrityError):  # the source is one of three
        write_rows(scores_only_store, [(at, None, "elsewhere", 7, "a", "b", None, None, None, None, "x", "y")])
    assert len(_shadow(scores_only_store)) == 1
