"""helpers.stream against the real local endpoint with real boto3: events, results, errors, stopping."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError

from helpers.accumulate import TextBlock, ThinkingBlock, ToolUseBlock, fold_all
from helpers.errors import (
    ModelStreamError,
    StreamConnectionLost,
    StreamError,
    StreamInternalError,
    StreamModelTimeout,
    StreamServiceUnavailable,
    StreamThrottled,
    StreamValidationError,
)
from helpers.events import (
    CompletionChunk,
    ContentBlockStart,
    MessageStart,
    MessageStop,
    StreamEvent,
    TextDelta,
    UnknownEvent,
)
from helpers.payloads import messages_body, text_completion_body
from helpers.stream import StreamResult, decode_chunk, invoke_stream, stream_events

HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"  # the course default (Claude 3 Haiku is EOL)
SONNET_45 = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"  # budget thinking (3.7 Sonnet is EOL)
LEGACY = "anthropic.claude-v2:1"

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"],
    },
}


def _invoke_json(client: Any, body: dict, model_id: str = HAIKU) -> dict:
    response = client.invoke_model(modelId=model_id, body=json.dumps(body))
    return json.loads(response["body"].read())


def _text_of(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


# --- happy paths -----------------------------------------------------------------------------------


def test_stream_matches_invoke_model_and_keeps_everything(client: Any) -> None:
    body = messages_body("Explain what a stream of events is.", max_tokens=300)
    expected = _invoke_json(client, body)
    result = invoke_stream(client, HAIKU, body)
    assert not result.done and result.events == []
    result.consume()
    assert result.done and not result.stopped and result.error is None
    assert result.text == expected["content"][0]["text"]
    assert result.stop_reason == expected["stop_reason"]
    assert result.usage == expected["usage"]
    assert result.metrics["outputTokenCount"] == expected["usage"]["output_tokens"]
    assert set(result.metrics) >= {"inputTokenCount", "outputTokenCount", "invocationLatency", "firstByteLatency"}
    assert isinstance(result.events[0], MessageStart) and isinstance(result.events[-1], MessageStop)
    assert result.snapshot == fold_all(result.events)
    assert result.request_id


def test_events_are_stamped_at_receipt_in_order(client: Any) -> None:
    result = invoke_stream(client, HAIKU, messages_body("Tell me about rivers [[length=300]]", max_tokens=400))
    result.consume()
    stamps = [e.received_ns for e in result.events]
    assert result.request_sent_ns > 0
    assert stamps[0] >= result.request_sent_ns
    assert stamps == sorted(stamps)
    assert stamps[-1] <= time.perf_counter_ns()


def test_live_iteration_folds_before_yielding(client: Any) -> None:
    result = invoke_stream(client, HAIKU, messages_body("Tell me about lakes [[length=120]]", max_tokens=200))
    seen = 0
    for event in result:
        seen += 1
        assert result.events[-1] is event
        assert result.snapshot.event_count == seen
        if isinstance(event, TextDelta):
            assert result.text.endswith(event.text)
    assert seen == len(result.events)
    assert list(result) == []  # a finished result yields nothing more
    assert result.consume() is result


def test_tool_use_stream_parses_input(client: Any) -> None:
    body = messages_body("What is the weather in Paris?", max_tokens=300, tools=[WEATHER_TOOL], tool_choice="any")
    expected = _invoke_json(client, body)
    result = invoke_stream(client, HAIKU, body).consume()
    tools = [b for b in result.blocks if isinstance(b, ToolUseBlock)]
    wanted = [b for b in expected["content"] if b["type"] == "tool_use"]
    assert len(tools) == len(wanted) == 1
    assert tools[0].input == wanted[0]["input"]
    assert tools[0].name == "get_weather"
    # Every call gets its own id, in Bedrock's form (toolu_bdrk_01 + 22 characters).
    assert re.fullmatch(r"toolu_bdrk_01[A-Za-z0-9]{22}", tools[0].id) and tools[0].id != wanted[0]["id"]
    assert json.loads(tools[0].input_json) == wanted[0]["input"]
    assert result.stop_reason == "tool_use"


def test_thinking_stream_keeps_thinking_and_signature(client: Any) -> None:
    body = messages_body("Why is the sky blue?", max_tokens=3000, thinking=1024)
    expected = _invoke_json(client, body, SONNET_45)
    result = invoke_stream(client, SONNET_45, body).consume()
    thinking = [b for b in result.blocks if isinstance(b, ThinkingBlock)]
    wanted = [b for b in expected["content"] if b["type"] == "thinking"]
    assert thinking and wanted
    assert thinking[0].thinking == wanted[0]["thinking"]
    assert thinking[0].signature == wanted[0]["signature"]
    assert result.text == "".join(b["text"] for b in expected["content"] if b["type"] == "text")


def test_stop_sequence_reported(client: Any) -> None:
    plain = invoke_stream(client, HAIKU, messages_body("Describe the ocean [[length=200]]", max_tokens=300)).consume()
    word = plain.text.split()[10]
    result = invoke_stream(
        client, HAIKU, messages_body("Describe the ocean [[length=200]]", max_tokens=300, stop_sequences=[word])
    ).consume()
    assert result.stop_reason == "stop_sequence" and result.stop_sequence == word
    assert word not in result.text


def test_legacy_text_completion_stream(retired_client: Any) -> None:
    body = text_completion_body("Write a haiku about rivers", max_tokens_to_sample=200)
    expected = _invoke_json(retired_client, body, LEGACY)
    result = invoke_stream(retired_client, LEGACY, body).consume()
    assert all(isinstance(e, CompletionChunk) for e in result.events)
    assert result.text == expected["completion"]
    assert result.stop_reason == expected["stop_reason"]
    assert result.metrics["outputTokenCount"] == result.usage["output_tokens"] > 0
    assert result.blocks == (TextBlock(expected["completion"]),)


def test_stream_events_on_a_plain_boto3_response(client: Any) -> None:
    body = messages_body("Tell me about rain [[length=50]]", max_tokens=100)
    response = client.invoke_model_with_response_stream(modelId=HAIKU, body=json.dumps(body))
    events = list(stream_events(response))
    reference = client.invoke_model_with_response_stream(modelId=HAIKU, body=json.dumps(body))
    chunks = [json.loads(e["chunk"]["bytes"]) for e in reference["body"]]
    assert len(events) == len(chunks)
    assert [type(e) for e in events] == [type(decode_chunk(0, c)) for c in chunks]
    assert _text_of(events) == "".join(
        c["delta"].get("text", "") for c in chunks if "delta" in c and "text" in c["delta"]
    )


def test_public_iterator_fallback_gives_the_same_events(client: Any) -> None:
    """If botocore's frame internals move, the public iterator path must decode identically."""
    from helpers.stream import _from_public_iterator

    body = json.dumps(messages_body("Tell me about snow [[length=60]]", max_tokens=100))
    fast = list(stream_events(client.invoke_model_with_response_stream(modelId=HAIKU, body=body)))
    response = client.invoke_model_with_response_stream(modelId=HAIKU, body=body)
    slow = list(_from_public_iterator(response["body"]))

    def comparable(e: Any) -> tuple[type, dict[str, Any]]:
        fields = {k: getattr(e, k) for k in e.__dataclass_fields__ if k != "received_ns"}
        if "metrics" in fields:
            # Two separate calls: the latencies the server measured honestly differ.
            fields["metrics"] = {
                k: v for k, v in fields["metrics"].items() if k not in ("invocationLatency", "firstByteLatency")
            }
        if "message" in fields:
            fields["message"] = {**fields["message"], "id": "msg_bdrk_<per call>"}  # every call has its own id
        return type(e), fields

    assert [comparable(e) for e in fast] == [comparable(e) for e in slow]
    assert any(isinstance(e, MessageStop) and e.metrics.get("outputTokenCount") for e in fast)


