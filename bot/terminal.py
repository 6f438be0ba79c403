"""How answers and summaries look on a terminal (``summitbot ask`` / ``summitbot summary``).

The wording comes from :mod:`bot.messages` (shared with Discord); this module only lays it out:
wrapped passages, citations, matched words in bold (ANSI on a TTY, ``**…**`` otherwise).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from bot import messages
from bot.answering import Answer, RankedPassage
from bot.corpus import Document
from bot.summaries import Summary

# ---------------------------------------------------------------------------------------- answers


def _bold(text: str, tty: bool) -> str:
    return f"\033[1m{text}\033[0m" if tty else f"**{text}**"


def _marked(text: str, spans: Sequence[tuple[int, int]], tty: bool) -> str:
    out, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(_bold(text[start:end], tty))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _passage_lines(ranked: RankedPassage, tty: bool, width: int) -> list[str]:
    """A passage wrapped and indented, matched words in bold, then its citation line."""
    doc = ranked.passage.document
    body = _marked(ranked.passage.text, ranked.highlight.spans, tty)
    wrapped = textwrap.fill(body, width=width, initial_indent="    ", subsequent_indent="    ")
    cite = f'    — "{doc.title}", {doc.source}, ¶{ranked.passage.paragraph}'
    if doc.url:
        cite += f" <{doc.url}>"
    return [wrapped, cite]


def format_answer(answer: Answer, documents: Sequence[Document], tty: bool = False, width: int = 100) -> str:
    """A readable, cited reply for the terminal, by verdict (matched words in bold).

    * ``answer``: each passage under its best sentence, with citation and score;
    * ``closest``: :data:`bot.messages.CLOSEST_LABEL`, then the closest passage alone (no best
      sentence as a headline, the confidence beside the citation): never laid out as an answer;
    * ``none``: :func:`bot.messages.not_in_sources`, naming what the sources (``documents``) cover.
    """
    lines: list[str] = [f"Q: {answer.question.strip()}", ""]
    best = answer.best
    if answer.verdict == "answer" and answer.passages:
        for rank, ranked in enumerate(answer.passages, start=1):
            wrapped, cite = _passage_lines(ranked, tty, width)
            lines += [f"[{rank}] {ranked.highlight.sentence}", wrapped, cite + f"  (score {ranked.score:.2f})", ""]
    elif answer.verdict == "closest" and best is not None:
        wrapped, cite = _passage_lines(best, tty, width)
        lines += [messages.CLOSEST_LABEL, "", wrapped, cite + f"  (confidence {answer.confidence:.2f})"]
    elif answer.reason == "empty":
        lines.append(messages.NO_SEARCHABLE_WORDS)
    elif documents:
        lines.append(messages.not_in_sources(messages.titles_of([d.title for d in documents])))
    else:
        lines.append(f"{messages.NOT_IN_SOURCES} {messages.NO_DOCUMENTS}")
    return "\n".join(lines).rstrip() + "\n"


# -------------------------------------------------------------------------------------- summaries


def format_summary(summary: Summary, width: int = 100) -> str:
    """The summary for the terminal: each sentence with its citation, then the word count."""
    lines = [f"Summary ({summary.scope}):", ""]
    if summary.is_empty:
        lines.append(summary.message or messages.NOTHING_ON_TOPIC)
        return "\n".join(lines)
    for i, sent in enumerate(summary.sentences, start=1):
        lines.append(textwrap.fill(sent.text, width=width, initial_indent=f"[{i}] ", subsequent_indent="    "))
        lines.append(f'    — "{sent.title}", {sent.source}, ¶{sent.paragraph} ({sent.document})')
    lines.append("")
    lines.append(f"{summary.words} of {summary.budget} words; every sentence quoted from its source.")
    return "\n".join(lines)
