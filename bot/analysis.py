"""Text analysis: the one place that turns text into the terms that passages and questions are matched on.

Tokens are Unicode-aware. Case is folded, except that acronyms (``US``, ``U.S.``, ``UN``) stay
acronyms, so that the stopword list does not eat them: "US" is the United States, "us" a pronoun.
Curly apostrophes and possessives are normalised (``China’s`` -> ``china``), English stopwords are
dropped, words are Snowball-stemmed (PyStemmer), and alias groups from ``aliases.yaml`` map every
name of one thing (U.S. / United States / America) onto a single term.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import Stemmer
import yaml

from bot import safe_yaml
from bot.corpus import read_text_file

# NLTK's English stopword list, plus "us" (the pronoun; "US" the acronym is kept), a few
# auxiliaries and contraction stubs that carry no topic, and the question-form quantifiers "many" and
# "much" ("how many ...?"): on SQuAD they are 2-3x more frequent in questions than in passages in
# both folds (benchmarks/quality.py), and a corpus that lacks them would weigh them as its rarest terms.
STOPWORDS: frozenset[str] = frozenset(
    """
    a about above after again against ain all am an and any are aren as at be because been before
    being below between both but by can couldn d did didn do does doesn doing don down during each
    few for from further had hadn has hasn have haven having he her here hers herself him himself his
    how i if in into is isn it its itself just ll m ma me mightn more most mustn my myself needn no nor
    not now o of off on once only or other our ours ourselves out over own re s same shan she should
    shouldn so some such t than that the their theirs them themselves then there these they this
    those through to too under until up ve very was wasn we were weren what when where which while who
    whom why will with won wouldn y you your yours yourself yourselves
    us would could shall may might must also many much
    """.split()
)

# Words that, capitalised, are usually a name whose stem is a different common word ("United" vs
# "unit", "Aids" vs "aid", "Commons" vs "common", "States" vs "stating"): a capitalised token of one
# of these keeps its unstemmed form. Derived from the development corpora by
# `python -m benchmarks.name_words` (see there for the rule); lower-case tokens are stemmed as usual.
NAME_WORDS: frozenset[str] = frozenset(
    """
    advisors affairs ages aids airlines allied appeals arts awards balls bankers bones boxing burns
    busted chiefs commons communications dreams economics enduring eyes fighters files finding flying
    foods functioning gangs garments girls grows holdings humanities incredibles keys kids killers
    lenders loves manning mills mountains peaks pharmaceuticals pictures pirates pops purchasing
    rankings reading regulations rings rolling rolls roses saving securities sellers shields sisters
    spirited states studios times touching troupes united wells wings
    """.split()
)

# Acronyms longer than this are treated as ordinary words written in capitals (a shouted "CHINESE").
_MAX_ACRONYM_LEN = 5
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})
_WORD = r"[^\W_]+(?:['’][^\W_]+)*"
# Single letters joined by dots: U.S., U.N., e.g. -- one token, not two one-letter words.
_DOTTED = r"(?<![^\W_])[^\W\d_](?:\.[^\W\d_])+\.?"


# The byte fast path (see :meth:`Analyzer.byte_words`): ASCII letters and digits stay, as do the
# apostrophe (a joiner) and every byte of a multi-byte UTF-8 character (which, once checked, is a
# letter or digit); any other ASCII byte separates words.
_BYTE_TABLE = bytes(c if (c < 128 and chr(c).isalnum()) or c == 39 or c >= 128 else 32 for c in range(256))
# Common non-ASCII punctuation and spaces, which separate words just like ASCII punctuation.
_UNICODE_SEPARATORS = tuple(
    "\u00a0\u00ab\u00bb\u00b7\u2010\u2011\u2012\u2013\u2014\u2015\u2018\u201c\u201d\u201e\u2022\u2026"
    "\u2009\u200a\u202f\u2032\u2033\u00a7\u00b0\u20ac\u00a3"
)
# A non-ASCII character that is not a letter or digit (not safe for the byte path).
_NON_ASCII_NON_WORD = re.compile(r"[^\x00-\x7f\w]")
# A dot followed by a letter: a possible dotted acronym ("U.S."), which only the regex handles.
_DOT_LETTER = re.compile(rb"\.[A-Za-z\x80-\xff]")
# An apostrophe that does not join two word characters is a separator.
_LONE_APOSTROPHE = re.compile(rb"(?<![A-Za-z0-9\x80-\xff])'|'(?![A-Za-z0-9\x80-\xff])")


def _separated(raw: bytes) -> bytes:
    """``raw`` with every byte that separates words turned into a space."""
    if b"'" in raw:
        raw = _LONE_APOSTROPHE.sub(b" ", raw)
    return raw.translate(_BYTE_TABLE)


class AliasError(ValueError):
    """An aliases file that cannot be used; the message names the file (and line when known)."""


@dataclass(frozen=True)
class Token:
    """One analysed token: its term and where it stands in the text it came from."""

    term: str
    start: int
    end: int


def _fold(text: str) -> str:
    """Unicode-normalise and case-fold one surface form; straighten apostrophes."""
    return unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()


_VOWELS = frozenset("aeiou")


def _consonant(word: str, i: int) -> bool:
    """Porter's consonant test: ``y`` is a consonant after a vowel or at the start."""
    ch = word[i]
    if ch in _VOWELS:
        return False
    if ch == "y":
        return i == 0 or not _consonant(word, i - 1)
    return True


