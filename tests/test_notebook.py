"""The methodology notebook runs top to bottom on the product's own modules, and git holds it without outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "methodology.ipynb"
CELL_TIMEOUT = 240  # seconds per cell; the whole notebook takes about a minute here


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, "the notebook has no code cells"
    dirty = [i for i, cell in enumerate(code) if cell.get("outputs") or cell.get("execution_count") is not None]
    assert not dirty, f"code cells {dirty} hold outputs: strip them before committing (see README)"


def test_notebook_uses_the_product_code_path():
    source = "\n".join(cell.source for cell in nbformat.read(NOTEBOOK, as_version=4).cells)
    for module in ("scoring.features", "scoring.train", "scoring.policy"):
        assert module in source, f"the notebook should use {module}, not a copy of it"
    assert "def " not in source.replace("    def ", ""), "the notebook defines top-level functions: move them"


@pytest.fixture
def venv_kernel(tmp_path, monkeypatch) -> str:
    """A kernelspec pointing at this interpreter (the project's .venv), found before any system-wide one."""
    name = "scoring-venv"
    spec_dir = tmp_path / "kernels" / name
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "scoring (.venv)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return name


def test_notebook_runs_top_to_bottom(venv_kernel):
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name=venv_kernel, resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()  # raises CellExecutionError naming the cell on any error
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    errors = [out for out in outputs if out.output_type == "error"]
    assert not errors
    text = "\n".join(str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", "")) for out in outputs)
    for word in ("AUC", "Brier", "threshold", "CODE_GENDER", "age band"):
        assert word in text, f"the executed notebook never shows {word!r}"
