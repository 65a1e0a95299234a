"""Every Claude model Bedrock has served, as data: one row per model, one edit when AWS changes one.

A row says what Bedrock accepts for that model (id forms, body rules, limits) and where it is in its
lifecycle. The rules in :mod:`.body` and the local endpoint read these rows; nothing else in the course
keeps its own copy of a model fact. Each row's ``sources`` names where its facts come from, and
``unconfirmed`` lists the facts no primary source confirmed (built as the closest known behaviour).

Sources named below (short keys, expanded in ``SOURCES``): the Anthropic docs' model tables for
Bedrock, AWS model cards and lifecycle pages, real Bedrock responses captured in other projects' test
suites, and error texts users pasted into public issues.

Pure: standard library only, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Literal

__all__ = [
    "CROSS_REGION_PREFIXES",
    "DEFAULT_MODEL_ID",
    "MODELS",
    "SOURCES",
    "Integration",
    "Lifecycle",
    "ModelInfo",
    "SamplingRule",
    "ThinkingMode",
    "current_models",
]

Integration = Literal["arn_versioned", "messages_api"]
Lifecycle = Literal["Active", "Legacy", "EOL"]
# "any": temperature, top_p and top_k freely; "temperature_xor_top_p": not both (4.5 models on);
# "defaults_only": no non-default sampling value at all (4.7 and later); "fixed_or_unset": temperature only 1.0
# and top_p only 0.99, not both, never top_k (Fable 5.2 and Mythos 5.2, their AWS model cards).
SamplingRule = Literal["any", "temperature_xor_top_p", "defaults_only", "fixed_or_unset"]
# "budget": {"type": "enabled", "budget_tokens": N}; "adaptive": {"type": "adaptive"} (+ output_config.effort);
# "always_on": thinks without being asked (Haiku 5.5).
ThinkingMode = Literal["budget", "adaptive", "always_on"]

# Inference-profile prefixes Bedrock uses for Anthropic models (system-defined cross-region profiles).
CROSS_REGION_PREFIXES = ("global.", "us.", "eu.", "jp.", "apac.", "au.")

# The course's default: the cheapest current model on the ARN-versioned path, through its global profile.
DEFAULT_MODEL_ID = "global.anthropic.claude-haiku-4-5-20251001-v1:0"

SOURCES: Mapping[str, str] = MappingProxyType({
    "anthropic-bedrock-legacy": (
        "Anthropic docs, 'Claude on Amazon Bedrock (Opus 4.6 and earlier)' model table, late 2026"
    ),
    "anthropic-bedrock": "Anthropic docs, 'Claude in Amazon Bedrock (Opus 4.7 and later)', late 2026",
    "aws-card": "AWS Bedrock model card for the model (user guide, 2026)",
    "aws-lifecycle": "AWS Bedrock user guide, 'Model lifecycle (Legacy)' tables",
    "aws-quickstart": "AWS 'What is Amazon Bedrock' quickstart (2026): invoke_model/converse with the bare id",
    "aws-caching": "AWS Bedrock user guide, 'Prompt caching' supported-models table",
    "anthropic-caching": "Anthropic docs, prompt caching minimum lengths",
    "anthropic-params": "Anthropic docs, sampling and thinking parameters per model",
    "issue-eol": (
        "error pasted in aws-solutions-library-samples/accelerated-intelligent-document-processing-on-aws#708 "
        "(2026-08)"
    ),
    "issue-on-demand": "errors pasted in terricain/aioboto3#352 and anthropics/claude-code#110",
    "educative-3-5-sonnet": "educative.io newsletter quoting AWS release notes: Claude 3.5 Sonnet EOL 2026-03-01",
    "bitslovers-3-7-sonnet": "bitslovers.com 'Bedrock model lifecycle': Claude 3.7 Sonnet EOL 2026-04-28 (third party)",
    "capture-v2": "capture im_claude-v2_messages_2025-02 (model 'claude-2.0')",
    "capture-3-sonnet": "capture im_claude-3-sonnet_2024-03 (model 'claude-3-sonnet-28k-20240229')",
    "capture-3-5-haiku": "capture im_claude-3-5-haiku_prompt_cache_2025-03 (model 'claude-3-5-haiku-20241022')",
    "course": "the course's own earlier table (no newer source found)",
    "third-party-ids": "model ids as used by several public projects (OpenClaw docs, litellm tests), 2026",
    "aws-card-5-2": (
        "AWS Bedrock model cards for Claude Fable 5.2 and Claude Mythos 5.2 (BEDROCK-2026 December update): "
        "launched 2026-11-09, EOL not before 2027-11-09, 1M context, 128K output, sampling, adaptive thinking, "
        "preserved thinking, ids anthropic.claude-fable-5-2 and us.anthropic.claude-fable-5-2"
    ),
    "aws-data-retention": (
        "AWS (BEDROCK-2026 December update): models from Fable 5 on need the account's per-Region data-retention "
        "mode (bedrock PutAccountDataRetention); with 'none' Bedrock blocks the request"
    ),
    "anthropic-sdk-2-15": "anthropic SDK 2.15.0 changelog: Sonnet 4.5 left Anthropic's API on 2026-11-30",
})


@dataclass(frozen=True)
class ModelInfo:
    """What the course knows about one Claude model on Bedrock (one row of the catalogue)."""

    base_id: str  # foundation-model id, e.g. "anthropic.claude-haiku-4-5-20251001-v1:0"
    name: str  # display name, e.g. "Claude Haiku 4.5"
    anthropic_name: str  # the "model" a response carries, e.g. "claude-haiku-4-5-20251001"
    api: Literal["messages", "text_completion"]
    integration: Integration
    profiles: tuple[str, ...]  # inference-profile prefixes that exist, without the dot: ("global", "us")
    on_demand: bool  # may the base id (or its foundation-model ARN) be called on demand?
    context_tokens: int
    max_output_tokens: int
    thinking: tuple[ThinkingMode, ...] = ()  # modes accepted
    thinking_deprecated: tuple[ThinkingMode, ...] = ()  # accepted, but deprecated by Anthropic
    thinking_removed: tuple[ThinkingMode, ...] = ()  # rejected with a model-specific message
    effort_levels: tuple[str, ...] = ()  # output_config.effort values; () = effort not supported
    default_effort: str | None = None
    sampling: SamplingRule = "any"
    cache_min_tokens: int | None = None  # minimum tokens per cache checkpoint; None = no prompt caching
    supports_images: bool = True
    legacy_since: date | None = None  # entered Bedrock's Legacy state
    eol: date | None = None  # end of life on Bedrock (most regions)
    # Mappings take no part in hashing, so rows stay usable as dict keys and set members.
    eol_by_region: Mapping[str, date] = field(default_factory=dict, hash=False)  # AWS's per-region exceptions
    access: Literal["open", "invitation"] = "open"
    # Stops with "model_context_window_exceeded" without the beta (Sonnet 4.5 on); older models need
    # anthropic_beta ["model-context-window-exceeded-2025-08-26"] (Anthropic docs, stop reasons).
    context_window_stop: bool = False
    replacement: str | None = None  # base id to move to once this model is retired
    # Thinking blocks bound to the model and the conversation prefix: replay earlier turns unchanged, or 400.
    preserved_thinking: bool = False
    # Served only when the account's data-retention mode allows it (Bedrock blocks these under "none").
    data_retention_gated: bool = False
    sources: Mapping[str, str] = field(default_factory=dict, hash=False)  # fact -> key of SOURCES
    unconfirmed: tuple[str, ...] = ()  # facts no primary source confirmed

    # ---- derived facts ------------------------------------------------------------------------

    @property
    def supports_thinking(self) -> bool:
        return bool(self.thinking)

    @property
    def short_id(self) -> str:
        """The base id without ``anthropic.``, as Bedrock's messages name a model."""
        return self.base_id.removeprefix("anthropic.")

    def lifecycle_on(self, day: date, region: str | None = None) -> Lifecycle:
        """Active, Legacy or EOL on ``day`` in ``region`` (AWS's per-region EOL dates win where recorded)."""
        eol = self.eol_by_region.get(region, self.eol) if region else self.eol
        if eol is not None and day >= eol:
            return "EOL"
        if self.legacy_since is not None and day >= self.legacy_since:
            return "Legacy"
        return "Active"

    @property
    def lifecycle(self) -> Lifecycle:
        """The state today (the machine's date), in most regions."""
        return self.lifecycle_on(date.today())

    @property
    def legacy(self) -> bool:
        """True once AWS no longer offers the model to new work (Legacy or end of life)."""
        return self.lifecycle != "Active"

    def profile_ids(self) -> tuple[str, ...]:
        return tuple(f"{p}.{self.base_id}" for p in self.profiles)

    def recommended_id(self) -> str:
        """The id a learner should call this model by: its global profile, else a profile, else the base id."""
        if "global" in self.profiles:
            return f"global.{self.base_id}"
        if self.profiles and not self.on_demand:
            return f"{self.profiles[0]}.{self.base_id}"
        return self.base_id


