"""helpers reading the Messages API's SSE wire: the same typed events, the same fold, the same StreamResult
as the event stream gives -- through the real local endpoint over HTTP.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from helpers.accumulate import ThinkingBlock, ToolUseBlock
from helpers.errors import MessagesApiError, StreamApiError, StreamConnectionLost, StreamOverloaded
from helpers.events import ContentBlockStart, MessageDelta, MessageStart, MessageStop, Ping, TextDelta, UnknownEvent
from helpers.stream import MESSAGES_STREAM, converse_stream, invoke_stream, messages_stream
from helpers.wires.sse import sse_events

MODEL = "global.anthropic.claude-sonnet-5-5"
OPUS = "us.anthropic.claude-opus-4-7"
PROMPT = "Why do streams need framing?"
TOOL = {"name": "get_weather", "description": "Current weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def _body(prompt: str = PROMPT, max_tokens: int = 300, **extra: Any) -> dict:
    """An InvokeModel body in the shape ConverseStream translates to, so all three wires ask the same."""
    return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}], **extra}


def _sse(server, body: dict, **kwargs: Any):
    return messages_stream(MODEL, body, base_url=server.anthropic_base_url, **kwargs)


# ---- one reader, one fold, three wires ---------------------------------------------------------------


@pytest.mark.parametrize(("prompt", "max_tokens", "stop_reason", "converse_stop_reason"), [
    (PROMPT, 300, "end_turn", "end_turn"),
    (PROMPT, 7, "max_tokens", "max_tokens"),
    (PROMPT + " [[refusal]]", 300, "refusal", "content_filtered"),  # Converse names a refusal its own way
])
def test_three_wires_give_equal_results(server, client, prompt, max_tokens, stop_reason,
                                        converse_stop_reason) -> None:
    invoke = invoke_stream(client, MODEL, _body(prompt, max_tokens)).consume()
    converse = converse_stream(client, MODEL, prompt, inferenceConfig={"maxTokens": max_tokens}).consume()
    sse = _sse(server, _body(prompt, max_tokens)).consume()
    assert sse.operation == MESSAGES_STREAM and sse.done and sse.error is None
    assert sse.text == invoke.text == converse.text and sse.text
    assert sse.blocks == invoke.blocks == converse.blocks
    assert sse.stop_reason == invoke.stop_reason == stop_reason and converse.stop_reason == converse_stop_reason
    for key in ("input_tokens", "output_tokens"):
        assert sse.usage[key] == invoke.usage[key] == converse.usage[key]
    assert sse.metrics == {} and invoke.metrics["outputTokenCount"] > 0  # metrics travel on the event stream only
    assert sse.request_id and sse.request_id.startswith("req_")


def test_tool_use_and_thinking_fold_alike_on_both_anthropic_wires(server, client) -> None:
    body = _body("Weather in Oslo?", 4000, tools=[TOOL], thinking={"type": "adaptive"},
                 output_config={"effort": "medium"})
    sse = _sse(server, body).consume()
    invoke = invoke_stream(client, OPUS.replace("us.", "global."), body).consume()
    sse_opus = messages_stream(OPUS, body, base_url=server.anthropic_base_url).consume()
    kinds = [type(b) for b in sse_opus.blocks]
    assert kinds[0] is ThinkingBlock and sse_opus.blocks[0].signature
    assert [type(b) for b in invoke.blocks] == kinds
    assert sse_opus.blocks[0] == invoke.blocks[0] and sse_opus.stop_reason == invoke.stop_reason
    tool = sse.blocks[-1]
    assert isinstance(tool, ToolUseBlock) and sse.stop_reason == "tool_use" and "city" in tool.input
    assert sse.assistant_message()["content"][-1]["type"] == "tool_use"


def test_events_are_typed_and_stamped_in_order(server) -> None:
    result = _sse(server, _body()).consume()
    kinds = [type(e) for e in result.events]
    assert kinds[:3] == [MessageStart, ContentBlockStart, Ping] and kinds[-2:] == [MessageDelta, MessageStop]
    stamps = [e.received_ns for e in result.events]
    assert stamps == sorted(stamps) and stamps[0] >= result.request_sent_ns > 0


# ---- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fault", "cls"), [("overloaded_error", StreamOverloaded), ("api_error", StreamApiError)])
def test_in_band_error_becomes_a_stream_error_with_the_partial(server, fault, cls) -> None:
    server.faults.add(error=fault, at="event", after=6)
    result = _sse(server, _body())
    with pytest.raises(cls) as caught:
        result.consume()
    error = caught.value
    assert error.code == fault and error.retryable and error.partial is result
    assert result.text and error.output_started and result.error is error


def test_drop_is_a_lost_connection(server) -> None:
    server.faults.add(error="drop", at="event", after=5)
    with pytest.raises(StreamConnectionLost) as caught:
        _sse(server, _body()).consume()
    assert caught.value.partial.text


def test_refusal_before_the_stream_is_a_messages_api_error(server) -> None:
    with pytest.raises(MessagesApiError) as caught:
        _sse(server, _body(temperature=0.2))
    assert caught.value.status == 400 and caught.value.error_type == "invalid_request_error"
    assert "temperature" in str(caught.value) and MODEL in str(caught.value)
    server.faults.add(error="ThrottlingException", operation="MessagesStream")
    with pytest.raises(MessagesApiError) as throttled:
        _sse(server, _body())
    assert throttled.value.status == 429 and throttled.value.retryable


def test_api_key_and_locked_endpoint(server) -> None:
    from helpers.local_bedrock import LocalBedrock

    with LocalBedrock(seed=0, time_scale=0, bearer_token="room") as locked:
        assert messages_stream(MODEL, _body(), base_url=locked.anthropic_base_url, api_key="room").consume().text
        with pytest.raises(MessagesApiError) as caught:
            messages_stream(MODEL, _body(), base_url=locked.anthropic_base_url, api_key="wrong")
        assert caught.value.status == 401
    with LocalBedrock(seed=0, time_scale=0, verify_sigv4="KEY:SECRET") as signed:
        ok = messages_stream(MODEL, _body(), base_url=signed.anthropic_base_url, credentials=("KEY", "SECRET"),
                             service="bedrock-mantle")
        assert ok.consume().stop_reason == "end_turn"


def test_close_from_another_thread_stops_the_read(server, left_call) -> None:
    from helpers.local_bedrock import LocalBedrock

    with LocalBedrock(seed=0, time_scale=1.0) as paced:
        # [[length=1500]]: the answer is 1,500 tokens, one SSE event each ([[chunk=1]]).
        result = messages_stream(MODEL, _body("Rivers [[length=1500]] [[chunk=1]]", max_tokens=2000),
                                 base_url=paced.anthropic_base_url)
        seen = []
        for event in result:
            seen.append(event)
            if isinstance(event, TextDelta) and len(seen) > 5:
                threading.Thread(target=result.close).start()
        assert result.stopped and result.error is None and result.text
        call = left_call(paced)  # the server's side of the Stop
    assert call.error == "client disconnected"
    received = len([e for e in seen if not isinstance(e, Ping)])  # pings are not in the call's frame log
    assert received <= len(call.sent_ms) < 1500 // 10  # it stopped sending: a small part of the answer went out


def test_close_while_the_reader_is_blocked_in_another_thread(server, left_call) -> None:
    # A stalled model sends nothing, not even pings: the reader thread sits in a socket read.
    server.faults.add(error="stall", at="event", after=4, seconds=30)
    result = _sse(server, _body("Lakes [[length=200]] [[chunk=1]]", max_tokens=400))
    outcome: dict[str, Any] = {}
    reader = threading.Thread(target=lambda: outcome.update(returned=result.consume()))
    reader.start()
    deadline = time.monotonic() + 20
    while len(result.events) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # let the reader block on the stalled socket
    assert reader.is_alive()
    result.close()
    reader.join(10)
    assert not reader.is_alive(), "close() did not wake the blocked reader"
    assert outcome["returned"] is result and result.stopped and result.error is None
    assert len([e for e in result.events if not isinstance(e, Ping)]) == 4  # the SSE ping is extra
    call = left_call(server)  # well before the 30 s stall would have ended
    assert call.error == "client disconnected"
    assert len(call.sent_ms) == 4  # nothing after the stall began


# ---- the parser itself -----------------------------------------------------------------------------


SAMPLE = (b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","usage":{}}}\n\n'
          b': a comment\n\n'
          b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,\ndata: "delta":{"type":'
          b'"text_delta","text":"a\\nb"}}\n\n'
          b'event: future_event\ndata: {"type":"future_event","x":1}\n\n'
          b'data: {"type":"ping"}\n\n')


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize("size", [1, 7, 10_000])
def test_parser_follows_the_format_whatever_the_line_ends_and_reads(line_end, size) -> None:
    raw = SAMPLE.replace(b"\n", line_end)
    events = list(sse_events(raw[i : i + size] for i in range(0, len(raw), size)))
    assert [type(e) for e in events] == [MessageStart, TextDelta, UnknownEvent, Ping]
    assert events[1].text == "a\nb"  # two data lines joined by a newline, then JSON
    assert events[2].type == "future_event"  # unknown events are passed on, not dropped


def test_an_unterminated_last_event_is_not_dispatched() -> None:
    assert list(sse_events([b'event: ping\ndata: {"type":"ping"}\n'])) == []


def test_timing_charts_and_static_render_take_an_sse_result_unchanged(server, client) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from helpers.charts import chunk_latency
    from helpers.live import render_stream
    from helpers.timing import summarize

    sse = _sse(server, _body())
    shown = render_stream(sse, live=False, display=False)
    invoke = invoke_stream(client, MODEL, _body()).consume()
    sse_summary, invoke_summary = summarize(sse), summarize(invoke)
    assert sse_summary.keys() == invoke_summary.keys()
    assert sse_summary["output_tokens"] == invoke_summary["output_tokens"]
    assert shown is sse and sse.done and chunk_latency(sse).axes


def test_with_retries_retries_the_messages_api_before_output_only(server) -> None:
    from helpers.retries import with_retries

    server.faults.add(error="ThrottlingException", operation="MessagesStream")  # 429 rate_limit_error
    server.faults.add(error="overloaded_error", at="event", after=0)  # in-band, before any output
    result = with_retries(lambda: _sse(server, _body()), base_delay=0, seed=0).consume()
    assert result.attempts == 3 and result.stop_reason == "end_turn"
    server.faults.add(error="overloaded_error", at="event", after=8)  # after output: not retried
    with pytest.raises(StreamOverloaded):
        with_retries(lambda: _sse(server, _body()), base_delay=0, seed=0).consume()
