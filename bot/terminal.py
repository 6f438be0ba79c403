"""How answers and summaries look on a terminal (``summitbot ask`` / ``summitbot summary``).

The wording comes from :mod:`bot.messages` (shared with Discord); this module only lays it out:
wrapped passages, citations, matched words in bold (ANSI on a TTY, ``**…**`` otherwise).

Everything the command line writes goes through :func:`clean` (or :func:`json_line`, or
:func:`shown` for one-line error messages): questions, corpus text, file names and addresses can
carry ESC, BEL, C1 controls, bidi overrides, invisible format characters and (file names that are
not UTF-8) lone surrogates (Discord passes ESC through), which would retitle, recolour or rewrite
the admin's terminal, or hide what a name really is. They are shown as visible escapes
(``\\x1b``) instead.
"""

from __future__ import annotations

import functools
import json
import re
import textwrap
import time
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from bot import messages

if TYPE_CHECKING:  # annotations only: the light commands (health, stats) import this module
    from bot.answering import Answer, Explanation, RankedPassage
    from bot.corpus import Document
    from bot.summaries import Summary

# ---------------------------------------------------------------------------------- the sanitizer

#: Characters the sanitizer looks at: everything but printable ASCII, tab and newline (the common
#: case stays on the regex engine's fast path). :func:`_keep` decides for each.
_CANDIDATE = re.compile("[^\x20-\x7e\t\n]+")
_CANDIDATE_ONE_LINE = re.compile("[^\x20-\x7e]+")
#: Zero-width non-joiner and joiner: format characters that scripts (Persian, Indic) and emoji
#: sequences need; they cannot move the cursor or reorder text, so they are kept.
_JOINERS = frozenset("\u200c\u200d")


@functools.lru_cache(maxsize=4096)
def _keep(ch: str) -> bool:
    """Whether ``ch`` may reach a terminal as itself: printable characters and spaces (NBSP and
    the like). Escaped: C0/C1 controls and DEL (0x9b is a one-byte CSI), format characters (bidi
    embeddings, overrides, isolates, U+061C, zero-width space, BOM…) but the joiners, line and
    paragraph separators, lone surrogates (file names that are not UTF-8), private-use and
    unassigned code points."""
    return ch.isprintable() or ch in _JOINERS or unicodedata.category(ch) == "Zs"


def _visible(ch: str) -> str:
    """The visible escape of one character: ``\\x1b``, ``\\u202e``, ``\\U000e0001``."""
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _escape(match: re.Match[str]) -> str:
    run = match.group()  # a run of non-ASCII: most often all printable (checked at C speed)
    return run if run.isprintable() else "".join(ch if _keep(ch) else _visible(ch) for ch in run)


def clean(text: str, *, one_line: bool = False) -> str:
    """``text`` safe to write to a terminal: every character that could drive or fool it (see
    :func:`_keep`: ESC, BEL, CR, C1, bidi overrides, invisible format characters, lone surrogates…)
    shown as a visible escape such as ``\\x1b``; tab and newline are kept unless ``one_line``.

    The one sanitizer for the command line and every message that names a file, URL or user text
    (:func:`shown` is its one-line, length-capped form)."""
    return (_CANDIDATE_ONE_LINE if one_line else _CANDIDATE).sub(_escape, text)


def shown(text: str, limit: int = 200) -> str:
    """``text`` safe for a one-line message (an error naming a file or an address): every control
    escaped as by :func:`clean`, newline and tab too, and long text cut to ``limit`` characters with '…'."""
    cleaned = clean(text, one_line=True)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _json_escape(match: re.Match[str]) -> str:
    run = match.group()
    return run if run.isprintable() else "".join(_json_char(ch) for ch in run)


