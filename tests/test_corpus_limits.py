"""What one corpus file may cost (issue 11, items 2 and 8): a one-paragraph megabyte paste becomes
passages of whole sentences that keep its ¶ number (``summitbot ask`` answers from it, ``check``
says so), and ``aliases.yaml`` is read with the article files' protections (no FIFO, no link, a
size cap), in real subprocesses with a timeout."""

from __future__ import annotations

import os
import re
from pathlib import Path

from bot_harness import article
from cli_harness import REPO, one_line_error, summitbot
from hypothesis import given
from hypothesis import strategies as st

from bot.corpus import MAX_PASSAGE_CHARS, SPLIT_PASSAGE_CHARS, load_corpus, passage_texts

# --------------------------------------------------------------------- 2: one huge paragraph


def test_a_huge_paragraph_becomes_passages_that_keep_its_paragraph_number(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    sentence = "The harbour commission met again to discuss the lighthouse budget and the ferry timetable. "
    huge = sentence * 20_000  # ~1.8 MB, no blank line: one paragraph
    (folder / "paste.md").write_text(article("title: Paste\nsource: x\n", "Intro.\n\n" + huge), encoding="utf-8")
    corpus = load_corpus(folder, max_file_bytes=5_000_000)
    passages = [p for p in corpus.passages if p.paragraph == 2]
    assert len(passages) > 500 and all(len(p.text) <= SPLIT_PASSAGE_CHARS for p in passages)
    assert all(p.text.endswith("timetable.") for p in passages)  # cut at sentence ends
    assert " ".join(p.text for p in passages) == huge.strip()  # nothing lost or repeated
    assert corpus.split_paragraphs() == [(corpus.documents[0], 2, len(passages))]


@given(st.text(alphabet=st.sampled_from("ab .\n"), min_size=0, max_size=40).map(lambda s: s * 400))
def test_passage_texts_lose_nothing_and_respect_the_cap(paragraph: str) -> None:
    parts = passage_texts(paragraph)
    if len(paragraph) <= MAX_PASSAGE_CHARS:
        assert parts == [paragraph]
    else:
        assert all(0 < len(p) <= SPLIT_PASSAGE_CHARS for p in parts)
        assert "".join("".join(p.split()) for p in parts) == "".join(paragraph.split())


def test_ask_and_check_on_a_one_paragraph_2_mb_article(tmp_path: Path) -> None:
    """`summitbot ask` answers from it (it did not finish in 60 s) and `check` says it was split."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    filler = "Delegates discussed ferry schedules, harbour fees and the weather over several long days. "
    key = "The lighthouse keeper Marguerite Okonkwo repainted the beacon tower in cobalt blue. "
    body = filler * 11_000 + key + filler * 11_000
    (folder / "paste.md").write_text(article("title: Harbour paste\nsource: x\n", body), encoding="utf-8")
    (folder / "aliases.yaml").write_text((REPO / "corpus" / "aliases.yaml").read_text("utf-8"), "utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus:\n  path: {folder}\n  max_file_bytes: 3000000\n", encoding="utf-8")
    asked = summitbot("ask", "--config", str(config), "Who repainted the beacon tower in cobalt blue?")
    assert asked.returncode == 0, asked.stderr
    assert "Okonkwo" in asked.stdout and "¶1" in asked.stdout
    checked = summitbot("check", "--config", str(config))
    assert checked.returncode == 0, checked.stderr
    split = re.search(r"paste\.md ¶1 is [\d,]+ characters: split into (\d+) passages", checked.stdout)
    assert split and int(split.group(1)) > 500, checked.stdout


# ------------------------------------------------------------------------ 8: aliases.yaml


def test_aliases_yaml_fifo_symlink_and_size_are_refused_by_name(small_corpus: Path, tmp_path: Path) -> None:
    aliases = small_corpus / "aliases.yaml"
    os.mkfifo(aliases)
    err = one_line_error(summitbot("check", "--corpus", str(small_corpus)))  # a FIFO used to hang here
    assert "aliases.yaml: not a regular file" in err, err
    aliases.unlink()
    aliases.symlink_to("/dev/zero")
    err = one_line_error(summitbot("check", "--corpus", str(small_corpus)))  # was a MemoryError traceback
    assert "aliases.yaml: symbolic link: refused" in err and "MemoryError" not in err, err
    aliases.unlink()
    outside = tmp_path / "outside.yaml"
    outside.write_text("groups: [[a, b]]\n", encoding="utf-8")
    aliases.symlink_to(outside)
    assert "aliases.yaml: symbolic link: refused" in one_line_error(summitbot("check", "--corpus", str(small_corpus)))
    aliases.unlink()
    aliases.write_text("groups:\n" + "  - [alpha, beta]\n" * 200, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus:\n  path: {small_corpus}\n  max_file_bytes: 1000\n", encoding="utf-8")
    err = one_line_error(summitbot("check", "--config", str(config)))
    assert "aliases.yaml: file is" in err and "1,000-byte cap" in err, err
