"""Round-two hardening (issue 11), end to end: the project's bot against the loopback Discord stub
while the corpus folder holds an alias bomb, a one-paragraph megabyte paste, a link-smuggling
``url``, a FIFO for ``aliases.yaml``, a reload that never finishes, or no folder at all.

Held: /reload answers with what is wrong (by name) and the previous corpus keeps serving; the
event loop stays free, so questions asked meanwhile are answered; the reload lock is released.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import shutil
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from bot_harness import VANCE, alias_bomb, article, make_settings, mention, replies_to, running, write_doc
from discord_stub import DiscordStub

import bot.discord_app.client as client_module
from bot.config import Settings

#: Every reply below must come within this; the attacks used to take 15 s to forever.
PROMPT = 10.0


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    async with DiscordStub() as server:
        yield server
    assert not server.errors, server.errors


def settings_with(stub: DiscordStub, corpus: Path, data: Path, **corpus_keys: Any) -> Settings:
    settings = make_settings(stub, corpus, data, analytics=False)
    return dataclasses.replace(settings, corpus=dataclasses.replace(settings.corpus, **corpus_keys))


async def reload(stub: DiscordStub) -> dict[str, Any]:
    ix = await stub.slash_command("reload", user=stub.owner)
    rec = await stub.wait_for_message(interaction=ix, timeout=PROMPT)
    return rec.embeds[0]


async def ask(stub: DiscordStub, question: str = VANCE) -> Any:
    mark = stub.mark()
    message = await stub.send_message(f"{mention(stub)} {question}")
    return (await replies_to(stub, [int(message["id"])], since=mark, timeout=PROMPT))[int(message["id"])]


# ----------------------------------------------------------------------------------- 1: alias bomb


async def test_reload_with_an_alias_bomb_is_refused_and_questions_meanwhile_are_answered(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    async with running(settings_with(stub, corpus_dir, tmp_path / "data"), stub) as bot:
        engine = bot.engine
        (corpus_dir / "bomb.md").write_text(article(alias_bomb() + "title: *j\nsource: x\n"), encoding="utf-8")
        ix = await stub.slash_command("reload", user=stub.owner)
        reply = await ask(stub)  # while the reload runs: the event loop is free
        assert "¶3" in reply.embeds[0]["description"]
        embed = (await stub.wait_for_message(interaction=ix, timeout=PROMPT)).embeds[0]
        assert embed["title"].startswith("Reload failed") and "bomb.md:2" in embed["description"]
        assert "anchors" in embed["description"] and bot.engine is engine


# ----------------------------------------------------------------------------- 2: one long paragraph


async def test_a_question_citing_a_one_paragraph_paste_is_answered_with_its_paragraph_number(
    stub: DiscordStub, tmp_path: Path
) -> None:
    """A 1.8 MB article with no blank line: the answer quotes the right part, cites ¶1, fits the
    embed, and comes promptly (each question citing it used to take 1.3-15 s on the event loop)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    filler = "Delegates discussed ferry schedules, harbour fees and the weather over several long days. "
    key = "The lighthouse keeper Marguerite Okonkwo repainted the beacon tower in cobalt blue. "
    (corpus / "paste.md").write_text(
        article("title: Harbour paste\nsource: example.org\n", filler * 10_000 + key + filler * 10_000), "utf-8"
    )
    settings = settings_with(stub, corpus, tmp_path / "data", max_file_bytes=3_000_000)
    async with running(settings, stub):
        for _ in range(3):
            reply = await ask(stub, "Who repainted the beacon tower in cobalt blue?")
            description = reply.embeds[0]["description"]
            assert "Okonkwo" in description and "¶1" in description and len(description) <= 4096
            body = description.split("\n\n— ")[0]
            assert body.startswith("… ") and body.endswith(" …")  # a part of the paragraph, shown as such


# ----------------------------------------------------------------------------------------- 3: links


