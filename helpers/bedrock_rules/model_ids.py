"""Model ids as Bedrock judges them: which catalogue row an id names, whether Bedrock serves it today, and which
ids the Messages API route takes on each host. Bedrock's refusals carry its own words (``.messages``).

The data lives in :mod:`.catalogue`; this module only reads it. Pure: standard library only, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from types import MappingProxyType
from typing import Literal

from .catalogue import CROSS_REGION_PREFIXES, DEFAULT_MODEL_ID, MODELS, ModelInfo
from .messages import (
    ACCESS_DENIED,
    END_OF_LIFE,
    INVALID_MODEL_ID,
    LEGACY_INACTIVE,
    NOT_FOUND,
    on_demand_unsupported,
)

__all__ = [
    "MANTLE_IDS",
    "MESSAGES_ROUTE_MODELS",
    "MessagesHost",
    "ModelLookupError",
    "ModelRef",
    "identify_model",
    "recommended_replacement",
    "resolve_messages_model",
    "resolve_model",
    "serves_messages_route",
]


def recommended_replacement(model: ModelInfo | str, *, on: date | None = None) -> ModelInfo:
    """The current model to move to from ``model`` (a row or any id form); the default model if none is named."""
    info = model if isinstance(model, ModelInfo) else identify_model(model).info
    day = on or date.today()
    seen: set[str] = set()
    while info.replacement and info.base_id not in seen:
        seen.add(info.base_id)
        nxt = MODELS.get(info.replacement)
        if nxt is None:
            break
        info = nxt
        if info.lifecycle_on(day) == "Active":
            return info
    if info.lifecycle_on(day) == "Active" and info.access == "open":
        return info
    return identify_model(DEFAULT_MODEL_ID).info


# --------------------------------------------------------------------------- model ids


class ModelLookupError(Exception):
    """A model id Bedrock would refuse; carries the HTTP status and error type to answer with."""

    def __init__(self, status: int, error_type: str, message: str, *, reason: str = "invalid",
                 fix: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message  # Bedrock's words, as sent on the wire
        # Why, in one word, for code that explains the error: invalid, not_found, end_of_life,
        # legacy_inactive, on_demand, access.
        self.reason = reason
        # What to change, in the course's words (never on the wire).
        self.fix = fix or f"use a current Claude model id, such as {DEFAULT_MODEL_ID}"


@dataclass(frozen=True)
class ModelRef:
    """A model id as the caller wrote it, mapped to its catalogue row."""

    model_id: str
    info: ModelInfo
    form: Literal["base", "profile", "foundation_model_arn", "profile_arn"]
    prefix: str | None  # the profile prefix without its dot ("global", "us", ...), or None

    @property
    def uses_profile(self) -> bool:
        return self.prefix is not None


_FM_ARN = re.compile(r"^arn:aws(?:-[a-z-]+)?:bedrock:[a-z0-9-]{1,20}::foundation-model/(?P<id>.+)$")
_PROFILE_ARN = re.compile(
    r"^arn:aws(?:-[a-z-]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:inference-profile/(?P<id>[a-zA-Z0-9:.-]+)$"
)
_OTHER_ARN = re.compile(r"^arn:aws(?:-[a-z-]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:[a-z-]+/.+$")
_PROVIDER = re.compile(r"^(?P<provider>[a-z0-9-]{1,63})\.[a-z0-9-]")


def _invalid() -> ModelLookupError:
    return ModelLookupError(400, "ValidationException", INVALID_MODEL_ID)


def _row(base: str, original: str, models: Mapping[str, ModelInfo]) -> ModelInfo:
    if base in models:
        return models[base]
    match = _PROVIDER.match(base)
    if match and match.group("provider") != "anthropic":
        raise ModelLookupError(
            400,
            "ValidationException",
            f"{original!r} is a model from provider {match.group('provider')!r}, but this local "
            f"Bedrock endpoint serves Anthropic Claude models only. Use an Anthropic id such as {DEFAULT_MODEL_ID}.",
        )
    raise _invalid()


def _split_profile(model_id: str) -> tuple[str | None, str]:
    for prefix in CROSS_REGION_PREFIXES:
        if model_id.startswith(prefix):
            return prefix[:-1], model_id[len(prefix):]
    return None, model_id


def identify_model(model_id: str, *, models: Mapping[str, ModelInfo] | None = None) -> ModelRef:
    """Map a percent-decoded model id (base id, profile id or either ARN) to its row, ignoring lifecycle.

    Raises :class:`ModelLookupError` for an id Bedrock does not know in any form.
    """
    table = MODELS if models is None else models
    if not isinstance(model_id, str) or not model_id or len(model_id) > 2048:
        raise _invalid()
    if model_id.startswith("arn:"):
        if fm := _FM_ARN.match(model_id):
            return ModelRef(model_id, _row(fm.group("id"), model_id, table), "foundation_model_arn", None)
        if prof := _PROFILE_ARN.match(model_id):
            prefix, base = _split_profile(prof.group("id"))
            if prefix is None:
                # An inference-profile ARN must name a system profile; anything else is an account's own.
                raise ModelLookupError(404, "ResourceNotFoundException", NOT_FOUND, reason="not_found")
            info = _row(base, model_id, table)
            if prefix not in info.profiles:
                raise ModelLookupError(404, "ResourceNotFoundException", NOT_FOUND, reason="not_found")
            return ModelRef(model_id, info, "profile_arn", prefix)
        if _OTHER_ARN.match(model_id):
            # Custom, provisioned, imported and application-profile ARNs belong to an AWS account.
            raise ModelLookupError(404, "ResourceNotFoundException", NOT_FOUND, reason="not_found")
        raise _invalid()
    prefix, base = _split_profile(model_id)
    info = _row(base, model_id, table)
    if prefix is not None and prefix not in info.profiles:
        # A system profile that does not exist for this model; same answer as an unknown id (unconfirmed,
        # by analogy with capture err_invalid_profile_converse_stream: "us.does-not-exist-model-v1:0").
        raise _invalid()
    return ModelRef(model_id, info, "base" if prefix is None else "profile", prefix)


def resolve_model(
    model_id: str,
    *,
    region: str | None = None,
    as_of: date | str | None = None,
    inactive_account: bool = False,
    models: Mapping[str, ModelInfo] | None = None,
) -> ModelInfo:
    """The row for ``model_id`` if Bedrock would serve it; else :class:`ModelLookupError` with Bedrock's answer.

    ``as_of`` judges the lifecycle on another day (to run old code against a retired model);
    ``region`` picks AWS's per-region EOL date where the catalogue records one; ``inactive_account``
    plays an account that has not used a Legacy model in the last 15 days.
    """
    ref = identify_model(model_id, models=models)
    info = ref.info
    day = date.fromisoformat(as_of) if isinstance(as_of, str) else (as_of or date.today())
    state = info.lifecycle_on(day, region)
    if state in ("EOL", "Legacy"):
        successor = recommended_replacement(info, on=day)
        move = f"move to {successor.name} ({successor.recommended_id()})"
    if state == "EOL":
        raise ModelLookupError(404, "ResourceNotFoundException", END_OF_LIFE, reason="end_of_life",
                               fix=f"{info.name} has reached end of life on Bedrock: {move}")
    if not ref.uses_profile and not info.on_demand:
        raise ModelLookupError(400, "ValidationException", on_demand_unsupported(info.base_id), reason="on_demand",
                               fix=f"{info.name} is served through inference profiles: call "
                                   f"{info.recommended_id()} (or another of its profiles: "
                                   f"{', '.join(p + '.' for p in info.profiles)})")
    if state == "Legacy" and inactive_account:
        raise ModelLookupError(404, "ResourceNotFoundException", LEGACY_INACTIVE, reason="legacy_inactive",
                               fix=f"{info.name} is Legacy and refused to accounts that stopped using it: {move}")
    if info.access == "invitation":
        raise ModelLookupError(403, "AccessDeniedException", ACCESS_DENIED, reason="access",
                               fix=f"{info.name} is offered by invitation only: use {DEFAULT_MODEL_ID} or "
                                   "another current model")
    return info


# --------------------------------------------------------------------------- the Messages API route, per host
# POST /anthropic/v1/messages on two hosts (AWS user guide, "Inference using Anthropic Messages API", 2026:
# bedrock-runtime.{region}.amazonaws.com/anthropic, "Recommended for new applications", and
# bedrock-mantle.{region}.api.aws/anthropic). A request says which host it meant by its SigV4 signing name
# ("bedrock" vs "bedrock-mantle") or its Host header.

MessagesHost = Literal["bedrock-runtime", "bedrock-mantle"]

# Models whose AWS card lists Messages among its supported APIs on bedrock-runtime: Claude Haiku 4.5 (AWS model
# card; AWS's amazon-bedrock-workshop 01_Inference_APIs §4 calls it there as
# global.anthropic.claude-haiku-4-5-20251001-v1:0) and every Messages-API-family row (Anthropic docs, "Claude in
# Amazon Bedrock (Opus 4.7 and later)"). On bedrock-runtime the route takes the ids InvokeModel takes: profile ids,
# and bare ids only where the model is on-demand (the same ``resolve_model`` judgement; aws-quickstart).
MESSAGES_ROUTE_MODELS: frozenset[str] = frozenset({"anthropic.claude-haiku-4-5-20251001-v1:0"})
# unconfirmed: the other Claude 4.x models AWS's "Endpoint availability" table lists on bedrock-runtime, whose
# cards' Messages column no source found confirms. MESSAGES_ROUTE_SERVES_UNCONFIRMED is the one switch for them.
MESSAGES_ROUTE_UNCONFIRMED: frozenset[str] = frozenset({
    "anthropic.claude-sonnet-4-20250514-v1:0", "anthropic.claude-opus-4-1-20250805-v1:0",
    "anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-opus-4-5-20251101-v1:0",
    "anthropic.claude-opus-4-6-v1", "anthropic.claude-sonnet-4-6",
})
MESSAGES_ROUTE_SERVES_UNCONFIRMED = True
# unconfirmed (third-party course tooling, BEDROCK-2026 December update): bedrock-mantle names models by bare
# short ids without date or version ("anthropic.claude-haiku-4-5", "anthropic.claude-opus-5"). Off: mantle is
# judged as bedrock-runtime is. Short id -> catalogue base id; the Messages-API family's base ids are short already.
MANTLE_SHORT_IDS = True
MANTLE_IDS: Mapping[str, str] = MappingProxyType({
    "anthropic.claude-haiku-4-5": "anthropic.claude-haiku-4-5-20251001-v1:0",
    "anthropic.claude-sonnet-4-5": "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "anthropic.claude-opus-4-5": "anthropic.claude-opus-4-5-20251101-v1:0",
    "anthropic.claude-opus-4-6": "anthropic.claude-opus-4-6-v1",
})
# The answer's "model" is Anthropic's name of the model (``anthropic_name``, e.g. "claude-haiku-4-5-20251001"),
# never the id the caller sent: every InvokeModel capture shows Anthropic's name; on this route unconfirmed.


def serves_messages_route(info: ModelInfo) -> bool:
    """Does the Messages API route serve this model (its card lists Messages, or the unconfirmed switch is on)?"""
    if info.integration == "messages_api" or info.base_id in MESSAGES_ROUTE_MODELS:
        return True
    return MESSAGES_ROUTE_SERVES_UNCONFIRMED and info.base_id in MESSAGES_ROUTE_UNCONFIRMED


def resolve_messages_model(model_id: str, host: MessagesHost, **options: object) -> ModelInfo:
    """``resolve_model`` for the Messages API route on ``host`` (``options``: as_of, region, inactive_account).

    bedrock-runtime judges ids as InvokeModel does. A mantle short id names its model in-region, without an
    inference profile (AWS's workshop: mantle has no cross-Region inference), so it is judged as on-demand.
    """
    base = MANTLE_IDS.get(model_id) if host == "bedrock-mantle" and MANTLE_SHORT_IDS else None
    if base is None:
        return resolve_model(model_id, **options)  # type: ignore[arg-type]
    in_region = replace(MODELS[base], on_demand=True)
    return resolve_model(base, models={base: in_region}, **options)  # type: ignore[arg-type]
