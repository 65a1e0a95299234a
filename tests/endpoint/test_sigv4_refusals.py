"""Each way a SigV4 request can be wrong, refused by a locked endpoint in the route's own error shape.

Requests are signed by botocore's real signer (``SigV4Auth``, or boto3 itself) set up wrongly; only what no
signer produces (a malformed header) is written by hand. Expected answers, written from sources:

- HTTP 403 and the error type in ``x-amzn-ErrorType`` with a JSON ``{"message": ...}`` body on Bedrock's own
  routes (capture err_expired_token_converse_2024-01: 403 ``ExpiredTokenException``, body ``{"message":
  ...}``); the Messages route answers Anthropic's shape, 401 ``authentication_error`` (Anthropic's API errors
  page: 401 authentication_error "There's an issue with your API key").
- "Credential should be scoped to correct service: '<name>'. " is AWS's wording on other services
  (aws/aws-sdk-js-v3#1831, disneystreaming/smithy4s#1568); IncompleteSignature, and "Signature expired" for a
  clock more than 15 minutes off, are in AWS's Common Errors lists ("RequestExpired: ... more than 15
  minutes after the date stamp"). The exact texts on Bedrock are unconfirmed: only their openings are checked.
- AWS's Common Errors list IncompleteSignature as 403; Bedrock's troubleshooting page says 400. The endpoint
  answers 403 (unconfirmed which is right for Bedrock Runtime).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from hashlib import sha256
from typing import Any

import boto3
import botocore.auth
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from endpoint_support import HAIKU, messages_body

from helpers.local_bedrock import LocalBedrock

KEY, SECRET = "AKIDREFUSALS", "refusal-secret"
BODY = json.dumps(messages_body("Why sign requests?", max_tokens=20)).encode()
INVOKE = f"/model/{HAIKU}/invoke"


@pytest.fixture(scope="module")
def locked() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=0, time_scale=0, verify_sigv4=(KEY, SECRET)) as running:
        yield running


def _signed(server: LocalBedrock, path: str = INVOKE, body: bytes = BODY, service: str = "bedrock",
            signer: type[SigV4Auth] = SigV4Auth, headers: dict[str, str] | None = None) -> dict[str, str]:
    """Headers botocore's signer puts on a POST to ``path`` (the request is not sent)."""
    request = AWSRequest(method="POST", url=f"{server.endpoint_url}{path}", data=body,
                         headers={"Content-Type": "application/json", **(headers or {})})
    signer(Credentials(KEY, SECRET), service, "us-east-1").add_auth(request)
    return dict(request.headers.items())


def _post(server: LocalBedrock, headers: dict[str, str], path: str = INVOKE, body: bytes = BODY) -> httpx.Response:
    return httpx.post(f"{server.endpoint_url}{path}", content=body, headers=headers, timeout=30)


def _bedrock_refusal(response: httpx.Response) -> tuple[int, str, str]:
    """(status, error type, message) of a refusal in Bedrock's shape."""
    assert set(response.json()) == {"message"}, response.text
    return response.status_code, response.headers["x-amzn-errortype"].split(":")[0], response.json()["message"]


def test_a_correctly_signed_request_passes(locked: LocalBedrock) -> None:
    assert _post(locked, _signed(locked)).status_code == 200  # the baseline every refusal below departs from


@pytest.mark.parametrize(("authorization", "names"), [
    ("AWS4-HMAC-SHA256 Credential=AKIDREFUSALS/20261206/us-east-1/bedrock/aws4_request", "Signature"),
    ("AWS4-HMAC-SHA1 Credential=AKIDREFUSALS/20261206/us-east-1/bedrock/aws4_request, SignedHeaders=host, "
     "Signature=abc", "AWS4-HMAC-SHA1"),
    ("AWS4-HMAC-SHA256 Credential=AKIDREFUSALS/us-east-1/bedrock, SignedHeaders=host, Signature=abc",
     "aws4_request"),
], ids=["missing-parts", "other-scheme", "short-scope"])
def test_a_malformed_authorization_header_is_an_incomplete_signature(locked, authorization, names) -> None:
    headers = {**_signed(locked), "Authorization": authorization}
    status, error_type, message = _bedrock_refusal(_post(locked, headers))
    assert (status, error_type) == (403, "IncompleteSignatureException")
    assert names in message
    assert locked.calls[0].request_body is None  # refused before the body was read or kept


