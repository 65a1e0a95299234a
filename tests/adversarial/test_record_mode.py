"""Issue 23, bug 4: in record mode (``--upstream aws``) the region a learner signs with never becomes any host
but a real Bedrock Runtime one; a region outside AWS's syntax is a 400 before any connection is opened."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from adversarial_support import HAIKU, messages_body
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from test_probes import _bedrock_error, _send

from helpers.local_bedrock import LocalBedrock


@pytest.fixture
def trap() -> Iterator[socket.socket]:
    """A listener on loopback standing for the host a forged region would point the endpoint at."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.5)
    yield listener
    listener.close()


@pytest.fixture
def recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalBedrock]:
    # Made-up credentials stand for the instructor's: they must never leave toward a host a learner chose.
    for name, value in {"AWS_ACCESS_KEY_ID": "AKIAINSTRUCTOR0000000", "AWS_SECRET_ACCESS_KEY": "instructor-secret",
                        "AWS_SESSION_TOKEN": "instructor-session-token", "AWS_CONFIG_FILE": str(tmp_path / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                        "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    with LocalBedrock(seed=0, time_scale=0, record=tmp_path / "room.jsonl", upstream="aws") as running:
        yield running


def _signed_for(server: LocalBedrock, region: str, body: bytes) -> dict[str, str]:
    path = f"/model/{HAIKU}/invoke"
    request = AWSRequest(method="POST", url=server.endpoint_url + path, data=body,
                         headers={"content-type": "application/json"})
    SigV4Auth(Credentials("learner", "learner-secret"), "bedrock", region).add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("forged", ["x@127.0.0.1:{port}?", "127.0.0.1:{port}#",
                                    "us-east-1.amazonaws.com@127.0.0.1:{port}#"])
def test_a_forged_region_is_a_400_and_opens_no_connection(recording: LocalBedrock, trap: socket.socket,
                                                          forged: str) -> None:
    region = forged.format(port=trap.getsockname()[1])
    body = json.dumps(messages_body()).encode()
    path = f"/model/{HAIKU}/invoke"

    class _Child:  # what test_probes' _send needs
        port = recording.port

    status, headers, data = _send(_Child(), "POST", path, body, _signed_for(recording, region, body))
    assert status == 400, data
    assert _bedrock_error(headers, data)[0] == "ValidationException"
    with pytest.raises(TimeoutError):
        trap.accept()[0].close()  # nobody came


def test_a_forged_upstream_region_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="not an AWS region"):
        LocalBedrock(seed=0, time_scale=0, upstream="aws", upstream_region="evil.example.com#").start()


def test_a_recorded_error_names_no_one(tmp_path: Path) -> None:
    # An upstream refusal naming the caller, as AWS words an access denial for an SSO user (the identity here
    # is made up).
    named = ("User: arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123abcd/jane.doe@example.com "
             "is not authorized to perform: bedrock:InvokeModel; contact jane.doe@example.com")
    cassette = tmp_path / "room.jsonl"
    with LocalBedrock(seed=0, time_scale=0) as upstream:
        upstream.faults.add({"error": "AccessDeniedException", "at": "request", "message": named})
        with LocalBedrock(seed=0, time_scale=0, record=cassette, upstream=upstream.endpoint_url) as recorder:
            with pytest.raises(Exception, match="not authorized"):
                recorder.client().invoke_model(modelId=HAIKU, body=json.dumps(messages_body()))
    written = cassette.read_text()
    assert "not authorized to perform" in written  # the error itself is kept
    assert "jane.doe" not in written and "example.com" not in written and "123456789012" not in written
