"""Discord-shaped data model, constants and JSON payload builders for the loopback Discord stub.

Everything here is plain data: small dataclasses for users, roles, members, channels and the guild
(each with a ``payload()`` method that renders the exact JSON shape Discord's API v10 uses), the
numeric constants the stub needs (opcodes, intents, permission bits, error codes), a snowflake
generator, and the validation / mention-resolution rules that real Discord applies to messages a
bot sends. :mod:`tests.discord_stub.server` builds on these.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any

#: Discord's epoch (2015-01-01T00:00:00Z) in milliseconds; snowflakes count from it.
DISCORD_EPOCH_MS = 1_420_070_400_000

# Fixed ids of the default world, so configs/tests can refer to them without looking them up.
DEFAULT_BOT_ID = 1_210_000_000_000_000_001
DEFAULT_GUILD_ID = 1_220_000_000_000_000_001
DEFAULT_OWNER_ID = 1_230_000_000_000_000_001
DEFAULT_ADMIN_USER_ID = 1_230_000_000_000_000_002
DEFAULT_MEMBER_USER_ID = 1_230_000_000_000_000_003
DEFAULT_ADMIN_ROLE_ID = 1_240_000_000_000_000_001
DEFAULT_MEMBER_ROLE_ID = 1_240_000_000_000_000_002
DEFAULT_BOT_ROLE_ID = 1_240_000_000_000_000_003
#: Text channels of the default guild get ids ``DEFAULT_CHANNEL_ID_BASE + 1``, ``+ 2``, ...
DEFAULT_CHANNEL_ID_BASE = 1_250_000_000_000_000_000


class Op(IntEnum):
    """Gateway opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes)."""

    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    VOICE_STATE_UPDATE = 4
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class Intent:
    """Gateway intent bits the stub honours when deciding which events a session receives."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15


class Perm:
    """Permission bits (https://discord.com/developers/docs/topics/permissions)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    #: Every permission bit currently defined (what owners / administrators effectively hold).
    ALL = (1 << 51) - 1
    #: What ``@everyone`` gets in a freshly created guild (the subset relevant to a text bot).
    DEFAULT_EVERYONE = (
        CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_EXTERNAL_EMOJIS
        | CHANGE_NICKNAME
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | CREATE_PRIVATE_THREADS
        | SEND_MESSAGES_IN_THREADS
    )


class ChannelType(IntEnum):
    """Channel types used by the stub."""

    GUILD_TEXT = 0
    DM = 1
    GUILD_VOICE = 2
    GUILD_CATEGORY = 4
    GUILD_ANNOUNCEMENT = 5
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    GUILD_FORUM = 15


THREAD_TYPES = frozenset({ChannelType.ANNOUNCEMENT_THREAD, ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD})


class InteractionType(IntEnum):
    """Interaction types (what the user did)."""

    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    APPLICATION_COMMAND_AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class CallbackType(IntEnum):
    """Interaction callback types (how the bot answered)."""

    PONG = 1
    CHANNEL_MESSAGE_WITH_SOURCE = 4
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    APPLICATION_COMMAND_AUTOCOMPLETE_RESULT = 8
    MODAL = 9
    PREMIUM_REQUIRED = 10
    LAUNCH_ACTIVITY = 12


class MessageType(IntEnum):
    """Message types the stub produces."""

    DEFAULT = 0
    REPLY = 19
    CHAT_INPUT_COMMAND = 20


class MessageFlag:
    """Message flag bits."""

    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_COMPONENTS_V2 = 1 << 15


class ErrorCode:
    """JSON error codes that appear in the stub's error bodies."""

    GENERAL = 0
    UNKNOWN_CHANNEL = 10003
    UNKNOWN_GUILD = 10004
    UNKNOWN_MEMBER = 10007
    UNKNOWN_MESSAGE = 10008
    UNKNOWN_ROLE = 10011
    UNKNOWN_USER = 10013
    UNKNOWN_WEBHOOK = 10015
    UNKNOWN_INTERACTION = 10062
    UNKNOWN_APPLICATION_COMMAND = 10063
    INTERACTION_ALREADY_ACKNOWLEDGED = 40060
    MISSING_ACCESS = 50001
    CANNOT_EDIT_OTHER_USERS_MESSAGE = 50005
    CANNOT_SEND_EMPTY_MESSAGE = 50006
    INVALID_RECIPIENTS = 50033
    INVALID_FORM_BODY = 50035
    THREAD_ALREADY_CREATED = 160004


