"""Derive the analyzer's protected name words (:data:`bot.analysis.NAME_WORDS`) from the development corpora.

Usage (from the repo root)::

    python -m benchmarks.name_words [--squad ../shared/data/squad-v1.1-dev.json] [--bbc ../shared/data/bbc-news-dev]

A word is protected when, in the middle of a sentence, it is written capitalised at least a third of
the time (a name: "United", "Aids", "Commons", "Wells"), stemming changes it, and its stem is shared with a
word written in lower case at least twice as often as capitalised (a common word: "unit", "aid",
"common", "well"). A capitalised token of a protected word then keeps its unstemmed form, so the
name no longer matches the common word; lower-case tokens are stemmed as before. Only pairs seen at
least 3 times each count.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from benchmarks.squad import DEFAULT_DATA
from bot.analysis import STOPWORDS, light_stem

DEFAULT_BBC = DEFAULT_DATA.parent / "bbc-news-dev"
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def texts(squad: Path, bbc: Path) -> list[str]:
    """Every paragraph of the SQuAD dev half and of the BBC dev half."""
    out: list[str] = []
    for article in json.loads(squad.read_text(encoding="utf-8"))["data"]:
        out += [p["context"] for p in article["paragraphs"]]
    for line in (bbc / "articles.jsonl").read_text(encoding="utf-8").splitlines():
        out += json.loads(line)["paragraphs"]
    return out


def case_counts(paragraphs: Iterable[str]) -> tuple[Counter[str], Counter[str]]:
    """Mid-sentence occurrences of each lower-cased word: capitalised (not all-capital) and lower-case."""
    cap: Counter[str] = Counter()
    low: Counter[str] = Counter()
    for text in paragraphs:
        for match in _WORD.finditer(text):
            word = match.group()
            if word.endswith(("'s", "’s")):
                word = word[:-2]
            before = text[: match.start()].rstrip()
            if not before or before[-1] in '.!?:"“':
                continue  # a sentence's first word is capitalised whatever it is
            folded = word.lower()
            if not folded.isalpha() or len(folded) < 2 or folded in STOPWORDS:
                continue
            if word[0].isupper() and not word.isupper():
                cap[folded] += 1
            elif word.islower():
                low[folded] += 1
    return cap, low


def name_words(cap: Counter[str], low: Counter[str], minimum: int = 3) -> list[str]:
    """The protected words (see the module docstring), sorted."""
    classes: dict[str, list[str]] = defaultdict(list)
    for word in set(cap) | set(low):
        classes[light_stem(word)].append(word)
    out = []
    for stem, words in classes.items():
        common = [w for w in words if low[w] >= minimum and low[w] >= 2 * cap[w]]
        for w in words:
            if stem in (w, w[:-1] + "i"):
                continue  # unchanged, or only a final y turned into i ("Party" stays a party)
            if cap[w] >= minimum and 2 * cap[w] >= low[w] and any(c != w for c in common):
                out.append(w)
    return sorted(out)


def main(argv: list[str] | None = None) -> None:
    """Print the protected words as the Python constant the analyzer ships."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--bbc", type=Path, default=DEFAULT_BBC)
    args = parser.parse_args(argv)
    words = name_words(*case_counts(texts(args.squad, args.bbc)))
    print(f"# {len(words)} words")
    print("NAME_WORDS = frozenset(" + repr(" ".join(words)) + ".split())")


if __name__ == "__main__":
    main()
