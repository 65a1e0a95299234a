"""helpers.local_bedrock.model.tokens: the one token counter."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from helpers.local_bedrock.model.answers import COURSE_PROMPTS, answer_text
from helpers.local_bedrock.model.tokens import IMAGE_TOKENS, count_input_tokens, count_tokens, split_tokens

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
wordy = st.lists(
    st.sampled_from(["river", " stream", "internationalization", "\n\n", "  ", "123456", ",", "é", "\t", "_x"]),
    max_size=60,
).map("".join)


@given(st.one_of(texts, wordy))
def test_pieces_join_back_and_count_agrees(text: str) -> None:
    pieces = split_tokens(text)
    assert "".join(pieces) == text
    assert all(pieces)
    assert count_tokens(text) == len(pieces)


@given(st.one_of(texts, wordy), st.data())
def test_a_prefix_of_pieces_counts_as_that_many_tokens(text: str, data: st.DataObject) -> None:
    # The responder cuts answers at max_tokens by keeping a prefix of pieces; the count must match.
    pieces = split_tokens(text)
    n = data.draw(st.integers(0, len(pieces)))
    assert count_tokens("".join(pieces[:n])) == n


def test_whitespace_travels_with_the_next_word() -> None:
    assert split_tokens("Write a haiku") == ["Write", " a", " haiku"]


def test_english_is_about_four_characters_per_token() -> None:
    text = "".join(answer_text(p, 0) for p in COURSE_PROMPTS)
    ratio = len(text) / count_tokens(text)
    assert 3.0 <= ratio <= 5.0


def test_input_tokens_count_system_messages_images_and_tools() -> None:
    base = {"messages": [{"role": "user", "content": "What is the capital of France?"}]}
    plain = count_input_tokens(base)
    with_system = count_input_tokens({**base, "system": "Answer briefly."})
    assert with_system == plain + count_tokens("Answer briefly.")
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
    with_image = count_input_tokens(
        {"messages": [{"role": "user", "content": [image, {"type": "text", "text": "What is the capital of France?"}]}]}
    )
    assert with_image == plain + IMAGE_TOKENS
    tool = {"name": "t", "input_schema": {"type": "object"}}
    one_tool = count_input_tokens({**base, "tools": [tool]})
    other = {"name": "u", "input_schema": {"type": "object"}}
    two_tools = count_input_tokens({**base, "tools": [tool, other]})
    assert one_tool > plain
    # Tool use costs a fixed overhead once, then each definition's own tokens: a second small tool
    # adds far less than the first did.
    assert 0 < two_tools - one_tool < (one_tool - plain) / 10


def test_legacy_input_tokens_count_the_prompt() -> None:
    prompt = "\n\nHuman: Hi there\n\nAssistant:"
    assert count_input_tokens({"prompt": prompt, "max_tokens_to_sample": 5}) == count_tokens(prompt)