async def test_article_links_are_percent_encoded_in_answers_and_sources(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    """A URL with parentheses, stars, pipes and tildes is kept working but encoded: the answer, its
    Source button and /sources carry the encoded URL, each masked link exactly once."""
    corpus = corpus_dir
    url = "https://ok.example/wiki/Harbour_(lighthouse)*x*|y|~z~?q=(1)"
    encoded = "https://ok.example/wiki/Harbour_%28lighthouse%29%2Ax%2A%7Cy%7C~z~?q=%281%29"
    paragraphs = [
        "The harbour lighthouse keeper Marguerite Okonkwo repainted the beacon tower in cobalt blue.",
        "Ferries leave the harbour every hour in summer.",
    ]
    write_doc(corpus, "harbour", "Harbour", "example.org", paragraphs, url=url)
    async with running(settings_with(stub, corpus, tmp_path / "data"), stub):
        reply = await ask(stub, "Who repainted the beacon tower of the harbour lighthouse in cobalt blue?")
        embed = reply.embeds[0]
        assert embed["url"] == encoded
        assert re.findall(r"\]\(([^)]*)\)", embed["description"]) == [encoded]
        buttons = [c for row in reply.components for c in row["components"] if c.get("url")]
        assert [b["url"] for b in buttons] == [encoded]
        ix = await stub.slash_command("sources")
        listing = (await stub.wait_for_message(interaction=ix, timeout=PROMPT)).embeds[0]["description"]
        assert re.findall(r"\]\((https://ok[^)]*)\)", listing) == [encoded]
        assert "(lighthouse)" not in listing


async def test_reload_refuses_a_link_smuggling_url(stub: DiscordStub, corpus_dir: Path, tmp_path: Path) -> None:
    smuggle = "https://ok.example/)**[Free Nitro](https://evil.example/login)**[.](https://ok.example/"
    async with running(settings_with(stub, corpus_dir, tmp_path / "data"), stub) as bot:
        write_doc(corpus_dir, "nitro", "Nitro", "example.org", ["Free things."], url=f"'{smuggle}'")
        embed = await reload(stub)
        assert embed["title"].startswith("Reload failed") and "nitro.md:4" in embed["description"]
        assert "evil.example" not in str(bot.engine.corpus.documents)
        ix = await stub.slash_command("sources")
        assert "evil.example" not in str((await stub.wait_for_message(interaction=ix, timeout=PROMPT)).json)


# ------------------------------------------------------------------------ 8: aliases.yaml, deadline


async def test_a_fifo_for_aliases_yaml_does_not_hang_reload_and_the_next_reload_works(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    aliases = corpus_dir / "aliases.yaml"
    saved = aliases.read_text(encoding="utf-8")
    async with running(settings_with(stub, corpus_dir, tmp_path / "data"), stub):
        aliases.unlink()
        os.mkfifo(aliases)
        embed = await reload(stub)
        assert embed["title"].startswith("Reload failed")
        assert "aliases.yaml: not a regular file" in embed["description"]
        aliases.unlink()
        aliases.symlink_to("/dev/zero")
        embed = await reload(stub)
        assert "aliases.yaml: symbolic link: refused" in embed["description"]
        aliases.unlink()
        aliases.write_text(saved, encoding="utf-8")
        assert (await reload(stub))["title"] == "Corpus reloaded"


async def test_a_reload_that_never_finishes_gives_up_and_releases_the_lock(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build stuck forever (as a FIFO read used to be): after corpus.reload_timeout_seconds the
    admin is told, the old corpus serves, and the next /reload runs."""
    release = threading.Event()
    real_build = client_module.build_engine

    def stuck_build(settings: Settings) -> Any:
        release.wait(60)
        return real_build(settings)

    settings = settings_with(stub, corpus_dir, tmp_path / "data", reload_timeout_seconds=1.0)
    try:
        async with running(settings, stub) as bot:
            engine = bot.engine
            monkeypatch.setattr(client_module, "build_engine", stuck_build)
            ix = await stub.slash_command("reload", user=stub.owner)
            assert "¶3" in (await ask(stub)).embeds[0]["description"]  # served meanwhile
            embed = (await stub.wait_for_message(interaction=ix, timeout=PROMPT)).embeds[0]
            assert embed["title"].startswith("Reload failed")
            assert "did not finish within 1 s" in embed["description"] and bot.engine is engine
            monkeypatch.setattr(client_module, "build_engine", real_build)
            assert (await reload(stub))["title"] == "Corpus reloaded"  # the lock was released
    finally:
        release.set()


# ----------------------------------------------------------------------- 12: corpus folder deleted


async def test_reload_after_the_corpus_folder_was_deleted_names_the_folder(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    async with running(settings_with(stub, corpus_dir, tmp_path / "data"), stub):
        shutil.rmtree(corpus_dir)
        embed = await reload(stub)
        assert "• corpus: corpus folder does not exist" in embed["description"], embed["description"]
        assert "• .:" not in embed["description"]
        assert "¶3" in (await ask(stub)).embeds[0]["description"]
        await asyncio.sleep(0)
