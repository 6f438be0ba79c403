"""Who may do what, and how often: the per-user question cooldown, operators and the admin check."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
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


def is_admin(user: discord.abc.User, settings: DiscordSettings, permissions: discord.Permissions | None = None) -> bool:
    """Manage Server (or Administrator) permission, or a configured admin role or user id.

    ``permissions`` are the resolved permissions Discord sent with an interaction; without them the
    member's guild permissions are used. In direct messages only ``admin_users`` count.
    """
    if user.id in settings.admin_users:
        return True
    if not isinstance(user, discord.Member):
        return False
    perms = permissions if permissions is not None else user.guild_permissions
    if perms.manage_guild or perms.administrator:
        return True
    role_ids = {role.id for role in user.roles} | set(getattr(user, "_roles", ()))
    return any(role_id in role_ids for role_id in settings.admin_roles)
