"""``BEDROCK_BACKEND=aws`` really switches a lesson to the endpoint boto3 is pointed at.

A second local endpoint stands in for AWS: the lesson runs with the environment a learner would set
for real Bedrock (backend, region, credentials) plus ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, which boto3
honours. The stand-in's call log proves the lesson's requests reached it, and the lesson's own output
shows it never started an embedded endpoint.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from lessons import NOTEBOOK_DIR

from helpers.local_bedrock import LocalBedrock

papermill = pytest.importorskip("papermill")

pytestmark = [pytest.mark.notebooks, pytest.mark.timeout(600)]

LESSON = NOTEBOOK_DIR / "00_setup_and_first_call.ipynb"
REGION = "us-west-2"  # not the us-east-1 fallback, so the output shows AWS_REGION was read


def _printed(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    return "".join(
        output.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )


def test_lesson_0_with_bedrock_backend_aws_calls_the_endpoint_boto3_is_pointed_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LocalBedrock(seed=0, time_scale=0.0) as stand_in:
        monkeypatch.setenv("BEDROCK_BACKEND", "aws")
        monkeypatch.setenv("AWS_REGION", REGION)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", stand_in.endpoint_url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "stand-in")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "stand-in-secret")
        # Nothing of the machine's own AWS set-up may take part.
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
        out = tmp_path / LESSON.name
        # Only time_scale is given: backend and region come from the environment, as under `make lab`.
        papermill.execute_notebook(
            str(LESSON),
            str(out),
            parameters={"time_scale": 0.0},
            cwd=str(NOTEBOOK_DIR),
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=240,
        )
        calls = stand_in.calls

    printed = _printed(out)
    assert "backend: aws" in printed
    assert f"region: {REGION}" in printed
    assert f"requests go to: {stand_in.endpoint_url}" in printed  # boto3's endpoint, not an embedded one
    invoked = [c for c in calls if c.operation == "InvokeModel" and c.status == 200]
    assert invoked, (
        f"the stand-in saw no successful InvokeModel call; it saw {[(c.operation, c.status) for c in calls]}"
    )
    assert "Skipped on the local backend" not in printed  # the aws branch of the credentials cell ran
    assert "boto3 found credentials from: env" in printed
