"""Decide what the local endpoint answers: the whole stream, planned up front.

:func:`plan_response` turns a validated body into a :class:`ResponsePlan`: every
chunk the model would stream (Anthropic Messages events, or legacy Text
Completions chunks), the InvokeModel body those chunks accumulate to, and the
token counts. The server only paces and frames what is planned here.

Deterministic: the same body and seed give the same plan. The seed changes how
the text is cut into deltas (one to a few tokens each) and the wording of the
generic answer, never a bank answer's text. What the text says is decided in
:mod:`helpers.local_bedrock.answers`; tool inputs in
:mod:`helpers.local_bedrock.model_tools`.

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
from helpers.local_bedrock.answers import answer_text, chunk_marker, directive_flags
from helpers.local_bedrock.model_tools import choose_tool, generate_tool_input, tool_result_text
from helpers.local_bedrock.tokens import count_input_tokens, split_tokens

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


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)


def _digest(body: dict, seed: int, purpose: str) -> bytes:
    # The canonical JSON is hashed piece by piece (the same text json.dumps writes): written whole, a 25 MB
    # body held the GIL, and so the event loop, for a third of a second (issue 23).
    digest = hashlib.sha256(f"{purpose}\x00{seed}\x00".encode())
    for piece in _CANONICAL.iterencode(body):
        digest.update(piece.encode())
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


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
    return ""


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
            return _text_of(message.get("content"))
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


def _thinking_text(prompt: str, budget: int, rng: random.Random) -> list[str]:
    topic = " ".join(prompt.split()[:12]) or "an empty prompt"
    steps = [
        f"The request is about: {topic}.",
        "First I check whether this is one of the course prompts with a prepared answer.",
        "Then I decide on the shape of the reply: short and direct, or structured with a list.",
        "Finally I keep the answer within the token limit and note any stop sequences.",
        "This reasoning comes from the local Bedrock endpoint and is generated deterministically.",
    ]
    take = rng.randint(3, len(steps))
    pieces = split_tokens(" ".join(steps[:take]))
    # Never more than the budget allows, and never so much that nothing is left for the answer.
    return pieces[: max(1, min(budget, len(pieces)))]


def _signature(body: dict, seed: int) -> str:
    raw = b"".join(_digest(body, seed, f"signature{i}") for i in range(6))
    return base64.b64encode(raw).decode("ascii")


def _tool_follow_up(body: dict) -> str | None:
    """An answer that uses the tool_result in the last user message, or None when there is none."""
    messages = body.get("messages", [])
    if not messages or not isinstance(messages[-1].get("content"), list):
        return None
    results = [b for b in messages[-1]["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]
    if not results:
        return None
    names: dict[str, str] = {}
    if len(messages) >= 2 and isinstance(messages[-2].get("content"), list):
        for block in messages[-2]["content"]:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                names[str(block.get("id"))] = str(block.get("name"))
    lines = []
    for result in results:
        name = names.get(str(result.get("tool_use_id")), "the tool")
        text = tool_result_text(result.get("content")).strip() or "(no text)"
        if result.get("is_error"):
            lines.append(f"The {name} tool reported an error: {text}. I cannot give a result without it.")
        else:
            lines.append(f"The {name} tool returned: {text}")
    return "\n\n".join(lines) + "\n\nThat is the answer, based on the tool's result above."


_CONTEXT_WINDOW_BETA = "model-context-window-exceeded-2025-08-26"


def _special_stop(flags: set[str], body: dict, model: ModelInfo) -> str | None:
    """The stop reason a directive asks for: a refusal, a paused server-tool turn, a full context window."""
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
    thinking_budget = _thinking_budget(body, model)
    if thinking_budget:
        pieces = budget.take(_thinking_text(prompt, thinking_budget, rng))
        signature = _signature(body, seed)
        deltas = stream.text_deltas(pieces, "thinking_delta", "thinking")
        deltas.append(({"type": "signature_delta", "signature": signature}, 0))
        stream.block({"type": "thinking", "thinking": "", "signature": ""}, deltas)
        stream.content.append({"type": "thinking", "thinking": "".join(pieces), "signature": signature})

    follow_up = _tool_follow_up(body)
    tool = None
    if body.get("tools"):
        tool = choose_tool(body["tools"], body.get("tool_choice"), prompt)
    forced = isinstance(body.get("tool_choice"), dict) and body["tool_choice"].get("type") in ("any", "tool")

    if tool is not None and (follow_up is None or forced):
        text = "" if forced else f"I'll use the {tool['name']} tool for this."
    else:
        tool = None
        text = follow_up if follow_up is not None else answer_text(prompt, seed)

    text, stop_sequence = _cut_at_stop(text, list(body.get("stop_sequences", [])))
    if stop_sequence is not None:
        tool = None  # the model stopped before it could reach the tool call
        stop_reason = "stop_sequence"
    if text and not budget.exhausted:
        pieces = budget.take(split_tokens(text))
        if pieces:
            stream.block({"type": "text", "text": ""}, stream.text_deltas(pieces, "text_delta", "text"))
            stream.content.append({"type": "text", "text": "".join(pieces)})

    if tool is not None and not budget.exhausted and budget.left == 0:
        budget.exhausted = True  # no token left to begin the tool call
    elif tool is not None and not budget.exhausted:
        tool_input = generate_tool_input(tool.get("input_schema", {}), prompt)
        pieces = budget.take(split_tokens(json.dumps(tool_input)))
        partial = "".join(pieces)
        # Real ids: "toolu_bdrk_01" + 22 characters, new on every call (captures ims_*_tool_use).
        tool_id = "toolu_bdrk_01" + _base62(_call_digest(body, seed, call, "tool"), 22)
        deltas = [({"type": "input_json_delta", "partial_json": ""}, 0)]
        deltas += stream.text_deltas(pieces, "input_json_delta", "partial_json")
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
            stop_details = {"type": "refusal", "category": None,
                            "explanation": "The local endpoint refused because the prompt asked it to ([[refusal]])."}

    output_tokens = sum(c.output_tokens for c in stream.chunks)
    input_tokens = count_input_tokens(body)
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
    """
    rng = random.Random(_digest(body, seed, "chunking"))
    if model.api == "text_completion":
        return _plan_legacy(body, seed, rng)
    return _plan_messages(body, model, seed, call, rng)
