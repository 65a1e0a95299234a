"""Issue 23, bug 2: a body too large to judge beside the event loop is judged and planned in a child process
(helpers/local_bedrock/door/worker.py), and what a client gets is the same as for any other body.

Each test drives real boto3 or raw HTTP against the locked endpoint (adversarial_support), with prompts the
lessons do not use. The child is observed from /proc: its command line names the worker's entry point.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from adversarial_support import HAIKU, Child, messages_body, still_serves
from botocore.exceptions import ClientError
from test_probes import _back_to_baseline, _signed

# Above door/worker.py's OFF_PROCESS_BYTES (256 KiB): judged in the child. ~60,000 tokens of a sentence about
# glaciers, inside Haiku 4.5's 200,000-token window.
LARGE_PROMPT = "Glaciers carve valleys slowly over many centuries. " * 6_000
# Sonnet 4.6's 1M-token window takes a few MiB (tests/adversarial/test_probes.py uses it the same way).
LONG_CONTEXT = "global.anthropic.claude-sonnet-4-6"


def _worker_pids(child: Child) -> list[int]:
    """The server's child processes running the worker's entry point."""
    pids = []
    for task in Path(f"/proc/{child.process.pid}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except FileNotFoundError:
                continue
            if b"door.worker" in command:
                pids.append(int(pid))
    return pids


def _wait_for(condition, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_large_body_is_answered_by_the_model_in_a_child_process(child: Child, baseline: dict[str, int]) -> None:
    body = messages_body(LARGE_PROMPT, max_tokens=60)
    assert len(json.dumps(body)) > 256 * 1024
    response = child.client().invoke_model(modelId=HAIKU, body=json.dumps(body))
    answer = json.loads(response["body"].read())
    assert answer["type"] == "message" and answer["usage"]["output_tokens"] <= 60
    assert answer["usage"]["input_tokens"] > 50_000  # the whole prompt was read and counted
    assert "glacier" in answer["content"][0]["text"].lower()  # an answer to this prompt, not a stand-in
    assert _worker_pids(child), "no worker process judged the large body"
    # Idle, the endpoint lets its worker go and returns to what it held before (door/worker.py IDLE_S).
    assert _wait_for(lambda: not _worker_pids(child))
    _back_to_baseline(child, baseline)


def test_a_refusal_from_the_child_is_bedrocks_400(child: Child) -> None:
    # Two user turns in a row: the Converse translation refuses it, in the child, with Bedrock's own text.
    messages = [{"role": "user", "content": [{"text": LARGE_PROMPT}]},
                {"role": "user", "content": [{"text": "and again"}]}]
    with pytest.raises(ClientError) as refused:
        child.client().converse(modelId=HAIKU, messages=messages, inferenceConfig={"maxTokens": 20})
    error = refused.value.response["Error"]
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("A conversation must alternate between user and assistant roles")
    still_serves(child)


def test_a_long_answer_planned_in_the_child_streams_whole(child: Child) -> None:
    # A short body asking for 20,000 tokens: planned in the child, sent back in slices.
    body = messages_body("[[length=20000]] [[chunk=1]] tides", max_tokens=20_000)
    response = child.client().invoke_model_with_response_stream(modelId=HAIKU, body=json.dumps(body))
    deltas, metrics = [], {}
    for event in response["body"]:
        chunk = json.loads(event["chunk"]["bytes"])
        if chunk["type"] == "content_block_delta":
            deltas.append(chunk["delta"]["text"])
        metrics = chunk.get("amazon-bedrock-invocationMetrics", metrics)
    assert len(deltas) == 20_000 == metrics["outputTokenCount"]  # [[chunk=1]]: one token per delta
    assert "tides" in "".join(deltas).lower()


def test_a_client_that_leaves_mid_judging_ends_the_childs_work(child: Child) -> None:
    # Two and a half MiB, far inside Sonnet 4.6's window: seconds of judging in the child.
    body = json.dumps(messages_body("Harbours shelter boats from storms. " * 75_000)).encode()
    path = f"/model/{LONG_CONTEXT}/invoke"
    leaving = threading.Thread(target=lambda: _send_and_leave(child, path, body))
    leaving.start()
    assert _wait_for(lambda: bool(_worker_pids(child)), 20)
    working = _worker_pids(child)
    leaving.join()
    # The call is cancelled when its client leaves, and the child stopped with it rather than finishing.
    assert _wait_for(lambda: not set(working) & set(_worker_pids(child)), 10)
    still_serves(child)


def test_a_worker_killed_mid_job_is_a_503_and_the_next_large_body_is_served(child: Child) -> None:
    body = json.dumps(messages_body("Lighthouses warn ships away from rocks. " * 70_000)).encode()
    path = f"/model/{LONG_CONTEXT}/invoke"
    answered: list[tuple[int, dict[str, str], bytes]] = []
    caller = threading.Thread(target=lambda: answered.append(_signed(child, "POST", path, body)))
    caller.start()
    assert _wait_for(lambda: bool(_worker_pids(child)), 20)
    for pid in _worker_pids(child):
        os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    caller.join(60)
    status, headers, data = answered[0]
    # botocore's standard and adaptive retry modes retry a 503 ServiceUnavailableException.
    assert status == 503 and headers["x-amzn-errortype"].startswith("ServiceUnavailableException")
    assert "retry" in json.loads(data)["message"]
    response = child.client().invoke_model(modelId=HAIKU, body=json.dumps(messages_body(LARGE_PROMPT)))
    assert json.loads(response["body"].read())["type"] == "message"


def _send_and_leave(child: Child, path: str, body: bytes) -> None:
    """Send a signed call, then close the connection without reading the answer."""
    import socket

    from test_probes import _signed_headers

    headers = _signed_headers(child, "POST", path, body)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection(("127.0.0.1", child.port)) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n{head}\r\n"
                     .encode() + body)
        _wait_for(lambda: bool(_worker_pids(child)), 20)
