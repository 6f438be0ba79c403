"""REST routes: gateway, users, applications (meta) and guilds."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from ..payloads import (
    ErrorCode,
)
from ..records import (
    APPLICATION_FLAGS,
    ApiError,
    RecordedRequest,
)

_log = logging.getLogger("discord_stub.server")


class MetaRoutesMixin:
    """REST routes for the gateway, users, the application and guilds."""

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
