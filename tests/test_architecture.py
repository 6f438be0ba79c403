"""The architecture's layers, checked: the core never imports discord.py, storage neither, only
:mod:`bot.search` touches the index's arrays, and ``bot/`` has no import cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
#: The core and the terminal front end: nothing here may import discord.py.
CORE = (
    "config",
    "corpus",
    "analysis",
    "search",
    "answering",
    "answering.query",
    "answering.rerank",
    "answering.confidence",
    "answering.highlight",
    "sentences",
    "salience",
    "relevance",
    "topics",
    "summaries",
    "engine",
    "index_store",
    "rebuild",
    "messages",
    "terminal",
    "ingest",
    "cli",
)
STORAGE = ("storage", "storage.schema", "storage.privacy", "storage.store", "storage.worker", "storage.report")
#: The BM25 index's arrays: only bot/search.py may read them (others use BM25Index's query API).
INDEX_ARRAYS = frozenset(
    {"vocab", "offsets", "post_docs", "post_weights", "df", "idf", "head_pos", "head_bound", "dense_row", "dense_tf"}
)


def discord_modules_after_importing(names: tuple[str, ...]) -> list[str]:
    """The discord modules loaded by importing ``bot.<name>`` for each name, in a fresh interpreter."""
    code = (
        "import sys\n"
        + "".join(f"import bot.{name}\n" for name in names)
        + "print(sorted(m for m in sys.modules if m == 'discord' or m.startswith('discord.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return ast.literal_eval(result.stdout.strip())


def test_core_modules_import_nothing_from_discord() -> None:
    assert discord_modules_after_importing(CORE) == []


def test_storage_imports_nothing_from_discord() -> None:
    assert discord_modules_after_importing(STORAGE) == []


def bot_modules() -> dict[str, ast.Module]:
    """Every module of the package, by dotted name, parsed."""
    out = {}
    for path in sorted(BOT.rglob("*.py")):
        parts = path.relative_to(BOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return out


def test_only_search_reads_the_index_arrays() -> None:
    """No module but bot.search reads ``x.vocab``, ``x.offsets``, ``x.post_docs``, ``x.post_weights``,
    ``x.df`` or ``x.idf`` (whatever ``x`` is called): the index is reached through its query API."""
    found = [
        f"{name}:{node.lineno} .{node.attr}"
        for name, tree in bot_modules().items()
        if name != "bot.search"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in INDEX_ARRAYS
    ]
    assert found == []


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """ids of every node under an ``if TYPE_CHECKING:`` block (imports there never run)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                skipped.update(id(n) for n in ast.walk(stmt))
    return skipped


def import_graph() -> dict[str, set[str]]:
    """module -> the bot modules it imports when it runs (module level or inside functions;
    imports under ``if TYPE_CHECKING:`` left out)."""
    modules = bot_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, tree in modules.items():
        skipped = _type_checking_nodes(tree)
        package = name if (BOT.parent / name.replace(".", "/") / "__init__.py").exists() else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a path that returns to its start), or None."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycles_in_bot() -> None:
    graph = import_graph()
    assert "bot.discord_app.app" in graph["bot.discord_app.runner"]  # the graph sees real imports
    assert find_cycle(graph) is None


def test_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
