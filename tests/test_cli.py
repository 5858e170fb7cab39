"""The command line: --help on every command, errors as messages rather than tracebacks."""

import subprocess
import sys
from pathlib import Path

import pytest

from scoring.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scoring", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def _commands() -> list[tuple[str, ...]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    commands = []
    for name, sub_parser in sub.choices.items():
        nested = [a for a in sub_parser._actions if getattr(a, "choices", None) and a.dest.endswith("_command")]
        if nested:
            commands += [(name, child) for child in nested[0].choices]
        commands.append((name,))
    return commands


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_command_has_help(command):
    result = _run(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: python -m scoring" in result.stdout


def test_data_commands_take_data_and_models_options():
    for command in ("train", "tune", "predict", "build-store"):
        out = _run(command, "--help").stdout
        assert "--data" in out and "--models" in out, command


def test_a_bad_setting_is_a_message_not_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "scoring", "check", "--data", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "SCORING_PROGRESS": "loud"},
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: environment variable SCORING_PROGRESS")


def test_missing_data_folder_is_a_message_not_a_traceback(tmp_path):
    result = _run("check", "--data", str(tmp_path / "nowhere"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "application_train" in result.stderr
