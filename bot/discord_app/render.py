"""Pure renderers: answers, summaries, source lists and notices as Discord embeds and text.

No network and no bot state: every function takes core objects and returns ``discord.Embed``
objects or strings that respect Discord's limits (see :mod:`bot.discord_app.limits`). Corpus text
and user text are escaped, so neither can add formatting, links or mentions.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import discord

from bot import messages
from bot.answering import Answer, Highlight, RankedPassage
from bot.corpus import Document, Problem
from bot.discord_app import limits
from bot.discord_app.limits import ELLIPSIS, escape_text, one_line, trim
from bot.sentences import sentence_spans

if TYPE_CHECKING:
    from bot.engine import CorpusChange
    from bot.ingest import Article
    from bot.summaries import Summary

ANSWER_COLOUR = discord.Colour(0x2B6CB0)
MISS_COLOUR = discord.Colour(0x718096)
#: A closest passage (not confident it answers): a neutral grey-beige, never the answer's blue.
CLOSEST_COLOUR = discord.Colour(0xA89F91)
ERROR_COLOUR = discord.Colour(0xC53030)
OK_COLOUR = discord.Colour(0x2F855A)
WARNING_COLOUR = discord.Colour(0xC05621)

#: Room for the best passage in an answer embed (the rest of 6,000 goes to the extra passages).
BEST_PASSAGE_CHARS = 3000
#: Room for each extra passage (an embed field value holds 1,024).
EXTRA_PASSAGE_CHARS = 700
#: The question as kept in an answer's footer (so a button can find it after a restart).
FOOTER_QUESTION_CHARS = 1000
FOOTER_PREFIX = "Q: "
#: Documents listed per /sources page.
SOURCES_PER_PAGE = 15


# --------------------------------------------------------------------------------------- passages


def _merged(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans in order, with neighbours separated only by spaces joined ("**JD Vance**")."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start >= merged[-1][1] and not text[merged[-1][1] : start].strip(" "):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


class _Marker:
    """A passage with its matched-word spans merged once, so that marking up any window of it costs
    time linear in the window (not in the passage or its number of spans)."""

    def __init__(self, text: str, highlight: Highlight) -> None:
        self.text = text
        self.highlight = highlight
        self.spans = _merged(text, highlight.spans)
        self.ends = [end for _, end in self.spans]

    def bolded(self, start: int, end: int) -> str:
        """``text[start:end]`` escaped, with each matched-word span inside it in bold."""
        text = self.text
        out: list[str] = []
        pos = start
        for i in range(bisect.bisect_right(self.ends, start), len(self.spans)):
            span_start, span_end = self.spans[i]
            if span_start >= end:
                break
            a, b = max(span_start, start), min(span_end, end)
            if b <= a or a < pos:
                continue
            out.append(escape_text(text[pos:a]))
            out.append(f"**{escape_text(text[a:b])}**")
            pos = b
        out.append(escape_text(text[pos:end]))
        return "".join(out)

    def window(self, start: int, end: int) -> str:
        """``text[start:end]`` with matched words in bold, the best sentence underlined, and an
        ellipsis where the window cuts the passage."""
        highlight = self.highlight
        hs, he = max(highlight.start, start), min(highlight.end, end)
        if he > hs:
            body = self.bolded(start, hs) + "__" + self.bolded(hs, he) + "__" + self.bolded(he, end)
        else:
            body = self.bolded(start, end)
        if start > 0:
            body = ELLIPSIS + " " + body.lstrip()
        if end < len(self.text.rstrip()):
            body = body.rstrip() + " " + ELLIPSIS
        return body


def passage_markup(text: str, highlight: Highlight, budget: int) -> str:
    """A passage for Discord: question words in **bold**, the best sentence __underlined__.

    When the whole passage does not fit in ``budget`` characters, the best sentence is kept with
    as many neighbouring sentences as fit (cut at sentence boundaries, with "…"); a best sentence
    longer than the budget is cut at a word boundary. Spans are merged once and every window is
    built from a bisected slice of them, so a long passage costs linear time, not quadratic.
    """
    marker = _Marker(text, highlight)
    window = marker.window
    # Markup only ever adds characters: a window of more than ``budget`` characters of text
    # cannot fit, so such windows are never built.
    if len(text) <= budget:
        full = window(0, len(text))
        if len(full) <= budget:
            return full
    spans = list(sentence_spans(text)) or [(0, len(text))]
    index = next((i for i, (_, e) in enumerate(spans) if e > highlight.start), 0)
    start, end = spans[index]
    if end - start > budget or len(window(start, end)) > budget:
        # Even the best sentence is too long: keep its start, cut at a word boundary. Past
        # ``budget`` characters of text the markup can only be longer, so search no further.
        end = min(end, start + budget + 1)
        low, high = start, end
        while high - low > 1:
            mid = (low + high) // 2
            if len(window(start, mid)) <= budget:
                low = mid
            else:
                high = mid
        cut = text.rfind(" ", start, low + 1)
        stop = cut if cut > start + (low - start) // 2 else low
        result = window(start, stop)
        return result if len(result) <= budget else trim(result, budget)
    before, after = index - 1, index + 1
    grew = True
    while grew:
        grew = False
        if after < len(spans) and spans[after][1] - start <= budget:
            candidate = window(start, spans[after][1])
            if len(candidate) <= budget:
                end = spans[after][1]
                after += 1
                grew = True
        if before >= 0 and end - spans[before][0] <= budget:
            candidate = window(spans[before][0], end)
            if len(candidate) <= budget:
                start = spans[before][0]
                before -= 1
                grew = True
    return window(start, end)


def citation(document: Document, paragraph: int, *, link: bool = True) -> str:
    """ "*Title*, source, ¶3" with a link to the article when it has a URL (escaped markdown)."""
    title = escape_text(one_line(document.title))
    line = f"*{title}*, {escape_text(one_line(document.source))}, ¶{paragraph}"
    masked = limits.masked_link("read the article", document.url) if link else None
    if masked:
        line += f" · {masked}"
    return line


def _plain_citation(document: Document, paragraph: int) -> str:
    """The citation without italics or link, for a field name (Discord renders markdown there too, so the
    corpus text is escaped)."""
    return f"{escape_text(one_line(document.title))} — {escape_text(one_line(document.source))}, ¶{paragraph}"


# ---------------------------------------------------------------------------------------- answers


def question_key(question: str) -> str:
    """A short, stable hash of a question (10 hex digits) for button custom ids."""
    return hashlib.sha256(one_line(question).encode("utf-8")).hexdigest()[:10]


def footer_question(question: str) -> str:
    """The footer that carries the question (footers show no markdown; mentions are defused)."""
    flat = discord.utils.escape_mentions(one_line(limits.without_hidden(question)))
    return FOOTER_PREFIX + trim(flat, FOOTER_QUESTION_CHARS)


def question_from_footer(footer: str | None) -> str | None:
    """The question kept in an answer footer by :func:`footer_question`, or None."""
    if not footer or not footer.startswith(FOOTER_PREFIX):
        return None
    return footer[len(FOOTER_PREFIX) :].replace("@\u200b", "@")


def _passage_embed_parts(ranked: RankedPassage, budget: int) -> str:
    """The passage marked up within ``budget``; a part of a split paragraph shows "…" where the
    paragraph goes on before or after it."""
    passage = ranked.passage
    before, after = passage.part > 1, passage.part < passage.parts
    body = passage_markup(passage.text, ranked.highlight, budget - 2 * (before + after))
    if before and not body.startswith(ELLIPSIS):
        body = ELLIPSIS + " " + body
    if after and not body.endswith(ELLIPSIS):
        body = body + " " + ELLIPSIS
    return body


def render_answer(answer: Answer) -> list[discord.Embed]:
    """The reply to an answered question: the best passage with its citation, and every further
    passage of the answer (the engine returns at most ``search.top_k``) as a field, within Discord's
    limits. The question rides in the footer."""
    best = answer.best
    if best is None:
        raise ValueError("render_answer needs an answer with at least one passage")
    doc = best.passage.document
    embed = discord.Embed(
        colour=ANSWER_COLOUR,
        title=limits.escape_trimmed(doc.title, limits.EMBED_TITLE),
        url=limits.usable_url(doc.url, limits.EMBED_URL),
    )
    body = _passage_embed_parts(best, BEST_PASSAGE_CHARS)
    embed.description = body + "\n\n— " + citation(doc, best.passage.paragraph)
    for rank, extra in enumerate(answer.passages[1 : limits.EMBED_FIELDS + 1], start=2):
        extra_doc = extra.passage.document
        name = trim(f"{rank}. {_plain_citation(extra_doc, extra.passage.paragraph)}", limits.FIELD_NAME)
        value = _passage_embed_parts(extra, EXTRA_PASSAGE_CHARS)
        extra_link = limits.masked_link("read the article", extra_doc.url)
        if extra_link:
            link = f"\n{extra_link}"
            value = value if len(value) + len(link) > limits.FIELD_VALUE else value + link
        embed.add_field(name=name, value=trim(value, limits.FIELD_VALUE), inline=False)
    embed.set_footer(text=footer_question(answer.question))
    return [shrink_to_total(embed)]


def render_closest(answer: Answer) -> list[discord.Embed]:
    """The reply when the engine is not confident the best passage answers (verdict "closest").

    Not an answer's look: a neutral colour, :data:`bot.messages.CLOSEST_LABEL` as the title (no
    article title or link there), the closest passage alone with its citation. The question rides
    in the footer, so "More passages" finds it after a restart.
    """
    best = answer.best
    if best is None:
        raise ValueError("render_closest needs an answer with at least one passage")
    doc = best.passage.document
    embed = discord.Embed(colour=CLOSEST_COLOUR, title=trim(messages.CLOSEST_LABEL, limits.EMBED_TITLE))
    body = _passage_embed_parts(best, BEST_PASSAGE_CHARS)
    embed.description = body + "\n\n— " + citation(doc, best.passage.paragraph)
    embed.set_footer(text=footer_question(answer.question))
    return [shrink_to_total(embed)]


def render_more(question: str, passages: Sequence[RankedPassage], first_rank: int) -> list[discord.Embed]:
    """Further passages for a question ("More passages"), one embed each, within the total limit;
    in the neutral colour of a closest passage: ranked passages, not answers."""
    if not passages:
        return [
            discord.Embed(colour=MISS_COLOUR, description="No more passages match this question.").set_footer(
                text=footer_question(question)
            )
        ]
    embeds: list[discord.Embed] = []
    share = max(300, (limits.EMBED_TOTAL - 1200) // len(passages) - 300)
    for rank, ranked in enumerate(passages, start=first_rank):
        doc = ranked.passage.document
        embed = discord.Embed(
            colour=CLOSEST_COLOUR,
            title=limits.escape_trimmed(f"{rank}. {doc.title}", limits.EMBED_TITLE),
            url=limits.usable_url(doc.url, limits.EMBED_URL),
            description=_passage_embed_parts(ranked, min(share, 2000))
            + "\n\n— "
            + citation(doc, ranked.passage.paragraph),
        )
        embeds.append(embed)
    embeds[-1].set_footer(text=footer_question(question))
    return shrink_all(embeds)


def document_list(documents: Sequence[Document], limit: int, *, separator: str = "; ") -> str:
    """Document titles in italics, separated, with "and N more" when they do not all fit."""
    shown: list[str] = []
    for i, doc in enumerate(documents):
        item = "*" + escape_text(trim(one_line(doc.title), 80)) + "*"
        rest = len(documents) - i - 1
        tail = f"{separator}and {rest} more" if rest else ""
        if len(separator.join([*shown, item])) + len(tail) > limit:
            more = len(documents) - i
            return separator.join(shown) + (f"{separator}and {more} more" if shown else f"{more} documents")
        shown.append(item)
    return separator.join(shown)


def render_not_found(documents: Sequence[Document]) -> str:
    """The short reply when the sources do not answer: what they do cover, and where to look."""
    tail = " Try `/sources` for the full list."
    if not documents:
        return f"{messages.NOT_IN_SOURCES} {messages.NO_DOCUMENTS}"
    shown = messages.TITLES_SHOWN
    titles = document_list(documents[:shown] if len(documents) > shown else documents, 600)
    return trim(messages.not_in_sources(messages.and_more(titles, len(documents))) + tail, limits.CONTENT)


# ------------------------------------------------------------------------------------ size guards


def shrink_to_total(embed: discord.Embed, total: int = limits.EMBED_TOTAL) -> discord.Embed:
    """Cut an embed's fields, then its description, until every limit and ``total`` hold."""
    if embed.title and len(embed.title) > limits.EMBED_TITLE:
        embed.title = trim(embed.title, limits.EMBED_TITLE)
    if embed.description and len(embed.description) > limits.EMBED_DESCRIPTION:
        embed.description = trim(embed.description, limits.EMBED_DESCRIPTION)
    while len(embed.fields) > limits.EMBED_FIELDS:
        embed.remove_field(-1)
    while len(embed) > total and embed.fields:
        embed.remove_field(-1)
    if len(embed) > total and embed.description:
        excess = len(embed) - total
        embed.description = trim(embed.description, max(0, len(embed.description) - excess))
    if len(embed) > total and embed.footer.text:
        excess = len(embed) - total
        embed.set_footer(text=trim(embed.footer.text, max(0, len(embed.footer.text) - excess)))
    return embed


