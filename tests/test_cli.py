"""The command line as a user runs it: real subprocesses, real files, exit codes and JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bot_harness import VANCE

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
    assert set(obj) == {"question", "verdict", "confidence", "answered", "passages"}
    assert obj["answered"] is True and obj["verdict"] == "answer"
    assert isinstance(obj["confidence"], float) and 0.5 <= obj["confidence"] <= 1
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
    assert [o["answered"] for o in objs] == [o["verdict"] == "answer" for o in objs]
    assert objs[2]["passages"] == [] and objs[2]["verdict"] == "none" and objs[2]["confidence"] == 0


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
    assert ": 1 document, 9 passages, " in ok.stdout  # the shipped corpus: one article, counted in the singular
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
    empty_json = json.loads(run("stats", "--config", str(config), "--json", "--days", "3").stdout)
    empty_csv = run("stats", "--config", str(config), "--csv", str(tmp_path / "empty.csv"))
    assert empty_csv.returncode == 0 and "questions,0" in (tmp_path / "empty.csv").read_text(encoding="utf-8")
    assert (empty_json["scope"], empty_json["days"], empty_json["questions"], empty_json["per_day"]) == (
        "all",
        3,
        0,
        [],
    )
    with AnalyticsStore.from_settings(load_settings(config).analytics) as store:
        for user in range(5):
            store.record_question(
                QuestionRecord(
                    user_id=user,
                    question="Weather today?" if user % 2 else "What is DeepSeek?",
                    answered=user in (0, 2),
                    verdict=("answer", "none", "answer", "none", "closest")[user],
                    doc_id="paris-summit-china-ai-governance",
                    paragraph=8,
                    score=2.5,
                    latency_ms=3,
                )
            )
    csv_path = tmp_path / "stats.csv"
    result = run("stats", "--config", str(config), "--days", "7", "--csv", str(csv_path))
    assert result.returncode == 0, result.stderr
    assert "Questions: 5, answered: 2 (40%), closest passage: 1, not in sources: 2" in result.stdout
    assert "2x `weather today`" in result.stdout
    assert csv_path.read_text(encoding="utf-8").startswith("section,metric,value")
    as_json = run("stats", "--config", str(config), "--json", "--csv", str(csv_path))
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)  # one object: nothing else on stdout
    assert (report["scope"], report["questions"], report["answered"]) == ("all", 5, 2)
    assert (report["closest"], report["not_found"], report["unanswered_unlabelled"]) == (1, 2, 0)
    assert report["top_unanswered"][0]["text"] == "weather today" and report["top_unanswered"][0]["count"] == 2
    assert as_json.stderr.startswith("Wrote ")
    assert json.loads(run("stats", "--config", str(config), "--json", "--guild", "7").stdout)["questions"] == 0


def test_empty_and_wordless_questions() -> None:
    empty = run("ask", "  ")
    assert empty.returncode == 1
    assert empty.stderr.startswith("summitbot: the question is empty") and "Traceback" not in empty.stderr
    wordless = run("ask", "?!…")
    assert wordless.returncode == 0
    assert "no words I can search for" in wordless.stdout
    assert json.loads(run("ask", "--json", "?!…").stdout) == {
        "question": "?!…",
        "verdict": "none",
        "confidence": 0.0,
        "answered": False,
        "passages": [],
    }


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


# ------------------------------------------------------------------- verdicts, probes and calibrate

DOC = "paris-summit-china-ai-governance"


def test_ask_json_verdicts_follow_the_configured_thresholds(tmp_path: Path) -> None:
    """The same question is an answer, a closest passage or none as the thresholds move around its
    own confidence; answered stays verdict == "answer"."""
    question = VANCE
    # JSON rounds the confidence to 4 decimals: thresholds 0.0001 below it are surely reached
    # (the exact boundary is tested on the engine, tests/answering/test_verdict.py).
    confidence = json.loads(run("ask", "--json", question).stdout)["confidence"] - 0.0001
    assert 0 < confidence < 1
    config = tmp_path / "config.yaml"
    verdicts = {}
    for name, (min_confidence, min_related) in {
        "answer": (confidence, 0.0),
        "closest": (1.0, confidence),
        "none": (1.0, 1.0),
    }.items():
        config.write_text(
            f"corpus:\n  path: {REPO / 'corpus'}\nanswers:\n  min_confidence: {min_confidence!r}\n"
            f"  min_related: {min_related!r}\n",
            encoding="utf-8",
        )
        obj = json.loads(run("ask", "--config", str(config), "--json", question).stdout)
        verdicts[name] = (obj["verdict"], obj["answered"], bool(obj["passages"]))
        text = run("ask", "--config", str(config), question).stdout
        if name == "closest":
            assert "I'm not sure this answers it — the closest passage in my sources:" in text and "¶3" in text
        if name == "none":
            assert "That's not in my sources. They cover:" in text and "¶" not in text
    assert verdicts == {
        "answer": ("answer", True, True),
        "closest": ("closest", False, True),
        "none": ("none", False, True),
    }


def probes_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "probes.yaml"
    path.write_text(text, encoding="utf-8")
    return path


PASSING = f"""\
answer:
  - question: {VANCE}
    document: {DOC}
    paragraph: 3
