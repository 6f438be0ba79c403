"""The stub's world: users, members, roles, channels and guild state, and how tests add to it."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from typing import Any

from .payloads import (
    ChannelType,
    StubChannel,
    StubMember,
    StubRole,
    StubUser,
)
from .records import (
    InjectedInteraction,
)

_log = logging.getLogger("discord_stub.server")


class WorldMixin:
    """World building: add users, members, roles, channels."""

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