def _measure(stem: str) -> int:
    """Porter's m: how many vowel-consonant sequences ``stem`` has."""
    m, previous_vowel = 0, False
    for i in range(len(stem)):
        vowel = not _consonant(stem, i)
        if previous_vowel and not vowel:
            m += 1
        previous_vowel = vowel
    return m


def _has_vowel(stem: str) -> bool:
    return any(not _consonant(stem, i) for i in range(len(stem)))


def _cvc(stem: str) -> bool:
    """Ends consonant-vowel-consonant, the last not w, x or y (Porter's *o)."""
    n = len(stem)
    return (
        n >= 3
        and _consonant(stem, n - 3)
        and not _consonant(stem, n - 2)
        and _consonant(stem, n - 1)
        and stem[-1] not in "wxy"
    )


def light_stem(word: str) -> str:
    """An inflectional stemmer: Porter's steps 1 and 5a (plurals, -ed, -ing, final -y and -e), lower-case input.

    Unlike Snowball it keeps derivational suffixes, so "initiative" and "initial" stay apart (Snowball
    maps both to "initi"); "countries" -> "countri", "endorsed" -> "endors", "governing" -> "govern".
    Non-ASCII words are returned unchanged.
    """
    if len(word) <= 2 or not word.isascii() or not word.isalpha():
        return word
    # Step 1a: plurals.
    if word.endswith(("sses", "ies")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    # Step 1b: -eed, -ed, -ing.
    if word.endswith("eed"):
        if _measure(word[:-3]) > 0:
            word = word[:-1]
    else:
        for suffix in ("ed", "ing"):
            if word.endswith(suffix) and _has_vowel(word[: -len(suffix)]):
                word = word[: -len(suffix)]
                if word.endswith(("at", "bl", "iz")):
                    word += "e"
                elif word[-1] == word[-2] and word[-1] not in "lsz" and _consonant(word, len(word) - 1):
                    word = word[:-1]
                elif _measure(word) == 1 and _cvc(word):
                    word += "e"
                break
    # Step 1c: final y after a vowel-bearing stem -> i.
    if word.endswith("y") and len(word) > 2 and _has_vowel(word[:-1]):
        word = word[:-1] + "i"
    # Step 5a: a final e goes, so that "endorse" meets "endorsed" ("endors"), except after a short
    # syllable ("hope", "state").
    if word.endswith("e"):
        m = _measure(word[:-1])
        if m > 1 or (m == 1 and not _cvc(word[:-1])):
            word = word[:-1]
    return word


def _is_acronym(surface: str) -> bool:
    """All-capital short words (US, AI, NATO) and dotted letters (U.S., e.g.) are acronyms."""
    if "." in surface:
        return True
    return 2 <= len(surface) <= _MAX_ACRONYM_LEN and surface.isupper()


@dataclass
class AliasTable:
    """Groups of names that mean the same thing, each mapped to one canonical term.

    ``groups`` keeps the names as written; single-word names replace the token's term, and
    multi-word names are matched on term sequences (see :meth:`Analyzer.phrase_matches`).
    """

    groups: list[list[str]] = field(default_factory=list)

    def canonical(self, index: int) -> str:
        """The term shared by every name of group ``index``."""
        return "~" + "_".join(_fold(self.groups[index][0]).replace(".", "").split())

    @classmethod
    def load(cls, path: Path, max_bytes: int = 2_000_000) -> AliasTable:
        """Read ``aliases.yaml`` (``groups: [[name, name, ...], ...]``); a missing file means no aliases.

        Read like an article file (:func:`bot.corpus.read_text_file`): no symlink, regular files
        only, never blocking, at most ``max_bytes``.
        """
        text, problems = read_text_file(path, max_bytes, missing_ok=True)
        if problems:
            raise AliasError(str(problems[0]))
        if text is None:
            return cls()
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, where: str = "aliases.yaml") -> AliasTable:
        """Parse and validate alias YAML; errors name ``where`` and the group."""
        try:
            raw = safe_yaml.load(text)
        except yaml.YAMLError as exc:
            mark_line, problem = safe_yaml.problem_of(exc)
            line = f":{mark_line + 1}" if mark_line is not None else ""
            raise AliasError(f"{where}{line}: not valid YAML ({problem})") from None
        if raw is None:
            return cls()
        if not isinstance(raw, dict) or set(raw) != {"groups"} or not isinstance(raw["groups"], list):
            raise AliasError(f"{where}: expected one key 'groups' holding a list of name lists")
        groups: list[list[str]] = []
        for i, group in enumerate(raw["groups"], start=1):
            if not isinstance(group, list) or len(group) < 2:
                shown = safe_yaml.quote(group)
                raise AliasError(f"{where}: group {i} must be a list of at least two names, not {shown}")
            names = []
            for name in group:
                if not isinstance(name, str) or not name.strip():
                    raise AliasError(f"{where}: group {i} has a name that is not text: {safe_yaml.quote(name)}")
                names.append(name.strip())
            groups.append(names)
        return cls(groups)


