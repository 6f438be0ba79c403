"""Presenting an analytics report (:class:`~bot.storage.store.Stats`): plain text and CSV."""

from __future__ import annotations

import contextlib
import csv
import os
import stat
from pathlib import Path

from bot.storage.store import Stats
from bot.terminal import clean


def _inline(text: str, width: int) -> str:
    """``text`` on one line, at most ``width`` characters, as inline code (safe in Discord markdown);
    controls, bidi overrides and other invisible characters shown as escapes (``\\u202e``), as
    :func:`bot.terminal.clean` shows them: the same report goes to a terminal and to Discord."""
    flat = clean(" ".join(text.split()), one_line=True).replace("`", "'")
    if len(flat) > width:
        flat = flat[: max(1, width - 1)] + "…"
    return f"`{flat}`"


def _passage(doc_id: str, paragraph: int | None, width: int) -> str:
    """A cited passage as ``doc`` and paragraph number."""
    where = "" if paragraph is None else f" para {paragraph}"
    return _inline(doc_id, width) + where


def _render(stats: Stats, day_lines: int, list_lines: int, width: int) -> str:
    """The report with at most ``day_lines`` days and ``list_lines`` list entries."""
    lines = [f"Usage, last {stats.days} days ({stats.since.isoformat()} to {stats.until.isoformat()} UTC)"]
    if not stats.questions:
        lines.append("No questions in this period.")
        return "\n".join(lines)
    rate = stats.answered_rate or 0.0
    lines.append(
        f"Questions: {stats.questions}, answered: {stats.answered} ({rate:.0%}),"
        f" closest passage: {stats.closest}, not in sources: {stats.not_found}"
    )
    if stats.unanswered_unlabelled:
        lines.append(f"({stats.unanswered_unlabelled} unanswered recorded before verdicts were: closest or none)")
    lines.append(f"Feedback: {stats.votes_up} up, {stats.votes_down} down")
    lines.append("")
    lines.append("Per day (asked / answered / closest / none):")
    shown = stats.per_day[-day_lines:] if day_lines else ()
    hidden = len(stats.per_day) - len(shown)
    if hidden:
        lines.append(f"({hidden} earlier days not shown)")
    lines.extend(
        f"{d.day.isoformat()}: {d.questions} / {d.answered} / {d.closest} / {d.not_found}" for d in reversed(shown)
    )

    lines.append("")
    lines.append("Most frequent unanswered questions:")
    if not stats.top_unanswered:
        lines.append("none")
    for rank, group in enumerate(stats.top_unanswered[:list_lines], start=1):
        lines.append(f"{rank}. {group.count}x {_inline(group.text, width)}")
    if len(stats.top_unanswered) > list_lines:
        lines.append(f"(+{len(stats.top_unanswered) - list_lines} more)")
    if stats.unanswered_without_text:
        lines.append(f"({stats.unanswered_without_text} unanswered without stored text)")

    lines.append("")
    lines.append("Most cited passages:")
    if not stats.top_cited:
        lines.append("none")
    for rank, passage in enumerate(stats.top_cited[:list_lines], start=1):
        lines.append(f"{rank}. {passage.count}x {_passage(passage.doc_id, passage.paragraph, width)}")
    if len(stats.top_cited) > list_lines:
        lines.append(f"(+{len(stats.top_cited) - list_lines} more)")
    return "\n".join(lines)


def format_stats(stats: Stats, *, limit: int | None = None) -> str:
    """The report as plain text for a terminal or a Discord message, at most ``limit`` characters
    (no limit when None; the Discord front end passes its message limit).

    Lists are shortened (fewer days, fewer entries, shorter texts) until it fits. Question texts and
    document ids are shown as inline code; send the message with mentions disabled
    (``AllowedMentions.none()``) since question texts come from users.
    """
    text = ""
    for day_lines, list_lines, width in (
        (31, 10, 80),
        (14, 10, 60),
        (7, 5, 50),
        (7, 3, 40),
        (3, 3, 30),
        (0, 0, 20),
    ):
        text = _render(stats, day_lines, list_lines, width)
        if limit is None or len(text) <= limit:
            return text
    return text[: max(0, limit - 1)] + "…"


#: Columns of :func:`write_stats_csv`.
CSV_FIELDS = (
    "section",
    "metric",
    "value",
    "date",
    "count",
    "answered",
    "text",
    "example",
    "document",
    "paragraph",
    "closest",
    "not_found",
)


def _csv_safe(text: str) -> str:
    """Text that a spreadsheet will not run as a formula (a leading ``'`` before = + - @)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_stats_csv(stats: Stats, path: Path | str) -> Path:
    """Write the report to one CSV file (UTF-8, header row) and return its path.

    Every row has a ``section``; the other columns it fills:

    * ``summary``: ``metric`` and ``value`` (days, since, until, questions, answered, closest,
      not_found, unanswered_unlabelled, answered_rate, unanswered_without_text, votes_up, votes_down).
    * ``day``: ``date``, ``count`` (questions), ``answered``, ``closest`` and ``not_found``, one row
      per day with questions.
    * ``unanswered``: ``text`` (normalized), ``example`` (latest wording), ``count``, ``date`` (last asked).
    * ``cited``: ``document``, ``paragraph``, ``count``.

    Texts that start with ``= + - @`` get a leading ``'`` so spreadsheets do not evaluate them.
    """
    path = Path(path)
    rate = stats.answered_rate
    summary = {
        "days": stats.days,
        "since": stats.since.isoformat(),
        "until": stats.until.isoformat(),
        "questions": stats.questions,
        "answered": stats.answered,
        "closest": stats.closest,
        "not_found": stats.not_found,
        "unanswered_unlabelled": stats.unanswered_unlabelled,
        "answered_rate": "" if rate is None else f"{rate:.4f}",
        "unanswered_without_text": stats.unanswered_without_text,
        "votes_up": stats.votes_up,
        "votes_down": stats.votes_down,
    }
    # Mode 0600 like the database it comes from (question text); an existing file is tightened too.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with contextlib.suppress(OSError):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for metric, value in summary.items():
            writer.writerow({"section": "summary", "metric": metric, "value": value})
        for day in stats.per_day:
            writer.writerow(
                {
                    "section": "day",
                    "date": day.day.isoformat(),
                    "count": day.questions,
                    "answered": day.answered,
                    "closest": day.closest,
                    "not_found": day.not_found,
                }
            )
        for group in stats.top_unanswered:
            writer.writerow(
                {
                    "section": "unanswered",
                    "text": _csv_safe(group.text),
                    "example": _csv_safe(group.example),
                    "count": group.count,
                    "date": group.last_asked.date().isoformat(),
                }
            )
        for passage in stats.top_cited:
            writer.writerow(
                {
                    "section": "cited",
                    "document": _csv_safe(passage.doc_id),
                    "paragraph": "" if passage.paragraph is None else passage.paragraph,
                    "count": passage.count,
                }
            )
    return path
