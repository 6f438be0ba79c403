"""Terminal output carries no terminal control: questions recorded from Discord (which passes ESC
through), corpus text and file names with ESC/BEL/C1/bidi characters reach `summitbot stats`,
`ask`, `summary` and error lines as visible escapes. Real subprocesses; `ask` also on a real
pseudo-terminal, where the only escape codes written are the bot's own bold on/off.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from bot_harness import article

from bot.config import AnalyticsSettings
from bot.storage import AnalyticsStore, QuestionRecord
from bot.terminal import clean, json_line, shown

REPO = Path(__file__).resolve().parent.parent
#: Retitle the terminal, ring the bell, turn text red, a one-byte CSI, a right-to-left override.
ATTACK = "\x1b]0;pwned\x07\x1b[31m\x9b2J\u202e"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def summitbot(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMMITBOT")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, timeout=60, env=env
    )


def hostile_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    # YAML refuses raw control characters but takes them escaped ("\u001b"), as JSON writes them.
    front = f"title: {json.dumps(f'Harbour {ATTACK} news')}\nsource: {json.dumps(f'example.org {ATTACK}')}\n"
    body = f"The lighthouse keeper repainted the beacon tower in cobalt blue {ATTACK} last spring."
    (folder / "harbour.md").write_text(article(front, body + "\n\nFerries leave every hour."), encoding="utf-8")
    (folder / "other.md").write_text(article("title: Tea\nsource: x\n", "Tea is grown on hills."), "utf-8")
    return folder


def test_clean_makes_every_control_visible_and_keeps_text() -> None:
    assert clean(f"a{ATTACK}b\tc\nd") == "a\\x1b]0;pwned\\x07\\x1b[31m\\x9b2J\\u202eb\tc\nd"
    assert json.loads(json_line({"q": ATTACK})) == {"q": ATTACK}  # escaped, not changed
    assert not RAW.search(json_line({"q": ATTACK}))


#: What could fool a reader rather than drive the terminal: a zero-width space, a BOM, an Arabic
#: letter mark, a tag character, a private-use character, and a lone surrogate (a file name that is
#: not UTF-8, as Python decodes it).
INVISIBLE = "\u200b\ufeff\u061c\U000e0041\ue000\udcff"


def test_one_sanitizer_with_the_stricter_rules() -> None:
    """clean() escapes what either earlier sanitizer escaped; shown() is its one-line, capped form."""
    assert clean(f"a{INVISIBLE}b") == "a\\u200b\\ufeff\\u061c\\U000e0041\\ue000\\udcffb"
    # Kept as themselves: letters of any script, emoji, spaces (NBSP), the joiners scripts and emoji
    # sequences need, tab and newline (multi-line output).
    text = "café 中文 \u00a0 \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \U0001f469\u200d\U0001f52c\tend\n"
    assert clean(text) == text
    assert clean("a\tb\nc", one_line=True) == "a\\x09b\\x0ac"
    assert shown(f"x{ATTACK}\n{INVISIBLE}") == clean(f"x{ATTACK}\n{INVISIBLE}", one_line=True)
    assert shown("y" * 300, 20) == "y" * 19 + "…"
    line = json_line({"q": f"{ATTACK}{INVISIBLE}"})
    assert json.loads(line) == {"q": f"{ATTACK}{INVISIBLE}"}  # escaped, not changed
    assert line.isascii() and line.encode("utf-8")  # nothing raw: not even a surrogate


def test_invisible_and_undecodable_names_are_shown_escaped(tmp_path: Path) -> None:
    """A corpus file whose name is not UTF-8 and hides a zero-width space: `check` names it with
    visible escapes, and `ask --json` with an undecodable byte in the question writes valid UTF-8."""
    corpus = hostile_corpus(tmp_path)
    bad = os.fsencode(corpus) + b"/bad\xff\xe2\x80\x8bname.md"
    with open(bad, "wb") as handle:
        handle.write(b"no front matter\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--corpus", str(corpus)], capture_output=True, cwd=REPO, timeout=60
    )
    stderr = result.stderr.decode("utf-8")  # strict: no raw undecodable byte reached the terminal
    assert result.returncode == 1 and "bad\\udcff\\u200bname.md" in stderr, stderr
    os.unlink(bad)
    asked = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", "--corpus", os.fsencode(corpus), b"beacon tower\xff?"],
        capture_output=True,
        cwd=REPO,
        timeout=60,
    )
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout.decode("utf-8"))["question"] == "beacon tower\udcff?"


def test_stats_shows_a_hostile_question_escaped(tmp_path: Path) -> None:
    settings = AnalyticsSettings(path=tmp_path / "a.sqlite3")
    with AnalyticsStore.from_settings(settings) as store:
        store.record_question(QuestionRecord(user_id=1, question=f"why {ATTACK} now", answered=False))
    config = tmp_path / "config.yaml"
    config.write_text(f"analytics:\n  path: {settings.path}\n", encoding="utf-8")
    result = summitbot("stats", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "\\x1b]0;pwned\\x07" in result.stdout and not RAW.search(result.stdout)


def test_ask_and_summary_escape_corpus_and_question_text(tmp_path: Path) -> None:
    corpus = hostile_corpus(tmp_path)
    question = f"Who repainted the beacon tower in cobalt blue? {ATTACK}"
    text = summitbot("ask", "--corpus", str(corpus), question)
    assert text.returncode == 0, text.stderr
    assert "cobalt" in text.stdout and "\\x1b[31m" in text.stdout and not RAW.search(text.stdout)
    as_json = summitbot("ask", "--json", "--corpus", str(corpus), question)
    assert not RAW.search(as_json.stdout) and ATTACK in json.loads(as_json.stdout)["question"]
    summary = summitbot("summary", "--corpus", str(corpus), "--document", "harbour")
    assert summary.returncode == 0, summary.stderr
    assert "cobalt" in summary.stdout and not RAW.search(summary.stdout)


def test_error_lines_escape_file_names(tmp_path: Path) -> None:
    corpus = hostile_corpus(tmp_path)
    (corpus / f"bad{ATTACK.replace('/', '')}.md").write_text("no front matter\n", encoding="utf-8")
    result = summitbot("check", "--corpus", str(corpus))
    assert result.returncode == 1 and "missing front matter" in result.stderr
    assert "\\x1b]0;pwned" in result.stderr and not RAW.search(result.stderr)


def test_ask_on_a_real_terminal_writes_only_its_own_bold(tmp_path: Path) -> None:
    corpus = hostile_corpus(tmp_path)
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR",) and not k.startswith("SUMMITBOT")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "--corpus", str(corpus), f"Who repainted the beacon tower? {ATTACK}"],
        stdout=follower,
        stderr=follower,
        cwd=REPO,
        env=env,
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the other end closed
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(leader)
    out = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, out
    assert "\x1b[1m" in out  # bold is on: this is the TTY path
    leftover = out.replace("\x1b[1m", "").replace("\x1b[0m", "").replace("\r\n", "\n")
    assert "cobalt" in leftover and not RAW.search(leftover), [c for c in RAW.findall(leftover)]
