"""REST routes: channels, messages, reactions and threads."""

from __future__ import annotations

import copy
import logging
from typing import Any

from ..payloads import (
    ChannelType,
    ErrorCode,
    Intent,
    MessageFlag,
    Perm,
    StubChannel,
    form_error,
    iso_now,
)
from ..records import (
    ApiError,
    RecordedRequest,
)

_log = logging.getLogger("discord_stub.server")


class MessageRoutesMixin:
    """REST routes for channels and messages."""

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