# --------------------------------------------------------------------------------------------------
# ids and time


class SnowflakeGenerator:
    """Produces increasing, time-based snowflake ids (so ``discord.Object(id).created_at`` is sane)."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._last = 0

    def next(self) -> int:
        """Return a fresh snowflake, strictly greater than every earlier one from this generator."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        value = (ms << 22) | (1 << 17) | (next(self._counter) & 0xFFF)
        if value <= self._last:
            value = self._last + 1
        self._last = value
        return value


def iso_now() -> str:
    """The current UTC time in Discord's ISO-8601 timestamp format."""
    return datetime.now(timezone.utc).isoformat()


def snowflake_time(snowflake: int) -> str:
    """The ISO-8601 creation time encoded in ``snowflake``."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat()


# --------------------------------------------------------------------------------------------------
# model


@dataclass
class StubUser:
    """A Discord user (human or bot) known to the stub."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None

    @property
    def mention(self) -> str:
        """The ``<@id>`` mention string for this user."""
        return f"<@{self.id}>"

    def payload(self) -> dict[str, Any]:
        """The user object as Discord serialises it."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": self.avatar,
            "avatar_decoration_data": None,
            "banner": None,
            "accent_color": None,
            "public_flags": 0,
            "flags": 0,
            "bot": self.bot,
            "system": False,
        }
        return data


@dataclass
class StubRole:
    """A guild role; the ``@everyone`` role has the same id as its guild."""

    id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    managed: bool = False
    mentionable: bool = False
    bot_id: int | None = None

    @property
    def mention(self) -> str:
        """The ``<@&id>`` mention string for this role."""
        return f"<@&{self.id}>"

    def payload(self) -> dict[str, Any]:
        """The role object as Discord serialises it."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class StubMember:
    """A user's membership in the stub guild: role ids (without ``@everyone``), nickname, join time."""

    user: StubUser
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_now)

    def payload(self, *, include_user: bool = True, permissions: int | None = None) -> dict[str, Any]:
        """The guild member object; ``permissions`` is added for interaction payloads."""
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.role_ids],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if include_user:
            data["user"] = self.user.payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class StubChannel:
    """A channel: guild text/announcement channel, thread (``parent_id`` set) or DM (``recipients``)."""

    id: int
    type: int = ChannelType.GUILD_TEXT
    name: str | None = None
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    owner_id: int | None = None
    recipients: list[StubUser] = field(default_factory=list)
    last_message_id: int | None = None
    rate_limit_per_user: int = 0
    nsfw: bool = False
    message_count: int = 0
    auto_archive_duration: int = 1440
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    created_at: str = field(default_factory=iso_now)

    @property
    def is_thread(self) -> bool:
        """Whether this channel is a thread."""
        return self.type in THREAD_TYPES

    @property
    def is_dm(self) -> bool:
        """Whether this channel is a direct-message channel."""
        return self.type == ChannelType.DM

    @property
    def mention(self) -> str:
        """The ``<#id>`` mention string for this channel."""
        return f"<#{self.id}>"

    def payload(self) -> dict[str, Any]:
        """The channel object as Discord serialises it (shape depends on the channel type)."""
        last = str(self.last_message_id) if self.last_message_id else None
        if self.is_dm:
            return {
                "id": str(self.id),
                "type": int(self.type),
                "last_message_id": last,
                "flags": 0,
                "recipients": [u.payload() for u in self.recipients],
            }
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": int(self.type),
            "guild_id": str(self.guild_id),
            "name": self.name,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "last_message_id": last,
            "rate_limit_per_user": self.rate_limit_per_user,
            "flags": 0,
        }
        if self.is_thread:
            data.update(
                {
                    "owner_id": str(self.owner_id) if self.owner_id else None,
                    "message_count": self.message_count,
                    "total_message_sent": self.message_count,
                    "member_count": 1,
                    "thread_metadata": {
                        "archived": self.archived,
                        "auto_archive_duration": self.auto_archive_duration,
                        "archive_timestamp": self.created_at,
                        "locked": self.locked,
                        "invitable": self.invitable,
                        "create_timestamp": self.created_at,
                    },
                }
            )
        else:
            data.update(
                {
                    "position": self.position,
                    "permission_overwrites": [],
                    "nsfw": self.nsfw,
                    "topic": self.topic,
                }
            )
        return data


