"""The static rendering: what a notebook keeps when no widget is drawn.

An ordinary display object (HTML plus plain text), deterministic for a deterministic
stream: the answer rendered from Markdown, thinking and tool input in ``<details>``
sections, and the static status line (no timings, no ids).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any

from helpers.live.markdown import render_markdown
from helpers.live.status import static_status

__all__ = ["StaticRendering", "thinking_text", "tool_inputs"]


def thinking_text(snapshot: Any) -> str:
    return "\n\n".join(b.thinking for b in snapshot.blocks if getattr(b, "type", "") == "thinking")


def tool_inputs(snapshot: Any) -> list[tuple[str, str]]:
    """(tool name, input JSON) per tool call; pretty-printed once the input parses."""
    out = []
    for b in snapshot.blocks:
        if getattr(b, "type", "") != "tool_use":
            continue
        parsed = getattr(b, "input", None)
        text = json.dumps(parsed, indent=2, ensure_ascii=False) if parsed is not None else b.input_json
        out.append((b.name, text))
    return out


@dataclass(frozen=True)
class StaticRendering:
    text: str
    status: str
    thinking: str = ""
    tools: tuple[tuple[str, str], ...] = ()
    timing: str = ""  # only when asked for: timings differ run to run

    @classmethod
    def of(cls, result: Any, *, timing: str = "") -> StaticRendering:
        snap = result.snapshot
        return cls(snap.text, static_status(result), thinking_text(snap), tuple(tool_inputs(snap)), timing)

    def to_html(self) -> str:
        parts = [f'<div class="bedrock-stream"><p><small>{html.escape(self.status)}</small></p>']
        if self.timing:
            parts.append(f"<p><small>{html.escape(self.timing)}</small></p>")
        if self.thinking:
            parts.append(f"<details><summary>Thinking</summary>{render_markdown(self.thinking)}</details>")
        for name, text in self.tools:
            parts.append(
                f"<details open><summary>Tool input: {html.escape(name)}</summary>"
                f"<pre>{html.escape(text)}</pre></details>"
            )
        parts.append(render_markdown(self.text))
        parts.append("</div>")
        return "".join(parts)

    def to_text(self) -> str:
        lines = [f"[{self.status}]"]
        if self.timing:
            lines.append(f"[{self.timing}]")
        if self.thinking:
            lines += ["--- thinking ---", self.thinking, "--- end of thinking ---"]
        for name, text in self.tools:
            lines += [f"--- tool input: {name} ---", text]
        lines.append(self.text)
        return "\n".join(lines)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.to_html(), "text/plain": self.to_text()}

    def __str__(self) -> str:
        return self.to_text()
