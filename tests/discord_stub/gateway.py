"""The stub's gateway server: HELLO, IDENTIFY, READY, GUILD_CREATE, heartbeats, RESUME, zlib-stream."""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

from aiohttp import WSMsgType, web

from .payloads import (
    Intent,
    Op,
)
from .records import (
    APPLICATION_FLAGS,
    DispatchRecord,
    GatewayConnection,
    GatewayPayloadRecord,
    GatewaySession,
    HeartbeatRecord,
)

_log = logging.getLogger("discord_stub.server")


class GatewayMixin:
    """The gateway websocket server."""

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
