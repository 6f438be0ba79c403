"""REST routes: application commands."""

from __future__ import annotations

import copy
import logging
from typing import Any

from ..payloads import (
    ErrorCode,
    form_error,
    validate_command,
)
from ..records import (
    ApiError,
    RecordedRequest,
)

_log = logging.getLogger("discord_stub.server")


class CommandRoutesMixin:
    """REST routes for application commands."""

    # ---- REST routes: application commands

    def _scope(self, rec: RecordedRequest) -> int | None:
        self._check_app(rec)
        if "guild_id" in rec.params:
            self._check_guild(rec)
            return self.guild.id
        return None

    def _store_command(
        self, scope: int | None, cmd: dict[str, Any], existing: dict[tuple[str, int], dict[str, Any]]
    ) -> dict[str, Any]:
        ctype = int(cmd.get("type", 1))
        key = (cmd["name"], ctype)
        previous = existing.get(key)
        stored = {
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "nsfw": False,
            "contexts": None,
            "integration_types": [0],
            "name_localizations": None,
            "description_localizations": None,
            **copy.deepcopy(cmd),
            "id": previous["id"] if previous else str(self._ids.next()),
            "application_id": str(self.application_id),
            "version": str(self._ids.next()),
            "type": ctype,
        }
        if scope is not None:
            stored["guild_id"] = str(scope)
        else:
            stored.setdefault("dm_permission", True)
        return stored

    def _validate_commands(self, commands: list[Any]) -> None:
        if not self.validate_payloads:
            return
        errors: dict[str, list[tuple[str, str]]] = {}
        seen: set[tuple[str, int]] = set()
        for index, cmd in enumerate(commands):
            errors.update(validate_command(cmd, index))
            if isinstance(cmd, dict):
                key = (cmd.get("name", ""), int(cmd.get("type", 1)))
                if key in seen:
                    errors[f"{index}.name"] = [
                        ("APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
                    ]
                seen.add(key)
        if sum(1 for c in commands if isinstance(c, dict) and c.get("type", 1) == 1) > 100:
            errors["_"] = [("BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")]
        if errors:
            raise ApiError(400, ErrorCode.INVALID_FORM_BODY, "Invalid Form Body", form_error(errors))

    async def _r_get_commands(self, rec: RecordedRequest) -> Any:
        return list(self.commands.get(self._scope(rec), {}).values())

    async def _r_put_commands(self, rec: RecordedRequest) -> Any:
        scope = self._scope(rec)
        commands = rec.json if isinstance(rec.json, list) else []
        self._validate_commands(commands)
        existing = self.commands.get(scope, {})
        new: dict[tuple[str, int], dict[str, Any]] = {}
        for cmd in commands:
            stored = self._store_command(scope, cmd, existing)
            new[(stored["name"], stored["type"])] = stored
        self.commands[scope] = new
        return list(new.values())

    async def _r_post_command(self, rec: RecordedRequest) -> Any:
        scope = self._scope(rec)
        cmd = rec.json if isinstance(rec.json, dict) else {}
        self._validate_commands([cmd])
        existing = self.commands.setdefault(scope, {})
        stored = self._store_command(scope, cmd, existing)
        created = (stored["name"], stored["type"]) not in existing
        existing[(stored["name"], stored["type"])] = stored
        return (201 if created else 200, stored)

    def _command_or_404(self, rec: RecordedRequest) -> tuple[int | None, tuple[str, int], dict[str, Any]]:
        scope = self._scope(rec)
        for key, cmd in self.commands.get(scope, {}).items():
            if cmd["id"] == rec.params["command_id"]:
                return scope, key, cmd
        raise ApiError(404, ErrorCode.UNKNOWN_APPLICATION_COMMAND, "Unknown application command")

    async def _r_get_command(self, rec: RecordedRequest) -> Any:
        return self._command_or_404(rec)[2]

    async def _r_patch_command(self, rec: RecordedRequest) -> Any:
        scope, key, cmd = self._command_or_404(rec)
        merged = {**cmd, **(rec.json if isinstance(rec.json, dict) else {})}
        self._validate_commands([merged])
        existing = self.commands[scope]
        del existing[key]
        stored = self._store_command(scope, merged, {key: cmd})
        existing[(stored["name"], stored["type"])] = stored
        return stored

    async def _r_delete_command(self, rec: RecordedRequest) -> Any:
        scope, key, _cmd = self._command_or_404(rec)
        del self.commands[scope][key]
        return None
