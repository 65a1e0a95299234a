"""Auth: open by default; --verify-sigv4 checks signatures with botocore's signer; --bearer-token checks tokens.

Every case goes through real boto3 (or the anthropic SDK, or raw HTTP for what no SDK would send).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, InvalidEndpointConfigurationError
from endpoint_support import HAIKU, messages_body, stream_chunks

from helpers.local_bedrock import LocalBedrock
from helpers.local_bedrock.door.auth import Authorizer, parse_key_pair
from helpers.local_bedrock.door.sigv4 import SignatureProblem, parse_authorization, verify

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=30)
KEY, SECRET = "AKIDLOCALTEST", "local-secret/with+base64ish=chars"


def _client(server: LocalBedrock, key: str = KEY, secret: str = SECRET, **extra: Any) -> Any:
    return boto3.client("bedrock-runtime", endpoint_url=server.endpoint_url, region_name="eu-west-1",
                        aws_access_key_id=key, aws_secret_access_key=secret, config=NO_RETRY, **extra)


def _bearer_client(server: LocalBedrock, token: str) -> Any:
    """boto3 sends a Bearer token only over HTTPS, so put it on by hand, as a TLS-terminating proxy would."""
    client = _client(server)

    def bearer(request: Any, **_: Any) -> None:
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in request.headers:
                del request.headers[name]
        request.headers["Authorization"] = f"Bearer {token}"

    client.meta.events.register_last("before-send.bedrock-runtime", bearer)
    return client


def _code(error: ClientError) -> tuple[int, str, str]:
    return (error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"],
            error.response["Error"]["Message"])


@pytest.fixture(scope="module")
def locked() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=0, time_scale=0, verify_sigv4=(KEY, SECRET)) as running:
        yield running


@pytest.fixture(scope="module")
def token_server() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=0, time_scale=0, bearer_token="room-token-123") as running:
        yield running


def test_boto3_refuses_bearer_tokens_over_plain_http(server: LocalBedrock,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Why the README recommends a room key pair (--verify-sigv4) for boto3 users on http://.
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "some-token")
    with pytest.raises(InvalidEndpointConfigurationError, match="HTTPS"):
        _client(server).invoke_model(modelId=HAIKU, body=json.dumps(messages_body()))


def test_open_by_default_accepts_any_signature_and_any_token(server: LocalBedrock) -> None:
    assert stream_chunks(_client(server, "whatever", "wrong"), messages_body())
    bearer = _bearer_client(server, "anything-at-all")
    response = bearer.invoke_model(modelId=HAIKU, body=json.dumps(messages_body()))
    assert json.loads(response["body"].read())["content"]


def test_right_key_and_secret_pass_for_every_operation_and_region(locked: LocalBedrock) -> None:
    client = _client(locked)
    chunks = stream_chunks(client, messages_body())
    assert chunks[-1]["type"] == "message_stop"
    response = client.invoke_model(modelId=HAIKU, body=json.dumps(messages_body()))
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    # The region comes from the credential scope, whatever it is.
    other = boto3.client("bedrock-runtime", endpoint_url=locked.endpoint_url, region_name="ap-southeast-2",
                         aws_access_key_id=KEY, aws_secret_access_key=SECRET, config=NO_RETRY)
    # Claude Opus 4.6 has an apac. profile (Haiku 4.5 has global., us. and eu. only).
    assert stream_chunks(other, messages_body(), model_id="apac.anthropic.claude-opus-4-6-v1")


def test_wrong_secret_is_invalid_signature(locked: LocalBedrock) -> None:
    with pytest.raises(ClientError) as caught:
        _client(locked, secret="not-the-secret").invoke_model(modelId=HAIKU, body=json.dumps(messages_body()))
    status, code, message = _code(caught.value)
    assert (status, code) == (403, "InvalidSignatureException")
    assert "signature we calculated does not match" in message
    assert locked.calls[0].error == "InvalidSignatureException"


def test_unknown_access_key_is_unrecognized_client(locked: LocalBedrock) -> None:
    with pytest.raises(ClientError) as caught:
        stream_chunks(_client(locked, key="AKIDSOMEONEELSE"), messages_body())
    status, code, message = _code(caught.value)
    assert (status, code) == (403, "UnrecognizedClientException")
    assert "security token included in the request is invalid" in message
    assert "AKIDSOMEONEELSE" in message


def test_tampered_body_fails_the_signature(locked: LocalBedrock) -> None:
    client = _client(locked)

    def tamper(request: Any, **_: Any) -> None:  # after signing, as a proxy in the middle would
        request.body = request.body.replace(b"streaming", b"STREAMING")
        request.headers["Content-Length"] = str(len(request.body))

    client.meta.events.register_last("before-send.bedrock-runtime.InvokeModel", tamper)
    with pytest.raises(ClientError) as caught:
        client.invoke_model(modelId=HAIKU, body=json.dumps(messages_body("What is streaming?")))
    assert _code(caught.value)[:2] == (403, "InvalidSignatureException")


def test_anthropic_sdk_signs_raw_colons_and_passes(locked: LocalBedrock) -> None:
    # The SDK puts ':' in the path unencoded; the signature must be checked on the path as sent.
    client = anthropic.AnthropicBedrock(base_url=locked.endpoint_url, aws_region="us-west-2",
                                        aws_access_key=KEY, aws_secret_key=SECRET, max_retries=0)
    # extra_body: the SDK 2.x would send its own dated version, which Haiku 4.5 (ARN-versioned) refuses.
    message = client.messages.create(model=HAIKU, max_tokens=50,
                                     messages=[{"role": "user", "content": "What is streaming?"}],
                                     extra_body={"anthropic_version": "bedrock-2023-05-31"})
    assert message.content
    bad = anthropic.AnthropicBedrock(base_url=locked.endpoint_url, aws_region="us-west-2",
                                     aws_access_key=KEY, aws_secret_key="nope", max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError):
        bad.messages.create(model=HAIKU, max_tokens=50, messages=[{"role": "user", "content": "hi"}])


def test_locked_sigv4_refuses_bearer_and_anonymous(locked: LocalBedrock) -> None:
    with pytest.raises(ClientError) as caught:
        _bearer_client(locked, "some-token").invoke_model(modelId=HAIKU, body=json.dumps(messages_body()))
    status, code, message = _code(caught.value)
    assert (status, code) == (403, "AccessDeniedException")
    assert "--bearer-token" in message
    raw = httpx.post(f"{locked.endpoint_url}/model/{HAIKU}/invoke", json=messages_body())
    assert raw.status_code == 403
    assert raw.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_bearer_token_checked(token_server: LocalBedrock) -> None:
    good = _bearer_client(token_server, "room-token-123")
    assert stream_chunks(good, messages_body())[-1]["type"] == "message_stop"
    raw = httpx.post(f"{token_server.endpoint_url}/model/{HAIKU}/invoke", json=messages_body(),
                     headers={"Authorization": "Bearer room-token-123"})
    assert raw.status_code == 200
    wrong = _bearer_client(token_server, "room-token-124")
    with pytest.raises(wrong.exceptions.AccessDeniedException) as caught:
        stream_chunks(wrong, messages_body())
    assert "API Key is valid" in _code(caught.value)[2]
    # A signature is not a way around the token.
    with pytest.raises(ClientError) as caught:
        stream_chunks(_client(token_server), messages_body())
    assert _code(caught.value)[:2] == (403, "UnrecognizedClientException")


def test_signature_too_old_is_refused() -> None:
    # Signed now by botocore, judged as if two hours had passed on the server's clock.
    request = AWSRequest(method="POST", url="http://127.0.0.1:9/model/m%3A0/invoke", data=b"{}",
                         headers={"Host": "127.0.0.1:9", "Content-Type": "application/json"})
    SigV4Auth(Credentials(KEY, SECRET), "bedrock", "us-east-1").add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    parsed = parse_authorization(headers["authorization"])
    verify(parsed, SECRET, "POST", b"/model/m%3A0/invoke", b"", headers, b"{}")  # fine right now
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2)
    with pytest.raises(SignatureProblem, match="Signature expired") as caught:
        verify(parsed, SECRET, "POST", b"/model/m%3A0/invoke", b"", headers, b"{}", now=later)
    assert caught.value.error_type == "InvalidSignatureException"
    with pytest.raises(SignatureProblem, match="does not match"):  # the path as sent is what was signed
        verify(parsed, SECRET, "POST", b"/model/m:0/invoke", b"", headers, b"{}")


def test_bad_configuration_is_named() -> None:
    with pytest.raises(ValueError, match="ACCESS_KEY:SECRET_KEY"):
        parse_key_pair("no-colon-here")
    with pytest.raises(ValueError, match="bearer_token"):
        Authorizer(bearer_token="  ")
    assert Authorizer(verify_sigv4="a:b:c").keys == {"a": "b:c"}
    assert Authorizer(verify_sigv4={"k1": "s1", "k2": "s2"}).locked
    assert not Authorizer().locked


def test_a_locked_endpoint_locks_its_control_routes(token_server: LocalBedrock) -> None:
    url = token_server.endpoint_url
    assert httpx.get(f"{url}/_local/health").status_code == 200  # a liveness probe needs no token
    for method, path in (("GET", "/_local/calls"), ("POST", "/_local/faults"), ("DELETE", "/_local/faults")):
        refused = httpx.request(method, url + path, json={"error": "ThrottlingException"})
        assert refused.status_code == 403, (method, path)
        assert refused.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    token = {"Authorization": "Bearer room-token-123"}
    added = httpx.post(f"{url}/_local/faults", json={"error": "ThrottlingException", "at": "request"},
                       headers=token)
    assert added.status_code == 201
    assert httpx.get(f"{url}/_local/faults", headers=token).json()[0]["error"] == "ThrottlingException"
    assert httpx.delete(f"{url}/_local/faults", headers=token).status_code == 200


def test_a_refused_body_is_never_logged_and_the_connection_stays_usable(locked: LocalBedrock) -> None:
    body = json.dumps(messages_body("secret prompt " * 1000)).encode()
    with httpx.Client(base_url=locked.endpoint_url) as http:  # one keep-alive connection for all three
        refused = http.post(f"/model/{HAIKU}/invoke", content=body, headers={"content-type": "application/json"})
        assert refused.status_code == 403
        forged = _client(locked, secret="wrong").invoke_model
        with pytest.raises(ClientError):
            forged(modelId=HAIKU, body=body)
        again = http.post(f"/model/{HAIKU}/invoke", content=b"{}", headers={"content-type": "application/json"})
        assert again.status_code == 403
    assert [c.request_body for c in locked.calls[:3]] == [None, None, None]


def test_a_large_signed_body_passes_on_its_hash(locked: LocalBedrock) -> None:
    body = json.dumps(messages_body("long prompt " * 50_000))
    response = _client(locked).invoke_model(modelId=HAIKU, body=body)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    logged = locked.calls[0].request_body
    assert logged["size"] == len(body.encode()) and "long prompt" in logged["head"]
