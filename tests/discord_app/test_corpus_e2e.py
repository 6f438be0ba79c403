"""End to end: operators curate the corpus from Discord (``/corpus add``, ``remove``, ``show``).

The project's bot runs against the loopback Discord stub; articles come from a loopback news site
(real aiohttp on 127.0.0.1) or from a file attached to the command (served by the stub, like
Discord's CDN). Tests assert what the operator sees, what lands on disk, and what the bot answers.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import bot_harness
import pytest
from bot_harness import mention, no_pings, running
from discord_stub import DiscordStub, RecordedRequest
from news_server import PAGES, NewsSite, news_site

from bot.config import Settings
from bot.discord_app.cogs.admin import RELOAD_REFUSAL
from bot.ingest import REMOVED_FOLDER

FERRY_ID = "night-ferry-to-the-islands-returns-after-two-year-pause"
FERRY_QUESTION = "When will the overnight ferry to the northern isles run again?"
SCHOOL_QUESTION = "How much will the Department for Education pay for the Millbrook school rebuild?"


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    async with DiscordStub() as server:
        yield server
    assert not server.errors, server.errors


@pytest.fixture
async def site() -> AsyncIterator[NewsSite]:
    async with news_site() as running_site:
        yield running_site


@pytest.fixture
def make_settings(corpus_dir: Path, tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a bot on ``stub`` that may fetch from the loopback news site."""

    def make(stub: DiscordStub, **discord_keys: Any) -> Settings:
        settings = bot_harness.make_settings(stub, corpus_dir, tmp_path / "data", analytics=False, **discord_keys)
        corpus = dataclasses.replace(settings.corpus, fetch_private_addresses=True, import_max_bytes=200_000)
        return dataclasses.replace(settings, corpus=corpus)

    return make


def show(rec: RecordedRequest) -> None:
    """Print what the operator sees (run pytest -s to read it)."""
    message = rec.message or {}
    print("\n--- content:", message.get("content", rec.content))
    for embed in message.get("embeds", rec.embeds):
        print("--- embed:", embed)
    print("--- components:", message.get("components", rec.components))


def button(rec: RecordedRequest, label: str) -> str:
    """The custom id of the button labelled ``label`` on a message."""
    for row in (rec.message or {}).get("components") or rec.components:
        for component in row.get("components", []):
            if component.get("label") == label:
                return str(component["custom_id"])
    raise AssertionError(f"no {label!r} button on {rec!r}")


def fields(rec: RecordedRequest) -> dict[str, str]:
    return {f["name"]: f["value"] for f in rec.embeds[0].get("fields", [])}


async def ask(stub: DiscordStub, question: str) -> str:
    """Ask in a channel; the text of the bot's reply (content and embeds)."""
    mark = stub.mark()
    await stub.send_message(f"{mention(stub)} {question}")
    rec = await stub.wait_for_message(since=mark, timeout=10)
    return (rec.content or "") + str(rec.embeds)


async def preview(stub: DiscordStub, user: Any, **options: Any) -> RecordedRequest:
    """Run ``/corpus add`` and return the preview message (checked to ping nobody)."""
    ix = await stub.slash_command("corpus add", options, user=user)
    rec = await stub.wait_for_message(interaction=ix, timeout=20)
    show(rec)
    assert rec.ephemeral and no_pings(rec)
    return rec


async def press(stub: DiscordStub, rec: RecordedRequest, label: str, user: Any) -> RecordedRequest:
    """Press a preview button; the last edit of the message that this press caused."""
    ix = await stub.press_button(rec, button(rec, label), user=user)
    if label == "Cancel":
        rec = await stub.wait_for_message(interaction=ix)
    else:
        rec = await stub.wait_for_request(
            lambda r: r.interaction is ix and r.ok, kind="edit_webhook_message", timeout=20
        )
    show(rec)
    return rec


