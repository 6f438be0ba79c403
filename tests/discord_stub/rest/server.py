"""The stub's REST server: the route table, authentication, rate limits, validation, and shared helpers."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..payloads import (
    ErrorCode,
    MessageFlag,
    MessageType,
    StubChannel,
    form_error,
    iso_now,
    normalise_components,
    resolve_mentions,
    validate_message_body,
)
from ..records import (
    GLOBAL_RATE_LIMIT,
    ApiError,
    InjectedInteraction,
    RecordedRequest,
    UploadedFile,
    _Route,
    _Window,
)

_log = logging.getLogger("discord_stub.server")


class RestServerMixin:
    """The REST router, its checks and the helpers routes share."""

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
