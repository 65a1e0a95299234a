"""Check a Converse / ConverseStream request body against botocore's own service model.

Why the service model and not a hand-written schema: botocore is the referee for the wire, and
its shapes already say which members are required, which are unions (exactly one member set),
the enums, and the numeric and length ranges. boto3 checks only part of that before sending
(types, required members, minimums), so a body with ``temperature: 1.5`` or an unknown
``stopReason`` enum reaches the server, and raw HTTP clients send anything at all.

The result is a list of :class:`~helpers.bedrock_rules.Problem` with Converse paths
(``inferenceConfig.temperature``, ``messages[0].content[1].image.format``), in the wording AWS
uses for shape violations ("failed to satisfy constraint: ...").
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from helpers.bedrock_rules import Problem, json_kind

__all__ = ["check_shape", "input_shape"]

# A body nested deeper than this is refused instead of walked (the model's own nesting is shallow;
# only free-form documents such as tool input go deep, and those are not walked).
_MAX_DEPTH = 40


@functools.cache
def input_shape(operation: str) -> Any:
    """botocore's input shape of ``operation`` (``Converse`` or ``ConverseStream``)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    return model.operation_model(operation).input_shape


@functools.cache
def _pattern(text: str) -> re.Pattern[str] | None:
    try:
        return re.compile(text)
    except re.error:  # a Java-only construct: skip rather than refuse good input
        return None


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


_JSON_KIND = {
    "structure": "object",
    "list": "array",
    "map": "object",
    "string": "string",
    "blob": "string (base64)",
    "integer": "integer",
    "long": "integer",
    "float": "number",
    "double": "number",
    "boolean": "boolean",
    "timestamp": "number",
}


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _type_ok(shape: Any, value: object) -> bool:
    kind = shape.type_name
    if kind == "structure":
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, list)
    if kind == "map":
        return isinstance(value, dict)
    if kind in ("string", "blob"):
        return isinstance(value, str)
    if kind in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("float", "double", "timestamp"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return True


def _check_range(shape: Any, value: object, size: int | float, what: str, path: str, out: list[Problem]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        out.append(
            Problem(
                path,
                f"Value {_show(value)} failed to satisfy constraint: Member must have "
                f"{what} greater than or equal to {low}",
                f"use a {what} of at least {low}",
            )
        )
    if high is not None and size > high:
        out.append(
            Problem(
                path,
                f"Value {_show(value)} failed to satisfy constraint: Member must have "
                f"{what} less than or equal to {high}",
                f"use a {what} of at most {high}",
            )
        )


def _walk(shape: Any, value: object, path: str, out: list[Problem], depth: int) -> None:
    if depth > _MAX_DEPTH:
        out.append(Problem(path, "the request nests too deeply", "flatten the request"))
        return
    if getattr(shape, "is_document_type", False):
        return  # free-form JSON (tool input, inputSchema.json, additionalModelRequestFields)
    if value is None:
        out.append(
            Problem(
                path,
                "Value null failed to satisfy constraint: Member must not be null",
                "leave the member out instead of sending null",
            )
        )
        return
    if not _type_ok(shape, value):
        out.append(
            Problem(
                path,
                f"expected {_JSON_KIND.get(shape.type_name, shape.type_name)}, found {json_kind(value)} {_show(value)}",
                f"send a {_JSON_KIND.get(shape.type_name, shape.type_name)} here",
            )
        )
        return
    kind = shape.type_name
    if kind == "structure":
        _walk_structure(shape, value, path, out, depth)  # type: ignore[arg-type]
    elif kind == "list":
        assert isinstance(value, list)
        _check_range(shape, value, len(value), "length", path, out)
        for i, item in enumerate(value):
            _walk(shape.member, item, f"{path}[{i}]", out, depth + 1)
    elif kind == "map":
        assert isinstance(value, dict)
        for key, item in value.items():
            _walk(shape.value, item, f"{path}.{key}", out, depth + 1)
    elif kind == "string":
        assert isinstance(value, str)
        if shape.enum and value not in shape.enum:
            out.append(
                Problem(
                    path,
                    f"Value {_show(value)} failed to satisfy constraint: Member must satisfy "
                    f"enum value set: [{', '.join(shape.enum)}]",
                    f"use one of: {', '.join(shape.enum)}",
                )
            )
            return
        _check_range(shape, value, len(value), "length", path, out)
        pattern = shape.metadata.get("pattern")
        compiled = _pattern(pattern) if pattern else None
        if compiled is not None and compiled.fullmatch(value) is None:
            out.append(
                Problem(
                    path,
                    f"Value {_show(value)} failed to satisfy constraint: Member must satisfy "
                    f"regular expression pattern: {pattern}",
                    "change the value to match",
                )
            )
    elif kind in ("integer", "long", "float", "double"):
        assert isinstance(value, int | float)
        _check_range(shape, value, value, "value", path, out)


def _walk_structure(shape: Any, value: dict, path: str, out: list[Problem], depth: int) -> None:
    members = {name: member for name, member in shape.members.items() if not member.serialization.get("location")}
    for key in value:
        if key not in members:
            out.append(
                Problem(
                    _join(path, key),
                    f"unknown member [{key}]",
                    f"remove it; allowed here: {', '.join(members) or 'nothing'}",
                )
            )
    if getattr(shape, "is_tagged_union", False):
        present = [k for k in value if k in members]
        if len(present) != 1:
            found = ", ".join(present) if present else "none"
            out.append(
                Problem(
                    path or "#", f"exactly one member must be set, found: {found}", f"set one of: {', '.join(members)}"
                )
            )
    for name in shape.required_members:
        if name in members and name not in value:
            out.append(
                Problem(
                    _join(path, name), f"required member [{name}] not found", f"add {name} (see the {shape.name} shape)"
                )
            )
    for key, item in value.items():
        if key in members:
            _walk(members[key], item, _join(path, key), out, depth + 1)


def check_shape(operation: str, body: object) -> list[Problem]:
    """Every shape violation of ``body`` for ``operation``; an empty list means the shape is right."""
    if not isinstance(body, dict):
        return [
            Problem(
                "#",
                f"expected a JSON object, found {json_kind(body)}",
                'send {"messages": [{"role": "user", "content": [{"text": "Hello"}]}]}',
            )
        ]
    out: list[Problem] = []
    _walk_structure(input_shape(operation), body, "", out, 0)
    return out
