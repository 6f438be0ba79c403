"""pytest fixtures for the Discord stub.

Enable them in a test module (or the root ``tests/conftest.py``) with::

    pytest_plugins = ["discord_stub.fixtures"]

(``tests/`` is on ``sys.path`` under pytest's default ``prepend`` import mode, so the package imports
as ``discord_stub``.) Then::

    async def test_x(discord_stub):
        async with run_bot(make_bot(), discord_stub):
            ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from .harness import point_discord_at
from .server import DiscordStub


@pytest_asyncio.fixture
async def discord_stub() -> AsyncIterator[DiscordStub]:
    """A started :class:`DiscordStub` with discord.py pointed at it; fails the test on stub errors.

    Stub-internal errors (bugs in the stub itself, recorded in ``stub.errors``) fail the test at
    teardown so they cannot pass unnoticed.
    """
    async with DiscordStub() as stub:
        with point_discord_at(stub):
            yield stub
    assert not stub.errors, f"discord stub internal errors: {stub.errors}"
