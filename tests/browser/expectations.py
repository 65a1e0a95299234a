"""What the page should show, computed independently of the lesson: the local endpoint's answer read with plain
boto3, and the text a browser shows for a piece of Markdown."""

from __future__ import annotations

import html.parser
import json
import re
from typing import Any

from helpers.bedrock_rules import DEFAULT_MODEL_ID
from helpers.live import render_markdown
from helpers.local_bedrock import LocalBedrock

# The model a lesson calls when it leaves model_id to the course default.
FALLBACK_MODEL = DEFAULT_MODEL_ID


def expected_answer(prompt: str, max_tokens: int, seed: int, model_id: str | None) -> str:
    """The local endpoint's answer for these parameters, read with plain boto3."""
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
    }
    with LocalBedrock(seed=seed, time_scale=0.0) as server:
        client = server.client()
        response = client.invoke_model_with_response_stream(modelId=model_id or FALLBACK_MODEL, body=json.dumps(body))
        pieces = []
        for event in response["body"]:
            chunk = json.loads(event["chunk"]["bytes"])
            if chunk.get("type") == "content_block_delta" and chunk["delta"].get("type") == "text_delta":
                pieces.append(chunk["delta"]["text"])
    return "".join(pieces)


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def page_text(markdown: str, *, partial: bool = False) -> str:
    """What the page shows for ``markdown``: rendered as the live view renders it, tags dropped."""
    parser = _Text()
    parser.feed(render_markdown(markdown, partial=partial))
    parser.close()
    return squash("".join(parser.parts))


def squash(text: str | None) -> str:
    return " ".join((text or "").split())


def words(text: str | None) -> list[str]:
    return re.findall(r"\w+", text or "")


def is_prefix_of(step: str, full: list[str]) -> bool:
    """Every word of ``step`` but its last (which may be cut mid-token) begins the full answer, in order."""
    got = words(step)
    if not got:
        return True
    return got[:-1] == full[: len(got) - 1] and len(got) <= len(full) and full[len(got) - 1].startswith(got[-1])


def parameters_of(parameters: dict[str, Any]) -> tuple[str, int, int, str | None]:
    return parameters["prompt"], parameters["max_tokens"], parameters["seed"], parameters.get("model_id")
