"""Record mode: pass each call on to real Bedrock (or any Bedrock-compatible URL), answer the learner with
what comes back as it arrives, and write the exchange to a cassette.

The upstream request is signed by botocore (``SigV4Auth``, service ``bedrock``) with the credentials of
the machine running the endpoint: the learner's own, from the usual chain (environment, profile, SSO).
The learner's incoming signature is never forwarded or written. The region is, in order: the one given
(``--upstream-region``), the one the learner's client signed for, the session's default, us-east-1.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import ssl
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer, EventStreamMessage

from ..door.sigv4 import SERVICE, SignatureProblem, parse_authorization
from ..errors import BedrockError
from .calls import CallLog, CallRecord
from .cassettes import (
    KEPT_HEADERS,
    KEPT_RESPONSE_HEADERS,
    STREAMING,
    CassetteWriter,
    Exchange,
    Replayer,
    decode_chunk_payload,
    readable_body,
    serve_steps,
)

_SUFFIX = {
    "InvokeModel": "invoke",
    "InvokeModelWithResponseStream": "invoke-with-response-stream",
    "Converse": "converse",
    "ConverseStream": "converse-stream",
}
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
# The regions whose Bedrock Runtime host is bedrock-runtime.<region>.amazonaws.com: the "aws" and
# "aws-us-gov" partitions' regionRegex in botocore/data/endpoints.json, with \w+ narrowed to letters. The
# region comes from a learner's signature: anything else built into a host name could point the
# instructor's credentials at any server (issue 23, bug 4).
_AWS_REGION = re.compile(r"(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d{1,2}|us-gov-[a-z]+-\d{1,2}", re.ASCII)


def check_region(region: str) -> str:
    """``region`` when it is an AWS region's name; else a 400 ``ValidationException`` (nothing is sent)."""
    if not _AWS_REGION.fullmatch(region):
        shown = region if len(region) <= 40 else region[:37] + "..."
        raise BedrockError(400, "ValidationException",
                           f"{shown!r} is not an AWS region: record mode forwards only to "
                           "bedrock-runtime.<region>.amazonaws.com. Sign for a region such as us-east-1.")
    return region


def _default_region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


