"""Probes: an admin's own check that the corpus answers what it should and refuses the rest.

A probe file (``probes.yaml`` in the corpus folder by default, ``corpus.probes``) lists questions
in three groups::

    answer:            # must be answered, from this document's paragraph (or one of several)
      - question: What did JD Vance say about America first?
        document: paris-summit-china-ai-governance
        paragraph: 3          # or a list: [1, 2]
    refuse:            # must not be answered (a labelled closest passage is fine)
      - question: What is the GDP of China?
    unrelated:         # must get "That's not in my sources" (not even a closest passage)
      - question: How do I bake banana bread?

:func:`load_probes` reads one (every problem as "<file>:<line>: <message>"); :func:`run_probes`
asks each question of an engine once; :func:`fit_thresholds` finds the ``answers.min_confidence``
/ ``answers.min_related`` pair that meets the target, or the best trade-off. ``summitbot
calibrate`` prints all of it; ``summitbot check`` and ``/reload`` warn about failing probes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml

from bot.answering.verdict import Verdict, decide_verdict

if TYPE_CHECKING:
    from bot.engine import Engine

Expect = Literal["answer", "refuse", "unrelated"]
#: The probe groups, as the file's top-level keys.
GROUPS: tuple[Expect, ...] = ("answer", "refuse", "unrelated")
#: A probe file larger than this is refused (probes are a short list, not a data set).
MAX_PROBE_FILE_BYTES = 1_000_000
_KEYS: dict[Expect, frozenset[str]] = {
    "answer": frozenset({"question", "document", "paragraph"}),
    "refuse": frozenset({"question"}),
    "unrelated": frozenset({"question"}),
}


class ProbeError(ValueError):
    """A probe file that cannot be used; ``problems`` lists each as "<file>[:<line>]: <message>"."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


@dataclass(frozen=True)
class Probe:
    """One question and what it must get; ``line`` is where it is in ``file``."""

    question: str
    expect: Expect
    file: Path
    line: int
    document: str | None = None
    paragraphs: tuple[int, ...] = ()

    @property
    def where(self) -> str:
        """ "<file>:<line>" for messages."""
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class ProbeResult:
    """What the engine gave a probe: its confidence, and the best passage (None when nothing matched)."""

    probe: Probe
    confidence: float
    document: str | None
    paragraph: int | None
    problem: str | None = None  # an answer probe naming a document or paragraph the corpus lacks

    @property
    def right_passage(self) -> bool:
        """For an answer probe: whether the best passage is the one the probe names."""
        probe = self.probe
        return self.document == probe.document and self.paragraph in probe.paragraphs

    def verdict(self, min_confidence: float, min_related: float) -> Verdict:
        """The verdict this probe gets at these thresholds (the engine's own rule)."""
        return decide_verdict(self.confidence, self.document is not None, min_confidence, min_related)

    def passes(self, min_confidence: float, min_related: float) -> bool:
        """Whether the probe gets what it must at these thresholds."""
        verdict = self.verdict(min_confidence, min_related)
        expect = self.probe.expect
        if expect == "answer":
            return self.problem is None and verdict == "answer" and self.right_passage
        if expect == "refuse":
            return verdict != "answer"
        return verdict == "none"

    def failure(self, min_confidence: float, min_related: float) -> str:
        """Why the probe fails at these thresholds, in one line ("" when it passes)."""
        if self.passes(min_confidence, min_related):
            return ""
        probe = self.probe
        question = _quoted(probe.question)
        if self.problem is not None:
            return f"{probe.where}: {question}: {self.problem}"
        verdict = self.verdict(min_confidence, min_related)
        got = f"{verdict} (confidence {self.confidence:.2f}{self._passage()})"
        if probe.expect == "answer":
            wanted = _where_answered(probe)
            if verdict == "answer":
                return f"{probe.where}: {question} must be answered from {wanted}, but the best passage is {got}"
            return f"{probe.where}: {question} must be answered from {wanted}, but got {got}"
        if probe.expect == "refuse":
            return f"{probe.where}: {question} must not be answered, but got {got}"
        return f'{probe.where}: {question} must get "not in my sources", but got {got}'

    def _passage(self) -> str:
        return f", {self.document} ¶{self.paragraph}" if self.document is not None else ""


