"""YAML for files an admin (or an attacker with write access to the corpus) controls: no aliases.

PyYAML's ``safe_load`` still expands anchors and aliases, so a few hundred bytes
(``a: &a [x,x,…]``, ``b: &b [*a,*a,…]``, … nine levels deep) become billions of list items, and a
5,000-deep ``[[[[…`` ends in ``RecursionError``. :func:`load` refuses both before anything is
built: an anchor or alias is a :class:`yaml.MarkedYAMLError` naming its line, and so is nesting
deeper than :data:`MAX_DEPTH`. :func:`quote` shows a value in an error message without expanding it.
"""

from __future__ import annotations

import reprlib
from typing import Any

import yaml

#: Nesting deeper than this (mappings and lists inside each other) is refused.
MAX_DEPTH = 32
#: How many characters of a bad value an error message quotes.
QUOTE_CHARS = 80

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = QUOTE_CHARS
_REPR.maxother = QUOTE_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6


class _NoAliasLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses anchors, aliases and deep nesting while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose one node; refuse it when it is an alias, carries an anchor, or nests too deep."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "YAML aliases (*name) are not allowed here", event.start_mark)
        if getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(None, None, "YAML anchors (&name) are not allowed here", event.start_mark)
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark
                )
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)


def load(text: str) -> Any:
    """Parse one YAML document like ``yaml.safe_load``, refusing anchors, aliases and deep nesting.

    Raises :class:`yaml.YAMLError` (a :class:`yaml.MarkedYAMLError` with ``problem`` and
    ``problem_mark`` for what this module refuses).
    """
    loader = _NoAliasLoader(text)
    try:
        return loader.get_single_data()
    except RecursionError:  # cannot happen with MAX_DEPTH, but never let it out as a traceback
        raise yaml.YAMLError("nested too deeply") from None
    finally:
        loader.dispose()


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """A short ``repr`` of ``value`` for an error message: nested values elided, at most ``limit`` characters."""
    try:
        text = _REPR.repr(value)
    except (RecursionError, ValueError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def problem_of(exc: yaml.YAMLError) -> tuple[int | None, str]:
    """The 0-based line and a short description of a YAML error (for one-line messages)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["syntax error"])[0]
    return (mark.line if mark is not None else None), str(problem)[:200]