class Upstream:
    """Where record mode sends calls: ``"aws"`` (the real service) or an endpoint URL."""

    def __init__(self, target: str, region: str | None = None) -> None:
        if target != "aws":
            parts = urlsplit(target)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"upstream: expected 'aws' or an endpoint URL such as http://127.0.0.1:8001, "
                                 f"got {target!r}")
        self.target = target.rstrip("/")
        if region is not None and target == "aws":
            try:
                check_region(region)
            except BedrockError as error:
                raise ValueError(f"upstream region: {error.message}") from None
        self.region = region
        self._credentials: Any = None
        self._looked_up = False

    @property
    def is_loopback(self) -> bool:
        return self.target != "aws" and (urlsplit(self.target).hostname or "") in _LOOPBACK

    def base_url(self, region: str) -> str:
        if self.target == "aws":
            return f"https://bedrock-runtime.{check_region(region)}.amazonaws.com"
        return self.target

    def region_for(self, headers: dict[str, str]) -> str:
        if self.region:
            return self.region
        try:
            return parse_authorization(headers.get("authorization", "")).region
        except SignatureProblem:
            pass
        return _default_region() or _session_region() or "us-east-1"

    def credentials(self) -> Credentials | None:
        if not self._looked_up:  # once: a boto3 session costs tens of ms, and it refreshes what it found
            import boto3

            self._credentials = boto3.Session().get_credentials()
            self._looked_up = True
        if self._credentials is not None:
            return self._credentials.get_frozen_credentials()
        if self.is_loopback:  # a local endpoint upstream takes any signature
            return Credentials("local", "local")
        return None

    def signed_headers(self, url: str, region: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
        credentials = self.credentials()
        if credentials is None:
            token = os.environ.get("AWS_BEARER_TOKEN_BEDROCK")
            if token and url.startswith("https://"):
                return {**headers, "Authorization": f"Bearer {token}"}
            raise BedrockError(403, "UnrecognizedClientException",
                               "Record mode forwards calls to Bedrock with this machine's AWS credentials, and "
                               "none were found. Run `aws configure` (or `aws sso login`), or export "
                               "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, then restart the endpoint.")
        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        SigV4Auth(credentials, SERVICE, region).add_auth(request)
        return dict(request.headers.items())


def _session_region() -> str | None:
    import boto3

    return boto3.Session().region_name


def _error_type(response: httpx.Response, payload: Any) -> str:
    # AWS may append a documentation URL after a colon: "ThrottlingException:http://...".
    named = response.headers.get("x-amzn-errortype", "").split(":", 1)[0]
    if not named and isinstance(payload, dict):
        named = str(payload.get("__type", "")).rsplit("#", 1)[-1]
    return named or f"HTTP{response.status_code}"


def _message_of(payload: Any, raw: bytes) -> str:
    if isinstance(payload, dict):
        for key in ("message", "Message"):
            if isinstance(payload.get(key), str):
                return payload[key]
    return raw[:2000].decode("utf-8", "replace")


def step_from_frame(message: EventStreamMessage) -> dict:
    """One decoded frame -> a cassette step (without its ``ms``)."""
    kind = message.headers.get(":message-type")
    if kind == "event":
        event = message.headers.get(":event-type", "")
        if event == "chunk":
            return {"chunk": decode_chunk_payload(message.payload)}
        data = json.loads(message.payload) if message.payload else {}
        data.pop("p", None)  # padding only hides lengths; it means nothing to replay
        return {"event": event, "data": data}
    payload = json.loads(message.payload) if message.payload else {}
    member = message.headers.get(":exception-type") or message.headers.get(":error-code") or "unknownError"
    error = {"where": "stream", "status": 200, "type": member, "message": _message_of(payload, message.payload)}
    error.update({k: v for k, v in payload.items() if k not in ("message", "Message")})
    return {"error": error}


class Recorder:
    """Proxies every Bedrock Runtime call upstream; writes each completed exchange when ``writer`` is set."""

    def __init__(self, upstream: Upstream, writer: CassetteWriter | None, calls: CallLog) -> None:
        self.upstream = upstream
        self.writer = writer
        self.calls = calls
        # Building a TLS context costs tens of milliseconds: once here, not inside every recorded offset.
        self._tls = ssl.create_default_context()

    async def serve(self, operation: str, model_id: str, headers: dict[str, str], body: bytes, receive: Any,
                    send: Any, record: CallRecord, t0: float) -> None:
        region = self.upstream.region_for(headers)
        url = f"{self.upstream.base_url(region)}/model/{quote(model_id, safe='')}/{_SUFFIX[operation]}"
        kept = {k: v for k, v in headers.items() if k in KEPT_HEADERS}
        out = {"Content-Type": headers.get("content-type", "application/json"), **kept}
        signed = self.upstream.signed_headers(url, region, out, body)
        exchange = Exchange(operation, model_id, readable_body(body), kept)
        loop = asyncio.get_running_loop()
        complete = False

        def stamp(step: dict) -> tuple[float, dict]:
            ms = round((loop.time() - t0) * 1000, 3)
            step = {"ms": ms, **step}
            exchange.steps.append(step)
            return ms, step

        async def steps() -> AsyncIterator[tuple[float, dict]]:
            nonlocal complete
            timeout = httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=10.0)
            async with httpx.AsyncClient(timeout=timeout, verify=self._tls) as client:
                try:
                    async with client.stream("POST", url, content=body, headers=signed) as response:
                        if response.status_code != 200:
                            raw = await response.aread()
                            payload = readable_body(raw)
                            complete = True  # the learner's side stops here; the exchange is whole
                            yield stamp({"error": {"where": "request", "status": response.status_code,
                                                   "type": _error_type(response, payload),
                                                   "message": _message_of(payload, raw)}})
                        elif operation not in STREAMING:
                            raw = await response.aread()
                            kept_response = {k: v for k, v in response.headers.items()
                                             if k.lower() in KEPT_RESPONSE_HEADERS}
                            complete = True
                            yield stamp({"response": readable_body(raw), "headers": kept_response})
                        else:
                            buffer = EventStreamBuffer()
                            async for part in response.aiter_raw():
                                buffer.add_data(part)
                                for message in buffer:
                                    step = step_from_frame(message)
                                    # An exception frame is the stream's last word: the exchange is whole even
                                    # if the learner hangs up the moment it arrives.
                                    complete = complete or "error" in step
                                    yield stamp(step)
                except httpx.RequestError as error:
                    if not exchange.steps:
                        raise BedrockError(503, "ServiceUnavailableException",
                                           f"The local endpoint could not reach its upstream "
                                           f"{self.upstream.base_url(region)}: {error!r}. Check the network, "
                                           "or the --upstream URL.") from None
                    complete = True
                    yield stamp({"drop": True})  # the upstream broke off: so will the learner's stream
            complete = True

        pieces = steps()
        try:
            await serve_steps(operation, pieces, receive, send, self.calls, record)
        finally:
            exchange.end_ms = (loop.time() - t0) * 1000
            try:
                if complete and self.writer is not None:
                    # Handed to a thread at once, before anything else is awaited: the learner may have its
                    # answer (and stop the server) while the upstream is still closing. Stopping cancels this
                    # task, but a write already in the executor runs to its end (asyncio.run waits for it).
                    await asyncio.shield(loop.run_in_executor(None, self.writer.write, exchange))
            finally:
                await pieces.aclose()  # closes the upstream connection even when the learner left early


def make_passthrough(*, record: str | os.PathLike | None, replay: str | os.PathLike | None,
                     upstream: str | None, upstream_region: str | None, time_scale: float,
                     calls: CallLog) -> Recorder | Replayer | None:
    """The record/replay/proxy answerer the options ask for, or None to answer from the local model."""
    if replay is not None:
        if record is not None or upstream is not None:
            raise ValueError("replay cannot be combined with record or upstream: replay answers from the "
                             "cassette alone, with no network")
        return Replayer(replay, time_scale, calls)
    if record is not None and upstream is None:
        raise ValueError("record needs an upstream to record from: upstream='aws' for real Bedrock "
                         "(--upstream aws), or the URL of another Bedrock Runtime endpoint")
    if upstream is None:
        return None
    return Recorder(Upstream(upstream, upstream_region), CassetteWriter(record) if record else None, calls)
