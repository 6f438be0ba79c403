"""Hostile input: any Unicode, huge input, markdown and mention injection, through the analyzer, the
answer engine and the renderers (property-tested with hypothesis), and end to end through the bot.

What is held: no exception; every limit respected; no ping (every payload's ``allowed_mentions``
allows nothing and the stub resolves no one); no formatting, masked link, heading, quote or mention
smuggled into the bot's message through echoed or quoted text.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
from bot_harness import SHIPPED_CORPUS, VANCE, make_settings, mention, no_pings, replies_to, running, write_doc
from discord_stub import DiscordStub
from embed_limits import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import messages
from bot.analysis import Analyzer
from bot.config import CorpusSettings, Settings
from bot.discord_app import limits, render
from bot.discord_app.cogs.questions import Reply, searchable_question
from bot.engine import Engine, build_engine

ROLE = "<@&123456789012345678>"
USER = "<@123456789012345678>"
HOSTILE = [
    "@everyone",
    "@here",
    "@\u200beveryone",
    ROLE,
    USER,
    "<@!123456789012345678>",
    "[x](https://evil.example)",
    "[click](<https://evil.example/a_b>)",
    "```py\nprint(1)\n```",
    "`code`",
    "||spoiler||",
    "# header",
    "## h2",
    "-# subtext",
    "> quote",
    ">>> block quote",
    "**bold**",
    "__underline__",
    "~~strike~~",
    "*it*",
    "_it_",
    "\\",
    "\\*",
    "\n",
    "\u200b",
    "\u200f",
    "\u202e",
    "\u0301",
    "\x00",
    "👩‍👩‍👧",
    "https://evil.example/x_y",
]
#: Any Unicode (hypothesis' default text has no surrogates), mixed with injection fragments.
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30)), max_size=12).map("".join)

_URL = limits._URL  # the renderer's own URL matcher: bare URLs are left as links, not formatting
_MARKDOWN = set("*_~|`[]")
#: Line-start syntax Discord renders: headings, subtext, quotes and list items (each needs a space).
_BLOCK = re.compile(r"(?:#{1,3}|-#|>>>|>|[-*+])[ \t]")


@pytest.fixture(scope="module")
def engine() -> Engine:
    """The shipped corpus' engine (built once for the module)."""
    return build_engine(Settings(corpus=CorpusSettings(path=SHIPPED_CORPUS)))


def smuggled(out: str) -> list[str]:
    """What in ``out`` Discord would turn into a ping, formatting, link, heading or quote."""
    found = []
    if "@everyone" in out or "@here" in out:
        found.append("everyone/here")
    if re.search(r"<@[!&]?[0-9]", out):
        found.append("user or role mention")
    plain = re.sub(r"\\.", "", out, flags=re.DOTALL)  # escaped characters are shown as they are
    plain = _URL.sub("", plain)
    if _MARKDOWN & set(plain):
        found.append(f"markdown {sorted(_MARKDOWN & set(plain))}")
    for line in out.split("\n"):
        stripped = line.lstrip(" ")
        if _BLOCK.match(stripped):
            found.append(f"block syntax at line start: {line[:20]!r}")
    return found


# ------------------------------------------------------------------------------- property tests


@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=hostile_text)
def test_analyzer_takes_any_text(text: str) -> None:
    """The analyzer returns terms for any text, and token spans lie inside it."""
    analyzer = Analyzer()
    terms = analyzer.analyze(text)
    assert all(isinstance(t, str) and t for t in terms)
    for token in analyzer.tokens(text):
        assert 0 <= token.start <= token.end <= len(text)


#: Markup and control characters glued to the words of a question (no letters or digits of their own).
_MARKUP = ["**", "__", "||", "~~", "`", "```", "\\", "> ", "# ", "-# ", ">>> ", "\u200b", "\u202e", "\u200f", "\x00",
           "[", "](", ")", "*", "_", "\n", "<", ">", "👩‍👩‍👧", "@", "\\*"]  # fmt: skip
#: Pings the bot strips before searching (``searchable_question``), placed around the question.
_PINGS = ["@everyone", "@here", ROLE, USER, "<@!123456789012345678>"]


def _wrapped(fragments: list[str], pings: list[str]) -> str:
    words = VANCE.split()
    glued = [fragment + word for fragment, word in zip(fragments, [*words, ""], strict=True)]
    return " ".join(pings[:2]) + " " + " ".join(glued) + " " + " ".join(pings[2:])


