"""The one place where a request's credentials are judged.

For now every SigV4 signature and every Bearer token is accepted (a teaching endpoint); verification
(``--verify-sigv4``, ``--bearer-token``) plugs in here and nowhere else.
"""

from __future__ import annotations

from .errors import BedrockError


def authorize(method: str, raw_path: bytes, headers: dict[str, str], body: bytes) -> None:
    """Raise ``BedrockError`` (403) to refuse the request; return to let it through."""
    del method, raw_path, headers, body  # accepted as they are, see the module docstring
    return None


__all__ = ["authorize", "BedrockError"]
