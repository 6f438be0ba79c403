"""Renderers and limits: every output within Discord's limits, user text escaped, trims at sentences."""

from __future__ import annotations

import re
from pathlib import Path

import discord
from embed_limits import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answering import Answer, Highlight, RankedPassage
from bot.corpus import Document, Passage, Problem
from bot.discord_app import components, limits, render
from bot.discord_app.components import MorePassagesButton, VoteButton
from bot.discord_app.limits import ELLIPSIS, escape_text, trim
from bot.engine import CorpusChange
from bot.summaries import Summary, SummarySection, SummarySentence

# Text with sentences, markdown characters, mentions, links and long words.
words = st.sampled_from(
    ["the", "summit", "U.S.", "AI", "**bold**", "_x_", "[link](https://e.x)", "@everyone", "<@123456789012345678>",
     "`code`", "||spoiler||", "a" * 120, "end.", "why?", "wow!", "\\", "# head", "-", ">", "https://x.y/a_b"]
)  # fmt: skip
texts = st.lists(words, min_size=0, max_size=1500).map(" ".join)
limits_ = st.integers(min_value=0, max_value=5000)


def document(doc_id: str = "doc", title: str = "Title", source: str = "example.org", url: str | None = None,
             paragraphs: tuple[str, ...] = ("Text.",)) -> Document:  # fmt: skip
    return Document(doc_id, title, source, url, "2025-02-11", Path(f"/srv/corpus/{doc_id}.md"), paragraphs)


def ranked(text: str, doc: Document | None = None, paragraph: int = 1) -> RankedPassage:
    """A ranked passage whose highlight is its middle sentence, with every 'summit' in bold."""
    doc = doc or document(paragraphs=(text,))
    middle = len(text) // 2
    start = max(text.rfind(". ", 0, middle) + 2, 0) if ". " in text[:middle] else 0
    end = text.find(". ", middle)
    end = len(text) if end < 0 else end + 1
    spans = tuple((m.start(), m.end()) for m in re.finditer("summit", text))
    return RankedPassage(Passage(doc, paragraph, text), 1.0, Highlight(text[start:end], start, end, ("summit",), spans))


def fits_message(embeds: list[discord.Embed]) -> bool:
    return all(fits(e) for e in embeds) and sum(len(e) for e in embeds) <= limits.EMBED_TOTAL


# --------------------------------------------------------------------------------------- trim


def test_trim_keeps_short_text() -> None:
    assert trim("Short.", 10) == "Short."


def test_trim_cuts_at_sentence_boundary_with_ellipsis() -> None:
    text = "First sentence here. Second sentence here. Third sentence here."
    assert trim(text, 50) == "First sentence here. Second sentence here. " + ELLIPSIS


def test_trim_falls_back_to_word_boundary() -> None:
    text = "one two three four five six seven eight nine ten eleven twelve"
    out = trim(text, 20)
    assert out == "one two three four" + ELLIPSIS and len(out) <= 20


def test_trim_never_leaves_a_dangling_escape() -> None:
    out = trim("abcdefgh\\*ijklmnop", 10)
    assert not out.rstrip(ELLIPSIS).endswith("\\")


@given(texts, limits_)
def test_trim_within_limit(text: str, limit: int) -> None:
    out = trim(text, limit)
    assert len(out) <= limit
    if len(text) <= limit:
        assert out == text
    elif limit > 2:
        assert ELLIPSIS in out


# ----------------------------------------------------------------------------------- escaping


def test_escape_defuses_markdown_links_and_mentions() -> None:
    raw = "[click](https://evil.example) **b** @everyone @here <@123456789012345678> <@&123456789012345678> # h"
    out = escape_text(raw)
    assert "\\[click\\]" in out and "https://evil.example" in out
    assert "\\*\\*b\\*\\*" in out
    assert "@everyone" not in out and "@here" not in out
    assert "<@123456789012345678>" not in out and "<@&123456789012345678>" not in out


def test_escape_leaves_urls_intact() -> None:
    assert "https://x.y/a_b_c" in escape_text("see https://x.y/a_b_c now")


def test_escape_lone_markdown_characters() -> None:
    # discord.utils.escape_markdown leaves a lone '*' alone; next to our own bold it would pair up.
    assert escape_text("5*3") == "5\\*3"
    assert escape_text("a ] b [") == "a \\] b \\["


