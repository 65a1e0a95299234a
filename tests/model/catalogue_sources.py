"""The catalogue's facts that matter, written by hand from their sources, to test the catalogue against.

Independent of ``helpers.bedrock_rules.catalogue``: nothing here is read from it or computed by it. Each value
carries its source; ``UNSOURCED`` marks a fact no source found says (the catalogue must then list it as
unconfirmed). Written on ``WRITTEN_ON``; "state" is the lifecycle state on that day.

Sources (short names used below):
- B26: ../shared/BEDROCK-2026.md of the course (Dec 2026), its legacy model table (Anthropic docs, "Claude on
  Amazon Bedrock (Opus 4.6 and earlier)", with AWS model cards' dates) and its "End of life on Bedrock" list.
- B26-DEC: its December update (Opus 4.6 / Sonnet 4.6 ids; Haiku 4.5 on the Messages API route; the AWS model
  cards of Claude Fable 5.2 and Claude Mythos 5.2).
- B26-MSG: its "Two integrations" section and "Messages-API-only family" list (Anthropic docs, "Claude in
  Amazon Bedrock (Opus 4.7 and later)"; AWS "What is Amazon Bedrock" quickstart for bare ids).
- ANTH-DEP: Anthropic docs, "Model deprecations" table (retirement dates on Anthropic's API).
- ISSUE-708: aws-solutions-library-samples/accelerated-intelligent-document-processing-on-aws#708 (Claude 3
  Haiku's EOL error, 2026-08).
- EDUCATIVE: educative.io newsletter quoting AWS release notes (Claude 3.5 Sonnet v1/v2 EOL 2026-03-01).
- BITSLOVERS / AWSLABS-10: bitslovers.com "Bedrock model lifecycle" and awslabs/startups#10 ("Remove Claude 3.7
  Sonnet (past EOL Apr 28, 2026)"): Claude 3.7 Sonnet EOL 2026-04-28.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

WRITTEN_ON = date(2026, 12, 6)


class Unsourced:
    def __repr__(self) -> str:
        return "UNSOURCED"


UNSOURCED: Any = Unsourced()


class Sourced(NamedTuple):
    value: Any
    source: str


class Row(NamedTuple):
    base_id: str
    name: str
    integration: Sourced
    state: Sourced | Unsourced  # lifecycle state on WRITTEN_ON
    legacy_since: Sourced | Unsourced = UNSOURCED
    eol: Sourced | Unsourced = UNSOURCED  # Sourced(None, ...) = no EOL date yet
    eol_not_before: Sourced | Unsourced = UNSOURCED  # AWS model cards' "EOL not before" date
    profiles: Sourced | Unsourced = UNSOURCED  # the exact set of inference-profile prefixes
    profiles_include: Sourced | Unsourced = UNSOURCED  # prefixes known to exist (the full set unsourced)
    access: Sourced = Sourced("open", "B26 (only Mythos is named invitation-only)")


_TC = Sourced("arn_versioned", "B26 corrections: the Text Completions body, on InvokeModel with an ARN-versioned id")
_ARN = Sourced("arn_versioned", "B26 'Two integrations': Legacy, ARN-versioned ids (Opus 4.6 and earlier)")
_MSG = Sourced("messages_api", "B26-MSG: 'Claude in Amazon Bedrock (Opus 4.7 and later)'")
_EOL = Sourced("EOL", "B26 'End of life on Bedrock'")


def _retired(day: str, what: str) -> Sourced:
    # Bedrock's own date is not published in any source found; retired on Anthropic's API long before today.
    return Sourced("EOL", f"ANTH-DEP: {what} retired on Anthropic's API {day}; EOL on Bedrock by {WRITTEN_ON}")


ROWS: tuple[Row, ...] = (
    Row("anthropic.claude-instant-v1", "Claude Instant 1.2", _TC, _retired("2024-11-06", "claude-instant-1.2")),
    Row("anthropic.claude-v2", "Claude 2", _TC, _retired("2025-07-21", "claude-2.0")),
    Row("anthropic.claude-v2:1", "Claude 2.1", _TC, _retired("2025-07-21", "claude-2.1")),
    Row("anthropic.claude-3-haiku-20240307-v1:0", "Claude 3 Haiku", _ARN, _EOL,
        eol=Sourced(date(2026, 9, 10), "B26: '2026-09-10 in most regions'; ISSUE-708")),
    Row("anthropic.claude-3-sonnet-20240229-v1:0", "Claude 3 Sonnet", _ARN,
        _retired("2025-07-21", "claude-3-sonnet-20240229")),
    Row("anthropic.claude-3-opus-20240229-v1:0", "Claude 3 Opus", _ARN,
        _retired("2026-01-05", "claude-3-opus-20240229")),
    Row("anthropic.claude-3-5-haiku-20241022-v1:0", "Claude 3.5 Haiku", _ARN, _EOL,
        eol=Sourced(date(2026, 6, 19), "B26 'End of life on Bedrock': 3.5 Haiku (2026-06-19)")),
    Row("anthropic.claude-3-5-sonnet-20240620-v1:0", "Claude 3.5 Sonnet", _ARN, _EOL,
        eol=Sourced(date(2026, 3, 1), "EDUCATIVE")),
    Row("anthropic.claude-3-5-sonnet-20241022-v2:0", "Claude 3.5 Sonnet v2", _ARN, _EOL,
        eol=Sourced(date(2026, 3, 1), "EDUCATIVE")),
    Row("anthropic.claude-3-7-sonnet-20250219-v1:0", "Claude 3.7 Sonnet", _ARN, _EOL,
        eol=Sourced(date(2026, 4, 28), "BITSLOVERS; AWSLABS-10")),
    Row("anthropic.claude-sonnet-4-20250514-v1:0", "Claude Sonnet 4", _ARN,
        Sourced("Legacy", "B26 legacy table: 'Legacy on Bedrock'"),
        profiles=Sourced({"global", "us", "eu", "apac"}, "B26 legacy table")),
    Row("anthropic.claude-opus-4-20250514-v1:0", "Claude Opus 4", _ARN,
        Sourced("Legacy", "B26 'End of life on Bedrock': 'Opus 4 Legacy'")),
    Row("anthropic.claude-opus-4-1-20250805-v1:0", "Claude Opus 4.1", _ARN, UNSOURCED,
        profiles=Sourced({"us"}, "B26 legacy table")),
    Row("anthropic.claude-sonnet-4-5-20250929-v1:0", "Claude Sonnet 4.5", _ARN, UNSOURCED,
        profiles=Sourced({"global", "us", "eu", "jp"}, "B26 legacy table")),
    # Haiku 4.5 also answers on the Messages API route (B26-DEC); the catalogue's integration field names the
    # ARN-versioned id and InvokeModel body rules, which it keeps.
    Row("anthropic.claude-haiku-4-5-20251001-v1:0", "Claude Haiku 4.5", _ARN,
        Sourced("Active", "B26 legacy table: 'Active'"),
        profiles=Sourced({"global", "us", "eu"}, "B26 legacy table")),
    Row("anthropic.claude-opus-4-5-20251101-v1:0", "Claude Opus 4.5", _ARN, UNSOURCED,
        profiles=Sourced({"global", "us", "eu"}, "B26 legacy table")),
    Row("anthropic.claude-opus-4-6-v1", "Claude Opus 4.6", _ARN,
        Sourced("Active", "B26 legacy table: 'Active, EOL not before 2027-02-05 (AWS card)'"),
        eol=Sourced(None, "B26: no EOL date yet"),
        eol_not_before=Sourced(date(2027, 2, 5), "B26 legacy table (AWS card)"),
        profiles=Sourced({"global", "us", "eu", "jp", "apac"}, "B26 legacy table; id from B26-DEC")),
    Row("anthropic.claude-sonnet-4-6", "Claude Sonnet 4.6", _ARN,
        Sourced("Active", "B26 legacy table: 'Active, not before 2027-02-17'"),
        eol=Sourced(None, "B26: no EOL date yet"),
        eol_not_before=Sourced(date(2027, 2, 17), "B26 legacy table (AWS card)"),
        profiles=Sourced({"global", "us", "eu", "jp"}, "B26 legacy table; id from B26-DEC")),
    Row("anthropic.claude-opus-4-7", "Claude Opus 4.7", _MSG, UNSOURCED,
        profiles_include=Sourced({"us"}, "B26-MSG: 'us.anthropic.claude-opus-4-7'")),
    Row("anthropic.claude-opus-4-8", "Claude Opus 4.8", _MSG, UNSOURCED),
    Row("anthropic.claude-opus-5", "Claude Opus 5", _MSG, UNSOURCED),
    Row("anthropic.claude-opus-5-5", "Claude Opus 5.5", _MSG, UNSOURCED),
    Row("anthropic.claude-sonnet-5", "Claude Sonnet 5", _MSG, UNSOURCED),
    Row("anthropic.claude-sonnet-5-5", "Claude Sonnet 5.5", _MSG, UNSOURCED,
        profiles_include=Sourced({"global"}, "B26-MSG: 'global.anthropic.claude-sonnet-5-5'")),
    Row("anthropic.claude-haiku-5-5", "Claude Haiku 5.5", _MSG, UNSOURCED),
    Row("anthropic.claude-fable-5", "Claude Fable 5", _MSG, UNSOURCED),
    Row("anthropic.claude-fable-5-1", "Claude Fable 5.1", _MSG, UNSOURCED),
    Row("anthropic.claude-mythos-5", "Claude Mythos", _MSG, UNSOURCED,
        access=Sourced("invitation", "B26-MSG: 'Mythos (invitation)'")),
    Row("anthropic.claude-fable-5-2", "Claude Fable 5.2",
        Sourced("messages_api", "B26-DEC: AWS model card, 'New models' (launched 2026-11-09)"),
        Sourced("Active", "B26-DEC: launched 2026-11-09, EOL not before 2027-11-09"),
        eol=Sourced(None, "B26-DEC: no EOL date, only 'not before'"),
        eol_not_before=Sourced(date(2027, 11, 9), "B26-DEC: AWS model card"),
        profiles_include=Sourced({"us"}, "B26-DEC: ids anthropic.claude-fable-5-2, us.anthropic.claude-fable-5-2")),
    # Its id is not written in any source (the card calls it "the same model, gated preview"): only the name,
    # the integration and the gated access are pinned.
    Row("anthropic.claude-mythos-5-2", "Claude Mythos 5.2",
        Sourced("messages_api", "B26-DEC: 'Claude Mythos 5.2: the same model' as Fable 5.2"),
        UNSOURCED,
        access=Sourced("invitation", "B26-DEC: 'gated preview'")),
)
