"""A loopback stand-in for Discord's REST API v10 and gateway, for end-to-end tests of discord.py bots.

:class:`DiscordStub` runs an aiohttp server on 127.0.0.1 (random port) that speaks enough of
Discord's protocol for the *real* ``discord.Client`` / ``commands.Bot`` to log in, connect to the
gateway (HELLO, IDENTIFY, READY, GUILD_CREATE, heartbeats, RESUME, zlib-stream compression), receive
injected events (messages, DMs, slash commands, autocomplete, button presses) and send messages,
interaction responses, followups, threads and DMs through its real HTTP code paths.

Every REST call is recorded as a :class:`RecordedRequest` and answered with a realistic Discord
object; tests wait for the calls they expect with :meth:`DiscordStub.wait_for_message` /
:meth:`DiscordStub.wait_for_request`. Faults (429 rate limits, 5xx, gateway RECONNECT / INVALID_SESSION
/ dropped sockets) can be injected, and every heartbeat's arrival time is recorded for load tests.

The class is composed of one mixin per section (world, waiting, faults, inject, gateway, rest/…),
each in its own module; :mod:`.records` holds the records and constants they share.

To point discord.py at a stub, see :func:`tests.discord_stub.harness.point_discord_at`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from .faults import FaultsMixin
from .gateway import GatewayMixin
from .inject import InjectMixin
from .payloads import (
    DEFAULT_ADMIN_ROLE_ID,
    DEFAULT_ADMIN_USER_ID,
    DEFAULT_BOT_ID,
    DEFAULT_BOT_ROLE_ID,
    DEFAULT_CHANNEL_ID_BASE,
    DEFAULT_GUILD_ID,
    DEFAULT_MEMBER_ROLE_ID,
    DEFAULT_MEMBER_USER_ID,
    DEFAULT_OWNER_ID,
    Intent,
    Perm,
    SnowflakeGenerator,
    StubChannel,
    StubGuild,
    StubUser,
)
from .records import (
    DEFAULT_RATE_LIMITS,
    ApiError,
    DispatchRecord,
    Fault,
    GatewayConnection,
    GatewayPayloadRecord,
    GatewaySession,
    HeartbeatRecord,
    InjectedInteraction,
    RecordedRequest,
    UploadedFile,
    _Window,
)
from .rest.commands import CommandRoutesMixin
from .rest.interactions import InteractionRoutesMixin
from .rest.messages import MessageRoutesMixin
from .rest.meta import MetaRoutesMixin
from .rest.server import RestServerMixin
from .waiting import WaitingMixin
from .world import WorldMixin

_log = logging.getLogger("discord_stub.server")


class DiscordStub(
    WorldMixin,
    WaitingMixin,
    FaultsMixin,
    InjectMixin,
    GatewayMixin,
    RestServerMixin,
    MetaRoutesMixin,
    MessageRoutesMixin,
    CommandRoutesMixin,
    InteractionRoutesMixin,
):
    """A fake Discord (REST v10 + gateway) on ``127.0.0.1`` for end-to-end tests of discord.py bots.

    Usage::

        async with DiscordStub() as stub, point_discord_at(stub):
            async with run_bot(bot, stub):
                await stub.send_message("hello", author=stub.member)
                reply = await stub.wait_for_message(channel_id=stub.default_channel.id)

    The world: one bot user/application, one guild (:attr:`guild`) with text channels named by
    ``channel_names`` (``general``, ``news``, ``bot-commands``), roles ``@everyone``, ``Admin`` (with
    MANAGE_GUILD), ``Member`` and the bot's managed role, and members :attr:`owner` (guild owner),
    :attr:`admin` (Admin role), :attr:`member` (Member role) and the bot. All ids are fixed
    (see :mod:`tests.discord_stub.payloads`) unless overridden. Add more with :meth:`add_user`,
    :meth:`add_member`, :meth:`add_role`, :meth:`add_channel`.

    Behaviours that mirror real Discord (each can be switched off):

    * ``echo_bot_messages``: messages the bot creates come back as MESSAGE_CREATE (and edits as
      MESSAGE_UPDATE, deletes as MESSAGE_DELETE), so a bot that answers itself loops like it would live;
    * ``enforce_intents``: events are only sent to sessions that requested their intent, and guild
      messages that do not mention the bot arrive with empty content without MESSAGE_CONTENT; members
      are only in GUILD_CREATE with the presences intent (the client then chunks with opcode 8);
    * ``validate_payloads``: message bodies are checked against Discord's limits (2000 characters,
      embed sizes, component rows, empty messages, contradictory ``allowed_mentions``) and commands
      against the naming/description rules; violations get Discord's 400 error bodies;
    * ``interaction_deadline``: interactions not acknowledged within 3 s answer ``10062 Unknown
      interaction``; double acknowledgements answer ``40060``; followups before acknowledging get
      ``10015 Unknown Webhook``;
    * ``rate_limits`` (off by default): fixed-window per-route and global limits with truthful
      ``X-RateLimit-*`` headers and 429s when exceeded.

    Mentions in the bot's messages are resolved through ``allowed_mentions`` the way Discord does, so
    ``message["mentions"]`` / ``["mention_everyone"]`` in the recorded response tell who would be pinged.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        bot_id: int = DEFAULT_BOT_ID,
        bot_name: str = "summitbot",
        application_id: int | None = None,
        guild_id: int = DEFAULT_GUILD_ID,
        guild_name: str = "Summit Test Guild",
        owner_id: int = DEFAULT_OWNER_ID,
        channel_names: Sequence[str] = ("general", "news", "bot-commands"),
        heartbeat_interval_ms: int = 41_250,
        compress: bool = True,
        echo_bot_messages: bool = True,
        enforce_intents: bool = True,
        validate_payloads: bool = True,
        interaction_deadline: float | None = 3.0,
        rate_limits: bool | dict[str, tuple[int, float]] = False,
        privileged_intents: int = Intent.GUILD_MEMBERS | Intent.GUILD_PRESENCES | Intent.MESSAGE_CONTENT,
    ) -> None:
        """Configure the fake world; nothing listens until :meth:`start`.

        ``token``: if set, REST calls and IDENTIFY must present it (else 401 / close 4004).
        ``bot_id`` / ``application_id`` (defaults to the bot id) / ``guild_id`` / ``owner_id`` (the id of
        :attr:`owner`) / ``channel_names``: the fixed world (ids in :mod:`.payloads`).
        ``heartbeat_interval_ms``: the interval announced in HELLO (Discord uses ~41250).
        ``compress``: honour the client's ``compress=zlib-stream`` request (else send plain text frames).
        ``privileged_intents``: intents the application is allowed; asking for others closes with 4014.
        """
        self.host = host
        self.port = port
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.compress = compress
        self.echo_bot_messages = echo_bot_messages
        self.enforce_intents = enforce_intents
        self.validate_payloads = validate_payloads
        self.interaction_deadline = interaction_deadline
        self.privileged_intents = privileged_intents
        if rate_limits is True:
            self.rate_limits: dict[str, tuple[int, float]] | None = dict(DEFAULT_RATE_LIMITS)
        elif rate_limits:
            self.rate_limits = dict(rate_limits)
        else:
            self.rate_limits = None
        #: Whether heartbeats are acknowledged (set False to simulate a zombie connection).
        self.ack_heartbeats = True

        self._ids = SnowflakeGenerator()
        self.application_id = application_id or bot_id
        self.bot_user = StubUser(bot_id, bot_name, global_name=None, bot=True)
        self.users: dict[int, StubUser] = {bot_id: self.bot_user}

        self.guild = StubGuild(id=guild_id, name=guild_name, owner_id=owner_id)
        self.everyone_role = self.add_role("@everyone", Perm.DEFAULT_EVERYONE, role_id=guild_id, position=0)
        self.admin_role = self.add_role(
            "Admin",
            Perm.MANAGE_GUILD | Perm.MANAGE_MESSAGES | Perm.MANAGE_THREADS | Perm.KICK_MEMBERS,
            role_id=DEFAULT_ADMIN_ROLE_ID,
            position=2,
            hoist=True,
            color=0xE67E22,
        )
        self.member_role = self.add_role("Member", 0, role_id=DEFAULT_MEMBER_ROLE_ID, position=1)
        self.bot_role = self.add_role(
            bot_name,
            Perm.SEND_MESSAGES
            | Perm.SEND_MESSAGES_IN_THREADS
            | Perm.CREATE_PUBLIC_THREADS
            | Perm.MANAGE_THREADS
            | Perm.EMBED_LINKS
            | Perm.ATTACH_FILES
            | Perm.READ_MESSAGE_HISTORY
            | Perm.ADD_REACTIONS
            | Perm.VIEW_CHANNEL
            | Perm.USE_APPLICATION_COMMANDS,
            role_id=DEFAULT_BOT_ROLE_ID,
            position=3,
            managed=True,
            bot_id=bot_id,
        )
        self.owner = self.add_user("alice", user_id=owner_id, global_name="Alice")
        self.admin = self.add_user("bob", user_id=DEFAULT_ADMIN_USER_ID, global_name="Bob")
        self.member = self.add_user("carol", user_id=DEFAULT_MEMBER_USER_ID, global_name="Carol")
        self.add_member(self.owner)
        self.add_member(self.admin, roles=[self.admin_role])
        self.add_member(self.member, roles=[self.member_role])
        self.add_member(self.bot_user, roles=[self.bot_role])
        for i, name in enumerate(channel_names):
            self.add_channel(name, channel_id=DEFAULT_CHANNEL_ID_BASE + i + 1, position=i)

        self.dm_channels: dict[int, StubChannel] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.interactions: dict[int, InjectedInteraction] = {}
        self._interactions_by_token: dict[str, InjectedInteraction] = {}
        #: Registered application commands: scope (``None`` = global, else guild id) -> (name, type) -> command.
        self.commands: dict[int | None, dict[tuple[str, int], dict[str, Any]]] = {}

        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []
        self.faults: list[Fault] = []
        self.heartbeats: list[HeartbeatRecord] = []
        self.gateway_received: list[GatewayPayloadRecord] = []
        self.dispatched: list[DispatchRecord] = []
        self.connections: list[GatewayConnection] = []
        self.sessions: list[GatewaySession] = []
        self.identify_count = 0
        self.resume_count = 0
        self.presence: dict[str, Any] | None = None
        self._session: GatewaySession | None = None
        self._consumed: set[int] = set()
        self._conn_ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._windows: dict[str, _Window] = {}
        self._attachment_data: dict[int, tuple[bytes, str]] = {}
        self._nonces: dict[tuple[int, str], int] = {}
        self._routes = self._build_routes()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    # ---------------------------------------------------------------- lifecycle & urls

    async def start(self) -> DiscordStub:
        """Start listening (port 0 picks a free port, readable from :attr:`port` afterwards)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/v{version:\\d+}/{tail:.*}", self._handle_api)
        app.router.add_get("/gateway", self._handle_gateway)
        app.router.add_get("/gateway-resume", self._handle_gateway)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._handle_attachment)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.port)
        await self._site.start()
        server = self._site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        """Close every gateway socket (code 1001) and stop the server."""
        for conn in self.connections:
            if conn.open:
                await conn.close(1001, "stub shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordStub:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """What ``discord.http.Route.BASE`` must be set to: ``http://127.0.0.1:PORT/api/v10``."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """What ``DiscordWebSocket.DEFAULT_GATEWAY`` must be; also returned by ``GET /gateway/bot``."""
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """The ``resume_gateway_url`` sent in READY (a different path, to see which one a client used)."""
        return f"ws://{self.host}:{self.port}/gateway-resume"


__all__ = [
    "ApiError",
    "DiscordStub",
    "DispatchRecord",
    "Fault",
    "GatewayConnection",
    "GatewaySession",
    "HeartbeatRecord",
    "InjectedInteraction",
    "RecordedRequest",
    "UploadedFile",
]
