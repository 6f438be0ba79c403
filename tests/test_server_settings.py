"""Per-server settings: config values are the defaults; a server's overrides are validated and kept."""

from __future__ import annotations

import pytest

from bot.config import DiscordSettings
from bot.server_settings import ServerSettings, SettingError, decode, encode, validate

CONFIG = DiscordSettings(answer_channels=(11,), cooldown_questions=2, cooldown_seconds=10.0, admin_roles=(7,))


def test_a_server_that_changed_nothing_gets_the_config_values() -> None:
    settings = ServerSettings.defaults(CONFIG)
    assert settings.answer_channels == {11} and settings.admin_roles == {7}
    assert (settings.cooldown_questions, settings.cooldown_seconds) == (2, 10.0)
    assert not settings.post_not_found and settings.quiet_reaction == "" and not settings.forum_channels


def test_overrides_replace_only_what_the_server_changed() -> None:
    overrides = decode(encode({"answer_channels": [22, 21], "answer_in_thread": True, "cooldown_seconds": 0}))
    settings = ServerSettings.defaults(CONFIG).with_overrides(overrides)
    assert settings.answer_channels == {21, 22} and settings.answer_in_thread
    assert settings.cooldown_seconds == 0.0 and settings.cooldown_questions == 2  # the default kept
    assert settings.admin_roles == {7}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("answer_channels", [1, "x"], "'answer_channels' must be a list of Discord ids"),
        ("answer_channels", list(range(1, 60)), "at most 50"),
        ("cooldown_questions", 0, "from 1 to 100"),
        ("cooldown_seconds", float("nan"), "from 0 to 3600"),
        ("post_not_found", "yes", "true or false"),
        ("quiet_reaction", "two words", "one emoji"),
        ("quiet_reaction", "@everyone", "one emoji"),
        ("quiet_reaction", "[x](https://evil.example)", "one emoji"),
        ("colour", "red", "there is no server setting 'colour'"),
    ],
)
def test_bad_values_are_refused_with_the_setting_named(name: str, value: object, message: str) -> None:
    with pytest.raises(SettingError, match=message):
        validate(name, value)


def test_a_broken_stored_row_falls_back_to_the_defaults() -> None:
    assert decode("{not json") == {} and decode("[1, 2]") == {} and decode(None) == {}
    settings = ServerSettings.defaults(CONFIG).with_overrides({"cooldown_questions": -5, "answer_in_thread": True})
    assert settings.cooldown_questions == 2 and settings.answer_in_thread  # the bad key alone is skipped


def test_reactions_are_emoji_only() -> None:
    for ok in ("", "🤷", "👍🏽", "🏳️‍🌈", "<:thinking:123456789012345678>"):
        assert validate("quiet_reaction", ok) == ok