@given(texts)
def test_escaped_text_has_no_unescaped_markdown(text: str) -> None:
    out = escape_text(text)
    outside_urls = re.sub(r"https?://\S+", "", out)
    assert not re.search(r"(?<!\\)(?:\\\\)*[*_~|`\[\]]", outside_urls)
    assert "@everyone" not in out


# ----------------------------------------------------------------------------------- passages


def test_passage_markup_bolds_words_and_underlines_best_sentence() -> None:
    text = "The summit opened. Leaders met at the summit in Paris. It ended late."
    out = render.passage_markup(text, ranked(text).highlight, 4000)
    assert "__Leaders met at the **summit** in Paris.__" in out
    assert out.startswith("The **summit** opened.")


def test_passage_markup_escapes_corpus_text() -> None:
    text = "A *starred* [note](https://x.y) about the summit."
    out = render.passage_markup(text, ranked(text).highlight, 4000)
    assert "\\*starred\\*" in out and "\\[note\\]" in out and "**summit**" in out


def test_long_passage_keeps_best_sentence_with_ellipses() -> None:
    filler = " ".join(f"Filler sentence {i} about nothing much." for i in range(200))
    text = filler + " The summit was in Paris. " + filler
    start = text.index("The summit")
    end = text.index("Paris.") + len("Paris.")
    hl = Highlight(text[start:end], start, end, ("summit",), ((start + 4, start + 10),))
    out = render.passage_markup(text, hl, 1000)
    assert len(out) <= 1000
    assert "__The **summit** was in Paris.__" in out
    assert out.startswith(ELLIPSIS + " Filler") and out.endswith(". " + ELLIPSIS)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(texts.filter(lambda t: t.strip()), st.integers(min_value=40, max_value=4096))
def test_passage_markup_within_budget(text: str, budget: int) -> None:
    assert len(render.passage_markup(text, ranked(text).highlight, budget)) <= budget


# ------------------------------------------------------------------------------------ answers


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(texts.filter(lambda t: t.strip()), min_size=1, max_size=6), st.text(min_size=1, max_size=4000))
def test_answer_embed_within_limits(passages: list[str], question: str) -> None:
    doc = document(title="T" * 400, source="S" * 300, url="https://example.org/" + "p" * 200)
    answer = Answer(question, "answer", 0.9, tuple(ranked(p, doc, i + 1) for i, p in enumerate(passages)))
    embeds = render.render_answer(answer)
    assert fits_message(embeds)
    more = render.render_more(question, answer.passages, 2)
    assert fits_message(more) and len(more) <= limits.EMBEDS_PER_MESSAGE


def test_answer_embed_has_citation_and_question_footer() -> None:
    text = "Leaders met at the summit in Paris."
    doc = document(title="Paris *summit*", source="ecns.cn", url="https://ecns.cn/a", paragraphs=("x", text))
    answer = Answer("Where was the summit? @everyone", "answer", 0.9, (ranked(text, doc, 2),))
    (embed,) = render.render_answer(answer)
    assert embed.description.endswith("— *Paris \\*summit\\**, ecns.cn, ¶2 · [read the article](https://ecns.cn/a)")
    assert embed.url == "https://ecns.cn/a"
    assert embed.footer.text == "Q: Where was the summit? @\u200beveryone"
    assert render.question_from_footer(embed.footer.text) == "Where was the summit? @everyone"


def test_bidi_overrides_and_controls_in_a_question_or_passage_are_removed() -> None:
    """An unclosed right-to-left override in a question would reverse the rest of the footer (and
    in a passage, the citation after it): overrides, embeddings, isolates and controls are dropped."""
    hidden = "\u202e\u202a\u2066\u2069\x1b\x07\x9b"
    assert escape_text(f"Where{hidden} was it?") == "Where was it?"
    assert escape_text("line one\nline two\ttab") == "line one\nline two\ttab"
    text = f"Leaders met at the summit in Paris.{hidden} It rained."
    doc = document(title=f"Paris{hidden} summit", paragraphs=(text,))
    (embed,) = render.render_answer(
        Answer(f"Where was the summit?{hidden}gpj.exe", "answer", 0.9, (ranked(text, doc, 1),))
    )
    shown = f"{embed.title}{embed.description}{embed.footer.text}"
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", shown), repr(shown)
    assert embed.footer.text == "Q: Where was the summit?gpj.exe"


