"""Is this message a question? The rule that keeps the bot quiet in answer channels.

In an answer channel the bot reads every message, but most are conversation: thanks, greetings,
"ok", "lol", "how are you?". Only a question is worth searching the sources for. The rule, per
sentence (a message is a question when any of its sentences is one):

1. A sentence is a *candidate* when it ends with ``?``, or starts with a question word (what, who,
   how, is, does, can, …), has at least three words and no closing ``.`` or ``!``, or starts with
   a request (tell me, explain, summarize, any news on, …). Lead-ins before the opening word
   ("ok so", "hey", "btw") are skipped.
2. A candidate counts only when it has at least one *content word*: a word that is not a question
   word, an auxiliary, a pronoun, a greeting, a thank-you or other chat filler. "How are you?",
   "what's up?", "anyone here?" and "thanks?" have none; "Who won?" has one ("won").

Discord markup (mentions, custom emoji), links, inline code and emoji are removed first. The rule is
deliberately simple and readable, not a model; a mention of the bot always answers, whatever it says.
"""

from __future__ import annotations

import re

__all__ = ["is_question"]

_MARKUP = re.compile(
    r"<(?:@[!&]?|#)\d+>|<a?:\w+:\d+>|</[\w -]+:\d+>|@(?:everyone|here)\b|https?://\S+|`[^`]*`",
)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")

#: Words that open a question (wh-words and auxiliaries that start a yes/no question).
QUESTION_WORDS = frozenset(
    """what whats what's who whos who's whom whose when whens where wheres where's why how hows how's which
    is isn't are aren't was wasn't were weren't do don't does doesn't did didn't can can't could couldn't
    will won't would wouldn't should shouldn't has hasn't have haven't had hadn't""".split()
)
#: Openings that ask without a question mark: "tell me about…", "explain…", "any news on…".
REQUESTS = (
    "tell me",
    "tell us",
    "explain",
    "summarize",
    "summarise",
    "describe",
    "show me",
    "give me",
    "i want to know",
    "i'd like to know",
    "i wonder",
    "i am wondering",
    "i'm wondering",
    "any news",
    "any update",
    "anything on",
    "anything about",
    "info on",
    "information on",
    "details on",
)
#: Words that carry no subject: pronouns, auxiliaries, particles, greetings, thanks and chat filler.
FILLER = QUESTION_WORDS | frozenset(
    """i me my mine you your yours u ur we us our he him his she her it its it's they them their this that
    these those there here anyone anybody someone somebody everyone everybody something anything ya y'all
    a an the to of in on at for with about and or but so if then than not no yes yeah yep yup nope ok okay
    k kk alright right sure really very too also just still again now up out all any some am be been being
    doing going gonna got get do did done going know think mean see say said tell told ask asked
    hi hii hello hey heya hiya yo sup howdy morning evening afternoon night gm gn good great nice cool
    awesome perfect fine well thanks thank thx ty tysm thankyou cheers appreciate appreciated helpful
    helped help bye goodbye cya later lol lmao rofl haha hahaha hehe xd omg wow oh ah uh um hmm huh bot
    please pls plz sorry welcome guys folks everyone all""".split()
)
#: Words skipped before the opening word: "ok so how much…", "hey, who won…", "btw what is…".
LEAD_INS = frozenset(
    """ok okay k so well hey hi hello yo um uh hmm and but also then btw oh alright right thanks cool bot
    guys quick""".split()
)
#: Longer than this many words, a message is not "short chatter" even without a question mark.
MIN_WORDS_WITHOUT_MARK = 3


def _clean(text: str) -> str:
    """The text without Discord markup, links and inline code, whitespace collapsed."""
    return " ".join(_MARKUP.sub(" ", text).split())


def _words(sentence: str) -> list[str]:
    """Lower-case words (letters and digits, inner apostrophes kept as ``'``)."""
    return [w.replace("’", "'") for w in _WORD.findall(sentence.casefold())]


def _sentence_is_question(sentence: str) -> bool:
    """Whether one sentence asks something (see the module docstring)."""
    words = _words(sentence)
    if not words:
        return False
    if all(word in FILLER for word in words):
        return False
    start = 0
    while start < len(words) - 1 and words[start] in LEAD_INS:
        start += 1
    asked = words[start:]
    opening = " ".join(asked[:5])
    tail = sentence.rstrip(" \t\"')]}*_~")
    unmarked = not tail.endswith((".", "!", "…"))  # "When it rained, we left." is a statement
    return (
        tail.rstrip(".!…").endswith("?")
        or (unmarked and asked[0] in QUESTION_WORDS and len(asked) >= MIN_WORDS_WITHOUT_MARK)
        or any(opening == request or opening.startswith(request + " ") for request in REQUESTS)
    )


def is_question(text: str) -> bool:
    """True when a chat message asks a question the sources might answer; False for thanks, greetings,
    short chatter, statements, and messages that are only markup or emoji."""
    cleaned = _clean(text)
    if not cleaned:
        return False
    return any(_sentence_is_question(s) for s in _SENTENCE_END.split(cleaned) if s.strip())
