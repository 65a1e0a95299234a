"""The catalogue against facts written by hand from their sources (catalogue_sources.py): one test per rule.

Each test walks every model and reports every disagreement at once, naming the source of the expected value.
"""

from __future__ import annotations

from catalogue_sources import ROWS, WRITTEN_ON, Row, Sourced

from helpers.bedrock_rules import MODELS


def _mismatches(check) -> list[str]:
    return [problem for row in ROWS if (problem := check(row, MODELS[row.base_id]))]


def test_the_catalogue_has_exactly_the_models_the_sources_name() -> None:
    assert sorted(MODELS) == sorted(row.base_id for row in ROWS)
    assert {row.base_id: row.name for row in ROWS} == {b: MODELS[b].name for b in MODELS}


def test_integrations_match_their_sources() -> None:
    def check(row: Row, info) -> str | None:
        if info.integration != row.integration.value:
            return f"{row.name}: {info.integration} != {row.integration.value} ({row.integration.source})"
        return None

    assert _mismatches(check) == []


def test_profiles_match_their_sources() -> None:
    def check(row: Row, info) -> str | None:
        have = set(info.profiles)
        if isinstance(row.profiles, Sourced) and have != row.profiles.value:
            return f"{row.name}: profiles {sorted(have)} != {sorted(row.profiles.value)} ({row.profiles.source})"
        if isinstance(row.profiles_include, Sourced) and not row.profiles_include.value <= have:
            return f"{row.name}: lacks {sorted(row.profiles_include.value - have)} ({row.profiles_include.source})"
        return None

    assert _mismatches(check) == []


def test_lifecycle_dates_match_their_sources_or_are_marked_unconfirmed() -> None:
    def check(row: Row, info) -> str | None:
        problems = []
        for fact, expected in (("legacy_since", row.legacy_since), ("eol", row.eol)):
            actual = getattr(info, fact)
            if isinstance(expected, Sourced):
                if actual != expected.value:
                    problems.append(f"{fact} {actual} != {expected.value} ({expected.source})")
            elif actual is not None and fact not in info.unconfirmed:
                problems.append(f"{fact} {actual} has no source and is not listed as unconfirmed")
        if isinstance(row.eol_not_before, Sourced) and info.eol is not None and info.eol < row.eol_not_before.value:
            problems.append(f"eol {info.eol} before {row.eol_not_before.value} ({row.eol_not_before.source})")
        return f"{row.name}: {'; '.join(problems)}" if problems else None

    assert _mismatches(check) == []


def test_each_model_is_in_its_sourced_state_on_the_day_the_sources_were_read() -> None:
    def check(row: Row, info) -> str | None:
        state = info.lifecycle_on(WRITTEN_ON)
        if isinstance(row.state, Sourced) and state != row.state.value:
            return f"{row.name}: {state} on {WRITTEN_ON}, not {row.state.value} ({row.state.source})"
        return None

    assert _mismatches(check) == []


def test_access_matches_its_source() -> None:
    def check(row: Row, info) -> str | None:
        return None if info.access == row.access.value else f"{row.name}: {info.access} ({row.access.source})"

    assert _mismatches(check) == []
