"""Papermill runs every lesson twice: with its own parameters and with a second set.

nbval (run by ``make test`` after pytest) separately compares the stored outputs with
a fresh run, so a stale notebook fails CI; this test proves each lesson also runs
with other parameters, into a temporary folder, leaving the stored notebook alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lessons import NOTEBOOK_DIR, alt_parameters, lesson_paths, load

papermill = pytest.importorskip("papermill")

pytestmark = [pytest.mark.notebooks, pytest.mark.timeout(600)]

LESSONS = lesson_paths()


def test_there_are_lessons() -> None:
    assert LESSONS, f"no numbered lessons (NN_name.ipynb) found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("variant", ["default", "alternate"])
@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_top_to_bottom(path: Path, variant: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BEDROCK_BACKEND", "local")
    # The default run leaves backend to the environment (as `make lab` does); the alternate one sets it
    # through papermill, the other way a lesson's backend is chosen.
    parameters: dict = {"time_scale": 0.0}
    if variant == "alternate":
        parameters.update({"backend": "local"}, **alt_parameters(load(path)))
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
