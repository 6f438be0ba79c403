"""A bad corpus or config never changes a running bot: links out of the corpus and oversized files
are refused by name (at build and at /reload), a malformed config.yaml stops start-up with the key
named, and editing config.yaml under a running bot changes nothing (/reload re-reads only the corpus).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bot_harness import SHIPPED_CORPUS, VANCE, make_settings, mention, running, write_doc
from discord_stub import DiscordStub

from bot.config import CorpusSettings, SemanticSettings, Settings, load_settings
from bot.corpus import CorpusError
from bot.engine import build_engine


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """An article outside the corpus folder (what a link would smuggle in)."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return write_doc(folder, "secret", "Outside secret", "example.org", ["The vault code is 4321."])


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    """A fresh stub."""
    async with DiscordStub() as server:
        yield server
    assert not server.errors, server.errors


def _problems(settings: Settings) -> list[str]:
    with pytest.raises(CorpusError) as caught:
        build_engine(settings)
    return [f"{p.path.name}: {p.message}" for p in caught.value.problems]


# --------------------------------------------------------------------------------- build_engine


def test_links_out_of_the_corpus_are_refused(corpus_dir: Path, outside: Path) -> None:
    """A file link and a folder link pointing outside the corpus: both refused, by name."""
    (corpus_dir / "linked.md").symlink_to(outside)
    (corpus_dir / "linked-folder").symlink_to(outside.parent, target_is_directory=True)
    problems = _problems(Settings(corpus=CorpusSettings(path=corpus_dir)))
    assert any(p.startswith("linked.md:") and "refused" in p for p in problems), problems
    assert any(p.startswith("linked-folder:") and "refused" in p for p in problems), problems


def test_file_over_the_size_cap_is_refused_by_name(corpus_dir: Path) -> None:
    """An article larger than corpus.max_file_bytes is refused, naming the file and the cap."""
    write_doc(corpus_dir, "huge", "Huge", "example.org", ["word " * 5000])
    problems = _problems(Settings(corpus=CorpusSettings(path=corpus_dir, max_file_bytes=10_000)))
    assert any(p.startswith("huge.md:") and "10,000-byte cap" in p for p in problems), problems


# --------------------------------------------------------------------------------------- /reload


async def test_reload_with_a_broken_semantic_model_names_the_model(
    stub: DiscordStub, corpus_dir: Path, tmp_path: Path
) -> None:
    """The semantic model file goes bad under a running bot: /reload says "semantic model: <file>: …"
    (the file name only, no server path) and keeps the engine it had."""
    import numpy as np

    model = tmp_path / "models" / "static.npz"
    model.parent.mkdir()
    vocab = np.array(["[PAD]", "[UNK]", "summit", "vance", "china", "paris"])
    np.savez(model, vocab=vocab, vectors=np.random.default_rng(1).normal(size=(len(vocab), 8)).astype(np.float32))
    settings = make_settings(stub, corpus_dir, tmp_path / "data")
    semantic = SemanticSettings(model=model, cache=tmp_path / "data" / "semantic-cache", rerank_weight=1.0)
    async with running(dataclasses.replace(settings, semantic=semantic), stub) as bot:
        engine = bot.engine
        assert engine.answers.semantic is not None
        model.write_bytes(b"not a model any more")
        ix = await stub.slash_command("reload", user=stub.owner)
        rec = await stub.wait_for_message(interaction=ix, timeout=20)
        description = rec.embeds[0]["description"]
        assert rec.embeds[0]["title"].startswith("Reload failed") and rec.ephemeral
        assert "• semantic model: static.npz: not a semantic model" in description, description
        assert str(tmp_path) not in description and "corpus error" not in description
        assert bot.engine is engine


