"""The one object that holds a loaded corpus and everything built from it.

:func:`build_engine` loads the corpus folder and alias file, analyses and indexes every passage,
and returns an immutable :class:`Engine`. A reload builds a complete new engine and the caller
swaps a single reference, so a question that started on the old engine finishes on it.

:class:`Engine` is the one façade the front ends (CLI, Discord) call: :meth:`Engine.answer`,
:meth:`Engine.more` ("More passages"), :meth:`Engine.summarize`, :attr:`Engine.documents`,
:meth:`Engine.document`, :meth:`Engine.passages_of`, :meth:`Engine.probe_warnings`. It owns the
caches derived from its corpus.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.analysis import AliasError, AliasTable, Analyzer
from bot.answering import DEFAULT_MODEL, Answer, AnswerEngine, Explanation, RankedPassage
from bot.config import Settings
from bot.corpus import Corpus, CorpusError, Document, Passage, Problem, load_corpus
from bot.index_store import DocumentKey, IndexOutcome, corpus_keys, fingerprint, load_or_build
from bot.probes import ProbeReport, check_probes, probe_warnings
from bot.search import BM25Index
from bot.semantic import SemanticError, build_semantic
from bot.summaries import Summary, SummaryCache, summarize

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
    # Caches of work derived from this engine's (immutable) corpus; they live and die with it.
    summary_cache: SummaryCache = field(default_factory=SummaryCache, compare=False, repr=False)
    _doc_positions: dict[str, tuple[int, ...]] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        by_doc: dict[str, list[int]] = {}
        for i, passage in enumerate(self.corpus.passages):
            by_doc.setdefault(passage.document.id, []).append(i)
        object.__setattr__(self, "_doc_positions", {doc: tuple(ps) for doc, ps in by_doc.items()})

    def passages_of(self, document: str) -> tuple[Passage, ...]:
        """The passages of one document (paragraph 1 first); empty for an unknown id."""
        passages = self.corpus.passages
        return tuple(passages[i] for i in self._doc_positions.get(document, ()))

    def positions_of(self, document: str) -> tuple[int, ...]:
        """Where one document's passages are in :attr:`passages` (and in the index); empty for an
        unknown id."""
        return self._doc_positions.get(document, ())

    # -- the façade every front end calls --------------------------------------------------------

    def answer(self, question: str, top_k: int | None = None) -> Answer:
        """Answer a question with the configured (``search.top_k``) or given number of passages."""
        return self.answers.answer(question, top_k or self.settings.search.top_k)

    def explain(self, question: str) -> Explanation:
        """Why :meth:`answer` replies as it does (``summitbot ask --explain``)."""
        return self.answers.explain(question, self.settings.search.top_k)

    def more(self, question: str, offset: int, n: int) -> tuple[RankedPassage, ...]:
        """Ranked passages ``offset`` .. ``offset + n - 1`` for a question, whether or not it was
        answered (what "More passages" shows); fewer or none past the last match."""
        return self.answers.ranked(question, offset, n)

    def summarize(
        self,
        document: str | None = None,
        topic: str | None = None,
        length: str = "medium",
        max_words: int | None = None,
    ) -> Summary:
        """A cited extractive summary of a document, a topic, or the corpus (see
        :func:`bot.summaries.summarize`); raises :class:`~bot.summaries.SummaryError` for bad input."""
        return summarize(self, document=document, topic=topic, length=length, max_words=max_words)

    def check_probes(self, path: Path | None = None) -> ProbeReport | None:
        """The probe file (``path``, or ``corpus.probes`` / the corpus folder's ``probes.yaml``) run
        at this engine's thresholds; None when there is none. Raises :class:`bot.probes.ProbeError`."""
        return check_probes(self, path)

    def probe_warnings(self, *, short_names: bool = False) -> tuple[str, ...]:
        """One line per failing probe (or unreadable probe file), for ``check`` and ``/reload``;
        ``short_names`` names the file relative to the corpus folder."""
        return probe_warnings(self, short_names=short_names)

    @property
    def documents(self) -> tuple[Document, ...]:
        """Every document, in corpus order."""
        return self.corpus.documents

    @property
    def passages(self) -> tuple[Passage, ...]:
        """Every passage, in corpus order."""
        return self.corpus.passages

    def document(self, document: str) -> Document | None:
        """The document with this id, or None."""
        return self.corpus.document(document)

    @property
    def alias_groups(self) -> int:
        """How many alias groups the analyzer uses."""
        return len(self.analyzer.aliases.groups)


def build_engine(
    settings: Settings,
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
    root = settings.corpus.path
    problems: list[Problem] = []
    aliases_path = settings.aliases_path
    aliases = AliasTable()
    try:
        aliases = AliasTable.load(aliases_path, settings.corpus.max_file_bytes)
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
    params = settings.search
    stamp = fingerprint(analyzer, params)
    reuse = None
    if previous is not None and previous.index_key is not None and previous.index_key[0] == stamp:
        reuse = (previous.index, previous.index_key[1])
    keys = tuple(corpus_keys(corpus))
    folder = settings.search.index_cache
    on_passages = None if progress is None else (lambda done, total: progress("passages", done, total))
    index, outcome = load_or_build(corpus, analyzer, params, folder, reuse, on_passages, log, keys)
    semantic = None
    wanted = settings.semantic
    if wanted.model is not None:
        try:
            semantic = build_semantic(
                [p.text for p in corpus.passages],
                wanted.model,
                wanted.cache,
                wanted.rerank_weight,
                previous=previous.answers.semantic if previous is not None else None,
            )
        except SemanticError as exc:
            raise CorpusError([Problem(wanted.model, None, str(exc).removeprefix(f"{wanted.model}: "))]) from None
    # semantic.confidence: false keeps the lexical confidence model with the extra's rerank
    semantic_model = None if wanted.confidence else DEFAULT_MODEL
    answers = AnswerEngine(
        corpus.passages, analyzer, index, settings.answers, semantic=semantic, semantic_model=semantic_model
    )
    return Engine(
        settings,
        corpus,
        analyzer,
        index,
        answers,
        time.perf_counter() - started,
        index_key=(stamp, keys),
        index_outcome=outcome,
    )


def logged_progress(log: Callable[[str], None], every: float = 10.0) -> BuildProgress:
    """A :data:`BuildProgress` that writes a line to ``log`` at most every ``every`` seconds, e.g.
    ``indexing: 450,000 of 1,000,000 passages analysed (45%), about 0:32 left`` (for the bot log)."""
    state = {"last": time.monotonic(), "started": 0.0}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage == "passages" and not state["started"]:
            state["started"] = now
        if now - state["last"] < every:
            return
        state["last"] = now
        if stage == "files":
            log(f"indexing: {done:,} article files read")
            return
        line = f"indexing: {done:,} of {total:,} passages analysed ({done / max(total, 1):.0%})"
        if done:
            left = int((total - done) * (now - state["started"]) / done)
            line += f", about {left // 60}:{left % 60:02d} left"
        log(line)

    return progress


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
