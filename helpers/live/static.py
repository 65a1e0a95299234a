"""The static rendering: what a notebook keeps when no widget is drawn.

An ordinary display object (HTML plus plain text), deterministic for a deterministic
stream: the status line (no timings, no ids), then the response's blocks in the order
they streamed - thinking in a collapsed ``<details>``, text rendered from Markdown,
tool input in an open ``<details>``. After a live run it replaces the widget, so it is
laid out like the widget: the same typography (JupyterLab's rendered-Markdown styles),
the answer column beside the side chart the view showed (``chart_svg``, only ever set
from a live view: the chart's timings differ run to run, stored outputs never carry it).
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


def ordered_blocks(snapshot: Any) -> list[tuple[str, str, str]]:
    """(kind, title, content) per thinking / text / tool-use block, in the order they streamed.

    Consecutive text blocks are joined, as ``snapshot.text`` joins them.
    """
    out: list[tuple[str, str, str]] = []
    for b in snapshot.blocks:
        kind = getattr(b, "type", "")
        if kind == "thinking":
            out.append(("thinking", "Thinking", b.thinking))
        elif kind == "text":
            if out and out[-1][0] == "text":
                out[-1] = ("text", "", out[-1][2] + b.text)
            else:
                out.append(("text", "", b.text))
        elif kind == "tool_use":
            parsed = getattr(b, "input", None)
            text = json.dumps(parsed, indent=2, ensure_ascii=False) if parsed is not None else b.input_json
            out.append(("tool_use", b.name, text))
    return out


# Same layout as the live view's body (an answer column that shrinks, a fixed 340 px chart beside it), so
# the static copy that replaces the widget does not move the text.
# The widget's status line is one widget row high (JupyterLab's --jp-widgets-inline-height, 28 px).
_STATUS_STYLE = "margin:0 0 4px 0;line-height:var(--jp-widgets-inline-height, 28px)"
_BODY_STYLE = "display:flex;align-items:flex-start;gap:8px"
_ANSWER_STYLE = "flex:1 1 auto;min-width:0"


@dataclass(frozen=True)
class StaticRendering:
    text: str
    status: str
    thinking: str = ""
    tools: tuple[tuple[str, str], ...] = ()
    timing: str = ""  # only when asked for: timings differ run to run
    blocks: tuple[tuple[str, str, str], ...] = ()  # (kind, title, content) in streamed order
    chart_svg: str | None = None  # the side chart a live view showed; never set for stored outputs

    @classmethod
    def of(cls, result: Any, *, timing: str = "", chart_svg: str | None = None) -> StaticRendering:
        snap = result.snapshot
        return cls(
            snap.text, static_status(result), thinking_text(snap), tuple(tool_inputs(snap)), timing,
            tuple(ordered_blocks(snap)), chart_svg,
        )  # fmt: skip

    def _block_html(self, kind: str, title: str, content: str) -> str:
        if kind == "thinking":
            body = render_markdown(content)
            return f'<details class="bedrock-block-thinking"><summary>Thinking</summary>{body}</details>'
        if kind == "tool_use":
            return (
                f'<details open class="bedrock-block-tool_use"><summary>Tool input: {html.escape(title)}</summary>'
                f"<pre>{html.escape(content)}</pre></details>"
            )
        return f'<div class="bedrock-block-text">{render_markdown(content)}</div>'

    def to_html(self) -> str:
        status = html.escape(self.status)
        parts = [f'<div class="bedrock-stream"><p class="bedrock-stream-status" style="{_STATUS_STYLE}">']
        parts.append(f"<small>{status}</small></p>")
        if self.timing:
            parts.append(f"<p><small>{html.escape(self.timing)}</small></p>")
        blocks = self.blocks or (("text", "", self.text),)
        answer = "".join(self._block_html(*block) for block in blocks)
        parts.append(f'<div class="bedrock-stream-body" style="{_BODY_STYLE}">')
        parts.append(f'<div class="bedrock-stream-answer" style="{_ANSWER_STYLE}">{answer}</div>')
        if self.chart_svg:
            parts.append(f'<div class="bedrock-stream-chart" style="flex:0 0 auto">{self.chart_svg}</div>')
        parts.append("</div></div>")
        return "".join(parts)

    def to_text(self) -> str:
        lines = [f"[{self.status}]"]
        if self.timing:
            lines.append(f"[{self.timing}]")
        blocks = self.blocks or (("text", "", self.text),)
        for kind, title, content in blocks:
            if kind == "thinking":
                lines += ["--- thinking ---", content, "--- end of thinking ---"]
            elif kind == "tool_use":
                lines += [f"--- tool input: {title} ---", content]
            else:
                lines.append(content)
        return "\n".join(lines)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.to_html(), "text/plain": self.to_text()}

    def __str__(self) -> str:
        return self.to_text()
