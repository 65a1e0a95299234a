"""``python -m tools.dry_run`` runs lessons on the aws backend and reports each one.

A second local endpoint stands in for AWS through ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` (as in
test_backend_switch.py). One real lesson must run and be reported with the calls and tokens the stand-in
saw; a lesson that raises must be reported as failed with its cell and error, and turn the exit status to 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from lessons import ROOT

from helpers.local_bedrock import LocalBedrock

pytest.importorskip("papermill")

pytestmark = [pytest.mark.notebooks, pytest.mark.timeout(600)]

# A model that is active on Bedrock today (the lessons' own default may lag behind the catalogue).
MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def _lesson(path: Path, *cells: str) -> None:
    """A small lesson: a parameters cell (backend, region, model_id, as the real ones) and ``cells``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell(f'backend = None\nregion = None\nmodel_id = "{MODEL}"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("what you will learn"), params]
    nb.cells += [nbformat.v4.new_code_cell(text) for text in cells]
    nbformat.write(nb, path)


def _broken_lesson(path: Path) -> None:
    _lesson(path, 'raise RuntimeError("model access is missing")')


GOOD_CALL = """\
import json
from helpers.client import bedrock_runtime, resolve_backend
backend, region = resolve_backend(backend, region)
body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]}
for _ in range(2):
    answer = bedrock_runtime(backend, region).invoke_model(modelId=model_id, body=json.dumps(body))
    print(json.loads(answer["body"].read())["stop_reason"])
"""


def test_dry_run_reports_each_lesson_on_the_aws_backend(tmp_path: Path) -> None:
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    _lesson(lessons / "00_good.ipynb", GOOD_CALL)
    _broken_lesson(lessons / "01_broken.ipynb")
    with LocalBedrock(seed=0, time_scale=0.0) as stand_in:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stand_in.endpoint_url,
            "AWS_REGION": "us-west-2",
            "AWS_ACCESS_KEY_ID": "stand-in",
            "AWS_SECRET_ACCESS_KEY": "stand-in-secret",
            "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        }
        done = subprocess.run(
            [sys.executable, "-m", "tools.dry_run", "--notebooks", str(lessons), "--json"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=540,
        )
        stand_in_calls = [c for c in stand_in.calls if c.status == 200]

    assert done.returncode == 1, done.stderr  # one lesson failed
    first, broken = json.loads(done.stdout)
    assert first["lesson"] == "00_good"
    assert first["ok"], first["error"]
    assert first["calls"] == len(stand_in.calls) == len(stand_in_calls) == 2  # both calls reached the stand-in
    assert first["input_tokens"] == sum(c.input_tokens or 0 for c in stand_in.calls) > 0
    assert first["max_tokens_requested"] == 2 * 50  # the ceiling an instructor budgets with
    assert first["output_tokens"] == sum(c.output_tokens or 0 for c in stand_in.calls) > 0
    assert broken == {**broken, "lesson": "01_broken", "ok": False, "failed_cell": 3,
                      "error": "RuntimeError: model access is missing"}


def test_dry_run_table_names_the_failing_cell(tmp_path: Path) -> None:
    _broken_lesson(tmp_path / "07_broken.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "tools.dry_run", "--backend", "local", "--notebooks", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 1
    assert "07_broken" in done.stdout and "FAILED" in done.stdout
    assert "In [3]: RuntimeError: model access is missing" in done.stdout
    assert "0 of 1 lessons ran top to bottom" in done.stdout


def test_lessons_07_10_and_11_run_on_the_aws_backend_with_every_call_reaching_the_endpoint(tmp_path: Path) -> None:
    """Their AWS branches (skipped fault cells, boto3 and the anthropic SDK both pointed by the environment)."""
    with LocalBedrock(seed=0, time_scale=0.0) as stand_in:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stand_in.endpoint_url,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "stand-in",
            "AWS_SECRET_ACCESS_KEY": "stand-in-secret",
            "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        }
        done = subprocess.run(
            [sys.executable, "-m", "tools.dry_run", "--only", "07", "10", "11", "--json"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=540,
        )
        seen = stand_in.calls
    reports = json.loads(done.stdout)
    assert [r["lesson"] for r in reports] == ["07_three_ways_to_stream", "10_production_streaming",
                                              "11_chat_and_asyncio"]
    for report in reports:
        assert report["ok"], f"{report['lesson']}: {report['error']}"
        assert report["calls"] > 0
    assert sum(r["calls"] for r in reports) == len(seen)  # the SDK's streams (lessons 7, 11) reached it too
    assert any(c.request_body.get("system") for c in seen if isinstance(c.request_body, dict))  # lesson 10's cache
