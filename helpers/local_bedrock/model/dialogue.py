"""What the local model does with the conversation around the last prompt.

A model reads the whole request, not only its last line. So, for any prompt:

- a follow-up turn ("Name one example of it.") is answered about what the earlier turns were about;
- after a ``tool_result`` the answer states the values the tool returned, in prose (JSON or text);
- a tool result with ``is_error`` is answered by saying the call failed and what can be done next;
- a prompt that asks for two things a tool can do ("the weather in Oslo and in Lima") gets one call each,
  in parallel (several ``tool_use`` blocks in one turn);
- the thinking is about that task: the question, the tools on offer, the results in hand;
- images in the last turn are described from what can be read of them (format, size in pixels), the one thing
  a stand-in can truthfully say about a picture it cannot see.

Everything is built from the request's own words, deterministically. Word tests use plain splits and sets,
never a backtracking pattern: a room's endpoint reads untrusted prompts.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from helpers.local_bedrock.model.model_tools import choose_tool, generate_tool_input, tool_result_text
from helpers.local_bedrock.model.tokens import image_size

__all__ = ["ToolCall", "follow_up_answer", "image_answer", "plan_tool_calls", "question_of", "subject",
           "text_of", "thinking_steps", "tool_preamble", "tool_results_answer"]

# Words by which a turn leans on what came before it.
_REFERS_BACK = frozenset(
    "it its that this these those them they again more another above earlier previous before shorter longer "
    "example examples else also same".split()
)
_PRONOUNS = ("it", "this", "that", "them", "these", "those", "they")
_SHORTER = ("shorter", "summarise", "summarize", "sum up", "one sentence", "briefly", "tl;dr", "in short")
_REPEAT = ("repeat", "say that again", "once more")
# Leading words of a request that say what kind of request it is, not what it is about.
_FRAME_WORDS = frozenset(
    "what whats is are was were a an the explain describe tell me about how why does do did can could would you "
    "please give write name list who which where when of some i want to know show define briefly quickly "
    "short one two three four five".split()
)
# Parallel calls: a prompt is split into requests at these words (whole words only) and at ";".
_SPLIT_WORDS = frozenset(("and", "also", "then", "plus"))
_MAX_PARALLEL = 4
_WORD = re.compile(r"[A-Za-z0-9']+")  # no nested quantifier: linear on any text
# A request's kind and subject are in its first words: a long prompt is never read whole for them.
_LOOK_CHARS = 1_000


def text_of(content: object) -> str:
    """The text of a message's content: the string itself, or its text blocks joined by line breaks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
    return ""


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _first_sentence(text: str, limit: int = 220) -> str:
    flat = " ".join(text.split())
    for end in (". ", "! ", "? ", "\n"):
        at = flat.find(end)
        if 0 < at < limit:
            return flat[: at + 1]
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + " ..."


def subject(prompt: str) -> str:
    """What a request is about: its words without the leading "what is a", "explain", "write a ... about"."""
    words = _WORD.findall(prompt[:_LOOK_CHARS])
    start = 0
    while start < len(words) and words[start].lower() in _FRAME_WORDS:
        start += 1
    rest = words[start:] or words
    while len(rest) > 1 and rest[-1].lower() in ("work", "works", "mean", "means", "do", "does", "happen"):
        rest = rest[:-1]
    if "about" in (w.lower() for w in rest[:-1]):  # "a haiku about rivers" -> "rivers"
        rest = rest[[w.lower() for w in rest].index("about") + 1 :]
    return " ".join(rest[:8]) or "your question"


# --------------------------------------------------------------------------- earlier turns


def question_of(body: dict) -> str:
    """The last user text of the conversation (a turn of tool results alone has none: the one before it)."""
    for message in reversed(body.get("messages", [])):
        if isinstance(message, dict) and message.get("role") == "user":
            text = text_of(message.get("content")).strip()
            if text:
                return text
    return ""


def _exchanges(body: dict) -> list[tuple[str, str]]:
    """The (question, answer) text pairs before the last user turn, oldest first."""
    messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
    pairs: list[tuple[str, str]] = []
    for i in range(len(messages) - 1):
        if messages[i].get("role") == "user" and messages[i + 1].get("role") == "assistant":
            question = text_of(messages[i].get("content")).strip()
            answer = text_of(messages[i + 1].get("content")).strip()
            if question:
                pairs.append((question, answer))
    return pairs


