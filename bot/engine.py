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

import concurrent.futures
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.analysis import AliasError, AliasTable, Analyzer
from bot.answering import DEFAULT_MODEL, Answer, AnswerEngine, Explanation, RankedPassage
from bot.config import Settings
from bot.corpus import Corpus, CorpusError, Document, Passage, Problem, load_corpus
from bot.index_store import (
    DocumentKey,
    IndexCacheError,
    IndexOutcome,
    corpus_keys,
    fingerprint,
    load,
    load_corpus_snapshot,
    load_or_build,
    verify_files,
)
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
    # True when the saved corpus in search.index_cache is this engine's corpus (nothing to write).
    corpus_saved: bool = False
    # Caches of work derived from this engine's (immutable) corpus; they live and die with it.
    summary_cache: SummaryCache = field(default_factory=SummaryCache, compare=False, repr=False)
    _doc_ranges: dict[str, tuple[range, ...]] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        bounds = self.corpus.store.doc_passages.tolist()
        by_doc: dict[str, list[range]] = {}
        for d, doc in enumerate(self.corpus.documents):
            by_doc.setdefault(doc.id, []).append(range(bounds[d], bounds[d + 1]))
        object.__setattr__(self, "_doc_ranges", {doc: tuple(rs) for doc, rs in by_doc.items()})

    def passages_of(self, document: str) -> tuple[Passage, ...]:
        """The passages of one document (paragraph 1 first); empty for an unknown id."""
        passages = self.corpus.passages
        return tuple(passages[i] for i in self.positions_of(document))

    def positions_of(self, document: str) -> tuple[int, ...]:
        """Where one document's passages are in :attr:`passages` (and in the index); empty for an
        unknown id."""
        return tuple(i for r in self._doc_ranges.get(document, ()) for i in r)

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
    def passages(self) -> Sequence[Passage]:
        """Every passage, in corpus order (a read-only sequence, built on demand)."""
        return self.corpus.passages

    def document(self, document: str) -> Document | None:
        """The document with this id, or None."""
        return self.corpus.document(document)

    @property
    def alias_groups(self) -> int:
        """How many alias groups the analyzer uses."""
        return len(self.analyzer.aliases.groups)


def _read_corpus(settings: Settings, base: Corpus | None, progress: BuildProgress | None) -> tuple[Corpus, Analyzer]:
    """The alias table and the corpus folder (files whose bytes ``base`` recorded are not parsed
    again); raises :class:`CorpusError` listing every problem of both."""
    aliases, problems = _aliases(settings)
    c = settings.corpus
    try:
        on_file = None if progress is None else (lambda n: progress("files", n, 0))
        corpus = load_corpus(c.path, c.max_file_bytes, c.max_files, on_file, previous=base, spill=_spill(settings))
    except CorpusError as exc:
        raise CorpusError(problems + exc.problems) from None
    if problems:
        raise CorpusError(problems)
    return corpus, Analyzer(aliases)


def _aliases(settings: Settings) -> tuple[AliasTable, list[Problem]]:
    """The alias table, or an empty one and the alias file's problem (one list for every caller
    that reports it beside the corpus's own problems)."""
    try:
        return AliasTable.load(settings.aliases_path, settings.corpus.max_file_bytes), []
    except AliasError as exc:
        return AliasTable(), [_alias_problem(settings.aliases_path, exc)]


def _spill(settings: Settings) -> Path | None:
    """Where this process may write a new corpus text (in the cache folder, replaced by the next
    save, which links it into the new generation), or None without a cache folder."""
    folder = settings.search.index_cache
    return None if folder is None else Path(folder) / f"spill-{os.getpid()}.npy"


def _saved_corpus(
    settings: Settings, log: Callable[[str], None] | None
) -> tuple[Corpus | None, concurrent.futures.Future[None] | None]:
    """The parsed corpus saved in ``search.index_cache`` (or None), and the check of every saved
    file's checksum (:func:`~bot.index_store.verify_files`), started in a thread: the caller waits
    for it before it serves anything read from the folder."""
    folder = settings.search.index_cache
    if folder is None:
        return None, None
    try:
        snapshot = load_corpus_snapshot(folder, settings.corpus.path, verify=False)
    except IndexCacheError as exc:
        if log is not None and not str(exc).startswith("no saved"):
            log(f"saved corpus not used: {exc}")
        return None, None
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="summitbot-verify")
    check = pool.submit(verify_files, folder)
    pool.shutdown(wait=False)
    return snapshot, check


def _checked(
    settings: Settings,
    corpus: Corpus,
    snapshot: Corpus | None,
    check: concurrent.futures.Future[None] | None,
    progress: BuildProgress | None,
    log: Callable[[str], None] | None,
) -> tuple[Corpus, bool]:
    """``corpus`` once the saved files passed their checksums, and True; if they failed, the corpus
    read again without the saved one (nothing of it is served), and False."""
    if check is None:
        return corpus, False
    try:
        check.result()
        return corpus, True
    except IndexCacheError as exc:
        if log is not None:
            log(f"saved corpus not used: {exc}")
        if snapshot is None:
            return corpus, False
        return _read_corpus(settings, None, progress)[0], False