async def test_reload_refuses_links_and_oversized_files_keeping_the_old_corpus(
    stub: DiscordStub, corpus_dir: Path, outside: Path, tmp_path: Path
) -> None:
    """Through /reload: the link and the oversized file are named, no server path is shown, and the
    bot keeps answering from the corpus it had."""
    settings = make_settings(stub, corpus_dir, tmp_path / "data")
    settings = dataclasses.replace(settings, corpus=dataclasses.replace(settings.corpus, max_file_bytes=10_000))
    async with running(settings, stub) as bot:
        engine = bot.engine
        (corpus_dir / "linked.md").symlink_to(outside)
        write_doc(corpus_dir, "huge", "Huge", "example.org", ["word " * 5000])
        ix = await stub.slash_command("reload", user=stub.owner)
        rec = await stub.wait_for_message(interaction=ix, timeout=10)
        description = rec.embeds[0]["description"]
        assert rec.embeds[0]["title"].startswith("Reload failed") and rec.ephemeral
        assert "linked.md" in description and "huge.md" in description and "cap" in description
        assert str(tmp_path) not in description and "vault" not in description
        assert bot.engine is engine
        mark = stub.mark()
        await stub.send_message(f"{mention(stub)} What is the vault code?")
        reply = await stub.wait_for_message(since=mark)
        assert reply.content.startswith("That's not in my sources") and "4321" not in str(reply.json)


# --------------------------------------------------------------------------------------- config


async def _summitbot(*args: str, cwd: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMMITBOT")}
    env["DISCORD_TOKEN"] = "never.used.token"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd, env=env, stdout=PIPE, stderr=PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("discord:\n  cooldown_secs: 5\n", "discord.cooldown_secs"),
        ("search:\n  top_k: 100\n", "search.top_k"),
        ("discord:\n  admin_roles: admins\n", "discord.admin_roles"),
        ("discord:\n  api_url: [unclosed\n", "bad.yaml:"),
    ],
)
async def test_malformed_config_stops_start_up(tmp_path: Path, text: str, named: str) -> None:
    """``summitbot run --config bad.yaml``: exit 1, one line naming the key (or line), no traceback,
    and no connection attempt (the token is never used)."""
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    code, out, err = await _summitbot("run", "--config", "bad.yaml", cwd=tmp_path)
    assert code == 1 and named in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("summitbot: config error:")
    assert "never.used.token" not in out + err


async def test_editing_config_then_reload_changes_no_setting(stub: DiscordStub, tmp_path: Path) -> None:
    """The bot reads config.yaml once: rewriting it (another corpus, admins, cooldown, analytics)
    and then /reload leaves every setting as it was and reloads the configured corpus only."""
    corpus = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, corpus)
    other = tmp_path / "other-corpus"
    other.mkdir()
    write_doc(other, "other", "Other corpus", "example.org", ["Only the other corpus knows the vault code 4321."])
    config = tmp_path / "config.yaml"
    config.write_text(
        f"corpus:\n  path: {corpus}\nanalytics:\n  enabled: false\n"
        f"discord:\n  api_url: {stub.api_url}\n  gateway_url: {stub.gateway_url}\n"
        "  guild_ready_timeout: 0.05\n  cooldown_questions: 1000\n  cooldown_seconds: 1.0\n",
        encoding="utf-8",
    )
    settings = load_settings(config)
    async with running(settings, stub) as bot:
        before = bot.settings
        cooldown = (bot.cooldown.questions, bot.cooldown.seconds)
        config.write_text(
            f"corpus:\n  path: {other}\nanalytics:\n  enabled: true\n"
            f"discord:\n  api_url: http://127.0.0.1:9/api\n  operator_users: [{stub.member.id}]\n"
            "  cooldown_questions: 1\n  cooldown_seconds: 600\n",
            encoding="utf-8",
        )
        ix = await stub.slash_command("reload", user=stub.owner)
        rec = await stub.wait_for_message(interaction=ix, timeout=10)
        assert rec.embeds[0]["title"] == "Corpus reloaded" and "No documents changed" in rec.embeds[0]["description"]
        assert bot.settings is before and bot.settings == settings
        assert (bot.cooldown.questions, bot.cooldown.seconds) == cooldown
        assert bot.engine.corpus.document("other") is None and bot.analytics is None
        ix = await stub.slash_command("reload", user=stub.member)  # not an operator: the edit gave nothing
        assert "only the bot's operators" in (await stub.wait_for_message(interaction=ix)).content
        for _ in range(3):  # the old cooldown (1000 per second) still holds
            mark = stub.mark()
            await stub.send_message(f"{mention(stub)} {VANCE}")
            assert "¶3" in (await stub.wait_for_message(since=mark)).embeds[0]["description"]
