"""Send a request to the Messages API on Bedrock (``POST {base}/anthropic/v1/messages``) and stream it as SSE.

boto3 has no operation for this route, so the request is built here: the body as the Messages API wants it
(the model inside, ``"stream": true``, no ``anthropic_version`` key -- that travels as the
``anthropic-version`` header), signed with botocore's ``SigV4Auth`` (signing name ``bedrock`` on
bedrock-runtime, ``bedrock-mantle`` on the mantle host) or carrying a Bedrock API key as a Bearer token, and
sent with httpx. The answer is read by ``helpers.wires.sse`` into the same ``StreamResult`` as the event
stream gives.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import get_session

from helpers.errors import MessagesApiError
from helpers.stream_result import MESSAGES_STREAM, StreamResult
from helpers.wires.sse import SseWire

__all__ = ["messages_stream", "messages_base_url", "API_VERSION"]

API_VERSION = "2023-06-01"  # Anthropic's Messages API version header; the anthropic SDK 2.x sends 2026-10-21
_TIMEOUT = httpx.Timeout(120.0, connect=5.0)
_http: httpx.Client | None = None


def messages_base_url(client_or_url: Any) -> str:
    """``…/anthropic`` on the host a boto3 ``bedrock-runtime`` client (or an endpoint URL) talks to."""
    url = client_or_url if isinstance(client_or_url, str) else client_or_url.meta.endpoint_url
    url = url.rstrip("/")
    return url if url.endswith("/anthropic") else f"{url}/anthropic"


def _shared_http() -> httpx.Client:
    global _http
    if _http is None:
        _http = httpx.Client(timeout=_TIMEOUT)
    return _http


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def _credentials(credentials: Any, url: str) -> Credentials:
    if isinstance(credentials, Credentials):
        return credentials
    if isinstance(credentials, tuple | list) and len(credentials) in (2, 3):
        return Credentials(*credentials)
    if credentials is not None:
        raise TypeError("credentials must be a botocore Credentials, an (access_key, secret_key[, token]) "
                        f"tuple, or None to use the default AWS credential chain; got {type(credentials).__name__}")
    found = get_session().get_credentials()
    if found is not None:
        return found
    if _is_loopback(url):
        return Credentials("local", "local")  # the local endpoint accepts any signature unless locked
    raise MessagesApiError(0, "authentication_error", "No AWS credentials found to sign the request: configure "
                           "them (aws configure, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) or pass api_key= "
                           "(a Bedrock API key).")


def _request_body(model_id: str, body: dict[str, Any] | str | bytes) -> bytes:
    if isinstance(body, bytes | bytearray | str):
        body = json.loads(body)
    if not isinstance(body, dict):
        raise TypeError(f"body must be a dict (e.g. from helpers.payloads.messages_body), JSON str or bytes; "
                        f"got {type(body).__name__}")
    # The InvokeModel body's version key is a header on this route; the model goes in.
    fields = {k: v for k, v in body.items() if k not in ("anthropic_version", "anthropic_beta")}
    return json.dumps({"model": model_id, **fields, "stream": True}).encode()


def messages_stream(
    model_id: str,
    body: dict[str, Any] | str | bytes,
    *,
    base_url: str,
    api_key: str | None = None,
    credentials: Any = None,
    region: str = "us-east-1",
    service: str = "bedrock",
    anthropic_version: str = API_VERSION,
    betas: Sequence[str] = (),
    http: httpx.Client | None = None,
) -> StreamResult:
    """Send the Messages API request now and return the unread ``StreamResult`` (operation ``MessagesStream``).

    ``body`` may be the same dict ``invoke_stream`` takes: its ``anthropic_version`` key is dropped (the
    header says the version) and ``anthropic_beta`` becomes the ``anthropic-beta`` header unless ``betas``
    is given. Signed with SigV4 (``credentials``, else the default AWS chain; placeholders on loopback)
    unless ``api_key`` is given. A refusal before the stream raises ``MessagesApiError`` with Anthropic's
    error type and the HTTP status.
    """
    url = f"{messages_base_url(base_url)}/v1/messages"
    raw = _request_body(model_id, body)
    if not betas and isinstance(body, dict) and isinstance(body.get("anthropic_beta"), list):
        betas = body["anthropic_beta"]
    headers = {"content-type": "application/json", "accept": "text/event-stream",
               "anthropic-version": anthropic_version}
    if betas:
        headers["anthropic-beta"] = ",".join(betas)
    if api_key is not None:
        headers["authorization"] = f"Bearer {api_key}"
    else:
        signed = AWSRequest(method="POST", url=url, data=raw, headers=headers)
        SigV4Auth(_credentials(credentials, url), service, region).add_auth(signed)
        headers = dict(signed.headers.items())
    client = http or _shared_http()
    request = client.build_request("POST", url, content=raw, headers=headers)
    sent = time.perf_counter_ns()
    response = client.send(request, stream=True)
    if response.status_code != 200:
        response.read()
        response.close()
        raise MessagesApiError.from_response(response.status_code, response.content,
                                             response.headers.get("request-id"), model_id)
    return StreamResult(model_id=model_id, operation=MESSAGES_STREAM, request_sent_ns=sent,
                        wire=SseWire(response))
