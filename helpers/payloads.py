"""Request bodies for Claude on Bedrock, and a check that runs before anything is sent.

The builders return plain dicts ready for ``json.dumps`` -- the same thing AWS's own
examples build by hand -- with only the keys you gave, plus ``anthropic_version`` on a
Messages body (a Text Completions body has none). ``validate_body`` applies the very rules the local endpoint enforces
(``helpers.bedrock_rules``, one source of truth) and raises ``PayloadError`` listing
every problem at once, each with its field path, the rule Bedrock applies and the fix.
The fix never goes on the wire (Bedrock's messages carry none); it lives in ``Problem.fix``.

``model_problem`` says what is wrong with a model id itself (retired, base id of a
profile-only model, unknown, not open to everyone) and which current model to use instead,
taken from the catalogue so it follows AWS when the catalogue does.
"""

from __future__ import annotations

import base64
import difflib
import json
import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from helpers.bedrock_rules import (
    ANTHROPIC_VERSION,
    DEFAULT_MODEL_ID,
    IMAGE_MEDIA_TYPES,
    MODELS,
    ModelInfo,
    ModelLookupError,
    Problem,
    check_body,
    identify_model,
    parse_body,
    recommended_replacement,
    resolve_model,
)
from helpers.errors import PayloadError

__all__ = [
    "ANTHROPIC_VERSION",
    "messages_body",
    "text_completion_body",
    "image_block",
    "detect_media_type",
    "validate_body",
    "model_problem",
    "model_fix",
    "PayloadError",
]

_HUMAN = "\n\nHuman:"
_ASSISTANT = "\n\nAssistant:"

ImageSource = str | os.PathLike[str] | bytes | bytearray


# --- images ------------------------------------------------------------------------------------


