"""Scheduled faults, from Python and over HTTP, seen through real boto3."""

from __future__ import annotations

import json

import pytest
from botocore.config import Config
from botocore.exceptions import EventStreamError
from endpoint_support import HAIKU, HAIKU_BASE, messages_body, stream_chunks

from helpers.local_bedrock import LocalBedrock
from helpers.local_bedrock.errors import STATUS_BY_ERROR, STREAM_EXCEPTIONS

SONNET = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
BODY = json.dumps(messages_body("Tell me about rivers.", max_tokens=100))


# HTTP status per exception, written from Bedrock's API reference: the "Errors" sections of InvokeModel and
# InvokeModelWithResponseStream (docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html,
# ..._InvokeModelWithResponseStream.html; the same codes in API_runtime_ResponseStream.html for the in-stream
# members, and in botocore's bedrock-runtime service-2.json "httpStatusCode"). ModelStreamErrorException is
# listed for InvokeModelWithResponseStream only.
API_REFERENCE_STATUS = {
    "AccessDeniedException": 403,
    "InternalServerException": 500,
    "ModelErrorException": 424,
    "ModelNotReadyException": 429,
    "ModelStreamErrorException": 424,
    "ModelTimeoutException": 408,
    "ResourceNotFoundException": 404,
    "ServiceQuotaExceededException": 400,
    "ServiceUnavailableException": 503,
    "ThrottlingException": 429,
    "ValidationException": 400,
}


def test_the_endpoint_can_raise_every_exception_the_api_reference_lists() -> None:
    assert set(STATUS_BY_ERROR) == set(API_REFERENCE_STATUS)


@pytest.mark.parametrize("name", sorted(API_REFERENCE_STATUS))
def test_pre_stream_fault_raises_the_typed_exception(client, server, name) -> None:
    for call in (client.invoke_model, client.invoke_model_with_response_stream):
        server.faults.add({"error": name, "at": "request"})
        with pytest.raises(getattr(client.exceptions, name)) as caught:
            call(modelId=HAIKU, body=BODY)
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == API_REFERENCE_STATUS[name]
        assert caught.value.response["Error"]["Message"]
        assert server.calls[0].error == name
    assert stream_chunks(client, BODY)  # fired once each: the next call is clean


@pytest.mark.parametrize("member", STREAM_EXCEPTIONS)
@pytest.mark.parametrize("after", [0, 3])
def test_in_stream_exception_after_exactly_n_events(client, server, member, after) -> None:
    server.faults.add(error=member, at="event", after=after)
    response = client.invoke_model_with_response_stream(modelId=HAIKU, body=BODY)
    received = 0
    with pytest.raises(EventStreamError) as caught:
        for _ in response["body"]:
            received += 1
    assert received == after
    assert caught.value.response["Error"]["Code"] == member
    assert server.calls[0].error == member


def test_model_stream_error_carries_original_status(server) -> None:
    import http.client

    from botocore.eventstream import EventStreamBuffer

    server.faults.add(error="modelStreamErrorException", at="event", after=2)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", f"/model/{HAIKU}/invoke-with-response-stream", BODY, {"Content-Type": "application/json"})
    buffer = EventStreamBuffer()
    buffer.add_data(conn.getresponse().read())
    conn.close()
    messages = list(buffer)
    assert len(messages) == 3
    last = messages[-1]
    assert last.headers[":message-type"] == "exception"
    assert set(json.loads(last.payload)) == {"message", "originalStatusCode", "originalMessage"}


def test_drop_closes_the_connection_after_n_events(client, server) -> None:
    server.faults.add(error="drop", at="event", after=4)
    response = client.invoke_model_with_response_stream(modelId=HAIKU, body=BODY)
    received = 0
    with pytest.raises(Exception, match="(?i)ended prematurely|connection|incomplete") as caught:
        for _ in response["body"]:
            received += 1
    assert not isinstance(caught.value, EventStreamError)
    assert received == 4
    assert server.calls[0].error == "drop"
    assert stream_chunks(client, BODY)  # the server carries on


def test_stall_pauses_then_finishes(client, server) -> None:
    server.faults.add(error="stall", at="event", after=2, seconds=0.3)
    chunks = stream_chunks(client, BODY)
    assert chunks[-1]["type"] == "message_stop"
    sent = server.calls[0].sent_ms
    assert sent[2] - sent[1] >= 300  # the server slept at least that long; sleeps never end early


def test_times_then_clean(client, server) -> None:
    server.faults.add(error="ThrottlingException", times=2)
    for _ in range(2):
        with pytest.raises(client.exceptions.ThrottlingException):
            client.invoke_model(modelId=HAIKU, body=BODY)
    client.invoke_model(modelId=HAIKU, body=BODY)
    assert server.faults.list()[0]["fired"] == 2


def test_every_kth_matching_call(client, server) -> None:
    server.faults.add(error="ServiceUnavailableException", every=2, times=None)
    outcomes = []
    for _ in range(6):
        try:
            client.invoke_model(modelId=HAIKU, body=BODY)
            outcomes.append("ok")
        except client.exceptions.ServiceUnavailableException:
            outcomes.append("fail")
    assert outcomes == ["ok", "fail"] * 3


def _pattern(seed: int) -> list[bool]:
    with LocalBedrock(seed=seed, time_scale=0) as other:
        client = other.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        other.faults.add(error="ThrottlingException", probability=0.5, times=None)
        pattern = []
        for _ in range(24):
            try:
                client.invoke_model(modelId=HAIKU, body=BODY)
                pattern.append(False)
            except client.exceptions.ThrottlingException:
                pattern.append(True)
        return pattern


