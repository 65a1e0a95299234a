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
    if "adaptive" in model.thinking:
        fix = 'use {"type": "adaptive"} with "output_config": {"effort": "medium"}'
    else:
        fix = 'use {"type": "enabled", "budget_tokens": 2048} with max_tokens above the budget'
    if not isinstance(thinking, dict):
        out.append(Problem("thinking", f"expected type: JSONObject, found: {json_kind(thinking)}", fix))
        return
    kind = thinking.get("type")
    if kind == "disabled":
        return
    if kind not in ("enabled", "adaptive"):
        out.append(Problem("thinking.type", f"{_show(kind)} is not a valid enum value", fix))
        return
    if kind == "adaptive" and "adaptive" not in model.thinking:
        out.append(
            Problem(
                "thinking.type",
                ADAPTIVE_UNSUPPORTED,
                f"{model.name} thinks with a budget: use "
                '{"type": "enabled", "budget_tokens": 2048}, or pick a model with adaptive thinking '
                "(Claude Sonnet 4.6, Opus 4.6 or later)"
                if model.supports_thinking
                else f"{model.name} cannot think: remove thinking, or pick a model that can",
                "model",
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
                )
            )
        _check_budget(thinking, body, out, fix)
    _check_sampling_while_thinking(body, out)


def _check_budget(thinking: dict, body: dict, out: list[Problem], fix: str) -> None:
    budget = thinking.get("budget_tokens")
    max_tokens = body.get("max_tokens")
    if not _is_int(budget):
        out.append(Problem("thinking.budget_tokens", "budget_tokens must be an integer", fix))
    elif budget < MIN_THINKING_BUDGET:
        out.append(
            Problem(
                "thinking.budget_tokens",
                f"{budget} is not higher or equal to {MIN_THINKING_BUDGET}",
                f"set budget_tokens to at least {MIN_THINKING_BUDGET}",
            )
        )
    elif _is_int(max_tokens) and budget >= max_tokens:
        out.append(
            Problem(
                "thinking.budget_tokens",
                f"max_tokens must be greater than thinking.budget_tokens ({max_tokens} <= {budget})",
                "raise max_tokens above budget_tokens, or lower the budget",
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
