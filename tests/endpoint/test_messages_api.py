"""The Messages API route, read as raw bytes over HTTP: SSE framing, event order, rules, errors, faults, pings.

Requests go out with httpx as any HTTP client would send them; the answer is parsed by the test's own SSE
parser (sse_support.py), not by the code under test.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from endpoint_support import messages_body, stream_chunks
from sse_support import parse_sse

from helpers.local_bedrock import LocalBedrock
from helpers.local_bedrock.routes import messages_api

MODEL = "global.anthropic.claude-sonnet-5-5"
OPUS = "us.anthropic.claude-opus-4-7"
HEADERS = {"anthropic-version": "2023-06-01", "content-type": "application/json"}
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def _body(prompt: str = "What is streaming?", *, stream: bool = True, model: str = MODEL, **extra: Any) -> dict:
    return {"model": model, "max_tokens": 200, "stream": stream,
            "messages": [{"role": "user", "content": prompt}], **extra}


def _post(server: LocalBedrock, body: dict | bytes, headers: dict | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{server.anthropic_base_url}/v1/messages", content=content,
                      headers=HEADERS if headers is None else headers, timeout=30)


def _events(server: LocalBedrock, body: dict, headers: dict | None = None) -> list:
    response = _post(server, body, headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.content)


def _text(events: list) -> str:
    return "".join(e.json()["delta"].get("text", "") for e in events if e.event == "content_block_delta")


def _error(response: httpx.Response) -> dict:
    body = response.json()
    assert body["type"] == "error" and set(body["error"]) == {"type", "message"}
    return body["error"]


# ---- the stream ----------------------------------------------------------------------------------


def test_stream_is_sse_with_anthropic_events_in_order(server) -> None:
    events = _events(server, _body())
    names = [e.event for e in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[3:-3]) == {"content_block_delta"}
    for event in events:  # the event line names the payload's type, and every data line is one JSON object
        assert event.json()["type"] == event.event
    assert events[-1].json() == {"type": "message_stop"}  # no invocation metrics on this wire
    start = events[0].json()["message"]
    assert start["role"] == "assistant" and start["model"] == "claude-sonnet-5-5" and start["content"] == []
    delta = events[-2].json()
    assert delta["delta"]["stop_reason"] == "end_turn" and delta["usage"]["output_tokens"] > 0


def test_same_answer_as_the_event_stream_for_the_same_request(server, client) -> None:
    events = _events(server, _body("Explain event streams"))
    chunks = stream_chunks(client, messages_body("Explain event streams"), model_id=MODEL)
    sse_payloads = [e.json() for e in events if e.event != "ping"]
    assert [p["type"] for p in sse_payloads] == [c["type"] for c in chunks]
    assert _text(events) == "".join(c["delta"].get("text", "") for c in chunks if c["type"] == "content_block_delta")
    # message_delta: the same stop reason and output count; on this route its usage is cumulative as on
    # Anthropic's first-party API (its streaming docs), so it repeats message_start's input count too.
    assert sse_payloads[-2]["delta"] == chunks[-2]["delta"]
    assert sse_payloads[-2]["usage"]["output_tokens"] == chunks[-2]["usage"]["output_tokens"]
    assert sse_payloads[-2]["usage"]["input_tokens"] == sse_payloads[0]["message"]["usage"]["input_tokens"] > 0
    assert "input_tokens" not in chunks[-2]["usage"]  # InvokeModel's stream: output tokens only
    assert "amazon-bedrock-invocationMetrics" in chunks[-1]


def test_non_streaming_answer_is_an_anthropic_message(server) -> None:
    response = _post(server, _body(stream=False))
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.headers["request-id"].startswith("req_")
    message = response.json()
    assert message["type"] == "message" and message["stop_reason"] == "end_turn"
    assert message["content"][0]["type"] == "text" and message["usage"]["input_tokens"] > 0
    streamed = _text(_events(server, _body()))
    assert message["content"][0]["text"] == streamed


@pytest.mark.parametrize(("extra", "stop_reason"), [
    ({}, "end_turn"),
    ({"max_tokens": 5}, "max_tokens"),
    ({"tools": [WEATHER_TOOL], "tool_choice": {"type": "tool", "name": "get_weather"}}, "tool_use"),
])
def test_each_stop_reason(server, extra, stop_reason) -> None:
    events = _events(server, _body("What is the weather in Oslo?", **extra))
    assert events[-2].json()["delta"]["stop_reason"] == stop_reason


@pytest.mark.parametrize(("directive", "stop_reason"), [
    ("[[refusal]]", "refusal"),
    ("[[pause_turn]]", "pause_turn"),
    ("[[context_window_exceeded]]", "model_context_window_exceeded"),
])
def test_directed_stop_reasons_arrive_in_message_delta(server, directive, stop_reason) -> None:
    events = _events(server, _body(f"Tell me about rivers {directive}"))
    delta = events[-2].json()
    assert delta["delta"]["stop_reason"] == stop_reason and events[-1].event == "message_stop"
    if stop_reason == "refusal":  # HTTP 200, the category in stop_details
        assert delta["delta"]["stop_details"]["type"] == "refusal"


def test_stop_sequence_names_the_sequence(server) -> None:
    full = _text(_events(server, _body()))
    word = full.split()[3]
    events = _events(server, _body(stop_sequences=[word]))
    delta = events[-2].json()["delta"]
    assert delta == {"stop_reason": "stop_sequence", "stop_sequence": word}
    assert word not in _text(events)


def test_tool_use_streams_its_input_as_json_deltas(server) -> None:
    events = _events(server, _body("What is the weather in Oslo?", tools=[WEATHER_TOOL],
                                   tool_choice={"type": "tool", "name": "get_weather"}))
    starts = [e.json()["content_block"] for e in events if e.event == "content_block_start"]
    tool = starts[-1]
    assert tool["type"] == "tool_use" and tool["name"] == "get_weather" and tool["input"] == {}
    pieces = [e.json()["delta"]["partial_json"] for e in events
              if e.event == "content_block_delta" and e.json()["delta"]["type"] == "input_json_delta"]
    assert "city" in json.loads("".join(pieces))


def test_adaptive_thinking_streams_thinking_then_signature(server) -> None:
    events = _events(server, _body(model=OPUS, max_tokens=3000, thinking={"type": "adaptive"},
                                   output_config={"effort": "medium"}))
    kinds = [e.json()["delta"]["type"] for e in events if e.event == "content_block_delta"]
    assert kinds[0] == "thinking_delta" and "signature_delta" in kinds and kinds[-1] == "text_delta"
    assert [e.json()["content_block"]["type"] for e in events if e.event == "content_block_start"] == [
        "thinking", "text"]
    low = _events(server, _body(model=OPUS, thinking={"type": "adaptive"}, output_config={"effort": "low"}))
    assert [e.json()["content_block"]["type"] for e in low if e.event == "content_block_start"] == ["text"]


def test_beta_header_reaches_the_body_rules(server) -> None:
    events = _events(server, _body(), {**HEADERS, "anthropic-beta": "context-1m-2025-08-07, other-beta"})
    assert events[-1].event == "message_stop"
    sent = server.calls[0].request_body
    assert sent["model"] == MODEL and "anthropic_beta" not in sent  # the log keeps the request as sent


# ---- refusals before the stream --------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "body", "status", "error_type", "words"), [
    ({"content-type": "application/json"}, _body(), 400, "invalid_request_error", "anthropic-version"),
    ({**HEADERS, "anthropic-version": "latest"}, _body(), 400, "invalid_request_error", "anthropic-version"),
    (HEADERS, {k: v for k, v in _body().items() if k != "model"}, 400, "invalid_request_error", "model"),
    (HEADERS, _body(model="anthropic.claude-nonexistent"), 400, "invalid_request_error", "model"),
    # A retired model (AWS lifecycle page: Claude 3 Haiku EOL 2026-09-10): Bedrock's end-of-life words.
    (HEADERS, _body(model="us.anthropic.claude-3-haiku-20240307-v1:0"), 404, "not_found_error", "end of its life"),
    # An anthropic-version Anthropic's API does not know: its own words (directus-labs/extensions#285).
    ({**HEADERS, "anthropic-version": "2023-10-01"}, _body(), 400, "invalid_request_error",
     'anthropic-version: "2023-10-01" is not a valid version'),
    (HEADERS, _body(max_tokens=0), 400, "invalid_request_error", "max_tokens"),
    (HEADERS, _body(model=OPUS, thinking={"type": "enabled", "budget_tokens": 2000}, max_tokens=4000), 400,
     "invalid_request_error", "thinking.type.adaptive"),
    (HEADERS, {**_body(), "anthropic_version": "bedrock-2023-05-31"}, 400, "invalid_request_error",
     "anthropic-version header"),
    (HEADERS, _body(temperature=0.3), 400, "invalid_request_error", "temperature"),
    ({**HEADERS, "anthropic-version": "2026-10-21"}, _body(temperature=1), 400, "invalid_request_error",
     "temperature"),
    ({**HEADERS, "content-type": "text/plain"}, _body(), 400, "invalid_request_error", "Content-Type"),
])
def test_refusals_are_anthropic_errors(server, headers, body, status, error_type, words) -> None:
    response = _post(server, body, headers)
    assert response.status_code == status, response.text
    error = _error(response)
    assert error["type"] == error_type and words in error["message"]
    assert response.json()["request_id"] == response.headers["request-id"]
    logged = server.calls[0]  # refused calls are logged too
    assert logged.operation == "MessagesStream" and logged.status == status and logged.error == error_type


def test_default_temperature_is_accepted_under_the_2023_version(server) -> None:
    assert _events(server, _body(temperature=1))[-1].event == "message_stop"


def test_get_is_refused(server) -> None:
    response = httpx.get(f"{server.anthropic_base_url}/v1/messages", headers=HEADERS)
    assert response.status_code == 405 and "POST" in _error(response)["message"]


def test_pre_stream_fault_is_a_rate_limit_error(server) -> None:
    server.faults.add(error="ThrottlingException", operation="MessagesStream")
    response = _post(server, _body())
    assert response.status_code == 429 and _error(response)["type"] == "rate_limit_error"
    assert server.calls[0].operation == "MessagesStream" and server.calls[0].error == "rate_limit_error"


# ---- errors during the stream ---------------------------------------------------------------------


@pytest.mark.parametrize(("fault", "error_type"), [
    ("overloaded_error", "overloaded_error"),
    ("api_error", "api_error"),
    ("throttlingException", "overloaded_error"),
    ("modelStreamErrorException", "api_error"),
])
def test_in_band_error_event_after_some_events(server, fault, error_type) -> None:
    server.faults.add(error=fault, at="event", after=4)
    events = _events(server, _body())
    assert [e.event for e in events[:3]] == ["message_start", "content_block_start", "ping"]
    assert events[-1].event == "error" and len([e for e in events if e.event != "ping"]) == 5
    assert events[-1].json()["error"]["type"] == error_type
    assert server.calls[0].error == error_type and server.calls[0].done


def test_sse_error_names_do_not_fire_on_the_event_stream(server, client) -> None:
    server.faults.add(error="overloaded_error", at="event", after=1)
    assert stream_chunks(client, messages_body(), model_id=MODEL)[-1]["type"] == "message_stop"
    assert _events(server, _body())[-1].event == "error"  # still waiting for its own wire


def test_sse_error_fault_for_another_operation_is_refused(server) -> None:
    with pytest.raises(ValueError, match="MessagesStream"):
        server.faults.add(error="overloaded_error", at="event", operation="ConverseStream")


def test_drop_mid_stream_breaks_the_connection(server) -> None:
    server.faults.add(error="drop", at="event", after=3)
    with pytest.raises(httpx.RemoteProtocolError):
        _post(server, _body())
    assert server.calls[0].error == "drop"


def test_stall_delays_but_completes(server) -> None:
    server.faults.add(error="stall", at="event", after=3, seconds=0.05)
    events = _events(server, _body())
    assert events[-1].event == "message_stop" and _text(events) == _text(_events(server, _body()))
    assert server.calls[1].fault["error"] == "stall"


def test_keep_alive_pings_fill_long_silences(monkeypatch) -> None:
    monkeypatch.setattr(messages_api, "PING_EVERY_S", 0.005)
    with LocalBedrock(seed=0, time_scale=1.0) as paced:
        events = _events(paced, _body("Hi", max_tokens=30))
    with LocalBedrock(seed=0, time_scale=0) as unpaced:  # no silences to fill
        plain = _events(unpaced, _body("Hi", max_tokens=30))
    pings = [i for i, e in enumerate(events) if e.event == "ping"]
    assert len(pings) > 1 and pings[0] > 0  # never before message_start
    # Anthropic's streaming docs: "event: ping" with data {"type": "ping"}.
    assert all(events[i].json() == {"type": "ping"} for i in pings)
    assert len(pings) > sum(e.event == "ping" for e in plain)  # the silences brought extra pings
    # The pings only fill silences: the events around them are the unpaced answer's, in its order.
    assert [e.event for e in events if e.event != "ping"] == [e.event for e in plain if e.event != "ping"]
    assert _text(events) == _text(plain) != ""


def test_recording_endpoint_refuses_the_route_instead_of_inventing_an_answer(tmp_path) -> None:
    with LocalBedrock(seed=0, time_scale=0) as upstream, LocalBedrock(
        time_scale=0, record=tmp_path / "cassette.json", upstream=upstream.endpoint_url
    ) as recorder:
        response = _post(recorder, _body())
    assert response.status_code == 501 and "not recorded or replayed" in _error(response)["message"]
