"""How Bedrock answers each form of model id, one case per rule, through real boto3.

Expected answers are written by hand from the sources (BEDROCK-2026.md of the course, captures), not worked
out from the catalogue; the catalogue's rows themselves are checked against their sources in
tests/model/test_catalogue_against_sources.py. The endpoint plays the day those sources were read
(as_of), so a case does not change meaning when a model's date passes.
"""

from __future__ import annotations

import json

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers.local_bedrock import LocalBedrock

WRITTEN_ON = "2026-12-06"  # tests/model/catalogue_sources.py WRITTEN_ON
# BEDROCK-2026.md "End of life on Bedrock"; captures err_invalid_model_* for the invalid id.
EOL_TEXT = "This model version has reached the end of its life. Please refer to the AWS documentation for more details."
INVALID_TEXT = "The provided model identifier is invalid."
NOT_FOUND_TEXT = "Could not resolve the foundation model from the provided model identifier."  # course's own text
# BEDROCK-2026.md "On-demand base ids" (typographic apostrophe), error_texts_from_issues.json.
ON_DEMAND = ("Invocation of model ID {} with on-demand throughput isn\u2019t supported. Retry your request with the "
             "ID or ARN of an inference profile that contains this model.")
ACCESS_TEXT = "You don't have access to the model with the specified model ID."  # capture texts (our-chat#3)
PROFILE_ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/{}"
FM_ARN = "arn:aws:bedrock:us-east-1::foundation-model/{}"
HAIKU_45 = "anthropic.claude-haiku-4-5-20251001-v1:0"

CASES = [
    # (rule, model id, expected status, error type or Anthropic model name, message)
    ("a profile the model has is served", f"global.{HAIKU_45}", 200, "claude-haiku-4-5-20251001", None),
    ("a system profile ARN the model has is served", PROFILE_ARN.format("jp.anthropic.claude-sonnet-4-6"), 200,
     "claude-sonnet-4-6", None),
    ("the bare id of a model served in-region is served", "anthropic.claude-opus-4-7", 200, "claude-opus-4-7", None),
    ("the base id of a profile-only model is refused", HAIKU_45, 400, "ValidationException",
     ON_DEMAND.format(HAIKU_45)),
    ("a foundation-model ARN is judged as its base id", FM_ARN.format(HAIKU_45), 400, "ValidationException",
     ON_DEMAND.format(HAIKU_45)),
    ("a profile the model lacks is an invalid id", "global.anthropic.claude-opus-4-1-20250805-v1:0", 400,
     "ValidationException", INVALID_TEXT),
    ("a profile ARN the model lacks is not found", PROFILE_ARN.format("apac.anthropic.claude-sonnet-4-6"), 404,
     "ResourceNotFoundException", NOT_FOUND_TEXT),
    ("an end-of-life model answers 404 in a profile form", "us.anthropic.claude-3-haiku-20240307-v1:0", 404,
     "ResourceNotFoundException", EOL_TEXT),
    ("an end-of-life model answers 404 by its base id", "anthropic.claude-3-7-sonnet-20250219-v1:0", 404,
     "ResourceNotFoundException", EOL_TEXT),
    ("a Legacy model is still served to an active account", "us.anthropic.claude-sonnet-4-20250514-v1:0", 200,
     "claude-sonnet-4-20250514", None),
    ("an invitation-only model is refused", "us.anthropic.claude-mythos-5", 403, "AccessDeniedException",
     ACCESS_TEXT),
    ("an unknown id is invalid", "anthropic.claude-unknown-9", 400, "ValidationException", INVALID_TEXT),
]


@pytest.fixture(scope="module")
def table_client():
    with LocalBedrock(seed=0, time_scale=0, as_of=WRITTEN_ON) as server:
        yield server.client(config=Config(retries={"max_attempts": 1}))


BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5,
                   "messages": [{"role": "user", "content": "hi"}]}).encode()


@pytest.mark.parametrize(("model_id", "status", "kind", "message"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_each_id_rule_answers_as_bedrock_does(table_client, model_id, status, kind, message) -> None:
    for call in (table_client.invoke_model, table_client.invoke_model_with_response_stream):
        if status == 200:
            response = call(modelId=model_id, body=BODY)
            assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
            if call is table_client.invoke_model:
                assert json.loads(response["body"].read())["model"] == kind  # Anthropic's name, not the id
            else:
                assert list(response["body"])
            continue
        with pytest.raises(ClientError) as caught:
            call(modelId=model_id, body=BODY)
        error = caught.value.response
        assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (status, kind)
        assert error["Error"]["Message"] == message


def test_converse_judges_ids_the_same_way(table_client) -> None:
    with pytest.raises(table_client.exceptions.ResourceNotFoundException, match="end of its life"):
        table_client.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0",
                              messages=[{"role": "user", "content": [{"text": "hi"}]}])
    with pytest.raises(table_client.exceptions.ValidationException, match="on-demand throughput isn\u2019t supported"):
        table_client.converse_stream(modelId="anthropic.claude-haiku-4-5-20251001-v1:0",
                                     messages=[{"role": "user", "content": [{"text": "hi"}]}])
