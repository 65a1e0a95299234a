"""Pacing: the schedule is seeded and scaled, the server never sends early, clients see its rhythm."""

from __future__ import annotations

import json
import random
import statistics
import time

import pytest
from endpoint_support import HAIKU, messages_body

from helpers.local_bedrock import LatencyModel, LocalBedrock
from helpers.local_bedrock.model.pacing import rng_for, schedule


def test_schedule_is_seeded_monotonic_and_scaled() -> None:
    tokens = [0, 0, 1, 2, 1, 3, 0, 0, 0]
    model = LatencyModel()
    first = schedule(tokens, model, 1.0, rng_for(0, "a"))
    assert first == schedule(tokens, model, 1.0, rng_for(0, "a"))
    assert first != schedule(tokens, model, 1.0, rng_for(1, "a"))
    assert all(b >= a for a, b in zip(first, first[1:], strict=False))
    assert 0.3 * 1000 <= first[0] <= 0.5 * 1000  # ~0.4 s to the first byte, +-25 %
    halved = schedule(tokens, model, 0.5, rng_for(0, "a"))
    assert halved == pytest.approx([x / 2 for x in first], abs=0.01)
    assert schedule(tokens, model, 0, random.Random(0)) == [0.0] * len(tokens)


def test_schedule_follows_the_token_rate() -> None:
    model = LatencyModel(first_byte_s=0.0, token_jitter=0.0, first_byte_jitter=0.0, tokens_per_s=50)
    assert schedule([0, 5, 5], model, 1.0, random.Random(0)) == [0.0, 100.0, 200.0]


def test_a_configured_start_and_rate_are_what_the_schedule_holds() -> None:
    # Lesson 4's slow starter: 1.0 s to the first byte, no start jitter, 400 tokens/s (+-35 % per gap).
    model = LatencyModel(first_byte_s=1.0, first_byte_jitter=0.0, tokens_per_s=400.0)
    tokens = [0, 0] + [2] * 200 + [0, 0, 0]  # message_start, block start, 200 two-token deltas, the end
    rates = []
    for seed in range(50):
        offsets = schedule(tokens, model, 1.0, rng_for(seed, "slow starter"))
        assert offsets[0] == 1000.0  # the first byte: exactly the configured start (an empty prompt)
        first_text, last_text = offsets[2], offsets[201]
        assert 1000.0 + 0.5 + 5 * 0.65 <= first_text <= 1000.0 + 0.5 + 5 * 1.35  # block start, then 2 tokens
        rates.append(199 * 2 / ((last_text - first_text) / 1000))  # tokens after the first text, over its span
    # Each gap is 2/400 s = 5 ms on average, so every seed's rate is near 400/s and their mean is 400/s.
    assert all(380 <= r <= 420 for r in rates)
    assert statistics.mean(rates) == pytest.approx(400, rel=0.01)


def test_latency_model_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="tokens_per_s"):
        LatencyModel(tokens_per_s=0)
    with pytest.raises(ValueError, match="known keys"):
        LatencyModel.coerce({"ttft": 1})
    with pytest.raises(ValueError, match="time_scale"):
        LocalBedrock(time_scale=-1)


def test_paced_stream_follows_its_recorded_schedule() -> None:
    with LocalBedrock(seed=3, time_scale=1.0) as server:
        client = server.client()
        response = client.invoke_model_with_response_stream(
            modelId=HAIKU, body=json.dumps(messages_body("[[length=60]] Tell me about rivers.", max_tokens=100)))
        seen = []
        for event in response["body"]:
            seen.append(time.perf_counter() * 1000)
            json.loads(event["chunk"]["bytes"])
        record = server.calls[0]
    planned, sent = record.schedule_ms, record.sent_ms
    assert len(seen) == len(planned) == len(sent) > 20
    # the server never sends before a frame is due (sleeps never end early)
    assert all(s >= p for s, p in zip(sent, planned, strict=True))
    # How closely the client's receive times track the schedule is a timing, measured in
    # benchmarks/endpoint.py (endpoint.client_track_error_ms_median), not asserted here.
    assert planned == sorted(planned) and planned[-1] - planned[0] > 200  # the schedule spreads the frames out


def test_invoke_model_waits_for_the_whole_answer() -> None:
    with LocalBedrock(seed=1, time_scale=1.0, latency={"first_byte_s": 0.05, "tokens_per_s": 400}) as server:
        client = server.client()
        response = client.invoke_model(modelId=HAIKU, body=json.dumps(messages_body(max_tokens=40)))
        latency = int(response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-invocation-latency"])
        record = server.calls[0]
    assert record.sent_ms[0] >= record.schedule_ms[0] > 50
    assert latency == round(record.sent_ms[0])


def test_metrics_are_what_the_server_measured(server, client) -> None:
    response = client.invoke_model_with_response_stream(modelId=HAIKU, body=json.dumps(messages_body()))
    chunks = [json.loads(e["chunk"]["bytes"]) for e in response["body"]]
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    record = server.calls[0]
    assert metrics["firstByteLatency"] == round(record.sent_ms[0])
    assert metrics["invocationLatency"] == round(record.sent_ms[-1])
    assert metrics["inputTokenCount"] == chunks[0]["message"]["usage"]["input_tokens"]


def test_a_longer_prompt_waits_longer_for_the_first_byte() -> None:
    # The model reads the prompt before it writes: first-byte time grows with the input.
    model = LatencyModel(first_byte_jitter=0.0, token_jitter=0.0)
    short = schedule([0, 1, 1], model, 1.0, random.Random(0), input_tokens=20)
    long = schedule([0, 1, 1], model, 1.0, random.Random(0), input_tokens=5_020)
    assert long[0] - short[0] == pytest.approx(5_000 / model.input_tokens_per_s * 1000)
    assert long[2] - long[0] == pytest.approx(short[2] - short[0])  # the writing pace is unchanged
    with pytest.raises(ValueError, match="input_tokens_per_s"):
        LatencyModel(input_tokens_per_s=0)


def test_the_endpoint_schedules_the_prompt_reading_time() -> None:
    firsts = []
    with LocalBedrock(seed=0, time_scale=0.01) as server:
        client = server.client()
        for prompt in ("Hi", "context " * 3000 + "Hi"):
            body = json.dumps(messages_body(prompt, max_tokens=5))
            list(client.invoke_model_with_response_stream(modelId=HAIKU, body=body)["body"])
            firsts.append((server.calls[0].schedule_ms[0], server.calls[0].input_tokens))
    (short_ms, short_in), (long_ms, long_in) = firsts
    assert long_in > short_in + 2000
    # Even at the extremes of the first-byte jitter, 3,000 more prompt tokens come out later.
    assert long_ms > short_ms
