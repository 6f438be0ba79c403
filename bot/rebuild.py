"""A reload's heavy work in a child process: re-read the corpus folder and bring the saved corpus
and index up to date there, so the bot's own process neither stalls nor holds two corpora.

With ``search.index_cache`` set, ``/reload`` runs ``python -m bot.rebuild`` (the settings the bot
runs with are handed over on stdin, so config.yaml is not read again), which calls
:func:`bot.engine.index_corpus`: only files whose bytes changed are parsed, only changed
documents analysed, and the new generation is written into the cache folder with renames. The
child reports on stdout, one JSON object a line: ``{"progress": [stage, done, total]}``,
``{"log": text}``, then ``{"outcome": {...}}`` or ``{"problems": [[path, line, message, label], ...]}``.
The bot then memory-maps what it wrote (:func:`bot.engine.open_saved_engine`) and swaps engines.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import pickle
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bot
from bot.config import Settings
from bot.corpus import CorpusError, Problem
from bot.engine import BuildProgress, index_corpus
from bot.index_store import IndexOutcome

#: Lines of the child's stderr kept for the log when it fails.
STDERR_LINES = 20
#: The longest line read from the child (its list of problems is one line).
LINE_LIMIT = 1 << 26
#: The child's CPU priority is lowered by this much (``nice``): the bot's answers come first.
NICENESS = 10
#: The child reports progress at most this often (seconds).
PROGRESS_EVERY = 0.5


class RebuildError(Exception):
    """The child process failed without a corpus problem (it crashed, or said nothing)."""


@dataclasses.dataclass(frozen=True)
class ChildReport:
    """What the child wrote, and its peak resident memory (MB, ``ru_maxrss``)."""

    outcome: IndexOutcome
    peak_mb: float


async def rebuild_in_child(
    settings: Settings,
    timeout: float,
    log: Callable[[str], None] | None = None,
    progress: BuildProgress | None = None,
    on_start: Callable[[int], None] | None = None,
) -> ChildReport:
    """Run :func:`bot.engine.index_corpus` on ``settings`` in a child process (``on_start`` is
    given its process id, for a benchmark's memory sampler).

    Raises :class:`CorpusError` with the child's problems, :class:`asyncio.TimeoutError` (the child
    is killed) after ``timeout`` seconds, :class:`RebuildError` if it fails otherwise.
    """
    env = dict(os.environ)
    package_parent = str(Path(bot.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH", "")) if p)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.rebuild",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        limit=LINE_LIMIT,
    )
    if on_start is not None:
        on_start(proc.pid)
    result: dict[str, Any] = {}
    errors: list[str] = []

    async def talk() -> None:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(pickle.dumps(settings))
        await proc.stdin.drain()
        proc.stdin.close()

        async def read_errors() -> None:
            assert proc.stderr is not None
            async for raw in proc.stderr:
                errors.append(raw.decode("utf-8", "replace").rstrip())
                del errors[:-STDERR_LINES]

        reading = asyncio.create_task(read_errors())
        async for raw in proc.stdout:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if "progress" in message and progress is not None:
                stage, done, total = message["progress"]
                progress(str(stage), int(done), int(total))
            elif "log" in message and log is not None:
                log(str(message["log"]))
            else:
                result.update(message)
        await reading
        await proc.wait()

    try:
        await asyncio.wait_for(talk(), timeout)
    except BaseException:  # the deadline, or the caller cancelled: the child must not outlive it
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 5)
        raise
    if "problems" in result:
        raise CorpusError([Problem(Path(p), line, str(msg), str(label)) for p, line, msg, label in result["problems"]])
    if proc.returncode != 0 or "outcome" not in result:
        tail = " | ".join(errors[-3:]) or "no output"
        raise RebuildError(f"the reload's child process failed (exit code {proc.returncode}): {tail}")
    return ChildReport(IndexOutcome(**result["outcome"]), float(result.get("peak_mb", 0.0)))


def main() -> int:
    """The child: settings (pickled) on stdin; reports on stdout as the module docstring says."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(NICENESS)  # a reload may take a while; the bot answering meanwhile must not wait for it
    settings = pickle.load(sys.stdin.buffer)
    if not isinstance(settings, Settings):
        print("summitbot rebuild: stdin holds no settings", file=sys.stderr)
        return 2

    def emit(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY:
            last[0] = now
            emit({"progress": [stage, done, total]})

    try:
        outcome = index_corpus(settings, progress, lambda text: emit({"log": text}))
    except CorpusError as exc:
        emit({"problems": [[str(p.path), p.line, p.message, p.label] for p in exc.problems]})
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    emit({"outcome": dataclasses.asdict(outcome), "peak_mb": peak})
    return 0


if __name__ == "__main__":
    sys.exit(main())
