"""Progress of the long commands: named steps and counts on stderr only, a bounded number of lines, silent when off."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from scoring import cli, progress
from tests.api_fixtures import copy_store

ROOT = Path(__file__).resolve().parents[1]


class _Clock:
    """A clock the test moves: the line mode's rate limit without waiting."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_line_mode_writes_a_bounded_number_of_lines_with_names_and_counts(capsys):
    clock = _Clock()
    with progress.session("lines", interval=5.0, clock=clock):
        with progress.step("writing store", total=100_000, unit="clients") as done:
            for i in range(1, 100_001):  # 1,000 s of work in 0.01 s updates
                clock.now = i / 100
                done.update()
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == "writing store: started (100,000 clients)"
    assert lines[-1] == "writing store: done, 100,000 clients in 16:40"
    status = lines[1:-1]
    assert 150 <= len(status) <= 1000 / 5 + 1  # one every 5 s of the 1,000, never one per update
    shape = re.compile(r"writing store: ([\d,]+)/100,000 clients, \d\d:\d\d elapsed(, ~\d\d:\d\d left)?")
    counts = [int(shape.fullmatch(line).group(1).replace(",", "")) for line in status]
    assert counts == sorted(counts) and 45_000 < counts[len(counts) // 2] < 55_000


def test_nested_steps_share_one_status_line_and_only_the_outer_one_starts_and_ends(capsys):
    clock = _Clock()
    with progress.session("lines", interval=5.0, clock=clock):
        with progress.step("training folds", total=3, unit="folds") as folds:
            for fold in range(1, 4):
                with progress.step(f"fold {fold}/3 boosting", unit="rounds") as rounds:
                    for _ in range(100):
                        clock.now += 0.1
                        rounds.update()
                folds.update()
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "training folds: started (3 folds)" and err[-1].startswith("training folds: done, 3 folds in")
    assert not any("fold 2/3 boosting: started" in line or "boosting: done" in line for line in err)
    assert any(line.startswith("training folds: 1/3 folds") and "| fold 2/3 boosting: " in line for line in err)
    assert len(err) <= 30 / 5 + 2


def test_off_and_outside_a_session_write_nothing(capsys):
    with progress.step("features", total=10, unit="rows") as done:  # a library call: no session
        done.update(10)
    with progress.session("off"), progress.step("features", total=10, unit="rows") as done:
        done.update(10)
    assert capsys.readouterr() == ("", "")


def test_bar_mode_draws_on_stderr_only(capsys):
    with progress.session("bar"), progress.step("scoring and deciding", total=3, unit="rows") as done:
        done.update(3)
    out, err = capsys.readouterr()
    assert out == ""
    assert "scoring and deciding" in err and "3/3" in err


def test_auto_is_a_bar_on_a_terminal_and_lines_elsewhere():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert progress.resolve("auto", Terminal()) == "bar"
    assert progress.resolve("AUTO", io.StringIO()) == "lines"
    assert progress.resolve("off", Terminal()) == "off"
    with pytest.raises(ValueError, match="auto, bar, lines, off"):
        progress.resolve("loud")


def test_a_failed_step_says_no_done_and_the_session_is_restored(capsys):
    with progress.session("lines", clock=_Clock()):
        with pytest.raises(RuntimeError), progress.step("features"):
            raise RuntimeError("boom")
        with progress.step("writing"):
            pass
    with progress.step("after the session"):
        pass
    assert capsys.readouterr().err.splitlines() == ["features: started", "writing: started", "writing: done in 00:00"]


def test_the_lightgbm_callback_counts_every_boosting_round():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + rng.normal(size=400) > 0).astype(int)
    data = lgb.Dataset(X, label=y)
    valid = lgb.Dataset(X[:100], label=y[:100], reference=data)
    with progress.session("off"), progress.step("boosting", unit="rounds") as rounds:
        booster = lgb.train(
            {"objective": "binary", "verbose": -1, "metric": "auc", "learning_rate": 0.3},
            data,
            500,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(5, verbose=False), progress.lightgbm_callback(rounds)],
        )
    # early stopping ended it 5 rounds after the best: the count is of the rounds run, not of the limit
    assert booster.best_iteration < 495
    assert rounds.done == booster.best_iteration + 5


# ------------------------------------------------------------------------------------------- the real CLI
def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scoring", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )


def test_synth_shows_its_step_on_stderr_and_quiet_shows_none(tmp_path):
    loud = _cli("synth", "--clients", "300", "--out", str(tmp_path / "a"), SCORING_PROGRESS="auto")
    assert loud.returncode == 0, loud.stderr
    assert loud.stderr.splitlines()[0] == "writing tables: started (300 clients)"
    assert "writing tables: done, 300 clients in" in loud.stderr
    quiet = _cli("synth", "--clients", "300", "--out", str(tmp_path / "b"), "--quiet")
    off = _cli("synth", "--clients", "300", "--out", str(tmp_path / "c"), SCORING_PROGRESS="off")
    assert (quiet.returncode, quiet.stderr, off.returncode, off.stderr) == (0, "", 0, "")
    assert loud.stdout == quiet.stdout == off.stdout  # the results on stdout, the same whatever the progress
    assert loud.stdout.startswith("application_train: ")


def test_predict_shows_rows_done(synth_dir, trained_models, tmp_path, capsys, monkeypatch):
    source = tmp_path / "in.parquet"
    pd.read_parquet(synth_dir / "application_test.parquet").iloc[:150].to_parquet(source, index=False)
    out_file = str(tmp_path / "out.csv")
    args = ["predict", "--input", str(source), "--output", out_file, "--models", str(trained_models), "--no-record"]
    monkeypatch.setenv("SCORING_PROGRESS", "lines")
    assert cli.main([*args, "--data", str(synth_dir)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("scored 150 applications") and "scoring and deciding" not in out
    assert err.splitlines()[0] == "scoring and deciding: started (150 rows)"
    assert "scoring and deciding: done, 150 rows in" in err
    assert cli.main([*args, "--data", str(synth_dir), "--quiet"]) == 0
    assert capsys.readouterr() == (out, "")


def test_explain_all_shows_its_clients(store_path, trained_models, tmp_path, capsys, monkeypatch):
    path = copy_store(store_path, tmp_path / "store.sqlite")
    monkeypatch.setenv("SCORING_PROGRESS", "lines")
    assert cli.main(["explain-all", "--store", str(path), "--models", str(trained_models)]) == 0
    out, err = capsys.readouterr()
    n = int(out.split()[1].replace(",", ""))
    assert err.splitlines()[0] == f"re-scoring, explaining, deciding: started ({n:,} clients)"
    assert f"re-scoring, explaining, deciding: done, {n:,} clients in" in err
    monkeypatch.setenv("SCORING_PROGRESS", "off")
    assert cli.main(["explain-all", "--store", str(path), "--models", str(trained_models)]) == 0
    assert capsys.readouterr().err == ""
