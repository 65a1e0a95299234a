"""A stream handler of the kind you write in your own project: stream an answer, hand each piece of text on,
and say how the stream ended. Its tests, in test_stream_handler.py, use the course's pytest fixtures."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import urllib3.exceptions
from botocore.exceptions import BotoCoreError, ClientError


@dataclass
class Answer:
    text: str  # what arrived, even when the stream failed half-way
    stop_reason: str | None  # the model's, when the stream ended properly
    error: str | None  # None, an error code from Bedrock, "connection lost" or "read timeout"


def stream_answer(client: Any, model_id: str, prompt: str, on_text: Callable[[str], None] = lambda text: None,
                  max_tokens: int = 300) -> Answer:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": prompt}]}
    pieces: list[str] = []
    stop_reason = None
    try:
        response = client.invoke_model_with_response_stream(modelId=model_id, body=json.dumps(body))
        for event in response["body"]:
            chunk = json.loads(event["chunk"]["bytes"])
            if chunk["type"] == "content_block_delta" and chunk["delta"]["type"] == "text_delta":
                pieces.append(chunk["delta"]["text"])
                on_text(chunk["delta"]["text"])
            elif chunk["type"] == "message_delta":
                stop_reason = chunk["delta"].get("stop_reason")
    except ClientError as err:  # before the stream, or an exception frame inside it (EventStreamError)
        return Answer("".join(pieces), None, err.response["Error"]["Code"])
    except urllib3.exceptions.ReadTimeoutError:  # silence longer than botocore's read_timeout, mid-stream
        return Answer("".join(pieces), None, "read timeout")
    except (urllib3.exceptions.HTTPError, BotoCoreError):  # the connection broke mid-stream
        return Answer("".join(pieces), None, "connection lost")
    if stop_reason is None:  # the body ended without message_delta: cut short
        return Answer("".join(pieces), None, "connection lost")
    return Answer("".join(pieces), stop_reason, None)
