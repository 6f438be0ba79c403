"""The ``summitbot`` command line: run the bot, or ask, summarise, check, import and inspect offline.

Exit codes: 0 success, 1 bad input (a one-line message per problem on stderr, no traceback),
2 usage errors (argparse).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot import terminal
from bot.config import ConfigError, load_settings
from bot.messages import count
from bot.terminal import clean, format_answer, format_explanation, json_line

# The engine (numpy, the index, the corpus loader) is imported by the commands that build one, so
# ``summitbot --help``, ``health``, ``stats`` and the other light commands start quickly.
if TYPE_CHECKING:
    from bot.config import Settings
    from bot.engine import Engine
    from bot.storage import Stats


def _print(text: str) -> None:
    """Print to stdout with control characters made visible (see :func:`bot.terminal.clean`)."""
    print(clean(text))


class CliError(Exception):
    """A problem to report on stderr as one line per item, exiting 1."""

    def __init__(self, *lines: str) -> None:
        self.lines = lines
        super().__init__(lines[0] if lines else "error")


def _settings(args: argparse.Namespace, problems: list[str] | None = None) -> Settings:
    """The settings for this command (``--config``, ``--corpus``); see :func:`load_settings`."""
    try:
        settings = load_settings(args.config, problems)
    except ConfigError as exc:
        raise CliError(*(f"config error: {p}" for p in exc.problems)) from None
    if getattr(args, "corpus", None):
        corpus = dataclasses.replace(settings.corpus, path=Path(args.corpus))
        settings = dataclasses.replace(settings, corpus=corpus)
    return settings


def _engine(settings: Settings) -> Engine:
    from bot.corpus import CorpusError
    from bot.engine import build_engine

    try:
        return build_engine(settings)
    except CorpusError as exc:
        raise CliError(*(f"{p.label}: {p}" for p in exc.problems)) from None


# ---------------------------------------------------------------------------------------------- ask


def _questions(values: Sequence[str], stdin: TextIO) -> Iterator[str]:
    for value in values:
        if value == "-":
            for line in stdin:  # every line, blank ones too: one answer per input line
                yield line.rstrip("\r\n")
        else:
            yield value


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer questions from the arguments (or stdin with ``-``), as text or JSON lines."""
    settings = _settings(args)
    engine = _engine(settings)
    top_k = args.top_k or settings.search.top_k
    tty = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    width = min(shutil.get_terminal_size((100, 20)).columns, 110) - 2
    if any(not q.strip() for q in args.question):
        raise CliError("the question is empty (give the question in quotes, or '-' to read questions from stdin)")
    for question in _questions(args.question, sys.stdin):
        if not args.json and not question.strip():
            continue
        if args.explain:
            sys.stdout.write(format_explanation(engine.explain(question), width) + "\n")
            continue
        answer = engine.answer(question, top_k)
        if args.json:
            sys.stdout.write(json_line(answer.to_json()) + "\n")
            sys.stdout.flush()
        else:
            sys.stdout.write(format_answer(answer, engine.documents, tty, width) + "\n")
    return 0