def shrink_all(embeds: list[discord.Embed], total: int = limits.EMBED_TOTAL) -> list[discord.Embed]:
    """Keep a message's embeds (at most 10) within the shared 6,000-character total."""
    embeds = embeds[: limits.EMBEDS_PER_MESSAGE]
    while len(embeds) > 1 and sum(len(e) for e in embeds) > total:
        embeds.pop()
    if embeds:
        shrink_to_total(embeds[0], total - sum(len(e) for e in embeds[1:]))
    return embeds


# ---------------------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class SourcesPage:
    """One page of the /sources listing."""

    embed: discord.Embed
    page: int
    pages: int


def _count(n: int, noun: str) -> str:
    return messages.count(n, noun)


def _source_line(doc: Document) -> str:
    paragraphs = len(doc.paragraphs)
    parts = [escape_text(one_line(doc.source))]
    if doc.published:
        parts.append(escape_text(doc.published))
    parts.append(f"{paragraphs} paragraph{'s' if paragraphs != 1 else ''}")
    short_title = trim(one_line(doc.title), 200)
    title = limits.masked_link(short_title, doc.url) or f"**{escape_text(short_title)}**"
    return trim(f"{title} — " + ", ".join(parts) + f" · `{doc.id}`", 400)


def render_sources(documents: Sequence[Document], page: int = 1) -> SourcesPage:
    """Page ``page`` (1-based, clamped) of the documents: title, source, date, paragraph count."""
    pages = max(1, math.ceil(len(documents) / SOURCES_PER_PAGE))
    page = min(max(page, 1), pages)
    chunk = documents[(page - 1) * SOURCES_PER_PAGE : page * SOURCES_PER_PAGE]
    lines = [_source_line(doc) for doc in chunk]
    passages = sum(len(d.paragraphs) for d in documents)
    embed = discord.Embed(
        colour=ANSWER_COLOUR, title=f"My sources ({_count(len(documents), 'document')}, {_count(passages, 'passage')})"
    )
    embed.description = trim("\n".join(lines), limits.EMBED_DESCRIPTION) if lines else "No documents are loaded."
    footer = f"Page {page} of {pages}"
    if pages > 1:
        footer += " · /sources page:<n> for another page"
    embed.set_footer(text=footer)
    return SourcesPage(shrink_to_total(embed), page, pages)


