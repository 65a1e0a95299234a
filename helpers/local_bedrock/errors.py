"""Bedrock's error vocabulary: which exception travels with which status code.

Pre-stream errors are plain HTTP responses (status, ``x-amzn-errortype``, ``{"message": ...}``);
in-stream errors are exception frames whose ``:exception-type`` is the lowerCamel member name of the
operation's event-stream union. botocore's service model is the referee for both tables.
"""

from __future__ import annotations

import json

from helpers.bedrock_rules.messages import MODEL_ERROR_PREFIX, prompt_too_long

# The eleven exceptions InvokeModel / InvokeModelWithResponseStream can answer with before streaming.
STATUS_BY_ERROR: dict[str, int] = {
    "ValidationException": 400,
    "ServiceQuotaExceededException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ModelTimeoutException": 408,
    "ModelErrorException": 424,
    "ModelStreamErrorException": 424,
    "ThrottlingException": 429,
    "ModelNotReadyException": 429,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
}

# Members of ResponseStream (InvokeModelWithResponseStream) that are exceptions.
STREAM_EXCEPTIONS: tuple[str, ...] = (
    "internalServerException",
    "modelStreamErrorException",
    "validationException",
    "throttlingException",
    "modelTimeoutException",
    "serviceUnavailableException",
)

# Messages close to what Bedrock says, so a lesson on errors reads true.
DEFAULT_MESSAGES: dict[str, str] = {
    "ValidationException": "The request is invalid (fault injected by the local endpoint).",
    "ServiceQuotaExceededException": "Your request exceeds the service quota for your account.",
    "AccessDeniedException": "You don't have access to the model with the specified model ID.",
    "ResourceNotFoundException": "The requested resource could not be found.",
    "ModelTimeoutException": "The request took too long to process. Processing time exceeded the model timeout.",
    "ModelErrorException": "The model returned an error while processing the request.",
    "ModelStreamErrorException": "The model stream returned an error.",
    "ThrottlingException": "Too many requests, please wait before trying again.",
    "ModelNotReadyException": "The model is not ready to serve inference requests. Try again later.",
    "InternalServerException": "The server encountered an internal error.",
    "ServiceUnavailableException": "The service is temporarily unavailable. Try again later.",
}


# Real x-amzn-ErrorType values carry the service's namespace after a colon
# (captures err_invalid_model_*: "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/");
# botocore and the anthropic SDK keep only the part before the colon.
_BEDROCK_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"


def wire_error_type(error_type: str) -> str:
    """The x-amzn-ErrorType header for a Bedrock service exception (others are sent as they are)."""
    return error_type + _BEDROCK_SUFFIX if error_type in STATUS_BY_ERROR else error_type


def stream_member(name: str) -> str:
    """``ThrottlingException`` -> ``throttlingException`` (the event-stream member name)."""
    return name[:1].lower() + name[1:]


def class_name(member: str) -> str:
    """``throttlingException`` -> ``ThrottlingException``."""
    return member[:1].upper() + member[1:]


class BedrockError(Exception):
    """An error answered as a plain HTTP response before any stream starts."""

    def __init__(self, status: int, error_type: str, message: str, extra: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.extra = extra or {}

    @classmethod
    def named(cls, error_type: str, message: str | None = None) -> BedrockError:
        return cls(STATUS_BY_ERROR[error_type], error_type, message or DEFAULT_MESSAGES[error_type])

    def body(self) -> bytes:
        return json.dumps({"message": self.message, **self.extra}).encode()


class ContextWindowExceeded(BedrockError):
    """An input longer than the model's context window (the catalogue's ``context_tokens``): 400 before
    any answer, as Bedrock refuses it (see ``prompt_too_long`` for the sources of the text)."""

    def __init__(self, input_tokens: int, limit: int) -> None:
        self.anthropic_message = prompt_too_long(input_tokens, limit)  # the Messages API route's text
        super().__init__(400, "ValidationException", MODEL_ERROR_PREFIX + self.anthropic_message)
