"""Tests for stream_handler.py against the local Bedrock endpoint, through the course's pytest fixtures
(helpers.testing): a real boto3 client, real HTTP, faults injected on the endpoint."""

from __future__ import annotations

from botocore.config import Config
from stream_handler import stream_answer

MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"


def test_happy_path_streams_the_whole_answer(bedrock_client, bedrock_calls):
    pieces = []
    answer = stream_answer(bedrock_client, MODEL, "Name a mountain in Chile", on_text=pieces.append)
    assert answer.error is None and answer.stop_reason == "end_turn"
    assert len(pieces) > 1 and "".join(pieces) == answer.text
    assert bedrock_calls.last.operation == "InvokeModelWithResponseStream"


def test_a_mid_stream_exception_keeps_the_text_so_far(bedrock_client, bedrock_faults):
    bedrock_faults.add({"error": "modelStreamErrorException", "at": "event", "after": 5})
    answer = stream_answer(bedrock_client, MODEL, "Name a mountain in Chile")
    assert answer.error == "modelStreamErrorException"
    assert answer.text and answer.stop_reason is None


def test_a_dropped_connection_is_reported(bedrock_client, bedrock_faults, bedrock_calls):
    bedrock_faults.add({"error": "drop", "at": "event", "after": 5})
    answer = stream_answer(bedrock_client, MODEL, "Name a mountain in Chile")
    assert answer.error == "connection lost" and answer.text
    assert bedrock_calls.last.error == "drop"


def test_a_stall_longer_than_read_timeout(bedrock_endpoint, bedrock_faults):
    impatient = bedrock_endpoint.client(config=Config(read_timeout=0.5, retries={"total_max_attempts": 1}))
    bedrock_faults.add({"error": "stall", "at": "event", "after": 5, "seconds": 3})
    answer = stream_answer(impatient, MODEL, "Name a mountain in Chile")
    assert answer.error == "read timeout" and answer.text


def test_throttling_before_the_stream(bedrock_client, bedrock_faults):
    # times=3: boto3's standard retry mode tries three times before giving up
    bedrock_faults.add({"error": "ThrottlingException", "times": 3})
    answer = stream_answer(bedrock_client, MODEL, "Name a mountain in Chile")
    assert answer.error == "ThrottlingException" and answer.text == ""
