"""Record through the endpoint from a second local endpoint standing in for AWS (loopback only), then
replay the cassette: the same chunks, the same errors, the recorded timing scaled by time_scale."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError
from endpoint_support import HAIKU, HAIKU_BASE, MESSAGE_ID, messages_body, stream_chunks

from helpers.local_bedrock import LocalBedrock
from helpers.local_bedrock.controls.cassettes import read_cassette

ACCOUNT = "123456789012"
ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.{HAIKU_BASE}"
CONVERSE = {"messages": [{"role": "user", "content": [{"text": "What is a stream?"}]}],
            "inferenceConfig": {"maxTokens": 80}}


def _client(server: LocalBedrock, key: str = "AKIDLEARNER", secret: str = "learner-secret") -> Any:
    return boto3.client("bedrock-runtime", endpoint_url=server.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=30))


def _converse_events(client: Any) -> list[dict]:
    return list(client.converse_stream(modelId=HAIKU, **CONVERSE)["stream"])


def _session(client: Any, upstream: LocalBedrock | None = None) -> dict[str, Any]:
    """One learner's session: the calls a lesson makes, errors included (faults armed on ``upstream``)."""
    seen: dict[str, Any] = {}
    seen["stream"] = stream_chunks(client, messages_body("What is streaming?"))
    seen["arn"] = stream_chunks(client, messages_body("Name a river."), model_id=ARN)
    response = client.invoke_model(modelId=HAIKU, body=json.dumps(messages_body("Say hello.")))
    seen["invoke"] = json.loads(response["body"].read())
    seen["invoke_tokens"] = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-output-token-count"]
    seen["converse_stream"] = _converse_events(client)
    seen["converse"] = client.converse(modelId=HAIKU, **CONVERSE)["output"]
    if upstream is not None:
        upstream.faults.add({"error": "ThrottlingException", "at": "request"})
    with pytest.raises(client.exceptions.ThrottlingException) as throttled:
        client.invoke_model(modelId=HAIKU, body=json.dumps(messages_body("Throttle me.")))
    seen["throttle"] = throttled.value.response["Error"]["Message"]
    got: list[dict] = []
    if upstream is not None:
        upstream.faults.add({"error": "modelStreamErrorException", "at": "event", "after": 3})
    with pytest.raises(EventStreamError) as broken:
        response = client.invoke_model_with_response_stream(modelId=HAIKU,
                                                            body=json.dumps(messages_body("Break off.")))
        for event in response["body"]:
            got.append(json.loads(event["chunk"]["bytes"]))
    seen["broken"] = (got, broken.value.response["Error"]["Code"])
    return seen


def _strip_metrics(value: Any) -> Any:
    """Measured latencies dropped; message ids (new on every call, so two sessions never share one) by form."""
    if isinstance(value, list | tuple):
        return type(value)(_strip_metrics(v) for v in value)
    if isinstance(value, dict):
        out = {k: _strip_metrics(v) for k, v in value.items()
               if k not in ("amazon-bedrock-invocationMetrics", "metrics", "metadata")}
        if isinstance(out.get("id"), str) and out["id"].startswith("msg_"):
            assert MESSAGE_ID.fullmatch(out["id"]), out["id"]
            out["id"] = "msg_bdrk_01<22 characters>"
        return out
    return value


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict, list]:
    """Record a session through the endpoint; also run it straight against the upstream to compare."""
    cassette = tmp_path_factory.mktemp("cassettes") / "session.jsonl"
    with LocalBedrock(seed=7, time_scale=0.05) as upstream:
        direct = _session(_client(upstream), upstream)
        with LocalBedrock(time_scale=0, record=cassette, upstream=upstream.endpoint_url) as recorder:
            through = _session(_client(recorder), upstream)
            upstream_calls = upstream.calls
    return cassette, direct, through, upstream_calls


def test_recording_passes_the_upstream_answers_through(recorded: tuple) -> None:
    _, direct, through, _ = recorded
    assert _strip_metrics(through) == _strip_metrics(direct)
    assert through["broken"][1] == "modelStreamErrorException"
    assert len(through["broken"][0]) == 3