async def test_operator_adds_by_url_cancel_writes_nothing_add_makes_it_answerable(
    stub: DiscordStub, site: NewsSite, make_settings: Callable[..., Settings], corpus_dir: Path
) -> None:
    files_before = sorted(p.name for p in corpus_dir.rglob("*"))
    async with running(make_settings(stub), stub) as bot:
        assert "not in my sources" in await ask(stub, FERRY_QUESTION)
        url = site.url("/news/harbour-gazette-ferry")
        shown = await preview(stub, stub.owner, url=url)
        embed = shown.embeds[0]
        assert embed["title"] == "Night ferry to the islands returns after two-year pause"
        assert embed["url"] == "https://www.harbourgazette.example/news/2026/11/night-ferry-returns"
        assert fields(shown)["Source"] == "The Harbour Gazette"
        assert fields(shown)["Published"] == "2026-11-28"
        assert fields(shown)["Paragraphs"].startswith("7 ")
        assert f"`{FERRY_ID}`" in fields(shown)["Document id"]
        assert embed["description"].startswith("The overnight ferry between Aberdeen")
        assert "Share on Facebook" not in str(embed) and "IslandLass77" not in str(embed)

        engine = bot.engine
        cancelled = await press(stub, shown, "Cancel", stub.owner)
        assert cancelled.message is not None and "nothing was written" in cancelled.message["content"]
        assert not cancelled.message.get("components")
        assert sorted(p.name for p in corpus_dir.rglob("*")) == files_before
        assert bot.engine is engine

        shown = await preview(stub, stub.owner, url=url)
        added = await press(stub, shown, "Add", stub.owner)
        titles = [e["title"] for e in added.message["embeds"]]  # type: ignore[index]
        assert titles == ["Added to the corpus", "Corpus reloaded"]
        assert "1 added" in str(added.message) and f"`{FERRY_ID}`" in str(added.message)
        assert not added.message.get("components")  # type: ignore[union-attr]
        assert (corpus_dir / f"{FERRY_ID}.md").is_file()
        assert bot.engine.corpus.document(FERRY_ID) is not None
        reply = await ask(stub, FERRY_QUESTION)
        assert "2 March" in reply and "The Harbour Gazette" in reply

        # The same page again: refused, nothing written.
        ix = await stub.slash_command("corpus add", {"url": url}, user=stub.owner)
        rec = await stub.wait_for_message(interaction=ix, timeout=20)
        assert rec.ephemeral and "already in the corpus" in rec.content and not rec.components


async def test_operator_adds_by_attachment_and_bad_attachments_are_refused(
    stub: DiscordStub, make_settings: Callable[..., Settings], corpus_dir: Path
) -> None:
    page = (PAGES / "valley-courier-school.html").read_bytes()
    async with running(make_settings(stub), stub) as bot:
        assert "not in my sources" in await ask(stub, SCHOOL_QUESTION)
        upload = stub.attachment("school.html", page, "text/html")
        shown = await preview(stub, stub.owner, file=upload)
        assert shown.embeds[0]["title"] == "School rebuild to start after funding deal"
        assert fields(shown)["Source"] == "valleycourier.example"
        added = await press(stub, shown, "Add", stub.owner)
        assert "Added to the corpus" in str(added.message)
        assert (corpus_dir / "school-rebuild-to-start-after-funding-deal.md").is_file()
        reply = await ask(stub, SCHOOL_QUESTION)
        assert "not in my sources" not in reply
        assert "School rebuild to start after funding deal" in reply and "valleycourier.example" in reply

        text = "Harbour wall repairs approved\nThe harbour wall will be repaired this winter.\nSource: Coast News\n"
        shown = await preview(stub, stub.owner, file=stub.attachment("wall.txt", text.encode()))
        assert shown.embeds[0]["title"] == "Harbour wall repairs approved" and fields(shown)["Source"] == "Coast News"
        shown = await preview(stub, stub.owner, file=stub.attachment("wall.txt", text.encode()), source="Quay Post")
        assert fields(shown)["Source"] == "Quay Post"  # named by the operator

        documents = len(bot.engine.corpus.documents)
        for upload, reason in (
            (stub.attachment("report.pdf", b"%PDF-1.7", "application/pdf"), "not an article file"),
            (stub.attachment("big.html", b"<p>x</p>" * 40_000, "text/html"), "over the 200,000-byte import cap"),
            (stub.attachment("menu.html", (PAGES / "metro-daily-section-front.html").read_bytes()), "no article"),
            (stub.attachment("bad.md", b"---\ntitle: x\n---\n\nText.\n"), "missing the required 'source'"),
        ):
            ix = await stub.slash_command("corpus add", {"file": upload}, user=stub.owner)
            rec = await stub.wait_for_message(interaction=ix, timeout=20)
            show(rec)
            assert rec.ephemeral and rec.content.startswith("Nothing was changed:") and reason in rec.content, rec
            assert not rec.components
        assert len(bot.engine.corpus.documents) == documents


