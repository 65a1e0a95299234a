"""Shared helpers for the endpoint tests (a uniquely named module: every test folder has a conftest)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
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


def start_cli(*args: str) -> tuple[subprocess.Popen, str]:
    """``python -m helpers.local_bedrock --port 0 *args``, as an instructor starts it, and its endpoint URL once it
    has printed it. The caller ends the process."""
    process = subprocess.Popen([sys.executable, "-m", "helpers.local_bedrock", "--port", "0", *args],
                               cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    while line := process.stdout.readline():
        if line.startswith("export AWS_ENDPOINT_URL_BEDROCK_RUNTIME="):
            return process, line.strip().partition("=")[2]
    process.wait(timeout=30)
    said = process.stderr.read() if process.stderr else ""
    raise AssertionError(f"the endpoint ended before printing its URL: {said}")
