"""Forum channels, forum posts and message context menus for the Discord stub.

* :func:`add_forum` adds a forum channel (type 15) to the stub's guild.
* :func:`create_forum_post` does what Discord does when someone posts in a forum: a public thread
  (type 11) under the forum, named by the post's title, whose starter message has the thread's id;
  THREAD_CREATE (``newly_created``) then MESSAGE_CREATE are dispatched.
* :func:`message_command` invokes a message context-menu command (application command type 3) on a
  message, with the message in ``resolved.messages`` as Discord sends it.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .payloads import ChannelType, Intent, InteractionType, MessageType, StubChannel, StubUser, iso_now

if TYPE_CHECKING:
    from .server import DiscordStub, InjectedInteraction

#: Application command type of a message context-menu command.
MESSAGE_COMMAND = 3


def add_forum(stub: DiscordStub, name: str) -> StubChannel:
    """A forum channel in the stub's guild (state only: a running bot sees it on its next IDENTIFY)."""
    return stub.add_channel(name, type=ChannelType.GUILD_FORUM)


async def create_forum_post(
    stub: DiscordStub, forum: StubChannel, title: str, content: str, *, author: StubUser | None = None
) -> tuple[StubChannel, dict[str, Any]]:
    """A new post in ``forum`` by ``author`` (default: the stub's member): (its thread, its first message)."""
    if forum.type != ChannelType.GUILD_FORUM:
        raise ValueError(f"channel {forum.id} is not a forum channel")
    user = author or stub.member
    thread_id = stub._ids.next()
    thread = StubChannel(
        id=thread_id,
        type=ChannelType.PUBLIC_THREAD,
        name=title,
        guild_id=stub.guild.id,
        parent_id=forum.id,
        owner_id=user.id,
    )
    stub.guild.channels[thread.id] = thread
    data = thread.payload()
    await stub.dispatch("THREAD_CREATE", {**data, "newly_created": True}, intent=Intent.GUILDS)
    message: dict[str, Any] = {
        "id": str(thread_id),  # a forum post's starter message has the thread's id
        "channel_id": str(thread.id),
        "author": user.payload(),
        "content": content,
        "timestamp": iso_now(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": MessageType.DEFAULT,
        "flags": 0,
        "components": [],
        "position": 0,
    }
    stub._store_message(message, thread)
    await stub._dispatch_message_event("MESSAGE_CREATE", message, thread)
    return thread, stub._with_gateway_fields(message, thread)


async def message_command(
    stub: DiscordStub,
    name: str,
    message: dict[str, Any],
    *,
    user: StubUser | None = None,
    permissions: int | None = None,
) -> InjectedInteraction:
    """Invoke the message context-menu command ``name`` (as registered by the bot) on ``message``."""
    definition, scope = stub._find_command(name, MESSAGE_COMMAND, None)
    target = stub.messages.get(int(message["id"]), message)
    channel = stub.channel(int(target["channel_id"]))
    data: dict[str, Any] = {
        "id": definition["id"] if definition else str(stub._ids.next()),
        "name": name,
        "type": MESSAGE_COMMAND,
        "target_id": str(target["id"]),
        "resolved": {"messages": {str(target["id"]): copy.deepcopy(target)}},
    }
    if scope is not None:
        data["guild_id"] = str(scope)
    ix = stub._new_interaction(
        InteractionType.APPLICATION_COMMAND,
        data,
        user=user,
        channel_id=channel.id,
        guild=not channel.is_dm,
        permissions=permissions,
        roles=None,
        locale="en-US",
    )
    ix.name = name
    return await stub._deliver_interaction(ix)
