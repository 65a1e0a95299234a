"""helpers.pricing: cost per call from usage, with cache discounts and the regional premium.

The end-to-end test streams a cached system prompt twice through real boto3 against the local endpoint
and prices both answers from their own usage: the write costs more than the plain input would have, the
read much less.
"""

from __future__ import annotations

import pytest

from helpers.local_bedrock import LocalBedrock
from helpers.pricing import PRICES, PRICES_AS_OF, cost_of, price_of, usage_from
from helpers.stream import invoke_stream

GLOBAL_HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"


def test_haiku_4_5_through_a_global_profile_costs_one_and_five_dollars_per_million() -> None:
    cost = cost_of({"input_tokens": 1_000_000, "output_tokens": 1_000_000}, GLOBAL_HAIKU)
    assert (cost.input, cost.output, cost.total) == (1.0, 5.0, 6.0)
    assert f"prices as of {PRICES_AS_OF}" in str(cost)


def test_regional_profiles_and_base_ids_carry_the_premium_global_does_not() -> None:
    assert price_of("us.anthropic.claude-haiku-4-5-20251001-v1:0").input == pytest.approx(1.10)
    assert price_of("eu.anthropic.claude-sonnet-4-6").output == pytest.approx(16.5)
    assert price_of("anthropic.claude-sonnet-4-6").input == pytest.approx(3.3)  # in-region
    assert price_of("global.anthropic.claude-sonnet-4-6").input == 3.0


def test_cache_writes_and_reads_are_priced_apart_in_both_usage_spellings() -> None:
    invoke = {"input_tokens": 10, "output_tokens": 0, "cache_creation_input_tokens": 3000,
              "cache_creation": {"ephemeral_5m_input_tokens": 2000, "ephemeral_1h_input_tokens": 1000},
              "cache_read_input_tokens": 5000}
    u = usage_from(invoke)
    assert (u.cache_write_5m_tokens, u.cache_write_1h_tokens, u.cache_read_tokens) == (2000, 1000, 5000)
    cost = cost_of(invoke, GLOBAL_HAIKU)
    assert cost.cache_write == pytest.approx((2000 * 1.25 + 1000 * 2.0) / 1e6)
    assert cost.cache_read == pytest.approx(5000 * 0.10 / 1e6)
    converse = {"inputTokens": 10, "outputTokens": 7, "cacheWriteInputTokens": 3000, "cacheReadInputTokens": 5000}
    assert usage_from(converse).cache_write_5m_tokens == 3000
    assert cost_of(converse, GLOBAL_HAIKU).cache_read == cost.cache_read


def test_a_retired_model_has_no_price_and_the_error_says_where_to_add_one() -> None:
    with pytest.raises(KeyError, match="Claude 3 Haiku.*helpers.pricing.PRICES"):
        price_of("anthropic.claude-3-haiku-20240307-v1:0")
    with pytest.raises(TypeError, match="usage must be a dict"):
        cost_of([1, 2], GLOBAL_HAIKU)  # type: ignore[arg-type]


def test_every_priced_model_is_in_the_catalogue() -> None:
    from helpers.bedrock_rules import MODELS

    names = {m.name for m in MODELS.values()}
    assert set(PRICES) <= names, set(PRICES) - names


def test_a_cached_system_prompt_costs_more_once_then_far_less() -> None:
    system = [{"type": "text", "text": "You answer questions about rivers. " * 900,
               "cache_control": {"type": "ephemeral"}}]
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 40, "system": system,
            "messages": [{"role": "user", "content": "Name a river."}]}
    with LocalBedrock(seed=0, time_scale=0.0) as server:
        client = server.client()
        first = invoke_stream(client, GLOBAL_HAIKU, body).consume()
        second = invoke_stream(client, GLOBAL_HAIKU, body).consume()
    written, read = first.usage["cache_creation_input_tokens"], second.usage["cache_read_input_tokens"]
    assert written == read > 4096  # above Haiku 4.5's minimum, so it was cached
    first_cost, second_cost = cost_of(first.usage, GLOBAL_HAIKU), cost_of(second.usage, GLOBAL_HAIKU)
    uncached_input = (written + first.usage["input_tokens"]) * 1.0 / 1e6
    assert first_cost.input + first_cost.cache_write > uncached_input
    assert second_cost.input + second_cost.cache_read < uncached_input / 5


def test_service_tiers_price_flex_at_half_and_priority_at_a_premium() -> None:
    # Workshop §8: Flex "can cut 50%"; AWS: Priority is "Standard rate + premium" (figure unconfirmed: 1.75x).
    usage = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}
    assert cost_of(usage, GLOBAL_HAIKU, tier="default").total == 6.0
    assert cost_of(usage, GLOBAL_HAIKU, tier="flex").total == pytest.approx(3.0)
    assert cost_of(usage, GLOBAL_HAIKU, tier="priority").total == pytest.approx(10.5)
    assert price_of("us.anthropic.claude-haiku-4-5-20251001-v1:0", "flex").input == pytest.approx(0.55)


def test_reserved_and_unknown_tiers_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="tokens-per-minute"):
        cost_of({"output_tokens": 10}, GLOBAL_HAIKU, tier="reserved")
    with pytest.raises(ValueError, match="unknown service tier 'standard'.*'default' is the standard tier"):
        price_of(GLOBAL_HAIKU, "standard")