def follow_up_answer(body: dict, prompt: str, answer_for: Any) -> str | None:
    """The answer to a turn that leans on earlier ones, or None (a fresh question, or no earlier turn).

    ``answer_for(text)`` answers a standalone request; it is used for the turn with its pronoun resolved.
    """
    exchanges = _exchanges(body)
    if not exchanges:
        return None
    words = _words(prompt[:_LOOK_CHARS])
    if not words or not (set(words) & _REFERS_BACK or len(words) <= 3):
        return None
    question, answer = exchanges[-1]
    topic = subject(question)
    lowered = " ".join(words)
    if answer and any(cue in lowered for cue in _SHORTER):
        return f"In short: {_first_sentence(answer)}"
    if answer and any(cue in lowered for cue in _REPEAT):
        return f"Here is my answer to \"{question}\" again:\n\n{answer}"
    if "example" in words or "examples" in words:
        return (f"You asked earlier \"{question}\", so here is an example of {topic}: take the best-known case "
                f"of {topic} in the field you care about, and look at how each part of it shows up there. "
                f"Tell me the place or field, and I'll name a specific one.")
    pronoun = next((p for p in _PRONOUNS if p in words), None)
    resolved = " ".join(topic if w.lower().strip(".,!?;:") in _PRONOUNS else w for w in prompt.split())
    lead = (f"You asked earlier \"{question}\", so I take \"{pronoun}\" to mean {topic}." if pronoun
            else f"Continuing from your earlier question, \"{question}\":")
    recap = f" My earlier answer began: \"{_first_sentence(answer, 160)}\"" if answer else ""
    return f"{lead}{recap}\n\n{answer_for(resolved)}"


# --------------------------------------------------------------------------- tool results


def _tool_uses(body: dict) -> dict[str, dict]:
    """The previous assistant turn's tool_use blocks, by id."""
    messages = body.get("messages", [])
    if len(messages) < 2 or not isinstance(messages[-2], dict) or not isinstance(messages[-2].get("content"), list):
        return {}
    return {str(b.get("id")): b for b in messages[-2]["content"] if isinstance(b, dict) and b.get("type") == "tool_use"}


def _label(key: str) -> str:
    return key.replace("_", " ").replace("-", " ")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _with_units(value: dict, about: str) -> list[tuple[str, Any]]:
    """The entries worth saying: a "unit" joins the first number before it, the call's own subject is dropped."""
    items = [(str(k), v) for k, v in value.items() if not (isinstance(v, str) and about and v == about)]
    unit = next((v for k, v in items if k.lower() in ("unit", "units") and isinstance(v, str)), None)
    if unit is None:
        return items
    items = [(k, v) for k, v in items if k.lower() not in ("unit", "units")]
    for i, (k, v) in enumerate(items):
        if isinstance(v, int | float) and not isinstance(v, bool):
            items[i] = (k, f"{_scalar(v)} {unit}")
            break
    return items


def _describe(value: Any, depth: int = 0, about: str = "") -> str:
    """A value from a tool result in words: ``{"temp": 21, "sky": "clear"}`` -> ``temp 21 and sky clear``."""
    if isinstance(value, dict):
        parts = [f"{_label(k)} {_describe(v, depth + 1)}" for k, v in _with_units(value, about)[:8]]
        if not parts:
            return "nothing"
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if isinstance(value, list):
        if not value:
            return "no entries"
        shown = [_describe(v, depth + 1) for v in value[:5]]
        more = f" (and {len(value) - 5} more)" if len(value) > 5 else ""
        return f"{len(value)} entr{'y' if len(value) == 1 else 'ies'}: " + "; ".join(shown) + more
    if value is None:
        return "nothing"
    return _scalar(value)


def _about(call: dict | None) -> str:
    """What a call was for, from its input: "for Oslo", "for 2 + 2" (empty when it had no input)."""
    values = [v for v in (call or {}).get("input", {}).values() if isinstance(v, str | int | float)] if isinstance(
        (call or {}).get("input"), dict) else []
    return f" for {_scalar(values[0])}" if values else ""


