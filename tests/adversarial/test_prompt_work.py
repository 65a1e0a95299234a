"""Issue 23, bug 2: what a prompt costs the server grows with its length, never with its square.

Each prompt below is a shape that made a pattern in the model half try every start position against the rest
of the prompt; at these sizes that work took the better part of an hour, during which every other client of
the room waited. Each call must now be answered inside an SDK's read timeout, and the room served beside it.
"""

from __future__ import annotations

import json

import pytest
from adversarial_support import HAIKU, KEY, SECRET, Child, messages_body, still_serves
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from test_probes import _send

# 180 KB of "1,1,1,..." (about 180,000 tokens, inside Haiku 4.5's 200,000-token window, so the prompt is
# answered rather than refused as too long): the length request ("N tokens") tried each digit as a start,
# 1.5 s at 20 KB and growing with the square.
DIGIT_LIST = "1," * 90_000
# A 200,000-digit number: the calculator's expression pattern tried each digit as a start.
LONG_NUMBER = "7" * 200_000
CALCULATOR = {"name": "calculator", "description": "Calculate an arithmetic expression",
              "input_schema": {"type": "object", "properties": {"expression": {"type": "string"}},
                               "required": ["expression"]}}
# Runs of 4,300 digits (one short of Python's conversion limit) in a string: the long-integer scan tried
# 4,300 digits at every digit. 100 runs come to about 143,000 tokens, inside the context window.
# A model the Messages route serves (see tests/endpoint/test_messages_api.py).
MESSAGES_MODEL = "global.anthropic.claude-sonnet-5-5"
DIGIT_RUNS = ("7" * 4300 + " ") * 100


@pytest.mark.parametrize("prompt", [DIGIT_LIST, DIGIT_RUNS], ids=["digit-list", "digit-runs"])
def test_invoke_model_answers_a_long_digit_prompt(child: Child, prompt: str) -> None:
    response = child.client().invoke_model(modelId=HAIKU, body=json.dumps(messages_body(prompt)))
    assert json.loads(response["body"].read())["type"] == "message"
    still_serves(child)


def test_converse_answers_a_long_digit_prompt(child: Child) -> None:
    answer = child.client().converse(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": DIGIT_LIST}]}],
                                     inferenceConfig={"maxTokens": 50})
    assert answer["output"]["message"]["role"] == "assistant"


def test_messages_route_answers_a_long_digit_prompt(child: Child) -> None:
    body = json.dumps({"model": MESSAGES_MODEL, "max_tokens": 50,
                       "messages": [{"role": "user", "content": DIGIT_LIST}]}).encode()
    request = AWSRequest(method="POST", url=child.url + "/anthropic/v1/messages", data=body,
                         headers={"content-type": "application/json", "anthropic-version": "2023-06-01"})
    SigV4Auth(Credentials(KEY, SECRET), "bedrock", "us-east-1").add_auth(request)
    status, _, data = _send(child, "POST", "/anthropic/v1/messages", body, dict(request.headers.items()))
    assert status == 200, data
    assert json.loads(data)["type"] == "message"


def test_a_forced_calculator_with_a_200000_digit_number_is_answered(child: Child) -> None:
    body = messages_body(f"calculate {LONG_NUMBER}", max_tokens=50)
    body.update(tools=[CALCULATOR], tool_choice={"type": "tool", "name": "calculator"})
    response = child.client().invoke_model(modelId=HAIKU, body=json.dumps(body))
    answer = json.loads(response["body"].read())
    assert answer["stop_reason"] == "tool_use"
    tool_use = next(block for block in answer["content"] if block["type"] == "tool_use")
    assert tool_use["name"] == "calculator" and isinstance(tool_use["input"]["expression"], str)
    still_serves(child)