def test_cassette_is_readable_and_holds_no_secrets(recorded: tuple) -> None:
    cassette, _, _, _ = recorded
    text = cassette.read_text()
    for secret in ("AKIDLEARNER", "learner-secret", "AWS4-HMAC-SHA256", "Signature=", "authorization",
                   "x-amzn-requestid", "x-amz-date", ACCOUNT):
        assert secret.lower() not in text.lower(), secret
    lines = [json.loads(line) for line in text.splitlines()]  # every line is JSON on its own
    exchanges = read_cassette(cassette)
    assert len(exchanges) == 7
    assert [e.operation for e in exchanges] == [
        "InvokeModelWithResponseStream", "InvokeModelWithResponseStream", "InvokeModel", "ConverseStream",
        "Converse", "InvokeModel", "InvokeModelWithResponseStream"]
    assert exchanges[1].model == ARN.replace(ACCOUNT, "000000000000")
    first = exchanges[0]
    assert first.body == messages_body("What is streaming?")
    offsets = [s["ms"] for s in first.steps]
    assert offsets == sorted(offsets) and offsets[-1] > 0
    assert first.steps[0]["chunk"]["type"] == "message_start"
    assert exchanges[5].steps[0]["error"] == {"where": "request", "status": 429, "type": "ThrottlingException",
                                              "message": exchanges[5].steps[0]["error"]["message"]}
    assert exchanges[6].steps[-1]["error"]["type"] == "modelStreamErrorException"
    assert exchanges[3].steps[0]["event"] == "messageStart"
    assert all("p" not in s.get("data", {}) for s in exchanges[3].steps)
    assert len(lines) == sum(len(e.steps) + 2 for e in exchanges)


def test_replay_serves_the_same_chunks_and_errors_without_upstream(recorded: tuple) -> None:
    cassette, _, through, _ = recorded
    with LocalBedrock(time_scale=0, replay=cassette) as replayer:
        again = _session(_client(replayer, key="someone", secret="else"))
    # Identical, invocation metrics included: replay serves what was recorded, byte for byte in JSON.
    assert again["stream"] == through["stream"]
    assert again["arn"] == through["arn"]
    assert again["invoke"] == through["invoke"]
    assert again["invoke_tokens"] == through["invoke_tokens"]
    assert again["converse"] == through["converse"]
    assert again["converse_stream"] == through["converse_stream"]
    assert again["throttle"] == through["throttle"]
    assert again["broken"] == through["broken"]


def test_replay_keeps_the_recorded_timing_scaled(recorded: tuple) -> None:
    cassette, _, _, _ = recorded
    first = read_cassette(cassette)[0]
    recorded_ms = [s["ms"] for s in first.steps]
    with LocalBedrock(time_scale=0.5, replay=cassette) as replayer:
        chunks = stream_chunks(_client(replayer), messages_body("What is streaming?"))
        call = replayer.calls[0]
    assert len(chunks) == len(recorded_ms)
    assert call.schedule_ms == [round(ms * 0.5, 3) for ms in recorded_ms]
    # Never early: each chunk waits for its recorded moment (the upstream paced them, so they are spread).
    assert recorded_ms[0] > 0 and recorded_ms[-1] > recorded_ms[0]
    assert all(sent >= planned for sent, planned in zip(call.sent_ms, call.schedule_ms, strict=True))


def test_replay_says_which_model_had_no_cassette(recorded: tuple) -> None:
    cassette, _, _, _ = recorded
    with LocalBedrock(time_scale=0, replay=cassette) as replayer:
        client = _client(replayer)
        with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
            client.invoke_model(modelId=HAIKU, body=json.dumps(messages_body("Something never recorded.")))
        message = caught.value.response["Error"]["Message"]
        assert "No cassette matched" in message and HAIKU in message and "messages" in message
        other = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
        with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
            stream_chunks(client, messages_body("What is streaming?"), model_id=other)
        message = caught.value.response["Error"]["Message"]
        assert other in message and "Nothing was recorded for this model" in message


def test_upstream_request_is_signed_by_botocore_with_this_machines_credentials(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDRECORDER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "recorder-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with LocalBedrock(time_scale=0, verify_sigv4=("AKIDRECORDER", "recorder-secret")) as upstream:
        with LocalBedrock(time_scale=0, upstream=upstream.endpoint_url, upstream_region="eu-central-1",
                          record=tmp_path / "signed.jsonl") as recorder:
            assert stream_chunks(_client(recorder), messages_body())[-1]["type"] == "message_stop"
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
        with LocalBedrock(time_scale=0, upstream=upstream.endpoint_url, upstream_region="eu-central-1",
                          record=tmp_path / "signed.jsonl") as recorder:
            with pytest.raises(ClientError) as caught:
                stream_chunks(_client(recorder), messages_body())
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    text = (tmp_path / "signed.jsonl").read_text()
    assert "recorder-secret" not in text and "AKIDRECORDER" not in text
    assert len(read_cassette(tmp_path / "signed.jsonl")) == 2


def test_bad_options_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="record needs an upstream"):
        LocalBedrock(record=tmp_path / "x.jsonl")
    with pytest.raises(ValueError, match="no cassette file"):
        LocalBedrock(replay=tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="cannot be combined"):
        LocalBedrock(replay=tmp_path / "x.jsonl", upstream="aws")
    with pytest.raises(ValueError, match="endpoint URL"):
        LocalBedrock(upstream="bedrock.example.com")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"exchange": {"operation": "InvokeModel", "model": "m", "body": {}}}\nnot json\n')
    with pytest.raises(ValueError, match="broken.jsonl:2"):
        LocalBedrock(replay=broken)


