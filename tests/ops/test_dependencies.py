"""A plain `pip install summitbot` (no extras) brings every package the program loads: the modules that
importing an HTML page pulls in (trafilatura and what it imports) come from distributions that summitbot's own
requirements reach, so a fresh install does not fail with an ImportError that only a test extra happened to
hide (lxml 6 moved `lxml.html.clean` into the separate `lxml_html_clean`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata

_PROBE = """
import json, sys
from importlib import metadata
startup = set(sys.modules)  # what the interpreter loaded before (site hooks such as setuptools' .pth)
import bot.ingest, bot.cli, bot.engine
import trafilatura
names = {m.split('.')[0] for m in set(sys.modules) - startup}
dists = metadata.packages_distributions()
print(json.dumps(sorted({d for n in names for d in dists.get(n, ())})))
"""


def _norm(name: str) -> str:
    """The normalized form of a distribution name (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(dist: str) -> set[str]:
    """The distributions `dist` needs without extras, itself included, as normalized names."""
    seen: set[str] = set()
    todo = [dist]
    while todo:
        name = _norm(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for req in requires:
            marker = req.split(";", 1)[1] if ";" in req else ""
            if "extra" in marker:
                continue
            todo.append(re.split(r"[\s<>=!~;\[(]", req, maxsplit=1)[0])
    return seen


def test_a_plain_install_brings_everything_an_html_import_loads() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=True)
    loaded = {_norm(d) for d in json.loads(out.stdout)}
    declared = _closure("summitbot")
    assert "trafilatura" in loaded
    assert loaded - declared == set(), f"loaded but not required by summitbot: {sorted(loaded - declared)}"
