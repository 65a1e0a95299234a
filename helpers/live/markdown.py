"""Markdown -> HTML for model text, safe for half-finished input.

Model text is untrusted and, while streaming, incomplete. Two rules follow:

* raw HTML in the text is shown as text, never interpreted (markdown-it's ``html``
  option is off, and its link validator already refuses ``javascript:`` URLs);
* an unclosed code fence would swallow everything after it as code *and* flip back
  to prose the moment the closing fence arrives. While streaming we close any open
  fence before rendering, so a code block looks like a code block as it grows.

Re-rendering the whole answer on every frame costs time proportional to its length,
and that time is taken from the stream reader (they share the GIL). ``IncrementalMarkdown``
renders once each top-level block that can no longer change, and on each frame only
the text after the last such block; the result equals a full render (see its docstring
for the one construct where it cannot).
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

__all__ = ["render_markdown", "close_open_fence", "IncrementalMarkdown"]

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
    plain = _plain_paragraphs(text)
    if plain is not None:
        return plain
    if partial:
        text = close_open_fence(text)
    return _MD.render(text)


# Most of a model's answer is paragraphs of prose, and markdown-it spends ~40 us a line finding that out
# (an 80 kB answer: ~11 ms, most of what the live view costs the reader). A paragraph none of whose lines holds
# a character that can start Markdown syntax, and none of which starts like a block, renders as its lines,
# HTML-escaped, in <p>...</p>: written here directly, the same HTML markdown-it writes (tests/live/
# test_incremental_markdown.py compares the two on generated prose). Anything else goes to markdown-it.
# Also every whitespace but space and newline: markdown-it strips a paragraph with Python's str.strip().
_SYNTAX = re.compile(r"[\\`*_\[\]!<>&~|#=\x00\t\r\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
                     r"\u205f\u3000]|^[ +\-]|^\d{1,9}[.)]|[ ]$", re.M)
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")


def _plain_paragraphs(text: str) -> str | None:
    """The HTML of ``text`` when it is only plain paragraphs (see above), else None."""
    stripped = text.strip("\n")
    if not stripped or _SYNTAX.search(stripped):
        return None
    paragraphs = _BLANK_LINES.split(stripped)
    # &, < and > never get here; markdown-it escapes the double quote too.
    return "".join(f"<p>{p.replace(chr(34), '&quot;')}</p>\n" for p in paragraphs)


# A line that, after a blank line, could continue the block before it: indented text
# (list item content, indented code), a list item (a loose list goes on), a table row.
_CONTINUES = re.compile(r"^(\s|[-*+](\s|$)|\d{1,9}[.)](\s|$)|\|)")


class IncrementalMarkdown:
    """Render a growing Markdown text, re-rendering only its unsettled end.

    A *settled* boundary is the start of a line that follows a blank line, lies outside
    any code fence, and begins a new top-level block (not indented, not a list item,
    not a table row): CommonMark closes every block before such a line, so the HTML of
    the text before it never changes again and is kept. Each ``render`` call then costs
    time proportional to the text after the last boundary.

    The one construct this cannot honour is a reference-style link whose definition
    comes in a later block (``[text][ref]`` ... ``[ref]: url``); model answers use inline
    links. Text that does not extend the previous one (a new stream) starts afresh.
    """

    def __init__(self) -> None:
        self._settled_text = ""
        self._settled_html = ""

    def render(self, text: str, *, partial: bool = False) -> str:
        settled = self._settled_text
        if not text.startswith(settled):
            self._settled_text = self._settled_html = settled = ""
        boundary = _last_boundary(text, len(settled))
        if boundary > len(settled):
            self._settled_html += render_markdown(text[len(settled) : boundary])
            self._settled_text = settled = text[:boundary]
        return self._settled_html + render_markdown(text[len(settled) :], partial=partial)


def _last_boundary(text: str, start: int) -> int:
    """The last settled boundary at or after ``start`` (``start`` itself is one, or 0)."""
    boundary = start
    open_fence: str | None = None
    previous_blank = False
    pos = start
    size = len(text)
    while pos < size:
        end = text.find("\n", pos)
        if end < 0:
            break  # the last line may still grow: it cannot start a settled block yet
        line = text[pos:end]
        fence = _FENCE.match(line)
        if open_fence is not None:
            if fence and fence.group(1)[0] == open_fence[0] and len(fence.group(1)) >= len(open_fence):
                if not fence.group(2).strip():
                    open_fence = None
        else:
            if previous_blank and line and not _CONTINUES.match(line):
                boundary = pos
            if fence and not (fence.group(1)[0] == "`" and "`" in fence.group(2)):
                open_fence = fence.group(1)
        previous_blank = open_fence is None and not line.strip()
        pos = end + 1
    return boundary