def index_corpus(
    settings: Settings,
    progress: BuildProgress | None = None,
    log: Callable[[str], None] | None = None,
) -> IndexOutcome:
    """Bring the saved corpus and index in ``search.index_cache`` up to date with the corpus
    folder, and build nothing else (what a ``/reload`` runs in a child process). Only files whose
    bytes changed are parsed, only changed documents analysed; raises :class:`CorpusError`."""
    if settings.search.index_cache is None:
        raise ValueError("index_corpus needs search.index_cache")
    snapshot, check = _saved_corpus(settings, log)
    corpus, analyzer = _read_corpus(settings, snapshot, progress)
    corpus, verified = _checked(settings, corpus, snapshot, check, progress, log)
    on_passages = None if progress is None else (lambda done, total: progress("passages", done, total))
    folder = settings.search.index_cache
    try:
        _, outcome = load_or_build(
            corpus,
            analyzer,
            settings.search,
            folder,
            None,
            on_passages,
            log,
            corpus_saved=corpus is snapshot,
            verified=verified,
        )
    finally:
        corpus.store.drop_spill()
    if outcome.save_error is not None:
        raise OSError(f"the index could not be saved to {folder}: {outcome.save_error}")
    return outcome


def open_saved_engine(
    settings: Settings, outcome: IndexOutcome | None = None, previous: Engine | None = None
) -> Engine:
    """An engine over the corpus and index saved in ``search.index_cache`` as they are, without
    reading the corpus folder (after :func:`index_corpus` wrote them, e.g. in a child process).

    ``previous`` (the running engine) lends its passage vectors when the semantic extra is on.
    Only the sizes of the saved files are checked (the writer has just checked the rest); raises
    :class:`IndexCacheError` when they are missing, stale or do not fit, :class:`CorpusError` for a
    bad alias file.
    """
    started = time.perf_counter()
    folder = settings.search.index_cache
    if folder is None:
        raise IndexCacheError("no saved index configured")
    aliases, problems = _aliases(settings)
    if problems:
        raise CorpusError(problems)
    analyzer = Analyzer(aliases)
    corpus = load_corpus_snapshot(folder, settings.corpus.path, verify=False)
    stamp = fingerprint(analyzer, settings.search)
    keys = tuple(corpus_keys(corpus))
    index = load(folder, stamp, keys, verify=False)
    return _engine(
        settings, corpus, analyzer, index, started, (stamp, keys), outcome, corpus_saved=True, previous=previous
    )


def build_engine(
    settings: Settings,
    previous: Engine | None = None,
    progress: BuildProgress | None = None,
    log: Callable[[str], None] | None = None,
) -> Engine:
    """Load, validate and index the corpus; raises :class:`CorpusError` listing every problem.

    With ``search.index_cache`` set, the saved parsed corpus spares parsing the files whose bytes
    did not change, a valid saved index is memory-mapped instead of rebuilt, and what was rebuilt
    is saved. ``previous`` (the running engine, on a reload) lets files and documents that did not
    change keep their parsed form and postings: only the others are parsed and analysed.
    ``progress`` sees files read and passages analysed (:data:`BuildProgress`); ``log`` gets
    one-line notes.
    """
    started = time.perf_counter()
    snapshot, check = None, None
    base = previous.corpus if previous is not None and previous.corpus.files is not None else None
    if base is None:
        snapshot, check = _saved_corpus(settings, log)
        base = snapshot
    corpus, analyzer = _read_corpus(settings, base, progress)
    corpus, verified = _checked(settings, corpus, snapshot, check, progress, log)
    params = settings.search
    stamp = fingerprint(analyzer, params)
    reuse = None
    if previous is not None and previous.index_key is not None and previous.index_key[0] == stamp:
        reuse = (previous.index, previous.index_key[1])
    keys = tuple(corpus_keys(corpus))
    folder = settings.search.index_cache
    saved = corpus is snapshot or (previous is not None and previous.corpus_saved and corpus is previous.corpus)
    on_passages = None if progress is None else (lambda done, total: progress("passages", done, total))
    try:
        index, outcome = load_or_build(corpus, analyzer, params, folder, reuse, on_passages, log, keys, saved, verified)
    finally:
        corpus.store.drop_spill()
    saved = folder is not None and corpus.files is not None and (saved or outcome.saved is not None)
    return _engine(
        settings, corpus, analyzer, index, started, (stamp, keys), outcome, corpus_saved=saved, previous=previous
    )


def _engine(
    settings: Settings,
    corpus: Corpus,
    analyzer: Analyzer,
    index: BM25Index,
    started: float,
    index_key: tuple[str, tuple[DocumentKey, ...]],
    outcome: IndexOutcome | None,
    corpus_saved: bool,
    previous: Engine | None = None,
) -> Engine:
    """The engine over a loaded corpus and index (semantic evidence and the answer engine built here;
    ``previous``, the running engine on a reload, lends the passage vectors it already made)."""
    semantic = None
    wanted = settings.semantic
    if wanted.model is not None:
        try:
            semantic = build_semantic(
                list(corpus.passage_texts()),
                wanted.model,
                wanted.cache,
                wanted.rerank_weight,
                previous=previous.answers.semantic if previous is not None else None,
            )
        except SemanticError as exc:
            why = str(exc).removeprefix(f"{wanted.model}: ")
            raise CorpusError([Problem(wanted.model, None, why, label="semantic model")]) from None
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
        index_key=index_key,
        index_outcome=outcome,
        corpus_saved=corpus_saved,
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
    """Compare two corpora document by document (texts by the digests the corpora keep)."""

    def described(corpus: Corpus) -> dict[str, tuple[str | None, ...]]:
        return {
            d.id: (digest, d.title, d.source, d.url, d.published)
            for d, digest in zip(corpus.documents, corpus.store.digests, strict=True)
        }

    before, after = described(old), described(new)
    return CorpusChange(
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        changed=tuple(sorted(i for i in before.keys() & after.keys() if before[i] != after[i])),
        passages_before=len(old.passages),
        passages_after=len(new.passages),
    )
