"""Sampling parameters: temperature, top_p, top_k, stop sequences, and which models take which (and none
while thinking).

Part of the request-body rules (body.py); pure: standard library only, no I/O.
"""

from __future__ import annotations

from .basics import ANTHROPIC_VERSION, MAX_STOP_SEQUENCES, _is_int, _is_number, _show, json_kind
from .catalogue import ModelInfo
from .messages import SAMPLING_BOTH, SAMPLING_FIXED, SAMPLING_UNSUPPORTED, Problem, sampling_deprecated


def _check_unit_interval(body: dict, key: str, out: list[Problem]) -> None:
    if key not in body:
        return
    value = body[key]
    if not _is_number(value):
        out.append(Problem(key, f"expected type: Number, found: {json_kind(value)}",
                           f"set {key} to a number from 0 to 1", patch={key: None}))
    elif not 0 <= value <= 1:
        out.append(Problem(key, f"{_show(value)} is not within 0 and 1", f"set {key} to a number from 0 to 1",
                           patch={key: min(1, max(0, value))}))


def _check_top_k(body: dict, out: list[Problem], maximum: int | None = None) -> None:
    if "top_k" not in body:
        return
    value = body["top_k"]
    fix = "set top_k to a whole number >= 0" if maximum is None else f"set top_k to a whole number from 0 to {maximum}"
    if not _is_int(value):
        out.append(Problem("top_k", f"expected type: Integer, found: {json_kind(value)}", fix, patch={"top_k": None}))
    elif value < 0:
        out.append(Problem("top_k", f"{value} is not higher or equal to 0", fix, patch={"top_k": 0}))
    elif maximum is not None and value > maximum:
        out.append(Problem("top_k", f"{value} is not lower or equal to {maximum}", fix, patch={"top_k": maximum}))


def _check_stop_sequences(body: dict, out: list[Problem]) -> None:
    if "stop_sequences" not in body:
        return
    value = body["stop_sequences"]
    fix = 'give stop_sequences as a list of non-empty strings, e.g. ["\\n\\nHuman:"]'
    if not isinstance(value, list):
        out.append(Problem("stop_sequences", f"expected type: JSONArray, found: {json_kind(value)}", fix))
        return
    if len(value) > MAX_STOP_SEQUENCES:
        out.append(
            Problem(
                "stop_sequences",
                f"expected maximum item count: {MAX_STOP_SEQUENCES}, found: {len(value)}",
                "send fewer stop sequences",
            )
        )
    for i, item in enumerate(value):
        if not isinstance(item, str):
            out.append(Problem(f"stop_sequences[{i}]", f"expected type: String, found: {json_kind(item)}", fix))
        elif not item:
            out.append(Problem(f"stop_sequences[{i}]", "an empty stop sequence is not allowed", fix))


def _check_sampling_while_thinking(body: dict, out: list[Problem]) -> None:
    temperature = body.get("temperature")
    if "temperature" in body and temperature != 1:
        out.append(
            Problem(
                "temperature",
                "temperature may only be set to 1 when thinking is enabled",
                "remove temperature (or set it to 1) while thinking is enabled",
                patch={"temperature": None},
            )
        )
    if "top_k" in body:
        out.append(Problem("top_k", "top_k is not allowed when thinking is enabled", "remove top_k",
                           patch={"top_k": None}))
    top_p = body.get("top_p")
    if _is_number(top_p) and top_p < 0.95:
        out.append(
            Problem(
                "top_p",
                "top_p must be between 0.95 and 1 when thinking is enabled",
                "remove top_p or raise it",
                patch={"top_p": None},
            )
        )
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        out.append(
            Problem(
                "tool_choice",
                "thinking may not be enabled when tool_choice forces tool use",
                'use tool_choice {"type": "auto"} with thinking',
                patch={"tool_choice": {"type": "auto"}},
            )
        )


# The only values the "fixed_or_unset" models take (AWS model cards of Fable 5.2 and Mythos 5.2).
_FIXED_SAMPLING = {"temperature": 1.0, "top_p": 0.99}

# Anthropic's defaults: a value equal to these is not "non-default" (top_p default unconfirmed).
_SAMPLING_DEFAULTS = {"temperature": 1, "top_p": 1}


def _check_sampling_rule(body: dict, model: ModelInfo, out: list[Problem]) -> None:
    if model.sampling == "temperature_xor_top_p":
        if "temperature" in body and "top_p" in body:
            out.append(
                Problem(
                    "temperature",
                    SAMPLING_BOTH,
                    f"{model.name} takes temperature or top_p, not both: remove one of them (the patch drops top_p)",
                    "model",
                    patch={"top_p": None},
                )
            )
    elif model.sampling == "defaults_only":
        # With the anthropic SDK 2.x's dated version even default values are refused (BEDROCK-2026).
        strict = body.get("anthropic_version") != ANTHROPIC_VERSION
        for key in ("temperature", "top_p", "top_k"):
            if key in body and (strict or key == "top_k" or body[key] != _SAMPLING_DEFAULTS[key]):
                out.append(
                    Problem(
                        key,
                        sampling_deprecated(key),
                        f"{model.name} decides its own sampling: remove {key} "
                        '(steer the answer with the prompt, or with output_config.effort)',
                        "model",
                        patch={k: None for k in ("temperature", "top_p", "top_k")},
                    )
                )
                return
    elif model.sampling == "fixed_or_unset":
        _check_fixed_sampling(body, model, out)


def _check_fixed_sampling(body: dict, model: ModelInfo, out: list[Problem]) -> None:
    if "top_k" in body:
        out.append(Problem("top_k", SAMPLING_UNSUPPORTED.format(param="top_k"),
                           f"{model.name} takes no top_k: remove it", "model"))
        return
    for key, value in _FIXED_SAMPLING.items():
        if key in body and body[key] != value:
            out.append(Problem(key, SAMPLING_FIXED.format(param=key, value=value),
                               f"{model.name} takes {key} {value} or nothing: remove {key}", "model"))
            return
    if "temperature" in body and "top_p" in body:
        out.append(Problem("temperature", SAMPLING_BOTH,
                           f"{model.name} takes temperature or top_p, not both: remove one of them", "model"))
