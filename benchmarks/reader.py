"""Client-side cost per stream event: the helpers vs a plain boto3 loop vs the anthropic SDK.

All three read the same 20,000-delta answer from the local endpoint at time_scale 0, over
real HTTP on loopback, in one run:

- ``reader.us_per_event.boto3_plain``: ``for event in response["body"]: json.loads(event["chunk"]["bytes"])``
  -- the loop in AWS's own examples, with no accumulation at all;
- ``reader.us_per_event.helpers``: ``invoke_stream`` iterated live (typed events, receipt
  stamps, accumulation), then the final snapshot;
- ``reader.us_per_event.anthropic_sdk``: ``AnthropicBedrock(...).messages.stream()``, iterated,
  then ``get_final_message()``;
- ``reader.us_per_event.sse_helpers``: the same answer over the Messages API's SSE wire
  (``helpers.stream.messages_stream``, SigV4-signed), iterated live, then the final snapshot;
- ``reader.us_per_event.sse_anthropic_sdk``: ``Anthropic(base_url=..., api_key=...).messages.stream()`` on
  the same SSE route, iterated, then ``get_final_message()``.

Per-event time is measured from the first event's arrival to the end (final message
built), divided by the events after the first: at time_scale 0 the endpoint plans and
encodes the whole answer before its first byte, and that server time is not the reader's
cost. Each reader runs several times, interleaved, and the medians are reported.
``reader.anthropic_sdk_over_helpers`` is the SDK's figure divided by the helpers'; on SSE,
``reader.sse_anthropic_sdk_over_sse_helpers`` (target: at least 3) and ``reader.sse_helpers_over_helpers``
(the SSE reader's cost per event over the event-stream reader's; target: at most 1).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from helpers.local_bedrock import LocalBedrock
from helpers.stream import invoke_stream, messages_stream

# Output limit above 20,000 tokens, and served on both wires (InvokeModel through its profile id, and the
# Messages API), so every reader gets the same answer.
MODEL = "global.anthropic.claude-sonnet-5-5"
DELTAS = 20_000
RUNS = 5

_KEY = "test-access-key"
_SECRET = "test-secret-key"
_REGION = "us-east-1"


def _prompt(tokens: int) -> str:
    return f"[[length={tokens}]] [[chunk=1]] Tell me about rivers."


def _body(tokens: int) -> dict[str, Any]:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": tokens + 100,
        "messages": [{"role": "user", "content": _prompt(tokens)}],
    }


def _boto3_plain(client: Any, tokens: int) -> tuple[int, float]:
    response = client.invoke_model_with_response_stream(modelId=MODEL, body=json.dumps(_body(tokens)))
    count, first = 0, 0.0
    for event in response["body"]:
        json.loads(event["chunk"]["bytes"])
        if count == 0:
            first = time.perf_counter()
        count += 1
    return count, time.perf_counter() - first


def _helpers(client: Any, tokens: int) -> tuple[int, float]:
    result = invoke_stream(client, MODEL, _body(tokens))
    count, first = 0, 0.0
    for _event in result:
        if count == 0:
            first = time.perf_counter()
        count += 1
    snapshot = result.snapshot
    elapsed = time.perf_counter() - first
    assert snapshot.stop_reason == "end_turn" and snapshot.text
    return count, elapsed


def _anthropic(sdk: Any, tokens: int) -> tuple[int, float]:
    count, first = 0, 0.0
    with sdk.messages.stream(
        model=MODEL,
        max_tokens=tokens + 100,
        messages=[{"role": "user", "content": _prompt(tokens)}],
        # This SDK version fills in a first-party anthropic_version when none is given; Bedrock's is pinned.
        extra_body={"anthropic_version": "bedrock-2023-05-31"},
    ) as stream:
        for _event in stream:
            if count == 0:
                first = time.perf_counter()
            count += 1
        message = stream.get_final_message()
    elapsed = time.perf_counter() - first
    assert message.stop_reason == "end_turn"
    return count, elapsed


def _sse_helpers(base_url: str, tokens: int) -> tuple[int, float]:
    result = messages_stream(MODEL, _body(tokens), base_url=base_url, credentials=(_KEY, _SECRET), region=_REGION)
    count, first = 0, 0.0
    for _event in result:
        if count == 0:
            first = time.perf_counter()
        count += 1
    snapshot = result.snapshot
    elapsed = time.perf_counter() - first
    assert snapshot.stop_reason == "end_turn" and snapshot.text
    return count, elapsed


def _sse_anthropic(sdk: Any, tokens: int) -> tuple[int, float]:
    count, first = 0, 0.0
    with sdk.messages.stream(
        model=MODEL, max_tokens=tokens + 100, messages=[{"role": "user", "content": _prompt(tokens)}]
    ) as stream:
        for _event in stream:
            if count == 0:
                first = time.perf_counter()
            count += 1
        message = stream.get_final_message()
    elapsed = time.perf_counter() - first
    assert message.stop_reason == "end_turn"
    return count, elapsed


def _per_event_us(reader: Callable[[Any, int], tuple[int, float]], target: Any, tokens: int) -> float:
    count, seconds = reader(target, tokens)
    if count < tokens:
        raise RuntimeError(f"expected at least {tokens} events, got {count}: is the responder's [[chunk=1]] honoured?")
    return seconds / (count - 1) * 1e6


def run(deltas: int = DELTAS, runs: int = RUNS) -> dict[str, float]:
    from anthropic import Anthropic, AnthropicBedrock

    with LocalBedrock(seed=0, time_scale=0.0) as server:
        client = server.client(aws_access_key_id=_KEY, aws_secret_access_key=_SECRET, region_name=_REGION)
        sdk = AnthropicBedrock(
            base_url=server.endpoint_url,
            aws_access_key=_KEY,
            aws_secret_key=_SECRET,
            aws_region=_REGION,
            max_retries=0,
        )
        sse_sdk = Anthropic(base_url=server.anthropic_base_url, api_key="local", max_retries=0)
        readers: dict[str, tuple[Callable[[Any, int], tuple[int, float]], Any]] = {
            "boto3_plain": (_boto3_plain, client),
            "helpers": (_helpers, client),
            "anthropic_sdk": (_anthropic, sdk),
            "sse_helpers": (_sse_helpers, server.anthropic_base_url),
            "sse_anthropic_sdk": (_sse_anthropic, sse_sdk),
        }
        for reader, target in readers.values():  # warm-up: connections, imports, caches
            reader(target, 500)
        samples: dict[str, list[float]] = {name: [] for name in readers}
        for _ in range(runs):
            for name, (reader, target) in readers.items():
                samples[name].append(_per_event_us(reader, target, deltas))
    figures = {f"reader.us_per_event.{name}": statistics.median(values) for name, values in samples.items()}
    figures["reader.anthropic_sdk_over_helpers"] = (
        figures["reader.us_per_event.anthropic_sdk"] / figures["reader.us_per_event.helpers"]
    )
    figures["reader.sse_anthropic_sdk_over_sse_helpers"] = (
        figures["reader.us_per_event.sse_anthropic_sdk"] / figures["reader.us_per_event.sse_helpers"]
    )
    figures["reader.sse_helpers_over_helpers"] = (
        figures["reader.us_per_event.sse_helpers"] / figures["reader.us_per_event.helpers"]
    )
    return figures


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:40s} {value:10.2f}")
