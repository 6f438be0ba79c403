"""The command line as a user runs it: real subprocesses, real files, exit codes and JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: str | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_ask_text_output_is_cited() -> None:
    result = run("ask", "How many countries endorsed the Global AI Governance Initiative?")
    assert result.returncode == 0, result.stderr
    assert "www.ecns.cn" in result.stdout
    assert "¶" in result.stdout
    assert "58" in result.stdout


def test_ask_json_contract() -> None:
    result = run("ask", "--json", "What did JD Vance state about an America first approach?")
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    obj = json.loads(line)
    assert set(obj) == {"question", "answered", "passages"}
    assert obj["answered"] is True
    assert obj["passages"], "an answered question has passages"
    first = obj["passages"][0]
    assert set(first) == {"document", "title", "paragraph", "score", "text", "highlight", "source", "url"}
    assert isinstance(first["paragraph"], int) and first["paragraph"] >= 1
    assert isinstance(first["score"], float)
    assert "Vance" in first["text"]
    scores = [p["score"] for p in obj["passages"]]
    assert scores == sorted(scores, reverse=True)


def test_ask_batch_from_stdin_one_line_each() -> None:
    questions = [
        "Which Chinese AI company has made strides in affordable AI models?",
        "Who won the 2022 World Cup?",
        "",
        "What did the UN General Assembly adopt?",
    ]
    result = run("ask", "--json", "-", stdin="\n".join(questions) + "\n")
    assert result.returncode == 0, result.stderr
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["question"] for o in objs] == questions  # one line out per line in, blank ones too
    assert [o["answered"] for o in objs] == [True, False, False, True]
    assert objs[2]["passages"] == []


def test_off_topic_questions_abstain_but_list_nearest() -> None:
    result = run("ask", "--json", "What's the weather in Paris today?")
    obj = json.loads(result.stdout)
    assert obj["answered"] is False
    text = run("ask", "What's the weather in Paris today?").stdout
    assert "not in my sources" in text


def test_top_k_option() -> None:
    one = json.loads(
        run("ask", "--json", "--top-k", "1", "What did JD Vance state about an America first approach?").stdout
    )
    assert one["answered"] and len(one["passages"]) == 1
    # Nearest misses of an unanswered question are not cut by closeness: exactly N come back.
    misses = json.loads(
        run("ask", "--json", "--top-k", "5", "Which football club did China and the US discuss?").stdout
    )
    assert not misses["answered"] and len(misses["passages"]) == 5
    # An answered question keeps only passages close to the best one, never more than N.
    many = json.loads(
        run("ask", "--json", "--top-k", "5", "Is AI development in developing countries inclusive?").stdout
    )
    assert many["answered"] and 2 <= len(many["passages"]) <= 5


def test_check_ok_and_errors(tmp_path: Path) -> None:
    ok = run("check")
    assert ok.returncode == 0 and ok.stdout.startswith("OK:")
    (tmp_path / "a.md").write_text("no front matter\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("no source\n", encoding="utf-8")
    bad = run("check", "--corpus", str(tmp_path))
    assert bad.returncode == 1
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 2
    assert all(line.startswith("summitbot: corpus error:") for line in lines)
    assert "Traceback" not in bad.stderr


def test_bad_config_is_one_line_exit_1(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("search:\n  top_k: lots\n", encoding="utf-8")
    result = run("ask", "--config", str(config), "question")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "search.top_k" in result.stderr and str(config) in result.stderr


@pytest.mark.parametrize("args", [(), ("ask",), ("ask", "--top-k", "0", "q"), ("frobnicate",)])
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    assert run(*args).returncode == 2


def test_runs_from_another_folder_on_the_shipped_corpus(tmp_path: Path) -> None:
    result = run("ask", "--json", "What did the UN General Assembly adopt?", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["answered"] is True


def test_broken_alias_file_named_with_line(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\ntitle: T\nsource: s\n---\n\nBody text.\n", encoding="utf-8")
    (tmp_path / "aliases.yaml").write_text("groups:\n  - [lonely]\n", encoding="utf-8")
    result = run("check", "--corpus", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"summitbot: corpus error: {tmp_path / 'aliases.yaml'}: group 1 must be a list of at least two names, "
        "not ['lonely']"
    )


def test_stats_from_a_real_sqlite_file(tmp_path: Path) -> None:
    from bot.config import load_settings
    from bot.storage import AnalyticsStore, QuestionRecord

    config = tmp_path / "config.yaml"
    config.write_text(f"analytics:\n  path: a.sqlite3\ncorpus:\n  path: {REPO / 'corpus'}\n", encoding="utf-8")
    empty = run("stats", "--config", str(config))
    assert empty.returncode == 0 and "No questions recorded yet" in empty.stdout
    with AnalyticsStore.from_settings(load_settings(config).analytics) as store:
        for user in range(4):
            store.record_question(
                QuestionRecord(
                    user_id=user,
                    question="Weather today?" if user % 2 else "What is DeepSeek?",
                    answered=not user % 2,
                    doc_id="paris-summit-china-ai-governance",
                    paragraph=8,
                    score=2.5,
                    latency_ms=3,
                )
            )
    csv_path = tmp_path / "stats.csv"
    result = run("stats", "--config", str(config), "--days", "7", "--csv", str(csv_path))
    assert result.returncode == 0, result.stderr
    assert "Questions: 4, answered: 2 (50%)" in result.stdout
    assert "2x `weather today`" in result.stdout
    assert csv_path.read_text(encoding="utf-8").startswith("section,metric,value")


def test_empty_and_wordless_questions() -> None:
    empty = run("ask", "  ")
    assert empty.returncode == 1
    assert empty.stderr.startswith("summitbot: the question is empty") and "Traceback" not in empty.stderr
    wordless = run("ask", "?!…")
    assert wordless.returncode == 0
    assert "no words I can search for" in wordless.stdout
    assert json.loads(run("ask", "--json", "?!…").stdout) == {"question": "?!…", "answered": False, "passages": []}


def test_check_lists_config_and_corpus_problems_together(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("no front matter\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("search:\n  top_k: lots\n  k2: 1\ncorpus:\n  path: corpus\n", encoding="utf-8")
    result = run("check", "--config", str(config))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert [line.split(":", 2)[1].strip() for line in lines] == ["config error", "config error", "corpus error"]
    assert "search.top_k" in lines[0] and "search.k2" in lines[1] and "a.md:1" in lines[2]


def test_summary_from_the_command_line() -> None:
    result = run("summary", "--topic", "DeepSeek", "--max-words", "40", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["scope"] == "topic:DeepSeek" and 0 < summary["words"] <= 40
    assert all("DeepSeek" in s["text"] and s["paragraph"] >= 1 for s in summary["sentences"])
    empty_topic = run("summary", "--topic", "  ")
    assert empty_topic.returncode == 1 and empty_topic.stderr.startswith("summitbot: the topic is empty")
    unknown = run("summary", "--document", "nope")
    assert unknown.returncode == 1 and "no document 'nope'" in unknown.stderr


def test_ask_explain_shows_terms_passages_confidence_and_stage() -> None:
    result = run("ask", "--explain", "Who represented President Xi at the summit?")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "'Xi'" in out and "~xi_jinping" in out and "alias" in out  # the alias group applied
    assert "'represented'" in out and "represent" in out and "stem" in out
    assert "¶4" in out and "matched:" in out and "missing:" in out and "asks for who" in out
    assert "contributes" in out and "Confidence" in out
    assert "Decided at: confidence" in out
    nothing = run("ask", "--explain", "the of")
    assert nothing.returncode == 0 and "Decided at: analysis" in nothing.stdout
