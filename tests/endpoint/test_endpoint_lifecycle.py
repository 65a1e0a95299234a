"""Starting, stopping, disconnecting and the command line: nothing left behind, nothing printed."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest
from endpoint_support import HAIKU, joined_text, messages_body

from helpers.local_bedrock import LocalBedrock
from helpers.local_bedrock.server import is_loopback

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _loop_tasks(server: LocalBedrock) -> int:
    async def count() -> int:
        return len(asyncio.all_tasks()) - 1  # not this one

    assert server._loop is not None
    return asyncio.run_coroutine_threadsafe(count(), server._loop).result(5)


def test_stop_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    server = LocalBedrock(time_scale=0).start()
    server.client().invoke_model(modelId=HAIKU, body=json.dumps(messages_body(max_tokens=5)))
    assert server.running
    server.stop()
    assert not server.running
    assert set(threading.enumerate()) == before
    server.stop()  # idempotent


def test_disconnect_mid_stream_ends_quietly(capfd, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with LocalBedrock(time_scale=1.0, latency={"first_byte_s": 0.01, "tokens_per_s": 50}) as server:
        client = server.client()
        client.invoke_model(modelId=HAIKU, body=json.dumps(messages_body(max_tokens=5)))  # warm
        time.sleep(0.2)
        baseline = _loop_tasks(server)  # the server itself plus boto3's kept-alive connection
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("POST", f"/model/{HAIKU}/invoke-with-response-stream",
                     json.dumps(messages_body("[[length=400]] rivers", max_tokens=500)),
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.read1(64)  # frames are flowing
        conn.sock.close()
        conn.close()
        assert _wait_for(lambda: server.calls[0].error == "client disconnected")
        assert _wait_for(lambda: _loop_tasks(server) <= baseline), _loop_tasks(server)
        assert not server._app.tasks
        # and it still serves
        chunks = [json.loads(e["chunk"]["bytes"]) for e in client.invoke_model_with_response_stream(
            modelId=HAIKU, body=json.dumps(messages_body(max_tokens=5)))["body"]]
        assert joined_text(chunks)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.records


def test_stop_during_a_paced_stream_is_prompt_and_clean() -> None:
    before = set(threading.enumerate())
    server = LocalBedrock(time_scale=1.0).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", f"/model/{HAIKU}/invoke-with-response-stream",
                 json.dumps(messages_body("[[length=2000]] rivers", max_tokens=3000)),
                 {"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200
    server.stop()
    with pytest.raises((http.client.IncompleteRead, ConnectionError, OSError)):
        response.read()
    conn.close()
    assert set(threading.enumerate()) == before


def test_two_servers_side_by_side_have_their_own_ports() -> None:
    with LocalBedrock(time_scale=0) as one, LocalBedrock(time_scale=0) as two:
        assert one.port != two.port
        for server in (one, two):
            server.client().invoke_model(modelId=HAIKU, body=json.dumps(messages_body(max_tokens=5)))
            assert len(server.calls) == 1


def test_busy_port_is_a_clear_error() -> None:
    with LocalBedrock(time_scale=0) as running:
        with pytest.raises(OSError, match="--port"):
            LocalBedrock(port=running.port).start()


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_cli_prints_serves_and_exits_cleanly(stop_signal) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") or k == "AWS_CA_BUNDLE"}
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers.local_bedrock", "--port", "0", "--time-scale", "0", "--seed", "2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        lines = []
        assert process.stdout is not None
        while not any(line.startswith("export AWS_SECRET_ACCESS_KEY") for line in lines):
            line = process.stdout.readline()
            assert line, f"CLI ended early: {process.stderr.read() if process.stderr else ''}"
            lines.append(line.strip())
        exports = dict(line[len("export "):].split("=", 1) for line in lines if line.startswith("export "))
        assert set(exports) == {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_REGION", "AWS_ACCESS_KEY_ID",
                                "AWS_SECRET_ACCESS_KEY"}
        client = boto3.client(
            "bedrock-runtime", endpoint_url=exports["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"],
            region_name=exports["AWS_REGION"], aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
        )
        events = client.invoke_model_with_response_stream(modelId=HAIKU,
                                                          body=json.dumps(messages_body(max_tokens=10)))
        assert joined_text([json.loads(e["chunk"]["bytes"]) for e in events["body"]])
        process.send_signal(stop_signal)
        _, err = process.communicate(timeout=15)
        assert process.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_lifecycle_switches_reach_the_endpoint() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") or k == "AWS_CA_BUNDLE"}
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers.local_bedrock", "--port", "0", "--time-scale", "0", "--as-of", "2026-01-01",
         "--inactive-account"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not any(line.startswith("Playing an inactive account") for line in lines):
            line = process.stdout.readline()
            assert line, f"CLI ended early: {process.stderr.read() if process.stderr else ''}"
            lines.append(line.strip())
        url = next(line.split("=", 1)[1] for line in lines if line.startswith("export AWS_ENDPOINT_URL"))
        client = boto3.client("bedrock-runtime", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id="local", aws_secret_access_key="local")
        body = json.dumps(messages_body(max_tokens=5))
        # Claude 3 Haiku was Active on 2026-01-01 (retired 2026-09-10); Claude Sonnet 4 is Legacy today,
        # but not yet on that day.
        client.invoke_model(modelId="anthropic.claude-3-haiku-20240307-v1:0", body=body)
        client.invoke_model(modelId="us.anthropic.claude-sonnet-4-20250514-v1:0", body=body)
        with pytest.raises(client.exceptions.ResourceNotFoundException, match="marked by provider as Legacy"):
            client.invoke_model(modelId="us.anthropic.claude-opus-4-20250514-v1:0", body=body)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_keeps_existing_credentials_out_of_its_output() -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers.local_bedrock", "--port", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(5)]
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=15)
        text = "".join(lines) + out
        assert "AWS_ENDPOINT_URL_BEDROCK_RUNTIME" in text
        assert "AWS_ACCESS_KEY_ID" not in text and "secret" not in text
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
