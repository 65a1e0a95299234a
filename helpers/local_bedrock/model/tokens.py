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

import base64
import binascii
import json
import math
import re
from collections.abc import Iterator
from typing import Any

__all__ = [
    "IMAGE_TOKENS",
    "image_size",
    "image_tokens",
    "uses_high_resolution_images",
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

# An image whose size cannot be read from its header (a format the endpoint does not parse, a cut header)
# is charged this fixed amount. Real Claude charges images by pixel area (see image_tokens) and adds a hidden
# prompt for tool use; the tool overhead stays a fixed number.
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
    # The endpoint splits every answer it plans (a room of a thousand at once): a findall per window (one
    # over a 64,000-token answer held the interpreter for ~30 ms), and only pieces longer than a short word
    # look any closer.
    pieces: list[str] = []
    for _start, _end, found in _windows(text):
        for piece in found:
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


# --------------------------------------------------------------------------- images

# Anthropic's vision guide ("Calculate image costs"): tokens = width * height / 750; an image whose long edge is
# over 1,568 px, or that comes to over ~1,600 tokens, is first scaled down (aspect ratio kept).
STANDARD_LONG_EDGE = 1_568
STANDARD_MAX_TOKENS = 1_600
# Opus 4.7 and later, Sonnet 5+, Haiku 5.5, Fable, Mythos: ceil(w/28) * ceil(h/28) patches, at most 4,784, long
# edge up to 2,576 px. UNCONFIRMED: measured with count_tokens by a third party (2026-11-19), not documented by
# Anthropic; this one switch turns it off (every model then counts like the standard tier).
HIGH_RESOLUTION_IMAGES = True
HIGH_LONG_EDGE = 2_576
HIGH_PATCH = 28
HIGH_MAX_TOKENS = 4_784
# Enough base64 to reach a JPEG's size marker past typical EXIF data; never the whole image.
_HEADER_BASE64_CHARS = 262_144
_HIGH_MODEL = re.compile(r"anthropic\.claude-(opus|sonnet|haiku|fable|mythos)-(\d+)(?:-(\d+))?")


def uses_high_resolution_images(model: Any) -> bool:
    """True for the models that count images in 28-pixel patches (see :data:`HIGH_RESOLUTION_IMAGES`)."""
    match = _HIGH_MODEL.match(str(getattr(model, "base_id", "") or ""))
    if not HIGH_RESOLUTION_IMAGES or match is None:
        return False
    family, major, minor = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if family in ("fable", "mythos"):
        return True
    # A third number is a date (claude-opus-4-20250514): not a minor version.
    minor = minor if minor < 100 else 0
    return {"opus": (major, minor) >= (4, 7), "sonnet": major >= 5, "haiku": (major, minor) >= (5, 5)}[family]


def _png(raw: bytes) -> tuple[int, int] | None:
    if raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR" and len(raw) >= 24:
        return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    return None


def _gif(raw: bytes) -> tuple[int, int] | None:
    if raw[:6] in (b"GIF87a", b"GIF89a") and len(raw) >= 10:
        return int.from_bytes(raw[6:8], "little"), int.from_bytes(raw[8:10], "little")
    return None


def _webp(raw: bytes) -> tuple[int, int] | None:
    if raw[:4] != b"RIFF" or raw[8:12] != b"WEBP" or len(raw) < 30:
        return None
    kind = raw[12:16]
    if kind == b"VP8X":  # 24-bit width-1 and height-1 at 24 and 27
        return int.from_bytes(raw[24:27], "little") + 1, int.from_bytes(raw[27:30], "little") + 1
    if kind == b"VP8L" and raw[20] == 0x2F:  # 14-bit width-1, 14-bit height-1
        bits = int.from_bytes(raw[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 " and raw[23:26] == b"\x9d\x01\x2a":  # key frame: 14-bit sizes after the start code
        return int.from_bytes(raw[26:28], "little") & 0x3FFF, int.from_bytes(raw[28:30], "little") & 0x3FFF
    return None


def _jpeg(raw: bytes) -> tuple[int, int] | None:
    if raw[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 9 <= len(raw):
        if raw[at] != 0xFF:
            return None
        marker = raw[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        length = int.from_bytes(raw[at + 2 : at + 4], "big")
        # Start-of-frame markers carry the size; C4 (Huffman), C8 (reserved) and CC (arithmetic) do not.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(raw[at + 7 : at + 9], "big"), int.from_bytes(raw[at + 5 : at + 7], "big")
        at += 2 + length
    return None


def image_size(data: str) -> tuple[int, int] | None:
    """(width, height) read from the header of base64 image ``data`` (PNG, JPEG, GIF, WebP); None if unreadable."""
    head = data[:_HEADER_BASE64_CHARS]
    head = head[: len(head) - len(head) % 4]
    try:
        raw = base64.b64decode(head)
    except (binascii.Error, ValueError):
        return None
    for read in (_png, _jpeg, _gif, _webp):
        size = read(raw)
        if size is not None:
            return size if size[0] > 0 and size[1] > 0 else None
    return None


def image_tokens(width: int, height: int, high_resolution: bool = False) -> int:
    """Input tokens for one image of ``width`` x ``height`` pixels (see the constants above)."""
    if high_resolution:
        scale = min(1.0, HIGH_LONG_EDGE / max(width, height))
        w, h = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
        return min(HIGH_MAX_TOKENS, math.ceil(w / HIGH_PATCH) * math.ceil(h / HIGH_PATCH))
    scale = min(1.0, STANDARD_LONG_EDGE / max(width, height))
    w, h = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
    return min(STANDARD_MAX_TOKENS, math.ceil(w * h / 750))


def _image_block_tokens(block: dict, high_resolution: bool) -> int:
    source = block.get("source")
    data = source.get("data") if isinstance(source, dict) else None
    size = image_size(data) if isinstance(data, str) else None
    return IMAGE_TOKENS if size is None else image_tokens(*size, high_resolution=high_resolution)


def _content_tokens(content: object, high_resolution: bool = False) -> int:
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
            total += _image_block_tokens(block, high_resolution)
        elif kind == "tool_use":
            total += count_tokens(str(block.get("name", ""))) + count_tokens(json.dumps(block.get("input", {})))
        elif kind == "tool_result":
            total += _content_tokens(block.get("content", ""), high_resolution)
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            total += count_tokens(block["thinking"])
    return total


def count_input_tokens(body: dict, model: Any = None) -> int:
    """Input tokens of a validated Messages or Text Completions body (deterministic).

    Counts the system prompt, every message's text (plus a small per-message
    overhead), each image by its pixel size as ``model`` counts it (read from the
    image's header; see :func:`image_tokens`), and each tool definition's JSON plus a
    fixed tool-use overhead. A legacy body counts its prompt.
    """
    if "prompt" in body and "messages" not in body:
        return max(1, count_tokens(str(body["prompt"])))
    high = uses_high_resolution_images(model)
    total = _content_tokens(body.get("system", ""))
    for message in body.get("messages", []):
        if isinstance(message, dict):
            total += MESSAGE_OVERHEAD_TOKENS + _content_tokens(message.get("content"), high)
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        total += TOOL_OVERHEAD_TOKENS
        for tool in tools:
            total += count_tokens(json.dumps(tool, sort_keys=True))
    return max(1, total)