async def test_remove_makes_it_unanswerable_and_keeps_the_file(
    stub: DiscordStub, site: NewsSite, make_settings: Callable[..., Settings], corpus_dir: Path
) -> None:
    async with running(make_settings(stub), stub) as bot:
        shown = await preview(stub, stub.owner, url=site.url("/news/harbour-gazette-ferry"))
        await press(stub, shown, "Add", stub.owner)
        assert "2 March" in await ask(stub, FERRY_QUESTION)

        ix = await stub.autocomplete("corpus remove", {"document": "night fer"}, "document", user=stub.owner)
        choices = await stub.wait_for_autocomplete(ix)
        assert [c["value"] for c in choices] == [FERRY_ID]

        ix = await stub.slash_command("corpus show", {"document": FERRY_ID}, user=stub.owner)
        rec = await stub.wait_for_message(interaction=ix)
        assert rec.ephemeral and fields(rec)["Paragraphs"] == "7" and fields(rec)["File"] == f"{FERRY_ID}.md"

        ix = await stub.slash_command("corpus remove", {"document": FERRY_ID}, user=stub.owner)
        rec = await stub.wait_for_message(interaction=ix, timeout=20)
        show(rec)
        assert rec.ephemeral and [e["title"] for e in rec.embeds] == ["Removed from the corpus", "Corpus reloaded"]
        assert f"{REMOVED_FOLDER}/{FERRY_ID}.md" in str(rec.embeds) and "1 removed" in str(rec.embeds)
        assert not (corpus_dir / f"{FERRY_ID}.md").exists()
        assert (corpus_dir / REMOVED_FOLDER / f"{FERRY_ID}.md").is_file()
        assert bot.engine.corpus.document(FERRY_ID) is None
        assert "not in my sources" in await ask(stub, FERRY_QUESTION)

        ix = await stub.slash_command("corpus remove", {"document": FERRY_ID}, user=stub.owner)
        rec = await stub.wait_for_message(interaction=ix)
        assert rec.ephemeral and "don't know that document" in rec.content


async def test_server_admin_who_is_not_an_operator_is_refused(
    stub: DiscordStub, site: NewsSite, make_settings: Callable[..., Settings], corpus_dir: Path
) -> None:
    files_before = sorted(p.name for p in corpus_dir.rglob("*"))
    async with running(make_settings(stub), stub) as bot:
        doc_id = bot.engine.corpus.documents[0].id
        engine = bot.engine
        url = site.url("/news/harbour-gazette-ferry")
        for name, options in (
            ("corpus add", {"url": url}),
            ("corpus add", {"file": stub.attachment("a.html", (PAGES / "harbour-gazette-ferry.html").read_bytes())}),
            ("corpus remove", {"document": doc_id}),
            ("corpus show", {"document": doc_id}),
        ):
            ix = await stub.slash_command(name, options, user=stub.admin)  # Manage Server, not an operator
            rec = await stub.wait_for_message(interaction=ix)
            assert rec.ephemeral and "only the bot's operators" in rec.content, (name, rec)
        ix = await stub.autocomplete("corpus remove", {"document": ""}, "document", user=stub.admin)
        assert await stub.wait_for_autocomplete(ix) == []
        # A preview the owner asked for cannot be confirmed by someone else.
        shown = await preview(stub, stub.owner, url=url)
        ix = await stub.press_button(shown, button(shown, "Add"), user=stub.admin)
        rec = await stub.wait_for_message(interaction=ix)
        assert rec.ephemeral and "only the bot's operators" in rec.content
        assert sorted(p.name for p in corpus_dir.rglob("*")) == files_before
        assert bot.engine is engine


