"""Thinking sent back: unchanged it is accepted; changed, unsigned, reordered or dropped it is a 400.

Through real boto3 (InvokeModel, Converse) and the anthropic SDK (the Messages route). Expected texts, by hand:
- "messages.1.content.0: Invalid `signature` in `thinking` block": Anthropic's text as users pasted it
  (ding113/claude-code-hub#518, kaitranntt/ccs#415), behind Bedrock's "The model returned the following errors: "
  (Portkey-AI/gateway#1142);
- "messages.1.content.0.thinking.signature: Field required": Bedrock's answer to an empty signature
  (can1357/oh-my-pi#10486);
- "Expected `thinking` or `redacted_thinking`, but found `text`. ...": Bedrock's answer to a final assistant turn
  without its thinking (langchain-ai/langchain-aws#844);
- Fable 5.2's model card: "Thinking blocks are bound to the model and the conversation prefix that produced them.
  Replay earlier turns unchanged, or a request returns a 400 error." (its exact 400 text is unconfirmed).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anthropic
import boto3
import pytest
from anthropic import AnthropicBedrock
from endpoint_support import HAIKU, start_cli

from helpers.local_bedrock import LocalBedrock

FABLE = "us.anthropic.claude-fable-5-2"
PREFIX = "The model returned the following errors: "
INVALID = PREFIX + "messages.1.content.0: Invalid `signature` in `thinking` block"
MISSING = PREFIX + "messages.1.content.0.thinking.signature: Field required"
THINK = {"type": "enabled", "budget_tokens": 1024}
LIGHTHOUSE_TOOL = {
    "name": "lighthouse_status",
    "description": "Whether a lighthouse's lamp is lit",
    "input_schema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
}


def _invoke(client: Any, body: dict, model: str = HAIKU) -> dict:
    return json.loads(client.invoke_model(modelId=model, body=json.dumps(body))["body"].read())


def _body(messages: list, **extra: Any) -> dict:
    return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 3000, "messages": messages, **extra}


def _refusal(client: Any, body: dict, model: str = HAIKU) -> str:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        _invoke(client, body, model)
    return caught.value.response["Error"]["Message"]


@pytest.fixture(scope="module")
def two_turns(client: Any) -> dict:
    """A second-turn body whose first answer (thinking + text) is replayed exactly as it came."""
    first = [{"role": "user", "content": "Which is older, the abacus or the astrolabe?"}]
    answer = _invoke(client, _body(first, thinking=THINK))
    assert [b["type"] for b in answer["content"]] == ["thinking", "text"]
    return _body([*first, {"role": "assistant", "content": answer["content"]},
                  {"role": "user", "content": "How were they used?"}], thinking=THINK)


# --------------------------------------------------------------------------- every model (Haiku 4.5 here)


def test_thinking_replayed_unchanged_is_accepted(client: Any, two_turns: dict) -> None:
    assert _invoke(client, two_turns)["stop_reason"] == "end_turn"


def test_a_changed_thinking_text_is_refused(client: Any, two_turns: dict) -> None:
    body = copy.deepcopy(two_turns)
    body["messages"][1]["content"][0]["thinking"] = body["messages"][1]["content"][0]["thinking"].strip() + " "
    assert _refusal(client, body) == INVALID


def test_a_changed_signature_is_refused(client: Any, two_turns: dict) -> None:
    body = copy.deepcopy(two_turns)
    signature = body["messages"][1]["content"][0]["signature"]
    body["messages"][1]["content"][0]["signature"] = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    assert _refusal(client, body) == INVALID


@pytest.mark.parametrize("lost", ["", None])
def test_a_lost_signature_is_bedrocks_field_required(client: Any, two_turns: dict, lost: str | None) -> None:
    body = copy.deepcopy(two_turns)
    block = body["messages"][1]["content"][0]
    if lost is None:
        del block["signature"]
    else:
        block["signature"] = lost
    assert _refusal(client, body) == MISSING


def test_older_models_may_still_trim_earlier_turns(client: Any, two_turns: dict) -> None:
    # Only preserved-thinking models bind a block to what came before it: a rewritten first question is fine.
    body = copy.deepcopy(two_turns)
    body["messages"][0]["content"] = "Which came first, the abacus or the astrolabe?"
    assert _invoke(client, body)["stop_reason"] == "end_turn"


def test_a_tool_turn_with_thinking_round_trips_and_a_mangled_signature_does_not(client: Any) -> None:
    tools = {"tools": [LIGHTHOUSE_TOOL], "thinking": THINK}
    first = [{"role": "user", "content": "Is the lamp of the Fastnet lighthouse lit? Use the tool."}]
    answer = _invoke(client, _body(first, **tools))
    assert answer["stop_reason"] == "tool_use" and answer["content"][0]["type"] == "thinking"
    call = next(b for b in answer["content"] if b["type"] == "tool_use")
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "lit"}]}
    body = _body([*first, {"role": "assistant", "content": answer["content"]}, result], **tools)
    assert _invoke(client, body)["stop_reason"] == "end_turn"
    # Client code that rebuilds the turn from parsed fields and drops the signature: the failure users hit most.
    body["messages"][1]["content"][0] = {"type": "thinking", "thinking": answer["content"][0]["thinking"]}
    assert _refusal(client, body) == MISSING


def test_converse_reasoning_content_round_trips_and_a_changed_one_is_refused(client: Any) -> None:
    extra = {"additionalModelRequestFields": {"thinking": THINK}, "inferenceConfig": {"maxTokens": 3000}}
    first = [{"role": "user", "content": [{"text": "Name two tidal rivers."}]}]
    answer = client.converse(modelId=HAIKU, messages=first, **extra)["output"]["message"]
    assert "reasoningContent" in answer["content"][0]
    messages = [*first, answer, {"role": "user", "content": [{"text": "Which is longer?"}]}]
    assert client.converse(modelId=HAIKU, messages=messages, **extra)["stopReason"] == "end_turn"
    changed = copy.deepcopy(messages)
    changed[1]["content"][0]["reasoningContent"]["reasoningText"]["text"] += "!"
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.converse(modelId=HAIKU, messages=changed, **extra)
    assert caught.value.response["Error"]["Message"] == INVALID


def test_anthropic_bedrock_client_replays_its_own_thinking(server: LocalBedrock) -> None:
    sdk = AnthropicBedrock(base_url=server.endpoint_url, aws_access_key="x", aws_secret_key="y",
                           aws_region="us-east-1", max_retries=0)
    # Bedrock's version through extra_body: SDK 2.x's dated default is refused by Haiku 4.5 (BEDROCK-2026).
    kwargs = {"model": HAIKU, "max_tokens": 3000, "thinking": THINK,
              "extra_body": {"anthropic_version": "bedrock-2023-05-31"}}
    first = [{"role": "user", "content": "Is a tomato a fruit?"}]
    answer = sdk.messages.create(messages=first, **kwargs)
    messages = [*first, {"role": "assistant", "content": answer.content}, {"role": "user", "content": "Why?"}]
    assert sdk.messages.create(messages=messages, **kwargs).stop_reason == "end_turn"


# --------------------------------------------------------------------------- Fable 5.2: preserved thinking


@pytest.fixture(scope="module")
def sdk(server: LocalBedrock) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="local", max_retries=0)


@pytest.fixture(scope="module")
def fable_turns(sdk: anthropic.Anthropic) -> list[dict]:
    """Three turns with Fable 5.2 (its thinking is always on), each answer replayed as the SDK returned it."""
    messages: list[dict] = []
    for question in ("Name a bird that cannot fly.", "Where does it live?", "What does it eat?"):
        messages.append({"role": "user", "content": question})
        answer = sdk.messages.create(model=FABLE, max_tokens=4000, messages=messages)
        assert answer.content[0].type == "thinking"
        messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in answer.content]})
    return [*messages, {"role": "user", "content": "Thanks."}]


def _fable_refusal(sdk: anthropic.Anthropic, messages: list[dict]) -> str:
    with pytest.raises(anthropic.BadRequestError) as caught:
        sdk.messages.create(model=FABLE, max_tokens=4000, messages=messages)
    return caught.value.body["error"]["message"]


def test_fable_conversation_replayed_unchanged_is_accepted(sdk: anthropic.Anthropic, fable_turns: list) -> None:
    with sdk.messages.stream(model=FABLE, max_tokens=4000, messages=fable_turns) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "thinking" and final.stop_reason == "end_turn"


def test_fable_refuses_a_changed_earlier_turn(sdk: anthropic.Anthropic, fable_turns: list) -> None:
    changed = copy.deepcopy(fable_turns)
    changed[2]["content"] = "Where does it nest?"  # the question before the second answer
    assert _fable_refusal(sdk, changed).startswith("messages.3.content.0: Invalid `signature` in `thinking` block. "
                                                   "The block is bound to a different conversation.")


def test_fable_refuses_reordered_blocks(sdk: anthropic.Anthropic, fable_turns: list) -> None:
    reordered = copy.deepcopy(fable_turns)
    reordered[1]["content"] = reordered[1]["content"][::-1]  # text first, thinking after
    assert _fable_refusal(sdk, reordered).startswith(
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`.")
    swapped = copy.deepcopy(fable_turns)  # two turns' thinking blocks trade places
    swapped[1]["content"][0], swapped[3]["content"][0] = swapped[3]["content"][0], swapped[1]["content"][0]
    assert "messages.1.content.0: Invalid `signature` in `thinking` block" in _fable_refusal(sdk, swapped)


def test_fable_refuses_a_dropped_block(sdk: anthropic.Anthropic, fable_turns: list) -> None:
    dropped = copy.deepcopy(fable_turns)
    dropped[3]["content"] = dropped[3]["content"][1:]
    assert _fable_refusal(sdk, dropped).startswith(
        "messages.3.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`.")


def test_fable_refuses_thinking_another_model_wrote(client: Any, sdk: anthropic.Anthropic,
                                                   two_turns: dict) -> None:
    # Haiku 4.5's (valid) thinking, replayed into a Fable 5.2 conversation.
    messages = copy.deepcopy(two_turns["messages"])
    assert "Invalid `signature` in `thinking` block" in _fable_refusal(sdk, messages)


# --------------------------------------------------------------------------- Fable 5.2: sampling


@pytest.mark.parametrize(("extra", "message"), [
    ({"temperature": 0.7}, "`temperature` may only be set to 1.0 for this model."),
    ({"top_p": 0.9}, "`top_p` may only be set to 0.99 for this model."),
    ({"temperature": 1.0, "top_p": 0.99},
     "`temperature` and `top_p` cannot both be specified for this model. Please use only one."),
    ({"top_k": 40}, "`top_k` is not supported for this model."),
])
def test_fable_sampling_outside_its_fixed_values_is_refused(client: Any, extra: dict, message: str) -> None:
    body = _body([{"role": "user", "content": "Hello"}], **extra)
    assert _refusal(client, body, FABLE) == PREFIX + message


@pytest.mark.parametrize("extra", [{}, {"temperature": 1.0}, {"top_p": 0.99}])
def test_fable_takes_its_fixed_sampling_values_or_none(client: Any, extra: dict) -> None:
    assert _invoke(client, _body([{"role": "user", "content": "Hello"}], **extra), FABLE)["stop_reason"] == "end_turn"


# --------------------------------------------------------------------------- data retention


def test_data_retention_none_blocks_fable_but_not_haiku() -> None:
    with LocalBedrock(seed=0, time_scale=0, data_retention="none") as locked:
        client = locked.client()
        body = _body([{"role": "user", "content": "Hello"}])
        with pytest.raises(client.exceptions.AccessDeniedException, match="data retention mode"):
            _invoke(client, body, FABLE)
        with pytest.raises(anthropic.PermissionDeniedError, match="data retention mode"):
            anthropic.Anthropic(base_url=locked.anthropic_base_url, api_key="local", max_retries=0).messages.create(
                model=FABLE, max_tokens=100, messages=body["messages"])
        assert _invoke(client, body)["stop_reason"] == "end_turn"  # Haiku 4.5 is unaffected


def test_the_default_data_retention_serves_fable_and_a_wrong_mode_is_named(client: Any) -> None:
    assert _invoke(client, _body([{"role": "user", "content": "Hello"}]), FABLE)["stop_reason"] == "end_turn"
    with pytest.raises(ValueError, match="default, none, aws_review, provider_data_share, inherit"):
        LocalBedrock(data_retention="off")


def test_the_cli_flag_blocks_fable_and_names_the_modes() -> None:
    root = Path(__file__).resolve().parents[2]
    wrong = subprocess.run([sys.executable, "-m", "helpers.local_bedrock", "--data-retention", "off"], cwd=root,
                           capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "invalid choice: 'off'" in wrong.stderr
    process, url = start_cli("--time-scale", "0", "--data-retention", "none")
    try:
        client = boto3.client("bedrock-runtime", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="y")
        with pytest.raises(client.exceptions.AccessDeniedException, match="data retention mode"):
            _invoke(client, _body([{"role": "user", "content": "Hello"}]), FABLE)
    finally:
        process.terminate()
        process.wait(timeout=30)
