"""The admin model: operators (run the bot) and server admins (manage their own server).

Real discord.py objects (``Member``, ``User``, ``AppInfo``) built from Discord-shaped payloads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
import pytest_asyncio
from discord.http import HTTPClient
from discord.state import ConnectionState

from bot.config import DiscordSettings
from bot.discord_app.guards import is_operator, is_server_admin, may_manage_server, owner_ids_of

GUILD = 100
MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3
OWNER, TEAMMATE, INVITED, READ_ONLY, CONFIG_OPERATOR, MOD, HELPER, NOBODY, ROLE_OPERATOR = range(1, 10)
MODS_ROLE, HELPERS_ROLE, OPS_ROLE, ADMINS_ROLE = 501, 502, 503, 504


def _user(user_id: int) -> dict[str, Any]:
    return {"id": str(user_id), "username": f"user{user_id}", "discriminator": "0", "avatar": None}


def _role(role_id: int, permissions: int) -> dict[str, Any]:
    return {
        "id": str(role_id),
        "name": f"role{role_id}",
        "permissions": str(permissions),
        "position": 1,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
    }


@pytest_asyncio.fixture
async def state() -> AsyncIterator[ConnectionState[Any]]:
    http = HTTPClient(discord.utils.MISSING)
    yield ConnectionState(dispatch=lambda *a: None, handlers={}, hooks={}, http=http, intents=discord.Intents.none())
    await http.close()


@pytest.fixture
def guild(state: ConnectionState[Any]) -> discord.Guild:
    roles = [_role(GUILD, 0), _role(MODS_ROLE, MANAGE_GUILD), _role(HELPERS_ROLE, 0), _role(OPS_ROLE, 0)]
    roles.append(_role(ADMINS_ROLE, ADMINISTRATOR))
    return discord.Guild(data={"id": str(GUILD), "name": "g", "roles": roles, "owner_id": "999"}, state=state)


def member(guild: discord.Guild, state: ConnectionState[Any], user_id: int, *roles: int) -> discord.Member:
    data = {"user": _user(user_id), "roles": [str(r) for r in roles], "joined_at": None, "flags": 0}
    return discord.Member(data=data, guild=guild, state=state)  # type: ignore[arg-type]


def app_info(state: ConnectionState[Any], team: bool) -> discord.AppInfo:
    data: dict[str, Any] = {
        "id": "7",
        "name": "summitbot",
        "icon": None,
        "description": "",
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": _user(OWNER),
        "verify_key": "k",
        "flags": 0,
        "team": None,
    }
    if team:

        def teammate(user_id: int, state_: int, role: str) -> dict[str, Any]:
            return {
                "membership_state": state_,
                "permissions": ["*"],
                "team_id": "8",
                "role": role,
                "user": _user(user_id),
            }

        data["owner"] = {**_user(8), "username": "team8", "flags": 1 << 10}  # a team's pseudo-user
        data["team"] = {
            "id": "8",
            "name": "team",
            "icon": None,
            "owner_user_id": str(OWNER),
            "members": [
                teammate(OWNER, 2, "admin"),
                teammate(TEAMMATE, 2, "developer"),
                teammate(INVITED, 1, "developer"),
                teammate(READ_ONLY, 2, "read_only"),
            ],
        }
    return discord.AppInfo(state, data)  # type: ignore[arg-type]


def test_operators_from_the_application_owner_or_its_team(state: ConnectionState[Any]) -> None:
    assert owner_ids_of(app_info(state, team=False)) == frozenset({OWNER})
    # Accepted members who may change the application; not the invited, not the read-only.
    assert owner_ids_of(app_info(state, team=True)) == frozenset({OWNER, TEAMMATE})


def test_operator_is_owner_or_configured_user_or_role(guild: discord.Guild, state: ConnectionState[Any]) -> None:
    settings = DiscordSettings(operator_users=(CONFIG_OPERATOR,), operator_roles=(OPS_ROLE,))
    owners = frozenset({OWNER, TEAMMATE})
    assert is_operator(member(guild, state, OWNER), settings, owners)
    assert is_operator(member(guild, state, TEAMMATE), settings, owners)
    assert is_operator(member(guild, state, CONFIG_OPERATOR), settings, owners)
    assert is_operator(member(guild, state, ROLE_OPERATOR, OPS_ROLE), settings, owners)
    # Managing a server (or administering it) does not make anyone an operator.
    assert not is_operator(member(guild, state, MOD, MODS_ROLE), settings, owners)
    assert not is_operator(member(guild, state, MOD, ADMINS_ROLE), settings, owners)
    assert not is_operator(member(guild, state, NOBODY), settings, owners)


def test_operators_in_direct_messages_by_id_only(state: ConnectionState[Any]) -> None:
    settings = DiscordSettings(operator_users=(CONFIG_OPERATOR,), operator_roles=(OPS_ROLE,))
    assert is_operator(state.create_user(_user(OWNER)), settings, frozenset({OWNER}))  # type: ignore[arg-type]
    assert is_operator(state.create_user(_user(CONFIG_OPERATOR)), settings, frozenset())  # type: ignore[arg-type]
    assert not is_operator(state.create_user(_user(ROLE_OPERATOR)), settings, frozenset())  # type: ignore[arg-type]


def test_server_admin_is_manage_server_administrator_or_a_role_of_that_server(
    guild: discord.Guild, state: ConnectionState[Any]
) -> None:
    admin_roles = (HELPERS_ROLE,)
    assert is_server_admin(member(guild, state, MOD, MODS_ROLE), admin_roles)
    assert is_server_admin(member(guild, state, MOD, ADMINS_ROLE), admin_roles)
    assert is_server_admin(member(guild, state, HELPER, HELPERS_ROLE), admin_roles)
    assert not is_server_admin(member(guild, state, HELPER, HELPERS_ROLE), ())  # that server named no roles
    assert not is_server_admin(member(guild, state, NOBODY), admin_roles)
    assert not is_server_admin(member(guild, state, NOBODY, OPS_ROLE), admin_roles)


def test_server_admin_uses_the_interaction_permissions_when_given(
    guild: discord.Guild, state: ConnectionState[Any]
) -> None:
    mod = member(guild, state, MOD, MODS_ROLE)
    assert not is_server_admin(mod, (), discord.Permissions(send_messages=True))  # overwrites took it away
    assert is_server_admin(member(guild, state, NOBODY), (), discord.Permissions(manage_guild=True))


def test_no_server_admin_outside_a_guild(state: ConnectionState[Any]) -> None:
    user = state.create_user(_user(MOD))  # type: ignore[arg-type]
    assert not is_server_admin(user, (HELPERS_ROLE,), discord.Permissions.all())
    assert not may_manage_server(user, DiscordSettings(operator_users=(MOD,)), frozenset(), ())


def test_operators_may_manage_any_server_they_are_in(guild: discord.Guild, state: ConnectionState[Any]) -> None:
    settings = DiscordSettings()
    assert may_manage_server(member(guild, state, OWNER), settings, frozenset({OWNER}), ())
    assert may_manage_server(member(guild, state, MOD, MODS_ROLE), settings, frozenset({OWNER}), ())
    assert not may_manage_server(member(guild, state, NOBODY), settings, frozenset({OWNER}), (HELPERS_ROLE,))
