"""Probe files: the loader's one-line errors, running probes on an engine, and fitting thresholds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.engine import build_engine
from bot.probes import Probe, ProbeError, ProbeResult, fit_thresholds, load_probes, parse_probes, run_probes

REPO = Path(__file__).resolve().parent.parent
DOC = "paris-summit-china-ai-governance"
GOOD = f"""\
# a comment
answer:
  - question: What did JD Vance say about America first?
    document: {DOC}
    paragraph: 3
  - question: How many countries endorsed the initiative?
    document: {DOC}
    paragraph: [1, 2]
refuse:
  - question: What is the GDP of China?
unrelated:
  - question: How do I bake banana bread?
"""


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "probes.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_loads_groups_lines_and_paragraph_lists(tmp_path: Path) -> None:
    probes = load_probes(write(tmp_path, GOOD))
    assert [(p.expect, p.line) for p in probes] == [("answer", 3), ("answer", 6), ("refuse", 10), ("unrelated", 12)]
    assert probes[0].document == DOC and probes[0].paragraphs == (3,)
    assert probes[1].paragraphs == (1, 2)
    assert probes[2].question == "What is the GDP of China?" and probes[2].document is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("answer:\n  - question: Q?\n    paragraph: 2\n", "probes.yaml:2: an 'answer' probe needs the 'document' id"),
        ("answer:\n  - question: Q?\n    document: d\n", "probes.yaml:2: 'paragraph' must be a paragraph number"),
        ("answer:\n  - question: Q?\n    document: d\n    paragraph: two\n", "probes.yaml:4: 'paragraph' must be"),
        ("answer:\n  - question: Q?\n    document: d\n    paragraph: 0\n", "probes.yaml:4: 'paragraph' must be"),
        ("answer:\n  - question: Q?\n    document: d\n    paragraph: [1, x]\n", "probes.yaml:4: 'paragraph'"),
        ("refuse:\n  - question: Q?\n    document: d\n", "probes.yaml:3: unknown key 'document' in a 'refuse' probe"),
        ("refuse:\n  - question: ''\n", "probes.yaml:2: the probe needs a non-empty 'question'"),
        ("refuse:\n  - just a string\n", "probes.yaml:2: a probe must be a mapping with a 'question'"),
        ("refuse: a question\n", "probes.yaml:1: 'refuse' must be a list of probes"),
        (
            "answers:\n  - question: Q?\n",
            "probes.yaml:1: unknown key 'answers' (known keys: answer, refuse, unrelated)",
        ),
        ("- question: Q?\n", "probes.yaml:1: expected a mapping with the keys answer, refuse, unrelated"),
        ("refuse:\n  - question: [unclosed\n", "probes.yaml:3: not valid YAML"),
        ("", "probes.yaml: empty"),
        ("refuse:\nunrelated: []\n", "probes.yaml: no probes"),
        ("refuse:\n  - question: A?\nrefuse:\n  - question: B?\n", "probes.yaml:3: 'refuse' appears twice"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ProbeError) as info:
        load_probes(path)
    first = info.value.problems[0]
    assert first.startswith(str(tmp_path)) and message in first, first
    assert all("\n" not in p for p in info.value.problems)


def test_every_problem_is_listed(tmp_path: Path) -> None:
    text = "answer:\n  - question: A?\n  - question: B?\n    document: d\n    paragraph: 1\nrefuse:\n  - nope\n"
    with pytest.raises(ProbeError) as info:
        load_probes(write(tmp_path, text))
    assert [p.split(": ", 1)[0].rsplit(":", 1)[1] for p in info.value.problems] == ["2", "2", "7"]
    assert "(and 2 more problems)" in str(info.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="no such probe file"):
        load_probes(tmp_path / "missing.yaml")
    with pytest.raises(ProbeError, match="not UTF-8 text"):
        load_probes(write(tmp_path, b"refuse:\n  - question: \xff\xfe\n"))
    with pytest.raises(ProbeError, match="is a folder"):
        load_probes(tmp_path)
    label = Path("probes.yaml")
    with pytest.raises(ProbeError) as info:
        parse_probes("refuse: 1\n", label)
    assert info.value.problems == ["probes.yaml:1: 'refuse' must be a list of probes"]


# ------------------------------------------------------------------------------------------ running


@pytest.fixture(scope="module")
def shipped() -> Settings:
    return load_settings(REPO / "config.yaml")


def test_shipped_probes_run_and_check_reports_exactly_the_failures(shipped: Settings) -> None:
    """The shipped probes load, name paragraphs that exist, cover the three groups, and the warnings
    are exactly the probes that fail at the configured thresholds (which ones do is the confidence
    model's result, not this test's: `summitbot calibrate` shows it)."""
    engine = build_engine(shipped)
    report = engine.check_probes()
    assert report is not None and report.path == REPO / "corpus" / "probes.yaml"
    assert {p.probe.expect for p in report.results} == {"answer", "refuse", "unrelated"}
    assert all(r.problem is None for r in report.results)  # every named document and paragraph exists
    t = (report.min_confidence, report.min_related)
    failing = [r for r in report.results if not r.passes(*t)]
    assert engine.probe_warnings() == tuple(f"probe failed: {r.failure(*t)}" for r in failing)
    assert report.passed == len(report.results) - len(failing)


def test_unknown_document_or_paragraph_fails_with_a_reason(shipped: Settings, tmp_path: Path) -> None:
    text = (
        f"answer:\n  - question: What did JD Vance say?\n    document: nope\n    paragraph: 1\n"
        f"  - question: What did JD Vance say?\n    document: {DOC}\n    paragraph: 99\n"
    )
    engine = build_engine(shipped)
    results = run_probes(engine, load_probes(write(tmp_path, text)))
    assert results[0].problem == "no document with the id 'nope' in the corpus"
    assert results[1].problem == f"'{DOC}' has 9 paragraphs, not 99"
    assert not any(r.passes(0.0, 0.0) for r in results)
    assert "probes.yaml:2:" in results[0].failure(0.5, 0.2) and "no document" in results[0].failure(0.5, 0.2)


def test_warnings_without_probe_file_and_with_a_broken_one(shipped: Settings, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("paris-summit-china-ai-governance.md", "aliases.yaml"):
        (corpus / name).write_bytes((REPO / "corpus" / name).read_bytes())
    settings = dataclasses.replace(shipped, corpus=dataclasses.replace(shipped.corpus, path=corpus))
    assert build_engine(settings).probe_warnings() == ()  # no probes.yaml: nothing to check
    (corpus / "probes.yaml").write_text("refuse:\n  - oops\n", encoding="utf-8")
    engine = build_engine(settings)
    assert engine.probe_warnings(short_names=True) == (
        "probe file: probes.yaml:2: a probe must be a mapping with a 'question'",
    )
    (corpus / "probes.yaml").write_text("unrelated:\n  - question: What did JD Vance say about America first?\n")
    (warning,) = build_engine(settings).probe_warnings(short_names=True)
    assert warning.startswith('probe failed: probes.yaml:2: "What did JD Vance say about America first?" must get')


# --------------------------------------------------------------------------------------- thresholds


def result(expect: str, confidence: float, *, right: bool = True, passage: bool = True) -> ProbeResult:
    probe = Probe(f"{expect} {confidence}", expect, Path("p.yaml"), 1, "d" if expect == "answer" else None,
                  (1,) if expect == "answer" else ())  # type: ignore[arg-type]  # fmt: skip
    if not passage:
        return ProbeResult(probe, confidence, None, None)
    return ProbeResult(probe, confidence, "d", 1 if right else 2)


def test_fit_meets_target_keeping_configured_values_that_work() -> None:
    results = [result("answer", 0.9), result("answer", 0.7), result("refuse", 0.4), result("unrelated", 0.1)]
    fit = fit_thresholds(results, (0.5, 0.2))
    assert fit.meets_target and (fit.min_confidence, fit.min_related) == (0.5, 0.2)
    assert fit.confidence_range == (0.4, 0.7) and fit.related_range == (0.1, 0.5)
    assert fit.passed == fit.total == 4


def test_fit_moves_thresholds_into_the_working_range() -> None:
    results = [result("answer", 0.95), result("refuse", 0.8), result("unrelated", 0.3), result("refuse", 0.6)]
    fit = fit_thresholds(results, (0.5, 0.2))
    assert fit.meets_target and 0.8 < fit.min_confidence <= 0.95 and 0.3 < fit.min_related <= fit.min_confidence
    assert all(r.passes(fit.min_confidence, fit.min_related) for r in results)
    assert fit.min_confidence == 0.9  # a short number inside the range (its midpoint, rounded)


def test_fit_best_trade_off_when_no_pair_works() -> None:
    # A refuse probe more confident than an answer probe: one of the two must fail.
    results = [result("answer", 0.9), result("answer", 0.6), result("refuse", 0.7), result("unrelated", 0.0)]
    fit = fit_thresholds(results, (0.5, 0.2))
    assert not fit.meets_target and fit.passed == 3 and fit.total == 4
    # Of the pairs passing 3, the one that answers no must-refuse question.
    assert fit.min_confidence > 0.7 and results[2].verdict(fit.min_confidence, fit.min_related) != "answer"


def test_fit_sets_aside_answer_probes_no_threshold_can_fix() -> None:
    wrong = result("answer", 0.99, right=False)
    results = [wrong, result("answer", 0.8), result("refuse", 0.3), result("unrelated", 0.05, passage=False)]
    fit = fit_thresholds(results, (0.5, 0.2))
    assert fit.unfixable == (wrong,) and fit.meets_target
    assert fit.passed == 3 and fit.total == 4


def test_fit_trade_off_is_the_best_pair_a_brute_force_finds() -> None:
    """On random probe sets, the trade-off passes as many probes as the best pair a brute force
    finds over a 0.02 grid, the probes' own confidences and the values just above them."""
    import random

    rng = random.Random(7)
    for _ in range(12):
        results = [
            result(rng.choice(["answer", "refuse", "unrelated"]), round(rng.random(), 3), passage=rng.random() > 0.1)
            for _ in range(rng.randint(2, 12))
        ]
        fit = fit_thresholds(results)
        own = {r.confidence for r in results}
        grid = sorted({i / 50 for i in range(51)} | own | {min(1.0, c + 1e-9) for c in own})
        best = max(sum(r.passes(c, t) for r in results) for c in grid for t in grid if t <= c)
        assert fit.passed >= best, (fit, best)
        assert fit.passed == sum(r.passes(fit.min_confidence, fit.min_related) for r in results)
        assert 0.0 <= fit.min_related <= fit.min_confidence <= 1.0
