"""The web relay (examples/web_relay, lesson 12) in front of the local endpoint, driven over HTTP as a page does.

What a developer shipping it relies on: the page gets the endpoint's text while the endpoint is still sending;
a mid-stream failure reaches the page as an ``error`` event; a page that goes away closes the upstream stream
(the endpoint's call log says so); keep-alive comments fill a silent wait; a bad request gets a 400 naming the
problem; one page never holds two upstream streams; every request received is in the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from relay_support import MODEL, closed_early, endpoint_calls, relay_in_front_of, wait_for

from helpers.local_bedrock import LocalBedrock

pytestmark = pytest.mark.timeout(120)

SEED = 11
PROMPT = "How do tides work? [[length=150]]"


@pytest.fixture(scope="module")
def server() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=SEED, time_scale=1.0) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def relay(server: LocalBedrock) -> Iterator[Any]:
    with relay_in_front_of(server, keepalive_seconds=0.2) as running:
        yield running


@pytest.fixture(autouse=True)
def no_faults(server: LocalBedrock) -> Iterator[None]:
    server.faults.clear()
    yield
    server.faults.clear()


def sse_events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """(kind, data) per event; ("comment", text) per comment line."""
    kind, data = "message", ""
    for line in response.iter_lines():
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data += line[6:]
        elif line == "" and data:
            yield kind, json.loads(data)
            kind, data = "message", ""


def ask(relay: Any, page_id: str, api: str = "invoke", prompt: str = PROMPT, **extra: Any) -> Any:
    body = {"prompt": prompt, "api": api, "max_tokens": 400, "page_id": page_id, **extra}
    return httpx.stream("POST", relay.url + "stream", json=body, timeout=30)


def expected_text(prompt: str) -> str:
    """The endpoint's answer for this prompt, read with plain boto3 from an unpaced endpoint with the same seed."""
    with LocalBedrock(seed=SEED, time_scale=0.0) as fast:
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 400,
                "messages": [{"role": "user", "content": prompt}]}
        response = fast.client().invoke_model_with_response_stream(modelId=MODEL, body=json.dumps(body))
        pieces = []
        for event in response["body"]:
            chunk = json.loads(event["chunk"]["bytes"])
            if chunk["type"] == "content_block_delta" and chunk["delta"]["type"] == "text_delta":
                pieces.append(chunk["delta"]["text"])
    return "".join(pieces)


def relay_log(relay: Any) -> list[dict[str, Any]]:
    return httpx.get(relay.url + "log", timeout=10).json()