def test_probability_is_drawn_with_the_seed() -> None:
    first = _pattern(seed=7)
    assert 0 < sum(first) < len(first)
    assert _pattern(seed=7) == first


def test_probability_zero_never_fires(client, server) -> None:
    server.faults.add(error="ThrottlingException", probability=0, times=None)
    for _ in range(5):
        client.invoke_model(modelId=HAIKU, body=BODY)


def test_model_matching_and_no_leak(client, server) -> None:
    server.faults.add(error="ThrottlingException", model=SONNET)
    client.invoke_model(modelId=HAIKU, body=BODY)  # not matched: untouched
    assert server.faults.list()[0]["fired"] == 0
    with pytest.raises(client.exceptions.ThrottlingException):
        client.invoke_model(modelId=SONNET, body=BODY)


def test_model_matching_accepts_profile_ids_by_base_id(client, server) -> None:
    server.faults.add(error="ModelNotReadyException", model=HAIKU_BASE, times=2)
    with pytest.raises(client.exceptions.ModelNotReadyException):
        client.invoke_model(modelId=HAIKU, body=BODY)
    with pytest.raises(client.exceptions.ModelNotReadyException):
        client.invoke_model(modelId="us." + HAIKU_BASE, body=BODY)


def test_operation_matching_and_no_leak(client, server) -> None:
    server.faults.add(error="InternalServerException", operation="InvokeModelWithResponseStream")
    client.invoke_model(modelId=HAIKU, body=BODY)
    with pytest.raises(client.exceptions.InternalServerException):
        client.invoke_model_with_response_stream(modelId=HAIKU, body=BODY)


def test_event_fault_never_touches_invoke_model(client, server) -> None:
    server.faults.add(error="throttlingException", at="event", after=1)
    client.invoke_model(modelId=HAIKU, body=BODY)
    assert server.calls[0].error is None and server.calls[0].fault is None
    with pytest.raises(EventStreamError):
        stream_chunks(client, BODY)


def test_standard_retry_mode_survives_throttling_on_the_third_attempt(server) -> None:
    retrying = server.client(config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
    server.faults.add(error="ThrottlingException", times=2)
    response = retrying.invoke_model(modelId=HAIKU, body=BODY)
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert [c.error for c in server.calls[:3]] == [None, "ThrottlingException", "ThrottlingException"]


@pytest.mark.parametrize(("spec", "hint"), [
    ({}, "error"),
    ({"error": "Throttling"}, "ThrottlingException"),
    ({"error": "throttlingException"}, "ThrottlingException"),
    ({"error": "ThrottlingException", "at": "event"}, "throttlingException"),
    ({"error": "ThrottlingException", "at": "midway"}, "request"),
    ({"error": "drop", "at": "event", "after": -1}, "after"),
    ({"error": "ThrottlingException", "probability": 2}, "probability"),
    ({"error": "ThrottlingException", "operation": "InvokeModelStream"}, "InvokeModelWithResponseStream"),
    ({"error": "ThrottlingException", "colour": "red"}, "colour"),
    ({"error": "throttlingException", "at": "event", "operation": "InvokeModel"}, "stream"),
])
def test_bad_fault_specs_say_how_to_fix_them(server, spec, hint) -> None:
    with pytest.raises(ValueError, match=hint):
        server.faults.add(spec)
    assert server.faults.list() == []


def test_drop_at_request_breaks_the_response(client, server) -> None:
    server.faults.add(error="drop", at="request", operation="InvokeModelWithResponseStream")
    with pytest.raises(Exception, match="(?i)ended prematurely|connection|incomplete"):  # noqa: B017
        stream_chunks(client, BODY)
    assert server.calls[0].error == "drop"
    assert stream_chunks(client, BODY)


def test_a_server_bug_is_an_internal_server_exception_not_a_hang(client, server, monkeypatch, caplog) -> None:
    from helpers.local_bedrock.routes import jobs  # what a model call plans with (on the loop for this body)

    def broken(*args, **kwargs):
        raise RuntimeError("responder exploded")

    monkeypatch.setattr(jobs, "plan_response", broken)
    with pytest.raises(client.exceptions.InternalServerException):
        client.invoke_model(modelId=HAIKU, body=BODY)
    assert "responder exploded" in caplog.text


def test_drop_at_request_on_invoke_model_breaks_the_body(client, server) -> None:
    server.faults.add(error="drop", at="request", operation="InvokeModel")
    with pytest.raises(Exception, match="(?i)ended prematurely|connection|incomplete|read"):  # noqa: B017
        client.invoke_model(modelId=HAIKU, body=BODY)["body"].read()
    assert server.calls[0].error == "drop"


@pytest.mark.parametrize("seconds", [float("inf"), float("nan"), -1, 10_000])
def test_stall_seconds_must_be_finite_and_bounded(server: LocalBedrock, seconds: float) -> None:
    with pytest.raises(ValueError, match='"seconds" must be a finite number'):
        server.faults.add(error="stall", seconds=seconds)
    assert server.faults.list() == []


def test_a_list_of_faults_is_added_whole_or_not_at_all(server: LocalBedrock) -> None:
    with pytest.raises(ValueError, match="unknown pre-stream error"):
        server.faults.add_many([{"error": "ThrottlingException"}, {"error": "NoSuchError"}])
    assert server.faults.list() == []
    with pytest.raises(ValueError, match="expected a JSON object"):
        server.faults.add(["ThrottlingException"])  # type: ignore[arg-type]