@dataclass
class StubGuild:
    """The stub's guild: its roles, channels (including threads) and members, keyed by id."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, StubRole] = field(default_factory=dict)
    channels: dict[int, StubChannel] = field(default_factory=dict)
    members: dict[int, StubMember] = field(default_factory=dict)
    joined_at: str = field(default_factory=iso_now)

    @property
    def everyone_role(self) -> StubRole:
        """The ``@everyone`` role (same id as the guild)."""
        return self.roles[self.id]

    def member_permissions(self, user_id: int) -> int:
        """Guild-level permissions of a member: owner/administrator get everything, else the role union."""
        if user_id == self.owner_id:
            return Perm.ALL
        perms = self.everyone_role.permissions
        member = self.members.get(user_id)
        if member is not None:
            for role_id in member.role_ids:
                role = self.roles.get(role_id)
                if role is not None:
                    perms |= role.permissions
        if perms & Perm.ADMINISTRATOR:
            return Perm.ALL
        return perms

    def payload(self, *, include_all_members: bool = True, bot_id: int | None = None) -> dict[str, Any]:
        """The GUILD_CREATE payload.

        Real Discord only includes every member when the session has the presences intent; otherwise
        just the bot itself (the client then requests members with opcode 8).
        """
        members = [m.payload() for uid, m in self.members.items() if include_all_members or uid == bot_id]
        channels = [c.payload() for c in self.channels.values() if not c.is_thread]
        threads = [c.payload() for c in self.channels.values() if c.is_thread and not c.archived]
        text_channels = [c for c in self.channels.values() if c.type == ChannelType.GUILD_TEXT]
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "system_channel_id": str(text_channels[0].id) if text_channels else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "application_id": None,
            "features": [],
            "roles": [r.payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "soundboard_sounds": [],
            "joined_at": self.joined_at,
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(self.members),
            "members": members,
            "channels": channels,
            "threads": threads,
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "embedded_activities": [],
            "incidents_data": None,
        }

    def partial_payload(self) -> dict[str, Any]:
        """The short guild object Discord puts in interaction payloads."""
        return {"id": str(self.id), "locale": "en-US", "features": []}


# --------------------------------------------------------------------------------------------------
# message rules


_USER_MENTION = re.compile(r"<@!?(\d{15,21})>")
_ROLE_MENTION = re.compile(r"<@&(\d{15,21})>")


@dataclass
class ResolvedMentions:
    """Who a message actually pings once ``allowed_mentions`` has been applied."""

    user_ids: list[int]
    role_ids: list[int]
    everyone: bool


def resolve_mentions(
    content: str,
    allowed_mentions: dict[str, Any] | None,
    *,
    known_user_ids: set[int],
    known_role_ids: set[int],
    replied_user_id: int | None = None,
) -> ResolvedMentions:
    """Apply Discord's mention rules to a message the bot sends.

    Mentions are parsed from ``content`` (``<@id>``, ``<@&id>``, ``@everyone``/``@here``) and
    filtered through ``allowed_mentions`` exactly like Discord does: no ``allowed_mentions`` means
    everything (and the replied-to user) pings; with it, only the ``parse`` categories and the
    explicit ``users``/``roles`` lists ping, and the replied user only with ``replied_user: true``.
    """
    users = [int(u) for u in _USER_MENTION.findall(content)]
    roles = [int(r) for r in _ROLE_MENTION.findall(content)]
    everyone = "@everyone" in content or "@here" in content
    if allowed_mentions is None:
        parse = {"users", "roles", "everyone"}
        explicit_users: set[int] = set()
        explicit_roles: set[int] = set()
        replied = True
    else:
        parse = set(allowed_mentions.get("parse") or [])
        explicit_users = {int(u) for u in allowed_mentions.get("users") or []}
        explicit_roles = {int(r) for r in allowed_mentions.get("roles") or []}
        replied = bool(allowed_mentions.get("replied_user", False))
    user_ids: list[int] = []
    for uid in users:
        if uid in known_user_ids and ("users" in parse or uid in explicit_users) and uid not in user_ids:
            user_ids.append(uid)
    if replied_user_id is not None and replied and replied_user_id not in user_ids:
        user_ids.append(replied_user_id)
    role_ids: list[int] = []
    for rid in roles:
        if rid in known_role_ids and ("roles" in parse or rid in explicit_roles) and rid not in role_ids:
            role_ids.append(rid)
    return ResolvedMentions(user_ids=user_ids, role_ids=role_ids, everyone=everyone and "everyone" in parse)


def parse_mentions_in_content(content: str) -> tuple[list[int], list[int], bool]:
    """The raw user ids, role ids and everyone flag written in ``content`` (no filtering)."""
    users = [int(u) for u in _USER_MENTION.findall(content)]
    roles = [int(r) for r in _ROLE_MENTION.findall(content)]
    return users, roles, ("@everyone" in content or "@here" in content)


def form_error(errors: dict[str, list[tuple[str, str]]]) -> dict[str, Any]:
    """Build Discord's ``Invalid Form Body`` (50035) error body from ``{"a.b.c": [(code, message)]}``."""
    tree: dict[str, Any] = {}
    for dotted, items in errors.items():
        node = tree
        for part in dotted.split("."):
            node = node.setdefault(part, {})
        node["_errors"] = [{"code": code, "message": message} for code, message in items]
    return {"code": ErrorCode.INVALID_FORM_BODY, "errors": tree, "message": "Invalid Form Body"}


