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

To point discord.py at a stub, see :func:`tests.discord_stub.harness.point_discord_at`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import fnmatch
import hashlib
import itertools
import json
import logging
import re
import secrets
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

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
    CallbackType,
    ChannelType,
    ErrorCode,
    Intent,
    InteractionType,
    MessageFlag,
    MessageType,
    Op,
    Perm,
    SnowflakeGenerator,
    StubChannel,
    StubGuild,
    StubMember,
    StubRole,
    StubUser,
    find_component,
    form_error,
    iso_now,
    normalise_components,
    parse_mentions_in_content,
    resolve_mentions,
    validate_command,
    validate_message_body,
)

_log = logging.getLogger(__name__)

T = TypeVar("T")

#: Interaction tokens stay valid for followups/edits this long (Discord: 15 minutes).
INTERACTION_TOKEN_LIFETIME = 15 * 60.0
#: Discord's default upload limit reported in interactions (``attachment_size_limit``).
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
#: Application flags: GATEWAY_GUILD_MEMBERS_LIMITED | GATEWAY_MESSAGE_CONTENT_LIMITED | COMMAND_BADGE.
APPLICATION_FLAGS = (1 << 15) | (1 << 19) | (1 << 23)
#: Request kinds that create or change a message the users can see (what ``wait_for_message`` matches).
MESSAGE_KINDS = frozenset(
    {"create_message", "edit_message", "interaction_callback", "followup", "edit_webhook_message"}
)
#: Per-route limits used when ``DiscordStub(rate_limits=True)``: route key -> (limit, period seconds).
DEFAULT_RATE_LIMITS: dict[str, tuple[int, float]] = {
    "POST /channels/{channel_id}/messages": (5, 5.0),
    "PATCH /channels/{channel_id}/messages/{message_id}": (5, 5.0),
    "DELETE /channels/{channel_id}/messages/{message_id}": (5, 1.0),
    "POST /channels/{channel_id}/typing": (5, 5.0),
    "POST /webhooks/{application_id}/{token}": (5, 2.0),
    "PATCH /webhooks/{application_id}/{token}/messages/{message_id}": (5, 2.0),
    "PUT /applications/{application_id}/commands": (2, 20.0),
    "PUT /applications/{application_id}/guilds/{guild_id}/commands": (2, 20.0),
}
#: Global limit when ``rate_limits=True`` (Discord: 50 requests per second per bot).
GLOBAL_RATE_LIMIT = (50, 1.0)


class ApiError(Exception):
    """Raised inside route handlers to answer with a Discord-style error (status + JSON body)."""

    def __init__(self, status: int, code: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body = body if body is not None else {"message": message, "code": code}


# --------------------------------------------------------------------------------------------------
# records


@dataclass(frozen=True)
class StubAttachment:
    """A file a user attached to a slash command option (see :meth:`DiscordStub.attachment`); its
    ``payload`` is the attachment object, whose ``url`` serves the bytes."""

    payload: dict[str, Any]

    @property
    def id(self) -> int:
        """The attachment's id."""
        return int(self.payload["id"])


@dataclass
class UploadedFile:
    """A file part of a multipart request (``files[n]``)."""

    field_name: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        """Size of the file in bytes."""
        return len(self.data)


@dataclass
class Fault:
    """An injected failure: the next ``remaining`` requests matching ``method``/``pattern`` fail.

    Created by :meth:`DiscordStub.fail_next`; ``hits`` lists the requests that received it.
    """

    method: str
    pattern: str
    status: int
    retry_after: float
    remaining: int
    is_global: bool = False
    body: dict[str, Any] | None = None
    hits: list[RecordedRequest] = field(default_factory=list)

    def matches(self, method: str, path: str) -> bool:
        """Whether a request ``method path`` (path relative to the API base) is targeted."""
        if self.remaining <= 0:
            return False
        if self.method not in ("*", method):
            return False
        return fnmatch.fnmatchcase(path, self.pattern)


@dataclass
class InjectedInteraction:
    """An interaction the stub delivered (INTERACTION_CREATE) and the bot's reactions to it.

    ``response_type`` / ``responded_at`` are set when the bot calls the interaction callback;
    ``original_message_id`` is the message that ``@original`` refers to (if any).
    """

    id: int
    token: str
    type: int
    channel_id: int
    guild_id: int | None
    user: StubUser
    payload: dict[str, Any]
    created_at: float
    name: str | None = None
    custom_id: str | None = None
    source_message_id: int | None = None
    response_type: int | None = None
    responded_at: float | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)

    @property
    def responded(self) -> bool:
        """Whether the bot has acknowledged the interaction (any callback type)."""
        return self.response_type is not None


@dataclass
class RecordedRequest:
    """One REST call the bot made, with the stub's answer.

    ``path`` is relative to the API base (``/channels/123/messages``); ``route`` is the matching
    template (``/channels/{channel_id}/messages``) or ``None`` for unknown routes; ``json`` is the
    JSON body (for multipart requests: the parsed ``payload_json`` part); ``received_at`` is
    :func:`time.monotonic` at arrival. ``kind`` names what the call does (``create_message``,
    ``interaction_callback``, ``followup``, ``edit_webhook_message``, ``typing``, ``create_thread``,
    ``create_dm``, ``bulk_overwrite_commands``, ``unknown``...). ``message`` is the message object the
    call created or changed, ``channel_id`` the channel it concerns and ``interaction`` the injected
    interaction it answers (if any).
    """

    index: int
    method: str
    path: str
    route: str | None
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]
    headers: dict[str, str]
    received_at: float
    status: int = 0
    response: Any = None
    kind: str = "unknown"
    fault: Fault | None = None
    channel_id: int | None = None
    message: dict[str, Any] | None = None
    interaction: InjectedInteraction | None = None

    @property
    def ok(self) -> bool:
        """Whether the stub answered 2xx."""
        return 200 <= self.status < 300

    @property
    def body(self) -> dict[str, Any]:
        """The message-ish part of the request body (``data`` for interaction callbacks)."""
        if not isinstance(self.json, dict):
            return {}
        if self.kind == "interaction_callback":
            return self.json.get("data") or {}
        return self.json

    @property
    def content(self) -> str | None:
        """The ``content`` the bot sent (``None`` if it sent none)."""
        return self.body.get("content")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """The embeds the bot sent."""
        return self.body.get("embeds") or []

    @property
    def components(self) -> list[dict[str, Any]]:
        """The components the bot sent."""
        return self.body.get("components") or []

    @property
    def allowed_mentions(self) -> dict[str, Any] | None:
        """The ``allowed_mentions`` object the bot sent (``None`` if absent)."""
        return self.body.get("allowed_mentions")

    @property
    def callback_type(self) -> int | None:
        """For interaction callbacks: the callback type (4 message, 5 defer, 7 update, 8 autocomplete...)."""
        if self.kind == "interaction_callback" and isinstance(self.json, dict):
            return self.json.get("type")
        return None

    @property
    def ephemeral(self) -> bool:
        """Whether the message was flagged ephemeral."""
        return bool(int(self.body.get("flags") or 0) & MessageFlag.EPHEMERAL)

    def __repr__(self) -> str:
        detail = f" content={self.content!r}" if self.content is not None else ""
        return f"<RecordedRequest #{self.index} {self.method} {self.path} -> {self.status} {self.kind}{detail}>"


@dataclass
class HeartbeatRecord:
    """A heartbeat (opcode 1) the client sent: which connection, when (monotonic), with which seq."""

    connection_id: int
    received_at: float
    sequence: int | None


@dataclass
class GatewayPayloadRecord:
    """Any payload the client sent over the gateway."""

    connection_id: int
    op: int
    data: Any
    received_at: float


@dataclass
class DispatchRecord:
    """A DISPATCH event the stub emitted (``delivered`` is False if it was only buffered for resume)."""

    seq: int
    event: str
    session_id: str
    data: dict[str, Any]
    sent_at: float
    delivered: bool


class GatewayConnection:
    """One websocket connection from the client.

    ``path`` tells whether it used the resume URL; ``close_code`` is the code the stub closed it with,
    or else the client's; ``identified`` / ``resumed`` say how the session was established on it.
    """

    def __init__(self, conn_id: int, ws: web.WebSocketResponse, path: str, query: dict[str, str], zlib_stream: bool):
        self.id = conn_id
        self.ws = ws
        self.path = path
        self.query = query
        self.opened_at = time.monotonic()
        self.closed_at: float | None = None
        self.close_code: int | None = None
        self.closed_by_stub = False
        self.identified = False
        self.resumed = False
        self.session: GatewaySession | None = None
        self.zlib_stream = zlib_stream
        self._compressor = zlib.compressobj() if zlib_stream else None
        self._lock = asyncio.Lock()

    @property
    def open(self) -> bool:
        """Whether the socket is still open."""
        return not self.ws.closed

    async def send_text(self, text: str) -> bool:
        """Send one gateway payload (compressed if the client asked for zlib-stream); False if closed."""
        async with self._lock:
            if self.ws.closed:
                return False
            try:
                if self._compressor is not None:
                    data = self._compressor.compress(text.encode()) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return False
            return True

    async def send(self, op: int, data: Any) -> bool:
        """Send a non-dispatch payload (``s`` and ``t`` null)."""
        return await self.send_text(json.dumps({"op": op, "d": data, "s": None, "t": None}))

    async def close(self, code: int, message: str = "") -> None:
        """Close the socket from the server side with ``code``."""
        self.closed_by_stub = True
        if self.close_code is None:
            self.close_code = code
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, message=message.encode())

    def __repr__(self) -> str:
        return f"<GatewayConnection #{self.id} {self.path} open={self.open} close_code={self.close_code}>"


class GatewaySession:
    """A gateway session (created by IDENTIFY, continued by RESUME) with its dispatch log for replay."""

    def __init__(self, session_id: str, intents: int, identify: dict[str, Any]) -> None:
        self.session_id = session_id
        self.intents = intents
        self.identify = identify
        self.seq = 0
        self.log: deque[tuple[int, str]] = deque(maxlen=50_000)
        self.conn: GatewayConnection | None = None
        self.resumable = True
        self.lock = asyncio.Lock()

    def wants(self, intent: int | None) -> bool:
        """Whether the session subscribed to ``intent`` (``None`` means the event needs no intent)."""
        return intent is None or bool(self.intents & intent)


@dataclass
class _Route:
    method: str
    template: str
    regex: re.Pattern[str]
    kind: str
    handler: Callable[[RecordedRequest], Any]
    auth: bool


@dataclass
class _Window:
    start: float
    count: int = 0


# --------------------------------------------------------------------------------------------------
# the stub