def test_the_wrong_signing_name_is_refused_on_each_route(locked: LocalBedrock) -> None:
    # boto3's service is "bedrock-runtime", but it signs as "bedrock"; a hand-rolled client that signs with
    # the service's name gets this.
    status, error_type, message = _bedrock_refusal(_post(locked, _signed(locked, service="bedrock-runtime")))
    assert (status, error_type) == (403, "InvalidSignatureException")
    assert message.startswith("Credential should be scoped to correct service: 'bedrock'.")
    route = "/anthropic/v1/messages"
    body = json.dumps({"model": "global.anthropic.claude-sonnet-5-5", "max_tokens": 20,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    response = _post(locked, _signed(locked, route, body, service="s3"), route, body)
    assert response.status_code == 401
    error = response.json()
    assert error["type"] == "error" and error["error"]["type"] == "authentication_error"
    assert error["error"]["message"].startswith("Credential should be scoped to correct service: 'bedrock'.")


def test_a_date_that_disagrees_with_the_credential_scope_is_refused(locked: LocalBedrock) -> None:
    headers = _signed(locked)
    stamp = datetime.datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    headers["X-Amz-Date"] = (stamp + datetime.timedelta(days=1)).strftime("%Y%m%dT%H%M%SZ")  # scope keeps the day
    status, error_type, message = _bedrock_refusal(_post(locked, headers))
    assert (status, error_type) == (403, "InvalidSignatureException")
    assert message.startswith("Date in Credential scope does not match YYYYMMDD")


class _WithoutHost(SigV4Auth):
    def headers_to_sign(self, request: AWSRequest) -> Any:
        headers = super().headers_to_sign(request)
        del headers["host"]
        return headers


class _WithoutDate(SigV4Auth):
    def headers_to_sign(self, request: AWSRequest) -> Any:
        headers = super().headers_to_sign(request)
        del headers["x-amz-date"]
        return headers


@pytest.mark.parametrize(("signer", "header"), [(_WithoutHost, "host"), (_WithoutDate, "x-amz-date")])
def test_host_and_date_must_be_signed(locked, signer, header) -> None:
    headers = _signed(locked, signer=signer)
    assert header not in headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    status, error_type, message = _bedrock_refusal(_post(locked, headers))
    assert (status, error_type) == (403, "InvalidSignatureException")
    assert header in message


def test_a_payload_hash_that_is_not_the_body_is_refused(locked: LocalBedrock) -> None:
    other = json.dumps(messages_body("Something else entirely", max_tokens=20)).encode()
    headers = _signed(locked, headers={"X-Amz-Content-SHA256": sha256(other).hexdigest()})
    status, error_type, message = _bedrock_refusal(_post(locked, headers))  # BODY goes out, not `other`
    assert (status, error_type) == (403, "InvalidSignatureException")
    assert "X-Amz-Content-SHA256" in message


@pytest.mark.parametrize("minutes", [-16, 16])
def test_a_clock_more_than_15_minutes_off_is_refused(locked, monkeypatch, minutes) -> None:
    # boto3 itself, on a machine whose clock is wrong: botocore's signer reads get_current_datetime.
    skewed = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(minutes=minutes)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: skewed)
    client = boto3.client("bedrock-runtime", endpoint_url=locked.endpoint_url, region_name="us-east-1",
                          aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                          config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    with pytest.raises(ClientError) as caught:
        client.invoke_model(modelId=HAIKU, body=BODY)
    error = caught.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (403, "InvalidSignatureException")
    assert error["Error"]["Message"].startswith(f"Signature expired: {skewed:%Y%m%dT%H%M%SZ}")
    monkeypatch.undo()
    within = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(minutes=minutes // 2)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: within)
    assert client.invoke_model(modelId=HAIKU, body=BODY)["ResponseMetadata"]["HTTPStatusCode"] == 200
