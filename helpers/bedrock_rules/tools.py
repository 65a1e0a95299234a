"""Tool definitions (``tools``) and ``tool_choice``.

Part of the request-body rules (body.py); pure: standard library only, no I/O.
"""

from __future__ import annotations

import re

from .basics import _show, json_kind
from .messages import Problem

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _check_tools(body: dict, out: list[Problem]) -> list[str]:
    """Check ``tools``; return the tool names seen, for ``tool_choice``."""
    if "tools" not in body:
        return []
    tools = body["tools"]
    fix = 'give tools as [{"name": "get_weather", "description": "...", "input_schema": {"type": "object"}}]'
    if not isinstance(tools, list):
        out.append(Problem("tools", f"expected type: JSONArray, found: {json_kind(tools)}", fix))
        return []
    names: list[str] = []
    seen: set[str] = set()  # a list's `in` made many tools cost their square (issue 23)
    for i, tool in enumerate(tools):
        path = f"tools[{i}]"
        if not isinstance(tool, dict):
            out.append(Problem(path, f"expected type: JSONObject, found: {json_kind(tool)}", fix))
            continue
        name = tool.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            out.append(
                Problem(
                    f"{path}.name",
                    f"{_show(name)} does not match ^[a-zA-Z0-9_-]{{1,64}}$",
                    "name the tool with 1-64 letters, digits, _ or -",
                )
            )
        elif name in seen:
            out.append(Problem(f"{path}.name", f"tool names must be unique; {name!r} is repeated", "rename one tool"))
        else:
            names.append(name)
            seen.add(name)
        if "description" in tool and not isinstance(tool["description"], str):
            out.append(Problem(f"{path}.description", "description must be a string", "describe the tool in words"))
        schema = tool.get("input_schema")
        schema_fix = 'set input_schema to a JSON Schema like {"type": "object", "properties": {...}}'
        if not isinstance(schema, dict):
            out.append(Problem(f"{path}.input_schema", "required key [input_schema] must be an object", schema_fix))
        elif schema.get("type") != "object":
            out.append(Problem(f"{path}.input_schema.type", 'input_schema.type must be "object"', schema_fix))
    return names


def _check_tool_choice(body: dict, tool_names: list[str], out: list[Problem]) -> None:
    if "tool_choice" not in body:
        return
    choice = body["tool_choice"]
    fix = 'use {"type": "auto"}, {"type": "any"}, {"type": "none"} or {"type": "tool", "name": "..."}'
    if not isinstance(choice, dict):
        out.append(Problem("tool_choice", f"expected type: JSONObject, found: {json_kind(choice)}", fix))
        return
    kind = choice.get("type")
    if kind not in ("auto", "any", "tool", "none"):
        out.append(Problem("tool_choice.type", f"{_show(kind)} is not a valid enum value", fix,
                           patch={"tool_choice": {"type": "auto"}}))
        return
    if kind in ("any", "tool") and "tools" not in body:
        out.append(
            Problem("tool_choice", f"tool_choice {kind!r} needs a [tools] list", "add tools or drop tool_choice")
        )
    if kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            out.append(Problem("tool_choice.name", 'tool_choice "tool" needs a [name]', "name one of your tools"))
        elif name not in tool_names and "tools" in body:
            out.append(
                Problem(
                    "tool_choice.name",
                    f"tool {name!r} is not among the tools given",
                    "use the name of a tool in [tools]",
                )
            )