class SurfaceCache(dict):
    """Surface word -> a value computed by ``resolve`` on first lookup (at most ``max_size`` kept).

    Its ``__getitem__`` runs in C for words already seen, so ``map(cache.__getitem__, words)``
    turns a passage's words into terms or term ids without a Python call per word.
    """

    def __init__(self, resolve: Callable[[Any], Any], max_size: int | None = None) -> None:
        super().__init__()
        self.resolve = resolve
        self.max_size = max_size

    def __missing__(self, surface: Any) -> Any:
        value = self.resolve(surface)
        if self.max_size is None or len(self) < self.max_size:
            self[surface] = value
        return value


class Analyzer:
    """Turns text into terms. One instance per corpus (it caches per surface word).

    The same tokenizer pattern and per-word analysis serve three callers: :meth:`analyze` for
    questions, :meth:`tokens` when character spans are needed (highlighting), and the index
    builder, which applies :attr:`pattern` and :meth:`term_of` in bulk.
    """

    def __init__(
        self,
        aliases: AliasTable | None = None,
        language: str = "english",
        stemming: str = "light",
        names: str = "protected",
    ) -> None:
        self.aliases = aliases or AliasTable()
        self._stemmer = Stemmer.Stemmer(language)
        if stemming not in ("snowball", "light"):
            raise ValueError(f"stemming must be 'snowball' or 'light', not {stemming!r}")
        if names not in ("stem", "protected", "all"):
            raise ValueError(f"names must be 'stem', 'protected' or 'all', not {names!r}")
        self.stemming = stemming
        self.names = names
        self._stem: Callable[[str], str] = self._stemmer.stemWord if stemming == "snowball" else light_stem
        self._acronym_alias: dict[str, str] = {}
        self._word_alias: dict[str, str] = {}
        self._lower_acronym: dict[str, str] = {}
        self.pattern: re.Pattern[str] = re.compile(_DOTTED + "|" + _WORD)
        self._terms: dict[str, str | None] = {}
        multi_word: list[tuple[str, str]] = []
        for index, names in enumerate(self.aliases.groups):
            canonical = self.aliases.canonical(index)
            for name in names:
                if len(name.split()) > 1:
                    multi_word.append((name, canonical))
                    continue
                folded = _fold(name)
                if _is_acronym(name):
                    self._acronym_alias[folded.replace(".", "")] = canonical
                    if "." in name:
                        continue
                    # An acronym's lower-case spelling ("ai") is the acronym as typed casually; its
                    # capitalised spelling ("Ai") is a name, not the acronym (see _analyze_surface).
                    self._lower_acronym.setdefault(folded, canonical)
                    continue
                self._word_alias.setdefault(folded, canonical)
                self._word_alias.setdefault(self._stem(folded), canonical)
        # Multi-word names are matched on term sequences (after single-word aliases and stopwords),
        # and add their group's term beside the words' own terms, so "governance initiative" still
        # matches a passage that names the "Global AI Governance Initiative".
        phrases: dict[tuple[str, ...], str] = {}
        for name, canonical in multi_word:
            seq = tuple(self._word_terms(name))
            if len(seq) > 1 and canonical not in seq:
                phrases.setdefault(seq, canonical)
        self.phrases: list[tuple[tuple[str, ...], str]] = sorted(phrases.items(), key=lambda p: -len(p[0]))
        self._phrase_starts: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for seq, canonical in self.phrases:
            self._phrase_starts.setdefault(seq[0], []).append((seq, canonical))

    def stem(self, word: str) -> str:
        """The stem of one lower-case word, by this analyzer's stemmer (no aliases, no stopwords)."""
        return self._stem(word)

    def term_of(self, surface: str) -> str | None:
        """The term for one token as matched by :attr:`pattern`, or None for a stopword."""
        term = self._terms.get(surface, False)
        if term is False:
            term = self._analyze_surface(surface)
            if len(self._terms) < 1_000_000:
                self._terms[surface] = term
        return term  # type: ignore[return-value]

    def _analyze_surface(self, surface: str) -> str | None:
        folded = _fold(surface)
        if folded.endswith("'s"):
            folded = folded[:-2]
        folded = folded.replace("'", "")
        if not folded:
            return None
        plain_surface = surface.translate(_APOSTROPHES)
        if plain_surface.endswith(("'s", "'S")):
            plain_surface = plain_surface[:-2]
        if _is_acronym(plain_surface.replace("'", "")):
            letters = folded.replace(".", "")
            alias = self._acronym_alias.get(letters) or self._word_alias.get(letters)
            return alias or letters
        if folded in STOPWORDS:
            return None
        if len(folded) == 1 and folded.isascii() and not folded.isdigit():
            return None
        alias = self._word_alias.get(folded)
        if alias:
            return alias
        if plain_surface[:1].isupper():
            if self.names == "all" or (self.names == "protected" and folded in NAME_WORDS):
                return folded
        elif folded in self._lower_acronym:
            return self._lower_acronym[folded]
        stem = self._stem(folded)
        return self._word_alias.get(stem, stem)

    def byte_words(self, text: str, shouting: bool) -> list[bytes] | None:
        """The words :attr:`pattern` finds in ``text`` (lower-cased if ``shouting``), as UTF-8 bytes.

        A C-level split (``bytes.translate`` + ``split``) that is several times faster than the
        regex, for bulk indexing. None when only the regex can tell: a possible dotted acronym
        ("U.S."), an unusual non-ASCII character, or non-ASCII shouting. Feed the words to
        :meth:`term_of` after decoding; the terms are those :meth:`analyze` gives.
        """
        if text.isascii():
            raw = text.encode("ascii")
            if shouting:
                raw = raw.lower()
        else:
            if shouting:
                return None
            for sep in _UNICODE_SEPARATORS:
                if sep in text:
                    text = text.replace(sep, " ")
            if "’" in text:
                text = text.replace("’", "'")  # the same joiner for the pattern and the same term
            if _NON_ASCII_NON_WORD.search(text):
                return None
            raw = text.encode("utf-8")
        if b"." in raw and _DOT_LETTER.search(raw):
            return None
        return _separated(raw).split()

    def ascii_separated(self, text: str) -> bytes | None:
        """An ASCII ``text`` as bytes with word separators turned into spaces, so that any slice
        between whitespace splits into the words :attr:`pattern` finds there; None for non-ASCII
        text or a possible dotted acronym."""
        if not text.isascii():
            return None
        raw = text.encode("ascii")
        if b"." in raw and _DOT_LETTER.search(raw):
            return None
        return _separated(raw)

    @staticmethod
    def is_shouting(text: str) -> bool:
        """Text written all in capitals: its words are read as ordinary words, not acronyms."""
        return text.isupper() and sum(ch.isalpha() for ch in text) > 6

    def _word_terms(self, text: str) -> list[str]:
        surfaces: Iterable[str] = self.pattern.findall(text)
        if self.is_shouting(text):
            surfaces = map(str.lower, surfaces)
        term_of = self.term_of
        return [t for t in map(term_of, surfaces) if t is not None]

    def phrase_matches(self, terms: Sequence[str]) -> list[tuple[int, int, str]]:
        """Alias phrases found in a term sequence: (first index, end index, group term)."""
        found = []
        starts = self._phrase_starts
        if not starts:
            return found
        for i, term in enumerate(terms):
            for seq, canonical in starts.get(term, ()):
                if tuple(terms[i : i + len(seq)]) == seq:
                    found.append((i, i + len(seq), canonical))
        return found

    def analyze(self, text: str) -> list[str]:
        """The terms of ``text`` (stopwords dropped; alias-phrase terms appended), as it is indexed."""
        terms = self._word_terms(text)
        terms.extend(c for _, _, c in self.phrase_matches(terms))
        return terms

    def tokens(self, text: str) -> list[Token]:
        """The analysed tokens of ``text`` with their character spans (for highlighting).

        A matched alias phrase is one more token spanning the whole phrase.
        """
        shouting = self.is_shouting(text)
        out = []
        for match in self.pattern.finditer(text):
            surface = match.group()
            term = self.term_of(surface.lower() if shouting else surface)
            if term is not None:
                out.append(Token(term, match.start(), match.end()))
        terms = [t.term for t in out]
        out.extend(Token(c, out[i].start, out[j - 1].end) for i, j, c in self.phrase_matches(terms))
        return out

    def analyze_many(self, texts: Sequence[str]) -> list[list[str]]:
        """:meth:`analyze` for each text."""
        return [self.analyze(t) for t in texts]
