"""The /_local/ control routes: health, the call log and faults over plain HTTP."""

from __future__ import annotations

import http.client
import json

import pytest
from endpoint_support import HAIKU, messages_body, stream_chunks


def _http(server, method: str, path: str, body: object | None = None) -> tuple[int, object]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    payload = None if body is None else json.dumps(body)
    conn.request(method, path, payload, {"Content-Type": "application/json"})
    response = conn.getresponse()
    data = json.loads(response.read() or b"null")
    conn.close()
    return response.status, data


def test_health(server) -> None:
    assert _http(server, "GET", "/_local/health") == (200, {"status": "ok", "seed": 0, "time_scale": 0.0, "workers": 1})


def test_calls_newest_first_with_schedule_and_send_offsets(server, client) -> None:
    stream_chunks(client, messages_body("first call", max_tokens=5))
    client.invoke_model(modelId=HAIKU, body=json.dumps(messages_body("second call", max_tokens=5)))
    status, calls = _http(server, "GET", "/_local/calls")
    assert status == 200
    newest, previous = calls[0], calls[1]
    assert newest["operation"] == "InvokeModel"
    assert newest["request_body"]["messages"][0]["content"] == "second call"
    assert previous["operation"] == "InvokeModelWithResponseStream"
    assert previous["model_id"] == HAIKU
    assert len(previous["schedule_ms"]) == len(previous["sent_ms"]) > 3
    assert previous["status"] == 200 and previous["error"] is None
    assert [c["id"] for c in calls] == sorted((c["id"] for c in calls), reverse=True)
    assert [c.id for c in server.calls][:2] == [newest["id"], previous["id"]]


def test_faults_over_http(server, client) -> None:
    status, added = _http(server, "POST", "/_local/faults", {"error": "ThrottlingException", "at": "request"})
    assert status == 201 and added["error"] == "ThrottlingException"
    status, added = _http(server, "POST", "/_local/faults", [
        {"error": "modelStreamErrorException", "at": "event", "after": 1},
        {"error": "drop", "at": "event", "after": 2, "model": "anthropic.claude-3-5-haiku-20241022-v1:0"},
    ])
    assert status == 201 and len(added) == 2
    status, listed = _http(server, "GET", "/_local/faults")
    assert [f["error"] for f in listed] == ["ThrottlingException", "modelStreamErrorException", "drop"]
    assert server.faults.list() == listed
    with pytest.raises(client.exceptions.ThrottlingException):
        client.invoke_model(modelId=HAIKU, body=json.dumps(messages_body(max_tokens=5)))
    assert _http(server, "DELETE", "/_local/faults") == (200, {"cleared": True})
    assert _http(server, "GET", "/_local/faults") == (200, [])
    assert stream_chunks(client, messages_body(max_tokens=5))


def test_bad_fault_over_http_is_a_400_that_says_why(server) -> None:
    status, body = _http(server, "POST", "/_local/faults", {"error": "Throttled"})
    assert status == 400 and "ThrottlingException" in body["message"]
    status, body = _http(server, "POST", "/_local/faults", None)
    assert status == 400 and "must be JSON" in body["message"]
    assert _http(server, "GET", "/_local/faults") == (200, [])


def test_unknown_control_route_lists_the_real_ones(server) -> None:
    status, body = _http(server, "GET", "/_local/nothing")
    assert status == 404 and "/_local/faults" in body["message"]
