"""helpers.testing, the pytest plugin, used as a learner uses it: a separate project in a temporary folder with its
own test files, run by its own pytest process (``-p helpers.testing``, as with plugin auto-loading switched off).

tests/helpers/test_testing_plugin_install.py installs the package into a fresh virtual environment and checks
the entry point loads the plugin with no ``-p`` at all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers.local_bedrock import LocalBedrock

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "test_your_stream"
MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]  # each test starts its own pytest process


def run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess:
    """The project's own pytest run; PYTHONPATH reaches this checkout's helpers, as an install would."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "helpers.testing", "-p", "no:cacheprovider",
                           "-q", "-rA", *args], cwd=project, env=env, capture_output=True, text=True, timeout=200)


def passed(result: subprocess.CompletedProcess) -> int:
    found = re.search(r"(\d+) passed", result.stdout)
    return int(found.group(1)) if found else 0


def project_with(tmp_path: Path, name: str, source: str) -> Path:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / name).write_text(textwrap.dedent(source), encoding="utf-8")
    return project


def test_the_lesson_example_project_passes_its_own_tests(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__"))
    result = run_pytest(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert passed(result) == 5, result.stdout


def test_the_example_tests_fail_against_a_handler_that_swallows_errors(tmp_path: Path) -> None:
    """The example's tests can fail: a handler that reports every failure as a success is caught."""
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__"))
    handler = project / "stream_handler.py"
    text = handler.read_text(encoding="utf-8")
    handler.write_text(text.replace('return Answer("".join(pieces), None, err.response["Error"]["Code"])',
                                    'return Answer("".join(pieces), "end_turn", None)'), encoding="utf-8")
    result = run_pytest(project)
    assert result.returncode == 1
    assert "FAILED test_stream_handler.py::test_a_mid_stream_exception_keeps_the_text_so_far" in result.stdout
    assert "FAILED test_stream_handler.py::test_throttling_before_the_stream" in result.stdout


ISOLATION = '''
import json

MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                   "messages": [{"role": "user", "content": "Name a lake"}]})


def test_a_leaves_a_fault_and_calls_behind(bedrock_client, bedrock_faults, bedrock_calls):
    bedrock_client.invoke_model(modelId=MODEL, body=BODY)
    bedrock_faults.add({"error": "ThrottlingException", "operation": "Converse"})  # never fired here
    assert len(bedrock_calls) == 1 and len(bedrock_faults.list()) == 1


def test_b_starts_clean(bedrock_client, bedrock_faults, bedrock_calls):
    assert bedrock_faults.list() == [] and len(bedrock_calls) == 0
    bedrock_client.invoke_model(modelId=MODEL, body=BODY)
    assert bedrock_calls.last.operation == "InvokeModel" and bedrock_calls.last.status == 200


def test_c_the_session_endpoint_is_shared(bedrock_endpoint, bedrock_client):
    assert bedrock_client.meta.endpoint_url == bedrock_endpoint.endpoint_url
    assert bedrock_endpoint.endpoint_url.startswith("http://127.0.0.1:")
'''


def test_faults_and_the_call_log_do_not_leak_between_tests(tmp_path: Path) -> None:
    result = run_pytest(project_with(tmp_path, "test_isolation.py", ISOLATION))
    assert result.returncode == 0, result.stdout + result.stderr
    assert passed(result) == 3


WRITE_TEXT = '''
import json
import os


def test_write_the_answer(bedrock_client, bedrock_endpoint):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 80,
            "messages": [{"role": "user", "content": "Describe a harbour"}]}
    response = bedrock_client.invoke_model(modelId="global.anthropic.claude-haiku-4-5-20251001-v1:0",
                                           body=json.dumps(body))
    answer = json.loads(response["body"].read())
    with open(os.environ["ANSWER_FILE"], "w") as out:
        json.dump({"text": answer["content"][0]["text"], "seed": bedrock_endpoint.seed,
                   "time_scale": bedrock_endpoint.time_scale}, out)
'''


def direct_answer(seed: int) -> str:
    """The endpoint's answer for that seed, asked without the plugin."""
    with LocalBedrock(seed=seed, time_scale=0) as server:
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 80,
                "messages": [{"role": "user", "content": "Describe a harbour"}]}
        response = server.client().invoke_model(modelId=MODEL, body=json.dumps(body))
        return json.loads(response["body"].read())["content"][0]["text"]


def test_the_seed_option_chooses_the_endpoints_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = project_with(tmp_path, "test_write.py", WRITE_TEXT)
    answers = {}
    for seed in (3, 4):
        out = tmp_path / f"answer-{seed}.json"
        monkeypatch.setenv("ANSWER_FILE", str(out))
        result = run_pytest(project, f"--bedrock-seed={seed}")
        assert result.returncode == 0, result.stdout + result.stderr
        answers[seed] = json.loads(out.read_text())
    assert answers[3]["seed"] == 3 and answers[3]["time_scale"] == 0.0  # as fast as possible by default
    assert answers[3]["text"] == direct_answer(3)
    assert answers[4]["text"] == direct_answer(4)
    assert answers[3]["text"] != answers[4]["text"]


REPLAYED = '''
import json


def test_the_cassettes_answer_comes_back(bedrock_client):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
            "messages": [{"role": "user", "content": "Say hello"}]}
    response = bedrock_client.invoke_model_with_response_stream(
        modelId="global.anthropic.claude-haiku-4-5-20251001-v1:0", body=json.dumps(body))
    text = ""
    for event in response["body"]:
        chunk = json.loads(event["chunk"]["bytes"])
        if chunk["type"] == "content_block_delta":
            text += chunk["delta"]["text"]
    assert text == "Hello from a recording."
'''


def cassette_lines() -> list[dict]:
    """One recorded stream, written by hand in the format helpers/local_bedrock/controls/cassettes.py documents."""
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
            "messages": [{"role": "user", "content": "Say hello"}]}
    chunks = [
        {"type": "message_start", "message": {"id": "msg_bdrk_01", "type": "message", "role": "assistant",
                                              "model": "claude-haiku-4-5-20251001", "content": [],
                                              "stop_reason": None, "stop_sequence": None,
                                              "usage": {"input_tokens": 9, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello from"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " a recording."}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": {"output_tokens": 6}},
        {"type": "message_stop", "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": 9, "outputTokenCount": 6, "invocationLatency": 400, "firstByteLatency": 300}},
    ]
    return [{"exchange": {"operation": "InvokeModelWithResponseStream", "model": MODEL, "body": body,
                          "headers": {}}},
            *({"ms": 300.0 + 10 * i, "chunk": chunk} for i, chunk in enumerate(chunks)),
            {"end": {"ms": 400.0}}]


def test_replay_serves_a_cassette_to_the_fixtures(tmp_path: Path) -> None:
    cassette = tmp_path / "recorded.jsonl"
    cassette.write_text("".join(json.dumps(line) + "\n" for line in cassette_lines()), encoding="utf-8")
    project = project_with(tmp_path, "test_replayed.py", REPLAYED)
    result = run_pytest(project, f"--bedrock-replay={cassette}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert passed(result) == 1
    missing = run_pytest(project, f"--bedrock-replay={tmp_path / 'nope.jsonl'}")
    assert missing.returncode != 0 and "no such file" in missing.stdout + missing.stderr


SDKS = '''
def test_anthropic_bedrock(anthropic_bedrock_client, bedrock_calls):
    message = anthropic_bedrock_client.messages.create(
        model="global.anthropic.claude-haiku-4-5-20251001-v1:0", max_tokens=400,
        messages=[{"role": "user", "content": "Name a river [[length=20]]"}],
        extra_body={"anthropic_version": "bedrock-2023-05-31"})
    assert message.stop_reason == "end_turn" and message.content[0].text
    assert bedrock_calls.last.operation == "InvokeModel"


def test_messages_api(anthropic_client, bedrock_faults, bedrock_calls):
    import anthropic
    import pytest

    with anthropic_client.messages.stream(model="global.anthropic.claude-sonnet-5-5", max_tokens=60,
                                          messages=[{"role": "user", "content": "Name a river"}]) as stream:
        assert "".join(stream.text_stream)
    assert bedrock_calls.last.operation == "MessagesStream"
    bedrock_faults.add({"error": "overloaded_error", "at": "event", "after": 3, "operation": "MessagesStream"})
    with pytest.raises(anthropic.APIStatusError, match="overloaded"):
        with anthropic_client.messages.stream(model="global.anthropic.claude-sonnet-5-5", max_tokens=60,
                                              messages=[{"role": "user", "content": "Name a river"}]) as stream:
            "".join(stream.text_stream)
'''


def test_the_anthropic_sdk_fixtures_reach_both_routes(tmp_path: Path) -> None:
    result = run_pytest(project_with(tmp_path, "test_sdks.py", SDKS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert passed(result) == 2