def test_unknown_chunk_types_pass_through() -> None:
    assert decode_chunk(5, {"type": "citations_delta", "x": 1}) == UnknownEvent(
        5, "citations_delta", {"type": "citations_delta", "x": 1}
    )
    odd_delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "citations_delta"}}
    assert isinstance(decode_chunk(1, odd_delta), UnknownEvent)
    assert isinstance(decode_chunk(1, {"type": "content_block_start", "content_block": {}}), UnknownEvent)
    assert isinstance(
        decode_chunk(1, {"type": "content_block_start", "index": 0, "content_block": {}}), ContentBlockStart
    )


def test_unknown_event_frames_are_not_dropped() -> None:
    """A frame type botocore's model does not know: botocore's public iterator skips it, we keep it."""
    from botocore.eventstream import EventStream
    from botocore.session import get_session

    from helpers.local_bedrock.wire import frames

    model = get_session().get_service_model("bedrock-runtime")
    op = model.operation_model("InvokeModelWithResponseStream")
    shape = op.output_shape.members["body"]
    from botocore.parsers import EventStreamJSONParser

    text = frames.chunk_frame(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}}, "pad"
    )
    odd = frames.encode_frame(
        frames.encode_headers(
            [(":message-type", "event"), (":event-type", "futureEvent"), (":content-type", "application/json")]
        ),
        b'{"hello": 1}',
    )

    class Raw:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def stream(self):  # what botocore reads from urllib3
            yield self.data

        def close(self) -> None:
            pass

    stream = EventStream(Raw(text + odd), shape, EventStreamJSONParser(), op.name)
    events = list(stream_events({"body": stream}))
    assert isinstance(events[0], TextDelta)
    assert events[1] == UnknownEvent(events[1].received_ns, "futureEvent", {"hello": 1})


