"""Images are charged by their pixel size, read from the image's header, with each model's formula.

Expected values are worked out by hand here from the documented formulas:

- models before Opus 4.7 (Haiku 4.5 here): tokens = width * height / 750 (rounded up), the long edge scaled to at
  most 1,568 px first, and ~1,600 tokens at most (Anthropic's vision guide, "Calculate image costs");
- Opus 4.7 and later: ceil(w / 28) * ceil(h / 28), at most 4,784, long edge up to 2,576 px (measured by a third
  party with count_tokens; unconfirmed by Anthropic).
"""

from __future__ import annotations

import base64
import json
import struct
import zlib

import pytest
from endpoint_support import HAIKU

from helpers.local_bedrock.model.tokens import image_size

OPUS_47 = "anthropic.claude-opus-4-7"


def png(width: int, height: int) -> bytes:
    """A real, decodable PNG of one grey colour (8-bit greyscale), built by hand."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def jpeg_header(width: int, height: int) -> bytes:
    """SOI, a JFIF APP0 segment, then a baseline SOF0 naming the size (what a reader needs), then filler."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + sof0 + b"\x00" * 64


def gif_header(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b"\x00" * 16


def webp_vp8x(width: int, height: int) -> bytes:
    body = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (
        height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def _input_tokens(client, model_id: str, images: list[tuple[bytes, str]]) -> int:
    content = [{"type": "image", "source": {"type": "base64", "media_type": kind,
                                            "data": base64.b64encode(raw).decode()}} for raw, kind in images]
    content.append({"type": "text", "text": "Describe this picture."})
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20,
            "messages": [{"role": "user", "content": content}]}
    answer = json.loads(client.invoke_model(modelId=model_id, body=json.dumps(body))["body"].read())
    return answer["usage"]["input_tokens"]


def _image_cost(client, model_id: str, raw: bytes, kind: str) -> int:
    return _input_tokens(client, model_id, [(raw, kind)]) - _input_tokens(client, model_id, [])


@pytest.mark.parametrize(("raw", "kind", "size"), [
    (png(32, 32), "image/png", (32, 32)),
    (jpeg_header(4000, 3000), "image/jpeg", (4000, 3000)),
    (gif_header(200, 100), "image/gif", (200, 100)),
    (webp_vp8x(300, 150), "image/webp", (300, 150)),
])
def test_the_size_is_read_from_the_header(raw, kind, size) -> None:
    assert image_size(base64.b64encode(raw).decode()) == size


def test_a_32_pixel_png_costs_2_tokens_on_haiku_4_5(client) -> None:
    # 32 * 32 / 750 = 1.37 -> 2 tokens (not a flat 1,200).
    assert _image_cost(client, HAIKU, png(32, 32), "image/png") == 2


def test_a_large_jpeg_is_scaled_and_capped_on_haiku_4_5(client) -> None:
    # 4000 x 3000 -> long edge 1568: 1568 x 1176 = 1,843,968 px / 750 = 2,459 -> over ~1,600: 1,600.
    assert _image_cost(client, HAIKU, jpeg_header(4000, 3000), "image/jpeg") == 1600
    # 1000 x 500 needs no scaling: 500,000 / 750 = 666.7 -> 667.
    assert _image_cost(client, HAIKU, jpeg_header(1000, 500), "image/jpeg") == 667


def test_opus_4_7_counts_28_pixel_patches(client) -> None:
    # 32 x 32: ceil(32/28) * ceil(32/28) = 2 * 2 = 4.
    assert _image_cost(client, OPUS_47, png(32, 32), "image/png") == 4
    # 1000 x 500: ceil(35.7) * ceil(17.9) = 36 * 18 = 648.
    assert _image_cost(client, OPUS_47, jpeg_header(1000, 500), "image/jpeg") == 648
    # 4000 x 3000 -> long edge 2576: 2576 x 1932 -> 92 * 69 = 6,348 -> at most 4,784.
    assert _image_cost(client, OPUS_47, jpeg_header(4000, 3000), "image/jpeg") == 4784


def test_two_images_cost_the_sum(client) -> None:
    both = _input_tokens(client, HAIKU, [(png(32, 32), "image/png"), (gif_header(200, 100), "image/gif")])
    # 2 (the PNG) + 200 * 100 / 750 = 26.7 -> 27 (the GIF).
    assert both - _input_tokens(client, HAIKU, []) == 2 + 27
