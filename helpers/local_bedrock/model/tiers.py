"""Service tiers: which tier a request asked for, Bedrock's answer to a tier it does not know, and each tier's pace.

Where a caller names the tier (botocore 1.44's bedrock-runtime service model, ``data/bedrock-runtime/2023-09-30``):

- InvokeModel and InvokeModelWithResponseStream: the ``serviceTier`` parameter, sent as the header
  ``X-Amzn-Bedrock-Service-Tier`` (shape ``ServiceTierType``) and echoed in the same response header;
- Converse and ConverseStream: ``serviceTier={"type": ...}`` in the body (shape ``ServiceTier``), echoed as
  ``serviceTier`` in the Converse answer and in ConverseStream's ``metadata`` event (AWS's workshop §8 reads
  ``metadata.serviceTier.type``, BEDROCK-2026 December update).

``ServiceTierType`` is the enum ``priority | default | flex | reserved`` (also AWS's API reference page
"ServiceTier", https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ServiceTier.html).
botocore does not check enum values before sending, so a wrong tier reaches the server.

Pure: data in, data out.
"""

from __future__ import annotations

import dataclasses

from .pacing import LatencyModel

__all__ = ["SERVICE_TIERS", "TIER_HEADER", "TIER_PACE", "TierPace", "paced_for", "tier_header_problem"]

# botocore 1.44's ServiceTierType enum, in its order.
SERVICE_TIERS = ("priority", "default", "flex", "reserved")
TIER_HEADER = "x-amzn-bedrock-service-tier"


def tier_header_problem(value: str) -> str | None:
    """Bedrock's ValidationException text for a header tier outside the enum, or None when it is one of them.

    The wording is AWS's usual constraint message for a member outside its enum, as a capture shows it for
    ``modelId`` ("1 validation error detected: Value '…' at 'modelId' failed to satisfy constraint: Member must
    satisfy …", captures/error_texts_from_issues.json, amazon-bedrock-client-for-mac#11). That Bedrock says it
    this way for ``serviceTier`` is **unconfirmed**: no real answer to a wrong tier was found.
    """
    if value in SERVICE_TIERS:
        return None
    shown = value if len(value) <= 40 else value[:37] + "..."
    return (f"1 validation error detected: Value '{shown}' at 'serviceTier' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(SERVICE_TIERS)}]")


@dataclasses.dataclass(frozen=True)
class TierPace:
    """How a tier bends the endpoint's latency model: multipliers on its times and rates, and its jitter."""

    first_byte: float  # x the time to the first byte (a queue before the model starts)
    tokens_per_s: float  # x the output rate
    first_byte_jitter: float | None = None  # replaces the model's spread (None: keep it)
    token_jitter: float | None = None


# TEACHING VALUES, **unconfirmed**: AWS publishes no latency figures per tier. What AWS does say:
# priority requests "move ahead of standard requests" with "up to 25% better output tokens per second"
# (https://aws.amazon.com/bedrock/service-tiers, Priority Tier); flex "can handle longer processing times"
# and queues behind other traffic (the same page; BEDROCK-2026 December update, workshop §8). So: priority
# starts sooner and writes 25 % faster; flex waits in a longer, much less predictable queue and writes
# slower; reserved is capacity set aside for the account, paced like priority here. Change them here only.
TIER_PACE: dict[str, TierPace] = {
    "default": TierPace(1.0, 1.0),
    "priority": TierPace(0.6, 1.25, first_byte_jitter=0.15, token_jitter=0.2),
    "reserved": TierPace(0.6, 1.25, first_byte_jitter=0.15, token_jitter=0.2),
    "flex": TierPace(4.0, 0.6, first_byte_jitter=0.85, token_jitter=0.6),
}


def paced_for(model: LatencyModel, tier: str | None) -> LatencyModel:
    """The endpoint's latency model as ``tier`` serves it (no tier, or ``default``: the model unchanged)."""
    pace = TIER_PACE.get(tier or "default", TIER_PACE["default"])
    if pace == TIER_PACE["default"]:
        return model
    return dataclasses.replace(
        model,
        first_byte_s=model.first_byte_s * pace.first_byte,
        tokens_per_s=model.tokens_per_s * pace.tokens_per_s,
        first_byte_jitter=model.first_byte_jitter if pace.first_byte_jitter is None else pace.first_byte_jitter,
        token_jitter=model.token_jitter if pace.token_jitter is None else pace.token_jitter,
    )
