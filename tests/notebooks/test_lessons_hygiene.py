"""Static checks on the stored lessons: the conventions CI relies on."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from lessons import REQUIRED_PARAMETERS, alt_parameters, code_cells, lesson_paths, load, source

from helpers.bedrock_rules import identify_model, resolve_model

LESSONS = lesson_paths()
ids = [p.stem for p in LESSONS]

SECRET = re.compile(
    r"(AKIA|ASIA)[0-9A-Z]{16}"  # access key ids
    r"|aws_secret_access_key\s*[=:]\s*\S{20,}"
    r"|arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:"  # ARNs carrying an account id
    r"|account(_?id)?\W{0,4}[:=]\W{0,4}\d{12}\b"  # account ids printed as a field
    r"|X-Amz-Security-Token|Signature=[0-9a-f]{64}",
    re.IGNORECASE,
)
EXCLUDE_TAGS = ("nbval-ignore-output", "nbval-skip")
# Words about how the course is tested, which a learner has no use for. Cell tags (metadata) are where
# nbval's instructions go; papermill may be taught (it is a tool learners use), never as "what CI runs".
PLUMBING = re.compile(
    r"\bnbval\b|\bpytest\b|\bour tests\b|\bthe course'?s tests\b|\btest suite\b|second (parameter )?set"
    r"|\bparameters'? second\b|\bconftest\b",
    re.IGNORECASE,
)
PLUMBING_CASED = re.compile(r"\bCI\b|NBVAL")
# Lesson 12 teaches learners to test their own streaming code with pytest and the helpers.testing fixtures: there
# "pytest" and "conftest" are the subject, not talk about how the course itself is tested.
TEACHES_TESTING = {"12_streaming_to_a_web_page"}
TEACHING_WORDS = re.compile(r"\bpytest\b|\bconftest\b", re.IGNORECASE)


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_has_one_parameters_cell_with_every_parameter(path: Path) -> None:
    cells = [c for c in code_cells(load(path)) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{path.name}: needs exactly one code cell tagged 'parameters'"
    assigned = {
        target.id
        for node in ast.parse(source(cells[0])).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    missing = [name for name in REQUIRED_PARAMETERS if name not in assigned]
    assert not missing, f"{path.name}: parameters cell does not assign {missing}"


def _parameters_cell(path: Path) -> dict:
    (cell,) = [c for c in code_cells(load(path)) if "parameters" in c.get("metadata", {}).get("tags", [])]
    return cell


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_backend_and_region_default_to_the_environment(path: Path) -> None:
    """``BEDROCK_BACKEND=aws make lab`` and ``AWS_REGION`` must reach every lesson (the README says so)."""
    values = {
        target.id: node.value
        for node in ast.parse(source(_parameters_cell(path))).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for name in ("backend", "region"):
        value = values.get(name)
        assert isinstance(value, ast.Constant) and value.value is None, (
            f"{path.name}: the parameters cell must set {name} = None, so the environment decides unless overridden"
        )
    cells = code_cells(load(path))
    first_use = next(
        i
        for i, c in enumerate(cells)
        if "parameters" not in c.get("metadata", {}).get("tags", []) and "backend" in source(c)
    )
    assert "backend, region = resolve_backend(backend, region)" in source(cells[first_use]), (
        f"{path.name}: code cell {first_use} uses backend before resolving it with helpers.client.resolve_backend"
    )


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_every_model_a_lesson_calls_is_served_today(path: Path) -> None:
    """A retired or base id in a parameters cell would fail on AWS today (and on the local endpoint)."""
    values = {
        target.id: node.value.value
        for node in ast.parse(source(_parameters_cell(path))).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for params in (values, {**values, **alt_parameters(load(path))}):
        for name, value in params.items():
            if not name.endswith("model_id"):
                continue
            if name.startswith("legacy"):
                identify_model(value)  # retired on purpose (replayed with as_of), but a real id
                continue
            resolve_model(value)  # raises ModelLookupError with Bedrock's answer if it is not served today


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_outputs_are_stored_and_numbered(path: Path) -> None:
    cells = code_cells(load(path))
    assert any(c.get("outputs") for c in cells), f"{path.name}: no stored outputs for nbval to compare"
    for i, cell in enumerate(cells):
        if cell.get("outputs"):
            assert cell.get("execution_count") is not None, f"{path.name}: code cell {i} has outputs but no count"


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_no_credentials_or_account_ids_stored(path: Path) -> None:
    text = json.dumps(load(path))
    match = SECRET.search(text)
    assert match is None, f"{path.name}: stored content looks like a credential or account id: {match.group(0)!r}"


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_cells_excluded_from_comparison_say_why(path: Path) -> None:
    """An nbval tag keeps its reason in the cell's metadata, out of the learner's sight."""
    for i, cell in enumerate(code_cells(load(path))):
        metadata = cell.get("metadata", {})
        if any(t in metadata.get("tags", []) for t in EXCLUDE_TAGS):
            why = metadata.get("course", {}).get("why_output_ignored", "")
            assert why.strip(), (
                f"{path.name}: code cell {i} is excluded from nbval without a metadata course.why_output_ignored"
            )


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_no_test_plumbing_in_what_a_learner_reads(path: Path) -> None:
    for i, cell in enumerate(load(path)["cells"]):
        text = source(cell)
        if path.stem in TEACHES_TESTING:
            text = TEACHING_WORDS.sub("", text)
        found = PLUMBING.search(text) or PLUMBING_CASED.search(text)
        assert found is None, (
            f"{path.name}: cell {i} ({cell.get('cell_type')}) mentions {found.group(0)!r}: how the course is "
            "tested is not lesson text; put nbval instructions in the cell's tags, drop sentences about tests or CI"
        )


@pytest.mark.parametrize("path", LESSONS, ids=ids)
def test_lesson_opens_and_closes_with_the_course_frame(path: Path) -> None:
    markdown = [source(c).lower() for c in load(path)["cells"] if c.get("cell_type") == "markdown"]
    assert markdown, f"{path.name}: no explanations"
    assert "what you will learn" in markdown[0], f"{path.name}: first cell should say what you will learn"
    assert "what you learned" in markdown[-1], f"{path.name}: last cell should say what you learned / next"
