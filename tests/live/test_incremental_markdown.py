"""Incremental Markdown rendering must give exactly what a full render gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.live.markdown import IncrementalMarkdown, render_markdown

WORDS = st.sampled_from(["river", "stone", "**bold**", "`code`", "*it*", "a_b", "1.", "-", "#", "|", ">", "~~x~~"])
LINE = st.lists(WORDS, min_size=1, max_size=6).map(" ".join)
PARAGRAPH = st.lists(LINE, min_size=1, max_size=3).map("\n".join)
HEADING = st.tuples(st.integers(1, 3), LINE).map(lambda t: "#" * t[0] + " " + t[1])
SETEXT = LINE.map(lambda line: line + "\n===")
BULLETS = st.tuples(st.sampled_from(["-", "*", "1."]), st.lists(LINE, min_size=1, max_size=4), st.booleans()).map(
    lambda t: ("\n\n" if t[2] else "\n").join(f"{t[0]} {item}" for item in t[1])
)
NESTED = st.tuples(LINE, LINE).map(lambda t: f"- {t[0]}\n\n  {t[1]}\n- last")
FENCE = st.tuples(st.sampled_from(["```", "~~~", "````"]), st.lists(LINE | st.just(""), max_size=4)).map(
    lambda t: f"{t[0]}python\n" + "\n".join(t[1]) + f"\n{t[0]}"
)

TABLE = st.lists(LINE, min_size=1, max_size=3).map(
    lambda rows: "| a | b |\n| - | - |\n" + "\n".join(f"| {r} | x |" for r in rows)
)
QUOTE = st.lists(LINE, min_size=1, max_size=3).map(lambda lines: "\n".join("> " + x for x in lines))
INDENTED = LINE.map(lambda line: "    " + line)
BLOCK = PARAGRAPH | HEADING | SETEXT | BULLETS | NESTED | FENCE | TABLE | QUOTE | INDENTED
DOCUMENT = st.tuples(st.lists(BLOCK, min_size=1, max_size=8), st.sampled_from(["\n\n", "\n\n\n", "\n"])).map(
    lambda t: t[1].join(t[0])
)


@settings(max_examples=300, deadline=None)
@given(DOCUMENT, st.lists(st.integers(0, 10_000), max_size=12), st.booleans())
def test_growing_text_renders_as_a_full_render_would(document: str, cuts: list[int], unclosed: bool) -> None:
    if unclosed:
        document += "\n\n```\nstill streaming"
    view = IncrementalMarkdown()
    for cut in sorted(c % (len(document) + 1) for c in cuts):
        prefix = document[:cut]
        assert view.render(prefix, partial=True) == render_markdown(prefix, partial=True)
    assert view.render(document) == render_markdown(document)


def test_a_new_text_starts_afresh() -> None:
    view = IncrementalMarkdown()
    view.render("# One\n\nfirst answer\n\nmore\n", partial=True)
    assert view.render("Another answer\n\n- x\n") == render_markdown("Another answer\n\n- x\n")


def test_only_the_unsettled_end_is_rendered_again(monkeypatch) -> None:
    import helpers.live.markdown as md

    rendered: list[str] = []
    real = md._MD.render
    monkeypatch.setattr(md._MD, "render", lambda text: rendered.append(text) or real(text))
    view = IncrementalMarkdown()
    text = "".join(f"Paragraph {i} of a long answer.\n\n" for i in range(200))
    view.render(text, partial=True)
    rendered.clear()
    view.render(text + "The next one is still", partial=True)
    assert sum(map(len, rendered)) < 100


# Prose as a model writes it, with every character that could be Markdown mixed in now and then: the plain-
# paragraph shortcut must either decline or give exactly markdown-it's HTML.
PROSE_CHARS = st.sampled_from(
    list("abcdefghij ,.;:?'\"()/%$@^{}0123456789-+") + ["\n", "\n\n", "é", "日本", "\u00a0", "\t", "  ", "*", "_",
                                                      "`", "[", "]", "!", "<", ">", "&", "~", "|", "#", "=", "\\",
                                                      "\r", "\x0c", "1. ", "- ", "    ", "---", "\u2028"])
PROSE = st.lists(PROSE_CHARS, max_size=80).map("".join)


@settings(max_examples=2_000, deadline=None)
@given(PROSE)
def test_plain_paragraphs_render_as_markdown_it_renders_them(text: str) -> None:
    from helpers.live.markdown import _MD, _plain_paragraphs

    plain = _plain_paragraphs(text)
    assert plain is None or plain == _MD.render(text)


def test_prose_paragraphs_take_the_shortcut() -> None:
    from helpers.live.markdown import _MD, _plain_paragraphs

    text = 'Tides rise twice a day: the moon (mostly) pulls "the sea".\nA second line, 40% of it.\n\nThen 2026 ends.\n'
    expected = ('<p>Tides rise twice a day: the moon (mostly) pulls &quot;the sea&quot;.\nA second line, 40% of '
                "it.</p>\n<p>Then 2026 ends.</p>\n")
    assert _plain_paragraphs(text) == expected == _MD.render(text)
    assert _plain_paragraphs("A **bold** claim.") is None  # markdown-it's job
