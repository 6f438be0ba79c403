"""The one object that holds a loaded corpus and everything built from it.

:func:`build_engine` loads the corpus folder and alias file, analyses and indexes every passage,
and returns an immutable :class:`Engine`. A reload builds a complete new engine and the caller
swaps a single reference, so a question that started on the old engine finishes on it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.analysis import AliasError, AliasTable, Analyzer
from bot.answers import Answer, AnswerEngine, AnswerPolicy
from bot.config import Settings
from bot.corpus import Corpus, CorpusError, Problem, load_corpus
from bot.index_store import DocumentKey, IndexOutcome, corpus_keys, fingerprint, load_or_build
from bot.search import BM25Index, BM25Params

BuildProgress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` during a build: stage ``"files"`` (articles read;
total 0, not known ahead) or ``"passages"`` (passages analysed of those to analyse)."""


@dataclass(frozen=True)
class Engine:
    """A corpus with its analyzer, BM25 index and answer engine, ready to answer questions."""

    settings: Settings
    corpus: Corpus
    analyzer: Analyzer
    index: BM25Index
    answers: AnswerEngine
    build_seconds: float = 0.0
    built_at: float = field(default_factory=time.time)
    # What the index was built from (fingerprint, document keys), so a reload can reuse its postings.
    index_key: tuple[str, tuple[DocumentKey, ...]] | None = None
    index_outcome: IndexOutcome | None = None

    def answer(self, question: str, top_k: int | None = None) -> Answer:
        """Answer a question with the configured (or given) number of passages."""
        return self.answers.answer(question, top_k or self.settings.search.top_k)


def build_engine(
    settings: Settings,
    corpus_dir: Path | None = None,
    previous: Engine | None = None,
    progress: BuildProgress | None = None,
    log: Callable[[str], None] | None = None,
) -> Engine:
    """Load, validate and index the corpus; raises :class:`CorpusError` listing every problem.

    With ``search.index_cache`` set, a valid saved index is memory-mapped instead of rebuilt, and
    a rebuilt one is saved. ``previous`` (the running engine, on a reload) lets documents whose
    content did not change keep their postings: only the others are analysed. ``progress`` sees
    files read and passages analysed (:data:`BuildProgress`); ``log`` gets one-line notes.
    """
    started = time.perf_counter()
    root = corpus_dir or settings.corpus.path
    problems: list[Problem] = []
    aliases_path = settings.corpus.aliases or Path(root) / "aliases.yaml"
    aliases = AliasTable()
    try:
        aliases = AliasTable.load(aliases_path)
    except AliasError as exc:
        problems.append(_alias_problem(aliases_path, exc))
    try:
        on_file = None if progress is None else (lambda n: progress("files", n, 0))
        corpus = load_corpus(root, settings.corpus.max_file_bytes, settings.corpus.max_files, on_file)
    except CorpusError as exc:
        raise CorpusError(problems + exc.problems) from None
    if problems:
        raise CorpusError(problems)
    analyzer = Analyzer(aliases)
    params = BM25Params(settings.search.k1, settings.search.b, settings.search.epsilon)
    stamp = fingerprint(analyzer, params)
    reuse = None
    if previous is not None and previous.index_key is not None and previous.index_key[0] == stamp:
        reuse = (previous.index, previous.index_key[1])
    keys = tuple(corpus_keys(corpus))
    folder = settings.search.index_cache
    on_passages = None if progress is None else (lambda done, total: progress("passages", done, total))
    index, outcome = load_or_build(corpus, analyzer, params, folder, reuse, on_passages, log, keys)
    policy = AnswerPolicy(
        min_confidence=settings.answers.min_confidence,
        related_ratio=settings.answers.related_ratio,
    )
    answers = AnswerEngine(corpus.passages, analyzer, index, policy)
    key = (stamp, keys)
    return Engine(
        settings, corpus, analyzer, index, answers, time.perf_counter() - started, index_key=key, index_outcome=outcome
    )


def _alias_problem(path: Path, exc: AliasError) -> Problem:
    """Turn an alias-file error ("<path>[:<line>]: <message>") into a corpus :class:`Problem`."""
    text = str(exc).removeprefix(str(path))
    match = re.match(r"^:(\d+): (.*)$", text, re.DOTALL)
    if match:
        return Problem(path, int(match.group(1)), match.group(2))
    return Problem(path, None, text.lstrip(": "))


@dataclass(frozen=True)
class CorpusChange:
    """What a reload changed: document ids added, removed and changed, and passage counts."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    passages_before: int
    passages_after: int

    @property
    def unchanged(self) -> bool:
        """True when the new corpus has the same documents with the same content."""
        return not (self.added or self.removed or self.changed)


def corpus_change(old: Corpus, new: Corpus) -> CorpusChange:
    """Compare two corpora document by document."""
    before = {d.id: d for d in old.documents}
    after = {d.id: d for d in new.documents}
    return CorpusChange(
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        changed=tuple(
            sorted(
                i
                for i in before.keys() & after.keys()
                if (before[i].paragraphs, before[i].title, before[i].source, before[i].url, before[i].published)
                != (after[i].paragraphs, after[i].title, after[i].source, after[i].url, after[i].published)
            )
        ),
        passages_before=len(old.passages),
        passages_after=len(new.passages),
    )
