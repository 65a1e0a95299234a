"""The pure work of a model call: judging, counting and planning, written to run in either process.

Each function here reads its arguments and nothing the event loop changes (the call log, faults, the prompt
cache's entries, the answer budget); ``kept`` carries the parsed request from the judging call to the planning
call of the same session. For a large body they run in the endpoint's child process (door/worker.py), so the
parsed body never crosses the pipe: what returns is a verdict with the few facts the loop needs, and the plan.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from ..door.bodies import json_text_problem
from ..door.worker import Sliced
from ..model import Problem, check_body, parse_body, plan_response
from ..model.pacing import rng_digest
from ..model.prompt_cache import apply_cache, cache_candidates
from ..model.responder import PlannedChunk
from ..model.signatures import ThinkingSigner
from . import converse, converse_answer
from .count_tokens import count_tokens


@dataclass(frozen=True)
class Judged:
    """What the loop needs of a judged InvokeModel or Converse body."""

    problems: list[Problem]
    max_tokens: Any = None  # as the body asked (routes/base.py hold_answer)
    cache: list | None = None  # prompt_cache.cache_candidates
    echo: dict | None = None  # Converse: performanceConfig / serviceTier, answered back
    rng: bytes = b""  # pacing.rng_digest of the request


def first_look(kept: dict, body: bytes) -> tuple[str, str] | None:
    """The JSON text problem Python would trip over (door/bodies.py), or None; the body stays in ``kept`` for
    the calls after it."""
    kept["body"] = body
    return json_text_problem(body)


def judge_model_call(kept: dict, operation: str, info: Any, signer: ThinkingSigner, seed: int,
                     model_id: str) -> Judged:
    """Everything that can be wrong with the InvokeModel or Converse body ``first_look`` kept (Bedrock's order),
    else the facts the loop needs; the parsed request stays in ``kept``. Raises BedrockError for what the
    translation refuses."""
    body = kept["body"]
    rng = rng_digest(seed, model_id, body)
    if operation in converse.OPERATIONS:  # Converse JSON -> the Messages body, then the same responder
        request = converse.prepare(operation, body, info)
        problems = signer.problems(request.body, info)
        kept["request"] = request
        return Judged(problems, request.body.get("max_tokens"), None if problems else cache_candidates(
            info, request.body), request.echo, rng)
    parsed, problems = parse_body(body)
    if not problems:
        problems = check_body(parsed, info)
    if not problems:
        problems = signer.problems(parsed, info)
    if problems:
        return Judged(problems)
    assert isinstance(parsed, dict)
    kept["parsed"] = parsed
    return Judged([], parsed.get("max_tokens"), cache_candidates(info, parsed), None, rng)


def plan_model_call(kept: dict, given: dict | None, info: Any, signer: ThinkingSigner, seed: int, call: int,
                    cache: Any) -> Sliced:
    """The signed answer to the request ``judge_model_call`` kept (or that ``given`` carries, when it was
    judged in the other process), with its prompt-cache usage."""
    if given:
        kept.update(given)
    request = kept.get("request")
    if request is not None:
        plan: Any = converse_answer.plan_converse(request, info, seed=seed, call=call, cache=cache,
                                                  sign=lambda p: signer.sign(p, request.body, info))
    else:
        parsed = kept["parsed"]
        plan = apply_cache(signer.sign(plan_response(parsed, info, seed=seed, call=call), parsed, info), cache)
    return Sliced(plan, split_plan, rebuilt_plan)


def count_call(kept: dict, info: Any) -> int:
    """CountTokens' count of the body ``first_look`` kept (raises BedrockError as count_tokens does)."""
    return count_tokens(kept["body"], info)


# ---- the Messages API route ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MessagesRead:
    """What the Messages route needs of a body before it plans (routes/messages_api.py)."""

    model_seen: str  # as far as readable, for the call log
    stream_seen: bool
    text_problem: tuple[str, str] | None
    error: Exception | None  # the MessagesError reading it raised, raised by the route in its turn
    model_id: str = ""
    stream: bool = False
    max_tokens: Any = None


def read_messages_request(kept: dict, body: bytes, read: Any) -> MessagesRead:
    """``read(body) -> (parsed, model, stream)`` raising the route's error; the parsed body stays in ``kept``."""
    problem = json_text_problem(body)
    if problem is None:
        try:
            parsed, model_id, stream = read(body)
        except Exception as error:  # MessagesError: the route raises it after its own earlier checks
            return MessagesRead(*_peek(body), None, error)
        kept["parsed"] = parsed
        return MessagesRead(model_id, stream, None, None, model_id, stream, parsed.get("max_tokens"))
    return MessagesRead(*_peek(body), problem, None)


def _peek(body: bytes) -> tuple[str, bool]:
    """The model and stream flag a refused body asked for, as far as readable (for the call log)."""
    try:
        peeked = json.loads(body)
    except (ValueError, RecursionError):  # too deep to parse: the body rules answer it with a 400
        return "", False
    if not isinstance(peeked, dict):
        return "", False
    return (peeked["model"] if isinstance(peeked.get("model"), str) else ""), peeked.get("stream") is True


@dataclass(frozen=True)
class MessagesVerdict:
    problems: list[Problem]
    tampered: list[Problem]
    rng: bytes = b""


def plan_messages_call(kept: dict, given: dict | None, version: str, betas: list[str], info: Any,
                       signer: ThinkingSigner, seed: int, model_id: str) -> Sliced:
    """The Messages body behind the route, judged and planned: ``Sliced`` with a ``MessagesVerdict`` beside
    the plan's head (no plan when the verdict has problems). Raises ContextWindowExceeded."""
    if given:
        kept.update(given)
    parsed = kept["parsed"]
    bedrock_body = {k: v for k, v in parsed.items() if k not in ("model", "stream")}
    bedrock_body["anthropic_version"] = version
    if betas:
        bedrock_body["anthropic_beta"] = betas
    problems = check_body(bedrock_body, info)
    if problems:
        return Sliced((MessagesVerdict(problems, []), None), _split_verdict, _rebuilt_verdict)
    tampered = signer.problems(bedrock_body, info)
    if tampered:
        return Sliced((MessagesVerdict([], tampered), None), _split_verdict, _rebuilt_verdict)
    plan = signer.sign(plan_response(bedrock_body, info, seed=seed), bedrock_body, info)
    rng = rng_digest(seed, model_id, json.dumps(parsed, sort_keys=True).encode())
    return Sliced((MessagesVerdict([], [], rng), plan), _split_verdict, _rebuilt_verdict)


# ---- plans in slices ----------------------------------------------------------------------------------


def split_plan(plan: Any) -> tuple[Any, list]:
    """A plan as its head (everything but the chunks) and its chunks as plain pairs, cheap to send and read."""
    return dataclasses.replace(plan, chunks=[]), [(c.payload, c.output_tokens) for c in plan.chunks]


def _split_verdict(whole: tuple[MessagesVerdict, Any]) -> tuple[Any, list]:
    verdict, plan = whole
    if plan is None:
        return (verdict, None), []
    head, items = split_plan(plan)
    return (verdict, head), items


async def _rebuilt_verdict(head: tuple[MessagesVerdict, Any], items: list) -> tuple[MessagesVerdict, Any]:
    verdict, plan_head = head
    return verdict, None if plan_head is None else await rebuilt_plan(plan_head, items)


async def rebuilt_plan(head: Any, items: list) -> Any:
    """The plan ``split_plan`` split, rebuilt a slice at a time (a long answer has 64,000 chunks)."""
    chunks: list[PlannedChunk] = []
    for start in range(0, len(items), 1024):  # about a millisecond a slice
        chunks += [PlannedChunk(payload, tokens) for payload, tokens in items[start:start + 1024]]
        if start:
            await asyncio.sleep(0)
    return dataclasses.replace(head, chunks=chunks)
