"""Decide what the local endpoint answers: the whole stream, planned up front.

:func:`plan_response` turns a validated body into a :class:`ResponsePlan`: every
chunk the model would stream (Anthropic Messages events, or legacy Text
Completions chunks), the InvokeModel body those chunks accumulate to, and the
token counts. The server only paces and frames what is planned here.

Deterministic: the same body and seed give the same plan. The seed changes how
the text is cut into deltas (one to a few tokens each) and the wording of the
generic answer, never a bank answer's text. What the text says is decided in
:mod:`helpers.local_bedrock.model.answers`; tool inputs in
:mod:`helpers.local_bedrock.model.model_tools`.

Order of the output in a Messages answer: an optional thinking block (when
``thinking`` is enabled, within ``budget_tokens``), then text, then a tool_use
block when a tool is called. ``max_tokens`` cuts across all of them at exactly
that many output tokens; a stop sequence cuts the text just before it.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import random
from dataclasses import dataclass
from typing import Any, Literal

from helpers.bedrock_rules import ModelInfo
from helpers.local_bedrock.errors import ContextWindowExceeded
from helpers.local_bedrock.model.answers import answer_text, chunk_marker, directive_flags
from helpers.local_bedrock.model.dialogue import (
    follow_up_answer,
    image_answer,
    plan_tool_calls,
    question_of,
    text_of,
    thinking_steps,
    tool_preamble,
    tool_results_answer,
)
from helpers.local_bedrock.model.tokens import count_input_tokens, split_tokens

__all__ = ["PlannedChunk", "ResponsePlan", "plan_response", "last_user_text"]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LEGACY_STOP = "\n\nHuman:"
# How many tokens a delta carries, and how often: mostly one or two, sometimes three or four.
_DELTA_SIZES = (1, 2, 3, 4)
_DELTA_WEIGHTS = (45, 35, 15, 5)
# random.choices turns weights into these running totals on every call; the draw is the same either way.
_DELTA_CUM_WEIGHTS = tuple(itertools.accumulate(_DELTA_WEIGHTS))


@dataclass(frozen=True)
class PlannedChunk:
    """One chunk of the stream and how many output tokens it carries (0 for structural events)."""

    payload: dict
    output_tokens: int


@dataclass(frozen=True)
class ResponsePlan:
    """Everything the endpoint will answer for one request."""

    api: Literal["messages", "text_completion"]
    chunks: list[PlannedChunk]
    input_tokens: int
    output_tokens: int
    stop_reason: str
    response_body: dict
    cache: Any = None  # operations.CacheUsage when the body asked for prompt caching


# --------------------------------------------------------------------------- helpers


def _digest(body: dict, seed: int, purpose: str) -> bytes:
    # The canonical JSON in one call (C): a large body is planned away from the event loop (door/worker.py),
    # and written piece by piece (the pure-Python encoder) a small body nested 60 deep took 8 ms of the loop.
    digest = hashlib.sha256(f"{purpose}\x00{seed}\x00".encode())
    digest.update(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode())
    return digest.digest()


def _call_digest(body: dict, seed: int, call: int, purpose: str) -> bytes:
    """Like :func:`_digest`, but different for every call: Bedrock never repeats a message or tool id."""
    return _digest(body, seed, f"{purpose}\x00call{call}")


def _base62(raw: bytes, length: int) -> str:
    number = int.from_bytes(raw, "big")
    chars = []
    for _ in range(length):
        number, rest = divmod(number, 62)
        chars.append(_ALPHABET[rest])
    return "".join(chars)


def _groups(pieces: list[str], rng: random.Random, fixed: int | None) -> list[list[str]]:
    """Cut token pieces into deltas of one to a few tokens (or exactly ``fixed``)."""
    groups: list[list[str]] = []
    i = 0
    while i < len(pieces):
        size = fixed or rng.choices(_DELTA_SIZES, cum_weights=_DELTA_CUM_WEIGHTS)[0]
        groups.append(pieces[i : i + size])
        i += size
    return groups


# The answer is composed from at most this many characters at each end of the last user turn (its
# directives, topic, tool cues): every step that reads the prompt then costs the same for a 25 MB prompt as
# for a short one, and a whole room is not frozen while one prompt is read (issue 23). Token counts still
# cover the whole text.
PROMPT_END_CHARS = 16_000


def last_user_text(body: dict) -> str:
    """The text the answer responds to (its two ends when it is long, see PROMPT_END_CHARS): the last user
    turn of a Messages body or a legacy prompt."""
    text = _last_user_text(body)
    if len(text) <= 2 * PROMPT_END_CHARS:
        return text
    return text[:PROMPT_END_CHARS] + "\n" + text[-PROMPT_END_CHARS:]


def _last_user_text(body: dict) -> str:
    if "messages" not in body and isinstance(body.get("prompt"), str):
        prompt = body["prompt"]
        start = prompt.rfind("Human:")
        end = prompt.rfind("\n\nAssistant:")
        if start == -1:
            return prompt.strip()
        return prompt[start + len("Human:") : end if end > start else None].strip()
    for message in reversed(body.get("messages", [])):
        if isinstance(message, dict) and message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def _cut_at_stop(text: str, stops: list[str]) -> tuple[str, str | None]:
    """``text`` up to the earliest stop sequence, and that sequence (or None when none occurs)."""
    best: tuple[int, str] | None = None
    for stop in stops:
        if not isinstance(stop, str) or not stop:
            continue
        at = text.find(stop)
        if at != -1 and (best is None or at < best[0]):
            best = (at, stop)
    if best is None:
        return text, None
    return text[: best[0]], best[1]


class _Budget:
    """Output tokens left before max_tokens; every emitted piece goes through it."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.exhausted = False

    def take(self, pieces: list[str]) -> list[str]:
        # Output that fits exactly is a complete answer; only output beyond the limit is cut.
        self.exhausted = self.exhausted or len(pieces) > self.left
        kept = pieces[: self.left]
        self.left -= len(kept)
        return kept


