"""The three outcomes of a question, decided from the engine's confidence and two thresholds.

* ``"answer"``: confident that the best passage answers (confidence >= ``answers.min_confidence``);
* ``"closest"``: related text exists but the engine is not confident it answers (confidence
  >= ``answers.min_related``): front ends show the closest passage under a label that says so;
* ``"none"``: nothing related ("That's not in my sources").

The decision lives in :func:`decide_verdict` alone, so a new confidence model changes what feeds
it, not the rule; ``summitbot calibrate`` applies the same function to other thresholds.
"""

from __future__ import annotations

from typing import Literal

Verdict = Literal["answer", "closest", "none"]
#: Every verdict, from the most to the least confident.
VERDICTS: tuple[Verdict, ...] = ("answer", "closest", "none")


def decide_verdict(confidence: float, has_passage: bool, min_confidence: float, min_related: float) -> Verdict:
    """The verdict for a question whose best passage (if any) has this ``confidence`` (0..1).

    Thresholds are inclusive: a confidence exactly at ``min_confidence`` is an answer, exactly at
    ``min_related`` a closest passage. Without a passage the verdict is always ``"none"``; a
    confidence that is not a number never reaches a threshold.
    """
    if not has_passage or confidence != confidence:  # NaN compares unequal to itself
        return "none"
    if confidence >= min_confidence:
        return "answer"
    if confidence >= min_related:
        return "closest"
    return "none"