# -------------------------------------------------------------------------------------------- check


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the config and the corpus, listing every problem of both."""
    from bot.corpus import CorpusError
    from bot.engine import build_engine

    config_problems: list[str] = []
    settings = _settings(args, config_problems)
    lines = [f"config error: {p}" for p in config_problems]
    engine = None
    try:
        engine = build_engine(settings)
    except CorpusError as exc:
        lines += [f"{p.label}: {p}" for p in exc.problems]
    if lines:
        raise CliError(*lines)
    assert engine is not None
    groups = engine.alias_groups
    where = settings.source or "built-in defaults"
    _print(
        f"OK: config {where}; corpus {settings.corpus.path}: {count(len(engine.documents), 'document')}, "
        f"{count(len(engine.passages), 'passage')}, {count(groups, 'alias group')}."
    )
    split = engine.corpus.split_paragraphs()
    for doc, paragraph, parts in split[:20]:
        size = len(doc.paragraphs[paragraph - 1])
        _print(
            f"note: {doc.path} ¶{paragraph} is {size:,} characters: split into {parts} passages "
            f"at sentence ends (each cited as ¶{paragraph})"
        )
    if len(split) > 20:
        print(f"note: and {len(split) - 20} more long paragraphs split into passages")
    for line in _probe_check(engine):
        _print(line)
    return 0


def _probe_check(engine: Engine) -> list[str]:
    """The probes line of ``summitbot check``: how many pass, and a warning per failing probe
    (warnings, not errors: the corpus still loads)."""
    from bot.probes import ProbeError

    try:
        report = engine.check_probes()
    except ProbeError as exc:
        return [f"warning: probe file: {_printable(p)}" for p in exc.problems]
    if report is None:
        return []
    lines = [
        f"Probes {report.path}: {report.passed} of {len(report.results)} pass at "
        f"min_confidence {report.min_confidence:g}, min_related {report.min_related:g}."
    ]
    lines += [f"warning: probe failed: {_printable(f)}" for f in report.failures]
    if report.failures:
        lines.append("(`summitbot calibrate` shows which thresholds would pass them.)")
    return lines


def _printable(text: str) -> str:
    """One line (whitespace collapsed), every control character shown as a visible escape."""
    return clean(" ".join(text.split()))


# ---------------------------------------------------------------------------------------- calibrate


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Run the probes at the configured thresholds and print which thresholds would pass them."""
    from bot.probes import ProbeError, fit_thresholds, load_probes, run_probes

    settings = _settings(args)
    path = Path(args.probes) if args.probes else settings.probes_path
    try:
        probes = load_probes(path)
    except ProbeError as exc:
        raise CliError(*(f"probe error: {_printable(p)}" for p in exc.problems)) from None
    engine = _engine(settings)
    results = run_probes(engine, probes)
    configured = (settings.answers.min_confidence, settings.answers.min_related)
    counts = ", ".join(f"{sum(p.expect == g for p in probes)} {g}" for g in ("answer", "refuse", "unrelated"))
    documents, passages = count(len(engine.documents), "document"), count(len(engine.passages), "passage")
    _print(f"Probes {path}: {counts}; corpus {documents}, {passages}.")
    print()
    passed = sum(r.passes(*configured) for r in results)
    _print(
        f"At the configured thresholds (min_confidence {configured[0]:g}, min_related {configured[1]:g}): "
        f"{passed} of {len(results)} pass."
    )
    _print(f"  {'':4}  {'must':9}  {'got':7}  {'conf':>5}  {'best passage':24}  question")
    for r in results:
        mark = "ok" if r.passes(*configured) else "FAIL"
        doc = r.document or ""
        if len(engine.documents) == 1:
            doc = ""  # one document: the paragraph says it all
        elif len(doc) > 20:
            doc = doc[:19] + "…"
        best = f"{doc} ¶{r.paragraph}".strip() if r.document is not None else "—"
        question = _printable(r.probe.question)
        question = question if len(question) <= 60 else question[:59] + "…"
        _print(
            f"  {mark:4}  {r.probe.expect:9}  {r.verdict(*configured):7}  {r.confidence:5.3f}  {best:24}  {question}"
        )
    for r in results:
        if not r.passes(*configured):
            _print("  " + _printable(r.failure(*configured)))
    print()
    fit = fit_thresholds(results, configured)
    target = (
        "every answer probe answered from its paragraph, every refuse probe not answered, "
        'every unrelated probe "not in my sources"'
    )
    if fit.unfixable:
        _print(f"{len(fit.unfixable)} answer probes fail at any threshold (fix the corpus, aliases or question):")
        for r in fit.unfixable:
            _print("  " + _printable(r.failure(1.0, 1.0)))
        target += f", apart from those {len(fit.unfixable)}"
    if fit.meets_target and fit.confidence_range and fit.related_range:
        (c_low, c_high), (r_low, _) = fit.confidence_range, fit.related_range
        same = (fit.min_confidence, fit.min_related) == configured
        _print(f"Thresholds that meet the target ({target}):")
        _print(f"  answers.min_confidence: {fit.min_confidence:g}   (any value above {c_low:.3f} up to {c_high:.3f})")
        _print(f"  answers.min_related:    {fit.min_related:g}   (any value above {r_low:.3f} up to min_confidence)")
        _print("The configured thresholds already meet it." if same else "Set them under 'answers:' in config.yaml.")
        if c_high - c_low < 0.05:
            _print(
                f"The margin for min_confidence is narrow ({c_high - c_low:.3f}): add probes, and expect it "
                "to move as the corpus grows."
            )
    else:
        _print(f"No thresholds meet the target ({target}).")
        _print(
            f"Best trade-off: answers.min_confidence {fit.min_confidence:g}, answers.min_related "
            f"{fit.min_related:g}: {fit.passed} of {fit.total} pass; failing there:"
        )
        for r in results:
            if not r.passes(fit.min_confidence, fit.min_related) and r not in fit.unfixable:
                _print("  " + _printable(r.failure(fit.min_confidence, fit.min_related)))
    return 0


