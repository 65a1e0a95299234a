"""The accumulator: the pure fold on hand-made events, and the fast path giving identical snapshots."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.accumulate import (
    EMPTY,
    Accumulator,
    OtherBlock,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    fold,
    fold_all,
)
from helpers.events import (
    CompletionChunk,
    ContentBlockStart,
    ContentBlockStop,
    ConverseBlockDelta,
    ConverseBlockStart,
    ConverseBlockStop,
    ConverseMessageStart,
    ConverseMessageStop,
    ConverseMetadata,
    InputJsonDelta,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    SignatureDelta,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    UnknownEvent,
)
from helpers.stream import StreamResult


def _messages_stream(pieces: list[str], tool_pieces: list[str]) -> list[StreamEvent]:
    events: list[StreamEvent] = [
        MessageStart(1, {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 7, "output_tokens": 1}}),
        ContentBlockStart(2, 0, {"type": "thinking", "thinking": ""}),
        ThinkingDelta(3, 0, "Let me "),
        ThinkingDelta(4, 0, "think."),
        SignatureDelta(5, 0, "sig-"),
        SignatureDelta(6, 0, "abc"),
        ContentBlockStop(7, 0),
        ContentBlockStart(8, 1, {"type": "text", "text": ""}),
    ]
    events += [TextDelta(10 + i, 1, p) for i, p in enumerate(pieces)]
    events += [ContentBlockStop(100, 1), Ping(101)]
    events += [ContentBlockStart(102, 2, {"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": {}})]
    events += [InputJsonDelta(103 + i, 2, p) for i, p in enumerate(tool_pieces)]
    events += [
        ContentBlockStop(200, 2),
        MessageDelta(201, "tool_use", None, {"output_tokens": 42}),
        MessageStop(202, {"inputTokenCount": 7, "outputTokenCount": 42, "invocationLatency": 9}),
    ]
    return events


def test_fold_builds_every_block_kind_usage_and_metrics() -> None:
    events = _messages_stream(["Hel", "lo", " world"], ['{"city": ', '"Paris"}'])
    snap = fold_all(events)
    assert snap.message_id == "msg_1" and snap.model == "claude"
    assert snap.blocks == (
        ThinkingBlock("Let me think.", "sig-abc"),
        TextBlock("Hello world"),
        ToolUseBlock("tu_1", "get_weather", '{"city": "Paris"}', {"city": "Paris"}),
    )
    assert snap.text == "Hello world"
    assert snap.thinking == "Let me think."
    assert snap.stop_reason == "tool_use" and snap.stop_sequence is None
    assert snap.usage == {"input_tokens": 7, "output_tokens": 42}
    assert snap.metrics["outputTokenCount"] == 42
    assert snap.event_count == len(events)
    assert snap.output_event_count == 2 + 3 + 2  # thinking, text and tool-input deltas; signatures are not output


def test_fold_is_pure() -> None:
    state = fold(EMPTY, ContentBlockStart(1, 0, {"type": "text", "text": ""}))
    before = state
    after = fold(state, TextDelta(2, 0, "x"))
    assert before.text == "" and before.event_count == 1
    assert after.text == "x" and after.event_count == 2
    assert EMPTY.blocks == () and EMPTY.event_count == 0


def test_tool_input_is_parsed_only_when_the_block_stops() -> None:
    events = [
        ContentBlockStart(1, 0, {"type": "tool_use", "id": "t", "name": "n", "input": {}}),
        InputJsonDelta(2, 0, '{"a": [1, 2]}'),
    ]
    open_state = fold_all(events)
    assert open_state.blocks[0].input is None
    assert fold(open_state, ContentBlockStop(3, 0)).blocks[0].input == {"a": [1, 2]}


def test_tool_input_incomplete_or_empty() -> None:
    start = ContentBlockStart(1, 0, {"type": "tool_use", "id": "t", "name": "n", "input": {}})
    assert fold_all([start, InputJsonDelta(2, 0, '{"a": '), ContentBlockStop(3, 0)]).blocks[0].input is None
    assert fold_all([start, InputJsonDelta(2, 0, "[1]"), ContentBlockStop(3, 0)]).blocks[0].input is None
    assert fold_all([start, ContentBlockStop(3, 0)]).blocks[0].input == {}


def test_unknown_events_only_count() -> None:
    state = fold_all([TextDelta(1, 0, "a")])
    after = fold(state, UnknownEvent(2, "citations_delta", {"x": 1}))
    assert after.event_count == 2
    assert after.blocks == state.blocks and after.usage == state.usage


def test_unknown_block_kind_is_kept() -> None:
    block = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}
    snap = fold_all([ContentBlockStart(1, 0, block), ContentBlockStop(2, 0)])
    assert snap.blocks == (OtherBlock("server_tool_use", block),)
    assert snap.assistant_message()["content"] == [block]  # goes back on the next turn as it came


def test_redacted_thinking_is_a_block_of_its_own_kept_in_order() -> None:
    snap = fold_all(
        [
            ContentBlockStart(1, 0, {"type": "redacted_thinking", "data": "xyz"}),
            ContentBlockStop(2, 0),
            ContentBlockStart(3, 1, {"type": "text", "text": ""}),
            TextDelta(4, 1, "Hi"),
        ]
    )
    assert snap.blocks == (RedactedThinkingBlock("xyz"), TextBlock("Hi"))
    assert snap.text == "Hi" and snap.thinking == ""
    assert snap.assistant_message()["content"] == [
        {"type": "redacted_thinking", "data": "xyz"},
        {"type": "text", "text": "Hi"},
    ]


def test_legacy_completion_chunks() -> None:
    metrics = {"inputTokenCount": 5, "outputTokenCount": 3, "invocationLatency": 10, "firstByteLatency": 2}
    events = [
        CompletionChunk(1, " Hello", None, None),
        CompletionChunk(2, " there", None, None),
        CompletionChunk(3, "", "stop_sequence", "\n\nHuman:", metrics),
    ]
    snap = fold_all(events)
    assert snap.text == " Hello there"
    assert snap.stop_reason == "stop_sequence" and snap.stop_sequence == "\n\nHuman:"
    assert snap.metrics == metrics
    assert snap.usage == {"input_tokens": 5, "output_tokens": 3}
    assert snap.output_event_count == 2


def test_converse_events() -> None:
    events = [
        ConverseMessageStart(1, "assistant"),
        ConverseBlockDelta(2, 0, {"reasoningContent": {"text": "hmm"}}),
        ConverseBlockDelta(3, 0, {"reasoningContent": {"signature": "S"}}),
        ConverseBlockStop(4, 0),
        ConverseBlockDelta(5, 1, {"text": "Hi "}),
        ConverseBlockDelta(6, 1, {"text": "there"}),
        ConverseBlockStop(7, 1),
        ConverseBlockStart(8, 2, {"toolUse": {"toolUseId": "t1", "name": "lookup"}}),
        ConverseBlockDelta(9, 2, {"toolUse": {"input": '{"q":'}}),
        ConverseBlockDelta(10, 2, {"toolUse": {"input": ' "x"}'}}),
        ConverseBlockStop(11, 2),
        ConverseMessageStop(12, "tool_use"),
        ConverseMetadata(13, {"inputTokens": 4, "outputTokens": 9, "totalTokens": 13}, {"latencyMs": 120}),
    ]
    snap = fold_all(events)
    assert snap.blocks == (
        ThinkingBlock("hmm", "S"),
        TextBlock("Hi there"),
        ToolUseBlock("t1", "lookup", '{"q": "x"}', {"q": "x"}),
    )
    assert snap.stop_reason == "tool_use"
    assert snap.usage["output_tokens"] == 9 and snap.usage["outputTokens"] == 9
    assert snap.metrics == {"latencyMs": 120}
    assert snap.output_event_count == 5  # "hmm", "Hi ", "there" and two tool pieces; the signature is not output
    assert Accumulator().add_all(events).snapshot() == snap


# --- property: any split of a tool's JSON accumulates to the same object -------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    pieces, last = [], 0
    for p in [*points, len(text)]:
        pieces.append(text[last:p])
        last = p
    return pieces


@settings(max_examples=200, deadline=None)
@given(
    value=st.dictionaries(st.text(max_size=10), json_values, max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=30),
    ascii_only=st.booleans(),
)
def test_any_split_of_tool_json_accumulates_to_the_same_object(
    value: dict[str, Any], cuts: list[int], ascii_only: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    pieces = _split(text, cuts)
    assert "".join(pieces) == text
    events = [ContentBlockStart(0, 0, {"type": "tool_use", "id": "t", "name": "f", "input": {}})]
    events += [InputJsonDelta(i + 1, 0, p) for i, p in enumerate(pieces)]
    events.append(ContentBlockStop(len(pieces) + 1, 0))
    pure = fold_all(events)
    assert pure.blocks[0].input == value
    assert Accumulator().add_all(events).snapshot() == pure
    assert StreamResult.from_events(events).snapshot == pure


# --- property: folding on from any snapshot equals reading straight through ------------------------
# There is one fold (Accumulator); fold(state, event) continues it from a snapshot. So a snapshot must hold
# everything the fold needs, whatever the events so far: nothing may be lost between two events.

small_text = st.text(max_size=6)
index = st.integers(min_value=0, max_value=3)
any_event = st.one_of(
    st.builds(
        MessageStart,
        st.just(0),
        st.fixed_dictionaries({"id": small_text, "usage": st.fixed_dictionaries({"input_tokens": st.integers(0, 9)})}),
    ),
    st.builds(
        ContentBlockStart,
        st.just(0),
        index,
        st.sampled_from(
            [
                {"type": "text", "text": ""},
                {"type": "tool_use", "id": "t", "name": "n", "input": {}},
                {"type": "thinking", "thinking": ""},
                {"type": "redacted_thinking", "data": "d"},
            ]
        ),
    ),
    st.builds(TextDelta, st.just(0), index, small_text),
    st.builds(InputJsonDelta, st.just(0), index, st.sampled_from(['{"a"', ": 1", "}", "", "[", "{}"])),
    st.builds(ThinkingDelta, st.just(0), index, small_text),
    st.builds(SignatureDelta, st.just(0), index, small_text),
    st.builds(ContentBlockStop, st.just(0), index),
    st.builds(
        MessageDelta,
        st.just(0),
        st.sampled_from([None, "end_turn", "max_tokens"]),
        st.none(),
        st.fixed_dictionaries({"output_tokens": st.integers(0, 99)}),
    ),
    st.builds(MessageStop, st.just(0), st.fixed_dictionaries({"outputTokenCount": st.integers(0, 9)})),
    st.builds(Ping, st.just(0)),
    st.builds(
        CompletionChunk,
        st.just(0),
        small_text,
        st.sampled_from([None, "stop_sequence"]),
        st.sampled_from([None, "\n\nHuman:"]),
        st.just({}),
    ),
    st.builds(ConverseBlockStart, st.just(0), index, st.just({"toolUse": {"toolUseId": "x", "name": "y"}})),
    st.builds(
        ConverseBlockDelta,
        st.just(0),
        index,
        st.sampled_from(
            [
                {"text": "t"},
                {"toolUse": {"input": "{}"}},
                {"reasoningContent": {"text": "r"}},
                {"reasoningContent": {"signature": "s"}},
                {"reasoningContent": {"redactedContent": b"\x00r"}},
                {"reasoningContent": {"redactedContent": "str-r"}},
                {"somethingNew": 1},
            ]
        ),
    ),
    st.builds(ConverseBlockStop, st.just(0), index),
    st.builds(ConverseMessageStop, st.just(0), st.just("end_turn")),
    st.builds(ConverseMetadata, st.just(0), st.just({"inputTokens": 1, "outputTokens": 2}), st.just({})),
    st.builds(UnknownEvent, st.just(0), st.just("future"), st.just({})),
)


@settings(max_examples=300, deadline=None)
@given(events=st.lists(any_event, max_size=40))
def test_a_snapshot_holds_everything_the_fold_needs(events: list[StreamEvent]) -> None:
    """Reading straight through equals continuing from each snapshot (the snapshot loses nothing)."""
    acc = Accumulator()
    state = EMPTY
    for event in events:
        acc.add(event)
        state = fold(state, event)
        # Compared after every event: a live reader may take a snapshot at any point.
        assert acc.snapshot() == state


# --- against an independent reference: well-formed Messages streams ------------------------------------
# The two tests above run the one Accumulator on both sides. Here the expected message is worked out by a
# few lines written from Anthropic's streaming docs (a block is start, deltas, stop; text deltas join into
# the block's text, input_json_delta pieces into its JSON input; message_delta carries the stop reason and
# cumulative usage), not by helpers.accumulate.

piece = st.text(max_size=5)
block_spec = st.one_of(
    st.tuples(st.just("text"), st.lists(piece, max_size=6)),
    st.tuples(st.just("thinking"), st.lists(piece, max_size=4)),
    st.tuples(st.just("tool_use"), st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
              st.lists(st.integers(0, 40), max_size=4)),
)


def _well_formed(blocks: list[tuple], stop_reason: str, output_tokens: int) -> list[StreamEvent]:
    events: list[StreamEvent] = [MessageStart(0, {"id": "msg_ref", "model": "claude-ref",
                                                   "usage": {"input_tokens": 5, "output_tokens": 1}})]
    for index, (kind, *rest) in enumerate(blocks):
        if kind == "text":
            events.append(ContentBlockStart(0, index, {"type": "text", "text": ""}))
            events += [TextDelta(0, index, p) for p in rest[0]]
        elif kind == "thinking":
            events.append(ContentBlockStart(0, index, {"type": "thinking", "thinking": ""}))
            events += [ThinkingDelta(0, index, p) for p in rest[0]]
        else:
            value, cuts = rest
            events.append(ContentBlockStart(0, index, {"type": "tool_use", "id": f"t{index}", "name": "f",
                                                       "input": {}}))
            events += [InputJsonDelta(0, index, p) for p in _split(json.dumps(value), cuts)]
        events += [Ping(0), ContentBlockStop(0, index)]
    events += [MessageDelta(0, stop_reason, None, {"output_tokens": output_tokens}), MessageStop(0, {})]
    return events


def _reference(blocks: list[tuple], stop_reason: str, output_tokens: int) -> dict[str, Any]:
    return {
        "text": "".join("".join(rest[0]) for kind, *rest in blocks if kind == "text"),
        "thinking": ["".join(rest[0]) for kind, *rest in blocks if kind == "thinking"],
        "tool_inputs": [rest[0] for kind, *rest in blocks if kind == "tool_use"],
        "kinds": [kind for kind, *_ in blocks],
        "stop_reason": stop_reason,
        "usage": {"input_tokens": 5, "output_tokens": output_tokens},
        "message_id": "msg_ref",
    }


def _observed(snap: Any) -> dict[str, Any]:
    return {
        "text": snap.text,
        "thinking": [b.thinking for b in snap.blocks if isinstance(b, ThinkingBlock)],
        "tool_inputs": [b.input for b in snap.blocks if isinstance(b, ToolUseBlock)],
        "kinds": [{TextBlock: "text", ThinkingBlock: "thinking", ToolUseBlock: "tool_use"}[type(b)]
                  for b in snap.blocks],
        "stop_reason": snap.stop_reason,
        "usage": snap.usage,
        "message_id": snap.message_id,
    }


@settings(max_examples=200, deadline=None)
@given(blocks=st.lists(block_spec, max_size=5), stop_reason=st.sampled_from(["end_turn", "max_tokens", "tool_use"]),
       output_tokens=st.integers(0, 999))
def test_fast_path_and_pure_fold_match_an_independent_reference(
    blocks: list[tuple], stop_reason: str, output_tokens: int
) -> None:
    events = _well_formed(blocks, stop_reason, output_tokens)
    expected = _reference(blocks, stop_reason, output_tokens)
    assert _observed(StreamResult.from_events(events).consume().snapshot) == expected  # the reader's fast path
    assert _observed(fold_all(events)) == expected  # the pure fold
