"""Shared facts about the lesson notebooks for the notebook tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"

# Every lesson's parameters cell defines these names (DESIGN.md: nothing else hard-codes them).
REQUIRED_PARAMETERS = ("backend", "region", "model_id", "prompt", "max_tokens", "seed", "time_scale")

# The second parameter set CI runs every lesson with; a lesson may override it (for instance a
# thinking lesson needs a model that supports thinking) under metadata["course"]["alt_parameters"].
DEFAULT_ALT_PARAMETERS: dict[str, Any] = {
    "seed": 7,
    # Another current model, through a regional profile: the lessons must not depend on the default's id form.
    "model_id": "us.anthropic.claude-sonnet-4-6",
    "prompt": "Write a haiku about rivers",
    "time_scale": 0.0,
}


def lesson_paths() -> list[Path]:
    return sorted(p for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]


def source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def alt_parameters(nb: dict[str, Any]) -> dict[str, Any]:
    params = dict(DEFAULT_ALT_PARAMETERS)
    params.update(nb.get("metadata", {}).get("course", {}).get("alt_parameters", {}))
    return params