#: Hostile text inside a question the corpus answers (JD Vance on "America first").
answerable_hostile = st.builds(
    _wrapped,
    st.lists(
        st.lists(st.sampled_from(_MARKUP), max_size=3).map("".join),
        min_size=len(VANCE.split()) + 1,
        max_size=len(VANCE.split()) + 1,
    ),
    st.lists(st.sampled_from(_PINGS), max_size=4),
)


@settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(question=answerable_hostile)
def test_engine_and_renderers_take_any_question(engine: Engine, question: str) -> None:
    """Hostile markup, mentions and control characters inside a question the corpus answers: the
    question is answered (asserted, so the render checks always run), the answer embed fits
    Discord's limits and cites its passage, and the question echoed raw in the footer is defused."""
    answer = engine.answer(searchable_question(question))  # what the bot searches for
    assert answer.answered and answer.best is not None, question
    echoed = dataclasses.replace(answer, question=question)  # the raw text, as if echoed unstripped
    embeds = render.render_answer(echoed)
    assert len(embeds) == 1 and fits(embeds[0])
    assert "¶3" in (embeds[0].description or "")
    footer = embeds[0].footer.text or ""
    assert "@everyone" not in footer and "@here" not in footer and not re.search(r"<@[!&]?[0-9]", footer)
    assert len(footer) <= limits.FOOTER
    more = render.render_more(question, answer.passages[1:], 2)
    assert sum(len(e) for e in more) <= limits.EMBED_TOTAL


@settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(question=hostile_text)
def test_engine_takes_any_text_as_a_question(engine: Engine, question: str) -> None:
    """Any text at all gets an answer object; the not-found reply is the bot's own text (no echo)."""
    answer = engine.answer(question)
    if answer.answered and answer.best is not None:
        assert all(fits(e) for e in render.render_answer(answer))
    text = render.render_not_found(engine.corpus.documents)
    assert len(text) <= limits.CONTENT and "@everyone" not in text


@settings(max_examples=500, deadline=None, derandomize=True)
@given(text=hostile_text)
def test_escaped_text_smuggles_nothing(text: str) -> None:
    """User or corpus text shown in markdown is inert: no ping, formatting, link or block syntax."""
    out = limits.escape_trimmed(text, limits.EMBED_DESCRIPTION)
    assert len(out) <= limits.EMBED_DESCRIPTION
    assert not smuggled(out), (text, out)
    assert not smuggled(limits.escape_text(limits.one_line(text)))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=hostile_text, limit=st.integers(min_value=0, max_value=300))
def test_footer_and_titles_hold_limits(text: str, limit: int) -> None:
    """Footers carrying the question and escaped titles stay within their limits, defused."""
    footer = render.footer_question(text)
    assert len(footer) <= limits.FOOTER and "@everyone" not in footer and "@here" not in footer
    assert len(limits.escape_trimmed(text, limit)) <= limit
    assert len(limits.trim(text, limit)) <= limit


def test_injection_examples_are_escaped() -> None:
    """The classic injections, one by one, come out inert."""
    for attack in HOSTILE + [f"{a} and {b}" for a in HOSTILE for b in HOSTILE[:8]]:
        out = limits.escape_trimmed(attack, 2000)
        assert not smuggled(out), (attack, out)
    assert limits.escape_trimmed("[x](https://evil.example)", 100) == "\\[x\\](https://evil.example)"