# -------------------------------------------------------------------------------------------- index


def cmd_index(args: argparse.Namespace) -> int:
    """Build the saved index ahead of time (or check that the saved one is still valid)."""
    from bot import index_store
    from bot.corpus import CorpusError
    from bot.engine import build_engine

    settings = _settings(args)
    folder = Path(args.cache) if args.cache else settings.search.index_cache
    if folder is None:
        raise CliError("no index folder: set search.index_cache in the config, or pass --cache DIR")
    if folder.exists() and not folder.is_dir():
        raise CliError(f"index folder {folder} is a file, not a folder")
    foreign = index_store.foreign_files(folder) if folder.is_dir() else []
    if foreign:  # the index replaces the whole folder: never over someone's other files
        raise CliError(
            f"index folder {folder} holds other files than a saved index ({', '.join(foreign[:3])}"
            f"{', …' if len(foreign) > 3 else ''}): pick an empty or new folder"
        )
    if args.rebuild and folder.is_dir():
        shutil.rmtree(folder)
    settings = dataclasses.replace(settings, search=dataclasses.replace(settings.search, index_cache=folder))
    tty = sys.stderr.isatty()
    bar = terminal.BuildBar(sys.stderr) if tty else None
    notes: list[str] = []
    try:
        engine = build_engine(settings, progress=bar, log=notes.append)
    except CorpusError as exc:
        raise CliError(*(f"{p.label}: {p}" for p in exc.problems)) from None
    finally:
        if bar is not None:
            bar.close()
    outcome = engine.index_outcome
    assert outcome is not None
    if outcome.save_error:
        raise CliError(f"index built but not saved to {folder}: {outcome.save_error}")
    print(
        f"{outcome.summary()}: {count(len(engine.corpus.documents), 'document')}, "
        f"{count(len(engine.corpus.passages), 'passage')}, "
        f"{engine.index.memory_bytes / 2**20:,.0f} MB of arrays"
    )
    return 0


# -------------------------------------------------------------------------- summary, stats, run, sync


def cmd_summary(args: argparse.Namespace) -> int:
    """Print an extractive, cited summary of a document, a topic, or the whole corpus."""
    from bot.summaries import SummaryError
    from bot.terminal import format_summary

    if args.topic is not None and not args.topic.strip():
        raise CliError("the topic is empty (leave out --topic to summarise everything)")
    settings = _settings(args)
    engine = _engine(settings)
    try:
        summary = engine.summarize(
            document=args.document, topic=args.topic, length=args.length, max_words=args.max_words
        )
    except SummaryError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json_line(summary.to_json()))
    else:
        print(format_summary(summary))
    return 0


def _stats_scope(args: argparse.Namespace) -> str:
    """What ``summitbot stats`` covers, for its JSON: ``"all"``, ``"dms"`` or a server id."""
    return "dms" if args.dms else "all" if args.guild is None else str(args.guild)


def cmd_stats(args: argparse.Namespace) -> int:
    """Print usage analytics (every server and DMs, one server with --guild, DMs with --dms);
    optionally purge old rows, write a CSV. The database is the SQLite file or ``database.url``."""
    import sqlite3

    from bot.storage import DMS, AnalyticsSchemaError, AnalyticsStore, format_stats, redact_url
    from bot.storage.store import empty_stats

    settings = _settings(args)
    url = settings.database_url()
    path = settings.analytics.path
    where = redact_url(url) if url else str(path)
    if url is None and not path.exists():
        if args.json:
            print(json_line({"scope": _stats_scope(args)} | empty_stats(args.days).to_json()))
        else:
            _print(f"No questions recorded yet: there is no analytics database at {path}.")
        if args.csv:  # the empty report, so a script that reads the file finds one
            _write_csv(empty_stats(args.days), args.csv, sys.stderr if args.json else sys.stdout)
        return 0
    scope = DMS if args.dms else args.guild
    errors: tuple[type[BaseException], ...] = (sqlite3.Error, AnalyticsSchemaError, OSError)
    if url is not None:
        try:
            import psycopg
        except ImportError:
            raise CliError(
                "database.url is PostgreSQL: install the driver with pip install 'summitbot[postgres]'"
            ) from None
        errors = (*errors, psycopg.Error)
    removed: int | None = None
    try:
        with AnalyticsStore.from_settings(settings.analytics, url=url) as store:
            if args.purge:
                removed = store.purge()
                kept = settings.analytics.retention_days
                note = f"Purged {removed} questions older than {kept} days." if kept else "Retention is 0: kept all."
                if not args.json:
                    print(note)
            stats = store.stats(args.days, scope=scope)
    except errors as exc:
        detail = " ".join(str(exc).split())[:300]
        raise CliError(f"analytics database {where}: {detail}") from None
    if args.json:  # one object on stdout, nothing else there (the CSV note goes to stderr)
        report: dict[str, object] = {"scope": _stats_scope(args)}
        report |= stats.to_json()
        if removed is not None:
            report["purged"] = removed
        print(json_line(report))
    else:
        if args.dms:
            _print("Direct messages only.")
        elif args.guild is not None:
            _print(f"Server {args.guild} only.")
        _print(format_stats(stats, limit=100_000))
    if args.csv:
        _write_csv(stats, args.csv, sys.stderr if args.json else sys.stdout)
    return 0


