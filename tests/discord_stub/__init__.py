"""A loopback stand-in for Discord's REST API v10 and gateway, for end-to-end tests of discord.py bots.

Main entry points:

* :class:`DiscordStub` — the fake Discord server (world state, event injection, request recording,
  fault injection, heartbeat tracking);
* :func:`point_discord_at` — point discord.py's global REST/gateway URLs at a stub;
* :func:`run_bot` — run a ``discord.Client``/``commands.Bot`` against a stub until the block ends;
* ``discord_stub.fixtures`` — the ``discord_stub`` pytest fixture (``pytest_plugins``).
"""

from .harness import DEFAULT_TOKEN, point_discord_at, run_bot
from .payloads import (
    DEFAULT_GUILD_ID,
    CallbackType,
    ChannelType,
    ErrorCode,
    Intent,
    InteractionType,
    MessageFlag,
    Op,
    Perm,
    StubChannel,
    StubGuild,
    StubMember,
    StubRole,
    StubUser,
)
from .records import StubAttachment
from .server import (
    DiscordStub,
    DispatchRecord,
    Fault,
    GatewayConnection,
    GatewaySession,
    HeartbeatRecord,
    InjectedInteraction,
    RecordedRequest,
    UploadedFile,
)

__all__ = [
    "DEFAULT_GUILD_ID",
    "DEFAULT_TOKEN",
    "CallbackType",
    "ChannelType",
    "DiscordStub",
    "DispatchRecord",
    "ErrorCode",
    "Fault",
    "GatewayConnection",
    "GatewaySession",
    "HeartbeatRecord",
    "InjectedInteraction",
    "Intent",
    "InteractionType",
    "MessageFlag",
    "Op",
    "Perm",
    "RecordedRequest",
    "StubAttachment",
    "StubChannel",
    "StubGuild",
    "StubMember",
    "StubRole",
    "StubUser",
    "UploadedFile",
    "point_discord_at",
    "run_bot",
]