# ------------------------------------------------------------------------------------------- help


def render_help(answer_channels: Iterable[int], *, in_dm: bool = False) -> discord.Embed:
    """What the bot does, and where it answers without a mention."""
    channels = list(answer_channels)
    lines = [
        "I answer questions about my news sources by quoting the passages that answer them, "
        "with a citation for each (title, source, paragraph).",
        "",
        "**Ask**",
        "• `/ask question:` — answer here (add `private:True` to see it alone)",
        "• mention me with a question, or send me a direct message",
    ]
    if channels and not in_dm:
        where = ", ".join(f"<#{c}>" for c in channels[:20])
        threads = "its threads" if len(channels) == 1 else "their threads"
        lines.append(
            f"• in {where} (and {threads}) just type the question, no mention needed; "
            "there I reply only when my sources answer it"
        )
    lines += [
        "",
        "**Explore**",
        "• `/summary` — a cited summary of one document, a topic, or everything",
        "• `/sources` — the documents I know",
        "• **More passages** under an answer shows the next results; 👍/👎 tell us if it helped",
        "",
        "**Admins**",
        "• `/reload` — re-read the corpus folder  • `/stats` — usage figures",
        "",
        "When I'm not sure a passage answers, I say so and show the closest one; when nothing in "
        "my sources is related, I say that rather than guess.",
    ]
    embed = discord.Embed(colour=ANSWER_COLOUR, title="What I can do", description="\n".join(lines))
    return shrink_to_total(embed)


