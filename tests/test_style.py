"""One linter and one formatter over the tree: a file that ruff would change or flag fails here, not in review."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TREE = ["scoring", "api", "dashboard", "tests", "bench", "scripts", "deploy"]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed: make install-dev installs it (requirements-dev.txt)")
    return subprocess.run([ruff, *args, *TREE], cwd=ROOT, capture_output=True, text=True)


def test_the_tree_passes_the_linter():
    done = _ruff("check", "--no-cache")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_tree_has_one_format():
    done = _ruff("format", "--check", "--no-cache")
    assert done.returncode == 0, f"run `ruff format {' '.join(TREE)}`:\n{done.stdout}{done.stderr}"