# --------------------------------------------------------------------------- Messages


@dataclass
class _Stream:
    rng: random.Random
    fixed: int | None
    chunks: list[PlannedChunk]
    content: list[dict]

    def block(self, start: dict, deltas: list[tuple[dict, int]]) -> None:
        index = len(self.content)
        self.chunks.append(PlannedChunk({"type": "content_block_start", "index": index, "content_block": start}, 0))
        for delta, tokens in deltas:
            self.chunks.append(PlannedChunk({"type": "content_block_delta", "index": index, "delta": delta}, tokens))
        self.chunks.append(PlannedChunk({"type": "content_block_stop", "index": index}, 0))

    def text_deltas(self, pieces: list[str], kind: str, field: str) -> list[tuple[dict, int]]:
        return [({"type": kind, field: "".join(group)}, len(group)) for group in _groups(pieces, self.rng, self.fixed)]


def _thinking_text(steps: list[str], budget: int, rng: random.Random) -> list[str]:
    take = rng.randint(min(3, len(steps)), len(steps))
    pieces = split_tokens(" ".join(steps[:take]))
    # Never more than the budget allows, and never so much that nothing is left for the answer.
    return pieces[: max(1, min(budget, len(pieces)))]


def _signature(body: dict, seed: int) -> str:
    raw = b"".join(_digest(body, seed, f"signature{i}") for i in range(6))
    return base64.b64encode(raw).decode("ascii")


_CONTEXT_WINDOW_BETA = "model-context-window-exceeded-2025-08-26"
# Fine-grained tool streaming (AWS Bedrock user guide, "Anthropic Claude Messages API" tool use, "Fine-grained
# tool streaming"): with this beta, tool input streams as the model writes it. Without it the model's input is
# buffered server-side and flushed late in a few large input_json_delta events (reported by users: a 368 s gap,
# then one burst, earendil-works/pi#7375; buffered per parameter, hydro-project/infinity#127; BerriAI/litellm#30230).
_FINE_GRAINED_TOOL_BETA = "fine-grained-tool-streaming-2025-05-14"
# UNCONFIRMED: how many deltas a buffered tool input arrives in (reports differ: one burst, or one per parameter).
BUFFERED_TOOL_INPUT_DELTAS = 2


