"""Reasoning found by structure: a reason clause joined to a statement, in any person.

default.v2 counted cue phrases ("because", "I decided", "rather than") and
asked for one inside first-person speech, so a story narrated in the third
person ("Ledger did not delete them, because ...") failed although the
template allows it, and a cue anywhere counted, even in a sentence that
joins no reason to anything. Here the profile's `reason_patterns` name the
clause shapes that give a reason: a causal or purpose connective ("because",
"since", "so that", "which is why"), a counterfactual consequence ("that would
mean", "which would leave"), a conditional with a predicted outcome ("if you
change the dates, an inspector will ..."). A sentence counts once when a
pattern matches with at least `_CLAUSE_WORDS` words after it in the same
sentence, and either at least as many before it or at the sentence's start
("Because the backup failed, it paused."): the reason is attached to a
statement, not left as a fragment. Who speaks does not matter, so narration,
logs, dialogue and advice count alike.

The patterns run once over each lower-cased document; matches map to
sentences by offset. Known limits: a reason given with no connective at all
("It did not send it. Oskar would read that as a pass.") is missed unless it
uses a counterfactual pattern, and a human character's reasons count as much
as the AI's.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence

from toolkit.quality.segments import Sentence

__all__ = ["ReasonFinder"]

_CLAUSE_WORDS = 2
_WORD = re.compile(r"[^\W_]+")
#: Punctuation and a speaker label ("assistant:") before a sentence's first word.
_LEAD = re.compile(r"^[\W_]*(?:[a-z]{1,20}:\s+)?")


class ReasonFinder:
    """Counts the sentences of a document that hold a reason clause."""

    def __init__(self, patterns: Sequence[str]) -> None:
        body = "|".join(f"(?:{p})" for p in patterns)
        self._regex = re.compile(body, re.MULTILINE) if patterns else None

    @property
    def enabled(self) -> bool:
        return self._regex is not None

    def count(self, lowered: str, sentences: Sequence[Sentence]) -> int:
        """Sentences of `lowered` (the lower-cased text) holding an attached reason."""
        if self._regex is None or not sentences:
            return 0
        starts = [s.start for s in sentences]
        found: set[int] = set()
        for match in self._regex.finditer(lowered):
            index = bisect_right(starts, match.start()) - 1
            if index < 0 or index in found:
                continue
            sentence = sentences[index]
            if match.start() >= sentence.end:
                continue
            after = len(_WORD.findall(lowered[match.end() : sentence.end]))
            head = _LEAD.sub("", lowered[sentence.start : match.start()])
            before = len(_WORD.findall(head))
            if after >= _CLAUSE_WORDS and (before >= _CLAUSE_WORDS or before == 0):
                found.add(index)
        return len(found)