def test_answer_embed_shows_every_passage_of_the_answer() -> None:
    """The engine returns at most ``search.top_k`` passages; the reply shows all of them (the best
    as the description, the rest as numbered fields), not a fixed three."""
    doc = document(paragraphs=tuple(f"Passage {i} about the summit." for i in range(1, 7)))
    for top_k in (1, 2, 5):
        passages = tuple(ranked(f"Passage {i} about the summit.", doc, i) for i in range(1, top_k + 1))
        (embed,) = render.render_answer(Answer("summit?", "answer", 0.9, passages))
        assert [f.name.split(".")[0] for f in embed.fields] == [str(r) for r in range(2, top_k + 1)]


def test_extra_passage_field_names_carry_no_markdown_from_the_corpus() -> None:
    """Discord renders markdown in embed field names (bold, spoiler, strike-through, code): a title or
    source written with it shows as plain text in the numbered field of a further passage."""
    hostile = document("h", title="**Big** ||spoiler|| ~~old~~ `x` __u__", source="*src* [a](https://e.x)")
    passages = (ranked("The summit met.", document()), ranked("The summit again.", hostile))
    (embed,) = render.render_answer(Answer("summit?", True, 0.9, passages))
    name = embed.fields[0].name
    assert name.startswith("2. ")
    assert escape_text("**Big** ||spoiler|| ~~old~~ `x` __u__") in name
    assert re.search(r"(?<!\\)(\*\*|\|\||~~|`|__|\[a\])", name) is None, name


def test_not_found_names_the_sources_within_limit() -> None:
    docs = [document(f"d{i}", title=f"Title {i} " + "x" * 300) for i in range(50)]
    out = render.render_not_found(docs)
    assert out.startswith("That's not in my sources. They cover: *Title 0")
    assert "and 45 more" in out and len(out) <= limits.CONTENT


# ------------------------------------------------------------------------- sources, reload, etc.


def test_sources_pages_within_limits() -> None:
    docs = [document(f"d{i:03d}", title="[Big] " + "T" * 500, source="S" * 300, paragraphs=("a",) * i)
            for i in range(40)]  # fmt: skip
    first = render.render_sources(docs, 1)
    assert first.pages == 3 and fits(first.embed)
    assert "\\[Big\\]" in first.embed.description
    last = render.render_sources(docs, 99)
    assert last.page == 3 and fits(last.embed)


def test_reload_reports_fit_and_hide_server_paths() -> None:
    change = CorpusChange(tuple(f"added-{i}" * 5 for i in range(300)), ("gone",), (), 10, 12)
    embed = render.render_reload(change, 0.1234, 12)
    assert fits(embed) and "300 added, 1 removed, 0 changed" in embed.description
    problems = [Problem(Path(f"/srv/corpus/sub/f{i}.md"), i + 1, "front matter is **bad** " * 20) for i in range(200)]
    failed = render.render_reload_failed(problems, Path("/srv/corpus"), 5)
    assert fits(failed) and "/srv" not in failed.description
    assert "sub/f0.md:1" in failed.description and "more problems" in failed.description


def test_summary_embed_within_limits_and_cited() -> None:
    sentences = tuple(
        SummarySentence("A *long* sentence about the summit. " * 30, f"doc{i}", f"Title {i}", i + 1, "src", None)
        for i in range(30)
    )
    embed = render.render_summary(Summary("corpus", sentences, 900, 1000), "Summary of all my sources")
    assert fits(embed) and "`[1 ¶1]`" in embed.description and "\\*long\\*" in embed.description
    empty = render.render_summary(Summary.empty("topic:x", "Nothing on that in my sources."), "Summary")
    assert empty.description == "Nothing on that in my sources."


def test_help_mentions_answer_channels() -> None:
    embed = render.render_help([111, 222])
    assert "<#111>" in embed.description and fits(embed)
    assert "<#111>" not in render.render_help([111], in_dm=True).description