# ----------------------------------------------------------------------------------------- reload


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _doc_ids(ids: Sequence[str], limit: int = 900) -> str:
    return trim(", ".join(f"`{i}`" for i in ids), limit) if ids else "—"


def render_reload(change: CorpusChange, seconds: float, documents: int, warnings: Sequence[str] = ()) -> discord.Embed:
    """What a successful /reload changed, how long it took, and warnings that did not stop it
    (failing probes: the new corpus is in service anyway)."""
    if change.unchanged:
        summary = "No documents changed."
    else:
        summary = f"{len(change.added)} added, {len(change.removed)} removed, {len(change.changed)} changed."
    embed = discord.Embed(
        colour=OK_COLOUR,
        title="Corpus reloaded",
        description=f"{summary}\nNow serving {_count(documents, 'document')} "
        f"({change.passages_before} → {change.passages_after} passages). Took {_duration(seconds)}.",
    )
    if change.added:
        embed.add_field(name="Added", value=_doc_ids(change.added), inline=False)
    if change.removed:
        embed.add_field(name="Removed", value=_doc_ids(change.removed), inline=False)
    if change.changed:
        embed.add_field(name="Changed", value=_doc_ids(change.changed), inline=False)
    if warnings:
        embed.colour = WARNING_COLOUR
        embed.add_field(name=f"Warnings ({len(warnings)})", value=_warning_lines(warnings), inline=False)
    return shrink_to_total(embed)