def _write_csv(stats: Stats, target: str, note: TextIO) -> None:
    """``stats --csv``: write the report and say where (on ``note``); a one-line error if it cannot."""
    from bot.storage import write_stats_csv

    try:
        written = write_stats_csv(stats, target)
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror or exc}") from None
    print(clean(f"Wrote {written}."), file=note)


def cmd_import(args: argparse.Namespace) -> int:
    """Import articles from web pages or files into the corpus folder (or print them with --dry-run)."""
    import asyncio

    from bot.ingest import FetchPolicy, IngestError, article_from_url, prepare_import, read_source_file, write_import

    if args.source is not None and not args.source.strip():
        raise CliError("--source is empty (leave it out to use the site's name)")
    if args.id is not None and len(args.sources) > 1:
        raise CliError("--id names one article: give a single SOURCE with it")
    settings = _settings(args)
    root = settings.corpus.path
    if not root.is_dir():
        raise CliError(f"corpus folder {root} does not exist or is not a folder")
    policy = FetchPolicy.from_settings(settings.corpus)
    failures: list[str] = []
    added = 0
    for source in args.sources:
        if not source.strip():
            failures.append("a SOURCE is empty (give an address or a file)")
            continue
        try:
            if "://" in source:
                article = asyncio.run(article_from_url(source, policy, args.source))
            else:
                article = read_source_file(Path(source), policy.max_bytes, args.source)
            prepared = prepare_import(article, root, settings.corpus.max_file_bytes, args.id)
            if args.dry_run:
                sys.stdout.write(clean(prepared.markdown) + "\n")
                continue
            path = write_import(prepared)
        except IngestError as exc:
            failures.append(str(exc))
            continue
        added += 1
        date = f", {article.published}" if article.published else ""
        _print(
            f"Added {path}: id {prepared.doc_id}, {len(article.paragraphs)} paragraphs, "
            f'"{article.title}" ({article.source}{date})'
        )
    if added:
        print(f"A running bot serves the new article{'s' if added > 1 else ''} after /reload.")
    if failures:
        raise CliError(*failures)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Start the Discord bot."""
    from bot.discord_app.runner import run_bot

    settings = _settings(args)
    return run_bot(settings)


def cmd_sync(args: argparse.Namespace) -> int:
    """Publish the slash commands, globally or to one guild."""
    from bot.discord_app.runner import sync_commands

    settings = _settings(args)
    return sync_commands(settings, guild_id=args.guild, clear=args.clear)


# ------------------------------------------------------------------------------------------- parser


def _positive_int(text: str, high: int = 1_000_000) -> int:
    """A whole number from 1 to ``high`` (a huge one would overflow a date or a count later)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text[:40]!r}") from None
    if not 1 <= value <= high:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to {high:,}, not {text[:40]}")
    return value


def _days(text: str) -> int:
    """``stats --days``: 1 to 36,500 (like ``analytics.retention_days``)."""
    return _positive_int(text, 36_500)


def _top_k(text: str) -> int:
    """``ask --top-k``: 1 to 100."""
    return _positive_int(text, 100)


def _snowflake(text: str) -> int:
    """``sync --guild``: a Discord id (a positive 64-bit number)."""
    return _positive_int(text, 2**63 - 1)


