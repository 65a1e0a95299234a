"""Tool use for the local endpoint: whether to call a tool, which one, and with what input.

Deterministic and schema-driven. The input is built from the tool's
``input_schema``: every required property (and optional ones the prompt clearly
fills, such as a temperature unit), with values taken from the prompt when it
offers one (a city after "in", numbers, an arithmetic expression) and plausible
defaults otherwise. The result always validates against the schema's types,
enums and required keys.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["choose_tool", "generate_tool_input", "tool_result_text"]

# Prompt words that call for a kind of tool, and words that identify such a tool.
_CUES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("weather", "forecast", "temperature", "raining", "sunny", "rain"), ("weather", "forecast", "temperature")),
    (("calculate", "compute", "sum", "add", "multiply", "plus", "minus", "times", "divided"),
     ("calc", "math", "arith")),
    (("search", "look up", "find"), ("search", "lookup", "find")),
    (("time", "clock", "date"), ("time", "clock", "date")),
)
_STOPWORDS = frozenset(
    "the a an and or of to for in on at is are be with this that from by as it its use used uses using "
    "tool given get returns return current value values".split()
)
_CITY_AFTER = re.compile(r"\b(?:in|for|at|near)\s+((?:[A-Z][\w'-]*)(?:[ ,]+[A-Z][\w'-]*)*)")
# One digit, an operator, a digit: enough to see arithmetic, and linear (no repeated group to backtrack in).
_ARITHMETIC = re.compile(r"\d ?[-+*/×^%] ?\d")
# Request words before a search query's subject.
_QUERY_LEAD = frozenset(("look", "up", "search", "for", "find", "please", "can", "you", "could"))
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# Starts only where a number starts and never gives digits back (possessive): tried at every digit of an
# 8,000-digit number it was quadratic in the prompt's length (issue 23).
_EXPRESSION = re.compile(r"(?<![\d.])-?\d++(?:\.\d++)?(?:\s*+[-+*/x×^%]\s*+-?\d++(?:\.\d++)?)++")


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOPWORDS and len(w) > 2}


# Choosing a tool reads only this much of the prompt: every tool is matched against it, so a long prompt
# beside many tools would otherwise cost their product (issue 23). A prompt that asks for a tool says so early.
TOOL_MATCH_CHARS = 10_000


_Cues = tuple[str, set[str], list[tuple[str, ...]], bool]


def _prompt_cues(prompt: str) -> _Cues:
    """What tool matching needs from the prompt, worked out once for every tool."""
    lowered = prompt[:TOOL_MATCH_CHARS].lower()
    cued = [tool_cues for prompt_cues, tool_cues in _CUES
            if any(re.search(rf"\b{re.escape(c)}\b", lowered) for c in prompt_cues)]
    return lowered, _words(lowered), cued, _ARITHMETIC.search(prompt) is not None


def _tool_matches(tool: dict, cues: _Cues) -> int:
    """A score for how clearly the prompt (its ``_prompt_cues``) calls for ``tool`` (0 = not at all)."""
    lowered, prompt_words, cued, arithmetic = cues
    name = str(tool.get("name", ""))
    score = 0
    if name.lower() in lowered or name.lower().replace("_", " ").replace("-", " ") in lowered:
        score += 10
    identity = f"{name} {tool.get('description', '')}".lower()
    for tool_cues in cued:
        if any(c in identity for c in tool_cues):
            score += 5
    if arithmetic and any(c in identity for c in ("calc", "math", "arith")):
        score += 5  # "what is 2+2?" asks for arithmetic without naming it
    description_words = _words(str(tool.get("description", ""))) | _words(name.replace("_", " "))
    score += len(description_words & prompt_words)
    return score


def choose_tool(tools: list[dict], tool_choice: dict | None, prompt: str) -> dict | None:
    """The tool to call for ``prompt``, or None to answer in text.

    ``tool_choice`` none never calls, ``tool`` calls the named tool, ``any`` calls the best match (the
    first tool when nothing matches), and auto calls a tool only when the prompt calls for it.
    """
    if not tools:
        return None
    kind = (tool_choice or {}).get("type", "auto")
    if kind == "none":
        return None
    if kind == "tool":
        return next((t for t in tools if t.get("name") == tool_choice.get("name")), None)
    cues = _prompt_cues(prompt)
    scored = [(_tool_matches(tool, cues), -i, tool) for i, tool in enumerate(tools)]
    best_score, _, best = max(scored, key=lambda item: (item[0], item[1]))
    if kind == "any":
        return best
    return best if best_score > 0 else None


# --------------------------------------------------------------------------- input values


def _city(prompt: str) -> str | None:
    match = _CITY_AFTER.search(prompt)
    return match.group(1).strip(" ,") if match else None


def _string_value(name: str, schema: dict, prompt: str) -> str:
    lowered = name.lower()
    if any(k in lowered for k in ("location", "city", "place", "where", "town")):
        return _city(prompt) or "Paris, France"
    if any(k in lowered for k in ("expression", "formula", "equation")):
        found = _EXPRESSION.search(prompt)
        return found.group().replace("×", "*").replace("x", "*") if found else "2 + 2"
    if "unit" in lowered:
        return "fahrenheit" if "fahrenheit" in prompt.lower() else "celsius"
    if schema.get("format") == "date":
        return "2025-01-01"
    if schema.get("format") == "date-time":
        return "2025-01-01T12:00:00Z"
    if any(k in lowered for k in ("query", "question", "text", "prompt", "topic", "search")):
        words = prompt.split()
        while len(words) > 1 and words[0].lower() in _QUERY_LEAD:  # "look up the Hansa" -> "the Hansa"
            words = words[1:]
        return " ".join(words)[:200] or "example"
    min_length = int(schema.get("minLength", 0) or 0)
    value = f"example {name}".strip()
    return value.ljust(min_length, "x")


def _number_value(schema: dict, numbers: list[float], integer: bool) -> float | int:
    minimum = schema.get("minimum")
    maximum = schema.get("maximum")
    candidates = [n for n in numbers if (not integer or n == int(n))]
    value: float = candidates[0] if candidates else (minimum if minimum is not None else 1)
    if minimum is not None and value < minimum:
        value = minimum
    if maximum is not None and value > maximum:
        value = maximum
    return int(value) if integer else float(value)


def _value(name: str, schema: Any, prompt: str, numbers: list[float], depth: int) -> Any:
    if not isinstance(schema, dict):
        return f"example {name}"
    if "const" in schema:
        return schema["const"]
    for combo in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combo)
        if isinstance(options, list) and options:
            return _value(name, options[0], prompt, numbers, depth)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        options = schema["enum"]
        return next((o for o in options if str(o).lower() in prompt.lower()), options[0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind is None and "properties" in schema:
        kind = "object"
    if kind == "object":
        return _object(schema, prompt, numbers, depth + 1)
    if kind == "array":
        count = max(1, int(schema.get("minItems", 0) or 0))
        item_schema = schema.get("items", {"type": "string"})
        return [_value(name, item_schema, prompt, numbers[i:], depth + 1) for i in range(count)]
    if kind == "integer":
        return _number_value(schema, numbers, integer=True)
    if kind == "number":
        return _number_value(schema, numbers, integer=False)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string_value(name, schema, prompt)


def _object(schema: dict, prompt: str, numbers: list[float], depth: int) -> dict:
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = [r for r in schema.get("required", []) if isinstance(r, str)]
    if depth > 8:
        return {}
    chosen = list(required)
    for name, sub in properties.items():
        # Optional enum-like properties are filled only when the prompt names one of their values.
        if name not in chosen and isinstance(sub, dict) and sub.get("enum"):
            if any(str(o).lower() in prompt.lower() for o in sub["enum"]):
                chosen.append(name)
    result: dict[str, Any] = {}
    for name in chosen:
        result[name] = _value(name, properties.get(name, {"type": "string"}), prompt, numbers, depth)
    return result


def generate_tool_input(schema: dict, prompt: str) -> dict:
    """A deterministic input object for a tool with ``input_schema`` ``schema``, filled from ``prompt``."""
    numbers = [float(n) for n in _NUMBER.findall(prompt)]
    return _object(schema if isinstance(schema, dict) else {}, prompt, numbers, 0)


def tool_result_text(content: object) -> str:
    """The text inside a tool_result's content (a string or a list of text blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        return " ".join(t for t in texts if t)
    return ""
