"""Shared pytest setup: the loopback Discord stub's fixtures, and a private copy of the shipped corpus."""

import shutil
from pathlib import Path

import pytest
from bot_harness import article

pytest_plugins = ["discord_stub.fixtures", "postgres_server"]

SHIPPED_CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped corpus (tests add, change and break files in it)."""
    target = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, target)
    return target


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """A corpus folder with one valid article (tests add hostile ones beside it)."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "ok.md").write_text(article("title: Fine\nsource: example.org\n"), encoding="utf-8")
    return folder