unrelated:
  - question: How do I bake banana bread?
"""


def test_calibrate_reports_each_probe_and_thresholds_that_work(tmp_path: Path) -> None:
    result = run("calibrate", "--probes", str(probes_file(tmp_path, PASSING)))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "1 answer, 0 refuse, 1 unrelated; corpus 1 document, 9 passages." in out
    assert "At the configured thresholds (min_confidence 0.5, min_related 0.1): 2 of 2 pass." in out
    rows = [line.split() for line in out.splitlines() if line.startswith("  ok") or line.startswith("  FAIL")]
    assert [r[:3] for r in rows] == [["ok", "answer", "answer"], ["ok", "unrelated", "none"]]
    assert "Thresholds that meet the target" in out
    assert "answers.min_confidence: 0.5" in out and "The configured thresholds already meet it." in out


def test_calibrate_when_no_thresholds_meet_the_target(tmp_path: Path) -> None:
    # The same question must be answered and must be refused: no pair can pass both.
    text = PASSING + f"refuse:\n  - question: {VANCE}\n"
    out = run("calibrate", "--probes", str(probes_file(tmp_path, text))).stdout
    assert "2 of 3 pass" in out and "FAIL  refuse" in out
    assert "No thresholds meet the target" in out and "Best trade-off:" in out
    assert f'probes.yaml:8: "{VANCE}" must not be answered, but got answer' in out


def test_calibrate_sets_aside_probes_naming_the_wrong_paragraph(tmp_path: Path) -> None:
    text = PASSING.replace("paragraph: 3", "paragraph: 8")
    out = run("calibrate", "--probes", str(probes_file(tmp_path, text))).stdout
    assert "1 answer probes fail at any threshold" in out
    assert f"must be answered from {DOC} ¶8, but the best passage is answer" in out


def test_calibrate_defaults_to_the_corpus_probes_and_bad_files_are_one_line(tmp_path: Path) -> None:
    shipped = run("calibrate")
    assert shipped.returncode == 0 and "corpus/probes.yaml" in shipped.stdout
    bad = run("calibrate", "--probes", str(probes_file(tmp_path, "answer:\n  - question: Q?\n")))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.splitlines()[0].startswith(f"summitbot: probe error: {tmp_path / 'probes.yaml'}:2: ")
    missing = run("calibrate", "--probes", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 1 and missing.stderr.strip().endswith("nope.yaml: no such probe file")


def test_check_warns_but_passes_when_a_probe_fails(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in (f"{DOC}.md", "aliases.yaml"):
        (corpus / name).write_bytes((REPO / "corpus" / name).read_bytes())
    quiet = run("check", "--corpus", str(corpus))
    assert quiet.returncode == 0 and quiet.stdout.count("\n") == 1  # no probe file: nothing about probes
    probes_file(corpus, PASSING)
    ok = run("check", "--corpus", str(corpus))
    assert ok.returncode == 0 and "2 of 2 pass" in ok.stdout and "warning" not in ok.stdout
    probes_file(corpus, PASSING + f"refuse:\n  - question: {VANCE}\n")
    warned = run("check", "--corpus", str(corpus))
    assert warned.returncode == 0, warned.stderr
    lines = warned.stdout.splitlines()
    assert lines[0].startswith("OK:") and "2 of 3 pass" in lines[1]
    assert (
        lines[2].startswith(f"warning: probe failed: {corpus / 'probes.yaml'}:8:")
        and "must not be answered" in lines[2]
    )
    probes_file(corpus, "refuse: [\n")
    broken = run("check", "--corpus", str(corpus))
    assert (
        broken.returncode == 0 and f"warning: probe file: {corpus / 'probes.yaml'}:2: not valid YAML" in broken.stdout
    )


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


def test_a_bad_semantic_model_is_named_as_such(tmp_path: Path) -> None:
    """An unusable semantic.model is one line naming the model file, not a "corpus error"."""
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus:\n  path: {REPO / 'corpus'}\nsemantic:\n  model: missing.npz\n", encoding="utf-8")
    for command in ("check", "ask"):
        result = run(command, "--config", str(config), *(["What is DeepSeek?"] if command == "ask" else []))
        assert result.returncode == 1
        assert result.stderr == f"summitbot: semantic model: {tmp_path / 'missing.npz'}: no such model file\n"