# --- errors ----------------------------------------------------------------------------------------


def test_pre_stream_errors_are_typed_and_name_operation_and_model(client: Any) -> None:
    with pytest.raises(client.exceptions.ValidationException) as info:
        invoke_stream(client, HAIKU, {"anthropic_version": "bedrock-2023-05-31", "messages": []})
    assert "InvokeModelWithResponseStream" in str(info.value) and HAIKU in str(info.value)


def test_pre_stream_throttling_is_typed(server: Any, client: Any) -> None:
    server.faults.add({"error": "ThrottlingException", "at": "request"})
    with pytest.raises(client.exceptions.ThrottlingException) as info:
        invoke_stream(client, HAIKU, messages_body("hello", max_tokens=50))
    assert HAIKU in str(info.value)


IN_STREAM = [
    ("modelStreamErrorException", ModelStreamError),
    ("throttlingException", StreamThrottled),
    ("internalServerException", StreamInternalError),
    ("validationException", StreamValidationError),
    ("modelTimeoutException", StreamModelTimeout),
    ("serviceUnavailableException", StreamServiceUnavailable),
]


@pytest.mark.parametrize(("code", "cls"), IN_STREAM)
def test_mid_stream_exception_frames_keep_the_partial(server: Any, client: Any, code: str, cls: type) -> None:
    after = 12
    server.faults.add({"error": code, "at": "event", "after": after})
    result = invoke_stream(client, HAIKU, messages_body("Tell me about clouds [[length=400]]", max_tokens=500))
    received: list[StreamEvent] = []
    with pytest.raises(cls) as info:
        for event in result:
            received.append(event)
    err = info.value
    assert isinstance(err, StreamError)
    assert isinstance(err.__cause__, EventStreamError)  # boto3's own error, kept as the cause
    assert err.code == code
    assert err.partial is result and result.error is err
    assert result.done and not result.stopped
    assert len(result.events) == after and received == result.events
    assert result.text == _text_of(received) and result.text
    assert err.output_started
    assert str(len(result.text)) in str(err)
    if code == "modelStreamErrorException":
        assert err.details["originalStatusCode"] == 500
    with pytest.raises(cls):  # consume() on a failed result raises the same error again
        result.consume()


def test_boto3_alone_raises_event_stream_error_not_the_typed_exception(server: Any, client: Any) -> None:
    """The teaching point behind StreamError: `except ThrottlingException` never sees a mid-stream throttle."""
    server.faults.add({"error": "throttlingException", "at": "event", "after": 3})
    response = client.invoke_model_with_response_stream(
        modelId=HAIKU, body=json.dumps(messages_body("Tell me about wind [[length=100]]", max_tokens=200))
    )
    with pytest.raises(EventStreamError) as info:
        for _ in response["body"]:
            pass
    assert not isinstance(info.value, client.exceptions.ThrottlingException)
    assert info.value.response["Error"]["Code"] == "throttlingException"


def test_dropped_connection_keeps_what_was_received(server: Any, client: Any) -> None:
    after = 20
    server.faults.add({"error": "drop", "at": "event", "after": after})
    result = invoke_stream(client, HAIKU, messages_body("Tell me about the sea [[length=400]]", max_tokens=500))
    with pytest.raises(StreamConnectionLost) as info:
        result.consume()
    err = info.value
    assert err.code == "connectionLost" and err.partial is result
    assert len(result.events) == after
    assert result.text == _text_of(result.events) and result.text
    assert result.stop_reason is None and result.done and not result.stopped


def test_a_stream_without_its_final_event_is_a_lost_connection() -> None:
    events = [MessageStart(1, {"id": "m"}), TextDelta(2, 0, "hi")]
    result = StreamResult(model_id="m", operation="replay", source=iter(events))
    with pytest.raises(StreamConnectionLost):
        result.consume()
    assert result.text == "hi"


