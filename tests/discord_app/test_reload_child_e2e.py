"""/reload with a saved index runs in a child process (bot/rebuild.py): the new corpus is parsed and
indexed there and the bot maps what it wrote; a failing child leaves the old engine serving and
the operator gets a one-line reason."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bot_harness import VANCE, make_settings, mention, running, show, write_doc
from discord_stub import DiscordStub

from bot.config import CorpusSettings, SearchSettings, Settings


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    """A fresh stub."""
    async with DiscordStub() as server:
        yield server
    assert not server.errors, server.errors


def cached(stub: DiscordStub, corpus_dir: Path, tmp_path: Path) -> Settings:
    """Bot settings with a saved index in ``tmp_path/index`` (so /reload takes the child path)."""
    settings = make_settings(stub, corpus_dir, tmp_path / "data")
    return dataclasses.replace(settings, search=dataclasses.replace(settings.search, index_cache=tmp_path / "index"))


async def test_reload_through_the_child_swaps_the_engine(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A new article: the child parses and indexes it, the bot maps the new generation and answers from it."""
    caplog.set_level(logging.INFO, logger="summitbot")
    question = "Who won the 2031 lunar chess olympiad?"
    async with running(cached(stub, corpus_dir, tmp_path), stub) as bot:
        old = bot.engine
        write_doc(
            corpus_dir, "lunar-chess", "Lunar chess", "moon.example", ["Ada Okafor won the 2031 lunar chess olympiad."]
        )
        ix = await stub.slash_command("reload", user=stub.owner)
        rec = await stub.wait_for_message(interaction=ix, timeout=60)
        show(rec)
        assert rec.embeds[0]["title"] == "Corpus reloaded" and "1 added" in str(rec.embeds[0])
        assert bot.engine is not old and bot.engine.corpus_saved
        assert any("reload child process: index updated" in r.getMessage() for r in caplog.records), caplog.text
        # The new engine reads the saved generation: its passages are views of the mapped text.
        assert len(bot.engine.passages) == len(old.passages) + 1
        await stub.send_message(f"{mention(stub)} {question}")
        rec = await stub.wait_for_message()
        assert "Ada Okafor" in rec.embeds[0]["description"]


async def test_child_with_a_broken_file_keeps_the_old_engine(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    """The child finds a broken file: the reply names it (as the in-process reload does), the old engine serves."""
    async with running(cached(stub, corpus_dir, tmp_path), stub) as bot:
        engine = bot.engine
        (corpus_dir / "nosource.md").write_text("---\ntitle: No source\n---\n\nText.\n", encoding="utf-8")
        ix = await stub.slash_command("reload", user=stub.owner)
        rec = await stub.wait_for_message(interaction=ix, timeout=60)
        embed = rec.embeds[0]
        assert embed["title"].startswith("Reload failed") and "nosource.md" in embed["description"]
        assert "missing the required 'source'" in embed["description"] and str(corpus_dir) not in embed["description"]
        assert bot.engine is engine
        mark = stub.mark()
        await stub.send_message(f"{mention(stub)} {VANCE}")
        assert "¶3" in (await stub.wait_for_message(since=mark)).embeds[0]["description"]


async def test_failing_child_leaves_the_old_engine_with_one_line(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The child cannot write the new generation (the cache folder now holds a foreign file): it
    fails, the log says why, the operator gets one line, and the bot keeps answering from the old engine."""
    async with running(cached(stub, corpus_dir, tmp_path), stub) as bot:
        engine = bot.engine
        write_doc(corpus_dir, "extra", "Extra", "example.org", ["Extra text about nothing."])
        (tmp_path / "index" / "notes.txt").write_text("mine\n", encoding="utf-8")
        ix = await stub.slash_command("reload", user=stub.owner)
        rec = await stub.wait_for_message(interaction=ix, timeout=60)
        show(rec)
        description = rec.embeds[0]["description"]
        assert rec.embeds[0]["title"].startswith("Reload failed")
        assert "unexpected error while loading (see the log)" in description and "Traceback" not in description
        assert bot.engine is engine
        assert "holds other files" in caplog.text and "exit code 1" in caplog.text
        mark = stub.mark()
        await stub.send_message(f"{mention(stub)} {VANCE}")
        assert "¶3" in (await stub.wait_for_message(since=mark)).embeds[0]["description"]


async def test_child_reports_many_problems_in_full(tmp_path: Path) -> None:
    """Hundreds of broken files: the child's one-line list of problems (far over a pipe's default
    line limit) comes back whole, as a corpus error naming every file."""
    from bot.corpus import CorpusError, load_corpus
    from bot.rebuild import rebuild_in_child

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_doc(corpus, "good", "Good", "example.org", ["Fine text."])
    for i in range(600):
        (corpus / f"broken-{i:03d}-{'x' * 120}.md").write_text(
            "---\ntitle: No source\n---\n\nText.\n", encoding="utf-8"
        )
    settings = Settings(corpus=CorpusSettings(path=corpus), search=SearchSettings(index_cache=tmp_path / "index"))
    with pytest.raises(CorpusError) as caught:
        await rebuild_in_child(settings, 120.0)
    with pytest.raises(CorpusError) as in_process:
        load_corpus(corpus)
    assert [str(p) for p in caught.value.problems] == [str(p) for p in in_process.value.problems]
    assert caught.value.problems == in_process.value.problems  # labels too cross the process boundary
    assert len(caught.value.problems) >= 600 and len(str(caught.value.problems)) > 1 << 16


async def test_child_past_its_deadline_is_killed(corpus_dir: Path, tmp_path: Path) -> None:
    """The reload's deadline kills the child (no process left behind) and raises TimeoutError,
    which the bot reports as a reload given up; the saved folder is left as it was."""
    import asyncio
    import os

    from bot.engine import build_engine
    from bot.rebuild import rebuild_in_child

    settings = Settings(corpus=CorpusSettings(path=corpus_dir), search=SearchSettings(index_cache=tmp_path / "index"))
    build_engine(settings)
    before = sorted((p.name, p.stat().st_ino) for p in (tmp_path / "index").iterdir())
    write_doc(corpus_dir, "extra", "Extra", "example.org", ["Extra text."])
    pids: list[int] = []
    with pytest.raises(asyncio.TimeoutError):
        await rebuild_in_child(settings, 0.05, on_start=pids.append)
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)
    assert sorted((p.name, p.stat().st_ino) for p in (tmp_path / "index").iterdir()) == before
