"""What the local endpoint says: a bank of answers for the course's prompts, and text for anything else.

All prose here was written for this course. None of it is model output, and none
of it claims to come from Claude. The generic answer follows the shape of the
request (a definition, steps, reasons, a list, a piece of writing) about the
request's own subject; it stays general, and never talks about the endpoint.

Matching: the last user text is normalised (lower case, punctuation dropped,
whitespace collapsed, ``[[...]]`` markers removed). A prompt that equals a bank
prompt, or contains one (``"Please write a haiku about rivers!"``), gets that
answer. Anything else gets a readable generic answer composed from the prompt
and the seed (see :func:`_generic`).

Long answers, for Stop-button demos and benchmarks (only for prompts outside the bank):

- ``[[length=N]]`` anywhere in the prompt: an answer of exactly N tokens;
- ``N tokens`` in the prompt (``"write 5000 tokens about rivers"``): also N tokens;
- the word ``long`` in the prompt: about :data:`LONG_ANSWER_TOKENS` tokens.

The responder then cuts at ``max_tokens`` as usual, so a request for more
tokens than ``max_tokens`` ends with stop_reason ``max_tokens``.

The delta size can be pinned with ``[[chunk=K]]`` (every delta carries K
tokens), which is how a benchmark gets a 20,000-delta stream:
``"[[length=20000]] [[chunk=1]]"`` with ``max_tokens`` of 20000 or more.
"""

from __future__ import annotations

import random
import re

from helpers.local_bedrock.model.dialogue import subject
from helpers.local_bedrock.model.tokens import split_tokens

__all__ = [
    "COURSE_PROMPTS",
    "LONG_ANSWER_TOKENS",
    "MAX_GENERATED_TOKENS",
    "answer_text",
    "chunk_marker",
    "length_request",
    "normalise",
]

LONG_ANSWER_TOKENS = 2_000
# Large enough for any model's output limit (128k with Claude 3.7's beta) with room to spare.
MAX_GENERATED_TOKENS = 200_000

_MARKER = re.compile(r"\[\[\s*(\w+)\s*=\s*(\d+)\s*\]\]")
# Switches without a value: [[refusal]], [[pause_turn]], [[context_window_exceeded]], [[redacted_thinking]].
_FLAG = re.compile(r"\[\[\s*(\w+)\s*\]\]")
DIRECTIVE_FLAGS = ("refusal", "pause_turn", "context_window_exceeded", "redacted_thinking")


def directive_flags(prompt: str) -> set[str]:
    """The value-less directives in a prompt (see helpers/local_bedrock/README.md), lower-cased."""
    return {flag.lower() for flag in _FLAG.findall(prompt) if flag.lower() in DIRECTIVE_FLAGS}
# Starts only where a run of digits, commas and underscores starts, and never gives a run back: tried at
# every digit of "1,1,1,..." it was quadratic in the prompt's length (issue 23).
_TOKENS_ASKED = re.compile(r"(?<![\w,])(\d[\d,_]*+)\s++tokens\b", re.IGNORECASE)


def normalise(text: str) -> str:
    """Lower-case, drop ``[[...]]`` markers and punctuation, collapse whitespace."""
    text = _FLAG.sub(" ", _MARKER.sub(" ", text)).lower()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def _marker(prompt: str, name: str) -> int | None:
    for key, value in _MARKER.findall(prompt):
        if key.lower() == name:
            return int(value)
    return None


def chunk_marker(prompt: str) -> int | None:
    """The fixed delta size asked for with ``[[chunk=K]]`` (K >= 1), or None."""
    value = _marker(prompt, "chunk")
    return max(1, value) if value is not None else None


def length_request(prompt: str) -> int | None:
    """How many tokens a prompt asks for (see the module docstring), or None for a normal answer."""
    value = _marker(prompt, "length")
    if value is None and (asked := _TOKENS_ASKED.search(prompt)):
        value = int(re.sub(r"[,_]", "", asked.group(1)))
    if value is None and re.search(r"\blong\b", prompt, re.IGNORECASE):
        value = LONG_ANSWER_TOKENS
    if value is None:
        return None
    return max(1, min(value, MAX_GENERATED_TOKENS))


# --------------------------------------------------------------------------- the bank

_STREAMING = """\
Streaming a model response means the answer is sent to you in small pieces while it is still being \
generated, instead of arriving all at once when it is finished.

With a normal request, your code waits: the model writes the whole reply, the service wraps it in one \
response, and only then do you see anything. With a streaming request, the service opens the response \
straight away and sends each new piece of text as soon as it exists. On Amazon Bedrock each piece travels \
as its own event-stream frame, and boto3 hands the frames to you one at a time.

Two numbers show the difference:

- Time to first token: how long you wait before anything appears. Streaming makes this short.
- Total time: how long the whole answer takes. Streaming barely changes it.

So streaming does not make the model faster. It makes the wait feel shorter, lets you show progress, \
and lets you stop early when the answer is going the wrong way."""