def _warning_lines(warnings: Sequence[str], limit: int = limits.FIELD_VALUE) -> str:
    """Warnings as escaped bullet lines within a field, with "… and N more" when they do not fit."""
    lines: list[str] = []
    used = 0
    for i, warning in enumerate(warnings):
        line = "• " + escape_text(trim(one_line(warning), 300))
        rest = len(warnings) - i - 1
        tail = len(f"\n… and {rest} more; run `summitbot calibrate`") if rest else 0
        if used + len(line) + 1 + tail > limit:
            lines.append(f"… and {len(warnings) - i} more; run `summitbot calibrate`")
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def _relative(problem: Problem, root: Path | None) -> str:
    """A problem line with the path relative to the corpus folder (no server paths shown)."""
    path = problem.path
    if root is not None:
        try:
            path = Path(problem.path).resolve().relative_to(Path(root).resolve())
        except (ValueError, OSError):
            path = Path(problem.path.name)
        if path == Path("."):  # the corpus folder itself (e.g. deleted): name it, not "."
            path = Path(Path(root).name or str(root))
    where = f"{path}:{problem.line}" if problem.line else str(path)
    label = "" if problem.label == "corpus error" else f"{problem.label}: "  # the list is the corpus's
    return f"{label}{where}: {problem.message}"


