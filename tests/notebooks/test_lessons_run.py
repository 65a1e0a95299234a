"""Papermill runs every lesson with a second set of parameters.

A run with each lesson's own parameters is nbval's (run by ``make test`` after pytest): it executes every lesson
as stored and compares each output, so that run is not repeated here. This test proves each lesson also runs
with other parameters (set through papermill, the other way a lesson's backend is chosen), into a temporary
folder, leaving the stored notebook alone, and that the second set really took effect: its model shows in what
the lesson printed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lessons import NOTEBOOK_DIR, alt_parameters, code_cells, lesson_paths, load, source

papermill = pytest.importorskip("papermill")

pytestmark = [pytest.mark.notebooks, pytest.mark.timeout(600)]

LESSONS = lesson_paths()


def test_there_are_lessons() -> None:
    assert LESSONS, f"no numbered lessons (NN_name.ipynb) found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_with_a_second_parameter_set(path: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BEDROCK_BACKEND", "local")
    parameters: dict = {"time_scale": 0.0, "backend": "local", **alt_parameters(load(path))}
    out = tmp_path / path.name
    papermill.execute_notebook(
        str(path),
        str(out),
        parameters=parameters,
        cwd=str(NOTEBOOK_DIR),
        kernel_name="python3",
        progress_bar=False,
        execution_timeout=240,
    )
    assert out.exists()
    _assert_the_model_took_effect(path, out, parameters["model_id"])


def _output_text(nb: dict) -> str:
    """Everything the executed cells printed or displayed as text."""
    parts = []
    for cell in code_cells(nb):
        for output in cell.get("outputs", []):
            for text in (output.get("text", ""), *(v for k, v in output.get("data", {}).items()
                                                   if k.startswith("text/"))):
                parts.append("".join(text) if isinstance(text, list) else str(text))
    return "\n".join(parts)


def _model_name(model_id: str) -> str:
    """``us.anthropic.claude-haiku-4-5-20251001-v1:0`` -> ``claude-haiku-4-5-20251001``: the name an answer
    carries in its ``model`` field (Anthropic's name, without profile or version; captures im_*)."""
    return re.sub(r"-v\d+(:\d+)?$", "", model_id.split("anthropic.", 1)[-1])


def _assert_the_model_took_effect(path: Path, out: Path, model_id: str) -> None:
    """The second parameter set's model shows in what the lesson printed, not only in its parameters cell."""
    text = _output_text(load(out))
    default = re.search(r'^model_id = "([^"]+)"', source(next(
        c for c in code_cells(load(path)) if "parameters" in c.get("metadata", {}).get("tags", []))), re.M)
    assert default, "the lesson's parameters cell sets no model_id"
    stored = _output_text(load(path))  # the lesson's stored outputs: a run with its own parameters
    name = _model_name(model_id)
    if name != _model_name(default.group(1)) and name not in stored:
        # Another model: the answers it printed carry its name, which the lesson's own run never shows.
        assert name in text, f"{model_id} left no trace in the outputs of {path.name}"
    else:
        # The same model through another profile (or a name the lesson shows anyway): the id itself must show.
        assert model_id not in stored and model_id in text, f"{model_id} left no trace in the outputs of {path.name}"
