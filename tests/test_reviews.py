"""Human review requests in the store: what a request records, one open request per client, outcomes recorded
once and whole, the queue and the override rate, and requests kept across a rebuild of the store."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing

import pytest

from scoring.store import REVIEW_TEXT_MAX, ReviewConflict, build_store, open_store
from tests.api_fixtures import copy_store


@pytest.fixture()
def store(store_path, tmp_path):
    return open_store(copy_store(store_path, tmp_path / "store.sqlite"))


def _ids(store, n: int) -> list[int]:
    return [c["client_id"] for c in store.list_clients(limit=n)["items"]]


def _rows(store) -> list[tuple]:
    with closing(sqlite3.connect(store.path)) as con:
        return con.execute("SELECT * FROM reviews ORDER BY id").fetchall()


def _other_outcome(review: dict) -> str:
    return "approve" if review["decision_outcome"] != "approve" else "decline"


def test_a_request_records_the_decision_reviewed_and_only_one_is_open_per_client(store):
    first, second = _ids(store, 2)
    review = store.request_review(first, "alice", "My income is higher than that.\nSee my payslip.")
    decision = store.get_decision(first)
    assert review["status"] == "open" and review["client_id"] == first and review["requested_by"] == "alice"
    assert review["comment"] == "My income is higher than that.\nSee my payslip."
    assert review["decision_outcome"] == decision["outcome"]
    assert review["model_version"] == decision["model_version"]
    assert review["policy_version"] == decision["policy"]["version"]
    assert review["reviewer"] is review["result"] is review["reason"] is review["reviewed_at"] is None
    assert "open_client" not in review and store.get_review(review["id"]) == review
    with pytest.raises(ReviewConflict) as conflict:
        store.request_review(first, "manager", "on their behalf")
    assert conflict.value.review == review
    assert store.request_review(second, "manager", "")["client_id"] == second  # another client: no conflict
    store.close_review(review["id"], "bob", "upheld", "The income on file is the one declared.")
    again = store.request_review(first, "alice", "Still wrong.")  # once closed, a new request may be made
    assert again["id"] > review["id"] and [r["id"] for r in store.client_reviews(first)] == [again["id"], review["id"]]


def test_unknown_clients_and_reviews_give_none(store):
    assert store.request_review(1, "alice", "x") is None and store.request_review("abc", "alice", "x") is None
    assert store.get_review(12345) is None and store.get_review("1; DROP") is None and store.get_review(2**70) is None
    assert store.client_reviews(1) == [] and store.close_review(999, "bob", "upheld", "r") is None
    assert _rows(store) == []


def test_concurrent_requests_for_one_client_open_exactly_one(store):
    cid = _ids(store, 1)[0]
    won, lost, errors = [], [], []
    start = threading.Barrier(8)

    def ask(i):
        start.wait()
        try:
            won.append(store.request_review(cid, f"user{i}", f"attempt {i}"))
        except ReviewConflict as exc:
            lost.append(exc)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(won) == 1 and len(lost) == 7
    assert [r["id"] for r in store.list_reviews("open")["items"]] == [won[0]["id"]] and len(_rows(store)) == 1


def test_the_database_itself_refuses_a_second_open_review(store):
    cid = _ids(store, 1)[0]
    store.request_review(cid, "alice", "first")
    with closing(sqlite3.connect(store.path)) as con, pytest.raises(sqlite3.IntegrityError):
        con.execute(
            "INSERT INTO reviews (client_id, requested_by, requested_at, comment, status, open_client) "
            "VALUES (?, 'x', 'now', '', 'open', ?)",
            (cid, cid),
        )


@pytest.mark.parametrize(
    "comment, message",
    [
        ("bell\x07", "comment: control characters"),
        ("escape \x1b[31m", "comment: control characters"),
        ("nul\x00", "comment: control characters"),
        ("c1 \x85", "comment: control characters"),
        ("x" * (REVIEW_TEXT_MAX + 1), "at most 2000"),
        (42, "comment: must be text"),
        (None, "comment: must be text"),
    ],
)
def test_a_bad_comment_is_refused_and_nothing_is_written(store, comment, message):
    with pytest.raises(ValueError, match=message):
        store.request_review(_ids(store, 1)[0], "alice", comment)
    assert _rows(store) == []


def test_tab_newline_and_the_longest_comment_are_kept(store):
    a, b = _ids(store, 2)
    assert store.request_review(a, "alice", "line 1\r\n\tline 2 — é ✓")["comment"] == "line 1\r\n\tline 2 — é ✓"
    assert store.request_review(b, "alice", "y" * REVIEW_TEXT_MAX)["comment"] == "y" * REVIEW_TEXT_MAX


@pytest.mark.parametrize(
    "result, reason, new_outcome, message",
    [
        ("maybe", "r", None, "result: must be one of upheld, changed"),
        ("upheld", "r", "approve", "new_outcome: only a changed decision"),
        ("changed", "r", None, "new_outcome: a changed decision needs one of"),
        ("changed", "r", "technical_refusal", "new_outcome: a changed decision needs one of"),
        ("upheld", "  \n\t", None, "reason: required, not blank"),
        ("upheld", "", None, "reason: required, not blank"),
        ("upheld", "tab ok, bell \x07 not", None, "reason: control characters"),
        ("upheld", "z" * (REVIEW_TEXT_MAX + 1), None, "reason: at most"),
        ("changed", "r", "same", "new_outcome: the decision reviewed was already"),
    ],
)
def test_a_bad_outcome_is_refused_and_the_review_stays_open(store, result, reason, new_outcome, message):
    review = store.request_review(_ids(store, 1)[0], "alice", "please look")
    before = _rows(store)
    new_outcome = review["decision_outcome"] if new_outcome == "same" else new_outcome
    with pytest.raises(ValueError, match=message):
        store.close_review(review["id"], "bob", result, reason, new_outcome)
    assert _rows(store) == before and store.get_review(review["id"])["status"] == "open"


def test_an_outcome_is_recorded_once(store):
    review = store.request_review(_ids(store, 1)[0], "alice", "please look")
    new = _other_outcome(review)
    closed = store.close_review(review["id"], "bob", "changed", "Income verified with the payslip.", new)
    assert closed["status"] == "closed" and closed["result"] == "changed" and closed["new_outcome"] == new
    assert closed["reviewer"] == "bob" and closed["reviewed_at"] >= closed["requested_at"]
    assert closed["reason"] == "Income verified with the payslip." and closed["comment"] == "please look"
    with pytest.raises(ReviewConflict) as conflict:
        store.close_review(review["id"], "carol", "upheld", "second opinion")
    assert conflict.value.review == closed and store.get_review(review["id"]) == closed


def test_the_queue_is_oldest_first_and_paged_and_the_stats_count_the_overrides(store):
    ids = _ids(store, 5)
    filed = [store.request_review(cid, "manager", f"request {i}") for i, cid in enumerate(ids)]
    assert store.review_stats() == {
        "open": 5,
        "closed": 0,
        "upheld": 0,
        "changed": 0,
        "override_rate": None,
        "months": [],
    }
    queue = store.list_reviews("open", limit=2, offset=1)
    assert queue["total"] == 5 and [r["id"] for r in queue["items"]] == [filed[1]["id"], filed[2]["id"]]
    store.close_review(filed[3]["id"], "bob", "changed", "r", _other_outcome(filed[3]))
    store.close_review(filed[0]["id"], "bob", "upheld", "r")
    store.close_review(filed[1]["id"], "bob", "upheld", "r")
    assert [r["id"] for r in store.list_reviews("open")["items"]] == [filed[2]["id"], filed[4]["id"]]
    closed = store.list_reviews("closed")
    assert closed["total"] == 3 and [r["id"] for r in closed["items"]] == [filed[i]["id"] for i in (3, 1, 0)]
    assert store.list_reviews()["total"] == 5 and store.list_reviews(limit=0)["items"] == []
    stats = store.review_stats()
    month = filed[0]["requested_at"][:7]
    assert {k: stats[k] for k in ("open", "closed", "upheld", "changed")} == {
        "open": 2,
        "closed": 3,
        "upheld": 2,
        "changed": 1,
    }
    assert stats["override_rate"] == pytest.approx(1 / 3)
    assert stats["months"] == [
        {"month": month, "closed": 3, "upheld": 2, "changed": 1, "override_rate": pytest.approx(1 / 3)}
    ]
    with pytest.raises(ValueError, match="status"):
        store.list_reviews("pending")


def test_a_store_file_from_before_reviews_reads_none_and_takes_the_first(store):
    with closing(sqlite3.connect(store.path)) as con:
        con.execute("DROP TABLE reviews")
        con.commit()
    assert store.list_reviews("open") == {"total": 0, "items": []} and store.client_reviews(1) == []
    assert store.review_stats()["closed"] == 0 and store.get_review(1) is None
    reader = open_store(store.path)  # a new thread's writer adds the table (schema.ensure_kept)
    result = []
    thread = threading.Thread(target=lambda: result.append(reader.request_review(_ids(reader, 1)[0], "a", "x")))
    thread.start()
    thread.join()
    assert result and result[0]["status"] == "open" and reader.get_review(result[0]["id"]) == result[0]


def test_review_requests_survive_a_rebuild(synth_dir, trained_models, tmp_path):
    path = tmp_path / "store.sqlite"
    build_store(synth_dir, trained_models, path, sample_size=200)
    store = open_store(path)
    a, b, c = _ids(store, 3)
    closed = store.request_review(a, "alice", "first, answered")
    closed = store.close_review(closed["id"], "bob", "changed", "reason", _other_outcome(closed))
    still_open = store.request_review(b, "manager", "waiting")
    build_store(synth_dir, trained_models, path, sample_size=150)
    assert store.meta()["sample_size"] == 150  # the reader follows the rebuilt file
    assert store.get_review(closed["id"]) == closed and store.get_review(still_open["id"]) == still_open
    assert store.list_reviews("open")["items"] == [still_open] and store.review_stats()["changed"] == 1
    with pytest.raises(ReviewConflict):  # the one-open rule holds in the new file too
        store.request_review(b, "alice", "twice")
    assert store.request_review(c, "alice", "new")["id"] > still_open["id"]  # ids go on from the old file's