def _max_len(errors: dict[str, list[tuple[str, str]]], key: str, value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        errors.setdefault(key, []).append(("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."))


def _validate_embeds(embeds: Any, errors: dict[str, list[tuple[str, str]]]) -> None:
    if not isinstance(embeds, list):
        errors["embeds"] = [("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")]
        return
    if len(embeds) > 10:
        errors["embeds"] = [("BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")]
    total = 0
    for i, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            errors[f"embeds.{i}"] = [("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")]
            continue
        prefix = f"embeds.{i}"
        for key, limit in (("title", 256), ("description", 4096)):
            _max_len(errors, f"{prefix}.{key}", embed.get(key), limit)
            total += len(embed.get(key) or "")
        footer = embed.get("footer") or {}
        _max_len(errors, f"{prefix}.footer.text", footer.get("text"), 2048)
        total += len(footer.get("text") or "")
        author = embed.get("author") or {}
        _max_len(errors, f"{prefix}.author.name", author.get("name"), 256)
        total += len(author.get("name") or "")
        fields = embed.get("fields") or []
        if len(fields) > 25:
            errors[f"{prefix}.fields"] = [("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")]
        for j, fld in enumerate(fields):
            name, value = fld.get("name"), fld.get("value")
            for key, val, limit in (("name", name, 256), ("value", value, 1024)):
                if not val:
                    errors.setdefault(f"{prefix}.fields.{j}.{key}", []).append(
                        ("BASE_TYPE_REQUIRED", "This field is required")
                    )
                _max_len(errors, f"{prefix}.fields.{j}.{key}", val, limit)
            total += len(name or "") + len(value or "")
    if total > 6000:
        errors.setdefault("embeds", []).append(("MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"))


def _validate_components(components: Any, errors: dict[str, list[tuple[str, str]]], flags: int) -> None:
    if not isinstance(components, list):
        errors["components"] = [("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")]
        return
    if flags & MessageFlag.IS_COMPONENTS_V2:
        return  # layout components: too many shapes to check; accept.
    if len(components) > 5:
        errors["components"] = [("BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")]
    seen: set[str] = set()
    for i, row in enumerate(components):
        if not isinstance(row, dict) or row.get("type") != 1:
            errors[f"components.{i}.type"] = [("UNION_TYPE_CHOICES", "Value of field must be an action row")]
            continue
        children = row.get("components") or []
        if not children or len(children) > 5:
            errors[f"components.{i}.components"] = [("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")]
        for j, comp in enumerate(children):
            prefix = f"components.{i}.components.{j}"
            custom_id = comp.get("custom_id")
            _max_len(errors, f"{prefix}.custom_id", custom_id, 100)
            if comp.get("type") == 2:
                _max_len(errors, f"{prefix}.label", comp.get("label"), 80)
                if comp.get("style") == 5:
                    if not comp.get("url"):
                        errors[f"{prefix}.url"] = [("BASE_TYPE_REQUIRED", "This field is required")]
                elif comp.get("style") != 6 and not custom_id:
                    errors[f"{prefix}.custom_id"] = [("BASE_TYPE_REQUIRED", "This field is required")]
            if custom_id:
                if custom_id in seen:
                    errors[f"{prefix}.custom_id"] = [
                        ("COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
                    ]
                seen.add(custom_id)


def validate_message_body(body: dict[str, Any], *, files: int = 0, partial: bool = False) -> dict[str, Any] | None:
    """Check a message create/edit body against Discord's limits.

    Returns Discord's error body (``50035 Invalid Form Body`` or ``50006 Cannot send an empty
    message``) or ``None`` when the body is acceptable. ``partial`` is for edits, where an empty
    body is fine.
    """
    errors: dict[str, list[tuple[str, str]]] = {}
    content = body.get("content")
    if content is not None and not isinstance(content, str):
        errors["content"] = [("BASE_TYPE_STRING", "Could not interpret value as string.")]
    _max_len(errors, "content", content, 2000)
    if body.get("embeds") is not None:
        _validate_embeds(body["embeds"], errors)
    flags = int(body.get("flags") or 0)
    if body.get("components") is not None:
        _validate_components(body["components"], errors, flags)
    allowed = body.get("allowed_mentions")
    if isinstance(allowed, dict):
        parse = allowed.get("parse") or []
        for kind in ("users", "roles"):
            if kind in parse and allowed.get(kind):
                errors.setdefault(f"allowed_mentions.{kind}", []).append(
                    (
                        "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                        f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
                    )
                )
            if len(allowed.get(kind) or []) > 100:
                errors.setdefault(f"allowed_mentions.{kind}", []).append(
                    ("BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
                )
    if errors:
        return form_error(errors)
    if not partial:
        has_content = isinstance(content, str) and content.strip() != ""
        has_other = bool(
            body.get("embeds")
            or body.get("components")
            or body.get("sticker_ids")
            or body.get("poll")
            or body.get("attachments")
            or files
        )
        if not has_content and not has_other:
            return {"code": ErrorCode.CANNOT_SEND_EMPTY_MESSAGE, "message": "Cannot send an empty message"}
    return None


_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$", re.UNICODE)


def validate_command(cmd: Any, index: int | None = None) -> dict[str, list[tuple[str, str]]]:
    """Check one application command definition against Discord's rules; return form errors."""
    errors: dict[str, list[tuple[str, str]]] = {}
    prefix = f"{index}." if index is not None else ""
    if not isinstance(cmd, dict):
        errors[prefix.rstrip(".") or "_"] = [("DICT_TYPE_CONVERT", "Only dictionaries may be used")]
        return errors
    name = cmd.get("name") or ""
    ctype = cmd.get("type", 1)
    if ctype == 1 and (not _COMMAND_NAME.match(name) or name != name.lower()):
        errors[f"{prefix}name"] = [("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")]
    description = cmd.get("description") or ""
    if ctype == 1 and not 1 <= len(description) <= 100:
        errors[f"{prefix}description"] = [("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")]

    def check_options(options: list[dict[str, Any]], path: str) -> None:
        if len(options) > 25:
            errors[f"{path}options"] = [("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")]
        seen_optional = False
        for k, opt in enumerate(options):
            opath = f"{path}options.{k}."
            oname = opt.get("name") or ""
            if not _COMMAND_NAME.match(oname) or oname != oname.lower():
                errors[f"{opath}name"] = [("APPLICATION_COMMAND_INVALID_NAME", "Option name is invalid")]
            if not 1 <= len(opt.get("description") or "") <= 100:
                errors[f"{opath}description"] = [("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")]
            if len(opt.get("choices") or []) > 25:
                errors[f"{opath}choices"] = [("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")]
            if opt.get("type") in (1, 2):
                check_options(opt.get("options") or [], opath)
                continue
            if opt.get("required"):
                if seen_optional:
                    errors[f"{opath}required"] = [
                        (
                            "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                            "Required options must be placed before non-required options",
                        )
                    ]
            else:
                seen_optional = True

    check_options(cmd.get("options") or [], prefix)
    return errors


def normalise_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copy message components, numbering them depth-first with ``id`` like Discord does."""
    counter = itertools.count(1)

    def walk(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            copy = dict(item)
            copy.setdefault("id", next(counter))
            if isinstance(copy.get("components"), list):
                copy["components"] = walk(copy["components"])
            out.append(copy)
        return out

    return walk(components)


def find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    """Find the component with ``custom_id`` anywhere inside a message's component tree."""
    for item in components:
        if item.get("custom_id") == custom_id:
            return item
        children = item.get("components")
        if isinstance(children, list):
            found = find_component(children, custom_id)
            if found is not None:
                return found
        accessory = item.get("accessory")
        if isinstance(accessory, dict) and accessory.get("custom_id") == custom_id:
            return accessory
    return None
