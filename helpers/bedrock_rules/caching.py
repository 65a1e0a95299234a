"""Prompt caching: where a body's ``cache_control`` checkpoints are, and the rules they follow.

Part of the request-body rules (body.py); pure: standard library only, no I/O.
"""

from __future__ import annotations

from .basics import MAX_CACHE_CHECKPOINTS, _show
from .catalogue import ModelInfo
from .messages import CACHE_CONTROL_TOP_LEVEL, Problem

__all__ = [
    "cache_checkpoints",
]


def _cache_points(value: object, path: str, found: list[tuple[str, object]]) -> None:
    if isinstance(value, dict):
        if "cache_control" in value:
            found.append((path, value["cache_control"]))
        for key in ("content",):
            if isinstance(value.get(key), list):
                _cache_points(value[key], f"{path}.{key}", found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _cache_points(item, f"{path}[{i}]", found)


def cache_checkpoints(body: dict) -> list[tuple[str, dict]]:
    """``(path, cache_control)`` of every block marked for caching, in prompt order: tools, system, messages."""
    found: list[tuple[str, object]] = []
    for key in ("tools", "system", "messages"):
        if isinstance(body.get(key), list):
            _cache_points(body[key], key, found)
    return [(p, c) for p, c in found if isinstance(c, dict)]


def _check_cache_control(body: dict, model: ModelInfo, out: list[Problem]) -> None:
    if "cache_control" in body and model.integration == "arn_versioned":
        out.append(
            Problem(
                "cache_control",
                CACHE_CONTROL_TOP_LEVEL,
                "put cache_control on the last block to cache (a system, message or tool block) instead",
            )
        )
    found: list[tuple[str, object]] = []
    for key in ("tools", "system", "messages"):
        if isinstance(body.get(key), list):
            _cache_points(body[key], key, found)
    fix = 'write cache_control as {"type": "ephemeral"} or {"type": "ephemeral", "ttl": "1h"}'
    for path, control in found:
        if not isinstance(control, dict) or control.get("type") != "ephemeral":
            out.append(Problem(f"{path}.cache_control", "cache_control.type must be \"ephemeral\"", fix))
        elif control.get("ttl", "5m") not in ("5m", "1h"):
            out.append(Problem(f"{path}.cache_control.ttl", f"{_show(control.get('ttl'))} is not a valid enum value",
                               fix))
    if len(found) > MAX_CACHE_CHECKPOINTS:
        out.append(
            Problem(
                "#",
                f"A maximum of {MAX_CACHE_CHECKPOINTS} blocks with cache_control may be provided. Found {len(found)}.",
                f"mark at most {MAX_CACHE_CHECKPOINTS} blocks: the end of each stable prefix worth caching",
                "model",
            )
        )