def _tool_input_deltas(stream: _Stream, pieces: list[str], body: dict) -> list[tuple[dict, int]]:
    """Small deltas as the input is written with the fine-grained beta; a few large, late ones without."""
    if _FINE_GRAINED_TOOL_BETA in (body.get("anthropic_beta") or []):
        return stream.text_deltas(pieces, "input_json_delta", "partial_json")
    size = max(1, -(-len(pieces) // BUFFERED_TOOL_INPUT_DELTAS))
    groups = [pieces[i : i + size] for i in range(0, len(pieces), size)]
    # Each delta carries all its tokens, so the pacing puts the wait for all of them before it: late.
    return [({"type": "input_json_delta", "partial_json": "".join(g)}, len(g)) for g in groups]


# A refusal's stop_details: {"type": "refusal", "category": ..., "explanation": ...}. The categories are the
# anthropic SDK's (types/refusal_stop_details.py, 2.17.0: cyber, bio, frontier_llm, reasoning_extraction,
# general_harms, or null when none applies). Which category, and what explanation, Bedrock sends for a given
# prompt is UNCONFIRMED: the local model names the catch-all one, with an explanation of its own wording.
REFUSAL_CATEGORY = "general_harms"
REFUSAL_EXPLANATION = "The request was declined because it could relate to an area determined to be harmful."


def _special_stop(flags: set[str], body: dict, model: ModelInfo) -> str | None:
    """The stop reason a directive asks for: a refusal, a paused server-tool turn, a full context window.

    ``pause_turn`` really happens only when a server-tool loop (web search, web fetch, code execution, run by
    Anthropic's API) pauses a long turn at its iteration limit; the paused response is sent back unchanged to
    continue (Anthropic's "Handling stop reasons"; described in langchain-anthropic's AnthropicPauseTurnMiddleware,
    https://reference.langchain.com/python/langchain-anthropic/middleware/pause_turn). The local endpoint runs no
    server tools, so ``[[pause_turn]]`` stands in for that moment on any request: a stand-in for a lesson to
    show the stop reason, never something a plain chat does on AWS.
    """
    if "refusal" in flags:
        return "refusal"
    if "pause_turn" in flags:
        return "pause_turn"
    if "context_window_exceeded" in flags:
        betas = body.get("anthropic_beta") or []
        if model.context_window_stop or _CONTEXT_WINDOW_BETA in betas:
            return "model_context_window_exceeded"
        # Without the beta an older model just stops (UNCONFIRMED: reported here as max_tokens).
        return "max_tokens"
    return None


# How much an adaptive thinker thinks at each effort (the local model's choice; the real one decides itself).
_EFFORT_THINKING = {"low": 0, "medium": 1024, "high": 2048, "xhigh": 3072, "max": 4096}


def _thinking_budget(body: dict, model: ModelInfo) -> int:
    """Tokens of thinking to plan: the budget asked for, or one set by effort for adaptive thinking."""
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind == "enabled":
        return int(thinking["budget_tokens"])
    if kind == "disabled":
        return 0
    if kind == "adaptive" or (kind is None and "always_on" in model.thinking):
        config = body.get("output_config")
        effort = config.get("effort") if isinstance(config, dict) else None
        return _EFFORT_THINKING.get(effort or model.default_effort or "high", 2048)
    return 0


def _plan_messages(body: dict, model: ModelInfo, seed: int, call: int, rng: random.Random) -> ResponsePlan:
    prompt = last_user_text(body)
    stream = _Stream(rng, chunk_marker(prompt), [], [])
    budget = _Budget(int(body["max_tokens"]))
    stop_reason = "end_turn"
    stop_sequence: str | None = None

    flags = directive_flags(prompt)
    if "redacted_thinking" in flags:
        # Thinking the safety systems flagged arrives encrypted, whole, in one block start (no deltas).
        data = base64.b64encode(b"".join(_call_digest(body, seed, call, f"redacted{i}") for i in range(8))).decode()
        stream.block({"type": "redacted_thinking", "data": data}, [])
        stream.content.append({"type": "redacted_thinking", "data": data})
    follow_up = tool_results_answer(body)
    calls = plan_tool_calls(body["tools"], body.get("tool_choice"), prompt) if body.get("tools") else []
    forced = isinstance(body.get("tool_choice"), dict) and body["tool_choice"].get("type") in ("any", "tool")
    if follow_up is not None and not forced:
        calls = []  # the results are in: answer from them

    thinking_budget = _thinking_budget(body, model)
    if thinking_budget:
        steps = thinking_steps(body, prompt or question_of(body), calls, rng)
        pieces = budget.take(_thinking_text(steps, thinking_budget, rng))
        signature = _signature(body, seed)
        deltas = stream.text_deltas(pieces, "thinking_delta", "thinking")
        deltas.append(({"type": "signature_delta", "signature": signature}, 0))
        stream.block({"type": "thinking", "thinking": "", "signature": ""}, deltas)
        stream.content.append({"type": "thinking", "thinking": "".join(pieces), "signature": signature})

    if calls:
        text = "" if forced else tool_preamble(calls)
    elif follow_up is not None:
        text = follow_up
    else:
        text = (image_answer(body, prompt) or follow_up_answer(body, prompt, lambda request: answer_text(request, seed))
                or answer_text(prompt, seed))

    text, stop_sequence = _cut_at_stop(text, list(body.get("stop_sequences", [])))
    if stop_sequence is not None:
        calls = []  # the model stopped before it could reach the tool call
        stop_reason = "stop_sequence"
    if text and not budget.exhausted:
        pieces = budget.take(split_tokens(text))
        if pieces:
            stream.block({"type": "text", "text": ""}, stream.text_deltas(pieces, "text_delta", "text"))
            stream.content.append({"type": "text", "text": "".join(pieces)})

    # Several calls in one turn are parallel tool use: all their results go back in the next user turn.
    for number, planned in enumerate(calls):
        tool = planned["tool"]
        if budget.exhausted:
            break
        if budget.left == 0:
            budget.exhausted = True  # no token left to begin the tool call
            break
        pieces = budget.take(split_tokens(json.dumps(planned["input"])))
        partial = "".join(pieces)
        # Real ids: "toolu_bdrk_01" + 22 characters, new on every call (captures ims_*_tool_use).
        tool_id = "toolu_bdrk_01" + _base62(_call_digest(body, seed, call, "tool" + (str(number) if number else "")),
                                            22)
        deltas = [({"type": "input_json_delta", "partial_json": ""}, 0)]
        deltas += _tool_input_deltas(stream, pieces, body)
        stream.block({"type": "tool_use", "id": tool_id, "name": tool["name"], "input": {}}, deltas)
        stream.content.append(
            {"type": "tool_use", "id": tool_id, "name": tool["name"], "input": _parse_or_empty(partial)}
        )
        stop_reason = "tool_use"

    if budget.exhausted:
        stop_reason, stop_sequence = "max_tokens", None
    stop_details = None
    special = _special_stop(flags, body, model)
    if special is not None and not budget.exhausted:
        stop_reason, stop_sequence = special, None
        if special == "refusal":
            # HTTP 200 with stop_details (anthropic SDK's RefusalStopDetails: type, category, explanation).
            stop_details = {"type": "refusal", "category": REFUSAL_CATEGORY, "explanation": REFUSAL_EXPLANATION}

    output_tokens = sum(c.output_tokens for c in stream.chunks)
    input_tokens = count_input_tokens(body, model)
    # Real ids: "msg_bdrk_01" + 22 characters, new on every call (captures im_*, ims_*).
    message_id = "msg_bdrk_01" + _base62(_call_digest(body, seed, call, "message"), 22)
    start_message = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model.anthropic_name,  # Anthropic's name, not the Bedrock id (every capture)
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": min(1, output_tokens)},
    }
    chunks = [PlannedChunk({"type": "message_start", "message": start_message}, 0), *stream.chunks]
    chunks.append(
        PlannedChunk(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence,
                          **({"stop_details": stop_details} if stop_details else {})},
                "usage": {"output_tokens": output_tokens},
            },
            0,
        )
    )
    chunks.append(PlannedChunk({"type": "message_stop"}, 0))
    response_body = {
        **start_message,
        "content": stream.content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        **({"stop_details": stop_details} if stop_details else {}),
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }
    return ResponsePlan("messages", chunks, input_tokens, output_tokens, stop_reason, response_body)