def _json_char(ch: str) -> str:
    """``ch`` itself, or its JSON escape when :func:`clean` would escape it."""
    if _keep(ch):
        return ch
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON spells a character beyond the BMP as a UTF-16 surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_line(obj: Any) -> str:
    """One JSON line (UTF-8 kept readable) in which no character can drive a terminal.

    ``json.dumps`` escapes C0 controls already; every other character :func:`clean` would escape
    (C1, bidi and other format characters, lone surrogates…) is written as ``\\uXXXX`` too, which JSON
    readers decode back to the same text.
    """
    return _CANDIDATE_ONE_LINE.sub(_json_escape, json.dumps(obj, ensure_ascii=False))


# ---------------------------------------------------------------------------------------- answers


def _bold(text: str, tty: bool) -> str:
    return f"\033[1m{text}\033[0m" if tty else f"**{text}**"


def _marked(text: str, spans: Sequence[tuple[int, int]], tty: bool) -> str:
    """``text`` cleaned, with the spans in bold (the only escape codes this module writes)."""
    out, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        out.append(clean(text[pos:start]))
        out.append(_bold(clean(text[start:end]), tty))
        pos = end
    out.append(clean(text[pos:]))
    return "".join(out)


def _passage_lines(ranked: RankedPassage, tty: bool, width: int) -> list[str]:
    """A passage wrapped and indented, matched words in bold, then its citation line (cleaned)."""
    doc = ranked.passage.document
    body = _marked(ranked.passage.text, ranked.highlight.spans, tty)
    wrapped = textwrap.fill(body, width=width, initial_indent="    ", subsequent_indent="    ")
    cite = f'    — "{clean(doc.title)}", {clean(doc.source)}, ¶{ranked.passage.paragraph}'
    if doc.url:
        cite += f" <{clean(doc.url)}>"
    return [wrapped, cite]


#: Longest question echoed on the "Q:" line (a pasted page is searched whole, not echoed whole).
QUESTION_ECHO_CHARS = 300


def _question_line(question: str) -> str:
    """The question as echoed: one line, cleaned, at most :data:`QUESTION_ECHO_CHARS` characters
    (a longer one ends with "… (N characters)")."""
    flat = " ".join(question.split())
    if len(flat) <= QUESTION_ECHO_CHARS:
        return shown(flat, QUESTION_ECHO_CHARS)
    return shown(flat, QUESTION_ECHO_CHARS) + f" ({len(flat):,} characters)"


def format_answer(answer: Answer, documents: Sequence[Document], tty: bool = False, width: int = 100) -> str:
    """A readable, cited reply for the terminal, by verdict (matched words in bold; all cleaned).

    * ``answer``: each passage under its best sentence, with citation and score;
    * ``closest``: :data:`bot.messages.CLOSEST_LABEL`, then the closest passage alone (no best
      sentence as a headline, the confidence beside the citation): never laid out as an answer;
    * ``none``: :func:`bot.messages.not_in_sources`, naming what the sources (``documents``) cover.
    """
    lines: list[str] = [f"Q: {_question_line(answer.question)}", ""]
    best = answer.best
    if answer.verdict == "answer" and answer.passages:
        for rank, ranked in enumerate(answer.passages, start=1):
            wrapped, cite = _passage_lines(ranked, tty, width)
            headline = f"[{rank}] {clean(ranked.highlight.sentence)}"
            lines += [headline, wrapped, cite + f"  (score {ranked.score:.2f})", ""]
    elif answer.verdict == "closest" and best is not None:
        wrapped, cite = _passage_lines(best, tty, width)
        lines += [messages.CLOSEST_LABEL, "", wrapped, cite + f"  (confidence {answer.confidence:.2f})"]
    elif answer.reason == "empty":
        lines.append(messages.NO_SEARCHABLE_WORDS)
    elif documents:
        lines.append(clean(messages.not_in_sources(messages.titles_of([d.title for d in documents]))))
    else:
        lines.append(f"{messages.NOT_IN_SOURCES} {messages.NO_DOCUMENTS}")
    return "\n".join(lines).rstrip() + "\n"