def _result_sentence(name: str, about: str, text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict | list):
        return f"The {name} result{about} gives {_describe(value, about=about.removeprefix(' for '))}."
    if value is not None and not isinstance(value, str):
        return f"The {name} result{about} is {_scalar(value)}."
    said = " ".join(text.split())
    return f"According to {name}{about}: {said.rstrip('.')}." if said else f"{name}{about} returned nothing."


def tool_results_answer(body: dict) -> str | None:
    """The answer to a turn of tool results, written from what they hold; None when the turn has none."""
    messages = body.get("messages", [])
    if not messages or not isinstance(messages[-1], dict) or not isinstance(messages[-1].get("content"), list):
        return None
    results = [b for b in messages[-1]["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]
    if not results:
        return None
    question = question_of(body)
    calls = _tool_uses(body)
    good, failed = [], []
    for result in results:
        call = calls.get(str(result.get("tool_use_id")))
        name = str(call.get("name")) if call else "the tool"
        text = tool_result_text(result.get("content")).strip()
        if result.get("is_error"):
            failed.append((name, _about(call), " ".join(text.split()).rstrip(".") or "no reason given"))
        else:
            good.append(_result_sentence(name, _about(call), text))
    asked = f" \"{question}\"" if question else ""
    parts = []
    if good:
        parts.append(" ".join(good))
    for name, about, reason in failed:
        parts.append(f"The {name} call{about} failed: {reason}.")
    if failed and not good:
        parts.append(f"So I can't answer{asked} yet. I can try the call again, or you can check the input "
                     "and tell me how to go on.")
    elif failed:
        parts.append("I've answered with what did come back; the failed part needs another try, which I can make "
                     "if you like.")
    else:
        parts.append(f"That answers{asked or ' your question'}.")
    return "\n\n".join(parts)


# --------------------------------------------------------------------------- parallel tool calls


class ToolCall(dict):
    """One planned call: ``{"tool": <tool dict>, "input": {...}}``."""


def _requests(prompt: str) -> list[str]:
    """A prompt cut into its requests at "and", "also", "then", "plus" and ";" (whole words only)."""
    parts, current = [], []
    for token in prompt.replace(";", " ; ").split(" "):
        if token.lower().strip(",") in _SPLIT_WORDS or token == ";":
            if current:
                parts.append(" ".join(current).strip(" ,"))
            current = []
        else:
            current.append(token)
    if current:
        parts.append(" ".join(current).strip(" ,"))
    return [p for p in parts if p]


def _names_something(part: str) -> bool:
    """True when a request fragment brings its own value: a number or a capitalised name."""
    return any(c.isdigit() for c in part) or any(w[:1].isupper() for w in part.split())


def plan_tool_calls(tools: list[dict], tool_choice: dict | None, prompt: str) -> list[ToolCall]:
    """The tool calls for ``prompt``: none, one, or one per request it makes (parallel tool use)."""
    first = choose_tool(tools, tool_choice, prompt)
    if first is None:
        return []
    choice = tool_choice or {}
    if choice.get("type") == "tool" or choice.get("disable_parallel_tool_use"):
        return [ToolCall(tool=first, input=generate_tool_input(first.get("input_schema", {}), prompt))]
    calls: list[ToolCall] = []
    previous: dict | None = None
    for part in _requests(prompt)[:_MAX_PARALLEL] if len(prompt) < 2_000 else [prompt]:
        tool = choose_tool(tools, {"type": "auto"}, part)
        text = part
        if tool is None and previous is not None and _names_something(part):
            # "... in Oslo and in Lima": the second request reuses the first one's tool with its own value.
            tool = previous
            text = part if any(f" {w} " in f" {part} " for w in ("in", "for", "at", "near")) else f"in {part}"
        if tool is None:
            continue
        call = ToolCall(tool=tool, input=generate_tool_input(tool.get("input_schema", {}), text))
        if all(c["tool"] is not tool or c["input"] != call["input"] for c in calls):
            calls.append(call)
        previous = tool
    if not calls:
        calls = [ToolCall(tool=first, input=generate_tool_input(first.get("input_schema", {}), prompt))]
    return calls


def tool_preamble(calls: list[ToolCall]) -> str:
    """The sentence a model writes before its tool calls."""
    if len(calls) == 1:
        return f"I'll use the {calls[0]['tool']['name']} tool for this."
    each = ", ".join(f"{c['tool']['name']}{_about(c)}" for c in calls)
    return f"These are separate requests, so I'll make {len(calls)} calls at once: {each}."


# --------------------------------------------------------------------------- thinking


def thinking_steps(body: dict, prompt: str, calls: list[ToolCall], rng: random.Random) -> list[str]:
    """Reasoning about this request: the question, earlier turns, tools on offer, results in hand."""
    question = " ".join(prompt.split())
    if len(question) > 160:
        question = question[:160].rsplit(" ", 1)[0] + " ..."
    steps = [f"The user asks: \"{question}\"." if question else "The last turn has no text of its own."]
    exchanges = [e for e in _exchanges(body) if e[0] != question_of(body)]
    if exchanges:
        steps.append(f"This follows the earlier question \"{exchanges[-1][0][:120]}\", so I should read the "
                     "new turn in that light.")
    messages = body.get("messages", [])
    last = messages[-1].get("content") if messages and isinstance(messages[-1], dict) else None
    results = [b for b in last if isinstance(b, dict) and b.get("type") == "tool_result"] if isinstance(
        last, list) else []
    if any(r.get("is_error") for r in results):
        steps.append("A tool call failed. I should say so plainly and offer to retry rather than guess a value.")
    elif results:
        steps.append("The tool results are in. I should state the values they hold in plain sentences, "
                     "not repeat the raw JSON.")
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    if calls:
        names = ", ".join(sorted({c["tool"]["name"] for c in calls}))
        steps.append(f"I need data I don't have, and {names} provides it; "
                     + ("the requests are independent, so I can make the calls in parallel."
                        if len(calls) > 1 else "one call should be enough."))
    elif tools and not results:
        steps.append(f"None of the tools offered ({', '.join(str(t.get('name')) for t in tools[:5])}) is needed "
                     "for this; I can answer directly.")
    steps.append(rng.choice((
        f"I'll keep the answer about {subject(prompt)} focused and short.",
        f"A short, direct answer about {subject(prompt)} fits best; a list only if it helps.",
        f"I'll answer about {subject(prompt)} first, then add detail only where it helps.",
    )))
    return steps


_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WebP"}
# Anthropic's vision guide: a larger image is scaled down until its long edge is at most 1,568 px.
_SCALED_ABOVE = 1_568


def _image_facts(block: dict) -> tuple[str, tuple[int, int] | None]:
    source = block.get("source") if isinstance(block.get("source"), dict) else {}
    kind = _FORMATS.get(str(source.get("media_type")))
    size = image_size(source["data"]) if isinstance(source.get("data"), str) else None
    phrase = f"a {kind} image" if kind else "an image"
    return (phrase if size is None else f"{phrase} of {size[0]}×{size[1]} pixels"), size


def image_answer(body: dict, prompt: str) -> str | None:
    """An answer to a last turn holding images: what each one is (format and size read from its header).

    A stand-in sees no pixels, so it says only what the bytes say. "In one sentence" (or "briefly") gets one
    sentence; otherwise a second one says what the size means for reading the picture.
    """
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return None
    content = messages[-1].get("content")
    if not isinstance(content, list):
        return None
    facts = [_image_facts(b) for b in content if isinstance(b, dict) and b.get("type") == "image"][:_MAX_PARALLEL]
    if not facts:
        return None
    phrases = [phrase for phrase, _ in facts]
    listed = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    first = f"{'This is' if len(phrases) == 1 else 'These are'} {listed}."
    words = set(_words(prompt[:_LOOK_CHARS]))
    if "sentence" in words or words & {"briefly", "short"}:
        return first
    edges = [max(size) for _, size in facts if size is not None]
    if edges and max(edges) > _SCALED_ABOVE:
        return first + f" It is scaled down to at most {_SCALED_ABOVE:,} pixels on its long edge before it is read."
    if edges and max(edges) <= 128:
        return first + " At that size it holds little detail: shapes and colours, not fine print."
    return first + " At that size its main shapes, colours and any large text can be read."