def _parse_or_empty(partial: str) -> dict[str, Any]:
    # A tool call cut by max_tokens leaves incomplete JSON; the full body then reports an empty input.
    try:
        value = json.loads(partial)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --------------------------------------------------------------------------- legacy Text Completions


def _plan_legacy(body: dict, seed: int, rng: random.Random) -> ResponsePlan:
    prompt = last_user_text(body)
    text = " " + answer_text(prompt, seed)  # Claude 2 completions begin with a space after "Assistant:"
    limit = int(body["max_tokens_to_sample"])
    text, custom_stop = _cut_at_stop(text, list(body.get("stop_sequences", [])))
    all_pieces = split_tokens(text)
    pieces = all_pieces[:limit]
    if len(all_pieces) > limit:
        stop_reason, stop = "max_tokens", None
    else:
        stop_reason, stop = "stop_sequence", custom_stop or _LEGACY_STOP
    groups = _groups(pieces, rng, chunk_marker(prompt)) or [[]]
    chunks = [
        PlannedChunk({"completion": "".join(group), "stop_reason": None, "stop": None}, len(group)) for group in groups
    ]
    last = chunks[-1]
    chunks[-1] = PlannedChunk({**last.payload, "stop_reason": stop_reason, "stop": stop}, last.output_tokens)
    completion = "".join(pieces)
    output_tokens = len(pieces)
    return ResponsePlan(
        "text_completion",
        chunks,
        count_input_tokens(body),
        output_tokens,
        stop_reason,
        {"completion": completion, "stop_reason": stop_reason, "stop": stop},
    )


# --------------------------------------------------------------------------- entry point


def plan_response(body: dict, model: ModelInfo, *, seed: int, call: int = 0) -> ResponsePlan:
    """Plan the whole answer to an already validated ``body`` for ``model``.

    Deterministic per seed; ``call`` (the endpoint's call number) changes only the message and tool ids.
    Raises ``ContextWindowExceeded`` when the input is longer than the model's ``context_tokens``.
    """
    input_tokens = count_input_tokens(body, model)
    if input_tokens > model.context_tokens:
        raise ContextWindowExceeded(input_tokens, model.context_tokens)
    rng = random.Random(_digest(body, seed, "chunking"))
    if model.api == "text_completion":
        return _plan_legacy(body, seed, rng)
    return _plan_messages(body, model, seed, call, rng)
