"""Service tiers through real boto3: accepted, refused when unknown, echoed, and each served at its own pace.

Shapes from botocore 1.44's bedrock-runtime model: ``serviceTier`` is a header parameter of InvokeModel*
(``X-Amzn-Bedrock-Service-Tier``, enum priority|default|flex|reserved) and a ``{"type": ...}`` structure on
Converse*, echoed in ConverseStream's ``metadata`` event (AWS workshop §8). The pace is compared on the
schedule the endpoint planned (its call log), never on the clock.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

import pytest
from endpoint_support import HAIKU, messages_body

from helpers.local_bedrock import LocalBedrock

# Prompts no lesson uses; a time scale this small plans the real schedule but sends it in milliseconds.
PROMPTS = [f"[[length=80]] Describe the tides of harbour number {n}." for n in range(8)]
SCALE = 0.001


def _stream_invoke(client: Any, prompt: str, tier: str | None) -> dict:
    extra = {"serviceTier": tier} if tier else {}
    response = client.invoke_model_with_response_stream(
        modelId=HAIKU, body=json.dumps(messages_body(prompt, max_tokens=300)), **extra)
    for _ in response["body"]:
        pass
    return response


def _planned(server: LocalBedrock, tier: str | None, prompts: list[str] = PROMPTS) -> list[list[float]]:
    """The schedule (ms, at SCALE) the endpoint planned for each prompt, streamed in ``tier``."""
    client = server.client()
    for prompt in prompts:
        _stream_invoke(client, prompt, tier)
    records = server.calls[: len(prompts)][::-1]  # the call log lists the newest first
    assert [r.service_tier for r in records] == [tier] * len(prompts)
    return [r.schedule_ms for r in records]


@pytest.fixture(scope="module")
def paced() -> Any:
    with LocalBedrock(seed=11, time_scale=SCALE) as server:
        yield server


def test_invoke_stream_echoes_the_tier_header(paced: LocalBedrock) -> None:
    client = paced.client()
    for tier in ("priority", "default", "flex", "reserved"):
        assert _stream_invoke(client, "Name three kinds of cloud.", tier)["serviceTier"] == tier


def test_converse_stream_echoes_the_tier_in_metadata(paced: LocalBedrock) -> None:
    client = paced.client()
    response = client.converse_stream(modelId=HAIKU, serviceTier={"type": "flex"},
                                      messages=[{"role": "user", "content": [{"text": "Why do owls hoot?"}]}])
    metadata = [event["metadata"] for event in response["stream"] if "metadata" in event]
    assert metadata[0]["serviceTier"] == {"type": "flex"}
    assert paced.calls[0].service_tier == "flex"


def test_unknown_tier_header_is_bedrocks_validation_error(paced: LocalBedrock) -> None:
    client = paced.client()
    with pytest.raises(client.exceptions.ValidationException) as caught:
        _stream_invoke(client, "Name three kinds of cloud.", "turbo")
    assert caught.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'turbo' at 'serviceTier' failed to satisfy constraint: "
        "Member must satisfy enum value set: [priority, default, flex, reserved]")
    with pytest.raises(client.exceptions.ValidationException, match="serviceTier"):
        client.invoke_model(modelId=HAIKU, body=json.dumps(messages_body()), serviceTier="standard")


def test_unknown_converse_tier_names_the_member_and_the_enum(paced: LocalBedrock) -> None:
    client = paced.client()
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.converse_stream(modelId=HAIKU, serviceTier={"type": "standard"},
                               messages=[{"role": "user", "content": [{"text": "Hello"}]}])
    message = caught.value.response["Error"]["Message"]
    assert "serviceTier.type" in message and "[priority, default, flex, reserved]" in message


def test_flex_waits_longer_and_less_predictably_priority_starts_and_writes_sooner(paced: LocalBedrock) -> None:
    default = _planned(paced, "default")
    flex = _planned(paced, "flex")
    priority = _planned(paced, "priority")
    first = {name: [s[0] for s in runs] for name, runs in (("default", default), ("flex", flex),
                                                           ("priority", priority))}
    # Every prompt: flex's first byte is planned later than default's, priority's sooner.
    assert all(f > d > p for f, d, p in zip(first["flex"], first["default"], first["priority"], strict=True))
    # Flex queues unpredictably: its first-byte times spread wider, relative to their mean, than default's.
    spread = {k: statistics.pstdev(v) / statistics.mean(v) for k, v in first.items()}
    assert spread["flex"] > spread["default"] > spread["priority"]
    # Writing (first byte to last frame) is slower on flex and faster on priority, prompt by prompt.
    writing = {name: [s[-1] - s[0] for s in runs] for name, runs in (("default", default), ("flex", flex),
                                                                     ("priority", priority))}
    assert all(f > d > p for f, d, p in zip(writing["flex"], writing["default"], writing["priority"], strict=True))


def test_no_tier_is_paced_as_default_and_each_tier_is_deterministic_per_seed(paced: LocalBedrock) -> None:
    prompts = PROMPTS[:3]
    assert _planned(paced, None, prompts) == _planned(paced, "default", prompts)
    with LocalBedrock(seed=11, time_scale=SCALE) as twin:
        assert _planned(twin, "flex", prompts) == _planned(paced, "flex", prompts)
    with LocalBedrock(seed=12, time_scale=SCALE) as other:
        assert _planned(other, "flex", prompts) != _planned(paced, "flex", prompts)


def test_the_course_helpers_keep_the_tier_of_a_converse_stream(paced: LocalBedrock) -> None:
    from helpers.events import ConverseMetadata
    from helpers.stream import converse_stream

    result = converse_stream(paced.client(), HAIKU, "Name a tidal river.", serviceTier={"type": "priority"}).consume()
    metadata = [e for e in result.events if isinstance(e, ConverseMetadata)]
    assert metadata[0].service_tier == {"type": "priority"}
    untiered = converse_stream(paced.client(), HAIKU, "Name a tidal river.").consume()
    assert [e.service_tier for e in untiered.events if isinstance(e, ConverseMetadata)] == [None]
