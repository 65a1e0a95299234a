"""helpers.bedrock_rules.catalogue: the model table as data, and how an id is judged from it."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from helpers.bedrock_rules import (
    DEFAULT_MODEL_ID,
    MODELS,
    SOURCES,
    ModelLookupError,
    current_models,
    identify_model,
    recommended_replacement,
    resolve_model,
)
from helpers.bedrock_rules.messages import END_OF_LIFE, LEGACY_INACTIVE

HAIKU_3 = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.mark.parametrize("info", list(MODELS.values()), ids=list(MODELS))
def test_every_row_is_complete_and_sourced(info) -> None:
    assert info.base_id.startswith("anthropic.claude-")
    assert info.anthropic_name and not info.anthropic_name.startswith("anthropic.")
    assert set(info.profiles) <= {"global", "us", "eu", "jp", "apac", "au"}
    assert info.on_demand or info.profiles, "a model nobody can call"
    assert 0 < info.max_output_tokens <= info.context_tokens
    assert set(info.thinking_deprecated) <= set(info.thinking)
    assert not set(info.thinking_removed) & set(info.thinking)
    assert info.sampling in ("any", "temperature_xor_top_p", "defaults_only", "fixed_or_unset")
    assert (info.default_effort is None) == (not info.effort_levels)
    assert info.sources and set(info.sources.values()) <= set(SOURCES)
    assert info.replacement is None or info.replacement in MODELS
    assert info.legacy_since is None or info.eol is None or info.legacy_since < info.eol
    assert hash(info) == hash(dataclasses.replace(info))  # rows work as dict keys


def test_default_model_is_served_today_and_current() -> None:
    info = resolve_model(DEFAULT_MODEL_ID)
    assert info.name == "Claude Haiku 4.5" and info in current_models()
    assert info.recommended_id() == DEFAULT_MODEL_ID


def test_retired_models_point_to_a_current_replacement() -> None:
    for info in MODELS.values():
        if info.lifecycle != "Active":
            replacement = recommended_replacement(info)
            assert replacement.lifecycle == "Active" and replacement.access == "open"
    assert recommended_replacement("us.anthropic.claude-3-5-haiku-20241022-v1:0").name == "Claude Haiku 4.5"


def test_lifecycle_by_date_and_region() -> None:
    row = MODELS[HAIKU_3]
    assert row.lifecycle_on(date(2026, 1, 1)) == "Active"
    assert row.lifecycle_on(date(2026, 6, 1)) == "Legacy"
    assert row.lifecycle_on(date(2026, 9, 10)) == "EOL"
    # A per-region exception recorded in a row wins for requests signed for that region.
    later = dataclasses.replace(row, eol_by_region={"ap-southeast-2": date(2027, 1, 1)})
    table = {**MODELS, HAIKU_3: later}
    assert resolve_model(HAIKU_3, region="ap-southeast-2", as_of="2026-10-01", models=table) is later
    with pytest.raises(ModelLookupError) as caught:
        resolve_model(HAIKU_3, region="us-east-1", as_of="2026-10-01", models=table)
    assert (caught.value.status, caught.value.message, caught.value.reason) == (404, END_OF_LIFE, "end_of_life")
    assert "Claude Haiku 4.5 (global.anthropic.claude-haiku-4-5-20251001-v1:0)" in caught.value.fix


def test_legacy_models_are_refused_only_for_inactive_accounts() -> None:
    sonnet_4 = "global.anthropic.claude-sonnet-4-20250514-v1:0"
    assert resolve_model(sonnet_4).name == "Claude Sonnet 4"
    with pytest.raises(ModelLookupError) as caught:
        resolve_model(sonnet_4, inactive_account=True)
    assert (caught.value.status, caught.value.error_type, caught.value.message) == (
        404, "ResourceNotFoundException", LEGACY_INACTIVE)


def test_profile_only_base_ids_and_missing_profiles() -> None:
    with pytest.raises(ModelLookupError) as caught:
        resolve_model("anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert caught.value.reason == "on_demand" and "isn\u2019t supported" in caught.value.message
    assert "global.anthropic.claude-sonnet-4-5-20250929-v1:0" in caught.value.fix
    assert resolve_model("anthropic.claude-opus-4-7").name == "Claude Opus 4.7"  # bare id works in-region
    with pytest.raises(ModelLookupError, match="model identifier is invalid"):
        resolve_model("au.anthropic.claude-haiku-4-5-20251001-v1:0")  # no such profile
    ref = identify_model("arn:aws:bedrock:us-east-1:123456789012:inference-profile/jp.anthropic.claude-sonnet-4-6")
    assert (ref.form, ref.prefix, ref.info.name) == ("profile_arn", "jp", "Claude Sonnet 4.6")


def test_invitation_only_model_is_access_denied() -> None:
    with pytest.raises(ModelLookupError) as caught:
        resolve_model("us.anthropic.claude-mythos-5")
    assert (caught.value.status, caught.value.error_type) == (403, "AccessDeniedException")


def test_body_rules_come_from_the_rows() -> None:
    assert MODELS["anthropic.claude-opus-4-7"].sampling == "defaults_only"
    assert MODELS["anthropic.claude-haiku-4-5-20251001-v1:0"].sampling == "temperature_xor_top_p"
    assert MODELS["anthropic.claude-sonnet-4-6"].thinking_deprecated == ("budget",)
    assert MODELS["anthropic.claude-opus-4-7"].thinking_removed == ("budget",)
    assert MODELS["anthropic.claude-haiku-4-5-20251001-v1:0"].cache_min_tokens == 4096
    assert MODELS["anthropic.claude-sonnet-4-5-20250929-v1:0"].cache_min_tokens == 1024
