"""Errors the course's helpers raise, each saying what went wrong and what to do.

Why a family of ``StreamError`` classes: once Bedrock has started answering, a failure
arrives as an exception *frame* inside the event stream. boto3 turns that frame into a
``botocore.exceptions.EventStreamError`` whose code is a lowerCamel member name
(``throttlingException``), so ``except client.exceptions.ThrottlingException`` never
catches it and botocore never retries it. The helpers convert it into one of the classes
below, named for the Bedrock error, and attach ``.partial`` -- the ``StreamResult`` as it
was when the failure arrived -- so no received output is thrown away.

``PayloadError`` is raised before anything leaves the machine, listing every problem in
a request body at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "StreamError",
    "ModelStreamError",
    "StreamThrottled",
    "StreamInternalError",
    "StreamValidationError",
    "StreamModelTimeout",
    "StreamServiceUnavailable",
    "StreamConnectionLost",
    "StreamOverloaded",
    "StreamApiError",
    "MessagesApiError",
    "PayloadError",
    "PreflightError",
    "stream_error_class",
    "RETRYABLE_CODES",
]

# Bedrock error names (either spelling) that are worth retrying: the request itself was
# fine, the service was busy or briefly unwell.
RETRYABLE_CODES = frozenset(
    name.lower()
    for name in (
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelNotReadyException",
        "ModelTimeoutException",
        # The Messages API's errors (Anthropic's error types): in-band SSE errors, and 429 before the stream.
        "overloaded_error",
        "api_error",
        "rate_limit_error",
    )
)


class StreamError(Exception):
    """A stream that failed after the request was accepted.

    ``code`` is Bedrock's lowerCamel exception name (``modelStreamErrorException``), or
    ``"connectionLost"`` when the connection broke. ``partial`` is the ``StreamResult``
    up to the failure: its ``text``, ``blocks``, ``events`` and ``usage`` are all there.
    ``details`` holds any extra fields of the exception frame (for
    ``modelStreamErrorException``: ``originalStatusCode``, ``originalMessage``).
    """

    default_code = ""
    fix = "Look at .partial for what arrived before the failure."

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        partial: Any = None,  # a helpers.stream_result.StreamResult (not imported: no import circle)
        details: dict[str, Any] | None = None,
    ) -> None:
        self.code = code if code is not None else self.default_code
        self.partial = partial
        self.details = dict(details or {})
        self.message = message
        super().__init__(self._describe())

    @property
    def output_started(self) -> bool:
        """True if any model output (text, tool input, thinking) arrived before the failure."""
        return self.partial is not None and self.partial.snapshot.output_event_count > 0

    @property
    def retryable(self) -> bool:
        """True for errors where sending the same request again may well succeed."""
        return self.code.lower() in RETRYABLE_CODES or self.code == "connectionLost"

    def _describe(self) -> str:
        where = ""
        if self.partial is not None:
            snap = self.partial.snapshot
            op = self.partial.operation or "stream"
            model = f" of model {self.partial.model_id}" if self.partial.model_id else ""
            where = f" during {op}{model}, after {snap.event_count} events ({len(snap.text)} characters of text)"
        name = self.code or "unknown stream error"
        return f"{name}{where}: {self.message} -- {self.fix}"

    def __reduce__(self):  # keep pickling (multiprocessing, papermill) working with kw-only args
        return (_rebuild, (type(self), self.message, self.code, self.details))


def _rebuild(cls: type[StreamError], message: str, code: str, details: dict[str, Any]) -> StreamError:
    return cls(message, code=code, details=details)


class ModelStreamError(StreamError):
    default_code = "modelStreamErrorException"
    fix = "The model failed mid-answer; the partial output is in .partial. Retrying resends the whole request."


class StreamThrottled(StreamError):
    default_code = "throttlingException"
    fix = "Too many requests or tokens per minute: wait and retry, or ask for a quota increase."


class StreamInternalError(StreamError):
    default_code = "internalServerException"
    fix = "A service-side fault: retry after a short wait."


class StreamValidationError(StreamError):
    default_code = "validationException"
    fix = "The request was rejected as invalid: check the body with helpers.payloads.validate_body."


class StreamModelTimeout(StreamError):
    default_code = "modelTimeoutException"
    fix = "The model took too long: retry, or ask for fewer tokens."


class StreamServiceUnavailable(StreamError):
    default_code = "serviceUnavailableException"
    fix = "The service is unavailable right now: retry after a short wait."


class StreamConnectionLost(StreamError):
    default_code = "connectionLost"
    fix = "The connection broke before the stream finished; the partial output is in .partial."


class StreamOverloaded(StreamError):
    """The Messages API's in-band ``overloaded_error`` (SSE ``event: error``)."""

    default_code = "overloaded_error"
    fix = "The service is overloaded right now: retry after a short wait; the partial output is in .partial."


