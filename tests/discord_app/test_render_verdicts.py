"""Rendering the three outcomes: a closest passage is labelled and never looks like an answer;
reload warnings (failing probes) fit and are escaped."""

from __future__ import annotations

import re
from pathlib import Path

import discord
from embed_limits import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import messages
from bot.answering import Answer, Highlight, RankedPassage
from bot.corpus import Document, Passage
from bot.discord_app import limits, render
from bot.engine import CorpusChange

# Text with sentences, markdown characters, mentions, links and long words.
words = st.sampled_from(
    ["the", "summit", "U.S.", "AI", "**bold**", "_x_", "[link](https://e.x)", "@everyone", "<@123456789012345678>",
     "`code`", "||spoiler||", "a" * 120, "end.", "why?", "\\", "# head", ">", "https://x.y/a_b"]
)  # fmt: skip
texts = st.lists(words, min_size=0, max_size=1500).map(" ".join)


def document(doc_id: str = "doc", title: str = "Title", source: str = "example.org", url: str | None = None,
             paragraphs: tuple[str, ...] = ("Text.",)) -> Document:  # fmt: skip
    return Document(doc_id, title, source, url, "2025-02-11", Path(f"/srv/corpus/{doc_id}.md"), paragraphs)


def ranked(text: str, doc: Document, paragraph: int = 1) -> RankedPassage:
    """A ranked passage whose highlight is its first sentence, with every 'summit' in bold."""
    end = text.find(". ")
    end = len(text) if end < 0 else end + 1
    spans = tuple((m.start(), m.end()) for m in re.finditer("summit", text))
    return RankedPassage(Passage(doc, paragraph, text), 1.0, Highlight(text[:end], 0, end, ("summit",), spans))


def fits_message(embeds: list[discord.Embed]) -> bool:
    return all(fits(e) for e in embeds) and sum(len(e) for e in embeds) <= limits.EMBED_TOTAL


def closest(question: str, text: str, **doc_keys: object) -> Answer:
    doc = document(paragraphs=("x", text), **doc_keys)  # type: ignore[arg-type]
    return Answer(question, "closest", 0.31, (ranked(text, doc, 2), ranked("Another summit passage.", doc, 1)))


def test_closest_is_labelled_and_not_styled_as_an_answer() -> None:
    text = "Leaders met at the summit in Paris. Nothing else was said."
    answer = closest("When was the summit?", text, title="Paris *summit*", source="ecns.cn", url="https://ecns.cn/a")
    (embed,) = render.render_closest(answer)
    as_answer = render.render_answer(Answer(answer.question, "answer", 0.9, answer.passages))[0]
    assert embed.title == messages.CLOSEST_LABEL
    assert embed.colour != render.ANSWER_COLOUR and embed.colour == render.CLOSEST_COLOUR
    assert embed.url is None  # the answer links its title to the article; the label is not a link
    assert as_answer.url == "https://ecns.cn/a" and as_answer.title != embed.title
    assert not embed.fields  # the closest passage alone; "More passages" has the rest
    description = embed.description or ""
    assert "answer" not in description.lower().replace(embed.title.lower(), "")
    assert "__Leaders met at the **summit** in Paris.__" in description
    assert description.endswith("— *Paris \\*summit\\**, ecns.cn, ¶2 · [read the article](https://ecns.cn/a)")
    assert render.question_from_footer(embed.footer.text) == "When was the summit?"


def test_closest_escapes_corpus_and_question_text() -> None:
    text = "@everyone see [this](https://evil.example) <@123456789012345678> at the **summit**."
    (embed,) = render.render_closest(
        closest("summit? @here <@&123456789012345678>", text, title="[T](https://x.y) @everyone")
    )
    description = embed.description or ""
    assert "[this](https://evil.example)" not in description and "\\[this\\]" in description
    assert "@everyone" not in description and "<@123456789012345678>" not in description
    assert "@here" not in (embed.footer.text or "") and "<@&123456789012345678>" not in (embed.footer.text or "")


def test_closest_needs_a_passage() -> None:
    try:
        render.render_closest(Answer("q", "closest", 0.3, ()))
    except ValueError:
        return
    raise AssertionError("a closest reply without a passage must be refused")


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(texts.filter(lambda t: t.strip()), st.text(min_size=1, max_size=4000))
def test_closest_embed_within_limits(text: str, question: str) -> None:
    doc = document(title="T" * 400, source="S" * 300, url="https://example.org/" + "p" * 200, paragraphs=(text,))
    answer = Answer(question, "closest", 0.3, (ranked(text, doc, 1),))
    embeds = render.render_closest(answer)
    assert fits_message(embeds) and len(embeds) == 1


def test_reload_warnings_fit_are_escaped_and_change_the_colour() -> None:
    change = CorpusChange(("new",), (), (), 9, 10)
    clean = render.render_reload(change, 0.2, 2)
    assert clean.colour == render.OK_COLOUR and not any(f.name.startswith("Warnings") for f in clean.fields)
    warnings = [f'probe failed: probes.yaml:{i}: "What is **GDP** @everyone?" must not be answered' for i in range(80)]
    embed = render.render_reload(change, 0.2, 2, warnings)
    assert fits(embed) and embed.colour == render.WARNING_COLOUR
    (field,) = [f for f in embed.fields if f.name == "Warnings (80)"]
    assert field.value.startswith("• probe failed: probes.yaml:0:") and "\\*\\*GDP\\*\\*" in field.value
    assert "more; run `summitbot calibrate`" in field.value and len(field.value) <= limits.FIELD_VALUE


def test_not_found_is_plain_content_naming_the_sources() -> None:
    docs = [document("a", title="Paris *summit*"), document("b", title="Other")]
    text = render.render_not_found(docs)
    assert text.startswith(messages.NOT_IN_SOURCES) and "*Paris \\*summit\\**" in text
    assert isinstance(text, str) and len(text) <= limits.CONTENT


def test_closest_colour_is_not_an_error_or_answer_colour() -> None:
    others = {render.ANSWER_COLOUR, render.ERROR_COLOUR, render.OK_COLOUR, render.WARNING_COLOUR}
    assert render.CLOSEST_COLOUR not in others
    assert isinstance(render.CLOSEST_COLOUR, discord.Colour)