def test_page_is_served(relay: Any) -> None:
    page = httpx.get(relay.url, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'id="stop"' in page.text


def test_text_reaches_the_page_while_the_endpoint_is_still_sending(relay: Any, server: LocalBedrock) -> None:
    texts, done, endpoint_done_at_first_text = [], None, None
    with ask(relay, "page-happy-1") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for kind, data in sse_events(response):
            if kind == "text":
                if endpoint_done_at_first_text is None:
                    endpoint_done_at_first_text = endpoint_calls(server)[0]["done"]
                texts.append(data["text"])
            elif kind == "done":
                done = data
    assert endpoint_done_at_first_text is False, "the first text reached the page only after the stream ended"
    assert "".join(texts) == expected_text(PROMPT)
    assert len(texts) > 5
    assert done is not None and done["stop_reason"] == "end_turn"


@pytest.mark.parametrize(("api", "fault", "error_type"), [
    ("invoke", {"error": "modelStreamErrorException", "at": "event", "after": 3}, "modelStreamErrorException"),
    ("messages", {"error": "overloaded_error", "at": "event", "after": 3, "operation": "MessagesStream"},
     "overloaded_error"),
])
def test_mid_stream_error_reaches_the_page_as_an_error_event(relay: Any, server: LocalBedrock, api: str,
                                                            fault: dict, error_type: str) -> None:
    server.faults.add(fault)
    with ask(relay, f"page-error-{api}", api=api) as response:
        events = [(kind, data) for kind, data in sse_events(response) if kind != "comment"]
    kinds = [kind for kind, _ in events]
    assert "text" in kinds and kinds[-1] == "error" and "done" not in kinds
    assert events[-1][1]["type"] == error_type
    assert wait_for(lambda: relay_log(relay)[0]["outcome"] == f"error: {error_type}", what="the log's outcome")


@pytest.mark.parametrize("api", ["invoke", "messages"])
def test_a_page_that_leaves_closes_the_upstream_stream(relay: Any, server: LocalBedrock, api: str) -> None:
    with ask(relay, f"page-leaves-{api}", api=api, prompt="Describe a lighthouse [[length=600]]") as response:
        seen = 0
        for kind, _ in sse_events(response):
            seen += kind == "text"
            if seen == 3:
                break  # leaving the block closes the connection, as a closed tab does
    call = wait_for(lambda: (c := endpoint_calls(server)[0])["done"] and c, what="the endpoint to end the call")
    assert call["operation"] == ("MessagesStream" if api == "messages" else "InvokeModelWithResponseStream")
    assert closed_early(call), call
    record = wait_for(lambda: (r := relay_log(relay)[0])["outcome"] != "streaming" and r, what="the relay log")
    assert record["outcome"] == "stopped: page left"
    assert record["upstream_closed_ms"] is not None


def test_one_page_holds_at_most_one_upstream_stream(relay: Any, server: LocalBedrock) -> None:
    page_id = "page-twice-1"
    with ask(relay, page_id, prompt="Describe a lighthouse [[length=600]]") as first:
        events = sse_events(first)
        while next(events)[0] != "text":
            pass
        first_call = endpoint_calls(server)[0]
        with ask(relay, page_id, prompt="Describe a windmill [[length=100]]") as second:
            kind = None
            for kind, _ in sse_events(second):
                if kind == "text":
                    break
            assert kind == "text"
            old = next(c for c in endpoint_calls(server) if c["id"] == first_call["id"])
            assert old["done"] and closed_early(old), "the first upstream stream was still open"
        rest = [kind for kind, _ in events if kind != "comment"]
    assert "done" not in rest
    first_record = wait_for(lambda: next((r for r in relay_log(relay) if isinstance(r["body"], dict)
                                          and r["body"]["prompt"].startswith("Describe a lighthouse")
                                          and r["outcome"] != "streaming"), None), what="the first answer's log")
    assert first_record["outcome"] == "stopped: replaced by a newer request from the page"


def test_keep_alive_comments_fill_a_slow_first_token(relay: Any, server: LocalBedrock) -> None:
    server.faults.add({"error": "stall", "at": "event", "after": 0, "seconds": 1.0})
    before_text, kinds = [], []
    with ask(relay, "page-slow-1", prompt="Say something about clouds [[length=20]]") as response:
        for kind, data in sse_events(response):
            kinds.append(kind)
            if "text" not in kinds:
                before_text.append(data if kind == "comment" else kind)
    assert "keep-alive" in before_text
    assert kinds[-1] == "done"


@pytest.mark.parametrize(("content", "content_type", "reason"), [
    (b'{"prompt": "hi", "page_id": "page-bad-1"', "application/json", "not valid JSON"),
    (b'["hi"]', "application/json", "must be a JSON object"),
    (b'{"prompt": "hi", "page_id": "page-bad-1"}', "text/plain", "Content-Type must be application/json"),
    (b'{"prompt": "", "page_id": "page-bad-1"}', "application/json", '"prompt" is required'),
    (b'{"prompt": "hi", "page_id": "page-bad-1", "model": "x"}', "application/json", "unknown field(s) ['model']"),
    (b'{"prompt": "hi", "page_id": "page-bad-1", "max_tokens": 0}', "application/json", '"max_tokens" must be'),
    (b'{"prompt": "hi", "page_id": "page-bad-1", "max_tokens": true}', "application/json", '"max_tokens" must be'),
    (b'{"prompt": "hi", "page_id": "page-bad-1", "api": "converse"}', "application/json", '"api" must be one of'),
    (b'{"prompt": "hi", "page_id": "<script>"}', "application/json", '"page_id" is required'),
    (b'{"prompt": "hi"}', "application/json", '"page_id" is required'),
    (b'{"prompt": "' + b"x" * 8001 + b'", "page_id": "page-bad-1"}', "application/json", "at most 8000"),
    (b"\xff\xfe{}", "application/json", "not valid JSON"),
])
def test_bad_requests_get_400_with_a_reason_and_are_logged(relay: Any, content: bytes, content_type: str,
                                                          reason: str) -> None:
    answer = httpx.post(relay.url + "stream", content=content, headers={"content-type": content_type}, timeout=10)
    assert answer.status_code == 400
    assert reason in answer.json()["message"]
    record = relay_log(relay)[0]
    assert record["status"] == 400 and reason in record["outcome"]
    assert record["size"] == len(content) and record["sha256"] == hashlib.sha256(content).hexdigest()


def test_an_oversized_body_is_refused_without_being_held_whole(relay: Any) -> None:
    content = json.dumps({"prompt": "y" * 100_000, "page_id": "page-big-1"}).encode()
    answer = httpx.post(relay.url + "stream", content=content, headers={"content-type": "application/json"},
                        timeout=10)
    assert answer.status_code == 400 and "larger than 16384 bytes" in answer.json()["message"]
    record = relay_log(relay)[0]
    assert record["status"] == 400 and 16384 < record["size"] < len(content)


def test_every_request_received_goes_to_the_logger(relay: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="web_relay")
    httpx.post(relay.url + "stream", content=b"not json", headers={"content-type": "application/json"}, timeout=10)
    with ask(relay, "page-logged-1", prompt="Name a bird [[length=5]]") as response:
        list(sse_events(response))
    wait_for(lambda: sum(r.getMessage().startswith("finished") for r in caplog.records) >= 2, what="log lines")
    lines = [json.loads(r.getMessage().split(" ", 1)[1]) for r in caplog.records if r.name == "web_relay"]
    received = [line for line in lines if line["outcome"] == "streaming" or line["status"] == 400]
    assert any(line["body"] == "not json" for line in received)
    assert any(isinstance(line["body"], dict) and line["body"]["prompt"] == "Name a bird [[length=5]]"
               for line in lines)
