"""Issue 23, weak point: roles for keys. With an --instructor-key, a learner's key calls models but cannot read
other learners' prompts (/_local/calls) or change their calls (/_local/faults); the instructor's key can."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from adversarial_support import HAIKU, messages_body
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from helpers.local_bedrock import LocalBedrock

LEARNER, TEACHER = ("learner", "learner-secret"), ("teacher", "teacher-secret")


@pytest.fixture(scope="module")
def room() -> Iterator[LocalBedrock]:
    with LocalBedrock(seed=0, time_scale=0, verify_sigv4=":".join(LEARNER),
                      instructor_keys=":".join(TEACHER)) as running:
        yield running


def _control(room: LocalBedrock, key: tuple[str, str], method: str, path: str, body: bytes = b"") -> httpx.Response:
    request = AWSRequest(method=method, url=room.endpoint_url + path, data=body,
                         headers={"content-type": "application/json"})
    SigV4Auth(Credentials(*key), "bedrock", "us-east-1").add_auth(request)
    return httpx.request(method, room.endpoint_url + path, content=body, headers=dict(request.headers.items()))


def test_a_learner_key_calls_models_but_not_the_control_routes(room: LocalBedrock) -> None:
    learner = room.client(aws_access_key_id=LEARNER[0], aws_secret_access_key=LEARNER[1])
    answer = json.loads(learner.invoke_model(modelId=HAIKU, body=json.dumps(messages_body()))["body"].read())
    assert answer["type"] == "message"
    fault = json.dumps({"error": "ThrottlingException"}).encode()
    for method, path, body in (("GET", "/_local/calls", b""), ("POST", "/_local/faults", fault),
                               ("DELETE", "/_local/calls", b""), ("GET", "/_local/faults", b"")):
        response = _control(room, LEARNER, method, path, body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.headers["x-amzn-errortype"].startswith("AccessDeniedException")
    # Nothing the learner tried reached anyone: the next call is answered.
    answer = json.loads(learner.invoke_model(modelId=HAIKU, body=json.dumps(messages_body()))["body"].read())
    assert answer["type"] == "message"


def test_the_instructor_key_reaches_the_control_routes(room: LocalBedrock) -> None:
    assert _control(room, TEACHER, "GET", "/_local/calls").status_code == 200
    fault = json.dumps({"error": "ThrottlingException", "model": "nobody"}).encode()
    assert _control(room, TEACHER, "POST", "/_local/faults", fault).status_code == 201
    assert _control(room, TEACHER, "DELETE", "/_local/faults").status_code == 200
    assert httpx.get(room.endpoint_url + "/_local/health").status_code == 200
