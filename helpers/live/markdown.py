"""Markdown -> HTML for model text, safe for half-finished input.

Model text is untrusted and, while streaming, incomplete. Two rules follow:

* raw HTML in the text is shown as text, never interpreted (markdown-it's ``html``
  option is off, and its link validator already refuses ``javascript:`` URLs);
* an unclosed code fence would swallow everything after it as code *and* flip back
  to prose the moment the closing fence arrives. While streaming we close any open
  fence before rendering, so a code block looks like a code block as it grows.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

__all__ = ["render_markdown", "close_open_fence"]

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

# A fence opener/closer: up to 3 spaces of indent, then 3+ backticks or tildes.
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def close_open_fence(text: str) -> str:
    """Return ``text`` with a closing fence appended if a fenced code block is still open."""
    open_fence: str | None = None
    for line in text.split("\n"):
        m = _FENCE.match(line)
        if not m:
            continue
        fence, rest = m.group(1), m.group(2)
        if open_fence is None:
            # A backtick fence's info string may not contain backticks (CommonMark 4.5).
            if fence[0] == "`" and "`" in rest:
                continue
            open_fence = fence
        elif fence[0] == open_fence[0] and len(fence) >= len(open_fence) and not rest.strip():
            open_fence = None
    if open_fence is None:
        return text
    return text + ("" if text.endswith("\n") else "\n") + open_fence + "\n"


def render_markdown(text: str, *, partial: bool = False) -> str:
    """Render Markdown to HTML. ``partial=True`` for text that is still streaming."""
    if partial:
        text = close_open_fence(text)
    return _MD.render(text)
