"""The first error a learner meets in lesson 0 is one sentence with the fix, not a traceback.

Lesson 0 runs ``preflight`` right after it builds the client. With a mistyped model id or a body Bedrock
would refuse, the run stops there, and what the notebook shows is the sentence alone: IPython renders
``PreflightError`` without the chained boto3 traceback behind it.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from lessons import NOTEBOOK_DIR

papermill = pytest.importorskip("papermill")

pytestmark = [pytest.mark.notebooks, pytest.mark.timeout(600)]

LESSON = NOTEBOOK_DIR / "00_setup_and_first_call.ipynb"


def _first_error(parameters: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("BEDROCK_BACKEND", "local")
    out = tmp_path / LESSON.name
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(
            str(LESSON),
            str(out),
            parameters={"time_scale": 0.0, **parameters},
            cwd=str(NOTEBOOK_DIR),
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=240,
        )
    nb = nbformat.read(out, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert len(errors) == 1
    return errors[0]


def test_a_mistyped_model_id_stops_lesson_0_with_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    error = _first_error({"model_id": "global.anthropic.claude-hiaku-4-5-20251001-v1:0"}, tmp_path, monkeypatch)
    assert error["ename"] == "PreflightError"
    (line,) = error["traceback"]
    assert "global.anthropic.claude-haiku-4-5-20251001-v1:0" in line  # the fix: the id Bedrock knows
    assert "Traceback" not in line and "botocore" not in line


def test_a_zero_max_tokens_stops_lesson_0_before_anything_is_sent(tmp_path: Path, monkeypatch) -> None:
    error = _first_error({"max_tokens": 0}, tmp_path, monkeypatch)
    (line,) = error["traceback"]
    assert line.startswith("PreflightError: The request body would be refused") and "max_tokens" in line
