"""The tests' PostgreSQL server is real, private to the tests, and reachable only on the loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from postgres_server import PostgresServer


def test_the_server_answers_sql_in_a_database_of_its_own(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        conn.execute("CREATE TABLE t (x integer)")
        conn.execute("INSERT INTO t VALUES (41), (1)")
        total = conn.execute("SELECT sum(x) FROM t").fetchone()
    assert version is not None and int(version[0]) >= 120000
    assert tables == (0,)
    assert total == (42,)


def test_the_server_listens_on_the_loopback_only_and_wants_a_password(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.url()) as conn:
        listen = conn.execute("SHOW listen_addresses").fetchone()
    assert listen == ("127.0.0.1",)
    wrong = postgres_server.url().replace(postgres_server.password, "not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=5)


def _run_without_postgres(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    """Run a one-test pytest session whose PostgreSQL cannot start (no binaries), with CI set or not."""
    (tmp_path / "conftest.py").write_text(
        "import postgres_server\n"
        "pytest_plugins = ['postgres_server']\n"
        "def _missing():\n"
        "    raise postgres_server.PostgresUnavailable('no binaries on this machine')\n"
        "postgres_server.find_bindir = _missing\n",
        encoding="utf-8",
    )
    (tmp_path / "test_needs_pg.py").write_text("def test_needs_pg(postgres_url):\n    assert postgres_url\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_a_server_the_tests_skip_on_a_developer_machine_but_fail_in_ci(tmp_path: Path) -> None:
    local = _run_without_postgres(tmp_path, None)
    assert local.returncode == 0, local.stdout
    assert "1 skipped" in local.stdout and "no binaries on this machine" in local.stdout
    ci = _run_without_postgres(tmp_path, "true")
    assert ci.returncode == 1, ci.stdout
    assert "PostgreSQL is required in CI" in ci.stdout and "1 error" in ci.stdout