def test_hundred_thousand_characters(engine: Engine) -> None:
    """100,000 characters of mentions, markup and control characters with a question the corpus
    answers in the middle: analysed, answered (asserted) and rendered within every limit."""
    pad = f"@everyone {ROLE} ||**__~~`>#\u200b\u202e "
    huge = ((pad * 2000)[: 50_000 - len(VANCE) // 2] + VANCE + pad * 2000)[:100_000]
    assert len(huge) == 100_000
    assert Analyzer().analyze(huge)
    answer = engine.answer(searchable_question(huge))
    assert answer.answered and answer.best is not None
    (embed,) = render.render_answer(dataclasses.replace(answer, question=huge))
    assert fits(embed) and "¶3" in (embed.description or "")
    footer = embed.footer.text or ""
    assert len(footer) <= limits.FOOTER and "@everyone" not in footer and ROLE not in footer
    out = limits.escape_trimmed(huge, limits.EMBED_TITLE)
    assert len(out) <= limits.EMBED_TITLE and not smuggled(out)


def test_reply_payloads_allow_no_mentions() -> None:
    """Every reply the questions cog builds carries allowed_mentions that allow nothing."""
    for reply in (Reply(content="x"), Reply(embeds=[discord.Embed(description="y")]), Reply()):
        allowed = reply.kwargs()["allowed_mentions"].to_dict()
        assert allowed["parse"] == [] and not allowed.get("users") and not allowed.get("roles")
        assert not allowed.get("replied_user")


def test_hostile_corpus_text_is_escaped(tmp_path: Path) -> None:
    """An article whose title, source and text carry injections renders inert."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_doc(
        corpus,
        "evil",
        "@everyone [free nitro](https://evil.example) ||x||",
        "<@&123456789012345678>",
        ["# Breaking\n> quoted **bold** @here zebra migration crossed the Mara river [x](https://evil.example)."],
    )
    for i in range(3):
        write_doc(corpus, f"f{i}", f"Filler {i}", "example.org", [f"Unrelated filler text number {i} about tea."])
    engine = build_engine(Settings(corpus=CorpusSettings(path=corpus)))
    answer = engine.answer("When did the zebra migration cross the Mara river?")
    assert answer.answered
    (embed,) = render.render_answer(answer)
    assert not smuggled(embed.title or "")
    body, _, cite = (embed.description or "").partition("\n\n— ")
    assert "@everyone" not in body + cite and "@here" not in body and "<@&" not in cite
    assert "[x](" not in body and "[free nitro](" not in cite


# ------------------------------------------------------------------------------------------ e2e


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    """A fresh stub."""
    async with DiscordStub() as server:
        yield server
    assert not server.errors, server.errors


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, target)
    return target


async def test_everyone_and_role_mention_in_question_ping_nobody(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    """A question with @everyone, @here, a role and a user mention, a masked link, a code fence and a
    spoiler: the reply (message and /ask) allows no mention, the stub resolves no one, and the echoed
    question (the footer) is defused."""
    role = stub.member_role
    attack = f"@everyone @here <@&{role.id}> <@{stub.owner.id}> ```x``` ||s|| # {VANCE}"
    linked = f"@everyone <@&{role.id}> [x](https://evil.example) > {VANCE}"  # unknown words: not an answer
    async with running(make_settings(stub, corpus_dir, tmp_path / "data"), stub):
        mark = stub.mark()
        message = await stub.send_message(f"{mention(stub)} {attack}")
        assert message["mention_everyone"] and message["mention_roles"]  # the question itself did mention
        reply = (await replies_to(stub, [int(message["id"])], since=mark))[int(message["id"])]
        assert no_pings(reply), reply.allowed_mentions
        assert reply.allowed_mentions == {"parse": [], "replied_user": False}
        footer = reply.embeds[0]["footer"]["text"]
        assert "@everyone" not in footer and f"<@&{role.id}>" not in footer

        mark = stub.mark()
        message = await stub.send_message(f"{mention(stub)} {linked}")
        reply = (await replies_to(stub, [int(message["id"])], since=mark))[int(message["id"])]
        assert no_pings(reply)
        if reply.embeds:  # the closest passage (verdict "closest"): the question is echoed only in the footer
            (embed,) = reply.embeds
            assert embed["title"] == messages.CLOSEST_LABEL and "[x](" not in embed["description"]
            assert "@everyone" not in embed["footer"]["text"] and f"<@&{role.id}>" not in embed["footer"]["text"]
        else:  # "not in my sources"
            assert "[x](" not in reply.content and "@everyone" not in reply.content

        ix = await stub.slash_command("ask", {"question": attack})
        rec = await stub.wait_for_message(interaction=ix)
        assert no_pings(rec) and "@everyone" not in rec.embeds[0]["footer"]["text"]

        mark = stub.mark()
        huge = await stub.send_message(f"{mention(stub)} @everyone " + "x" * 100_000)
        rec = (await replies_to(stub, [int(huge["id"])], since=mark))[int(huge["id"])]
        assert "a bit long" in rec.content and no_pings(rec)
