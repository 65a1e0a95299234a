"""The local endpoint's one token counter.

Claude's real tokenizer is not public, so this is a deterministic stand-in with
the properties the course relies on:

- ``split_tokens(text)`` returns pieces that join back to ``text`` exactly;
- pieces are word- or sub-word-sized, about four characters each on English;
- whitespace travels with the word that follows it (``" river"``), as in Claude's
  own tokens, so a stream of pieces reads naturally when printed one by one;
- ``count_tokens(text) == len(split_tokens(text))``, always.

Usage in response bodies, the token-count headers and the invocation metrics
all come from here, so they can never disagree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

__all__ = [
    "IMAGE_TOKENS",
    "MESSAGE_OVERHEAD_TOKENS",
    "TOOL_OVERHEAD_TOKENS",
    "count_input_tokens",
    "count_tokens",
    "split_tokens",
]

# A long word is cut into pieces of at most this many letters, which brings the
# average close to the ~4 characters per token seen on English text.
_MAX_LETTERS = 6
_SUBWORD = 5

_PIECE = re.compile(
    r"\n{1,3}"  # paragraph breaks are tokens of their own
    r"|[ \t]*(?:[^\W\d_]+|\d{1,3}|_|[^\s\w])"  # optional leading blanks + word, number group or symbol
    r"|[ \t]+"  # blanks with no word after them (before a newline, at the end)
    r"|.",  # anything else (\r, other Unicode spaces): one character per token
    re.DOTALL,
)

# Fixed costs for inputs that are not plain text. Real Claude charges images by
# pixel area and adds a hidden prompt for tool use; fixed numbers keep the local
# endpoint deterministic without decoding images.
IMAGE_TOKENS = 1_200
TOOL_OVERHEAD_TOKENS = 300
MESSAGE_OVERHEAD_TOKENS = 3


def _cut_long_word(piece: str, stripped: str) -> list[str]:
    """A long word in near-equal slices (no one-letter tails); the first keeps the leading blanks."""
    lead = len(piece) - len(stripped)
    count = -(-len(stripped) // _SUBWORD)
    size, extra = divmod(len(stripped), count)
    slices = []
    start = 0
    for i in range(count):
        end = lead + start + size + (1 if i < extra else 0)
        slices.append(piece[0 if i == 0 else lead + start : end])
        start = end - lead
    return slices


def split_tokens(text: str) -> list[str]:
    """Split ``text`` into token-sized pieces that join back to it exactly."""
    # The endpoint splits every answer it plans (a room of a thousand at once): one findall, and only
    # pieces longer than a short word look any closer.
    pieces: list[str] = []
    for piece in _PIECE.findall(text):
        if len(piece) > _MAX_LETTERS:
            stripped = piece.lstrip(" \t")
            if len(stripped) > _MAX_LETTERS and stripped.isalpha():
                pieces.extend(_cut_long_word(piece, stripped))
                continue
        pieces.append(piece)
    return pieces


# count_tokens reads a long text this many characters at a time: one findall holds the GIL throughout, and
# a 25 MB prompt read in one call froze every other client for seconds (issue 23).
_COUNT_WINDOW = 1 << 16


def _windows(text: str) -> Iterator[tuple[int, int, list[str]]]:
    """``(start, end, pieces)``: the pieces of ``text[start:end]`` (as ``_PIECE.findall``), a window at a time.

    The pieces join back to the text, so the last piece of a window starts at ``end - len(last)``; it may have
    been cut short by the window's end, so the next window starts again there. Every earlier piece ended
    before the window's end and is exactly the piece the whole text has there.
    """
    start, size = 0, _COUNT_WINDOW
    while len(text) - start > size:
        found = _PIECE.findall(text, start, start + size)
        last = found.pop()
        if not found:  # one piece (a very long word) fills the window: look further
            size *= 2
            continue
        end = start + size - len(last)
        yield start, end, found
        start, size = end, _COUNT_WINDOW
    yield start, len(text), _PIECE.findall(text, start)


# A piece is cut into sub-words when its letters run longer than _MAX_LETTERS: each such run is one piece's
# word (the piece pattern takes letters greedily), so the runs are found without looking at every piece.
_LONG_LETTERS = re.compile(rf"[^\W\d_]{{{_MAX_LETTERS + 1},}}")


def count_tokens(text: str) -> int:
    """How many tokens ``text`` is, by the same rule as :func:`split_tokens`."""
    count = 0
    for start, end, found in _windows(text):
        count += len(found)
        for run in _LONG_LETTERS.findall(text, start, end):
            if run.isalpha():
                count += -(-len(run) // _SUBWORD) - 1
    return count


def _content_tokens(content: object) -> int:
    if isinstance(content, str):
        return count_tokens(content)
    if not isinstance(content, list):
        return 0
    total = 0
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            total += count_tokens(block["text"])
        elif kind == "image":
            total += IMAGE_TOKENS
        elif kind == "tool_use":
            total += count_tokens(str(block.get("name", ""))) + count_tokens(json.dumps(block.get("input", {})))
        elif kind == "tool_result":
            total += _content_tokens(block.get("content", ""))
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            total += count_tokens(block["thinking"])
    return total


def count_input_tokens(body: dict) -> int:
    """Input tokens of a validated Messages or Text Completions body (deterministic).

    Counts the system prompt, every message's text (plus a small per-message
    overhead), a fixed cost per image, and each tool definition's JSON plus a
    fixed tool-use overhead. A legacy body counts its prompt.
    """
    if "prompt" in body and "messages" not in body:
        return max(1, count_tokens(str(body["prompt"])))
    total = _content_tokens(body.get("system", ""))
    for message in body.get("messages", []):
        if isinstance(message, dict):
            total += MESSAGE_OVERHEAD_TOKENS + _content_tokens(message.get("content"))
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        total += TOOL_OVERHEAD_TOKENS
        for tool in tools:
            total += count_tokens(json.dumps(tool, sort_keys=True))
    return max(1, total)