def test_document_choices_within_limits() -> None:
    docs = [document(f"doc-{i}", title="Paris " + "t" * 200) for i in range(60)]
    choices = render.document_choices(docs, "paris")
    assert len(choices) == limits.CHOICES
    assert all(len(name) <= limits.CHOICE_NAME and len(value) <= limits.CHOICE_VALUE for name, value in choices)
    assert render.document_choices(docs, "doc-59") == [(render.trim("Paris " + "t" * 200 + " (doc-59)", 100), "doc-59")]


def test_custom_ids_within_limit() -> None:
    more = MorePassagesButton(render.question_key("q" * 4000), 999)
    vote = VoteButton(2**63 - 1, False)
    assert len(more.item.custom_id or "") <= limits.CUSTOM_ID and len(vote.item.custom_id or "") <= limits.CUSTOM_ID
    assert len(more.item.label or "") <= limits.BUTTON_LABEL


def test_public_notices_are_short_and_neutral() -> None:
    assert render.wait_notice(0.2) == "Please wait 1 s before asking again."
    assert render.wait_notice(4.1) == "Please wait 5 s before asking again."  # never less than the real wait
    notice = render.too_long_notice(1234, 500)
    assert notice == "That question is a bit long (1,234 characters; the limit is 500). Please shorten it."


def test_overlong_urls_are_dropped_not_cut() -> None:
    """A corpus URL over a limit is left out (embed url over 2,048; masked links and the Source
    button over 512), never truncated into a link to somewhere else."""
    huge = "https://example.org/" + "a" * 2980  # 3,000 characters
    texts_ = ("Leaders met at the summit in Paris.", "The summit ended with a declaration.", "More on the summit.")
    doc = document(url=huge, paragraphs=texts_)
    answer = Answer("Where was the summit?", "answer", 0.9, tuple(ranked(t, doc, i + 1) for i, t in enumerate(texts_)))
    (embed,) = render.render_answer(answer)
    assert embed.url is None and len(embed.fields) == 2 and fits(embed)
    assert embed.description.endswith(", example.org, ¶1")  # the citation, without a link
    more = render.render_more(answer.question, answer.passages, 2)
    sources = render.render_sources([doc]).embed
    summary = render.render_summary(
        Summary("corpus", (SummarySentence("The summit ended.", "doc", "Title", 2, "example.org", huge),), 3, 60), "S"
    )
    for out in (embed, *more, sources, summary):
        assert "a" * 100 not in str(out.to_dict()) and fits(out)
    assert render.citation(doc, 1) == "*Title*, example.org, ¶1"
    assert components.answer_view(url=huge) is None

    # Under the embed limit but over the link limit: the title link stays, the masked links go.
    long = "https://example.org/" + "b" * 980  # 1,000 characters
    doc = document(url=long, paragraphs=texts_)
    (embed,) = render.render_answer(Answer("Q?", "answer", 0.9, (ranked(texts_[0], doc),)))
    assert embed.url == long and "read the article" not in embed.description
    assert components.answer_view(url=long) is None
    fits_button = "https://example.org/" + "c" * 492  # exactly 512
    view = components.answer_view(url=fits_button)
    assert view is not None and [getattr(b, "url", None) for b in view.children] == [fits_button]
    assert limits.usable_url(None, 10) is None and limits.usable_url("", 10) is None


def test_summary_overview_by_topic_shows_each_topic_once_escaped() -> None:
    sentences = (
        SummarySentence("Rates rose again.", "a", "Bank lifts rates", 1, "example.org"),
        SummarySentence("Inflation eased.", "b", "Prices cool", 1, "example.org"),
        SummarySentence("The film won.", "c", "Aviator wins", 1, "example.org"),
    )
    sections = (SummarySection("rates, *bank*, inflation", 40, (0, 1)), SummarySection("film, awards", 1, (2,)))
    embed = render.render_summary(Summary("corpus", sentences, 9, 120, None, sections), "Summary")
    text = embed.description or ""
    assert text.count("Topic: ") == 2
    assert text.index("Topic: rates") < text.index("Rates rose") < text.index("Topic: film") < text.index("The film")
    assert "40 documents" in text and "(1 document)" in text
    assert "*bank*" not in text  # the name's markdown is escaped
    assert fits(embed)