def render_reload_failed(problems: Sequence[Problem], root: Path | None, documents: int) -> discord.Embed:
    """Why a /reload failed; the previous corpus stays in service."""
    lines: list[str] = []
    used = 0
    for i, problem in enumerate(problems):
        line = "• " + escape_text(trim(one_line(_relative(problem, root)), 300))
        if used + len(line) + 1 > 3500:
            lines.append(f"… and {len(problems) - i} more problems")
            break
        lines.append(line)
        used += len(line) + 1
    embed = discord.Embed(
        colour=ERROR_COLOUR,
        title="Reload failed: still serving the previous corpus",
        description=f"Still answering from the {_count(documents, 'document')} loaded before.\n\n" + "\n".join(lines),
    )
    return shrink_to_total(embed)


# -------------------------------------------------------------------------------------- summaries


def render_summary(summary: Summary, heading: str) -> discord.Embed:
    """A summary: its quoted sentences with numbered citations, then the list of citations."""
    embed = discord.Embed(colour=ANSWER_COLOUR, title=limits.escape_trimmed(heading, limits.EMBED_TITLE))
    if summary.is_empty:
        embed.colour = MISS_COLOUR
        embed.description = escape_text(summary.message or "Nothing to summarise.")
        return embed
    numbers: dict[str, int] = {}  # document id -> its number in the source list
    refs: list[str] = []
    parts: list[str] = []
    opens = {section.sentences[0]: section for section in summary.sections if section.sentences}
    for index, sentence in enumerate(summary.sentences):
        section = opens.get(index)
        if section is not None:  # an overview by topic: its name and size before its sentences
            parts.append(
                ("\n" if parts else "")
                + f"**{escape_text(one_line(messages.topic_heading(section.name, section.documents)))}**\n"
            )
        if sentence.document not in numbers:
            numbers[sentence.document] = len(numbers) + 1
            line = f"`[{numbers[sentence.document]}]` *{escape_text(one_line(sentence.title))}*, "
            line += escape_text(one_line(sentence.source))
            masked = limits.masked_link("read the article", getattr(sentence, "url", None))
            if masked:
                line += f" · {masked}"
            refs.append(trim(line, 300))
        marker = f"`[{numbers[sentence.document]} ¶{sentence.paragraph}]`"
        parts.append(f"{escape_text(one_line(sentence.text))} {marker}")
    body = trim(" ".join(parts), 3000)
    sources = ""
    for shown, ref in enumerate(refs):
        if len(sources) + len(ref) + 1 > 900:
            sources += f"\n… and {len(refs) - shown} more"
            break
        sources += ("\n" if sources else "") + ref
    embed.description = body + "\n\n**Sources**\n" + sources
    embed.set_footer(text=f"{summary.words} of {summary.budget} words · every sentence quoted from its source")
    return shrink_to_total(embed)


# ---------------------------------------------------------------------------------- autocomplete


def document_choices(documents: Sequence[Document], current: str) -> list[tuple[str, str]]:
    """Up to 25 (name, value) choices for a document option: ids/titles containing ``current``."""
    needle = current.casefold().strip()
    starts: list[Document] = []
    contains: list[Document] = []
    for doc in documents:
        hay_id, hay_title = doc.id.casefold(), doc.title.casefold()
        if not needle or hay_id.startswith(needle) or hay_title.startswith(needle):
            starts.append(doc)
        elif needle in hay_id or needle in hay_title:
            contains.append(doc)
        if len(starts) >= limits.CHOICES:
            break
    chosen = (starts + contains)[: limits.CHOICES]
    return [
        (trim(f"{one_line(doc.title)} ({doc.id})", limits.CHOICE_NAME), doc.id[: limits.CHOICE_VALUE]) for doc in chosen
    ]


# ---------------------------------------------------------------------------------------- notices


def notice(text: str) -> str:
    """A short message to a user, within the content limit."""
    return trim(text, limits.CONTENT)


#: The reply to a mention (or /ask) with nothing to search for: only mentions, emoji or stop words.
QUESTION_HINT = messages.QUESTION_HINT


