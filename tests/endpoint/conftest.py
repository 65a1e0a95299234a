"""Fixtures for the local endpoint's tests: one real server on loopback, real boto3 clients over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config

from helpers.local_bedrock import LocalBedrock

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
LEGACY = "anthropic.claude-v2:1"


def messages_body(prompt: str = "What is streaming?", max_tokens: int = 200, **extra: Any) -> dict:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
        **extra,
    }


def stream_chunks(client: Any, body: dict | str, model_id: str = HAIKU) -> list[dict]:
    """Every decoded chunk of one InvokeModelWithResponseStream call."""
    raw = body if isinstance(body, str) else json.dumps(body)
    response = client.invoke_model_with_response_stream(modelId=model_id, body=raw)
    return [json.loads(event["chunk"]["bytes"]) for event in response["body"]]


def joined_text(chunks: list[dict]) -> str:
    return "".join(
        c["delta"].get("text", "") for c in chunks if c.get("type") == "content_block_delta"
    )


@pytest.fixture(scope="session")
def server() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=0, time_scale=0) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "server" in request.fixturenames:
        request.getfixturevalue("server").faults.clear()


@pytest.fixture(scope="session")
def client(server: LocalBedrock) -> Any:
    """No retries, so every fault and error reaches the test exactly as the server sent it."""
    return server.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=30))
