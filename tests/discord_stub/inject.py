"""Event injection: messages, DMs, slash commands, autocomplete and button presses sent to the bot."""

from __future__ import annotations

import copy
import json
import logging
import secrets
import time
from collections.abc import Iterable, Sequence
from typing import Any

from aiohttp import web

from .payloads import (
    Intent,
    InteractionType,
    MessageType,
    Op,
    Perm,
    StubChannel,
    StubMember,
    StubRole,
    StubUser,
    find_component,
    iso_now,
    parse_mentions_in_content,
)
from .records import (
    ATTACHMENT_SIZE_LIMIT,
    DispatchRecord,
    GatewaySession,
    InjectedInteraction,
    RecordedRequest,
    StubAttachment,
)

_log = logging.getLogger("discord_stub.server")


class InjectMixin:
    """Injecting gateway events and interactions."""

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
