"""Who may do what, and how often: the per-user question cooldown, operators and server admins."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass

import discord

from bot.config import DiscordSettings


@dataclass(frozen=True)
class CooldownVerdict:
    """The outcome of one question against the cooldown.

    ``retry_after`` is 0 when allowed; ``first_refusal`` is True for the first refusal in a
    cooldown window (message askers get one notice per window, not one per message).
    """

    allowed: bool
    retry_after: float = 0.0
    first_refusal: bool = False


class Cooldown:
    """At most ``questions`` questions per user in any ``seconds``-long sliding window."""

    def __init__(self, questions: int, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.questions = questions
        self.seconds = seconds
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}
        self._notified_until: dict[int, float] = {}

    def hit(self, user_id: int) -> CooldownVerdict:
        """Count a question by ``user_id`` if allowed; otherwise say how long to wait."""
        if self.seconds <= 0:
            return CooldownVerdict(True)
        now = self._clock()
        asked = self._asked.setdefault(user_id, deque())
        while asked and now - asked[0] >= self.seconds:
            asked.popleft()
        if len(asked) < self.questions:
            asked.append(now)
            self._forget_old(now)
            return CooldownVerdict(True)
        retry = self.seconds - (now - asked[0])
        first = self._notified_until.get(user_id, 0.0) <= now
        if first:
            self._notified_until[user_id] = now + retry
        return CooldownVerdict(False, retry, first)

    def _forget_old(self, now: float) -> None:
        """Drop idle users now and then so the table does not grow without bound."""
        if len(self._asked) < 10_000:
            return
        for user_id in [u for u, q in self._asked.items() if not q or now - q[-1] >= self.seconds]:
            del self._asked[user_id]
            self._notified_until.pop(user_id, None)


# ------------------------------------------------------------------------------------ who may do what
#
# Two kinds of admin, checked in code on every command (``default_member_permissions`` only hides
# commands in Discord's menus; a server can change that, so it grants nothing here):
#
# * Operators run the bot and alone change what every server shares (``/reload``, corpus editing):
#   the application's owner, or the members of its team, and the users and roles listed in config
#   ``discord.operator_users`` / ``discord.operator_roles``.
# * Server admins manage their own server (its ``/settings`` and ``/stats``): Manage Server or
#   Administrator there, or a role listed in that server's settings (config ``discord.admin_roles``
#   until the server sets its own). Operators count as server admins wherever they are members.


def owner_ids_of(info: discord.AppInfo) -> frozenset[int]:
    """The operators Discord names for the application: its team's members, or else its owner.

    Team members who have not accepted the invitation, and read-only members, are left out (they
    cannot change the application in the Developer Portal either). Fetched once at start-up.
    """
    team = info.team
    if team is None:
        return frozenset({info.owner.id})
    members = {
        member.id
        for member in team.members
        if member.membership_state == discord.TeamMembershipState.accepted
        and member.role != discord.TeamMemberRole.read_only
    }
    if team.owner_id is not None:
        members.add(team.owner_id)
    return frozenset(members)


def _role_ids(user: discord.abc.User) -> set[int]:
    """The role ids of a guild member (empty for a plain user, e.g. in direct messages)."""
    if not isinstance(user, discord.Member):
        return set()
    # ``_roles`` holds ids of roles not (yet) in the guild's cache, which ``roles`` skips.
    return {role.id for role in user.roles} | {int(r) for r in getattr(user, "_roles", ())}


def is_operator(user: discord.abc.User, settings: DiscordSettings, owner_ids: frozenset[int]) -> bool:
    """Whether ``user`` runs the bot: the application's owner or a team member (``owner_ids``), a user
    id in ``discord.operator_users``, or (in a guild) a member with a role in ``discord.operator_roles``."""
    if user.id in owner_ids or user.id in settings.operator_users:
        return True
    return bool(settings.operator_roles) and not _role_ids(user).isdisjoint(settings.operator_roles)


def is_server_admin(
    user: discord.abc.User, admin_roles: Collection[int], permissions: discord.Permissions | None = None
) -> bool:
    """Whether ``user`` administers the guild they act in: Manage Server or Administrator there, or a
    role in ``admin_roles`` (that server's settings). Never true outside a guild.

    ``permissions`` are the resolved permissions Discord sent with an interaction (they include the
    channel's overwrites); without them the member's guild permissions are used.
    """
    if not isinstance(user, discord.Member):
        return False
    perms = permissions if permissions is not None else user.guild_permissions
    if perms.manage_guild or perms.administrator:
        return True
    return not _role_ids(user).isdisjoint(admin_roles)


def may_manage_server(
    user: discord.abc.User,
    settings: DiscordSettings,
    owner_ids: frozenset[int],
    admin_roles: Collection[int],
    permissions: discord.Permissions | None = None,
) -> bool:
    """Whether ``user`` may change this server's settings and read its ``/stats``: a server admin
    (see :func:`is_server_admin`) or an operator; in a guild only."""
    if not isinstance(user, discord.Member):
        return False
    return is_server_admin(user, admin_roles, permissions) or is_operator(user, settings, owner_ids)
