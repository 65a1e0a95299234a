"""Shared helpers for the endpoint tests (a uniquely named module: every test folder has a conftest)."""

from __future__ import annotations

import json
import re
from typing import Any

# The course's default model (Claude 3 Haiku reached end of life on Bedrock on 2026-09-10).
HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
# Its foundation-model id: a key that matches every profile of the model (faults, cassettes), never callable
# on demand (Bedrock answers 400: Haiku 4.5 is served through inference profiles only).
HAIKU_BASE = "anthropic.claude-haiku-4-5-20251001-v1:0"
# What a message id looks like: "msg_bdrk_01" + 22 base-62 characters, new on every call.
MESSAGE_ID = re.compile(r"msg_bdrk_01[0-9A-Za-z]{22}")
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
