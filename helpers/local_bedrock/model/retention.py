"""The account's data-retention mode, and the models it blocks.

Models from Fable 5 on need the account's per-Region data-retention mode (set with the bedrock control plane's
``PutAccountDataRetention``; modes ``default``, ``none``, ``aws_review``, ``provider_data_share``, ``inherit``);
with ``none`` Bedrock blocks requests to them; Haiku 4.5 and earlier are unaffected (BEDROCK-2026 December
update). Which rows are gated: ``ModelInfo.data_retention_gated`` in the catalogue.

Pure: data in, data out.
"""

from __future__ import annotations

from helpers.bedrock_rules import ModelInfo

__all__ = [
    "DATA_RETENTION_BLOCKED", "DATA_RETENTION_MODES", "DEFAULT_DATA_RETENTION", "check_mode", "retention_refusal",
]

DATA_RETENTION_MODES = ("default", "none", "aws_review", "provider_data_share", "inherit")
# The endpoint plays an account whose mode serves every model, as a fresh account's does (unconfirmed).
DEFAULT_DATA_RETENTION = "default"
# UNCONFIRMED: Bedrock's status, error type and text for a blocked request are not documented anywhere found;
# an account-level refusal is modelled as AccessDeniedException (403), in AWS's usual sentence style.
DATA_RETENTION_BLOCKED = (
    "{name} is not available while this account's data retention mode in this Region is 'none'. "
    "Choose another data retention mode with PutAccountDataRetention, or use another model."
)


def check_mode(mode: str) -> str:
    """``mode`` if it is one of Bedrock's data-retention modes; else a ValueError naming them."""
    if mode not in DATA_RETENTION_MODES:
        raise ValueError(f"data_retention must be one of {', '.join(DATA_RETENTION_MODES)}, not {mode!r}")
    return mode


def retention_refusal(model: ModelInfo, mode: str) -> str | None:
    """The refusal text when the account's ``mode`` blocks ``model``; None when the model is served."""
    if mode == "none" and model.data_retention_gated:
        return DATA_RETENTION_BLOCKED.format(name=model.name)
    return None
