"""The terminal layout of the three outcomes (``summitbot ask``): an answer, a labelled closest
passage that is never laid out as an answer, and "not in my sources" naming what they cover."""

from __future__ import annotations

from pathlib import Path

from bot import messages
from bot.answering import Answer, Highlight, RankedPassage
from bot.corpus import Document, Passage
from bot.terminal import format_answer

TEXT = "Leaders met at the summit in Paris. The talks ended without a deal."


def doc(title: str = "Paris summit", url: str | None = "https://example.org/a") -> Document:
    return Document("paris", title, "example.org", url, None, Path("paris.md"), (TEXT, "Other text here."))


def passage(paragraph: int = 1) -> RankedPassage:
    start = TEXT.index("summit")
    sentence = "Leaders met at the summit in Paris."
    return RankedPassage(
        Passage(doc(), paragraph, TEXT), 4.5, Highlight(sentence, 0, len(sentence), ("summit",), ((start, start + 6),))
    )


def test_answer_lists_passages_under_their_best_sentence() -> None:
    out = format_answer(Answer("Where was the summit?", "answer", 0.93, (passage(),)), [doc()])
    lines = out.splitlines()
    assert lines[0] == "Q: Where was the summit?"
    assert lines[2] == "[1] Leaders met at the summit in Paris."
    assert "**summit**" in out and '— "Paris summit", example.org, ¶1 <https://example.org/a>  (score 4.50)' in out
    assert messages.CLOSEST_LABEL not in out and messages.NOT_IN_SOURCES not in out


def test_closest_is_labelled_and_shows_one_passage_not_an_answer_layout() -> None:
    answer = Answer("When was the summit?", "closest", 0.34, (passage(1), passage(2)))
    out = format_answer(answer, [doc()])
    lines = out.splitlines()
    assert lines[2] == messages.CLOSEST_LABEL
    assert "I'm not sure this answers it — the closest passage in my sources:" in out
    assert "[1]" not in out and "score" not in out  # no ranked-answer headline, no answer score
    assert out.count('— "Paris summit", example.org, ¶') == 1 and "¶1" in out  # the closest passage alone
    assert "(confidence 0.34)" in out and "**summit**" in out
    assert messages.NOT_IN_SOURCES not in out


def test_closest_bold_on_a_tty_is_ansi() -> None:
    out = format_answer(Answer("When was the summit?", "closest", 0.34, (passage(),)), [doc()], tty=True)
    assert "\033[1msummit\033[0m" in out and "**" not in out


def test_none_names_what_the_sources_cover_and_shows_no_passage() -> None:
    docs = [doc(f"Title {i}") for i in range(7)]
    answer = Answer("How do I bake bread?", "none", 0.02, (passage(),), reason="low-confidence")
    out = format_answer(answer, docs)
    assert (
        out.splitlines()[2]
        == "That's not in my sources. They cover: Title 0; Title 1; Title 2; Title 3; Title 4; and 2 more."
    )
    assert TEXT[:20] not in out and "¶" not in out
    assert format_answer(Answer("q", "none", 0.0, ()), []).splitlines()[2] == (
        f"{messages.NOT_IN_SOURCES} {messages.NO_DOCUMENTS}"
    )


def test_wordless_question_gets_the_hint() -> None:
    out = format_answer(Answer("?!", "none", 0.0, (), reason="empty"), [doc()])
    assert out.splitlines()[2] == messages.NO_SEARCHABLE_WORDS


def test_the_question_is_echoed_on_one_short_line() -> None:
    """A pasted page is searched whole but echoed on one line, cut, with its length; line breaks in
    a question do not break the "Q:" line."""
    long = format_answer(Answer("What did Vance say? " * 500, "none", 0.0, ()), [doc()]).splitlines()[0]
    assert long.startswith("Q: What did Vance say? What") and long.endswith("… (9,999 characters)")
    assert len(long) < 340
    assert format_answer(Answer("Where was\n  the summit?\r\n", "none", 0.0, ()), [doc()]).splitlines()[0] == (
        "Q: Where was the summit?"
    )