def _d(text: str) -> date:
    return date.fromisoformat(text)


_ALL_GEOS = ("global", "us", "eu", "jp", "apac", "au")
_EFFORT = ("low", "medium", "high", "max")
_EFFORT_X = ("low", "medium", "high", "xhigh", "max")
_LEGACY_TABLE = {"ids": "anthropic-bedrock-legacy", "limits": "anthropic-bedrock-legacy",
                 "thinking": "anthropic-bedrock-legacy", "lifecycle": "anthropic-bedrock-legacy"}
_NEW_TABLE = {"ids": "anthropic-bedrock", "limits": "anthropic-bedrock", "thinking": "anthropic-bedrock",
              "sampling": "anthropic-params", "lifecycle": "anthropic-bedrock"}

# One row per model. Order: oldest first; current_models() and the docs list them in this order.
_ROWS: tuple[ModelInfo, ...] = (
    # ---- Text Completions era (EOL) -----------------------------------------------------------------
    ModelInfo(
        "anthropic.claude-instant-v1", "Claude Instant 1.2", "claude-instant-1.2", "text_completion",
        "arn_versioned", (), True, 100_000, 8191, supports_images=False,
        legacy_since=_d("2024-11-01"), eol=_d("2025-07-21"), replacement="anthropic.claude-haiku-4-5-20251001-v1:0",
        sources={"lifecycle": "aws-lifecycle", "limits": "course"},
        unconfirmed=("anthropic_name", "legacy_since", "eol"),
    ),
    ModelInfo(
        "anthropic.claude-v2", "Claude 2", "claude-2.0", "text_completion", "arn_versioned", (), True,
        100_000, 8191, supports_images=False, legacy_since=_d("2024-11-01"), eol=_d("2025-07-21"),
        replacement="anthropic.claude-sonnet-4-6",
        sources={"anthropic_name": "capture-v2", "lifecycle": "aws-lifecycle", "limits": "course"},
        unconfirmed=("legacy_since", "eol"),
    ),
    ModelInfo(
        "anthropic.claude-v2:1", "Claude 2.1", "claude-2.1", "text_completion", "arn_versioned", (), True,
        200_000, 8191, supports_images=False, legacy_since=_d("2024-11-01"), eol=_d("2025-07-21"),
        replacement="anthropic.claude-sonnet-4-6",
        sources={"lifecycle": "aws-lifecycle", "limits": "course"},
        unconfirmed=("anthropic_name", "legacy_since", "eol"),
    ),
    # ---- Claude 3 family (EOL) ----------------------------------------------------------------------
    ModelInfo(
        # Reads images: AWS's model card lists Text and Image as input modalities
        # (https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-3-haiku.html).
        "anthropic.claude-3-haiku-20240307-v1:0", "Claude 3 Haiku", "claude-3-haiku-20240307", "messages",
        "arn_versioned", ("us", "eu", "apac"), True, 200_000, 4096,
        legacy_since=_d("2026-03-10"), eol=_d("2026-09-10"),
        # BEDROCK-2026: "2026-09-10 in most regions"; which regions differ is not recorded, so
        # eol_by_region stays empty until a source names them.
        replacement="anthropic.claude-haiku-4-5-20251001-v1:0",
        sources={**_LEGACY_TABLE, "eol": "issue-eol"},
        unconfirmed=("legacy_since", "eol_by_region"),
    ),
    ModelInfo(
        "anthropic.claude-3-sonnet-20240229-v1:0", "Claude 3 Sonnet", "claude-3-sonnet-28k-20240229", "messages",
        "arn_versioned", ("us", "eu", "apac"), True, 200_000, 4096,
        legacy_since=_d("2025-01-21"), eol=_d("2025-07-21"), replacement="anthropic.claude-sonnet-4-6",
        sources={"anthropic_name": "capture-3-sonnet", "lifecycle": "aws-lifecycle", "limits": "course"},
        unconfirmed=("legacy_since", "eol"),
    ),
    ModelInfo(
        "anthropic.claude-3-opus-20240229-v1:0", "Claude 3 Opus", "claude-3-opus-20240229", "messages",
        "arn_versioned", ("us",), True, 200_000, 4096,
        legacy_since=_d("2025-07-01"), eol=_d("2026-01-15"), replacement="anthropic.claude-opus-4-6-v1",
        sources={"lifecycle": "aws-lifecycle", "limits": "course"},
        unconfirmed=("legacy_since", "eol"),
    ),
    ModelInfo(
        # Shipped on Bedrock as a text-only model.
        "anthropic.claude-3-5-haiku-20241022-v1:0", "Claude 3.5 Haiku", "claude-3-5-haiku-20241022", "messages",
        "arn_versioned", ("us",), False, 200_000, 8192, cache_min_tokens=2048, supports_images=False,
        legacy_since=_d("2025-12-19"), eol=_d("2026-06-19"), replacement="anthropic.claude-haiku-4-5-20251001-v1:0",
        sources={"anthropic_name": "capture-3-5-haiku", "eol": "anthropic-bedrock-legacy", "cache": "aws-caching"},
        unconfirmed=("legacy_since",),
    ),
    ModelInfo(
        "anthropic.claude-3-5-sonnet-20240620-v1:0", "Claude 3.5 Sonnet", "claude-3-5-sonnet-20240620", "messages",
        "arn_versioned", ("us", "eu", "apac"), True, 200_000, 8192,
        legacy_since=_d("2025-08-25"), eol=_d("2026-03-01"), replacement="anthropic.claude-sonnet-4-6",
        sources={"eol": "educative-3-5-sonnet", "limits": "course"},
        unconfirmed=("legacy_since", "eol"),
    ),
    ModelInfo(
        "anthropic.claude-3-5-sonnet-20241022-v2:0", "Claude 3.5 Sonnet v2", "claude-3-5-sonnet-20241022", "messages",
        "arn_versioned", ("us", "apac"), False, 200_000, 8192, cache_min_tokens=1024,
        legacy_since=_d("2025-08-25"), eol=_d("2026-03-01"), replacement="anthropic.claude-sonnet-4-6",
        sources={"eol": "educative-3-5-sonnet", "on_demand": "issue-on-demand", "limits": "course"},
        unconfirmed=("legacy_since", "eol"),
    ),
    ModelInfo(
        "anthropic.claude-3-7-sonnet-20250219-v1:0", "Claude 3.7 Sonnet", "claude-3-7-sonnet-20250219", "messages",
        "arn_versioned", ("us", "eu", "apac"), False, 200_000, 64_000, thinking=("budget",), cache_min_tokens=1024,
        legacy_since=_d("2025-10-28"), eol=_d("2026-04-28"), replacement="anthropic.claude-sonnet-4-6",
        sources={"eol": "bitslovers-3-7-sonnet", "thinking": "anthropic-params", "cache": "aws-caching"},
        unconfirmed=("legacy_since", "eol"),
    ),
    # ---- Claude 4 family (ARN-versioned) -------------------------------------------------------------
    ModelInfo(
        "anthropic.claude-sonnet-4-20250514-v1:0", "Claude Sonnet 4", "claude-sonnet-4-20250514", "messages",
        "arn_versioned", ("global", "us", "eu", "apac"), False, 200_000, 64_000, thinking=("budget",),
        cache_min_tokens=1024, legacy_since=_d("2026-06-15"), replacement="anthropic.claude-sonnet-4-6",
        sources={**_LEGACY_TABLE, "cache": "aws-caching"},
        unconfirmed=("legacy_since",),
    ),
    ModelInfo(
        "anthropic.claude-opus-4-20250514-v1:0", "Claude Opus 4", "claude-opus-4-20250514", "messages",
        "arn_versioned", ("us",), False, 200_000, 32_000, thinking=("budget",), cache_min_tokens=1024,
        # BEDROCK-2026 lists Opus 4 as Legacy; a third-party tracker put its EOL at 2026-05-31 (not used).
        legacy_since=_d("2025-12-01"), replacement="anthropic.claude-opus-4-6-v1",
        sources={**_LEGACY_TABLE, "cache": "aws-caching"},
        unconfirmed=("legacy_since", "eol"),
    ),
    ModelInfo(
        "anthropic.claude-opus-4-1-20250805-v1:0", "Claude Opus 4.1", "claude-opus-4-1-20250805", "messages",
        "arn_versioned", ("us",), False, 200_000, 32_000, thinking=("budget",), cache_min_tokens=1024,
        replacement="anthropic.claude-opus-4-6-v1",
        # Deprecated on Anthropic's API; still Active on Bedrock as far as recorded. The temperature-xor-top_p
        # rule is documented "from the 4.5 models on", so not applied here.
        sources={**_LEGACY_TABLE, "cache": "aws-caching", "sampling": "anthropic-params"},
    ),
    ModelInfo(
        "anthropic.claude-sonnet-4-5-20250929-v1:0", "Claude Sonnet 4.5", "claude-sonnet-4-5-20250929", "messages",
        "arn_versioned", ("global", "us", "eu", "jp"), False, 200_000, 64_000, thinking=("budget",),
        sampling="temperature_xor_top_p", cache_min_tokens=1024, replacement="anthropic.claude-sonnet-4-6",
        context_window_stop=True,
        # Left Anthropic's own API on 2026-11-30 (anthropic SDK 2.15.0); Bedrock named no date, so it stays
        # Active here until AWS's lifecycle page lists it.
        sources={**_LEGACY_TABLE, "cache": "anthropic-caching", "sampling": "anthropic-params",
                 "on_demand": "issue-on-demand", "anthropic_api_retired": "anthropic-sdk-2-15"},
        unconfirmed=("legacy_since", "eol"),
    ),
    ModelInfo(
        "anthropic.claude-haiku-4-5-20251001-v1:0", "Claude Haiku 4.5", "claude-haiku-4-5-20251001", "messages",
        "arn_versioned", ("global", "us", "eu"), False, 200_000, 64_000, thinking=("budget",),
        sampling="temperature_xor_top_p", cache_min_tokens=4096, context_window_stop=True,
        sources={**_LEGACY_TABLE, "cache": "aws-card", "sampling": "anthropic-params"},
    ),
    ModelInfo(
        "anthropic.claude-opus-4-5-20251101-v1:0", "Claude Opus 4.5", "claude-opus-4-5-20251101", "messages",
        "arn_versioned", ("global", "us", "eu"), False, 200_000, 64_000, thinking=("budget",),
        effort_levels=_EFFORT, default_effort="high", sampling="temperature_xor_top_p", cache_min_tokens=4096,
        replacement="anthropic.claude-opus-4-6-v1", context_window_stop=True,
        sources={**_LEGACY_TABLE, "cache": "anthropic-caching", "sampling": "anthropic-params",
                 "effort": "anthropic-params"},
        unconfirmed=("max_output_tokens", "effort_levels"),
    ),
    ModelInfo(
        "anthropic.claude-opus-4-6-v1", "Claude Opus 4.6", "claude-opus-4-6", "messages", "arn_versioned",
        ("global", "us", "eu", "jp", "apac"), False, 1_000_000, 128_000, thinking=("adaptive", "budget"),
        thinking_deprecated=("budget",), effort_levels=_EFFORT, default_effort="high",
        sampling="temperature_xor_top_p", cache_min_tokens=4096, context_window_stop=True,
        sources={**_LEGACY_TABLE, "cache": "anthropic-caching", "sampling": "anthropic-params",
                 "effort": "anthropic-params", "lifecycle": "aws-card"},
        unconfirmed=("context_tokens",),
    ),
    ModelInfo(
        "anthropic.claude-sonnet-4-6", "Claude Sonnet 4.6", "claude-sonnet-4-6", "messages", "arn_versioned",
        ("global", "us", "eu", "jp"), False, 1_000_000, 128_000, thinking=("adaptive", "budget"),
        thinking_deprecated=("budget",), effort_levels=_EFFORT, default_effort="high",
        sampling="temperature_xor_top_p", cache_min_tokens=1024, context_window_stop=True,
        sources={**_LEGACY_TABLE, "cache": "anthropic-caching", "sampling": "anthropic-params",
                 "effort": "anthropic-params", "lifecycle": "aws-card"},
        unconfirmed=("context_tokens",),
    ),
    # ---- Messages-API family (Opus 4.7 and later; also through InvokeModel) ---------------------------
    # Bare ids work where the region serves the model in-region (aws-quickstart); which profiles exist
    # per model, and the cache minimums, are not in any source found: global/us/eu and 4,096 assumed.
    *(
        ModelInfo(
            f"anthropic.{short}", name, short, "messages", "messages_api", profiles, True, 1_000_000, 128_000,
            thinking=thinking, thinking_removed=removed, effort_levels=efforts, default_effort=default_effort,
            sampling="defaults_only", cache_min_tokens=4096, access=access, context_window_stop=True,
            data_retention_gated=short.startswith(("claude-fable", "claude-mythos")),
            sources={**_NEW_TABLE, "on_demand": "aws-quickstart", "data_retention": "aws-data-retention",
                     **({"ids": "third-party-ids"} if access == "invitation" or "fable" in short else {})},
            unconfirmed=("profiles", "cache_min_tokens", *extra_unconfirmed),
        )
        for short, name, profiles, thinking, removed, efforts, default_effort, access, extra_unconfirmed in (
            ("claude-opus-4-7", "Claude Opus 4.7", _ALL_GEOS[:3], ("adaptive",), ("budget",), _EFFORT_X, "high",
             "open", ()),
            ("claude-opus-4-8", "Claude Opus 4.8", _ALL_GEOS[:3], ("adaptive",), ("budget",), _EFFORT_X, "high",
             "open", ("thinking_removed",)),
            ("claude-opus-5", "Claude Opus 5", _ALL_GEOS[:3], ("adaptive",), ("budget",), _EFFORT_X, "high",
             "open", ("thinking_removed",)),
            ("claude-opus-5-5", "Claude Opus 5.5", _ALL_GEOS[:3], ("adaptive",), ("budget",), _EFFORT_X, "high",
             "open", ("thinking_removed",)),
            ("claude-sonnet-5", "Claude Sonnet 5", _ALL_GEOS[:3], ("adaptive",), ("budget",), _EFFORT_X, "high",
             "open", ("thinking_removed",)),
            ("claude-sonnet-5-5", "Claude Sonnet 5.5", _ALL_GEOS[:3], ("adaptive",), ("budget",), _EFFORT_X,
             "high", "open", ("thinking_removed",)),
            # Thinking on by default, effort default medium (BEDROCK-2026, Messages-API family).
            ("claude-haiku-5-5", "Claude Haiku 5.5", _ALL_GEOS[:3], ("always_on", "adaptive"), ("budget",),
             _EFFORT, "medium", "open", ("thinking_removed", "effort_levels")),
            ("claude-fable-5", "Claude Fable 5", _ALL_GEOS[:3], ("adaptive",), ("budget",), _EFFORT_X, "high",
             "open", ("base_id", "thinking", "thinking_removed")),
            ("claude-fable-5-1", "Claude Fable 5.1", _ALL_GEOS[:3], ("adaptive",), ("budget",), _EFFORT_X,
             "high", "open", ("base_id", "thinking", "thinking_removed")),
            # Invitation only; also seen as anthropic.claude-mythos-preview.
            ("claude-mythos-5", "Claude Mythos", _ALL_GEOS[:2], ("adaptive",), ("budget",), _EFFORT_X, "high",
             "invitation", ("base_id", "thinking", "thinking_removed")),
        )
    ),
    # ---- the 5.2 generation: preserved thinking, fixed sampling ---------------------------------------
    # Only the us. profile is named by the card; other profiles, the cache minimum, whether "xhigh" sits in
    # "effort low…max", and the Mythos id (built like Fable's) are unconfirmed.
    *(
        ModelInfo(
            f"anthropic.{short}", name, short, "messages", "messages_api", ("us",), True, 1_000_000, 128_000,
            thinking=("always_on", "adaptive"), thinking_removed=("budget",), effort_levels=_EFFORT_X,
            default_effort="high", sampling="fixed_or_unset", cache_min_tokens=4096, access=access,
            context_window_stop=True, preserved_thinking=True, data_retention_gated=True,
            sources={key: "aws-card-5-2" for key in ("ids", "limits", "thinking", "sampling", "lifecycle")}
            | {"data_retention": "aws-data-retention"},
            unconfirmed=("cache_min_tokens", "effort_levels", *extra_unconfirmed),
        )
        for short, name, access, extra_unconfirmed in (
            ("claude-fable-5-2", "Claude Fable 5.2", "open", ()),
            # "The same model, gated preview": invitation access.
            ("claude-mythos-5-2", "Claude Mythos 5.2", "invitation", ("base_id", "profiles")),
        )
    ),
)

MODELS: Mapping[str, ModelInfo] = MappingProxyType({m.base_id: m for m in _ROWS})


# --------------------------------------------------------------------------- choosing a model


def current_models(*, on: date | None = None) -> list[ModelInfo]:
    """Models a learner may pick today (Active, open access), newest last."""
    day = on or date.today()
    return [m for m in _ROWS if m.access == "open" and m.lifecycle_on(day) == "Active"]
