"""Converse for the legacy Text Completions models (Claude 2, 2.1, Instant 1.2).

Bedrock served Converse for these models by writing the conversation into the
``\\n\\nHuman: ... \\n\\nAssistant:`` prompt they expect; this module does the same, so a
Converse request gets the text InvokeModel gives for that prompt body. Text only: these models
take no images, tools or reasoning. A system prompt opens the first Human turn (the course's
rules want every prompt to begin with ``\\n\\nHuman:``).
"""

from __future__ import annotations

from typing import Any

from helpers.bedrock_rules import ModelInfo, Problem

from ..model.responder import PlannedChunk, ResponsePlan

__all__ = ["legacy_body", "legacy_events"]

_HUMAN_STOP = "\n\nHuman:"


def _turn_text(message: dict, path: str, model: ModelInfo, out: list[Problem]) -> str:
    texts = []
    for j, block in enumerate(message["content"]):
        kind = next(iter(block))
        if kind == "text":
            texts.append(block["text"])
        elif kind != "cachePoint":
            out.append(Problem(f"{path}.content[{j}].{kind}", f"{model.name} accepts text only through Converse",
                               "send text blocks, or use a Claude 3 or later model"))
    return "\n".join(texts)


def legacy_body(request: dict, model: ModelInfo, paths: Any, out: list[Problem]) -> dict:
    """The Text Completions body for a Converse request; ``paths`` learns where each key came from."""
    if "toolConfig" in request:
        out.append(Problem("toolConfig", f"{model.name} does not support tool use",
                           "remove toolConfig, or use a Claude 3 or later model"))
    messages = request["messages"]
    system = "\n".join(s["text"] for s in request.get("system", []) if "text" in s)
    prompt = ""
    for i, message in enumerate(messages):
        role = message["role"]
        expected = "user" if i % 2 == 0 else "assistant"
        if role != expected:
            out.append(Problem(f"messages[{i}].role", f'expected a "{expected}" turn here, found "{role}"',
                               "start with a user message and alternate user and assistant turns"))
        text = _turn_text(message, f"messages[{i}]", model, out)
        if i == 0 and system:
            text = f"{system}\n\n{text}"
        prompt += f"\n\nHuman: {text}" if role == "user" else f"\n\nAssistant: {text}"
    if messages and messages[-1]["role"] != "user":
        out.append(Problem(f"messages[{len(messages) - 1}].role", "the last message must be a user turn",
                           "end the conversation with the user's question"))
    config = request.get("inferenceConfig", {})
    body: dict[str, Any] = {"prompt": prompt + "\n\nAssistant:",
                            "max_tokens_to_sample": config.get("maxTokens", model.max_output_tokens)}
    paths.add("prompt", "messages")
    paths.add("max_tokens_to_sample", "inferenceConfig.maxTokens")
    for key, name in (("temperature", "temperature"), ("top_p", "topP"), ("stop_sequences", "stopSequences")):
        if name in config:
            body[key] = config[name]
            paths.add(key, f"inferenceConfig.{name}")
    return body


def legacy_events(plan: ResponsePlan) -> tuple[list[PlannedChunk], dict, str, dict]:
    """ConverseStream events, the Converse message, its stopReason and the stop_sequence field."""
    answer = plan.response_body
    stop = answer["stop"]
    if plan.stop_reason == "stop_sequence" and stop == _HUMAN_STOP:
        reason = "end_turn"  # the model finished its turn; Converse does not call that a stop sequence
    else:
        reason = plan.stop_reason
    chunks = [PlannedChunk({"event": "messageStart", "body": {"role": "assistant"}}, 0)]
    for chunk in plan.chunks:
        if chunk.payload["completion"]:
            delta = {"delta": {"text": chunk.payload["completion"]}, "contentBlockIndex": 0}
            chunks.append(PlannedChunk({"event": "contentBlockDelta", "body": delta}, chunk.output_tokens))
    chunks.append(PlannedChunk({"event": "contentBlockStop", "body": {"contentBlockIndex": 0}}, 0))
    chunks.append(PlannedChunk({"event": "messageStop", "body": {"stopReason": reason}}, 0))
    chunks.append(PlannedChunk({"event": "metadata", "body": {}}, 0))
    message = {"role": "assistant", "content": [{"text": answer["completion"]}]}
    return chunks, message, reason, {"stop_sequence": stop if reason == "stop_sequence" else None}
