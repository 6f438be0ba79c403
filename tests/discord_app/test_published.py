"""Published slash commands compared with the code's: ids, versions and Discord's defaults do not
count as differences; names, descriptions, options and permissions do."""

from __future__ import annotations

import copy
from typing import Any

from bot.discord_app.published import compare, duplicated

CODE: list[dict[str, Any]] = [
    {
        "name": "ask",
        "type": 1,
        "description": "Ask a question about the sources",
        "options": [
            {"type": 3, "name": "question", "description": "Your question", "required": True},
            {"type": 5, "name": "private", "description": "Only you see the answer"},
        ],
        "default_member_permissions": None,
        "nsfw": False,
    },
    {"name": "reload", "description": "Re-read the corpus", "options": [], "default_member_permissions": "32"},
]


def published(code: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What Discord sends back for ``code``: ids and versions added, some defaults spelled out."""
    out = copy.deepcopy(code)
    for i, cmd in enumerate(out):
        cmd.update(id=str(1000 + i), application_id="1", version="7", dm_permission=True, type=1)
        for option in cmd.get("options", []):
            option.setdefault("required", False)
    return out


def test_the_same_commands_compare_equal() -> None:
    diff = compare(CODE, published(CODE))
    assert diff.same and diff.describe() == ""


def test_new_gone_and_changed_are_named() -> None:
    theirs = published(CODE)
    theirs[0]["options"][0]["description"] = "Old wording"
    theirs[1]["name"] = "stats"
    diff = compare(CODE, theirs)
    assert (diff.new, diff.gone, diff.changed) == (("reload",), ("stats",), ("ask",))
    assert diff.describe() == "new /reload; gone /stats; changed /ask"
    permissions = published(CODE)
    permissions[1]["default_member_permissions"] = "8"
    assert compare(CODE, permissions).changed == ("reload",)
    required = published(CODE)
    required[0]["options"][1]["required"] = True
    assert compare(CODE, required).changed == ("ask",)


def test_nothing_published_is_all_new() -> None:
    assert compare(CODE, []).new == ("ask", "reload")
    assert compare([], published(CODE)).gone == ("ask", "reload")


def test_commands_published_globally_and_to_a_guild_are_duplicates() -> None:
    assert duplicated(published(CODE), published(CODE[:1])) == ("ask",)
    assert duplicated(published(CODE), []) == ()