_HAIKU = """\
Snowmelt finds the stone,
carries the mountain downhill,
one pebble at a time."""

_CAPITAL = """\
The capital of France is Paris. It sits on the river Seine in the north of the country and has been the \
seat of French government for most of the last thousand years."""

_FRAMING = """\
Event-stream framing is how Amazon Bedrock packs a streamed response into separate, checkable messages.

Every frame has the same layout:

1. A 12-byte prelude: the total length of the frame, the length of its headers, and a CRC32 checksum of \
those eight bytes.
2. The headers: short name/value pairs such as `:message-type` = `event` and `:event-type` = `chunk`.
3. The payload: for InvokeModelWithResponseStream, a small JSON object whose `bytes` field holds the \
model's own JSON chunk, base64-encoded.
4. A final CRC32 of everything before it.

Because each frame states its own length, a reader can cut frames out of the byte stream without \
guessing, and the two checksums catch a damaged frame before it is decoded. botocore does all of this \
for you; the course opens one frame up by hand so you can see the bytes."""

_LIGHTHOUSE = """\
# The Keeper of Gull Point

Maren had kept the light at Gull Point for eleven winters, and in all that time the lamp had never once \
gone dark. She wound the clockwork at dusk, trimmed the wick at midnight and wrote the weather in the \
logbook before dawn, in the same small, slanting hand.

The island was not large. From the gallery at the top of the tower she could see all of it at once: the \
cottage, the store shed, the vegetable patch the wind kept trying to steal, and the landing stage where \
the supply boat came every second Thursday, if the sea allowed it.

## What the logbook held

Over the years the logbook had become more than a record of wind and fog. Between the readings Maren \
noted the things that mattered to her:

- the morning a seal slept on the landing stage and refused to move for the boat;
- the night the lens cracked and she turned it by hand until sunrise;
- the letters from her brother, which always arrived three weeks late and always began with an apology;
- the first snowdrop, every year, under the north wall.

## The storm

The storm that autumn came from the wrong direction. It pressed against the tower for two days, and on \
the second night the clockwork jammed. Maren climbed the stairs with a lantern, a spanner and a cup of \
tea going cold in her pocket, and found that one tooth of the drive gear had sheared clean off.

She could not fix the gear, so she became the gear. Every forty seconds, through the whole night, she \
pushed the great lens a quarter turn, counting under her breath so the flash would keep its rhythm. \
Ships far out in the dark saw the light of Gull Point keep its proper character, one long flash and two \
short, and never knew a tired woman was keeping time.

At dawn the wind dropped. Maren sat on the top step and wrote a single line in the logbook:

```
06:10  wind NW 4, sea moderate, light exhibited all night (by hand)
```

## Afterwards

The new gear came on the next boat, wrapped in oilcloth, with a note from the harbour office thanking her \
for her diligence. Maren fitted it that afternoon, wound the clockwork at dusk as she always did, and \
watched the lens turn on its own again.

Then she went down to the cottage, put the kettle on, and finally read her brother's letter. It began, as \
always, with an apology.

THE END"""

_BENEFITS = """\
Streaming has four practical benefits:

1. **A fast first impression.** The first words appear after a fraction of a second, even when the full \
answer takes much longer.
2. **Visible progress.** The reader can follow along instead of staring at a spinner, and can judge early \
whether the answer is useful.
3. **Early stopping.** When an answer goes off track you can stop reading the stream, which saves time and \
output tokens.
4. **Smaller memory peaks.** Code can process each piece as it arrives instead of holding one large \
response.

The trade-off is a little more code: you read events in a loop, and you put the final answer together \
yourself (or let a helper do it)."""

_BANK: dict[str, str] = {
    "Explain what streaming a model response means": _STREAMING,
    "Write a haiku about rivers": _HAIKU,
    "What is the capital of France?": _CAPITAL,
    "Explain event-stream framing": _FRAMING,
    "Write a short story about a lighthouse keeper": _LIGHTHOUSE,
    "Summarize the benefits of streaming": _BENEFITS,
}

#: The prompts the course uses, each with a fixed answer written for it.
COURSE_PROMPTS: tuple[str, ...] = tuple(_BANK)

_NORMALISED = {normalise(prompt): answer for prompt, answer in _BANK.items()}


def bank_answer(prompt: str) -> str | None:
    """The bank's answer for ``prompt``, or None when it is not one of the course's prompts."""
    key = normalise(prompt)
    if key in _NORMALISED:
        return _NORMALISED[key]
    for bank_key, answer in _NORMALISED.items():
        if bank_key and f" {bank_key} " in f" {key} ":
            return answer
    return None


# --------------------------------------------------------------------------- anything else

