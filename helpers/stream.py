"""Send a streaming request and get back a ``StreamResult`` -- on either wire.

- ``invoke_stream`` (InvokeModelWithResponseStream) and ``converse_stream`` (ConverseStream) go through a
  boto3 ``bedrock-runtime`` client and answer in AWS event-stream frames;
- ``messages_stream`` posts to the Messages API (``/anthropic/v1/messages``), signed with SigV4 by botocore or
  carrying a Bedrock API key, and answers in server-sent events.

The reading side lives in its own rooms: ``helpers.decode`` (JSON -> typed events), ``helpers.wires`` (one
reader per wire format), ``helpers.stream_result`` (the result and its error handling) and
``helpers.accumulate`` (the fold). The names below are re-exported so ``from helpers.stream import ...`` keeps
working.
"""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import ClientError

from helpers.decode import decode_chunk
from helpers.messages_api import messages_base_url, messages_stream
from helpers.stream_result import CONVERSE_STREAM, INVOKE_STREAM, MESSAGES_STREAM, StreamResult
from helpers.wires.eventstream import _from_public_iterator, stream_events

__all__ = [
    "stream_events",
    "decode_chunk",
    "StreamResult",
    "invoke_stream",
    "converse_stream",
    "messages_stream",
    "messages_base_url",
    "INVOKE_STREAM",
    "CONVERSE_STREAM",
    "MESSAGES_STREAM",
    "_from_public_iterator",
]


def _body_bytes(body: dict[str, Any] | str | bytes) -> bytes:
    if isinstance(body, dict):
        return json.dumps(body).encode()
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    raise TypeError(
        f"body must be a dict (e.g. from helpers.payloads.messages_body), a JSON str or bytes; "
        f"got {type(body).__name__}."
    )


def invoke_stream(
    client: Any, model_id: str, body: dict[str, Any] | str | bytes, *, validate: bool = False, **kwargs: Any
) -> StreamResult:
    """Send InvokeModelWithResponseStream now and return the unread ``StreamResult``.

    Errors before the stream (bad body, throttling, access) raise now, as boto3's typed
    exception with operation and model added to the message. ``validate=True`` first runs
    ``helpers.payloads.validate_body`` (raising ``PayloadError``). Other keyword arguments
    go to boto3 (``trace``, ``guardrailIdentifier``, ``performanceConfigLatency``...).
    """
    if validate:
        from helpers.payloads import validate_body

        validate_body(body, model_id)
    raw = _body_bytes(body)
    kwargs.setdefault("contentType", "application/json")
    kwargs.setdefault("accept", "application/json")
    return _open(
        INVOKE_STREAM, model_id, lambda: client.invoke_model_with_response_stream(modelId=model_id, body=raw, **kwargs)
    )


def converse_stream(client: Any, model_id: str, messages: str | list[dict[str, Any]], **kwargs: Any) -> StreamResult:
    """Send ConverseStream now and return the unread ``StreamResult``.

    ``messages`` may be a plain prompt (one user message) or Converse messages. A str
    ``system`` becomes ``[{"text": system}]``. Other keyword arguments go to boto3
    (``inferenceConfig``, ``toolConfig``, ``additionalModelRequestFields``...).
    """
    if isinstance(messages, str):
        messages = [{"role": "user", "content": [{"text": messages}]}]
    if isinstance(kwargs.get("system"), str):
        kwargs["system"] = [{"text": kwargs["system"]}]
    return _open(
        CONVERSE_STREAM, model_id, lambda: client.converse_stream(modelId=model_id, messages=messages, **kwargs)
    )


def _name_model(exc: ClientError, operation: str, model_id: str) -> None:
    """Put operation and model into a pre-stream error's message, keeping its boto3 type."""
    note = f" [operation {operation}, model {model_id}]"
    if exc.args and isinstance(exc.args[0], str) and note not in exc.args[0]:
        exc.args = (exc.args[0] + note, *exc.args[1:])


def _open(operation: str, model_id: str, send: Any) -> StreamResult:
    """Send the request (timed from just before it leaves); name operation and model on a refusal."""
    sent = time.perf_counter_ns()
    try:
        response = send()
    except ClientError as exc:
        _name_model(exc, operation, model_id)
        raise
    return StreamResult.from_response(response, model_id=model_id, operation=operation, request_sent_ns=sent)