class DiscordStub:
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

    # ---------------------------------------------------------------- world building

    def add_user(
        self, username: str, *, user_id: int | None = None, bot: bool = False, global_name: str | None = None
    ) -> StubUser:
        """Create a user known to the stub (not a guild member until :meth:`add_member`)."""
        user = StubUser(user_id or self._ids.next(), username, global_name=global_name, bot=bot)
        self.users[user.id] = user
        return user

    def add_member(
        self, user: StubUser, *, roles: Iterable[StubRole | int] = (), nick: str | None = None
    ) -> StubMember:
        """Make ``user`` a member of the guild with ``roles`` (state only; a running bot learns about it
        on its next IDENTIFY, or now via ``await stub.dispatch("GUILD_MEMBER_ADD", ...)``)."""
        self.users.setdefault(user.id, user)
        role_ids = [r.id if isinstance(r, StubRole) else int(r) for r in roles]
        member = StubMember(user=user, role_ids=role_ids, nick=nick)
        self.guild.members[user.id] = member
        return member

    def add_role(
        self,
        name: str,
        permissions: int = 0,
        *,
        role_id: int | None = None,
        position: int | None = None,
        hoist: bool = False,
        color: int = 0,
        managed: bool = False,
        mentionable: bool = False,
        bot_id: int | None = None,
    ) -> StubRole:
        """Add a guild role with a permission bitfield (see :class:`~.payloads.Perm`)."""
        role = StubRole(
            id=role_id or self._ids.next(),
            name=name,
            permissions=permissions,
            position=len(self.guild.roles) if position is None else position,
            hoist=hoist,
            color=color,
            managed=managed,
            mentionable=mentionable,
            bot_id=bot_id,
        )
        self.guild.roles[role.id] = role
        return role

    def add_channel(
        self,
        name: str,
        *,
        channel_id: int | None = None,
        type: int = ChannelType.GUILD_TEXT,
        topic: str | None = None,
        parent_id: int | None = None,
        position: int | None = None,
    ) -> StubChannel:
        """Add a guild channel (state only, like :meth:`add_member`)."""
        channel = StubChannel(
            id=channel_id or self._ids.next(),
            type=type,
            name=name,
            guild_id=self.guild.id,
            topic=topic,
            parent_id=parent_id,
            position=len(self.guild.channels) if position is None else position,
        )
        self.guild.channels[channel.id] = channel
        return channel

    @property
    def default_channel(self) -> StubChannel:
        """The first text channel (``#general`` by default)."""
        for channel in self.guild.channels.values():
            if channel.type == ChannelType.GUILD_TEXT:
                return channel
        raise LookupError("the stub guild has no text channel")

    def channel(self, name_or_id: str | int) -> StubChannel:
        """A guild channel/thread by name or id, or a DM channel by id."""
        if isinstance(name_or_id, int) or str(name_or_id).isdigit():
            cid = int(name_or_id)
            found = self.guild.channels.get(cid) or next((c for c in self.dm_channels.values() if c.id == cid), None)
            if found is None:
                raise KeyError(f"no channel with id {cid}")
            return found
        for channel in self.guild.channels.values():
            if channel.name == name_or_id:
                return channel
        raise KeyError(f"no channel named {name_or_id!r}")

    def dm_channel_for(self, user: StubUser) -> StubChannel:
        """The DM channel between the bot and ``user`` (created on first use, stable afterwards)."""
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = StubChannel(id=self._ids.next(), type=ChannelType.DM, recipients=[user])
            self.dm_channels[user.id] = channel
        return channel

    def messages_in(self, channel_id: int) -> list[dict[str, Any]]:
        """Stored messages of a channel, oldest first (bot's and injected ones)."""
        return [m for m in self.messages.values() if int(m["channel_id"]) == channel_id]

    def registered_commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """Application commands the bot registered globally (``guild_id=None``) or for a guild."""
        return [copy.deepcopy(c) for c in self.commands.get(guild_id, {}).values()]

    def original_message(self, interaction: InjectedInteraction) -> dict[str, Any] | None:
        """The current state of the interaction's original response message, if it has one."""
        if interaction.original_message_id is None:
            return None
        return self.messages.get(interaction.original_message_id)

    def _find_channel(self, channel_id: int) -> StubChannel | None:
        channel = self.guild.channels.get(channel_id)
        if channel is not None:
            return channel
        return next((c for c in self.dm_channels.values() if c.id == channel_id), None)

    # ---------------------------------------------------------------- waiting helpers

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _wait_until(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}\n{self.describe_recent()}")
            event = self._changed
            with contextlib.suppress(asyncio.TimeoutError):  # distinct from TimeoutError on 3.10
                await asyncio.wait_for(event.wait(), remaining)

    def describe_recent(self, count: int = 15) -> str:
        """A human-readable summary of the last requests and gateway state, for failure messages."""
        lines = [f"last {min(count, len(self.requests))} of {len(self.requests)} requests:"]
        lines += [f"  {r!r}" for r in self.requests[-count:]]
        lines.append(
            f"gateway: identifies={self.identify_count} resumes={self.resume_count} "
            f"connections={self.connections[-3:]!r}"
        )
        if self.errors:
            lines.append(f"stub errors: {self.errors[-5:]!r}")
        return "\n".join(lines)

    def mark(self) -> int:
        """The index the next request will get; pass as ``since=`` to only consider later requests."""
        return len(self.requests)

    async def wait_for_request(
        self,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        kind: str | None = None,
        timeout: float = 5.0,
        since: int = 0,
        consume: bool = True,
    ) -> RecordedRequest:
        """Wait for (or find an already recorded) REST call matching all given filters.

        ``path`` is an ``fnmatch`` pattern on the path below the API base (``/channels/*/typing``).
        With ``consume=True`` (default) a request is returned by at most one ``wait_for_*`` call, so
        successive waits yield successive matching requests. Raises :class:`TimeoutError` with a
        summary of recent traffic.
        """

        def check() -> RecordedRequest | None:
            for rec in self.requests[since:]:
                if consume and rec.index in self._consumed:
                    continue
                if method is not None and rec.method != method.upper():
                    continue
                if path is not None and not fnmatch.fnmatchcase(rec.path, path):
                    continue
                if kind is not None and rec.kind != kind:
                    continue
                if rec.status == 0:  # still being handled
                    continue
                if predicate is not None and not predicate(rec):
                    continue
                if consume:
                    self._consumed.add(rec.index)
                return rec
            return None

        what = f"request(method={method}, path={path}, kind={kind}, predicate={predicate})"
        return await self._wait_until(check, timeout, what)

    async def wait_for_message(
        self,
        channel_id: int | None = None,
        *,
        interaction: InjectedInteraction | None = None,
        contains: str | None = None,
        include_edits: bool = True,
        timeout: float = 5.0,
        since: int = 0,
        consume: bool = True,
    ) -> RecordedRequest:
        """Wait for the bot to post (or edit) a visible message, through any path.

        Matches successful channel message creates/edits, interaction callbacks that carry a message
        (types 4 and 7), webhook followups and ``@original`` edits. Filters: ``channel_id`` (the
        channel the message is in), ``interaction`` (messages answering that interaction),
        ``contains`` (substring of the content). ``.message`` on the result is the message object.
        """

        def pred(rec: RecordedRequest) -> bool:
            if not rec.ok or rec.kind not in MESSAGE_KINDS:
                return False
            if rec.kind == "interaction_callback" and rec.callback_type not in (
                CallbackType.CHANNEL_MESSAGE_WITH_SOURCE,
                CallbackType.UPDATE_MESSAGE,
            ):
                return False
            if not include_edits and rec.kind in ("edit_message", "edit_webhook_message"):
                return False
            if channel_id is not None and rec.channel_id != channel_id:
                return False
            if interaction is not None and rec.interaction is not interaction:
                return False
            if contains is not None:
                text = (rec.message or {}).get("content") or rec.content or ""
                if contains not in text:
                    return False
            return True

        try:
            return await self.wait_for_request(pred, timeout=timeout, since=since, consume=consume)
        except TimeoutError as exc:
            raise TimeoutError(
                f"no bot message (channel_id={channel_id}, interaction={getattr(interaction, 'id', None)}, "
                f"contains={contains!r}) within {timeout}s\n{self.describe_recent()}"
            ) from exc

    async def wait_for_interaction_response(
        self, interaction: InjectedInteraction, *, timeout: float = 5.0
    ) -> RecordedRequest:
        """Wait for the bot's callback (initial response) to ``interaction``; returns that request.

        Only accepted callbacks count (a late or duplicate one answered with an error does not).
        """
        return await self.wait_for_request(
            lambda r: r.interaction is interaction and r.ok,
            kind="interaction_callback",
            timeout=timeout,
            consume=False,
        )

    async def wait_for_autocomplete(
        self, interaction: InjectedInteraction, *, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait for the autocomplete result (callback type 8) and return its ``choices``."""
        rec = await self.wait_for_interaction_response(interaction, timeout=timeout)
        if rec.callback_type != CallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT:
            raise AssertionError(f"expected an autocomplete result, got callback type {rec.callback_type}")
        return list(rec.body.get("choices") or [])

    async def wait_for_identify(self, count: int = 1, *, timeout: float = 5.0) -> None:
        """Wait until at least ``count`` IDENTIFYs have been accepted (READY sent)."""
        await self._wait_until(lambda: True if self.identify_count >= count else None, timeout, f"{count} identify")

    async def wait_for_resume(self, count: int = 1, *, timeout: float = 5.0) -> None:
        """Wait until at least ``count`` RESUMEs have been accepted (RESUMED sent)."""
        await self._wait_until(lambda: True if self.resume_count >= count else None, timeout, f"{count} resume")

    async def wait_for_heartbeats(self, count: int, *, timeout: float = 5.0) -> list[HeartbeatRecord]:
        """Wait until at least ``count`` heartbeats have arrived in total; returns the records."""
        await self._wait_until(lambda: True if len(self.heartbeats) >= count else None, timeout, f"{count} heartbeats")
        return list(self.heartbeats)

    async def wait_until_connected(self, *, timeout: float = 5.0) -> GatewaySession:
        """Wait until a session has a live connection (after IDENTIFY or RESUME)."""

        def check() -> GatewaySession | None:
            s = self._session
            return s if s is not None and s.conn is not None and s.conn.open else None

        return await self._wait_until(check, timeout, "a connected gateway session")

    async def wait_for_gateway_payload(
        self, op: int, predicate: Callable[[Any], bool] | None = None, *, timeout: float = 5.0, since: int = 0
    ) -> GatewayPayloadRecord:
        """Wait for a payload with opcode ``op`` from the client (e.g. 3 presence, 8 member request)."""

        def check() -> GatewayPayloadRecord | None:
            for rec in self.gateway_received[since:]:
                if rec.op == op and (predicate is None or predicate(rec.data)):
                    return rec
            return None

        return await self._wait_until(check, timeout, f"gateway op {op}")

    @property
    def unknown_requests(self) -> list[RecordedRequest]:
        """Requests to routes the stub does not implement (answered 404)."""
        return [r for r in self.requests if r.route is None]

    @property
    def session(self) -> GatewaySession | None:
        """The current gateway session (from the latest IDENTIFY), if any."""
        return self._session

    @property
    def intents(self) -> int | None:
        """The intents of the current session."""
        return self._session.intents if self._session else None

    # ---------------------------------------------------------------- heartbeats

    @property
    def heartbeat_interval(self) -> float:
        """The heartbeat interval announced in HELLO, in seconds."""
        return self.heartbeat_interval_ms / 1000.0

    def heartbeat_gaps(self, *, include_open: bool = True) -> list[float]:
        """Seconds between consecutive heartbeats on each connection (from HELLO for the first one).

        With ``include_open`` the time since the last heartbeat of still-open connections is included,
        so a client that stopped heartbeating entirely is noticed too.
        """
        gaps: list[float] = []
        now = time.monotonic()
        for conn in self.connections:
            times = [conn.opened_at] + [h.received_at for h in self.heartbeats if h.connection_id == conn.id]
            gaps += [b - a for a, b in itertools.pairwise(times)]
            if include_open and conn.open and conn.closed_at is None:
                gaps.append(now - times[-1])
        return gaps

    def max_heartbeat_gap(self, *, include_open: bool = True) -> float:
        """The longest gap between heartbeats (see :meth:`heartbeat_gaps`); 0.0 without connections.

        A healthy client stays close to :attr:`heartbeat_interval`; a blocked event loop shows up
        as a larger gap.
        """
        return max(self.heartbeat_gaps(include_open=include_open), default=0.0)

    # ---------------------------------------------------------------- faults

    def fail_next(
        self,
        method: str,
        path_pattern: str,
        *,
        status: int = 429,
        retry_after: float = 0.3,
        count: int = 1,
        is_global: bool = False,
        body: dict[str, Any] | None = None,
    ) -> Fault:
        """Make the next ``count`` requests matching ``method`` (or ``"*"``) and the fnmatch
        ``path_pattern`` (below the API base, e.g. ``"/channels/*/messages"``) fail with ``status``.

        429s look like genuine Discord rate limits (``Via`` header, ``retry_after`` body,
        ``X-RateLimit-*``/``Retry-After`` headers, ``X-RateLimit-Scope``) so discord.py waits and
        retries; 5xx are retried by discord.py after 1 s, 3 s, ...; other statuses raise in the bot.
        """
        fault = Fault(method.upper(), path_pattern, status, retry_after, count, is_global, body)
        self.faults.append(fault)
        return fault

    async def request_reconnect(self, *, wait: bool = True, timeout: float = 5.0) -> None:
        """Send opcode 7 RECONNECT; the client closes and RESUMEs on ``resume_gateway_url``.

        With ``wait`` return once the RESUME was accepted.
        """
        conn = self._require_conn()
        resumes = self.resume_count
        await conn.send(Op.RECONNECT, None)
        if wait:
            await self.wait_for_resume(resumes + 1, timeout=timeout)

    async def invalidate_session(self, resumable: bool, *, wait: bool = True, timeout: float = 10.0) -> None:
        """Send opcode 9 INVALID_SESSION (``d = resumable``).

        Resumable: the client reconnects and RESUMEs. Not resumable: the session (and events buffered
        for it) is dropped and the client IDENTIFYs again (new READY + GUILD_CREATE). With ``wait``
        return once that happened. Note: discord.py's default ``Client.before_identify_hook`` sleeps
        5 s before every non-initial IDENTIFY; override it in test bots to skip that.
        """
        conn = self._require_conn()
        resumes, identifies = self.resume_count, self.identify_count
        if not resumable and conn.session is not None:
            conn.session.resumable = False
        await conn.send(Op.INVALID_SESSION, resumable)
        if wait:
            if resumable:
                await self.wait_for_resume(resumes + 1, timeout=timeout)
            else:
                await self.wait_for_identify(identifies + 1, timeout=timeout)

    async def drop_connection(self, code: int = 4000, *, wait: bool = True, timeout: float = 10.0) -> None:
        """Close the gateway socket from the server side with ``code`` (session stays resumable).

        discord.py reconnects and RESUMEs for most codes; with ``wait`` return once it did.
        """
        conn = self._require_conn()
        resumes = self.resume_count
        await conn.close(code, "stub dropped the connection")
        if wait:
            await self.wait_for_resume(resumes + 1, timeout=timeout)

    async def request_heartbeat(self) -> None:
        """Send opcode 1 (the server asks for an immediate heartbeat)."""
        await self._require_conn().send(Op.HEARTBEAT, None)

    def _require_conn(self) -> GatewayConnection:
        session = self._session
        if session is None or session.conn is None or not session.conn.open:
            raise RuntimeError("no live gateway connection (has the bot connected?)")
        return session.conn

    # ---------------------------------------------------------------- event injection

    async def dispatch(self, event: str, data: dict[str, Any], *, intent: int | None = None) -> int | None:
        """Send a DISPATCH event to the current session; returns its sequence number.

        If the client is momentarily disconnected the event is buffered and replayed on RESUME (like
        Discord). Returns ``None`` if ``enforce_intents`` is on and the session lacks ``intent``.
        """
        session = self._session
        if session is None:
            raise RuntimeError("no gateway session yet: the bot has not sent IDENTIFY")
        if self.enforce_intents and not session.wants(intent):
            return None
        return await self._dispatch_to(session, event, data)

    async def _dispatch_to(self, session: GatewaySession, event: str, data: dict[str, Any]) -> int:
        async with session.lock:
            session.seq += 1
            seq = session.seq
            text = json.dumps({"op": Op.DISPATCH, "t": event, "s": seq, "d": data})
            session.log.append((seq, text))
            delivered = False
            if session.conn is not None:
                delivered = await session.conn.send_text(text)
            self.dispatched.append(DispatchRecord(seq, event, session.session_id, data, time.monotonic(), delivered))
        self._notify()
        return seq

    def _resolve_user(self, user: StubUser | int | None, default: StubUser) -> StubUser:
        if user is None:
            return default
        if isinstance(user, StubUser):
            self.users.setdefault(user.id, user)
            return user
        return self.users[int(user)]

    def _member_payload_for(
        self,
        user: StubUser,
        *,
        roles: Iterable[StubRole | int] | None = None,
        include_user: bool = True,
        permissions: int | None = None,
    ) -> dict[str, Any]:
        member = self.guild.members.get(user.id)
        if member is None:
            member = StubMember(user=user, role_ids=[])
        if roles is not None:
            member = StubMember(
                user=user,
                role_ids=[r.id if isinstance(r, StubRole) else int(r) for r in roles],
                nick=member.nick,
                joined_at=member.joined_at,
            )
        return member.payload(include_user=include_user, permissions=permissions)

    def _with_gateway_fields(self, message: dict[str, Any], channel: StubChannel) -> dict[str, Any]:
        """Add what MESSAGE_CREATE has over the REST message object: guild_id, member, mention members."""
        data = copy.deepcopy(message)
        if channel.guild_id is None:
            return data
        data["guild_id"] = str(channel.guild_id)
        author_id = int(data["author"]["id"])
        if author_id in self.guild.members and not data.get("webhook_id"):
            data["member"] = self.guild.members[author_id].payload(include_user=False)
        for mention in data.get("mentions", []):
            member = self.guild.members.get(int(mention["id"]))
            if member is not None:
                mention["member"] = member.payload(include_user=False)
        return data

    async def _dispatch_message_event(self, event: str, message: dict[str, Any], channel: StubChannel) -> int | None:
        """MESSAGE_CREATE/UPDATE with intent filtering and MESSAGE_CONTENT blanking."""
        session = self._session
        if session is None:
            return None
        intent = Intent.DIRECT_MESSAGES if channel.is_dm else Intent.GUILD_MESSAGES
        data = self._with_gateway_fields(message, channel)
        if self.enforce_intents:
            if not session.wants(intent):
                return None
            mentioned = any(int(m["id"]) == self.bot_user.id for m in data.get("mentions", []))
            own = int(data["author"]["id"]) == self.bot_user.id
            if not session.wants(Intent.MESSAGE_CONTENT) and not (channel.is_dm or mentioned or own):
                data.update(content="", embeds=[], attachments=[], components=[])
                data.pop("poll", None)
        return await self._dispatch_to(session, event, data)

    async def send_message(
        self,
        content: str = "",
        *,
        author: StubUser | int | None = None,
        channel_id: int | None = None,
        guild: bool = True,
        mentions: Iterable[StubUser | int] = (),
        mention_roles: Iterable[StubRole | int] = (),
        mention_everyone: bool | None = None,
        reply_to: int | dict[str, Any] | None = None,
        embeds: Sequence[dict[str, Any]] = (),
        attachments: Sequence[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """Inject a user message (MESSAGE_CREATE); returns the message object (with ``guild_id``).

        ``author`` defaults to :attr:`member`; ``channel_id`` to :attr:`default_channel` (may be a
        thread); ``guild=False`` sends a DM from ``author`` in their DM channel with the bot.
        Mentions written in ``content`` (``<@id>``, ``<@&id>``, ``@everyone``) are detected
        automatically; ``mentions`` / ``mention_roles`` / ``mention_everyone`` add or override.
        ``reply_to`` (a message id or object) makes it a reply. ``attachments`` entries are merged
        into default attachment objects (give ``filename`` and ``data`` bytes, which are then served at
        the attachment's ``url`` so ``Attachment.read()`` works; or ``size`` without data).
        """
        author_user = self._resolve_user(author, self.member)
        if guild:
            channel = self.channel(channel_id) if channel_id is not None else self.default_channel
            if channel.is_dm:
                raise ValueError("channel_id is a DM channel; pass guild=False for DMs")
        else:
            channel = self.channel(channel_id) if channel_id is not None else self.dm_channel_for(author_user)
        parsed_users, parsed_roles, parsed_everyone = parse_mentions_in_content(content)
        user_ids: list[int] = []
        for u in [*(m.id if isinstance(m, StubUser) else int(m) for m in mentions), *parsed_users]:
            if u in self.users and u not in user_ids:
                user_ids.append(u)
        role_ids: list[int] = []
        if not channel.is_dm:
            for r in [*(x.id if isinstance(x, StubRole) else int(x) for x in mention_roles), *parsed_roles]:
                if r in self.guild.roles and r not in role_ids:
                    role_ids.append(r)
        message_id = self._ids.next()
        message: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel.id),
            "author": author_user.payload(),
            "content": content,
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": parsed_everyone if mention_everyone is None else mention_everyone,
            "mentions": [self.users[u].payload() for u in user_ids],
            "mention_roles": [str(r) for r in role_ids],
            "attachments": [self._attachment_object(channel.id, a) for a in attachments],
            "embeds": [dict(e) for e in embeds],
            "pinned": False,
            "type": MessageType.DEFAULT,
            "flags": 0,
            "components": [],
            "nonce": str(message_id),
        }
        if reply_to is not None:
            ref_id = int(reply_to["id"]) if isinstance(reply_to, dict) else int(reply_to)
            referenced = self.messages.get(ref_id)
            message["type"] = MessageType.REPLY
            message["message_reference"] = {
                "type": 0,
                "message_id": str(ref_id),
                "channel_id": str(channel.id),
                **({"guild_id": str(channel.guild_id)} if channel.guild_id else {}),
            }
            message["referenced_message"] = copy.deepcopy(referenced)
            if referenced is not None and referenced["author"]["id"] not in {m["id"] for m in message["mentions"]}:
                message["mentions"].append(copy.deepcopy(referenced["author"]))
        self._store_message(message, channel)
        await self._dispatch_message_event("MESSAGE_CREATE", message, channel)
        return self._with_gateway_fields(message, channel)

    async def edit_user_message(self, message_id: int, content: str) -> dict[str, Any]:
        """Inject an edit of an injected user message (MESSAGE_UPDATE)."""
        message = self.messages[message_id]
        channel = self.channel(int(message["channel_id"]))
        message["content"] = content
        message["edited_timestamp"] = iso_now()
        await self._dispatch_message_event("MESSAGE_UPDATE", message, channel)
        return copy.deepcopy(message)

    async def delete_user_message(self, message_id: int) -> None:
        """Inject the deletion of a message (MESSAGE_DELETE)."""
        message = self.messages.pop(message_id)
        channel = self.channel(int(message["channel_id"]))
        await self._dispatch_delete(message_id, channel)

    async def _dispatch_delete(self, message_id: int, channel: StubChannel) -> None:
        data: dict[str, Any] = {"id": str(message_id), "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        intent = Intent.DIRECT_MESSAGES if channel.is_dm else Intent.GUILD_MESSAGES
        if self._session is not None:
            await self.dispatch("MESSAGE_DELETE", data, intent=intent)

    def _attachment_object(self, channel_id: int, spec: dict[str, Any]) -> dict[str, Any]:
        """An attachment object; ``spec["data"]`` (bytes) is served at its ``url`` (like Discord's CDN)."""
        attachment_id = self._ids.next()
        filename = spec.get("filename", "file.txt")
        data = spec.get("data")
        content_type = spec.get("content_type", "text/plain; charset=utf-8")
        if isinstance(data, bytes):
            self._attachment_data[attachment_id] = (data, content_type)
        url = f"{self.base_url}/attachments/{channel_id}/{attachment_id}/{filename}"
        return {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(data) if isinstance(data, bytes) else spec.get("size", 0),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
            **{k: v for k, v in spec.items() if k not in ("filename", "size", "content_type", "data")},
        }

    def attachment(
        self,
        filename: str,
        data: bytes,
        content_type: str = "text/plain; charset=utf-8",
        *,
        channel_id: int | None = None,
    ) -> StubAttachment:
        """A file a user uploads for an attachment option of a slash command (pass it as the option's
        value); Discord's CDN is stood in for by this stub, which serves ``data`` at its ``url``."""
        channel = channel_id if channel_id is not None else self.default_channel.id
        spec = {"filename": filename, "data": data, "content_type": content_type}
        return StubAttachment(self._attachment_object(channel, spec))

    async def _handle_attachment(self, request: web.Request) -> web.StreamResponse:
        attachment_id = request.match_info["attachment_id"]
        stored = self._attachment_data.get(int(attachment_id)) if attachment_id.isdigit() else None
        if stored is None:
            return web.Response(status=404, text="Not Found")
        data, content_type = stored
        return web.Response(body=data, headers={"Content-Type": content_type})

    # ---- interactions

    def _new_interaction(
        self,
        itype: int,
        data: dict[str, Any],
        *,
        user: StubUser | int | None,
        channel_id: int | None,
        guild: bool,
        permissions: int | None,
        roles: Iterable[StubRole | int] | None,
        locale: str,
        message: dict[str, Any] | None = None,
    ) -> InjectedInteraction:
        user_obj = self._resolve_user(user, self.member)
        if guild:
            channel = self.channel(channel_id) if channel_id is not None else self.default_channel
        else:
            channel = self.channel(channel_id) if channel_id is not None else self.dm_channel_for(user_obj)
        interaction_id = self._ids.next()
        token = f"stub.{interaction_id}.{secrets.token_urlsafe(32)}"
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "app_permissions": str(self.guild.member_permissions(self.bot_user.id) if guild else Perm.ALL),
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "context": 0 if guild else 1,
            "authorizing_integration_owners": {"0": str(self.guild.id) if guild else "0"},
        }
        if guild:
            if permissions is None:
                if roles is None:
                    permissions = self.guild.member_permissions(user_obj.id)
                else:
                    role_ids = [r.id if isinstance(r, StubRole) else int(r) for r in roles]
                    permissions = self.everyone_role.permissions
                    for rid in role_ids:
                        permissions |= self.guild.roles[rid].permissions if rid in self.guild.roles else 0
                    if permissions & Perm.ADMINISTRATOR or user_obj.id == self.guild.owner_id:
                        permissions = Perm.ALL
            payload["guild_id"] = str(self.guild.id)
            payload["guild"] = self.guild.partial_payload()
            payload["guild_locale"] = "en-US"
            payload["member"] = self._member_payload_for(user_obj, roles=roles, permissions=permissions)
        else:
            payload["user"] = user_obj.payload()
        if message is not None:
            payload["message"] = copy.deepcopy(message)
        ix = InjectedInteraction(
            id=interaction_id,
            token=token,
            type=itype,
            channel_id=channel.id,
            guild_id=self.guild.id if guild else None,
            user=user_obj,
            payload=payload,
            created_at=time.monotonic(),
            source_message_id=int(message["id"]) if message else None,
        )
        self.interactions[interaction_id] = ix
        self._interactions_by_token[token] = ix
        return ix

    def _find_command(
        self, name: str, ctype: int, guild_scope: bool | None
    ) -> tuple[dict[str, Any] | None, int | None]:
        """Registered command by name/type: (definition, guild id or None)."""
        if guild_scope is not False:
            cmd = self.commands.get(self.guild.id, {}).get((name, ctype))
            if cmd is not None:
                return cmd, self.guild.id
        if guild_scope is not True:
            cmd = self.commands.get(None, {}).get((name, ctype))
            if cmd is not None:
                return cmd, None
        return None, None

    def _option_value(self, value: Any, resolved: dict[str, dict[str, Any]]) -> tuple[int, Any]:
        """(option type, wire value) for a Python value; fills ``resolved`` for users/roles/channels."""
        if isinstance(value, StubUser):
            resolved.setdefault("users", {})[str(value.id)] = value.payload()
            if value.id in self.guild.members:
                resolved.setdefault("members", {})[str(value.id)] = self._member_payload_for(
                    value, include_user=False, permissions=self.guild.member_permissions(value.id)
                )
            return 6, str(value.id)
        if isinstance(value, StubRole):
            resolved.setdefault("roles", {})[str(value.id)] = value.payload()
            return 8, str(value.id)
        if isinstance(value, StubAttachment):
            resolved.setdefault("attachments", {})[str(value.id)] = dict(value.payload)
            return 11, str(value.id)
        if isinstance(value, StubChannel):
            channel_data = value.payload()
            channel_data["permissions"] = str(Perm.ALL)
            resolved.setdefault("channels", {})[str(value.id)] = channel_data
            return 7, str(value.id)
        if isinstance(value, bool):
            return 5, value
        if isinstance(value, int):
            return 4, value
        if isinstance(value, float):
            return 10, value
        return 3, str(value)

    def _build_options(
        self,
        definition: dict[str, Any] | None,
        path: list[str],
        options: dict[str, Any] | list[dict[str, Any]] | None,
        focused: str | None,
        resolved: dict[str, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        defs = (definition or {}).get("options") or []
        if path:
            sub_name = path[0]
            sub_def = next((d for d in defs if d.get("name") == sub_name), None)
            # Without a registered definition: a non-final path element is a group (2), else a subcommand (1).
            default_type = 2 if len(path) > 1 else 1
            sub_type = sub_def.get("type", 1) if sub_def is not None else default_type
            return [
                {
                    "name": sub_name,
                    "type": sub_type,
                    "options": self._build_options(sub_def, path[1:], options, focused, resolved),
                }
            ]
        if options is None:
            return []
        if isinstance(options, list):
            return copy.deepcopy(options)
        result: list[dict[str, Any]] = []
        for name, value in options.items():
            declared = next((d for d in defs if d.get("name") == name), None)
            declared_type = declared.get("type") if declared is not None else None
            if name != focused and isinstance(value, (int, str)) and str(value).isdigit():
                # An id given for a user/role/channel option: resolve it like Discord would.
                if declared_type in (6, 9) and int(value) in self.users:
                    value = self.users[int(value)]
                elif declared_type in (8, 9) and int(value) in self.guild.roles:
                    value = self.guild.roles[int(value)]
                elif declared_type == 7 and self._find_channel(int(value)) is not None:
                    value = self._find_channel(int(value))
            opt_type, wire = self._option_value(value, resolved)
            if declared_type is not None:
                opt_type = declared_type
            entry: dict[str, Any] = {"name": name, "type": opt_type, "value": wire}
            if name == focused:
                entry["focused"] = True
                entry["value"] = str(value)  # Discord sends the partially typed text
            result.append(entry)
        return result

    async def _deliver_interaction(self, ix: InjectedInteraction) -> InjectedInteraction:
        await self.dispatch("INTERACTION_CREATE", ix.payload)
        return ix

    def _command_interaction_data(
        self,
        name: str,
        options: dict[str, Any] | list[dict[str, Any]] | None,
        command_guild_id: int | str | None,
        focused: str | None,
        resolved: dict[str, Any] | None,
    ) -> dict[str, Any]:
        parts = name.split()
        if command_guild_id == "auto":
            definition, scope = self._find_command(parts[0], 1, None)
        else:
            definition, scope = self._find_command(parts[0], 1, command_guild_id is not None)
            scope = int(command_guild_id) if command_guild_id is not None else None
        res: dict[str, dict[str, Any]] = copy.deepcopy(resolved) if resolved else {}
        data: dict[str, Any] = {
            "id": definition["id"] if definition else str(self._ids.next()),
            "name": parts[0],
            "type": 1,
            "options": self._build_options(definition, parts[1:], options, focused, res),
        }
        if scope is not None:
            data["guild_id"] = str(scope)
        if res:
            data["resolved"] = res
        return data

    async def slash_command(
        self,
        name: str,
        options: dict[str, Any] | list[dict[str, Any]] | None = None,
        *,
        user: StubUser | int | None = None,
        channel_id: int | None = None,
        guild: bool = True,
        permissions: int | None = None,
        roles: Iterable[StubRole | int] | None = None,
        command_guild_id: int | str | None = "auto",
        locale: str = "en-US",
        resolved: dict[str, Any] | None = None,
    ) -> InjectedInteraction:
        """Inject a slash command invocation (INTERACTION_CREATE type 2); returns the interaction.

        ``name`` may include subcommands (``"admin reload"``). ``options`` maps option names to values
        (str/int/float/bool, or :class:`StubUser`/:class:`StubRole`/:class:`StubChannel`, which also fill
        ``resolved``), or is a raw Discord options list. Option types come from the registered command
        definition when the bot synced its commands, else from the Python type.
        ``command_guild_id``: ``"auto"`` uses the guild id if the bot registered the command for the
        guild (and no id for global commands); pass the guild id for guild commands that were not synced.
        The member's ``permissions`` default to what their roles grant; ``roles`` overrides their roles
        for this interaction. ``guild=False`` invokes from the user's DM with the bot.
        """
        data = self._command_interaction_data(name, options, command_guild_id, None, resolved)
        ix = self._new_interaction(
            InteractionType.APPLICATION_COMMAND,
            data,
            user=user,
            channel_id=channel_id,
            guild=guild,
            permissions=permissions,
            roles=roles,
            locale=locale,
        )
        ix.name = name
        return await self._deliver_interaction(ix)

    async def autocomplete(
        self,
        name: str,
        options: dict[str, Any],
        focused: str,
        *,
        user: StubUser | int | None = None,
        channel_id: int | None = None,
        guild: bool = True,
        permissions: int | None = None,
        roles: Iterable[StubRole | int] | None = None,
        command_guild_id: int | str | None = "auto",
        locale: str = "en-US",
    ) -> InjectedInteraction:
        """Inject an autocomplete request (type 4) while the user types option ``focused``.

        ``options`` holds what is typed so far (the focused one as text). Get the bot's suggestions
        with :meth:`wait_for_autocomplete`.
        """
        if focused not in options:
            raise ValueError(f"focused option {focused!r} must be in options")
        data = self._command_interaction_data(name, options, command_guild_id, focused, None)
        ix = self._new_interaction(
            InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE,
            data,
            user=user,
            channel_id=channel_id,
            guild=guild,
            permissions=permissions,
            roles=roles,
            locale=locale,
        )
        ix.name = name
        return await self._deliver_interaction(ix)

    def _lookup_message(self, message: int | str | dict[str, Any] | RecordedRequest) -> dict[str, Any]:
        if isinstance(message, RecordedRequest):
            if message.message is None:
                raise ValueError(f"{message!r} did not produce a message")
            message = message.message
        message_id = int(message["id"]) if isinstance(message, dict) else int(message)
        try:
            return self.messages[message_id]
        except KeyError:
            raise KeyError(f"message {message_id} is unknown to the stub (deleted, or never sent)") from None

    async def component_interaction(
        self,
        message: int | str | dict[str, Any] | RecordedRequest,
        custom_id: str,
        *,
        values: Sequence[str] | None = None,
        user: StubUser | int | None = None,
        permissions: int | None = None,
        roles: Iterable[StubRole | int] | None = None,
        locale: str = "en-US",
    ) -> InjectedInteraction:
        """Inject a component interaction (type 3) on a message the bot sent.

        ``message`` is a message id/object or the :class:`RecordedRequest` that created it. The component
        with ``custom_id`` must exist on the current version of the message and not be disabled
        (a user could not click it otherwise). ``values`` is for select menus.
        """
        stored = self._lookup_message(message)
        component = find_component(stored.get("components") or [], custom_id)
        if component is None:
            raise ValueError(f"message {stored['id']} has no component with custom_id {custom_id!r}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled; a user cannot use it")
        channel = self.channel(int(stored["channel_id"]))
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component.get("type", 2)}
        if "id" in component:
            data["id"] = component["id"]
        if values is not None:
            data["values"] = list(values)
        ix = self._new_interaction(
            InteractionType.MESSAGE_COMPONENT,
            data,
            user=user,
            channel_id=channel.id,
            guild=not channel.is_dm,
            permissions=permissions,
            roles=roles,
            locale=locale,
            message=stored,
        )
        ix.custom_id = custom_id
        return await self._deliver_interaction(ix)

    async def press_button(
        self,
        message: int | str | dict[str, Any] | RecordedRequest,
        custom_id: str,
        *,
        user: StubUser | int | None = None,
        permissions: int | None = None,
        roles: Iterable[StubRole | int] | None = None,
    ) -> InjectedInteraction:
        """Click the button ``custom_id`` on a message the bot sent (see :meth:`component_interaction`)."""
        return await self.component_interaction(message, custom_id, user=user, permissions=permissions, roles=roles)

    async def member_join(self, user: StubUser, *, roles: Iterable[StubRole | int] = ()) -> StubMember:
        """Add a member and dispatch GUILD_MEMBER_ADD (needs the members intent)."""
        member = self.add_member(user, roles=roles)
        data = member.payload()
        data["guild_id"] = str(self.guild.id)
        await self.dispatch("GUILD_MEMBER_ADD", data, intent=Intent.GUILD_MEMBERS)
        return member

    # ---------------------------------------------------------------- gateway server

    async def _handle_gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        query = dict(request.query)
        zlib_stream = self.compress and query.get("compress") == "zlib-stream"
        conn = GatewayConnection(next(self._conn_ids), ws, request.path, query, zlib_stream)
        self.connections.append(conn)
        self._notify()
        try:
            if query.get("encoding", "json") != "json":
                await conn.close(4002, "the stub only speaks encoding=json")
                return ws
            hello = {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ['["gateway-stub",{"micros":0}]']}
            await conn.send(Op.HELLO, hello)
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        payload = json.loads(msg.data)
                    except ValueError:
                        await conn.close(4002, "Error while decoding payload.")
                        break
                    await self._on_gateway_payload(conn, payload)
                elif msg.type == WSMsgType.ERROR:
                    break
        except Exception as exc:  # pragma: no cover - stub bug; surface it to tests
            self.errors.append(f"gateway: {exc!r}")
            _log.exception("discord stub gateway handler failed")
        finally:
            conn.closed_at = time.monotonic()
            if not conn.closed_by_stub:
                conn.close_code = ws.close_code
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                # A client closing with 1000/1001 ends its session (Discord does the same).
                if not conn.closed_by_stub and conn.close_code in (1000, 1001):
                    session.resumable = False
            self._notify()
        return ws

    async def _on_gateway_payload(self, conn: GatewayConnection, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        data = payload.get("d")
        now = time.monotonic()
        self.gateway_received.append(GatewayPayloadRecord(conn.id, op if isinstance(op, int) else -1, data, now))
        if op == Op.HEARTBEAT:
            self.heartbeats.append(HeartbeatRecord(conn.id, now, data))
            if self.ack_heartbeats:
                await conn.send(Op.HEARTBEAT_ACK, None)
        elif op == Op.IDENTIFY:
            await self._on_identify(conn, data or {})
        elif op == Op.RESUME:
            await self._on_resume(conn, data or {})
        elif conn.session is None:
            await conn.close(4003, "Not authenticated.")
        elif op == Op.PRESENCE_UPDATE:
            self.presence = data
        elif op == Op.REQUEST_GUILD_MEMBERS:
            await self._on_request_members(conn.session, data or {})
        elif op == Op.VOICE_STATE_UPDATE:
            pass
        else:
            await conn.close(4001, "Unknown opcode.")
        self._notify()

    async def _on_identify(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        if conn.session is not None:
            await conn.close(4005, "Already authenticated.")
            return
        if self.token is not None and data.get("token") != self.token:
            await conn.close(4004, "Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        privileged = Intent.GUILD_MEMBERS | Intent.GUILD_PRESENCES | Intent.MESSAGE_CONTENT
        if intents & privileged & ~self.privileged_intents:
            await conn.close(4014, "Disallowed intent(s).")
            return
        session = GatewaySession(secrets.token_hex(16), intents, data)
        self.sessions.append(session)
        self._session = session
        conn.session = session
        conn.identified = True
        session.conn = conn
        ready: dict[str, Any] = {
            "v": 10,
            "user": {**self.bot_user.payload(), "verified": True, "mfa_enabled": False, "email": None},
            "user_settings": {},
            "guilds": [{"id": str(self.guild.id), "unavailable": True}],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "application": {"id": str(self.application_id), "flags": APPLICATION_FLAGS},
            "geo_ordered_rtc_regions": ["stub"],
            "auth": {},
            "_trace": ['["gateway-stub",{"micros":0}]'],
        }
        if data.get("shard") is not None:
            ready["shard"] = data["shard"]
        await self._dispatch_to(session, "READY", ready)
        all_members = not self.enforce_intents or session.wants(Intent.GUILD_PRESENCES)
        guild_payload = self.guild.payload(include_all_members=all_members, bot_id=self.bot_user.id)
        await self._dispatch_to(session, "GUILD_CREATE", guild_payload)
        self.identify_count += 1

    async def _on_resume(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        session = next((s for s in self.sessions if s.session_id == data.get("session_id")), None)
        token_ok = self.token is None or data.get("token") == self.token
        if session is None or not session.resumable or not token_ok:
            await conn.send(Op.INVALID_SESSION, False)
            return
        last_seq = data.get("seq")
        async with session.lock:
            old = session.conn
            session.conn = conn
            conn.session = session
            conn.resumed = True
            if old is not None and old is not conn and old.open:
                await old.close(4000, "session resumed elsewhere")
            for seq, text in list(session.log):
                if last_seq is None or seq > last_seq:
                    await conn.send_text(text)
            session.seq += 1
            resumed = {"_trace": ['["gateway-stub",{"micros":0}]']}
            text = json.dumps({"op": Op.DISPATCH, "t": "RESUMED", "s": session.seq, "d": resumed})
            session.log.append((session.seq, text))
            delivered = await conn.send_text(text)
            self.dispatched.append(
                DispatchRecord(session.seq, "RESUMED", session.session_id, resumed, time.monotonic(), delivered)
            )
        self.resume_count += 1

    async def _on_request_members(self, session: GatewaySession, data: dict[str, Any]) -> None:
        guild_ids = data.get("guild_id")
        if not isinstance(guild_ids, list):
            guild_ids = [guild_ids]
        query = (data.get("query") or "").lower()
        limit = int(data.get("limit") or 0)
        user_ids = {int(u) for u in (data.get("user_ids") or [])} if data.get("user_ids") is not None else None
        for gid in guild_ids:
            if int(gid) != self.guild.id:
                continue
            members = []
            for uid, member in self.guild.members.items():
                if user_ids is not None and uid not in user_ids:
                    continue
                if query and not member.user.username.lower().startswith(query):
                    continue
                members.append(member.payload())
            if limit:
                members = members[:limit]
            chunk: dict[str, Any] = {
                "guild_id": str(self.guild.id),
                "members": members,
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [str(u) for u in (user_ids or set()) if u not in self.guild.members],
            }
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            if data.get("presences"):
                chunk["presences"] = []
            await self._dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    # ---------------------------------------------------------------- REST server

    def _build_routes(self) -> list[_Route]:
        table: list[tuple[str, str, str, Callable[[RecordedRequest], Any], bool]] = [
            ("GET", "/gateway", "get_gateway", self._r_gateway, False),
            ("GET", "/gateway/bot", "get_gateway_bot", self._r_gateway_bot, True),
            ("GET", "/users/@me", "get_me", self._r_me, True),
            ("GET", "/users/{user_id}", "get_user", self._r_user, True),
            ("POST", "/users/@me/channels", "create_dm", self._r_create_dm, True),
            ("GET", "/oauth2/applications/@me", "get_application", self._r_application, True),
            ("GET", "/applications/@me", "get_application", self._r_application, True),
            ("GET", "/applications/{application_id}/commands", "get_commands", self._r_get_commands, True),
            ("PUT", "/applications/{application_id}/commands", "bulk_overwrite_commands", self._r_put_commands, True),
            ("POST", "/applications/{application_id}/commands", "upsert_command", self._r_post_command, True),
            ("GET", "/applications/{application_id}/commands/{command_id}", "get_command", self._r_get_command, True),
            (
                "PATCH",
                "/applications/{application_id}/commands/{command_id}",
                "edit_command",
                self._r_patch_command,
                True,
            ),
            (
                "DELETE",
                "/applications/{application_id}/commands/{command_id}",
                "delete_command",
                self._r_delete_command,
                True,
            ),
            (
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                "get_commands",
                self._r_get_commands,
                True,
            ),
            (
                "PUT",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                "bulk_overwrite_commands",
                self._r_put_commands,
                True,
            ),
            (
                "POST",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                "upsert_command",
                self._r_post_command,
                True,
            ),
            (
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                "get_command",
                self._r_get_command,
                True,
            ),
            (
                "PATCH",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                "edit_command",
                self._r_patch_command,
                True,
            ),
            (
                "DELETE",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                "delete_command",
                self._r_delete_command,
                True,
            ),
            ("GET", "/guilds/{guild_id}", "get_guild", self._r_guild, True),
            ("GET", "/guilds/{guild_id}/channels", "get_guild_channels", self._r_guild_channels, True),
            ("GET", "/guilds/{guild_id}/roles", "get_roles", self._r_guild_roles, True),
            ("GET", "/guilds/{guild_id}/members/{user_id}", "get_member", self._r_guild_member, True),
            ("GET", "/guilds/{guild_id}/threads/active", "get_active_threads", self._r_active_threads, True),
            ("GET", "/channels/{channel_id}", "get_channel", self._r_channel, True),
            ("GET", "/channels/{channel_id}/messages", "get_messages", self._r_history, True),
            ("POST", "/channels/{channel_id}/messages", "create_message", self._r_create_message, True),
            ("GET", "/channels/{channel_id}/messages/{message_id}", "get_message", self._r_get_message, True),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", "edit_message", self._r_edit_message, True),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", "delete_message", self._r_delete_message, True),
            (
                "PUT",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                "add_reaction",
                self._r_reaction,
                True,
            ),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                "remove_reaction",
                self._r_reaction,
                True,
            ),
            ("POST", "/channels/{channel_id}/typing", "typing", self._r_typing, True),
            ("POST", "/channels/{channel_id}/threads", "create_thread", self._r_create_thread, True),
            (
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                "create_thread",
                self._r_create_thread,
                True,
            ),
            ("PUT", "/channels/{channel_id}/thread-members/@me", "join_thread", self._r_join_thread, True),
            (
                "POST",
                "/interactions/{interaction_id}/{token}/callback",
                "interaction_callback",
                self._r_callback,
                False,
            ),
            ("POST", "/webhooks/{application_id}/{token}", "followup", self._r_followup, False),
            (
                "GET",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                "get_webhook_message",
                self._r_webhook_get,
                False,
            ),
            (
                "PATCH",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                "edit_webhook_message",
                self._r_webhook_edit,
                False,
            ),
            (
                "DELETE",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                "delete_webhook_message",
                self._r_webhook_delete,
                False,
            ),
        ]
        routes = []
        for method, template, kind, handler, auth in table:
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
            routes.append(_Route(method, template, re.compile(f"^{pattern}$"), kind, handler, auth))
        return routes

    def _match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
        # Literal segments (@me) win over parameters because they are listed first.
        for route in self._routes:
            if route.method != method:
                continue
            m = route.regex.match(path)
            if m:
                return route, m.groupdict()
        return None, {}

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        files: list[UploadedFile] = []
        if not request.body_exists:
            return None, files
        if request.content_type.startswith("multipart/"):
            payload: Any = None
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                raw = await part.read()  # type: ignore[union-attr]
                name = part.name or ""  # type: ignore[union-attr]
                if name == "payload_json":
                    payload = json.loads(raw)
                else:
                    files.append(
                        UploadedFile(name, part.filename, part.headers.get("Content-Type"), bytes(raw))  # type: ignore[union-attr]
                    )
            return payload, files
        raw_text = await request.text()
        if not raw_text:
            return None, files
        try:
            return json.loads(raw_text), files
        except ValueError:
            return raw_text, files

    def _ratelimit_headers(self, route: _Route | None, params: dict[str, str], now: float) -> dict[str, str]:
        if route is None:
            return {}
        route_key = f"{route.method} {route.template}"
        bucket = hashlib.sha1(route_key.encode()).hexdigest()[:16]
        limit, period = (self.rate_limits or {}).get(route_key, (50, 1.0))
        major = params.get("channel_id") or params.get("guild_id") or params.get("token") or ""
        window = self._windows.get(f"{route_key}:{major}")
        if self.rate_limits is None or window is None:
            remaining, reset_after = limit - 1, period
        else:
            remaining, reset_after = max(limit - window.count, 0), max(window.start + period - now, 0.0)
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }

    def _check_rate_limit(self, route: _Route, params: dict[str, str], now: float) -> tuple[float, bool] | None:
        """Count the request in its windows; return (retry_after, is_global) if it must get a 429."""
        if self.rate_limits is None:
            return None
        checks: list[tuple[str, int, float, bool]] = []
        if not route.template.startswith("/interactions/"):
            checks.append(("global", *GLOBAL_RATE_LIMIT, True))
        route_key = f"{route.method} {route.template}"
        if route_key in self.rate_limits:
            major = params.get("channel_id") or params.get("guild_id") or params.get("token") or ""
            checks.append((f"{route_key}:{major}", *self.rate_limits[route_key], False))
        for key, limit, period, is_global in checks:
            window = self._windows.get(key)
            if window is None or now >= window.start + period:
                window = self._windows[key] = _Window(now)
            if window.count >= limit:
                return window.start + period - now, is_global
        for key, _limit, _period, _g in checks:
            self._windows[key].count += 1
        return None

    def _json_response(self, status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
        all_headers = {"Via": "1.1 google", **(headers or {})}
        if body is None:
            return web.Response(status=204 if status == 200 else status, headers=all_headers)
        # Exactly "application/json": discord.py only decodes JSON for that content type.
        all_headers["Content-Type"] = "application/json"
        return web.Response(status=status, body=json.dumps(body).encode(), headers=all_headers)

    def _rate_limited_response(
        self, rec: RecordedRequest, retry_after: float, is_global: bool, body: dict[str, Any] | None = None
    ) -> web.Response:
        route_key = f"{rec.method} {rec.route or rec.path}"
        headers = {
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": hashlib.sha1(route_key.encode()).hexdigest()[:16],
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        payload = body or {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        rec.status, rec.response = 429, payload
        return self._json_response(429, payload, headers)

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        received = time.monotonic()
        path = "/" + request.match_info["tail"]
        method = request.method.upper()
        try:
            json_body, files = await self._read_body(request)
        except Exception as exc:
            json_body, files = None, []
            self.errors.append(f"could not read body of {method} {path}: {exc!r}")
        route, params = self._match(method, path)
        rec = RecordedRequest(
            index=len(self.requests),
            method=method,
            path=path,
            route=route.template if route else None,
            params=params,
            query=dict(request.query),
            json=json_body,
            files=files,
            headers=dict(request.headers),
            received_at=received,
            kind=route.kind if route else "unknown",
        )
        if "channel_id" in params and params["channel_id"].isdigit():
            rec.channel_id = int(params["channel_id"])
        self.requests.append(rec)
        try:
            return await self._answer(request, rec, route)
        finally:
            self._notify()

    async def _answer(self, request: web.Request, rec: RecordedRequest, route: _Route | None) -> web.Response:
        now = time.monotonic()
        fault = next((f for f in self.faults if f.matches(rec.method, rec.path)), None)
        if fault is not None:
            fault.remaining -= 1
            fault.hits.append(rec)
            rec.fault = fault
            if fault.status == 429:
                return self._rate_limited_response(rec, fault.retry_after, fault.is_global, fault.body)
            body = fault.body or {"message": f"{fault.status}: Injected failure", "code": 0}
            rec.status, rec.response = fault.status, body
            return self._json_response(fault.status, body)
        if route is None:
            body = {"message": "404: Not Found", "code": ErrorCode.GENERAL}
            rec.status, rec.response = 404, body
            return self._json_response(404, body)
        if route.auth and self.token is not None and request.headers.get("Authorization") != f"Bot {self.token}":
            body = {"message": "401: Unauthorized", "code": ErrorCode.GENERAL}
            rec.status, rec.response = 401, body
            return self._json_response(401, body)
        limited = self._check_rate_limit(route, rec.params, now)
        if limited is not None:
            return self._rate_limited_response(rec, *limited)
        headers = self._ratelimit_headers(route, rec.params, now)
        try:
            result = await route.handler(rec)
            status, body = result if isinstance(result, tuple) else (200, result)
        except ApiError as exc:
            status, body = exc.status, exc.body
        except Exception as exc:
            # A bug in the stub: answer 400 (not 5xx, which discord.py would retry for seconds) and keep it.
            _log.exception("discord stub route %s failed", route.template)
            self.errors.append(f"{rec.method} {rec.path}: {exc!r}")
            status, body = 400, {"message": f"discord stub internal error: {exc!r}", "code": ErrorCode.GENERAL}
        rec.status = 204 if body is None and status == 200 else status
        rec.response = copy.deepcopy(body)
        return self._json_response(status, body, headers)

    # ---- REST helpers

    def _channel_or_404(self, rec: RecordedRequest) -> StubChannel:
        channel = self._find_channel(int(rec.params["channel_id"])) if rec.params["channel_id"].isdigit() else None
        if channel is None:
            raise ApiError(404, ErrorCode.UNKNOWN_CHANNEL, "Unknown Channel")
        return channel

    def _message_or_404(self, channel: StubChannel, message_id: str) -> dict[str, Any]:
        message = self.messages.get(int(message_id)) if message_id.isdigit() else None
        if message is None or int(message["channel_id"]) != channel.id:
            raise ApiError(404, ErrorCode.UNKNOWN_MESSAGE, "Unknown Message")
        return message

    def _check_app(self, rec: RecordedRequest) -> None:
        if rec.params.get("application_id") != str(self.application_id):
            raise ApiError(403, ErrorCode.MISSING_ACCESS, "Missing Access")

    def _validate_message(self, body: Any, files: list[UploadedFile], *, partial: bool = False) -> dict[str, Any]:
        if not isinstance(body, dict):
            if partial and body is None:
                return {}
            if body is None and files:
                return {}
            raise ApiError(
                400,
                ErrorCode.INVALID_FORM_BODY,
                "Invalid Form Body",
                form_error({"_": [("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")]}),
            )
        if self.validate_payloads:
            error = validate_message_body(body, files=len(files), partial=partial)
            if error is not None:
                raise ApiError(400, error["code"], error["message"], error)
        return body

    def _build_bot_message(
        self,
        channel: StubChannel,
        body: dict[str, Any],
        files: list[UploadedFile],
        *,
        interaction: InjectedInteraction | None = None,
        mtype: int = MessageType.DEFAULT,
        extra_flags: int = 0,
    ) -> dict[str, Any]:
        """Create (and store) a message authored by the bot from a create-message body."""
        message_id = self._ids.next()
        content = body.get("content") or ""
        referenced: dict[str, Any] | None = None
        ref = body.get("message_reference")
        if isinstance(ref, dict) and ref.get("message_id"):
            referenced = self.messages.get(int(ref["message_id"]))
            if referenced is None and ref.get("fail_if_not_exists", True):
                raise ApiError(
                    400,
                    ErrorCode.INVALID_FORM_BODY,
                    "Invalid Form Body",
                    form_error({"message_reference": [("MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")]}),
                )
        mentions = resolve_mentions(
            content,
            body.get("allowed_mentions"),
            known_user_ids=set(self.users),
            known_role_ids=set() if channel.is_dm else set(self.guild.roles),
            replied_user_id=int(referenced["author"]["id"]) if referenced else None,
        )
        flags = (int(body.get("flags") or 0) | extra_flags) & (
            MessageFlag.SUPPRESS_EMBEDS
            | MessageFlag.EPHEMERAL
            | MessageFlag.LOADING
            | MessageFlag.SUPPRESS_NOTIFICATIONS
            | MessageFlag.IS_COMPONENTS_V2
        )
        if interaction is None:
            flags &= ~MessageFlag.EPHEMERAL
        message: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel.id),
            "author": self.bot_user.payload(),
            "content": content,
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": mentions.everyone,
            "mentions": [self.users[u].payload() for u in mentions.user_ids],
            "mention_roles": [str(r) for r in mentions.role_ids],
            "attachments": self._attachments_from(channel.id, body, files),
            "embeds": [{"type": "rich", **e} for e in (body.get("embeds") or [])],
            "pinned": False,
            "type": MessageType.REPLY if referenced and mtype == MessageType.DEFAULT else mtype,
            "flags": flags,
            "components": normalise_components(body.get("components") or []),
        }
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if referenced is not None:
            message["message_reference"] = {
                "type": 0,
                "message_id": referenced["id"],
                "channel_id": referenced["channel_id"],
                **({"guild_id": str(channel.guild_id)} if channel.guild_id else {}),
            }
            message["referenced_message"] = copy.deepcopy(referenced)
        if body.get("poll") is not None:
            message["poll"] = body["poll"]
        if interaction is not None:
            message["webhook_id"] = str(self.application_id)
            message["application_id"] = str(self.application_id)
            metadata = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": interaction.user.payload(),
                "authorizing_integration_owners": interaction.payload["authorizing_integration_owners"],
            }
            if interaction.name:
                metadata["name"] = interaction.name
            if interaction.source_message_id is not None:
                metadata["interacted_message_id"] = str(interaction.source_message_id)
            message["interaction_metadata"] = metadata
        self._store_message(message, channel)
        return message

    def _attachments_from(
        self, channel_id: int, body: dict[str, Any], files: list[UploadedFile]
    ) -> list[dict[str, Any]]:
        declared = {str(a.get("id")): a for a in (body.get("attachments") or []) if isinstance(a, dict)}
        result = []
        for index, upload in enumerate(files):
            meta = declared.get(str(index), {})
            spec: dict[str, Any] = {
                "filename": meta.get("filename") or upload.filename or f"file{index}",
                "data": upload.data,
                "content_type": upload.content_type or "application/octet-stream",
            }
            if meta.get("description"):
                spec["description"] = meta["description"]
            result.append(self._attachment_object(channel_id, spec))
        return result

    def _store_message(self, message: dict[str, Any], channel: StubChannel) -> None:
        self.messages[int(message["id"])] = message
        channel.last_message_id = int(message["id"])
        if channel.is_thread:
            channel.message_count += 1

    def _apply_edit(self, message: dict[str, Any], body: dict[str, Any], files: list[UploadedFile]) -> None:
        channel = self.channel(int(message["channel_id"]))
        if "content" in body:
            message["content"] = body["content"] or ""
            mentions = resolve_mentions(
                message["content"],
                body.get("allowed_mentions"),
                known_user_ids=set(self.users),
                known_role_ids=set() if channel.is_dm else set(self.guild.roles),
            )
            message["mentions"] = [self.users[u].payload() for u in mentions.user_ids]
            message["mention_roles"] = [str(r) for r in mentions.role_ids]
            message["mention_everyone"] = mentions.everyone
        if "embeds" in body:
            message["embeds"] = [{"type": "rich", **e} for e in (body["embeds"] or [])]
        if "components" in body:
            message["components"] = normalise_components(body["components"] or [])
        if "flags" in body and body["flags"] is not None:
            keep = int(message.get("flags") or 0) & (MessageFlag.EPHEMERAL | MessageFlag.IS_COMPONENTS_V2)
            message["flags"] = keep | (int(body["flags"]) & MessageFlag.SUPPRESS_EMBEDS)
        if "attachments" in body or files:
            kept_ids = {str(a.get("id")) for a in (body.get("attachments") or []) if isinstance(a, dict)}
            kept = [a for a in message.get("attachments", []) if a["id"] in kept_ids]
            message["attachments"] = kept + self._attachments_from(channel.id, body, files)
        message["flags"] = int(message.get("flags") or 0) & ~MessageFlag.LOADING
        message["edited_timestamp"] = iso_now()

    async def _echo(self, event: str, message: dict[str, Any]) -> None:
        if not self.echo_bot_messages or int(message.get("flags") or 0) & MessageFlag.EPHEMERAL:
            return
        channel = self.channel(int(message["channel_id"]))
        await self._dispatch_message_event(event, message, channel)

    # ---- REST routes: meta

    async def _r_gateway(self, rec: RecordedRequest) -> Any:
        return {"url": self.gateway_url}

    async def _r_gateway_bot(self, rec: RecordedRequest) -> Any:
        return {
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 1000 - self.identify_count,
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    async def _r_me(self, rec: RecordedRequest) -> Any:
        return {
            **self.bot_user.payload(),
            "verified": True,
            "mfa_enabled": False,
            "locale": "en-US",
            "email": None,
            "bio": "",
            "banner_color": None,
        }

    async def _r_user(self, rec: RecordedRequest) -> Any:
        user_id = rec.params["user_id"]
        user = self.users.get(int(user_id)) if user_id.isdigit() else None
        if user is None:
            raise ApiError(404, ErrorCode.UNKNOWN_USER, "Unknown User")
        return user.payload()

    async def _r_application(self, rec: RecordedRequest) -> Any:
        return {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": hashlib.sha256(str(self.application_id).encode()).hexdigest(),
            "owner": self.owner.payload(),
            "team": None,
            "flags": APPLICATION_FLAGS,
            "bot": self.bot_user.payload(),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "tags": [],
            "approximate_guild_count": 1,
            "integration_types_config": {"0": {}},
        }

    async def _r_create_dm(self, rec: RecordedRequest) -> Any:
        body = rec.json if isinstance(rec.json, dict) else {}
        recipient = str(body.get("recipient_id", ""))
        user = self.users.get(int(recipient)) if recipient.isdigit() else None
        if user is None or user.id == self.bot_user.id:
            raise ApiError(400, ErrorCode.INVALID_RECIPIENTS, "Invalid Recipient(s)")
        channel = self.dm_channel_for(user)
        rec.channel_id = channel.id
        return channel.payload()

    # ---- REST routes: guild

    def _check_guild(self, rec: RecordedRequest) -> None:
        if rec.params.get("guild_id") != str(self.guild.id):
            raise ApiError(403, ErrorCode.MISSING_ACCESS, "Missing Access")

    async def _r_guild(self, rec: RecordedRequest) -> Any:
        self._check_guild(rec)
        data = self.guild.payload(include_all_members=False, bot_id=self.bot_user.id)
        for key in (
            "members",
            "channels",
            "threads",
            "presences",
            "voice_states",
            "joined_at",
            "large",
            "member_count",
            "lazy",
            "unavailable",
        ):
            data.pop(key, None)
        return data

    async def _r_guild_channels(self, rec: RecordedRequest) -> Any:
        self._check_guild(rec)
        return [c.payload() for c in self.guild.channels.values() if not c.is_thread]

    async def _r_guild_roles(self, rec: RecordedRequest) -> Any:
        self._check_guild(rec)
        return [r.payload() for r in self.guild.roles.values()]

    async def _r_guild_member(self, rec: RecordedRequest) -> Any:
        self._check_guild(rec)
        user_id = rec.params["user_id"]
        member = self.guild.members.get(int(user_id)) if user_id.isdigit() else None
        if member is None:
            raise ApiError(404, ErrorCode.UNKNOWN_MEMBER, "Unknown Member")
        return member.payload()

    async def _r_active_threads(self, rec: RecordedRequest) -> Any:
        self._check_guild(rec)
        threads = [c.payload() for c in self.guild.channels.values() if c.is_thread and not c.archived]
        return {"threads": threads, "members": []}

    # ---- REST routes: channels & messages

    async def _r_channel(self, rec: RecordedRequest) -> Any:
        return self._channel_or_404(rec).payload()

    async def _r_history(self, rec: RecordedRequest) -> Any:
        channel = self._channel_or_404(rec)
        limit = int(rec.query.get("limit", 50))
        before = int(rec.query["before"]) if rec.query.get("before", "").isdigit() else None
        after = int(rec.query["after"]) if rec.query.get("after", "").isdigit() else None
        messages = sorted(self.messages_in(channel.id), key=lambda m: int(m["id"]), reverse=True)
        if before is not None:
            messages = [m for m in messages if int(m["id"]) < before]
        if after is not None:
            messages = [m for m in messages if int(m["id"]) > after]
        return [m for m in messages if not int(m.get("flags") or 0) & MessageFlag.EPHEMERAL][:limit]

    async def _r_create_message(self, rec: RecordedRequest) -> Any:
        channel = self._channel_or_404(rec)
        if channel.is_thread and (channel.archived or channel.locked):
            raise ApiError(400, 50083, "Thread is archived")
        body = self._validate_message(rec.json, rec.files)
        nonce_key = (channel.id, str(body.get("nonce"))) if body.get("enforce_nonce") and body.get("nonce") else None
        if nonce_key is not None and self._nonces.get(nonce_key) in self.messages:
            # Discord de-duplicates retried sends with the same nonce (enforce_nonce): same message back.
            rec.kind = "duplicate_message"
            return self.messages[self._nonces[nonce_key]]
        message = self._build_bot_message(channel, body, rec.files)
        if nonce_key is not None:
            self._nonces[nonce_key] = int(message["id"])
        rec.message = copy.deepcopy(message)
        await self._echo("MESSAGE_CREATE", message)
        return message

    async def _r_get_message(self, rec: RecordedRequest) -> Any:
        channel = self._channel_or_404(rec)
        return self._message_or_404(channel, rec.params["message_id"])

    def _own_message(self, rec: RecordedRequest) -> tuple[StubChannel, dict[str, Any]]:
        channel = self._channel_or_404(rec)
        message = self._message_or_404(channel, rec.params["message_id"])
        if int(message["author"]["id"]) != self.bot_user.id:
            raise ApiError(
                403, ErrorCode.CANNOT_EDIT_OTHER_USERS_MESSAGE, "Cannot edit a message authored by another user"
            )
        return channel, message

    async def _r_edit_message(self, rec: RecordedRequest) -> Any:
        _channel, message = self._own_message(rec)
        body = self._validate_message(rec.json, rec.files, partial=True)
        self._apply_edit(message, body, rec.files)
        rec.message = copy.deepcopy(message)
        await self._echo("MESSAGE_UPDATE", message)
        return message

    async def _r_delete_message(self, rec: RecordedRequest) -> Any:
        channel = self._channel_or_404(rec)
        message = self._message_or_404(channel, rec.params["message_id"])
        author_id = int(message["author"]["id"])
        if author_id != self.bot_user.id and not channel.is_dm:
            if not self.guild.member_permissions(self.bot_user.id) & Perm.MANAGE_MESSAGES:
                raise ApiError(403, ErrorCode.MISSING_ACCESS, "Missing Permissions")
        elif author_id != self.bot_user.id:
            raise ApiError(403, ErrorCode.MISSING_ACCESS, "Cannot delete a message authored by another user")
        del self.messages[int(message["id"])]
        if self.echo_bot_messages:
            await self._dispatch_delete(int(message["id"]), channel)
        return None

    async def _r_reaction(self, rec: RecordedRequest) -> Any:
        channel = self._channel_or_404(rec)
        self._message_or_404(channel, rec.params["message_id"])
        return None

    async def _r_typing(self, rec: RecordedRequest) -> Any:
        self._channel_or_404(rec)
        return None

    async def _r_create_thread(self, rec: RecordedRequest) -> Any:
        parent = self._channel_or_404(rec)
        body = rec.json if isinstance(rec.json, dict) else {}
        if parent.is_dm or parent.is_thread or parent.guild_id is None:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        name = body.get("name") or ""
        if self.validate_payloads and not 1 <= len(name) <= 100:
            raise ApiError(
                400,
                ErrorCode.INVALID_FORM_BODY,
                "Invalid Form Body",
                form_error({"name": [("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")]}),
            )
        from_message = "message_id" in rec.params
        if from_message:
            source = self._message_or_404(parent, rec.params["message_id"])
            if source.get("thread"):
                raise ApiError(
                    400, ErrorCode.THREAD_ALREADY_CREATED, "A thread has already been created for this message"
                )
            thread_id = int(source["id"])  # Discord reuses the message id
            ttype = (
                ChannelType.ANNOUNCEMENT_THREAD
                if parent.type == ChannelType.GUILD_ANNOUNCEMENT
                else ChannelType.PUBLIC_THREAD
            )
        else:
            source = None
            thread_id = self._ids.next()
            ttype = int(body.get("type") or ChannelType.PRIVATE_THREAD)
            if ttype not in (ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD, ChannelType.ANNOUNCEMENT_THREAD):
                raise ApiError(
                    400,
                    ErrorCode.INVALID_FORM_BODY,
                    "Invalid Form Body",
                    form_error({"type": [("BASE_TYPE_CHOICES", "Value must be one of {10, 11, 12}.")]}),
                )
        thread = StubChannel(
            id=thread_id,
            type=ttype,
            name=name,
            guild_id=self.guild.id,
            parent_id=parent.id,
            owner_id=self.bot_user.id,
            rate_limit_per_user=int(body.get("rate_limit_per_user") or 0),
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
            invitable=bool(body.get("invitable", True)),
        )
        self.guild.channels[thread.id] = thread
        data = thread.payload()
        data["member"] = {
            "id": str(thread.id),
            "user_id": str(self.bot_user.id),
            "join_timestamp": iso_now(),
            "flags": 0,
        }
        if source is not None:
            source["thread"] = thread.payload()
        rec.channel_id = thread.id
        if self._session is not None:
            await self.dispatch("THREAD_CREATE", {**data, "newly_created": True}, intent=Intent.GUILDS)
        return (201, data)

    async def _r_join_thread(self, rec: RecordedRequest) -> Any:
        channel = self._channel_or_404(rec)
        if not channel.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return None

    # ---- REST routes: application commands

    def _scope(self, rec: RecordedRequest) -> int | None:
        self._check_app(rec)
        if "guild_id" in rec.params:
            self._check_guild(rec)
            return self.guild.id
        return None

    def _store_command(
        self, scope: int | None, cmd: dict[str, Any], existing: dict[tuple[str, int], dict[str, Any]]
    ) -> dict[str, Any]:
        ctype = int(cmd.get("type", 1))
        key = (cmd["name"], ctype)
        previous = existing.get(key)
        stored = {
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "nsfw": False,
            "contexts": None,
            "integration_types": [0],
            "name_localizations": None,
            "description_localizations": None,
            **copy.deepcopy(cmd),
            "id": previous["id"] if previous else str(self._ids.next()),
            "application_id": str(self.application_id),
            "version": str(self._ids.next()),
            "type": ctype,
        }
        if scope is not None:
            stored["guild_id"] = str(scope)
        else:
            stored.setdefault("dm_permission", True)
        return stored

    def _validate_commands(self, commands: list[Any]) -> None:
        if not self.validate_payloads:
            return
        errors: dict[str, list[tuple[str, str]]] = {}
        seen: set[tuple[str, int]] = set()
        for index, cmd in enumerate(commands):
            errors.update(validate_command(cmd, index))
            if isinstance(cmd, dict):
                key = (cmd.get("name", ""), int(cmd.get("type", 1)))
                if key in seen:
                    errors[f"{index}.name"] = [
                        ("APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
                    ]
                seen.add(key)
        if sum(1 for c in commands if isinstance(c, dict) and c.get("type", 1) == 1) > 100:
            errors["_"] = [("BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")]
        if errors:
            raise ApiError(400, ErrorCode.INVALID_FORM_BODY, "Invalid Form Body", form_error(errors))

    async def _r_get_commands(self, rec: RecordedRequest) -> Any:
        return list(self.commands.get(self._scope(rec), {}).values())

    async def _r_put_commands(self, rec: RecordedRequest) -> Any:
        scope = self._scope(rec)
        commands = rec.json if isinstance(rec.json, list) else []
        self._validate_commands(commands)
        existing = self.commands.get(scope, {})
        new: dict[tuple[str, int], dict[str, Any]] = {}
        for cmd in commands:
            stored = self._store_command(scope, cmd, existing)
            new[(stored["name"], stored["type"])] = stored
        self.commands[scope] = new
        return list(new.values())

    async def _r_post_command(self, rec: RecordedRequest) -> Any:
        scope = self._scope(rec)
        cmd = rec.json if isinstance(rec.json, dict) else {}
        self._validate_commands([cmd])
        existing = self.commands.setdefault(scope, {})
        stored = self._store_command(scope, cmd, existing)
        created = (stored["name"], stored["type"]) not in existing
        existing[(stored["name"], stored["type"])] = stored
        return (201 if created else 200, stored)

    def _command_or_404(self, rec: RecordedRequest) -> tuple[int | None, tuple[str, int], dict[str, Any]]:
        scope = self._scope(rec)
        for key, cmd in self.commands.get(scope, {}).items():
            if cmd["id"] == rec.params["command_id"]:
                return scope, key, cmd
        raise ApiError(404, ErrorCode.UNKNOWN_APPLICATION_COMMAND, "Unknown application command")

    async def _r_get_command(self, rec: RecordedRequest) -> Any:
        return self._command_or_404(rec)[2]

    async def _r_patch_command(self, rec: RecordedRequest) -> Any:
        scope, key, cmd = self._command_or_404(rec)
        merged = {**cmd, **(rec.json if isinstance(rec.json, dict) else {})}
        self._validate_commands([merged])
        existing = self.commands[scope]
        del existing[key]
        stored = self._store_command(scope, merged, {key: cmd})
        existing[(stored["name"], stored["type"])] = stored
        return stored

    async def _r_delete_command(self, rec: RecordedRequest) -> Any:
        scope, key, _cmd = self._command_or_404(rec)
        del self.commands[scope][key]
        return None

    # ---- REST routes: interactions & webhooks

    def _interaction_for_token(self, rec: RecordedRequest) -> InjectedInteraction:
        ix = self._interactions_by_token.get(rec.params["token"])
        if ix is None or rec.params.get("application_id") != str(self.application_id):
            raise ApiError(404, ErrorCode.UNKNOWN_WEBHOOK, "Unknown Webhook")
        if time.monotonic() - ix.created_at > INTERACTION_TOKEN_LIFETIME:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if not ix.responded:
            # The interaction webhook only exists once the interaction has been acknowledged.
            raise ApiError(404, ErrorCode.UNKNOWN_WEBHOOK, "Unknown Webhook")
        rec.interaction = ix
        rec.channel_id = ix.channel_id
        return ix

    async def _r_callback(self, rec: RecordedRequest) -> Any:
        interaction_id = rec.params["interaction_id"]
        ix = self.interactions.get(int(interaction_id)) if interaction_id.isdigit() else None
        if ix is None or ix.token != rec.params["token"]:
            raise ApiError(404, ErrorCode.UNKNOWN_INTERACTION, "Unknown interaction")
        rec.interaction = ix
        rec.channel_id = ix.channel_id
        if ix.responded:
            raise ApiError(
                400, ErrorCode.INTERACTION_ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged."
            )
        age = time.monotonic() - ix.created_at
        if self.interaction_deadline is not None and age > self.interaction_deadline:
            raise ApiError(404, ErrorCode.UNKNOWN_INTERACTION, "Unknown interaction")
        body = rec.json if isinstance(rec.json, dict) else {}
        ctype = body.get("type")
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        is_component = ix.type == InteractionType.MESSAGE_COMPONENT
        allowed = {
            InteractionType.APPLICATION_COMMAND: {4, 5, 9, 10, 12},
            InteractionType.MESSAGE_COMPONENT: {4, 5, 6, 7, 9, 10, 12},
            InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE: {8},
            InteractionType.MODAL_SUBMIT: {4, 5, 6, 7},
        }.get(ix.type, set())
        if ctype not in allowed:
            raise ApiError(
                400,
                ErrorCode.INVALID_FORM_BODY,
                "Invalid Form Body",
                form_error(
                    {"type": [("INTERACTION_RESPONSE_TYPE_INVALID", f"Callback type {ctype} is not valid here")]}
                ),
            )
        channel = self.channel(ix.channel_id)
        message: dict[str, Any] | None = None
        loading = False
        if ctype == CallbackType.CHANNEL_MESSAGE_WITH_SOURCE:
            self._validate_message(data, rec.files)
            mtype = MessageType.DEFAULT if is_component else MessageType.CHAT_INPUT_COMMAND
            message = self._build_bot_message(channel, data, rec.files, interaction=ix, mtype=mtype)
            ix.original_message_id = int(message["id"])
            await self._echo("MESSAGE_CREATE", message)
        elif ctype == CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            loading = True
            flags = int(data.get("flags") or 0) & MessageFlag.EPHEMERAL
            mtype = MessageType.DEFAULT if is_component else MessageType.CHAT_INPUT_COMMAND
            message = self._build_bot_message(
                channel,
                {"content": "", "flags": flags},
                [],
                interaction=ix,
                mtype=mtype,
                extra_flags=MessageFlag.LOADING,
            )
            ix.original_message_id = int(message["id"])
            await self._echo("MESSAGE_CREATE", message)
        elif ctype in (CallbackType.DEFERRED_UPDATE_MESSAGE, CallbackType.UPDATE_MESSAGE):
            if ix.source_message_id is None or ix.source_message_id not in self.messages:
                raise ApiError(404, ErrorCode.UNKNOWN_MESSAGE, "Unknown Message")
            message = self.messages[ix.source_message_id]
            ix.original_message_id = ix.source_message_id
            if ctype == CallbackType.UPDATE_MESSAGE:
                self._validate_message(data, rec.files, partial=True)
                self._apply_edit(message, data, rec.files)
                await self._echo("MESSAGE_UPDATE", message)
        elif ctype == CallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT:
            choices = data.get("choices") or []
            if self.validate_payloads and len(choices) > 25:
                raise ApiError(
                    400,
                    ErrorCode.INVALID_FORM_BODY,
                    "Invalid Form Body",
                    form_error({"data.choices": [("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")]}),
                )
        ix.response_type = ctype
        ix.responded_at = time.monotonic()
        if message is not None:
            rec.message = copy.deepcopy(message)
        if rec.query.get("with_response") not in ("1", "true", "True"):
            return None
        info: dict[str, Any] = {"id": str(ix.id), "type": ix.type}
        if message is not None:
            info.update(
                response_message_id=message["id"],
                response_message_loading=loading,
                response_message_ephemeral=bool(int(message.get("flags") or 0) & MessageFlag.EPHEMERAL),
            )
        result: dict[str, Any] = {"interaction": info}
        if ctype in (4, 5, 6, 7, 8, 9):
            result["resource"] = {"type": ctype}
            if message is not None:
                result["resource"]["message"] = copy.deepcopy(message)
        return result

    async def _r_followup(self, rec: RecordedRequest) -> Any:
        ix = self._interaction_for_token(rec)
        body = self._validate_message(rec.json, rec.files)
        channel = self.channel(ix.channel_id)
        message = self._build_bot_message(channel, body, rec.files, interaction=ix)
        ix.followup_ids.append(int(message["id"]))
        rec.message = copy.deepcopy(message)
        await self._echo("MESSAGE_CREATE", message)
        if rec.query.get("wait") not in ("1", "true", "True"):
            return None
        return message

    def _webhook_message(self, rec: RecordedRequest, ix: InjectedInteraction) -> dict[str, Any]:
        message_id = rec.params["message_id"]
        if message_id == "@original":
            target = ix.original_message_id
        else:
            target = int(message_id) if message_id.isdigit() else None
            if target not in ix.followup_ids and target != ix.original_message_id:
                target = None
        if target is None or target not in self.messages:
            raise ApiError(404, ErrorCode.UNKNOWN_MESSAGE, "Unknown Message")
        return self.messages[target]

    async def _r_webhook_get(self, rec: RecordedRequest) -> Any:
        ix = self._interaction_for_token(rec)
        return self._webhook_message(rec, ix)

    async def _r_webhook_edit(self, rec: RecordedRequest) -> Any:
        ix = self._interaction_for_token(rec)
        message = self._webhook_message(rec, ix)
        body = self._validate_message(rec.json, rec.files, partial=True)
        self._apply_edit(message, body, rec.files)
        rec.message = copy.deepcopy(message)
        await self._echo("MESSAGE_UPDATE", message)
        return message

    async def _r_webhook_delete(self, rec: RecordedRequest) -> Any:
        ix = self._interaction_for_token(rec)
        message = self._webhook_message(rec, ix)
        del self.messages[int(message["id"])]
        if not int(message.get("flags") or 0) & MessageFlag.EPHEMERAL and self.echo_bot_messages:
            await self._dispatch_delete(int(message["id"]), self.channel(int(message["channel_id"])))
        return None
