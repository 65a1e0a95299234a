"""Issue 23, bug 5 and the non-ASCII token: a malformed credential is Bedrock's 403 (the Messages route's
401 ``authentication_error``), never a 500, whatever bytes it carries."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest
from adversarial_support import HAIKU, KEY, Child, messages_body, still_serves
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from test_probes import _bedrock_error, _signed_headers

from helpers.local_bedrock import LocalBedrock

MODEL_PATH = f"/model/{HAIKU}/invoke"
MESSAGES_PATH = "/anthropic/v1/messages"


def _post(port: int, path: str, body: bytes, headers: dict[str, str | bytes]) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("POST", path, skip_accept_encoding=True)
        for name, value in headers.items():
            if name.lower() != "content-length":
                connection.putheader(name, value)  # bytes go out exactly as given
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _with_signature(headers: dict[str, str], signature: bytes) -> dict[str, str | bytes]:
    """The signed headers with the Signature= value replaced by raw bytes (a known key, a forged signature)."""
    authorization = headers["Authorization"].encode()
    head, _, _ = authorization.partition(b"Signature=")
    kept: dict[str, str | bytes] = {k: v for k, v in headers.items() if k != "Authorization"}
    return {**kept, "Authorization": head + b"Signature=" + signature}


@pytest.mark.parametrize("signature", ["é" * 64, "署名" * 32, "\u00ff" + "0" * 63], ids=["latin-1", "utf-8", "ff"])
def test_a_non_ascii_signature_on_invoke_model_is_a_403(child: Child, signature: str) -> None:
    body = json.dumps(messages_body()).encode()
    headers = _with_signature(_signed_headers(child, "POST", MODEL_PATH, body), signature.encode())
    status, response_headers, data = _post(child.port, MODEL_PATH, body, headers)
    assert status == 403, data
    assert _bedrock_error(response_headers, data)[0] == "InvalidSignatureException"
    still_serves(child)


@pytest.mark.parametrize("signature", ["é" * 64, "署名" * 32], ids=["latin-1", "utf-8"])
def test_a_non_ascii_signature_on_the_messages_route_is_a_401(child: Child, signature: str) -> None:
    body = json.dumps({"model": "global.anthropic.claude-sonnet-5-5", "max_tokens": 20,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = AWSRequest(method="POST", url=child.url + MESSAGES_PATH, data=body,
                         headers={"content-type": "application/json", "anthropic-version": "2023-06-01"})
    SigV4Auth(Credentials(KEY, "whatever"), "bedrock", "us-east-1").add_auth(request)
    headers = _with_signature(dict(request.headers.items()), signature.encode())
    status, _, data = _post(child.port, MESSAGES_PATH, body, headers)
    assert status == 401, data
    assert json.loads(data)["error"]["type"] == "authentication_error"
    still_serves(child)


TOKEN = "clé-de-la-salle-ünïcode"


@pytest.fixture(scope="module")
def token_locked() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=0, time_scale=0, bearer_token=TOKEN) as running:
        yield running


def test_a_non_ascii_bearer_token_sent_as_utf8_is_accepted(token_locked: LocalBedrock) -> None:
    body = json.dumps(messages_body()).encode()
    auth = b"Bearer " + TOKEN.encode("utf-8")  # what curl or httpx send for this token
    status, _, data = _post(token_locked.port, MODEL_PATH, body, {"Authorization": auth,
                                                                   "Content-Type": "application/json"})
    assert status == 200, data
    wrong = b"Bearer " + TOKEN.encode("utf-8")[:-1] + b"X"
    status, headers, data = _post(token_locked.port, MODEL_PATH, body, {"Authorization": wrong,
                                                                         "Content-Type": "application/json"})
    assert status == 403 and _bedrock_error(headers, data)[0] == "AccessDeniedException"