class StreamApiError(StreamError):
    """The Messages API's in-band ``api_error``: the service failed mid-answer."""

    default_code = "api_error"
    fix = "The service failed while answering: retry; the partial output is in .partial."


_BY_CODE: dict[str, type[StreamError]] = {
    cls.default_code.lower(): cls
    for cls in (
        ModelStreamError,
        StreamThrottled,
        StreamInternalError,
        StreamValidationError,
        StreamModelTimeout,
        StreamServiceUnavailable,
        StreamConnectionLost,
        StreamOverloaded,
        StreamApiError,
    )
}


# Anthropic's error types that share a Bedrock exception's meaning. ``rate_limit_error`` arrives in-band on
# InvokeModelWithResponseStream as a chunk (anthropic-sdk-python#1472); Anthropic's "HTTP errors" page
# (https://docs.claude.com/en/api/errors) lists it as "429 - rate_limit_error: Your account has hit a rate limit".
_BY_CODE["rate_limit_error"] = StreamThrottled


def stream_error_class(code: str) -> type[StreamError]:
    """The ``StreamError`` subclass for a Bedrock error code (either spelling) or an Anthropic error type
    (``rate_limit_error``, ``overloaded_error``, ``api_error``); the base class if unknown."""
    return _BY_CODE.get(code.lower(), StreamError)


class MessagesApiError(RuntimeError):
    """The Messages API refused a request before streaming (an HTTP error with Anthropic's error body).

    ``status`` is the HTTP status, ``error_type`` Anthropic's type (``invalid_request_error``,
    ``authentication_error``, ``rate_limit_error``, ``overloaded_error``...), ``message`` the server's text.
    """

    def __init__(self, status: int, error_type: str, message: str, request_id: str | None = None,
                 model_id: str | None = None) -> None:
        self.status = status
        self.error_type = error_type
        self.message = message
        self.request_id = request_id
        self.model_id = model_id
        model = f", model {model_id}" if model_id else ""
        super().__init__(f"{error_type} (HTTP {status}{model}): {message}")

    @property
    def retryable(self) -> bool:
        return self.status in (429, 500, 503, 529) or self.error_type.lower() in RETRYABLE_CODES

    @classmethod
    def from_response(cls, status: int, content: bytes, request_id: str | None, model_id: str | None
                      ) -> MessagesApiError:
        import json

        try:
            body = json.loads(content)
            error = body["error"]
            return cls(status, str(error["type"]), str(error["message"]), request_id, model_id)
        except (ValueError, KeyError, TypeError):
            text = content[:500].decode("utf-8", "replace")
            return cls(status, "http_error", text or f"HTTP {status} without a body", request_id, model_id)


class PayloadError(ValueError):
    """A request body that Bedrock would reject. ``problems`` lists every one found.

    Each problem has ``path`` (e.g. ``messages[1].role``), ``rule`` (what is wrong) and
    ``fix`` (what to change).
    """

    def __init__(self, problems: Iterable[Any], *, model_id: str | None = None) -> None:
        self.problems: list[Any] = list(problems)
        self.model_id = model_id
        super().__init__(_format_problems(self.problems, model_id))


def _format_problems(problems: Sequence[Any], model_id: str | None) -> str:
    target = f" for {model_id}" if model_id else ""
    count = len(problems)
    head = f"{count} problem{'s' if count != 1 else ''} in the request body{target}:"
    lines = [head]
    for p in problems:
        lines.append(f"  - {p.path}: {str(p.rule).rstrip('.')}. Fix: {p.fix}")
    return "\n".join(lines)


class PreflightError(RuntimeError):
    """A first-day setup problem (credentials, region, model access, model id, body), in one sentence with the fix.

    ``reason`` names it in one word: ``end_of_life``, ``on_demand``, ``invalid``, ``access``, ``iam``,
    ``body``, or the boto3 error's name.
    """

    def __init__(self, sentence: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(sentence)

    def _render_traceback_(self) -> list[str]:
        # IPython shows this list instead of a traceback. The sentence is the whole story: a learner's
        # first error should not be forty lines of boto3 internals chained behind it.
        return [f"PreflightError: {self}"]
