"""Every model of the catalogue, in every id form, through real boto3: served, EOL, on-demand refusal or invalid.

The expected answer of each case is worked out from the catalogue row by hand-written rules below (not by
calling resolve_model), so a wrong row or a wrong lookup both show up here.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers.bedrock_rules import CROSS_REGION_PREFIXES, MODELS, ModelInfo
from helpers.local_bedrock import LocalBedrock

TODAY = date.today()
EOL_TEXT = "This model version has reached the end of its life. Please refer to the AWS documentation for more details."
INVALID_TEXT = "The provided model identifier is invalid."
NOT_FOUND_TEXT = "Could not resolve the foundation model from the provided model identifier."


def _body(info: ModelInfo) -> bytes:
    if info.api == "text_completion":
        return json.dumps({"prompt": "\n\nHuman: hi\n\nAssistant:", "max_tokens_to_sample": 5}).encode()
    return json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()


def _expected(info: ModelInfo, form: str, prefix: str | None) -> tuple[str, str]:
    """(outcome, message) Bedrock gives today for this id form of this model."""
    if prefix is not None and prefix not in info.profiles:
        return ("invalid", NOT_FOUND_TEXT if form == "profile_arn" else INVALID_TEXT)
    eol = info.eol is not None and TODAY >= info.eol
    if eol:
        return ("eol", EOL_TEXT)
    if prefix is None and not info.on_demand:
        return ("on_demand", f"Invocation of model ID {info.base_id} with on-demand throughput isn\u2019t supported. "
                             "Retry your request with the ID or ARN of an inference profile that contains this "
                             "model.")
    if info.access == "invitation":
        return ("access", "You don't have access to the model with the specified model ID.")
    return ("served", "")


def _cases() -> list[Any]:
    cases = []
    for info in MODELS.values():
        forms: list[tuple[str, str, str | None]] = [
            ("base", info.base_id, None),
            ("foundation_model_arn", f"arn:aws:bedrock:us-east-1::foundation-model/{info.base_id}", None),
        ]
        for dotted in CROSS_REGION_PREFIXES:
            prefix = dotted[:-1]
            forms.append(("profile", f"{dotted}{info.base_id}", prefix))
            forms.append(("profile_arn",
                          f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{dotted}{info.base_id}", prefix))
        for form, model_id, prefix in forms:
            cases.append(pytest.param(info, model_id, form, prefix, id=model_id))
    return cases


STATUS = {"served": 200, "eol": 404, "on_demand": 400, "invalid": 400, "access": 403}
ERROR = {"eol": "ResourceNotFoundException", "on_demand": "ValidationException", "access": "AccessDeniedException"}


@pytest.fixture(scope="module")
def table_client():
    with LocalBedrock(seed=0, time_scale=0) as server:
        yield server.client(config=Config(retries={"max_attempts": 1}))


@pytest.mark.parametrize(("info", "model_id", "form", "prefix"), _cases())
def test_every_id_form_answers_as_bedrock_does_today(table_client, info, model_id, form, prefix) -> None:
    outcome, message = _expected(info, form, prefix)
    for call in (table_client.invoke_model, table_client.invoke_model_with_response_stream):
        if outcome == "served":
            response = call(modelId=model_id, body=_body(info))
            assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
            if call is table_client.invoke_model:
                answer = json.loads(response["body"].read())
                if info.api == "messages":
                    assert answer["model"] == info.anthropic_name
            else:
                assert list(response["body"])  # at least one event
            continue
        with pytest.raises(ClientError) as caught:
            call(modelId=model_id, body=_body(info))
        error = caught.value.response
        expected_type = ERROR.get(outcome) or (
            "ResourceNotFoundException" if form == "profile_arn" else "ValidationException")
        expected_status = 404 if (outcome == "invalid" and form == "profile_arn") else STATUS[outcome]
        assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (expected_status,
                                                                                          expected_type)
        assert error["Error"]["Message"] == message


def test_the_table_covers_every_model_named_in_the_brief() -> None:
    names = {m.name for m in MODELS.values()}
    for wanted in ("Claude Instant 1.2", "Claude 2", "Claude 2.1", "Claude 3 Haiku", "Claude 3 Sonnet",
                   "Claude 3 Opus", "Claude 3.5 Haiku", "Claude 3.5 Sonnet", "Claude 3.5 Sonnet v2",
                   "Claude 3.7 Sonnet", "Claude Sonnet 4", "Claude Opus 4", "Claude Opus 4.1", "Claude Sonnet 4.5",
                   "Claude Haiku 4.5", "Claude Opus 4.5", "Claude Opus 4.6", "Claude Sonnet 4.6", "Claude Opus 4.7",
                   "Claude Opus 4.8", "Claude Opus 5", "Claude Opus 5.5", "Claude Sonnet 5", "Claude Sonnet 5.5",
                   "Claude Haiku 5.5", "Claude Fable 5", "Claude Fable 5.1", "Claude Mythos"):
        assert wanted in names


def test_converse_judges_ids_the_same_way(table_client) -> None:
    with pytest.raises(table_client.exceptions.ResourceNotFoundException, match="end of its life"):
        table_client.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0",
                              messages=[{"role": "user", "content": [{"text": "hi"}]}])
    with pytest.raises(table_client.exceptions.ValidationException, match="on-demand throughput isn\u2019t supported"):
        table_client.converse_stream(modelId="anthropic.claude-haiku-4-5-20251001-v1:0",
                                     messages=[{"role": "user", "content": [{"text": "hi"}]}])
