"""Request bodies as the server reads them: hashed while they arrive, kept only up to a limit.

The SHA-256 is what a SigV4 signature covers, so a locked endpoint can check a signature without ever
having kept more than ``keep`` bytes. A body longer than ``keep`` is still read to its end (the client is
owed an answer on the same connection) but its bytes are dropped as they come; ``size`` stays exact, so an
oversize-body message can state the real size.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

# A JSON escape for half of a UTF-16 surrogate pair; only bodies holding one need the exact check below.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


@dataclass(frozen=True)
class Body:
    data: bytes  # the whole body, or b"" when it was longer than the reader kept
    size: int  # bytes that arrived
    sha256: str  # hex digest of every byte that arrived

    @property
    def complete(self) -> bool:
        return len(self.data) == self.size


async def read_body(receive: Any, keep: int) -> Body | None:
    """Read an ASGI request body to its end; None when the client disconnected first."""
    digest = hashlib.sha256()
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        digest.update(chunk)
        size += len(chunk)
        if size <= keep:
            parts.append(chunk)
        elif parts:
            parts.clear()  # over the limit: nothing more is kept, and nothing kept so far either
        if not message.get("more_body", False):
            return Body(b"".join(parts) if size <= keep else b"", size, digest.hexdigest())


def has_lone_surrogate(raw: bytes) -> bool:
    """True when the JSON text escapes half a surrogate pair (``"\\ud800"`` alone).

    Python's json module accepts such a string, but it is no Unicode text: it cannot be encoded as UTF-8,
    so every later step that writes it (a response, a cassette) would fail. Paired halves are joined by the
    parser and pass; a backslash-escaped ``\\\\ud800`` is plain text and passes too.
    """
    if _SURROGATE_ESCAPE.search(raw) is None:
        return False
    try:
        value = json.loads(raw)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except (ValueError, RecursionError):
        return False  # not JSON at all: the body rules name that problem
    return False


def parse_control_json(raw: bytes) -> Any:
    """A control route's JSON body; ``ValueError`` naming the problem for anything that is not plain JSON."""

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number; use a finite number")

    try:
        return json.loads(raw, parse_constant=no_constant)
    except RecursionError:
        raise ValueError("the body nests too deeply; a fault spec is one flat JSON object") from None
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8 text") from None
