"""The one place where a request's credentials are judged.

Open by default (a teaching endpoint): any SigV4 signature, any Bearer token, even none at all. Configure
``verify_sigv4`` (access key -> secret) and/or ``bearer_token`` and the endpoint is *locked*: every call
must pass one of the configured checks, and a scheme that was not configured is refused, so a room
endpoint protected by a token cannot be walked into with a made-up signature.

Refusals use the error types AWS answers with: ``InvalidSignatureException`` for a signature that does
not match, ``UnrecognizedClientException`` for an unknown access key, ``MissingAuthenticationTokenException``
without credentials, and ``AccessDeniedException`` for a wrong Bearer token (what Bedrock answers for an
invalid API key; its exact wording is *unconfirmed*).

A locked room with key pairs also takes Bedrock's short-term API keys (``aws-bedrock-token-generator``'s
``provide_token()``, made with one of the room's pairs) as Bearer tokens: ``api_keys.py`` checks them.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping

from ..errors import BedrockError
from .api_keys import TokenProblem, is_short_term_key, verify_token
from .sigv4 import SERVICE, ParsedAuthorization, SignatureProblem, check_envelope, parse_authorization, verify

# What Bedrock answers for an API key it does not accept, 403 {"Message": ...} (pasted in
# anomalyco/opencode#47073 for an expired key, ai4s-research/open-science#53); its error type is unconfirmed.
API_KEY_INVALID = "Authentication failed: Please make sure your API Key is valid."
API_KEY_ERROR_TYPE = "AccessDeniedException"  # unconfirmed



class ShortTermKeyRefused(BedrockError):
    """A refused short-term API key: Bedrock's 403 on every route (the Messages route words it as Anthropic's)."""


SigV4Keys = Mapping[str, str] | tuple[str, str] | Iterable[tuple[str, str]] | str


def parse_key_pair(text: str) -> tuple[str, str]:
    """``"KEY:SECRET"`` -> ``("KEY", "SECRET")`` (what ``--verify-sigv4`` takes)."""
    key, sep, secret = text.partition(":")
    if not sep or not key or not secret:
        raise ValueError(f"verify_sigv4: expected ACCESS_KEY:SECRET_KEY, got {text!r}; "
                         "e.g. --verify-sigv4 local:local for the course's placeholder credentials")
    return key, secret


def _coerce_keys(value: SigV4Keys | None) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return dict([parse_key_pair(value)])
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
        pairs = [value]
    else:
        pairs = [parse_key_pair(v) if isinstance(v, str) else tuple(v) for v in value]
    keys: dict[str, str] = {}
    for pair in pairs:
        if len(pair) != 2 or not all(isinstance(v, str) and v for v in pair):
            raise ValueError(f"verify_sigv4: each key must be a non-empty (ACCESS_KEY, SECRET_KEY) pair, "
                             f"got {pair!r}")
        keys[pair[0]] = pair[1]
    return keys


class Authorizer:
    """Decides whether a request's credentials are good enough; raises ``BedrockError`` (403) if not."""

    def __init__(self, verify_sigv4: SigV4Keys | None = None, bearer_token: str | None = None,
                 instructor_keys: SigV4Keys | None = None) -> None:
        if bearer_token is not None and (not isinstance(bearer_token, str) or not bearer_token.strip()):
            raise ValueError("bearer_token must be a non-empty string (or None to accept any token)")
        self.keys = _coerce_keys(verify_sigv4)
        # Keys that may reach the control routes (/_local/calls, /_local/faults). When there are any, every
        # other credential is a learner's: it calls models, and gets a 403 on those routes, which hold every
        # learner's prompts and change everyone's calls (issue 23). With none, any good credential may.
        self.instructors = _coerce_keys(instructor_keys)
        self.keys.update(self.instructors)
        self.bearer_token = bearer_token

    def check_control(self, headers: dict[str, str]) -> None:
        """Raise a 403 unless this (already authorized) request may use the control routes."""
        if not self.instructors:
            return
        try:
            key = parse_authorization(headers.get("authorization", "")).access_key
        except SignatureProblem:
            key = None
        if key not in self.instructors:
            raise BedrockError(403, "AccessDeniedException",
                               "The local endpoint's control routes (/_local/calls, /_local/faults) are for the "
                               "instructor: sign with the access key given to --instructor-key.")

    @property
    def locked(self) -> bool:
        return bool(self.keys) or self.bearer_token is not None

    def __call__(self, method: str, raw_path: bytes, headers: dict[str, str], body: bytes | None = None,
                 query: bytes = b"", *, body_sha256: str | None = None,
                 services: tuple[str, ...] = (SERVICE,), http2: bool = False) -> None:
        """Judge a whole request; give the body or, when it was hashed as it arrived, its ``body_sha256``.

        ``services``: the signing names the route accepts (the Messages API route also takes ``bedrock-mantle``).
        ``http2``: the request came over HTTP/2, where a SigV4 client may sign ``:authority`` for ``host``.
        """
        if not self.locked:
            return
        value = headers.get("authorization", "").strip()
        if value[:7].lower() == "bearer ":
            self._check_bearer(value[7:].strip())
        elif value:
            self._check_sigv4(value, method, raw_path, query, headers, body, body_sha256, services, http2)
        else:
            raise self._missing()

    def precheck(self, headers: dict[str, str], services: tuple[str, ...] = (SERVICE,), *,
                 http2: bool = False) -> None:
        """Everything that can be judged from the headers alone, before the body is read.

        A request refused here never has its body read, parsed or logged; only a SigV4 request from a
        known access key, dated within the allowed skew, goes on to have its body hashed for the signature.
        """
        if not self.locked:
            return
        value = headers.get("authorization", "").strip()
        if value[:7].lower() == "bearer ":
            self._check_bearer(value[7:].strip())
        elif not value:
            raise self._missing()
        elif not self.keys:
            self._check_sigv4(value, "", b"", b"", headers, None, None)  # raises: only the token is accepted
        else:
            try:
                check_envelope(self._known(parse_authorization(value)), headers, services=services, http2=http2)
            except SignatureProblem as problem:
                raise BedrockError(403, problem.error_type, problem.message) from None

    def _missing(self) -> BedrockError:
        return BedrockError(403, "MissingAuthenticationTokenException",
                            "Missing Authentication Token: this endpoint checks credentials "
                            f"({self._accepts()}); send a signed request (boto3 does) or a Bearer token.")

    def _accepts(self) -> str:
        kinds = []
        if self.keys:
            kinds.append("SigV4 signatures from known access keys, or short-term API keys made with them")
        if self.bearer_token is not None:
            kinds.append("one Bearer token")
        return " or ".join(kinds)

    def _check_bearer(self, token: str) -> None:
        if self.keys and is_short_term_key(token) and (
                self.bearer_token is None or not hmac.compare_digest(header_bytes(token), self.bearer_token.encode())):
            try:
                verify_token(token, self.keys)
            except TokenProblem as problem:
                raise ShortTermKeyRefused(403, API_KEY_ERROR_TYPE,
                                   f"{API_KEY_INVALID} (This local endpoint refused the short-term key: {problem}.)"
                                   ) from None
            return
        if self.bearer_token is None:
            raise BedrockError(403, "AccessDeniedException",
                               "Authentication failed: this endpoint accepts only SigV4-signed requests "
                               "(started with --verify-sigv4) and short-term keys made from them with "
                               "provide_token(). Unset AWS_BEARER_TOKEN_BEDROCK and use access keys, or "
                               "restart it with --bearer-token.")
        if not hmac.compare_digest(header_bytes(token), self.bearer_token.encode()):
            raise BedrockError(403, API_KEY_ERROR_TYPE,
                               f"{API_KEY_INVALID} (This "
                               "local endpoint compares it with its --bearer-token; ask whoever runs it.)")

    def _known(self, parsed: ParsedAuthorization) -> ParsedAuthorization:
        if parsed.access_key not in self.keys:
            raise SignatureProblem(
                "UnrecognizedClientException",
                f"The security token included in the request is invalid. (Access key "
                f"{parsed.access_key!r} is not one this local endpoint was given with --verify-sigv4.)")
        return parsed

    def _check_sigv4(self, value: str, method: str, raw_path: bytes, query: bytes,
                     headers: dict[str, str], body: bytes | None, body_sha256: str | None,
                     services: tuple[str, ...] = (SERVICE,), http2: bool = False) -> None:
        if not self.keys:
            raise BedrockError(403, "UnrecognizedClientException",
                               "The security token included in the request is invalid: this endpoint "
                               "accepts only its Bearer token. Set AWS_BEARER_TOKEN_BEDROCK to it.")
        try:
            parsed = self._known(parse_authorization(value))
            verify(parsed, self.keys[parsed.access_key], method, raw_path, query, headers, body,
                   body_sha256=body_sha256, services=services, http2=http2)
        except SignatureProblem as problem:
            raise BedrockError(403, problem.error_type, problem.message) from None
        except (UnicodeError, ValueError):
            # A header botocore cannot put in a canonical request (bytes outside ASCII, say) signs nothing.
            raise BedrockError(403, "InvalidSignatureException",
                               "The request signature we calculated does not match the signature you "
                               "provided. Check your AWS Secret Access Key and signing method.") from None


def header_bytes(value: str) -> bytes:
    """A header value's bytes as they crossed the wire: servers hand them over decoded as latin-1."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def authorize(method: str, raw_path: bytes, headers: dict[str, str], body: bytes) -> None:
    """The open policy (kept for callers that have no configured ``Authorizer``)."""
    Authorizer()(method, raw_path, headers, body)


__all__ = ["API_KEY_INVALID", "Authorizer", "ShortTermKeyRefused", "authorize", "parse_key_pair", "BedrockError"]