def format_explanation(ex: Explanation, width: int = 100) -> str:
    """``summitbot ask --explain``: the analysed question, each top passage's matched and missing
    terms and evidence, the confidence inputs with their contributions, the verdict and why."""
    lines = [f"Q: {_question_line(ex.question)}", "", "Question terms (how each word was read, its weight):"]
    if not ex.terms:
        lines.append("    (none: only stopwords or symbols)")
    for t in ex.terms:
        seen = "" if t.in_corpus else ", not in the corpus"
        lines.append(f"    {clean(t.words)!r:<28} -> {clean(t.term):<28} {t.how:<12} weight {t.weight:.2f}{seen}")
    for rank, p in enumerate(ex.passages, start=1):
        ev = p.evidence
        lines.append("")
        lines.append(f'[{rank}] "{clean(p.title)}" ¶{p.paragraph} ({clean(p.document)})')
        lines.append(
            f"    score {p.score:.2f} (BM25 {p.bm25:.2f}); " + ", ".join(f"{k} {v:.2f}" for k, v in p.features.items())
        )
        lines.append("    matched: " + (", ".join(map(clean, p.matched)) or "-"))
        lines.append("    missing: " + (", ".join(map(clean, p.missing)) or "-"))
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
    """The summary for the terminal: each sentence with its citation, then the word count (cleaned)."""
    lines = [f"Summary ({summary.scope}):", ""]
    if summary.is_empty:
        lines.append(summary.message or messages.NOTHING_ON_TOPIC)
        return clean("\n".join(lines))
    opens = {section.sentences[0]: section for section in summary.sections if section.sentences}
    for i, sent in enumerate(summary.sentences, start=1):
        section = opens.get(i - 1)
        if section is not None:  # an overview by topic: the topic's name and size before its sentences
            lines.append(messages.topic_heading(section.name, section.documents))
        lines.append(textwrap.fill(sent.text, width=width, initial_indent=f"[{i}] ", subsequent_indent="    "))
        lines.append(f'    — "{sent.title}", {sent.source}, ¶{sent.paragraph} ({sent.document})')
    lines.append("")
    lines.append(f"{summary.words} of {summary.budget} words; every sentence quoted from its source.")
    return clean("\n".join(lines))


# ------------------------------------------------------------------------------------ index builds


class BuildBar:
    """Progress of an index build on a terminal: files read, passages analysed, time left.

    Redraws one line on ``stream`` at most every ``every`` seconds, as
    ``[#####-----] 52%  files 5,200  passages 520,000/1,000,000  0:41 left``.
    """

    def __init__(self, stream: TextIO, every: float = 0.2, width: int = 30) -> None:
        self.stream = stream
        self.every = every
        self.width = width
        self.files = 0
        self.done = 0
        self.total = 0
        self.started = time.monotonic()
        self.analysis_started: float | None = None
        self.drawn = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Record progress (a :data:`bot.engine.BuildProgress`) and redraw if it is time."""
        if stage == "files":
            self.files = done
        else:
            if self.analysis_started is None:
                self.analysis_started = time.monotonic()
            self.done, self.total = done, total
        now = time.monotonic()
        if now - self.drawn >= self.every or (self.total and self.done >= self.total):
            self.drawn = now
            self.stream.write("\r" + self.line(now) + "\033[K")
            self.stream.flush()

    def line(self, now: float) -> str:
        """The bar's text at time ``now``."""
        share = self.done / self.total if self.total else 0.0
        filled = int(share * self.width)
        text = f"[{'#' * filled}{'-' * (self.width - filled)}] {share:4.0%}  files {self.files:,}"
        if self.total:
            text += f"  passages {self.done:,}/{self.total:,}"
            if self.analysis_started is not None and self.done:
                rate = self.done / max(now - self.analysis_started, 1e-9)
                left = int((self.total - self.done) / rate)
                text += f"  {left // 60}:{left % 60:02d} left"
        return text

    def close(self) -> None:
        """End the bar's line."""
        self.stream.write("\n")
        self.stream.flush()