def detect_media_type(data: bytes) -> str | None:
    """The image media type from the file's first bytes (magic numbers), or None if not one Claude reads."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _image_bytes(source: ImageSource) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray):
        return bytes(source), "the given bytes"
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(
                f"image {str(path)!r} not found: pass the path of an existing PNG, JPEG, GIF or WebP file, "
                "or the file's bytes"
            )
        return path.read_bytes(), repr(str(path))
    raise TypeError(f"an image must be a file path or bytes, not {type(source).__name__}")


def image_block(source: ImageSource, media_type: str | None = None) -> dict[str, Any]:
    """A Messages image block (base64 source) from a file path or raw bytes.

    The media type is read from the data's magic bytes; a ``media_type`` you give must
    agree with them (Bedrock rejects an image whose declared type is not its real one).
    """
    data, what = _image_bytes(source)
    if not data:
        raise ValueError(f"{what} is empty: pass a non-empty image")
    detected = detect_media_type(data)
    if media_type is not None and media_type not in IMAGE_MEDIA_TYPES:
        raise ValueError(f"media_type {media_type!r} is not one Claude reads; use one of {IMAGE_MEDIA_TYPES}")
    if detected is None:
        if media_type is None:
            raise ValueError(
                f"{what} is not a PNG, JPEG, GIF or WebP image (unrecognised first bytes {data[:8]!r}); "
                "convert it to one of those formats"
            )
        detected = media_type
    elif media_type is not None and media_type != detected:
        raise ValueError(
            f"{what} is {detected} but media_type says {media_type}: drop media_type or set it to {detected}"
        )
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": detected, "data": base64.b64encode(data).decode("ascii")},
    }


# --- Messages ----------------------------------------------------------------------------------


def _with_images(content: Any, images: Sequence[ImageSource]) -> list[dict[str, Any]]:
    blocks = [image_block(img) for img in images]
    if isinstance(content, str):
        return [*blocks, {"type": "text", "text": content}]
    if isinstance(content, list):
        return [*blocks, *content]
    raise TypeError(f"message content must be a str or a list of blocks, not {type(content).__name__}")


def messages_body(
    prompt_or_messages: str | Sequence[dict[str, Any]],
    *,
    max_tokens: int,
    system: str | list[dict[str, Any]] | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    top_k: int | None = None,
    stop_sequences: Sequence[str] | None = None,
    tools: Sequence[dict[str, Any]] | None = None,
    tool_choice: dict[str, Any] | str | None = None,
    thinking: dict[str, Any] | int | str | None = None,
    effort: str | None = None,
    images: Sequence[ImageSource] | None = None,
) -> dict[str, Any]:
    """An Anthropic Messages body for InvokeModel / InvokeModelWithResponseStream.

    A str prompt becomes one user message. ``images`` (paths or bytes) become image
    blocks placed before the text of the last user message. ``thinking`` may be the
    full dict, the token budget (``thinking=2048``: budget thinking, Claude 4.5 models and
    earlier) or ``"adaptive"`` (Claude 4.6 models and later). ``effort`` goes to
    ``output_config.effort`` (``"low"`` ... ``"max"``, on models with effort levels).
    ``tool_choice`` may be ``"auto"`` / ``"any"`` or a tool name as a shortcut.
    Which of these a model accepts is the catalogue's business: ``validate_body`` checks it.
    """
    if isinstance(prompt_or_messages, str):
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt_or_messages}]
    elif isinstance(prompt_or_messages, Sequence) and not isinstance(prompt_or_messages, bytes | bytearray):
        messages = [dict(m) if isinstance(m, dict) else m for m in prompt_or_messages]
    else:
        raise TypeError(
            "messages_body() takes a prompt str or a list of messages "
            f"([{{'role': 'user', 'content': ...}}]), not {type(prompt_or_messages).__name__}"
        )
    if isinstance(images, str | bytes | bytearray | os.PathLike):
        images = [images]
    if images:
        last_user = next((m for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), None)
        if last_user is None:
            raise ValueError("images need a user message to go into: add one, or pass a prompt str")
        last_user["content"] = _with_images(last_user.get("content", ""), images)

    body: dict[str, Any] = {"anthropic_version": ANTHROPIC_VERSION, "max_tokens": max_tokens}
    if system is not None:
        body["system"] = system
    body["messages"] = messages
    _put_sampling(body, temperature, top_p, top_k, stop_sequences)
    if tools is not None:
        body["tools"] = list(tools)
    if tool_choice is not None:
        if isinstance(tool_choice, str):
            tool_choice = (
                {"type": tool_choice}
                if tool_choice in ("auto", "any", "none")
                else {"type": "tool", "name": tool_choice}
            )
        body["tool_choice"] = tool_choice
    if thinking is not None:
        if isinstance(thinking, int) and not isinstance(thinking, bool):
            thinking = {"type": "enabled", "budget_tokens": thinking}
        elif isinstance(thinking, str):
            thinking = {"type": thinking}
        body["thinking"] = thinking
    if effort is not None:
        body["output_config"] = {"effort": effort}
    return body


def _put_sampling(
    body: dict[str, Any],
    temperature: float | None,
    top_p: float | None,
    top_k: int | None,
    stop_sequences: Sequence[str] | None,
) -> None:
    if temperature is not None:
        body["temperature"] = temperature
    if top_p is not None:
        body["top_p"] = top_p
    if top_k is not None:
        body["top_k"] = top_k
    if stop_sequences is not None:
        if isinstance(stop_sequences, str):
            stop_sequences = [stop_sequences]
        body["stop_sequences"] = list(stop_sequences)


# --- legacy Text Completions -------------------------------------------------------------------


def text_completion_body(
    prompt: str,
    *,
    max_tokens_to_sample: int,
    stop_sequences: Sequence[str] | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    top_k: int | None = None,
) -> dict[str, Any]:
    """A legacy Text Completions body (Claude Instant / v2 / v2.1).

    A plain prompt is wrapped as ``"\\n\\nHuman: <prompt>\\n\\nAssistant:"``; a prompt that
    already starts with ``"\\n\\nHuman:"`` is sent as given.
    """
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str, not {type(prompt).__name__}")
    if not prompt.startswith(_HUMAN):
        prompt = f"{_HUMAN} {prompt.strip()}{_ASSISTANT}"
    # No anthropic_version: AWS's Text Completions parameters are prompt, temperature, top_p, top_k (0-500),
    # max_tokens_to_sample and stop_sequences ("Anthropic Claude Text Completions API", Bedrock User Guide).
    body: dict[str, Any] = {"prompt": prompt, "max_tokens_to_sample": max_tokens_to_sample}
    _put_sampling(body, temperature, top_p, top_k, stop_sequences)
    return body


# --- model ids ---------------------------------------------------------------------------------


def _known_ids() -> list[str]:
    ids: list[str] = []
    for info in MODELS.values():
        ids.append(info.base_id)
        ids.extend(info.profile_ids())
    return ids


def _suggest(info: ModelInfo) -> str:
    return f"{info.recommended_id()} ({info.name})"


def _unknown_id_fix(model_id: str) -> str:
    base = model_id.split(".", 1)[1] if model_id.split(".", 1)[0] in _PROFILE_PREFIXES else model_id
    if base in MODELS:
        # The model exists; this profile prefix does not exist for it.
        info = MODELS[base]
        forms = ", ".join(info.profile_ids()) or info.base_id
        return f"{info.name} is served through {forms}; use one of those"
    close = difflib.get_close_matches(model_id, _known_ids(), n=1, cutoff=0.85)
    if close:
        also = "" if close[0] == DEFAULT_MODEL_ID else f", or a current model such as {DEFAULT_MODEL_ID}"
        return f"check the spelling: the nearest id Bedrock knows is {close[0]}{also}"
    return f"check the spelling, or use a current Claude model such as {DEFAULT_MODEL_ID}"


_PROFILE_PREFIXES = ("global", "us", "eu", "jp", "apac", "au")


def model_problem(model_id: str, *, region: str | None = None, as_of: date | str | None = None) -> Problem | None:
    """What Bedrock will say about ``model_id`` itself, with the fix; None when it serves the model.

    ``region`` picks AWS's per-region end-of-life dates where the catalogue records them; ``as_of``
    judges the lifecycle on another day (the local endpoint's switch for replaying retired models).
    """
    try:
        resolve_model(model_id, region=region, as_of=as_of)
    except ModelLookupError as exc:
        return Problem("modelId", exc.message, model_fix(model_id, exc.reason, as_of=as_of))
    return None


def model_fix(model_id: str | None, reason: str, *, as_of: date | str | None = None) -> str:
    """The fix for a refused model id, by Bedrock's reason (``ModelLookupError.reason``), from the catalogue."""
    if not model_id:
        return f"use a current Claude model such as {DEFAULT_MODEL_ID}"
    try:
        info: ModelInfo | None = identify_model(model_id).info
    except ModelLookupError:
        info = None
    if info is None or reason in ("invalid", "not_found"):
        if reason == "not_found":
            return (
                "use a model id or a system inference profile id (global., us., eu. ...); "
                f"an ARN of your own resource must exist in your account and region, e.g. use {DEFAULT_MODEL_ID}"
            )
        return _unknown_id_fix(model_id)
    day = date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    if reason in ("end_of_life", "legacy_inactive"):
        replacement = recommended_replacement(info, on=day)
        return f"use {_suggest(replacement)}, the current model that replaces {info.name}"
    if reason == "on_demand":
        return f"call {info.name} through an inference profile, such as {info.recommended_id()}"
    if reason == "access":
        return f"{info.name} is by invitation only; use a model open to every account, such as {DEFAULT_MODEL_ID}"
    return f"use a current Claude model such as {DEFAULT_MODEL_ID}"


# --- validation --------------------------------------------------------------------------------


def validate_body(
    body: dict[str, Any] | str | bytes,
    model_id: str,
    *,
    region: str | None = None,
    as_of: date | str | None = None,
) -> dict[str, Any]:
    """Check ``body`` for ``model_id`` with the endpoint's own rules; return the body as Bedrock will read it.

    Raises ``PayloadError`` whose ``.problems`` lists every problem (path, rule, fix). The model id
    is judged as Bedrock judges it today (``as_of`` for another day, e.g. a retired model replayed
    by the local endpoint started with the same ``as_of``).
    """
    problem = model_problem(model_id, region=region, as_of=as_of)
    if problem is not None:
        raise PayloadError([problem], model_id=model_id)
    model = resolve_model(model_id, region=region, as_of=as_of)
    if isinstance(body, dict):
        try:
            raw = json.dumps(body).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise PayloadError(
                [
                    Problem(
                        "#",
                        f"the body cannot be turned into JSON ({exc})",
                        "use only str, int, float, bool, None, list and dict values (base64-encode bytes)",
                    )
                ],
                model_id=model_id,
            ) from None
    elif isinstance(body, str):
        raw = body.encode("utf-8")
    elif isinstance(body, bytes | bytearray):
        raw = bytes(body)
    else:
        raise TypeError(f"body must be a dict, a JSON str or bytes, not {type(body).__name__}")
    parsed, problems = parse_body(raw)
    if not problems:
        problems = check_body(parsed, model)
    if problems:
        raise PayloadError(problems, model_id=model_id)
    assert isinstance(parsed, dict)
    return parsed