def _words(text: str) -> int:
    """``summary --max-words``: 1 to 5,000 (like ``summaries.*_words``)."""
    return _positive_int(text, 5_000)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="config file (default: ./config.yaml if present)")
    with_corpus = argparse.ArgumentParser(add_help=False, parents=[common])
    with_corpus.add_argument("--corpus", metavar="DIR", help="corpus folder (overrides corpus.path)")

    parser = argparse.ArgumentParser(
        prog="summitbot",
        description="Answers questions about a news corpus with cited passages, on Discord or here.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = sub.add_parser("ask", parents=[with_corpus], help="answer a question from the corpus")
    ask.add_argument("question", nargs="+", help="the question ('-' reads one question per line from stdin)")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.add_argument("--top-k", type=_top_k, metavar="N", help="passages to return (default: search.top_k)")
    ask.add_argument(
        "--explain", action="store_true", help="show how the question was read and why it was answered or not"
    )
    ask.set_defaults(func=cmd_ask)

    summary = sub.add_parser("summary", parents=[with_corpus], help="summarise a document, a topic or all")
    summary.add_argument("--document", metavar="ID", help="summarise this document")
    summary.add_argument("--topic", metavar="TEXT", help="summarise what the corpus says on this topic")
    summary.add_argument("--length", choices=["short", "medium", "long"], default="medium")
    summary.add_argument("--max-words", type=_words, metavar="N", help="exact word budget")
    summary.add_argument("--json", action="store_true", help="JSON output")
    summary.set_defaults(func=cmd_summary)

    check = sub.add_parser("check", parents=[with_corpus], help="validate config and corpus (and run the probes)")
    check.set_defaults(func=cmd_check)

    calibrate = sub.add_parser(
        "calibrate", parents=[with_corpus], help="run the probes; which answer thresholds would pass them"
    )
    calibrate.add_argument(
        "--probes", metavar="FILE", help="probe file (default: corpus.probes, or probes.yaml in the corpus folder)"
    )
    calibrate.set_defaults(func=cmd_calibrate)

    index = sub.add_parser("index", parents=[with_corpus], help="build the saved search index ahead of time")
    index.add_argument("--cache", metavar="DIR", help="index folder (default: search.index_cache)")
    index.add_argument("--rebuild", action="store_true", help="analyse everything anew, even if the index is valid")
    index.set_defaults(func=cmd_index)

    stats = sub.add_parser("stats", parents=[common], help="usage analytics (all servers, --guild ID, or --dms)")
    stats.add_argument("--days", type=_days, default=30, metavar="N", help="days to cover (default 30)")
    stats.add_argument("--csv", metavar="FILE", help="also write the figures to this CSV file")
    stats.add_argument("--purge", action="store_true", help="delete rows older than analytics.retention_days")
    stats.add_argument("--json", action="store_true", help="the figures as one JSON object")
    scope = stats.add_mutually_exclusive_group()
    scope.add_argument("--guild", type=_snowflake, metavar="ID", help="only this server's questions")
    scope.add_argument("--dms", action="store_true", help="only questions asked in direct messages")
    stats.set_defaults(func=cmd_stats)

    imp = sub.add_parser(
        "import", parents=[with_corpus], help="add articles from web pages or .html/.txt/.md files to the corpus"
    )
    imp.add_argument("sources", nargs="+", metavar="SOURCE", help="an http(s) address, or an .html, .txt or .md file")
    imp.add_argument("--id", metavar="ID", help="the document id (default: a slug of the title)")
    imp.add_argument("--source", metavar="NAME", help="name the source (default: the site's name, else its domain)")
    imp.add_argument("--dry-run", action="store_true", help="print the Markdown instead of writing it")
    imp.set_defaults(func=cmd_import)

    run = sub.add_parser("run", parents=[common], help="start the Discord bot (token from the environment)")
    run.set_defaults(func=cmd_run)

    sync = sub.add_parser("sync", parents=[common], help="publish slash commands to Discord")
    sync.add_argument("--guild", type=_snowflake, metavar="ID", help="sync to this guild only (instant)")
    sync.add_argument("--clear", action="store_true", help="remove the published commands (globally or --guild)")
    sync.set_defaults(func=cmd_sync)

    from bot.ops.commands import add_subcommands  # init, invite, health, backup, restore

    add_subcommands(sub, common, CliError, _settings)
    return parser


def main(argv: Iterable[str] | None = None) -> int:
    """Entry point of the ``summitbot`` console script."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        for line in exc.lines:
            print(f"summitbot: {clean(line)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
