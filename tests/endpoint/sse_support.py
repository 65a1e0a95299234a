"""An SSE parser written from the WHATWG "server-sent events" parsing rules, independent of the code under test.

Used to read the local endpoint's Messages API stream byte for byte, as a browser's EventSource would.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


def parse_sse(raw: bytes) -> list[SseEvent]:
    """Every dispatched event of a complete SSE body (UTF-8; an unterminated last event is not dispatched)."""
    text = raw.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()  # the split after the final line end; a trailing unterminated line stays and is dropped below
        complete = lines
    else:
        complete = lines[:-1]
    events: list[SseEvent] = []
    event_type, data = "", []
    for line in complete:
        if line == "":
            if data:
                events.append(SseEvent(event_type or "message", "\n".join(data)))
            event_type, data = "", []
            continue
        if line.startswith(":"):
            continue  # a comment
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "event":
            event_type = value
        elif field == "data":
            data.append(value)
        # "id" and "retry" change reconnection state only; other fields are ignored by the spec
    return events
