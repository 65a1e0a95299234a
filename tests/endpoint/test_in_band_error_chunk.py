"""The in-band error chunk of InvokeModelWithResponseStream, through real boto3 and the anthropic SDK.

An HTTP 200 stream can carry Anthropic's error object as an ordinary ``chunk`` frame,
``{"type": "error", "error": {"type": "rate_limit_error", "message": ...}}`` (anthropic-sdk-python#1472):
no exception frame, so botocore raises nothing. The endpoint sends it on the fault
``{"error": "<type>", "at": "event", "after": N, "operation": "InvokeModelWithResponseStream"}``.
"""

from __future__ import annotations

import json

import anthropic
import pytest
from endpoint_support import HAIKU, messages_body

from helpers.decode import InBandError, decode_chunk
from helpers.errors import StreamApiError, StreamOverloaded, StreamThrottled
from helpers.stream import invoke_stream

BODY = messages_body("Name three lighthouses on the coast of Brittany.", max_tokens=120)
OPERATION = "InvokeModelWithResponseStream"


def _fault(error: str, after: int) -> dict:
    return {"error": error, "at": "event", "after": after, "operation": OPERATION}


@pytest.mark.parametrize("error", ["rate_limit_error", "overloaded_error", "api_error"])
def test_boto3_reads_the_error_as_an_ordinary_chunk(client, server, error) -> None:
    server.faults.add(_fault(error, 3))
    response = client.invoke_model_with_response_stream(modelId=HAIKU, body=json.dumps(BODY))
    # botocore raises nothing: the frame is a chunk like any other.
    chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [c["type"] for c in chunks] == ["message_start", "content_block_start", "content_block_delta", "error"]
    assert chunks[-1]["error"]["type"] == error and chunks[-1]["error"]["message"]
    assert server.calls[0].error == error


@pytest.mark.parametrize(("error", "cls"), [
    ("rate_limit_error", StreamThrottled),
    ("overloaded_error", StreamOverloaded),
    ("api_error", StreamApiError),
])
def test_helpers_raise_the_typed_stream_error_with_the_partial_answer(client, server, error, cls) -> None:
    server.faults.add(_fault(error, 3))
    result = invoke_stream(client, HAIKU, BODY)
    with pytest.raises(cls) as caught:
        result.consume()
    assert caught.value.code == error
    assert caught.value.retryable  # all three are worth retrying (Anthropic's "HTTP errors" page: 429/500/529)
    assert caught.value.partial is result and result.error is caught.value
    assert caught.value.output_started and result.text  # the first text delta arrived before the error
    assert not any(e.type == "error" for e in result.events)  # not passed on as an unknown event


def test_error_chunk_before_any_output_leaves_nothing_started(client, server) -> None:
    server.faults.add(_fault("rate_limit_error", 0))
    result = invoke_stream(client, HAIKU, BODY)
    with pytest.raises(StreamThrottled) as caught:
        result.consume()
    assert not caught.value.output_started and result.text == ""


def test_a_fault_message_is_sent_as_is(client, server) -> None:
    server.faults.add({**_fault("overloaded_error", 1), "message": "Capacity is short in this Region."})
    with pytest.raises(StreamOverloaded, match="Capacity is short in this Region."):
        invoke_stream(client, HAIKU, BODY).consume()


def test_anthropic_sdk_raises_on_the_error_chunk(server) -> None:
    sdk = anthropic.AnthropicBedrock(base_url=server.endpoint_url, aws_access_key="x", aws_secret_key="y",
                                     aws_region="us-east-1", max_retries=0)
    server.faults.add(_fault("rate_limit_error", 2))
    kwargs = {k: v for k, v in BODY.items() if k != "anthropic_version"}
    with pytest.raises(anthropic.APIStatusError) as caught:
        with sdk.messages.stream(model=HAIKU, extra_body={"anthropic_version": "bedrock-2023-05-31"},
                                 **kwargs) as stream:
            stream.get_final_text()
    assert caught.value.body["error"]["type"] == "rate_limit_error"


def test_without_an_operation_the_in_band_error_stays_on_the_messages_route(client, server) -> None:
    server.faults.add(error="rate_limit_error", at="event", after=1)
    assert invoke_stream(client, HAIKU, BODY).consume().stop_reason == "end_turn"
    assert server.calls[0].error is None


@pytest.mark.parametrize("operation", ["ConverseStream", "InvokeModel"])
def test_the_error_chunk_needs_a_route_that_carries_it(server, operation) -> None:
    with pytest.raises(ValueError, match="InvokeModelWithResponseStream"):
        server.faults.add(_fault("rate_limit_error", 1) | {"operation": operation})


def test_decode_chunk_raises_for_an_error_chunk() -> None:
    chunk = {"type": "error", "error": {"type": "rate_limit_error", "message": "Too many tokens."}}
    with pytest.raises(InBandError) as caught:
        decode_chunk(7, chunk)
    assert (caught.value.error_type, caught.value.message, caught.value.received_ns) == (
        "rate_limit_error", "Too many tokens.", 7)


def test_with_retries_resends_before_output_only(client, server) -> None:
    from helpers.retries import with_retries

    server.faults.add(_fault("rate_limit_error", 0))  # before any text: worth sending again
    result = with_retries(lambda: invoke_stream(client, HAIKU, BODY), base_delay=0, seed=0).consume()
    assert result.attempts == 2 and result.stop_reason == "end_turn"
    server.faults.add(_fault("rate_limit_error", 4))  # after text was shown: raised with what arrived
    with pytest.raises(StreamThrottled) as caught:
        with_retries(lambda: invoke_stream(client, HAIKU, BODY), base_delay=0, seed=0).consume()
    assert caught.value.output_started