def test_cli_replays_a_cassette_behind_a_room_key(recorded: tuple) -> None:
    cassette, _, through, _ = recorded
    command = [sys.executable, "-m", "helpers.local_bedrock", "--port", "0", "--time-scale", "0",
               "--replay", str(cassette), "--verify-sigv4", "room:room-secret"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=Path(__file__).resolve().parents[2])
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert url, first + (process.stderr.read() if process.poll() is not None else "")
        banner = []
        while len(banner) < 12 and not any("Replaying" in line for line in banner):
            banner.append(process.stdout.readline())
        assert "Replaying 7 recorded exchanges" in banner[-1], banner
        room = boto3.client("bedrock-runtime", endpoint_url=url.group(0), region_name="us-east-1",
                            aws_access_key_id="room", aws_secret_access_key="room-secret",
                            config=Config(retries={"total_max_attempts": 1}))
        assert stream_chunks(room, messages_body("What is streaming?")) == through["stream"]
        outsider = boto3.client("bedrock-runtime", endpoint_url=url.group(0), region_name="us-east-1",
                                aws_access_key_id="room", aws_secret_access_key="guess",
                                config=Config(retries={"total_max_attempts": 1}))
        with pytest.raises(ClientError, match="InvalidSignatureException"):
            stream_chunks(outsider, messages_body("What is streaming?"))
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    assert process.returncode == 0


def test_a_learner_leaving_mid_recording_closes_the_upstream_stream_and_writes_nothing(tmp_path: Path) -> None:
    cassette = tmp_path / "left.jsonl"
    with LocalBedrock(seed=1, time_scale=1.0) as upstream:
        with LocalBedrock(time_scale=0, upstream=upstream.endpoint_url, record=cassette) as recorder:
            response = _client(recorder).invoke_model_with_response_stream(
                modelId=HAIKU, body=json.dumps(messages_body("Tell me a long story.", max_tokens=400)))
            events = iter(response["body"])
            next(events), next(events)
            response["body"].close()  # the learner presses Stop
            deadline = time.monotonic() + 20
            while not (recorder.calls[0].done and upstream.calls[0].done) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert recorder.calls[0].error == "client disconnected"
            # The endpoint hung up on the upstream too, long before its 400 tokens were due.
            assert upstream.calls[0].error == "client disconnected"
            assert len(upstream.calls[0].sent_ms) < len(upstream.calls[0].schedule_ms)
    assert not cassette.exists() or cassette.read_text() == ""


_CASSETTE_PROBLEMS = {
    "no-operation.jsonl": ('{"exchange": {"model": "m"}}\n{"end": {"ms": 1}}\n', r"no-operation\.jsonl:1: .*operation"),
    "end-5.jsonl": ('{"exchange": {"operation": "InvokeModel", "model": "m"}}\n{"end": 5}\n', r"end-5\.jsonl:2: .*end"),
    "soon.jsonl": ('{"exchange": {"operation": "InvokeModel", "model": "m"}}\n{"ms": "soon", "response": {}}\n'
                   '{"end": {"ms": 1}}\n', r"soon\.jsonl:2: .*ms"),
    "no-end.jsonl": ('{"exchange": {"operation": "InvokeModel", "model": "m"}}\n{"ms": 1, "response": {}}\n',
                     r"no-end\.jsonl:1 .*no \{\"end\""),
    "empty.jsonl": ("\n", r"empty\.jsonl holds no recorded exchanges"),
}


@pytest.mark.parametrize("name", sorted(_CASSETTE_PROBLEMS))
def test_broken_cassettes_are_refused_up_front_naming_the_line(tmp_path: Path, name: str) -> None:
    text, expected = _CASSETTE_PROBLEMS[name]
    (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=expected):
        read_cassette(tmp_path / name)


def test_cli_exits_2_with_one_sentence_for_a_broken_cassette_or_record_path(tmp_path: Path) -> None:
    (tmp_path / "soon.jsonl").write_text(_CASSETTE_PROBLEMS["soon.jsonl"][0])
    (tmp_path / "a-file").write_text("")
    for args, expected in ((["--replay", str(tmp_path / "soon.jsonl")], "soon.jsonl:2"),
                           (["--record", str(tmp_path / "a-file" / "x.jsonl"), "--upstream", "aws"],
                            "is a file, not a folder")):
        done = subprocess.run([sys.executable, "-m", "helpers.local_bedrock", "--port", "0", *args],
                              capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
        assert done.returncode == 2, done.stderr
        assert expected in done.stderr and "Traceback" not in done.stderr
