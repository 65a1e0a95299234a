"""Extended thinking and output effort: ``thinking`` (adaptive, enabled, budgets) and ``output_config``.

Part of the request-body rules (body.py); pure: standard library only, no I/O.
"""

from __future__ import annotations

from .basics import MIN_THINKING_BUDGET, _is_int, _show, json_kind
from .catalogue import ModelInfo
from .messages import ADAPTIVE_UNSUPPORTED, EFFORT_UNSUPPORTED, THINKING_ENABLED_REMOVED, Problem
from .sampling import _check_sampling_while_thinking


def _check_thinking(body: dict, model: ModelInfo, out: list[Problem]) -> None:
    if "thinking" not in body:
        return
    thinking = body["thinking"]
    fix, fix_patch = _thinking_fix(body, model)
    if not isinstance(thinking, dict):
        out.append(Problem("thinking", f"expected type: JSONObject, found: {json_kind(thinking)}", fix,
                           patch=fix_patch))
        return
    kind = thinking.get("type")
    if kind == "disabled":
        return
    if kind not in ("enabled", "adaptive"):
        out.append(Problem("thinking.type", f"{_show(kind)} is not a valid enum value", fix, patch=fix_patch))
        return
    if kind == "adaptive" and "adaptive" not in model.thinking:
        out.append(
            Problem(
                "thinking.type",
                ADAPTIVE_UNSUPPORTED,
                f"{model.name} thinks with a budget: {fix}, or pick a model with adaptive "
                "thinking (Claude Sonnet 4.6, Opus 4.6 or later)"
                if model.supports_thinking
                else f"{model.name} cannot think: remove thinking, or pick a model that can",
                "model",
                patch=fix_patch if model.supports_thinking else {"thinking": None, "output_config": None},
            )
        )
        return
    if kind == "enabled":
        if "budget" in model.thinking_removed:
            out.append(
                Problem(
                    "thinking.type",
                    THINKING_ENABLED_REMOVED,
                    f'{model.name} only thinks adaptively: send "thinking": {{"type": "adaptive"}} and set '
                    '"output_config": {"effort": ...} instead of a budget',
                    "model",
                    patch={"thinking": {"type": "adaptive", "budget_tokens": None}},
                )
            )
            return
        if "budget" not in model.thinking:
            out.append(
                Problem(
                    "thinking",
                    f"{model.name} does not support extended thinking",
                    "remove thinking, or use a model that thinks (Claude Haiku 4.5, Sonnet 4.6 or later)",
                    "model",
                    patch={"thinking": None},
                )
            )
        _check_budget(thinking, body, out, fix)
    _check_sampling_while_thinking(body, out)


def _valid_budget(body: dict) -> tuple[int, int | None]:
    """A thinking budget that fits this body's max_tokens, and the max_tokens to set with it (None: keep it).

    Every suggested fix must itself validate: budget_tokens >= 1024 and below max_tokens (Anthropic's
    extended-thinking docs), so with max_tokens of 2048 the budget is 1024, never 2048.
    """
    max_tokens = body.get("max_tokens")
    if _is_int(max_tokens) and max_tokens > MIN_THINKING_BUDGET:
        return max(MIN_THINKING_BUDGET, min(4096, max_tokens // 2)), None
    return MIN_THINKING_BUDGET, 2 * MIN_THINKING_BUDGET  # too small to think in: raise it too


def _thinking_fix(body: dict, model: ModelInfo) -> tuple[str, dict]:
    if "adaptive" in model.thinking:
        return ('use {"type": "adaptive"} with "output_config": {"effort": "medium"}',
                {"thinking": {"type": "adaptive", "budget_tokens": None}, "output_config": {"effort": "medium"}})
    budget, max_tokens = _valid_budget(body)
    patch: dict = {"thinking": {"type": "enabled", "budget_tokens": budget}}
    if max_tokens is None:
        return f'use {{"type": "enabled", "budget_tokens": {budget}}} (below max_tokens)', patch
    patch["max_tokens"] = max_tokens
    return (f'use {{"type": "enabled", "budget_tokens": {budget}}} and raise max_tokens to {max_tokens} '
            "(the budget must stay below max_tokens)", patch)


def _check_budget(thinking: dict, body: dict, out: list[Problem], fix: str) -> None:
    budget = thinking.get("budget_tokens")
    max_tokens = body.get("max_tokens")
    good, raise_to = _valid_budget(body)
    patch: dict = {"thinking": {"budget_tokens": good}, **({"max_tokens": raise_to} if raise_to else {})}
    if not _is_int(budget):
        out.append(Problem("thinking.budget_tokens", "budget_tokens must be an integer", fix, patch=patch))
    elif budget < MIN_THINKING_BUDGET:
        out.append(
            Problem(
                "thinking.budget_tokens",
                f"{budget} is not higher or equal to {MIN_THINKING_BUDGET}",
                f"set budget_tokens to at least {MIN_THINKING_BUDGET}"
                + (f" and max_tokens above it (e.g. {raise_to})" if raise_to else ""),
                patch=patch,
            )
        )
    elif _is_int(max_tokens) and budget >= max_tokens:
        out.append(
            Problem(
                "thinking.budget_tokens",
                f"max_tokens must be greater than thinking.budget_tokens ({max_tokens} <= {budget})",
                f"lower budget_tokens to {good}" + (f" and raise max_tokens to {raise_to}" if raise_to else "")
                + ", or raise max_tokens above the budget",
                patch=patch,
            )
        )


def _check_output_config(body: dict, model: ModelInfo, out: list[Problem]) -> None:
    if "output_config" not in body:
        return
    config = body["output_config"]
    if not isinstance(config, dict):
        out.append(
            Problem(
                "output_config",
                f"expected type: JSONObject, found: {json_kind(config)}",
                'give output_config as an object, e.g. {"effort": "medium"}',
            )
        )
        return
    if "effort" not in config:
        return
    effort = config["effort"]
    if not model.effort_levels:
        out.append(
            Problem(
                "output_config.effort",
                EFFORT_UNSUPPORTED,
                f"{model.name} has no effort setting: remove output_config.effort, or pick a model with effort "
                "(Claude Sonnet 4.6, Opus 4.6 or later)",
                "model",
            )
        )
    elif effort not in model.effort_levels:
        out.append(
            Problem(
                "output_config.effort",
                f"{_show(effort)} is not a valid enum value",
                f"set effort to one of {', '.join(model.effort_levels)} for {model.name}",
            )
        )