def wait_notice(retry_after: float) -> str:
    """The cooldown notice (public under a message question, so short and neutral)."""
    return f"Please wait {max(1, math.ceil(retry_after))} s before asking again."


def too_long_notice(length: int, limit: int) -> str:
    """The notice for a question over ``answers.max_question_chars`` (public under a message question)."""
    return f"That question is a bit long ({length:,} characters; the limit is {limit:,}). Please shorten it."


# ------------------------------------------------------------------------------------ corpus curation

#: How much of a new article the /corpus add preview shows.
PREVIEW_PARAGRAPHS = 3
PREVIEW_PARAGRAPH_CHARS = 400


def render_import_preview(article: Article, doc_id: str) -> discord.Embed:
    """What ``/corpus add`` would add: title, source, date, paragraph count and the first lines."""
    embed = discord.Embed(colour=ANSWER_COLOUR, title=limits.escape_trimmed(article.title, limits.EMBED_TITLE))
    embed.url = limits.usable_url(article.url, limits.EMBED_URL)
    first = [limits.escape_trimmed(p, PREVIEW_PARAGRAPH_CHARS) for p in article.paragraphs[:PREVIEW_PARAGRAPHS]]
    more = len(article.paragraphs) - len(first)
    if more > 0:
        first.append(f"*… and {_count(more, 'more paragraph')}*")
    embed.description = trim("\n\n".join(first), limits.EMBED_DESCRIPTION)
    embed.add_field(name="Source", value=limits.escape_trimmed(article.source, 300))
    embed.add_field(name="Published", value=escape_text(article.published) if article.published else "not given")
    embed.add_field(name="Paragraphs", value=f"{len(article.paragraphs)} ({article.words:,} words)")
    embed.add_field(name="Document id", value=f"`{doc_id}`", inline=False)
    embed.set_footer(text="Add writes the article into the corpus and reloads; Cancel writes nothing.")
    return shrink_to_total(embed)


def render_document(document: Document, root: Path | None) -> discord.Embed:
    """``/corpus show``: a document's front matter, file and paragraph count, and its first paragraph."""
    embed = discord.Embed(colour=ANSWER_COLOUR, title=limits.escape_trimmed(document.title, limits.EMBED_TITLE))
    embed.url = limits.usable_url(document.url, limits.EMBED_URL)
    if document.paragraphs:
        embed.description = limits.escape_trimmed(document.paragraphs[0], PREVIEW_PARAGRAPH_CHARS * 2)
    embed.add_field(name="Source", value=limits.escape_trimmed(document.source, 300))
    embed.add_field(name="Published", value=escape_text(document.published) if document.published else "not given")
    embed.add_field(name="Paragraphs", value=str(len(document.paragraphs)))
    embed.add_field(name="Document id", value=f"`{document.id}`")
    embed.add_field(name="File", value=limits.escape_trimmed(corpus_relative(document.path, root), 300))
    if document.url and embed.url is None:
        embed.add_field(name="URL", value=limits.escape_trimmed(document.url, 1000), inline=False)
    return shrink_to_total(embed)


def corpus_relative(path: Path, root: Path | None) -> str:
    """``path`` relative to the corpus folder (no server paths shown)."""
    if root is not None:
        try:
            return str(Path(path).resolve().relative_to(Path(root).resolve()))
        except (ValueError, OSError):
            pass
    return Path(path).name


def render_corpus_done(what: str, document_id: str, title: str, detail: str) -> discord.Embed:
    """The first embed of a ``/corpus add`` or ``remove`` reply: what was done to which document."""
    embed = discord.Embed(colour=OK_COLOUR, title=trim(what, limits.EMBED_TITLE))
    embed.description = trim(
        f"`{document_id}` — {limits.escape_trimmed(title, 300)}\n{escape_text(detail)}", limits.EMBED_DESCRIPTION
    )
    return embed


def import_refusal(message: str) -> str:
    """An import or removal that could not be done, as a private notice (the reason escaped)."""
    return notice("Nothing was changed: " + escape_text(one_line(message)))
