"""A real PostgreSQL server for the tests: started once per session from Debian's ``postgresql`` package.

``initdb`` into a fresh temporary folder, ``pg_ctl start`` on a free loopback port (TCP on 127.0.0.1
only; the Unix socket in that folder), password authentication, torn down and deleted at the end.
PostgreSQL refuses to run as root, so when the tests run as root (CI does) the server runs as the
``postgres`` system user, which owns the folder.

Enable with ``pytest_plugins = ["postgres_server"]`` (the root conftest does). Fixtures:

* ``postgres_server`` (session): the running :class:`PostgresServer`.
* ``postgres_url`` (function): a ``postgresql://`` URL to a new, empty database of its own.

Without the binaries (or when the server cannot start) the tests that need it are skipped with the
reason; with ``CI`` set they fail instead, so CI never passes by skipping them.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The superuser the tests connect as.
SUPERUSER = "summitbot"
START_TIMEOUT_SECONDS = 60


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started (binaries missing, no user to run it as, start failed)."""


def in_ci() -> bool:
    """True when the ``CI`` environment variable says this is a CI run (CI=true / 1 / yes)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def find_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has ``initdb`` and ``pg_ctl`` (or $PATH's)."""
    candidates = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in candidates:
        if (bindir / "pg_ctl").exists():
            return bindir
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    raise PostgresUnavailable(
        "PostgreSQL binaries not found (install Debian's 'postgresql' package: apt-get install postgresql)"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server: where it listens and how to reach it as the superuser."""

    bindir: Path
    datadir: Path
    port: int
    password: str
    run_as: pwd.struct_passwd | None

    host = "127.0.0.1"

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL for ``database`` as the superuser."""
        return f"postgresql://{SUPERUSER}:{self.password}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database (closing whatever is still connected to it)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its folder."""
        try:
            _run(self.run_as, [str(self.bindir / "pg_ctl"), "stop", "-D", str(self.datadir), "-m", "fast", "-w"])
        except PostgresUnavailable:
            pass
        finally:
            shutil.rmtree(self.datadir.parent, ignore_errors=True)


def _run(run_as: pwd.struct_passwd | None, argv: list[str]) -> str:
    """Run a PostgreSQL tool (as ``run_as`` when given); its output, or :class:`PostgresUnavailable`."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    kwargs: dict[str, object] = {}
    if run_as is not None:
        env["HOME"] = run_as.pw_dir
        env["USER"] = env["LOGNAME"] = run_as.pw_name
        kwargs = {"user": run_as.pw_uid, "group": run_as.pw_gid, "extra_groups": []}
    try:
        done = subprocess.run(
            argv,
            env=env,
            cwd="/",
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_SECONDS + 30,
            check=False,
            **kwargs,  # type: ignore[arg-type]
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise PostgresUnavailable(f"{Path(argv[0]).name} could not run: {exc}") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise PostgresUnavailable(f"{Path(argv[0]).name} failed ({done.returncode}): {' | '.join(tail)}")
    return done.stdout


def start_server() -> PostgresServer:
    """initdb + pg_ctl start on a free loopback port; the caller must :meth:`PostgresServer.stop` it."""
    bindir = find_bindir()
    run_as: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            run_as = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise PostgresUnavailable("running as root and there is no 'postgres' user to run the server as") from exc
    root = Path(tempfile.mkdtemp(prefix="summitbot-pg-"))
    datadir = root / "data"
    password = secrets.token_hex(16)
    try:
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n", encoding="utf-8")
        if run_as is not None:
            for path in (root, pwfile):
                os.chown(path, run_as.pw_uid, run_as.pw_gid)
        _run(
            run_as,
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync",
            ],
        )
        pwfile.unlink()
        last: PostgresUnavailable | None = None
        for _ in range(3):  # a port taken between choosing and binding: choose again
            port = free_port()
            options = (
                f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            try:
                _run(
                    run_as,
                    [
                        str(bindir / "pg_ctl"),
                        "start",
                        "-D",
                        str(datadir),
                        "-w",
                        "-t",
                        str(START_TIMEOUT_SECONDS),
                        "-l",
                        str(root / "server.log"),
                        "-o",
                        options,
                    ],
                )
            except PostgresUnavailable as exc:
                last = exc
                continue
            return PostgresServer(bindir, datadir, port, password, run_as)
        assert last is not None
        log = root / "server.log"
        detail = log.read_text(errors="replace").strip().splitlines()[-2:] if log.exists() else []
        raise PostgresUnavailable(f"{last}{' | ' + ' | '.join(detail) if detail else ''}")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _unavailable(why: str) -> None:
    """Skip (on a developer's machine) or fail (in CI) a test that needs PostgreSQL."""
    if in_ci():
        pytest.fail(f"PostgreSQL is required in CI and could not start: {why}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {why}")


_STATE: dict[str, object] = {}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole session (started on first use)."""
    if "error" in _STATE:  # one failed start is not retried for every test
        _unavailable(str(_STATE["error"]))
    try:
        import psycopg  # noqa: F401  (the driver the tests and the bot use)
    except ImportError:
        _unavailable("the psycopg package is not installed (pip install -e '.[test]')")
    try:
        server = start_server()
    except PostgresUnavailable as exc:
        _STATE["error"] = exc
        _unavailable(str(exc))
        raise  # not reached: _unavailable skips or fails
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A URL to a new, empty database on the session's server (dropped after the test)."""
    name = f"test_{secrets.token_hex(6)}"
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        postgres_server.drop_database(name)
