"""The README stays true: its test command is what CI runs, and its documented commands exist."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from bot.cli import build_parser

REPO = Path(__file__).resolve().parent.parent


def _shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    test_commands = [b.strip() for b in _shell_blocks(readme) if "pytest" in b]
    assert len(test_commands) == 1
    assert test_commands[0] in ci.splitlines()


def test_readme_ask_command_uses_the_real_cli() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ask = next(b for b in _shell_blocks(readme) if "summitbot ask" in b)
    question = re.search(r'summitbot ask "([^"]+)"', ask)
    assert question is not None
    args = build_parser().parse_args(["ask", question.group(1)])
    assert args.command == "ask"


def test_every_documented_subcommand_exists() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^summitbot (\w+)", readme, flags=re.MULTILINE))
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert documented <= set(subparsers.choices)
    assert {"ask", "summary", "check", "stats", "run", "sync"} <= documented


def test_tests_named_in_the_promises_exist() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## What the bot promises") :]
    named: list[tuple[str, str]] = []
    current = None
    for match in re.finditer(r"(tests/(?:\w+/)*\w+\.py)?::(\w+)", section):
        current = match.group(1) or current
        assert current is not None
        named.append((current, match.group(2)))
    assert len(named) > 20
    for path, test in named:
        assert re.search(rf"def {test}\b", (REPO / path).read_text(encoding="utf-8")), f"{path}::{test}"


def test_readme_json_example_is_what_ask_prints(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's `ask --json` example, asked of the shipped corpus, gives the verdict, passage,
    paragraph, highlighted words and fields it shows (scores and cut texts aside)."""
    import json

    from bot.cli import main

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"`summitbot ask --json` prints one object per question:\n\n```json\n(.*?)```", readme, re.S)
    assert block is not None
    shown = json.loads(block.group(1))
    assert main(["ask", "--json", "--corpus", str(REPO / "corpus"), shown["question"]]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["answered"] == shown["answered"]
    assert set(printed) == set(shown)
    best, example = printed["passages"][0], shown["passages"][0]
    assert set(best) == set(example)
    for key in ("document", "title", "paragraph", "source", "url"):
        assert best[key] == example[key], key
    assert best["highlight"]["words"] == example["highlight"]["words"]
    assert best["text"].startswith(example["text"].rstrip("…").rstrip())
