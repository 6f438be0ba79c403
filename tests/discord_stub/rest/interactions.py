"""REST routes: interaction callbacks, followups and webhooks."""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

from ..payloads import (
    CallbackType,
    ErrorCode,
    InteractionType,
    MessageFlag,
    MessageType,
    form_error,
)
from ..records import (
    INTERACTION_TOKEN_LIFETIME,
    ApiError,
    InjectedInteraction,
    RecordedRequest,
)

_log = logging.getLogger("discord_stub.server")


class InteractionRoutesMixin:
    """REST routes for interaction responses, followups and webhooks."""

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