def _quoted(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return '"' + (flat if len(flat) <= limit else flat[: limit - 1] + "…") + '"'


def _where_answered(probe: Probe) -> str:
    paragraphs = "/".join(f"¶{p}" for p in probe.paragraphs)
    return f"{probe.document} {paragraphs}"


# ----------------------------------------------------------------------------------------- loading


def load_probes(path: Path | str, label: Path | None = None) -> tuple[Probe, ...]:
    """Read and validate a probe file; raises :class:`ProbeError` listing every problem with its line.

    ``label``: how messages name the file (default: ``path`` as given).
    """
    path = Path(path)
    shown = label or path
    try:
        if path.stat().st_size > MAX_PROBE_FILE_BYTES:
            raise ProbeError([f"{shown}: larger than {MAX_PROBE_FILE_BYTES:,} bytes; probes are a short list"])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProbeError([f"{shown}: no such probe file"]) from None
    except IsADirectoryError:
        raise ProbeError([f"{shown}: is a folder, not a probe file"]) from None
    except UnicodeDecodeError:
        raise ProbeError([f"{shown}: not UTF-8 text"]) from None
    except OSError as exc:
        raise ProbeError([f"{shown}: cannot read ({exc.strerror or exc})"]) from None
    return parse_probes(text, shown)


def parse_probes(text: str, path: Path) -> tuple[Probe, ...]:
    """Parse probe YAML (see the module docstring); ``path`` names the file in messages."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProbeError([f"{path}{line}: not valid YAML ({problem})"]) from None
    if root is None:
        raise ProbeError([f"{path}: empty; it needs at least one of: {', '.join(GROUPS)}"])
    problems: list[str] = []
    probes: list[Probe] = []

    def at(node: yaml.Node) -> str:
        return f"{path}:{node.start_mark.line + 1}"

    if not isinstance(root, yaml.MappingNode):
        raise ProbeError([f"{at(root)}: expected a mapping with the keys {', '.join(GROUPS)}"])
    seen: set[str] = set()
    for key_node, value_node in root.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key not in GROUPS:
            problems.append(f"{at(key_node)}: unknown key {key!r} (known keys: {', '.join(GROUPS)})")
            continue
        if key in seen:
            problems.append(f"{at(key_node)}: '{key}' appears twice")
            continue
        seen.add(key)
        expect: Expect = key  # type: ignore[assignment]
        if isinstance(value_node, yaml.ScalarNode) and value_node.value in ("", "null", "~"):
            continue  # an empty group
        if not isinstance(value_node, yaml.SequenceNode):
            problems.append(f"{at(value_node)}: '{key}' must be a list of probes")
            continue
        for item in value_node.value:
            probe = _probe(item, expect, path, at, problems)
            if probe is not None:
                probes.append(probe)
    if not problems and not probes:
        problems.append(f"{path}: no probes (add questions under {', '.join(GROUPS)})")
    if problems:
        raise ProbeError(problems)
    return tuple(probes)


def _probe(
    item: yaml.Node, expect: Expect, path: Path, where: Callable[[yaml.Node], str], problems: list[str]
) -> Probe | None:
    """One probe from its YAML node, or None (with the problems added); ``where(node)`` is
    "<file>:<line>" of a node."""
    if not isinstance(item, yaml.MappingNode):
        problems.append(f"{where(item)}: a probe must be a mapping with a 'question'")
        return None
    fields: dict[str, yaml.Node] = {}
    bad = False
    for key_node, value_node in item.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key not in _KEYS[expect]:
            known = ", ".join(sorted(_KEYS[expect]))
            article = "an" if expect == "answer" else "a"
            problems.append(
                f"{where(key_node)}: unknown key {key!r} in {article} '{expect}' probe (known keys: {known})"
            )
            bad = True
            continue
        fields[key] = value_node
    question_node = fields.get("question")
    question = _text(question_node)
    if question_node is None or question is None or not question.strip():
        problems.append(f"{where(item)}: the probe needs a non-empty 'question'")
        return None
    if expect != "answer":
        return None if bad else Probe(question.strip(), expect, path, item.start_mark.line + 1)
    document_node, paragraph_node = fields.get("document"), fields.get("paragraph")
    document = _text(document_node)
    if document is None or not document.strip():
        problems.append(f"{where(item)}: an 'answer' probe needs the 'document' id that answers it")
        bad = True
    paragraphs = _paragraphs(paragraph_node)
    if paragraphs is None:
        node = paragraph_node if paragraph_node is not None else item
        problems.append(f"{where(node)}: 'paragraph' must be a paragraph number (1, 2, ...) or a list of them")
        bad = True
    if bad:
        return None
    assert document is not None and paragraphs is not None
    return Probe(question.strip(), expect, path, item.start_mark.line + 1, document.strip(), paragraphs)


def _text(node: yaml.Node | None) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:int"):
        return str(node.value)
    return None


def _paragraphs(node: yaml.Node | None) -> tuple[int, ...] | None:
    """A paragraph number or a list of them, each >= 1; None when missing or malformed."""
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    found: list[int] = []
    for item in items:
        if not (isinstance(item, yaml.ScalarNode) and item.tag == "tag:yaml.org,2002:int"):
            return None
        try:
            value = int(item.value)
        except ValueError:
            return None
        if value < 1:
            return None
        found.append(value)
    return tuple(found) or None


# ----------------------------------------------------------------------------------------- running


def run_probes(engine: Engine, probes: Iterable[Probe]) -> tuple[ProbeResult, ...]:
    """Ask each probe's question of ``engine`` once (verdicts at any thresholds follow from it)."""
    results: list[ProbeResult] = []
    for probe in probes:
        problem = None
        if probe.expect == "answer":
            assert probe.document is not None
            count = len(engine.passages_of(probe.document))
            if count == 0:
                problem = f"no document with the id '{probe.document}' in the corpus"
            elif max(probe.paragraphs) > count:
                problem = f"'{probe.document}' has {count} paragraphs, not {max(probe.paragraphs)}"
        answer = engine.answer(probe.question, 1)
        best = answer.best
        if best is None:
            results.append(ProbeResult(probe, answer.confidence, None, None, problem))
        else:
            doc, paragraph = best.passage.document.id, best.passage.paragraph
            results.append(ProbeResult(probe, answer.confidence, doc, paragraph, problem))
    return tuple(results)


@dataclass(frozen=True)
class ProbeReport:
    """The probes of one file run on one engine, judged at the engine's thresholds."""

    path: Path
    results: tuple[ProbeResult, ...]
    min_confidence: float
    min_related: float

    @property
    def failures(self) -> tuple[str, ...]:
        """One line per probe that fails at the configured thresholds."""
        t = (self.min_confidence, self.min_related)
        return tuple(r.failure(*t) for r in self.results if not r.passes(*t))

    @property
    def passed(self) -> int:
        """How many probes pass."""
        return sum(r.passes(self.min_confidence, self.min_related) for r in self.results)


def check_probes(engine: Engine, path: Path | None = None, *, short_names: bool = False) -> ProbeReport | None:
    """The engine's probes (``path``, or the configured probe file) at its thresholds; None when
    no probe file is configured and the corpus folder has none. Raises :class:`ProbeError`.

    ``short_names``: name the file relative to the corpus folder (for Discord: no server paths).
    """
    settings = engine.settings
    if path is None:
        path = settings.probes_path
        if settings.corpus.probes is None and not path.exists():
            return None
    label = _short_name(path, settings.corpus.path) if short_names else None
    probes = load_probes(path, label)
    answers = settings.answers
    return ProbeReport(path, run_probes(engine, probes), answers.min_confidence, answers.min_related)


def _short_name(path: Path, root: Path) -> Path:
    try:
        return path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return Path(path.name)


def probe_warnings(engine: Engine, *, short_names: bool = False) -> tuple[str, ...]:
    """One-line warnings for ``summitbot check`` and ``/reload``: a probe file that cannot be read,
    or each probe that fails at the configured thresholds. Empty when all pass or there is no file."""
    try:
        report = check_probes(engine, short_names=short_names)
    except ProbeError as exc:
        return tuple(f"probe file: {p}" for p in exc.problems)
    if report is None:
        return ()
    return tuple(f"probe failed: {line}" for line in report.failures)


# ------------------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class ThresholdFit:
    """Thresholds for a set of probe results: whether they meet the target (every probe passes,
    apart from those no threshold can fix), the suggested pair, and the ranges that work."""

    meets_target: bool
    min_confidence: float
    min_related: float
    passed: int
    total: int
    # When the target is met: min_confidence may be in (low, high], min_related in (low, min_confidence].
    confidence_range: tuple[float, float] | None = None
    related_range: tuple[float, float] | None = None
    unfixable: tuple[ProbeResult, ...] = ()  # answer probes whose best passage is wrong (or named wrong)


def _nice(low: float, high: float) -> float:
    """A short number in (low, high]: the midpoint rounded to 1, 2 or 3 decimals, the first still inside."""
    mid = (low + high) / 2
    for digits in (1, 2, 3):
        value = round(mid, digits)
        if low < value <= high:
            return value
    return high


def fit_thresholds(results: Sequence[ProbeResult], current: tuple[float, float] = (0.5, 0.1)) -> ThresholdFit:
    """The ``(min_confidence, min_related)`` pair that makes every fixable probe pass, or failing
    that the pair that passes the most probes (ties: fewest must-refuse questions answered, then
    nearest ``current``).

    An answer probe whose best passage is not the one it names cannot be fixed by thresholds
    (the ranking or the corpus must change); it is left out of the target and listed.
    """
    unfixable = tuple(r for r in results if r.probe.expect == "answer" and (r.problem or not r.right_passage))
    fixable = [r for r in results if r not in unfixable]
    answer_c = [r.confidence for r in fixable if r.probe.expect == "answer"]
    refuse_c = [r.confidence for r in fixable if r.probe.expect == "refuse" and r.document is not None]
    unrelated_c = [r.confidence for r in fixable if r.probe.expect == "unrelated" and r.document is not None]
    total = len(results)
    high = min(answer_c, default=1.0)  # min_confidence <= every answer probe's confidence
    low = max(refuse_c + unrelated_c, default=-1.0)  # ... and above every other probe's
    if low < high:
        # Keep a configured value that already works; otherwise a short number inside the range.
        min_confidence = high if low < 0 else _nice(low, high)
        if low < current[0] <= high:
            min_confidence = current[0]
        related_low = max(unrelated_c, default=-1.0)  # min_related above every unrelated probe's
        if related_low < current[1] <= min_confidence:
            min_related = current[1]
        elif related_low < 0:
            min_related = min(current[1], min_confidence)
        else:
            min_related = _nice(related_low, min_confidence)
        passed = sum(r.passes(min_confidence, min_related) for r in results)
        return ThresholdFit(
            True,
            min_confidence,
            min_related,
            passed,
            total,
            (max(low, 0.0), high),
            (max(related_low, 0.0), min_confidence),
            unfixable,
        )
    # No pair meets the target: search the pairs at the probes' own confidences (and just above
    # them). The score splits: answer and refuse probes depend on min_confidence alone, unrelated
    # ones on min_related alone (min_related <= min_confidence), so each side is counted once.
    points = sorted({0.0, 1.0, *(r.confidence for r in results)})
    candidates = sorted({*points, *(_just_above(p) for p in points if p < 1.0)})
    by_confidence = [r for r in results if r.probe.expect != "unrelated"]
    by_related = [r for r in results if r.probe.expect == "unrelated"]
    high_side = {c: sum(r.passes(c, 0.0) for r in by_confidence) for c in candidates}
    low_side = {t: sum(r.passes(1.0, t) for r in by_related) for t in candidates}
    wrong = {c: sum(r.probe.expect != "answer" and r.verdict(c, 0.0) == "answer" for r in results) for c in candidates}

    def score(pair: tuple[float, float]) -> tuple[int, int, float]:
        c, t = pair
        distance = abs(c - current[0]) + abs(t - current[1])
        return (high_side[c] + low_side[t], -wrong[c], -distance)

    best = max(((c, t) for c in candidates for t in candidates if t <= c), key=score)
    passed = sum(r.passes(*best) for r in results)
    return ThresholdFit(False, best[0], best[1], passed, total, unfixable=unfixable)


def _just_above(value: float) -> float:
    """The smallest threshold that refuses ``value`` (thresholds are inclusive), kept readable."""
    for digits in (2, 3, 4, 6):
        step = round(value + 10**-digits, digits)
        if value < step <= 1.0:
            return step
    return min(1.0, value + 1e-9)
