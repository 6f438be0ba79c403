"""The stub's records and small types: recorded requests, faults, injected interactions, gateway
connections and sessions, and the constants of the Discord behaviour it mirrors."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import logging
import re
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from .payloads import (
    MessageFlag,
    StubUser,
)

_log = logging.getLogger("discord_stub.server")


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
