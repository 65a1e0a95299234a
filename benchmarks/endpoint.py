"""Endpoint figures for one stream: frames per second at time_scale 0, send error when paced.

``endpoint.frames_per_s_single``: one ~20,000-frame stream at time_scale 0, read by a lean client that
only pulls bytes off the socket (no decoding), so the figure is the server's, not a parser's.
``endpoint.send_error_ms_p99_single``: one paced stream at time_scale 1; the 99th percentile of
(actual send offset - scheduled offset) as the server recorded them.
``endpoint.client_track_error_ms_median``: one paced stream (time_scale 1) read through boto3; the median over
frames of |client receive offset - scheduled offset|, both relative to the first frame (what a learner sees
of the pacing; was a bound in tests/endpoint/test_endpoint_pacing.py).
``endpoint.keepalive_invoke_ms_median``: 30 InvokeModel calls one after another on one keep-alive HTTP/1.1
connection (http.client, time_scale 0); the median round trip. Without TCP_NODELAY on the server's side
each answer waits for the client's delayed ACK (about 40 ms on Linux).
"""

from __future__ import annotations

import http.client
import json
import socket
import statistics
import time

from helpers.local_bedrock import LocalBedrock

# A model with a large output limit (Haiku 4.5: 64k tokens, through its global profile), and the responder's
# markers for an exact-length, one-token-per-delta answer (see helpers.local_bedrock.model.answers).
LONG_MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
FRAMES_WANTED = 20_000


def _body(tokens: int, chunk: int = 1) -> bytes:
    return json.dumps({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": tokens + 100,
        "messages": [{"role": "user", "content": f"[[length={tokens}]] [[chunk={chunk}]] Tell me about rivers."}],
    }).encode()


def _read_stream(port: int, model_id: str, body: bytes) -> tuple[int, float]:
    """POST and read the whole response as raw bytes; returns (bytes read, seconds)."""
    request = (
        f"POST /model/{model_id}/invoke-with-response-stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", port)) as sock:
        start = time.perf_counter()
        sock.sendall(request)
        total = 0
        while chunk := sock.recv(1 << 20):
            total += len(chunk)
        return total, time.perf_counter() - start


def frames_per_second(runs: int = 3) -> float:
    with LocalBedrock(seed=0, time_scale=0) as server:
        body = _body(FRAMES_WANTED)
        _read_stream(server.port, LONG_MODEL, _body(200))  # warm-up
        best = 0.0
        for _ in range(runs):
            _, seconds = _read_stream(server.port, LONG_MODEL, body)
            frames = len(server.calls[0].sent_ms)
            best = max(best, frames / seconds)
        return best


def send_error_p99_ms(tokens: int = 300) -> float:
    with LocalBedrock(seed=0, time_scale=1.0) as server:
        _read_stream(server.port, LONG_MODEL, _body(tokens))
        record = server.calls[0]
    errors = sorted(sent - planned for sent, planned in zip(record.sent_ms, record.schedule_ms, strict=True))
    return errors[min(len(errors) - 1, int(0.99 * len(errors)))]


def client_track_error_ms_median(tokens: int = 60) -> float:
    with LocalBedrock(seed=3, time_scale=1.0) as server:
        response = server.client().invoke_model_with_response_stream(modelId=LONG_MODEL, body=_body(tokens))
        seen = []
        for event in response["body"]:
            seen.append(time.perf_counter() * 1000)
            json.loads(event["chunk"]["bytes"])
        planned = server.calls[0].schedule_ms
    errors = [abs((c - seen[0]) - (p - planned[0])) for c, p in zip(seen, planned, strict=True)]
    return statistics.median(errors)


def keepalive_invoke_ms_median(calls: int = 30) -> float:
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                       "messages": [{"role": "user", "content": "What is streaming?"}]}).encode()
    path = f"/model/{LONG_MODEL}/invoke"
    with LocalBedrock(seed=0, time_scale=0) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            times = []
            for i in range(calls + 1):
                start = time.perf_counter()
                connection.request("POST", path, body=body, headers={"content-type": "application/json"})
                response = connection.getresponse()
                response.read()
                assert response.status == 200, response.status
                if i:  # the first call opens the connection
                    times.append((time.perf_counter() - start) * 1000)
        finally:
            connection.close()
    return statistics.median(times)


def run() -> dict[str, float]:
    return {
        "endpoint.frames_per_s_single": round(frames_per_second(), 1),
        "endpoint.send_error_ms_p99_single": round(send_error_p99_ms(), 3),
        "endpoint.client_track_error_ms_median": round(client_track_error_ms_median(), 3),
        "endpoint.keepalive_invoke_ms_median": round(keepalive_invoke_ms_median(), 3),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
