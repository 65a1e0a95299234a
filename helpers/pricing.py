"""What a call cost: tokens from its usage times a dated price table (the one place prices live).

Prices are US dollars per million tokens for on-demand calls, read on ``PRICES_AS_OF`` from
``PRICE_SOURCE``. They change: check the source before budgeting, and update this table (and its date)
rather than copying figures anywhere else. Pure: no I/O.

    from helpers.pricing import cost_of
    cost_of(result.usage, model_id)          # Cost(total=0.000512, ...), printable as "$0.000512 (...)"

Usage may come from InvokeModel* (Anthropic's keys: ``input_tokens``, ``cache_read_input_tokens``,
``cache_creation_input_tokens``, ``cache_creation.ephemeral_1h_input_tokens``) or from Converse*
(``inputTokens``, ``cacheReadInputTokens``, ``cacheWriteInputTokens``). In Anthropic's usage
``input_tokens`` counts only the tokens after the last cache checkpoint; cache reads and writes are
counted apart and priced apart (BEDROCK-2026 facts, Anthropic's prompt-caching docs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from helpers.bedrock_rules import identify_model

__all__ = ["PRICES", "PRICES_AS_OF", "PRICE_SOURCE", "TIER_RATES", "TIER_SOURCE", "Price", "Usage", "Cost", "price_of",
           "usage_from", "cost_of"]

PRICES_AS_OF = date(2026, 12, 1)
PRICE_SOURCE = (
    "Anthropic's model pricing table, https://platform.claude.com/docs/en/about-claude/pricing (read 2026-12-01); "
    "Bedrock's on-demand price for these models through a global. profile is the same (AWS pricing page "
    "https://aws.amazon.com/bedrock/pricing/, Anthropic section; not fetched by this project: confirm it there)"
)

# Regional (us., eu., jp., apac., ...) and in-region calls cost about 10 % more than global. ones, from
# the 4.5 generation on (BEDROCK-2026.md, "On-demand base ids"; secondary sources agree). The exact
# factor per model is on AWS's pricing page only: unconfirmed here, kept behind this one constant.
REGIONAL_PREMIUM = 1.10
_NO_PREMIUM = {"Claude Sonnet 4", "Claude Opus 4.1"}  # earlier than the 4.5 generation


# Service tiers (the request's serviceTier; helpers/local_bedrock/model/tiers.py): each on-demand tier's rate as
# a multiple of the standard ("default") rate. What AWS says, and nothing more precise was found:
TIER_SOURCE = (
    "AWS, 'Amazon Bedrock service tiers' (https://aws.amazon.com/bedrock/service-tiers): Priority 'Standard rate + "
    "premium', Standard 'Standard rate per token', Flex 'Discounted standard model rate', Reserved a fixed price "
    "per 1K tokens-per-minute billed monthly (user guide 'Service tiers for optimizing performance and cost'); "
    "AWS's amazon-bedrock-workshop §8: Flex 'can cut 50% (model-dependent)'. The per-model figures are on "
    "https://aws.amazon.com/bedrock/pricing/ only (not fetched by this project)"
)
# flex 0.5 is the workshop's "up to 50%", model-dependent: **unconfirmed** for any one model. priority 1.75 is a
# TEACHING VALUE: AWS documents a premium but no figure was found (**unconfirmed**). Reserved is not billed per
# token, so it has no rate here.
TIER_RATES: Mapping[str, float] = {"default": 1.0, "flex": 0.5, "priority": 1.75}


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_write_5m: float  # 1.25 x input
    cache_write_1h: float  # 2 x input
    cache_read: float  # 0.1 x input (0.05 x on the 5.5 generation)

    def scaled(self, factor: float) -> Price:
        return Price(*(round(v * factor, 6) for v in (self.input, self.output, self.cache_write_5m,
                                                       self.cache_write_1h, self.cache_read)))


def _p(inp: float, out: float, read: float | None = None) -> Price:
    return Price(inp, out, inp * 1.25, inp * 2.0, inp * 0.1 if read is None else read)


# By the catalogue's model name (helpers.bedrock_rules), so every id form (base, profile, ARN) finds it.
# Retired models have no row: a call to them cannot be made, so it has no price.
PRICES: Mapping[str, Price] = {
    "Claude Haiku 4.5": _p(1.0, 5.0),
    "Claude Sonnet 4": _p(3.0, 15.0),
    "Claude Sonnet 4.5": _p(3.0, 15.0),
    "Claude Sonnet 4.6": _p(3.0, 15.0),
    "Claude Opus 4.1": _p(15.0, 75.0),
    "Claude Opus 4.5": _p(5.0, 25.0),
    "Claude Opus 4.6": _p(5.0, 25.0),
    "Claude Opus 4.7": _p(5.0, 25.0),
    "Claude Opus 4.8": _p(5.0, 25.0),
    "Claude Opus 5": _p(5.0, 25.0),
    "Claude Sonnet 5": _p(2.0, 10.0),
    "Claude Sonnet 5.5": _p(2.0, 10.0, read=0.10),
    # Prompts up to 100,000 tokens; longer prompts are billed at a higher band not modelled here.
    "Claude Haiku 5.5": _p(0.10, 0.50, read=0.01),
}


def _tier_rate(tier: str) -> float:
    if tier == "reserved":
        raise ValueError("the reserved tier is billed per 1K tokens-per-minute reserved, monthly, not per token: "
                         f"price a call as 'default', 'flex' or 'priority' ({TIER_SOURCE.split(';')[0]})")
    if tier not in TIER_RATES:
        raise ValueError(f"unknown service tier {tier!r}: use one of {', '.join(TIER_RATES)} (Bedrock's "
                         "serviceTier values; 'default' is the standard tier)")
    return TIER_RATES[tier]


def price_of(model_id: str, tier: str = "default") -> Price:
    """The price per million tokens for a call to ``model_id`` (any id form) in service ``tier``, regional
    premium included (tier rates: ``TIER_RATES``, mostly unconfirmed)."""
    rate = _tier_rate(tier)
    ref = identify_model(model_id)
    info = ref.info
    price = PRICES.get(info.name)
    if price is None:
        raise KeyError(
            f"no price for {info.name} ({model_id!r}) in helpers.pricing.PRICES (as of {PRICES_AS_OF}); "
            f"it is retired or new. Add its row from {PRICE_SOURCE.split(',')[1].strip()} with the date you read it."
        )
    regional = ref.prefix != "global" and info.name not in _NO_PREMIUM
    price = price.scaled(REGIONAL_PREMIUM) if regional else price
    return price if rate == 1.0 else price.scaled(rate)


@dataclass(frozen=True)
class Usage:
    """Token counts of one call, split the way they are billed."""

    input_tokens: int = 0  # uncached input
    output_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0


def usage_from(usage: Mapping[str, Any] | Usage) -> Usage:
    """Normalise a usage dict from InvokeModel* (Anthropic's keys) or Converse* (AWS's keys)."""
    if isinstance(usage, Usage):
        return usage
    if not isinstance(usage, Mapping):
        raise TypeError(f"usage must be a dict such as result.usage, not {type(usage).__name__}")

    def n(*keys: str) -> int:
        for key in keys:
            if usage.get(key) is not None:
                return int(usage[key])
        return 0

    written = n("cache_creation_input_tokens", "cacheWriteInputTokens", "cacheWriteInputTokenCount")
    split = usage.get("cache_creation") or {}
    one_hour = int(split.get("ephemeral_1h_input_tokens") or 0)
    return Usage(
        input_tokens=n("input_tokens", "inputTokens"),
        output_tokens=n("output_tokens", "outputTokens"),
        cache_write_5m_tokens=written - one_hour,
        cache_write_1h_tokens=one_hour,
        cache_read_tokens=n("cache_read_input_tokens", "cacheReadInputTokens", "cacheReadInputTokenCount"),
    )


@dataclass(frozen=True)
class Cost:
    """US dollars, per billed part and in total."""

    input: float
    output: float
    cache_write: float
    cache_read: float

    @property
    def total(self) -> float:
        return self.input + self.output + self.cache_write + self.cache_read

    def __str__(self) -> str:
        parts = [f"input ${self.input:.6f}", f"output ${self.output:.6f}"]
        if self.cache_write:
            parts.append(f"cache write ${self.cache_write:.6f}")
        if self.cache_read:
            parts.append(f"cache read ${self.cache_read:.6f}")
        return f"${self.total:.6f} ({', '.join(parts)}; prices as of {PRICES_AS_OF})"


def cost_of(usage: Mapping[str, Any] | Usage, model_id: str, tier: str = "default") -> Cost:
    """What one call with this ``usage`` cost on ``model_id`` in service ``tier``, at the prices of
    ``PRICES_AS_OF``."""
    u = usage_from(usage)
    p = price_of(model_id, tier)
    per = 1_000_000
    return Cost(
        input=u.input_tokens * p.input / per,
        output=u.output_tokens * p.output / per,
        cache_write=(u.cache_write_5m_tokens * p.cache_write_5m + u.cache_write_1h_tokens * p.cache_write_1h) / per,
        cache_read=u.cache_read_tokens * p.cache_read / per,
    )
