"""The deployment files, read as the tools would: Dockerfile, compose.yaml, the systemd unit and the
example environment. Paths they copy exist, the user is not root, every `summitbot` command they run
exists, and they agree with each other and with the config defaults. The image is built only where a
container engine answers (`docker info`); systemd-analyze verifies the unit where it is installed."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml

from bot.cli import build_parser
from bot.config import Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        pending += " " + line.rstrip("\\").strip()
        if line.endswith("\\"):
            continue
        word, _, rest = pending.strip().partition(" ")
        instructions.append((word.upper(), rest.strip()))
        pending = ""
    return instructions


def subcommands() -> set[str]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    return set(sub.choices)  # type: ignore[arg-type]


def summitbot_calls(command: str) -> list[list[str]]:
    """Every `summitbot …` invocation in a shell command line (split at && ; |)."""
    calls = []
    for part in re.split(r"&&|\|\||;|\|", command):
        words = shlex.split(part)
        if words and words[0] == "exec":
            words = words[1:]
        if words and PurePosixPath(words[0]).name == "summitbot":
            calls.append(words[1:])
    return calls


def _exec_form(args: str) -> str:
    """A JSON exec form as one shell line (["sh", "-c", "x"] → x)."""
    if args.startswith("["):
        words = json.loads(args)
        return words[2] if words[:2] == ["sh", "-c"] else shlex.join(words)
    return args


def test_dockerfile() -> None:
    steps = dockerfile()
    froms = [args for word, args in steps if word == "FROM"]
    assert froms and all(re.match(r"python:3\.\d+-slim\b", f) for f in froms), froms
    # What is copied from the build context (the checkout's root) exists there.
    for word, args in steps:
        if word == "COPY" and not args.startswith("--from"):
            *sources, _ = args.split()
            for source in sources:
                assert (REPO / source).exists(), f"COPY {source}: not in the checkout"
    # The package is installed from the wheel built in the first stage.
    runs = [args for word, args in steps if word == "RUN"]
    assert any("pip wheel" in r for r in runs)
    assert any(re.search(r"pip install .*summitbot-\*\.whl", r) for r in runs)
    # A non-root user, switched to before the command runs.
    users = [(i, args) for i, (word, args) in enumerate(steps) if word == "USER"]
    assert users and users[-1][1] not in ("root", "0")
    assert any("useradd" in r and users[-1][1] in r.split() for r in runs)
    cmd_index = max(i for i, (word, _) in enumerate(steps) if word == "CMD")
    assert users[-1][0] < cmd_index
    # Volumes are the data and corpus folders of the config that init writes in WORKDIR.
    (workdir,) = {args for word, args in steps if word == "WORKDIR" and args.startswith("/srv")}
    (volumes,) = [json.loads(args) for word, args in steps if word == "VOLUME"]
    assert sorted(volumes) == [f"{workdir}/corpus", f"{workdir}/data"]
    assert any(f"summitbot init {workdir}" in r for r in runs)
    default_health = Settings().health.status_file
    assert default_health.parts[0] == "data", "the health status lives in the data volume"
    # Start: check, then run; the health check runs `summitbot health`.
    (cmd,) = [_exec_form(args) for word, args in steps if word == "CMD"]
    assert [c[0] for c in summitbot_calls(cmd)] == ["check", "run"]
    assert "&&" in cmd and "exec summitbot run" in cmd
    (health,) = [args for word, args in steps if word == "HEALTHCHECK"]
    assert "--start-period=" in health
    assert [c[0] for c in summitbot_calls(_exec_form(health.split(" CMD ", 1)[1]))] == ["health"]
    for line in [cmd, *runs]:
        for call in summitbot_calls(line):
            assert call[0] in subcommands(), f"summitbot {call[0]}: no such command"


def test_compose_file() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    (service,) = compose["services"].values()
    build = service["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (DEPLOY / "Dockerfile").resolve()
    assert service["restart"] in ("unless-stopped", "always", "on-failure")
    assert service["env_file"] + ".example" in {p.name for p in DEPLOY.iterdir()}
    targets = sorted(v.split(":")[1] for v in service["volumes"])
    (volumes,) = [json.loads(args) for word, args in dockerfile() if word == "VOLUME"]
    assert targets == sorted(volumes)
    named = {v.split(":")[0] for v in service["volumes"]}
    assert named == set(compose["volumes"])
    assert "no-new-privileges:true" in service["security_opt"]
    assert "/tmp" in service["tmpfs"] and service["read_only"] is True


def unit() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=True, delimiters=("=",), comment_prefixes=("#", ";"))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read(DEPLOY / "summitbot.service")
    return parser


def test_systemd_unit() -> None:
    service = unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert service["User"] not in ("root", "0")
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    state = service["StateDirectory"]
    assert service["WorkingDirectory"] == f"/var/lib/{state}"
    assert service["EnvironmentFile"].startswith("/etc/")
    pre = summitbot_calls(service["ExecStartPre"])
    start = summitbot_calls(service["ExecStart"])
    assert [c[0] for c in pre] == ["check"] and [c[0] for c in start] == ["run"]
    for call in pre + start:
        assert call[0] in subcommands()
        # The config file is inside the state directory, the one place the unit may write.
        config = call[call.index("--config") + 1]
        assert config.startswith(f"/var/lib/{state}/")
    assert service["ExecStart"].split()[0] == service["ExecStartPre"].split()[0]
    assert service["ExecStart"].split()[0].startswith("/")
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_unit_verifies(tmp_path: Path) -> None:
    # systemd checks that the programs exist: point the copy at this environment's summitbot.
    exe = shutil.which("summitbot")
    if exe is None:
        pytest.skip("the summitbot console script is not on PATH")
    text = (DEPLOY / "summitbot.service").read_text().replace("/opt/summitbot/bin/summitbot", exe)
    (tmp_path / "summitbot.service").write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / "summitbot.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_env_example_names_the_configured_variables() -> None:
    names = {}
    for line in (DEPLOY / "summitbot.env.example").read_text().splitlines():
        match = re.match(r"#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            names[match.group(1)] = match.group(2)
    defaults = Settings()
    assert set(names) == {
        defaults.discord.token_env,
        defaults.analytics.salt_env,
        defaults.logging.error_webhook_env,
    }
    assert all(value == "" for value in names.values()), "the example holds no secrets"
    from bot.ops.init_folder import ENV_TEMPLATE

    init_names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_TEMPLATE, re.M))
    assert init_names == set(names), "summitbot init writes the same variables"


def _docker_works() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not _docker_works(), reason="no container engine here (`docker info` fails): image not built")
def test_image_builds_and_checks() -> None:
    tag = "summitbot-test:latest"
    build = subprocess.run(
        ["docker", "build", "-f", "deploy/Dockerfile", "-t", tag, "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    check = subprocess.run(["docker", "run", "--rm", tag, "summitbot", "check"], capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.startswith("OK:"), check.stderr
    user = subprocess.run(["docker", "run", "--rm", tag, "id", "-u"], capture_output=True, text=True)
    assert user.stdout.strip() == "10001"
    health = subprocess.run(["docker", "run", "--rm", tag, "summitbot", "health"], capture_output=True, text=True)
    assert health.returncode == 1 and health.stdout.startswith("unhealthy: no status file")
