"""Install anywhere: an sdist and a wheel built from the checkout carry the shipped corpus, and the wheel,
installed into a fresh virtualenv outside the checkout, answers a question from a folder with no corpus."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
QUESTION = "How many countries endorsed the Global AI Governance Initiative?"


def _run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{cmd}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An sdist built from a clean copy of the sources, and a wheel built from that sdist."""
    work = tmp_path_factory.mktemp("build")
    src = work / "src"
    tracked = _run("git", "ls-files", "-co", "--exclude-standard", cwd=REPO).stdout.split()
    for name in tracked:
        if name.startswith(("bot/", "corpus/", "deploy/")) or name in (
            "pyproject.toml",
            "setup.py",
            "README.md",
            "MANIFEST.in",
            "config.yaml",
        ):
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    dist = work / "dist"
    # The PEP 517 backend directly (what `python -m build --sdist` calls), without network access.
    _run(sys.executable, "-c", f"from setuptools import build_meta; build_meta.build_sdist({str(dist)!r})", cwd=src)
    (sdist,) = dist.glob("summitbot-*.tar.gz")
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", dist, sdist, cwd=work)
    (wheel,) = dist.glob("summitbot-*.whl")
    return sdist, wheel


def _shipped() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (REPO / "corpus").iterdir() if p.is_file()}


def test_sdist_and_wheel_carry_the_shipped_corpus(built: tuple[Path, Path]) -> None:
    sdist, wheel = built
    shipped = _shipped()
    assert "aliases.yaml" in shipped and any(n.endswith(".md") for n in shipped)
    with tarfile.open(sdist) as tar:
        names = {Path(n).relative_to(Path(n).parts[0]).as_posix() for n in tar.getnames() if "/" in n}
    assert {f"corpus/{n}" for n in shipped} <= names
    assert {"config.yaml", "deploy/Dockerfile", "deploy/summitbot.service", "deploy/compose.yaml"} <= names
    with zipfile.ZipFile(wheel) as whl:
        for name, data in shipped.items():
            assert whl.read(f"bot/shipped_corpus/{name}") == data
        assert "bot/ops/init_folder.py" in whl.namelist()


def test_installed_wheel_answers_outside_the_checkout(built: tuple[Path, Path], tmp_path: Path) -> None:
    _, wheel = built
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    # The dependencies come from the test environment's site-packages (no network, no second copy);
    # a plain path in a .pth file: the test environment's own .pth files (its editable summitbot) stay out.
    query = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = Path(_run(python, "-c", query, cwd=tmp_path).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "test-deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel, cwd=tmp_path)

    home = tmp_path / "elsewhere"  # no config.yaml, no corpus/
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "DISCORD_TOKEN")}
    where = _run(python, "-c", "import bot; print(bot.__file__)", cwd=home, env=env).stdout.strip()
    assert Path(where).is_relative_to(venv), f"summitbot imported from {where}, not the fresh venv"
    assert not Path(where).is_relative_to(REPO)

    result = _run(venv / "bin" / "summitbot", "ask", QUESTION, cwd=home, env=env)
    assert "58" in result.stdout and "¶" in result.stdout
    check = _run(venv / "bin" / "summitbot", "check", cwd=home, env=env)
    assert "bot/shipped_corpus" in check.stdout
    assert not (home / "data").exists(), "asking writes nothing"
    # init from the installed package writes the same shipped articles.
    _run(venv / "bin" / "summitbot", "init", "site", cwd=home, env=env)
    for name, data in _shipped().items():
        assert (home / "site" / "corpus" / name).read_bytes() == data