async def test_operators_from_config_users_and_roles(stub: DiscordStub, make_settings: Callable[..., Settings]) -> None:
    curators = stub.add_role("Curators", 0)
    dave = stub.add_user("dave")
    stub.add_member(dave, roles=[curators])
    settings = make_settings(stub, operator_users=(stub.member.id,), operator_roles=(curators.id,))
    async with running(settings, stub) as bot:
        doc_id = bot.engine.corpus.documents[0].id
        for user in (stub.member, dave):
            ix = await stub.slash_command("corpus show", {"document": doc_id}, user=user)
            rec = await stub.wait_for_message(interaction=ix)
            assert rec.embeds and fields(rec)["Document id"] == f"`{doc_id}`", rec


async def test_corpus_commands_use_the_bots_one_operator_check(
    stub: DiscordStub, make_settings: Callable[..., Settings]
) -> None:
    """/corpus asks the bot's one operator check (the owners it learned at login), like /reload: it
    fetches nothing of its own, and when the owners the bot knows change, /corpus follows."""
    async with running(make_settings(stub), stub) as bot:
        doc_id = bot.engine.corpus.documents[0].id
        fetched = [r for r in stub.requests if r.path.startswith("/oauth2/applications/@me")]
        assert len(fetched) == 1  # discord.py's own fetch at login; no second copy of the owners
        assert bot.servers.is_operator(stub.owner) and not bot.servers.is_operator(stub.member)
        bot.servers.owner_ids = frozenset({stub.member.id})  # as if the application's team changed
        for user, allowed in ((stub.member, True), (stub.owner, False)):
            ix = await stub.slash_command("corpus show", {"document": doc_id}, user=user)
            rec = await stub.wait_for_message(interaction=ix)
            assert bool(rec.embeds) is allowed and ("only the bot's operators" in (rec.content or "")) is not allowed
            ix = await stub.slash_command("reload", user=user)
            rec = await stub.wait_for_message(interaction=ix, timeout=20)
            assert (rec.content == RELOAD_REFUSAL) is not allowed and bool(rec.embeds) is allowed, (user, rec)


async def test_preview_escapes_corpus_text_and_asks_for_one_source(
    stub: DiscordStub, site: NewsSite, make_settings: Callable[..., Settings]
) -> None:
    async with running(make_settings(stub), stub):
        shown = await preview(stub, stub.owner, url=site.url("/variant/hostile"))  # no_pings checked there
        embed = shown.embeds[0]
        for text in (embed["title"], embed["description"]):
            assert "\\*\\*Night\\*\\*" in text and "\\[ferry\\]" in text and "\\|\\|returns" in text, text
            assert "@everyone" not in text.replace("@\u200beveryone", "")
        for options in ({}, {"url": site.url("/news/harbour-gazette-ferry"), "file": stub.attachment("a.txt", b"x")}):
            ix = await stub.slash_command("corpus add", options, user=stub.owner)
            rec = await stub.wait_for_message(interaction=ix)
            assert rec.ephemeral and "one of them" in rec.content


async def test_two_previews_of_one_page_add_it_once_and_an_expired_preview_loses_its_buttons(
    stub: DiscordStub,
    site: NewsSite,
    make_settings: Callable[..., Settings],
    corpus_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = site.url("/news/harbour-gazette-ferry")
    async with running(make_settings(stub), stub) as bot:
        first = await preview(stub, stub.owner, url=url)
        second = await preview(stub, stub.owner, url=url)
        added = await press(stub, first, "Add", stub.owner)
        assert "Added to the corpus" in str(added.message)
        refused = await press(stub, second, "Add", stub.owner)  # checked again against the corpus as it is now
        assert refused.message is not None and "already in the corpus" in refused.message["content"]
        assert [p.name for p in corpus_dir.glob("night-ferry*")] == [f"{FERRY_ID}.md"]
        assert len([d for d in bot.engine.corpus.documents if d.id.startswith("night-ferry")]) == 1

        # The bot loaded the cog as an extension: patch the module it runs, not an earlier import.
        monkeypatch.setattr(sys.modules["bot.discord_app.cogs.corpus"], "PREVIEW_SECONDS", 0.3)
        shown = await preview(stub, stub.owner, url=site.url("/news/tidewater-blog-seagrass"))
        expired = await stub.wait_for_request(
            lambda r: r.ok and (r.message or {}).get("id") == (shown.message or {}).get("id"),
            kind="edit_webhook_message",
            timeout=10,
        )
        assert "expired" in (expired.message or {}).get("content", "") and not (expired.message or {}).get("components")
        assert not list(corpus_dir.glob("seagrass*"))