# A request outside the bank gets an answer shaped like the request (a definition, steps, reasons, a list,
# a piece of writing), about the request's own subject, in sentences chosen by the seed. It has no knowledge
# behind it, so it stays general; it never talks about the endpoint or the course that runs it.
_DEFINE = (
    "{Subject} is easiest to understand from three sides: what it is, how it works, and where it matters.",
    "In short, {subject} is best described by its purpose first and its details second.",
    "{Subject} can be explained in a few sentences, starting from the idea behind it.",
)
_HOW = (
    "Here is how {subject} works, step by step:",
    "{Subject} comes down to a few steps, in this order:",
)
_WHY = (
    "There are a few reasons behind {subject}, and the first one matters most.",
    "The short answer about {subject}: it solves a problem that would otherwise keep coming back.",
)
_WRITE = (
    "Here is a short piece about {subject}:",
    "Here is something brief on {subject}:",
)
_POINTS = (
    "The core idea: what {subject} is for, stated before any detail.",
    "How it works: the parts of {subject} and the order in which they act.",
    "Where it shows up: the everyday cases in which {subject} makes a difference.",
    "The trade-off: what {subject} costs, and when a simpler approach is enough.",
    "A concrete case: one example of {subject} makes the general idea easy to check.",
    "Common mistakes: the misunderstandings about {subject} that come up most often.",
)
_CLOSINGS = (
    "If you tell me which part you need, I can go into more detail on it.",
    "I can expand any of these points, or give an example, if that helps.",
    "Ask about any part of {subject} and I'll go deeper.",
)
_VERSE = (
    "{Subject}, quiet at first,\ngathers its meaning slowly,\nthen is simply there.",
    "Light on {subject}:\none thought, then another,\nand the page fills up.",
)


def _topic(prompt: str) -> str:
    head = prompt[:1_000]  # the subject is in the first words; a long prompt is never read whole for it
    return subject(_FLAG.sub(" ", _MARKER.sub(" ", head)))


def _fill(template: str, topic: str) -> str:
    return template.format(subject=topic, Subject=topic[:1].upper() + topic[1:])


def _count_asked(words: list[str]) -> int:
    numbers = {"two": 2, "three": 3, "four": 4, "five": 5, "2": 2, "3": 3, "4": 4, "5": 5}
    return next((numbers[w] for w in words[:6] if w in numbers), 3)


def _generic(prompt: str, rng: random.Random) -> str:
    topic = _topic(prompt)
    words = normalise(prompt[:1_000]).split()
    # The verb that says what kind of request this is, after any "please", "explain", "tell me".
    first = next((w for w in words[:3] if w in ("how", "why", "list", "name", "give", "write", "compose", "draft")),
                 words[0] if words else "")
    if first in ("how",):
        steps = rng.sample(_POINTS, 3)
        body = _fill(rng.choice(_HOW), topic) + "\n\n" + "\n".join(
            f"{n}. {_fill(point, topic)}" for n, point in enumerate(steps, 1))
    elif first in ("why",):
        body = _fill(rng.choice(_WHY), topic) + " " + _fill(rng.choice(_POINTS), topic)
    elif first in ("list", "name", "give") or "examples" in words:
        count = min(_count_asked(words), len(_POINTS))
        body = "\n".join(f"- {_fill(point, topic)}" for point in rng.sample(_POINTS, count))
    elif first in ("write", "compose") and ("poem" in words or "haiku" in words):
        body = _fill(rng.choice(_VERSE), topic)
    elif first in ("write", "compose", "draft"):
        body = _fill(rng.choice(_WRITE), topic) + "\n\n" + " ".join(_fill(p, topic) for p in rng.sample(_POINTS, 2))
    else:
        body = _fill(rng.choice(_DEFINE), topic) + "\n\n" + "\n".join(
            f"- {_fill(point, topic)}" for point in rng.sample(_POINTS, 3))
    return f"{body}\n\n{_fill(rng.choice(_CLOSINGS), topic)}"


def _long(prompt: str, tokens: int, rng: random.Random) -> str:
    """Exactly ``tokens`` tokens of readable paragraphs (a prefix of pieces keeps its token count)."""
    # Paragraphs end in a line break, which is a token of its own, so each one splits alone exactly as it
    # would inside the whole text: split once, paragraph by paragraph, and never the joined text again.
    topic = _topic(prompt)
    pieces = split_tokens(f"Here is a long answer about {topic}, in parts.\n\n")
    paragraph = 0
    while len(pieces) < tokens:
        paragraph += 1
        sentences = [_fill(point, topic) for point in rng.sample(_POINTS, 4)]
        pieces += split_tokens(f"Part {paragraph}. " + " ".join(sentences) + "\n\n")
    return "".join(pieces[:tokens])


def answer_text(prompt: str, seed: int) -> str:
    """The full answer (before any max_tokens or stop-sequence cut) for the last user text ``prompt``."""
    if (fixed := bank_answer(prompt)) is not None:
        return fixed
    rng = random.Random(f"answer:{seed}:{normalise(prompt)}")
    if (tokens := length_request(prompt)) is not None:
        return _long(prompt, tokens, rng)
    return _generic(prompt, rng)
