"""Issue 23, bug 7: a stall fault on the Messages route ends the moment the client hangs up, as on InvokeModel,
instead of holding the socket in CLOSE-WAIT for the whole stall."""

from __future__ import annotations

import json
import socket
import time

import pytest
from adversarial_support import KEY, SECRET, Child, still_serves
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from test_probes import _back_to_baseline, _calls, _signed

PATH = "/anthropic/v1/messages"


def _request(child: Child, stream: bool) -> bytes:
    body = json.dumps({"model": "global.anthropic.claude-sonnet-5-5", "max_tokens": 20, "stream": stream,
                       "messages": [{"role": "user", "content": "stall me"}]}).encode()
    request = AWSRequest(method="POST", url=child.url + PATH, data=body,
                         headers={"content-type": "application/json", "anthropic-version": "2023-06-01"})
    SigV4Auth(Credentials(KEY, SECRET), "bedrock", "us-east-1").add_auth(request)
    head = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items() if k.lower() != "content-length")
    return (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{child.port}\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


@pytest.fixture
def before(child: Child) -> dict[str, int]:
    still_serves(child)  # warm, as test_probes' baseline
    return child.usage()


def test_a_client_leaving_a_stalled_messages_call_frees_it_at_once(child: Child, before: dict[str, int]) -> None:
    stall = json.dumps({"error": "stall", "seconds": 120, "times": 4}).encode()
    assert _signed(child, "POST", "/_local/faults", stall)[0] == 201
    try:
        for stream in (False, True, False, True):
            with socket.create_connection(("127.0.0.1", child.port)) as sock:
                sock.sendall(_request(child, stream))
                for _ in range(200):  # until the server has the call (it stalls after logging it)
                    if any(c.get("fault") for c in _calls(child)[:1]):
                        break
                    time.sleep(0.02)
        for _ in range(200):  # the server notices each hang-up, well before the 120 s stall ends
            stalled = [c for c in _calls(child)[:4] if c.get("fault")]
            if len(stalled) == 4 and all(c["done"] for c in stalled):
                break
            time.sleep(0.05)
        assert [c["operation"] for c in stalled] == ["MessagesStream", "Messages", "MessagesStream", "Messages"]
        assert all(c["done"] and c["error"] == "client disconnected" for c in stalled), stalled
    finally:
        assert _signed(child, "DELETE", "/_local/faults")[0] == 200
    _back_to_baseline(child, before)
