"""How answers and summaries look on a terminal (``summitbot ask`` / ``summitbot summary``).

The wording comes from :mod:`bot.messages` (shared with Discord); this module only lays it out:
wrapped passages, citations, matched words in bold (ANSI on a TTY, ``**…**`` otherwise).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from bot import messages
from bot.answering import Answer, Explanation
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


def format_answer(answer: Answer, documents: Sequence[Document], tty: bool = False, width: int = 100) -> str:
    """A readable, cited answer for the terminal (matched words in bold); ``documents``: the corpus's,
    whose titles a refusal lists."""
    lines: list[str] = [f"Q: {answer.question.strip()}"]
    if answer.answered:
        lines.append("")
    elif answer.reason == "empty":
        lines.append("")
        lines.append(messages.NO_SEARCHABLE_WORDS)
    else:
        lines.append("")
        if documents:
            lines.append(messages.not_in_sources(messages.titles_of([d.title for d in documents])))
        else:
            lines.append(f"{messages.NOT_IN_SOURCES} {messages.NO_DOCUMENTS}")
        if answer.passages:
            lines.append("")
            lines.append(messages.NEAREST_PASSAGES)
    for rank, ranked in enumerate(answer.passages, start=1):
        doc = ranked.passage.document
        body = _marked(ranked.passage.text, ranked.highlight.spans, tty)
        wrapped = textwrap.fill(body, width=width, initial_indent="    ", subsequent_indent="    ")
        cite = f'    — "{doc.title}", {doc.source}, ¶{ranked.passage.paragraph}'
        if doc.url:
            cite += f" <{doc.url}>"
        lines.append(f"[{rank}] {ranked.highlight.sentence}")
        lines.append(wrapped)
        lines.append(cite + f"  (score {ranked.score:.2f})")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _plain(text: str) -> str:
    """``text`` with control and other unprintable characters shown as ``?`` (never sent raw)."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def format_explanation(ex: Explanation, width: int = 100) -> str:
    """``summitbot ask --explain``: the analysed question, each top passage's matched and missing
    terms and evidence, the confidence inputs with their contributions, the verdict and why."""
    lines = [f"Q: {_plain(ex.question.strip())}", "", "Question terms (how each word was read, its weight):"]
    if not ex.terms:
        lines.append("    (none: only stopwords or symbols)")
    for t in ex.terms:
        seen = "" if t.in_corpus else ", not in the corpus"
        lines.append(f"    {_plain(t.words)!r:<28} -> {_plain(t.term):<28} {t.how:<12} weight {t.weight:.2f}{seen}")
    for rank, p in enumerate(ex.passages, start=1):
        ev = p.evidence
        lines.append("")
        lines.append(f'[{rank}] "{_plain(p.title)}" ¶{p.paragraph} ({_plain(p.document)})')
        lines.append(
            f"    score {p.score:.2f} (BM25 {p.bm25:.2f}); " + ", ".join(f"{k} {v:.2f}" for k, v in p.features.items())
        )
        lines.append("    matched: " + (", ".join(map(_plain, p.matched)) or "-"))
        lines.append("    missing: " + (", ".join(map(_plain, p.missing)) or "-"))
        asks = ev.qtype or "nothing typed"
        lines.append(
            f"    evidence: asks for {asks}; type found {ev.type_found:.0f} (near a matched word {ev.type_near:.0f}); "
            f"specific terms in one sentence {ev.spec_sentence:.2f}, in two {ev.spec_window:.2f}, "
            f"in the document {ev.specific_share:.2f}; largest missing share {ev.missing_max:.2f}"
        )
    lines.append("")
    if ex.contributions:
        lines.append(f"Confidence inputs (best passage): intercept {ex.intercept:+.2f}")
        for name, value, part in ex.contributions:
            lines.append(f"    {name:<20} {value:8.3f}  contributes {part:+.2f}")
    lines.append(
        f"Confidence {ex.confidence:.2f} (answer at {ex.min_confidence:.2f}, closest at {ex.min_related:.2f}) "
        f"-> {ex.verdict}"
    )
    lines.append(f"Decided at: {ex.stage} -- {ex.reason}")
    return (
        "\n".join(
            textwrap.fill(line, width=width, subsequent_indent="      ") if len(line) > width else line
            for line in lines
        )
        + "\n"
    )


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