# --- stopping --------------------------------------------------------------------------------------


def _stalled_stream(server: Any, client: Any, after: int = 5) -> StreamResult:
    server.faults.add({"error": "stall", "at": "event", "after": after, "seconds": 30})
    return invoke_stream(client, HAIKU, messages_body("Tell me about hills [[length=300]]", max_tokens=400))


def _wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def test_close_from_another_thread_while_the_reader_is_blocked(server: Any, client: Any, left_call: Any) -> None:
    result = _stalled_stream(server, client, after=5)
    outcome: dict[str, Any] = {}

    def read() -> None:
        try:
            outcome["returned"] = result.consume()
        except BaseException as exc:  # surfaced to the test below
            outcome["error"] = exc

    reader = threading.Thread(target=read)
    reader.start()
    _wait_for(lambda: len(result.events) >= 5)
    time.sleep(0.2)  # let the reader block on the stalled socket
    assert reader.is_alive()
    result.close()
    reader.join(10)
    assert not reader.is_alive(), "close() did not wake the blocked reader"
    assert "error" not in outcome and outcome["returned"] is result
    assert result.stopped and result.done and result.error is None
    assert len(result.events) == 5 and result.text == _text_of(result.events)
    # The server's side: it saw the client leave during the 30 s stall, having sent the 5 events before it.
    call = left_call(server)
    assert call.error == "client disconnected"
    assert len(call.sent_ms) == 5


def test_close_before_reading(client: Any) -> None:
    result = invoke_stream(client, HAIKU, messages_body("hello", max_tokens=50))
    result.close()
    assert result.stopped and result.done and list(result) == []


def test_leaving_the_loop_early_stops_the_stream(client: Any) -> None:
    result = invoke_stream(client, HAIKU, messages_body("Tell me about trees [[length=200]]", max_tokens=300))
    for n, _ in enumerate(result, 1):
        if n == 7:
            break
    assert result.stopped and result.done and len(result.events) == 7
    assert list(result) == []


def test_keyboard_interrupt_in_the_loop_body_keeps_the_partial(client: Any) -> None:
    result = invoke_stream(client, HAIKU, messages_body("Tell me about stars [[length=200]]", max_tokens=300))
    with pytest.raises(KeyboardInterrupt):
        for n, _ in enumerate(result, 1):
            if n == 9:
                raise KeyboardInterrupt
    assert result.stopped and len(result.events) == 9 and result.error is None


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_kernel_interrupt_while_blocked_reading(server: Any, client: Any) -> None:
    """A real SIGINT (what Jupyter's interrupt sends) while the reader waits on a stalled socket."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are delivered to the main thread")
    result = _stalled_stream(server, client, after=6)

    def interrupt() -> None:
        _wait_for(lambda: len(result.events) >= 6)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Thread(target=interrupt)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            result.consume()
    finally:
        timer.join()
    assert result.stopped and result.done and result.error is None
    assert len(result.events) == 6 and result.text == _text_of(result.events)


def test_reading_twice_at_once_is_refused(client: Any) -> None:
    result = invoke_stream(client, HAIKU, messages_body("hello", max_tokens=50))
    first = iter(result)
    next(first)
    with pytest.raises(RuntimeError, match="already being read"):
        next(iter(result))
    first.close()


def test_from_events_replays(client: Any) -> None:
    live = invoke_stream(client, HAIKU, messages_body("Tell me about fog", max_tokens=200)).consume()
    replay = StreamResult.from_events(live.events, model_id=HAIKU, request_sent_ns=live.request_sent_ns)
    assert replay.done and replay.snapshot == live.snapshot and replay.text == live.text
    assert list(replay) == []


def test_body_type_errors_are_clear(client: Any) -> None:
    with pytest.raises(TypeError, match="messages_body"):
        invoke_stream(client, HAIKU, 42)  # type: ignore[arg-type]


def test_validate_option_stops_a_bad_body_before_sending(server: Any, client: Any) -> None:
    from helpers.errors import PayloadError

    before = len(server.calls)
    with pytest.raises(PayloadError):
        invoke_stream(client, HAIKU, {"messages": []}, validate=True)
    assert len(server.calls) == before


def test_client_error_is_still_a_client_error(client: Any) -> None:
    with pytest.raises(ClientError):
        invoke_stream(client, "anthropic.claude-not-a-model-v9:0", messages_body("hi", max_tokens=10))
