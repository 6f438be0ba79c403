"""Privacy: Discord user ids are never stored, only salted pseudonyms.

The asker and each voter are stored as HMAC-SHA256(salt, "user:<id>") in hex. The salt is the value
of the environment variable named by ``AnalyticsSettings.salt_env`` when it is set and not empty,
otherwise a random salt kept in ``<database file name>.salt`` beside the database (created once,
mode 0600). Losing or changing the salt does not lose rows, but later hashes no longer match earlier
ones (a person who voted before can then vote once more on an old answer).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("bot.storage")

#: Random bytes in a generated salt (stored as hex).
SALT_BYTES = 32
#: Salts shorter than this (from the environment) are accepted with a warning.
MIN_SALT_CHARS = 16


def hash_user(salt: bytes, user_id: int) -> str:
    """The pseudonym stored for a Discord user: HMAC-SHA256(salt, ``"user:<id>"``) as 64 hex digits."""
    if not salt:
        raise ValueError("an empty salt would make user hashes reversible")
    return hmac.new(salt, f"user:{int(user_id)}".encode("ascii"), hashlib.sha256).hexdigest()


def salt_path(db_path: Path | str) -> Path:
    """Where the generated salt lives: ``<database file name>.salt`` in the same folder."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".salt")


def load_salt(db_path: Path | str, salt_env: str, environ: Mapping[str, str] | None = None) -> bytes:
    """The hashing salt: the environment variable ``salt_env`` if set and not empty, else the salt file.

    The salt file (see :func:`salt_path`) is created once with 32 random bytes (hex) and mode 0600;
    an existing file is reused (and its mode tightened to 0600 when it is readable by others).
    Raises ``OSError`` when the file cannot be created or read.
    """
    env = os.environ if environ is None else environ
    value = env.get(salt_env, "") if salt_env else ""
    if value.strip():
        if len(value) < MIN_SALT_CHARS:
            log.warning(
                "analytics: the salt in $%s is shorter than %d characters; user hashes are easier to guess",
                salt_env,
                MIN_SALT_CHARS,
            )
        return value.encode("utf-8")
    return _salt_from_file(salt_path(db_path))


def _write_new_salt(path: Path, flags: int) -> bytes:
    """Write a fresh random salt to ``path`` (opened with ``flags``), mode 0600; return it."""
    salt = secrets.token_hex(SALT_BYTES).encode("ascii")
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0), 0o600)
    try:
        os.write(fd, salt)
        os.fsync(fd)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)
    return salt


def _salt_from_file(path: Path) -> bytes:
    """Read the salt file, creating it (exclusively, so two processes agree) when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        salt = _write_new_salt(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        pass
    else:
        log.info("analytics: created a new random hashing salt in %s", path)
        return salt
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)
            log.warning("analytics: %s was readable by others (mode %o); changed it to 600", path, mode)
    salt = path.read_bytes().strip()
    if not salt:
        # An empty file can only come from a crash while creating it; no hash was ever made with it.
        log.warning("analytics: the salt file %s was empty; writing a new salt", path)
        salt = _write_new_salt(path, os.O_WRONLY | os.O_TRUNC)
    return salt
