"""Settings: the shipped config loads; unknown keys and wrong types are errors naming key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, parse_settings

REPO = Path(__file__).resolve().parent.parent


def test_shipped_config_loads_and_resolves_paths() -> None:
    settings = load_settings(REPO / "config.yaml")
    assert settings.corpus.path == REPO / "corpus"
    assert settings.aliases_path == REPO / "corpus" / "aliases.yaml"
    assert settings.discord.token_env == "DISCORD_TOKEN"
    assert 0 < settings.search.b <= 1


def test_empty_config_gives_defaults() -> None:
    settings = parse_settings("")
    assert settings.search.top_k == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("serach:\n  k1: 1\n", "unknown key 'serach'"),
        ("search:\n  k2: 1\n", "unknown key 'search.k2'"),
        ("search:\n  top_k: three\n", "'search.top_k' must be a whole number"),
        ("search:\n  b: 2\n", "'search.b' must be a number from 0 to 1"),
        ("search: 5\n", "'search' must be a mapping"),
        ("discord:\n  answer_channels: 123\n", "'discord.answer_channels' must be a list"),
        ("discord:\n  answer_channels: [1, x]\n", "'discord.answer_channels[1]' must be a whole number"),
        ("discord:\n  shard_ids: [0]\n", "'discord.shard_ids' needs 'discord.shard_count'"),
        ("analytics:\n  enabled: yes please\n", "'analytics.enabled' must be true or false"),
        ("logging:\n  level: LOUD\n", "'logging.level' must be one of"),
        ("search: [unclosed\n", "my.yaml:2: not valid YAML"),
        ("discord:\n  admin_users: [1]\n", "'discord.admin_users' is now 'discord.operator_users'"),
    ],
)
def test_errors_name_the_key_and_file(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(text, "my.yaml")
    assert str(info.value).startswith("my.yaml")
    assert message in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings(tmp_path / "nope.yaml")


def test_every_problem_is_reported_and_lenient_mode_keeps_defaults() -> None:
    text = "search:\n  top_k: lots\n  b: 7\nanswers:\n  related_ratio: 0.5\nnope: 1\n"
    with pytest.raises(ConfigError) as info:
        parse_settings(text, "c.yaml")
    assert len(info.value.problems) == 3
    assert "(and 2 more problems)" in str(info.value)
    problems: list[str] = []
    settings = parse_settings(text, "c.yaml", problems=problems)
    assert len(problems) == 3
    assert settings.search.top_k == 3 and settings.search.b == 0.75  # bad keys keep their defaults
    assert settings.answers.related_ratio == 0.5  # good keys are kept


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("answers:\n  min_related: 1.5\n", "'answers.min_related' must be a number from 0 to 1, not 1.5"),
        ("answers:\n  min_related: -0.1\n", "'answers.min_related' must be a number from 0 to 1"),
        ("answers:\n  min_related: lots\n", "'answers.min_related' must be a number"),
        (
            "answers:\n  min_confidence: 0.3\n  min_related: 0.4\n",
            "'answers.min_related' (0.4) must not be above 'answers.min_confidence' (0.3)",
        ),
        ("corpus:\n  probes: 5\n", "'corpus.probes' must be a path"),
    ],
)
def test_verdict_thresholds_are_checked(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(text, "my.yaml")
    assert message in str(info.value) and "my.yaml" in str(info.value)


def test_verdict_thresholds_defaults_and_bounds() -> None:
    assert (parse_settings("").answers.min_confidence, parse_settings("").answers.min_related) == (0.5, 0.1)
    both = parse_settings("answers:\n  min_confidence: 0.7\n  min_related: 0.7\n").answers  # equal: allowed
    assert (both.min_confidence, both.min_related) == (0.7, 0.7)
    # Only min_confidence lowered below the default min_related: no closest band, not an error.
    low = parse_settings("answers:\n  min_confidence: 0.05\n").answers
    assert (low.min_confidence, low.min_related) == (0.05, 0.05)


def test_probes_path_default_and_configured(tmp_path: Path) -> None:
    assert load_settings(REPO / "config.yaml").probes_path == REPO / "corpus" / "probes.yaml"
    config = tmp_path / "config.yaml"
    config.write_text("corpus:\n  path: articles\n  probes: checks/probes.yaml\n", encoding="utf-8")
    settings = load_settings(config)
    assert settings.probes_path == tmp_path / "checks" / "probes.yaml"


def test_the_database_url_comes_from_the_environment_first() -> None:
    settings = parse_settings("database:\n  url: postgresql://config/db\n")
    assert settings.database_url({}) == "postgresql://config/db"
    assert settings.database_url({"SUMMITBOT_DATABASE_URL": "postgresql://env/db"}) == "postgresql://env/db"
    assert parse_settings("").database_url({}) is None  # the SQLite file
    with pytest.raises(ConfigError, match=r"'database\.url' must be a postgresql:// URL"):
        parse_settings("database:\n  url: mysql://somewhere/db\n")


def test_operator_ids_are_lists_of_whole_numbers() -> None:
    settings = parse_settings("discord:\n  operator_users: [123]\n  operator_roles: [456, 789]\n")
    assert settings.discord.operator_users == (123,) and settings.discord.operator_roles == (456, 789)
    with pytest.raises(ConfigError, match=r"'discord\.operator_users\[1\]' must be a whole number"):
        parse_settings("discord:\n  operator_users: [123, alice]\n")
    with pytest.raises(ConfigError, match=r"'discord\.operator_roles' must be a list of whole numbers"):
        parse_settings("discord:\n  operator_roles: 456\n")


def test_shipped_config_names_every_key_at_its_default() -> None:
    """config.yaml is the annotated list of settings: each key is there (set, or commented out when it has no
    value to write), and what it sets is the built-in default, so reading it never misleads about a default."""
    import dataclasses
    import re

    import yaml

    text = (REPO / "config.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    shipped = load_settings(REPO / "config.yaml")
    defaults = parse_settings("", base_dir=REPO)
    missing, changed = [], []
    for section in dataclasses.fields(shipped):
        if section.name == "source":
            continue
        for key in dataclasses.fields(getattr(shipped, section.name)):
            dotted = f"{section.name}.{key.name}"
            if key.name not in (raw.get(section.name) or {}):
                if not re.search(rf"^\s*#\s*{key.name}:", text, re.M):
                    missing.append(dotted)
                continue
            if getattr(getattr(shipped, section.name), key.name) != getattr(getattr(defaults, section.name), key.name):
                changed.append(dotted)
    assert missing == [], f"keys config.yaml does not name: {missing}"
    assert changed == [], f"config.yaml sets these away from their defaults: {changed}"
