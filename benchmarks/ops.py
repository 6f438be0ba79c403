"""Operations benchmark: what the operator's commands cost, each beside an anchor measured in the same run.

* ``summitbot health`` (a container runs it every 30 s, with a 10 s timeout) against ``python -c pass``
  (the interpreter's own start-up) — median of 7 runs each;
* ``summitbot backup`` of an analytics database of N questions (SQLite's backup API, integrity check,
  the salt beside it) against copying the same file with ``shutil.copyfile`` (which is not a safe
  backup of a WAL database, only the floor of reading and writing the bytes) — median of 5 each.

Run: ``python benchmarks/ops.py [--questions N]`` (default 100,000).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.config import AnalyticsSettings
from bot.ops.backup import backup
from bot.ops.health import HealthStatus, write_status
from bot.storage import AnalyticsStore, QuestionRecord


def _median_seconds(run: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_health(folder: Path) -> None:
    """``summitbot health`` beside ``python -c pass``."""
    (folder / "config.yaml").write_text("health:\n  status_file: health.json\n")
    now = time.time()
    write_status(folder / "health.json", HealthStatus("running", 1, now, now, True, 40.0, now, None, 1, 1, 0))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}

    def anchor() -> None:
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=env, cwd=folder)

    def health() -> None:
        subprocess.run([sys.executable, "-m", "bot", "health"], check=True, env=env, cwd=folder, capture_output=True)

    a, h = _median_seconds(anchor, 7), _median_seconds(health, 7)
    print(f"python -c pass (anchor)  {a * 1000:7.0f} ms")
    print(f"summitbot health         {h * 1000:7.0f} ms   ({h / a:.1f}x the anchor)")


def bench_backup(folder: Path, questions: int) -> None:
    """``backup()`` of a database of ``questions`` rows beside a plain file copy."""
    db = folder / "data" / "summitbot.sqlite3"
    store = AnalyticsStore.from_settings(AnalyticsSettings(path=db, salt_env=""), environ={})
    for i in range(questions):
        store.record_question(
            QuestionRecord(user_id=i % 5000, question=f"question number {i} about the summit?", answered=i % 3 > 0)
        )
    store.close()
    size = db.stat().st_size
    n = [0]

    def anchor() -> None:
        n[0] += 1
        shutil.copyfile(db, folder / f"copy-{n[0]}.sqlite3")

    def safe() -> None:
        n[0] += 1
        backup(db, folder / f"backup-{n[0]}.sqlite3", salt_from_env=False)

    a, b = _median_seconds(anchor, 5), _median_seconds(safe, 5)
    print(f"database: {questions:,} questions, {size / 1e6:.1f} MB")
    print(f"shutil.copyfile (anchor) {a * 1000:7.0f} ms")
    print(f"summitbot backup         {b * 1000:7.0f} ms   ({b / a:.1f}x the anchor)")


def main() -> None:
    """Run both measurements in a temporary folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_health(Path(tmp))
        bench_backup(Path(tmp), args.questions)


if __name__ == "__main__":
    main()
