"""Where a document's quotations come from: its own principles or another part of the constitution.

`foreign_quotes` counts the quotations (of `quote_min_words` words or more)
found word for word in the constitution, in none of the principles the
document cites but in another one. An explainer quotes the text it explains;
a quotation of another principle's text is one put in the wrong place (a
quotation swapped in from elsewhere, or a document that drifted), which the
embedding measure `quote_relevance` often misses, because any two passages
of one constitution share its vocabulary. On the benchmark's hand-written
explainers every word-for-word quotation of the constitution comes from a
cited principle. A quotation found nowhere (dialogue, a paraphrase, an
ellipsis inside it) does not count either way.

Texts are compared lower-cased, with curly apostrophes straightened, runs of
white space and Markdown emphasis collapsed, and edge punctuation trimmed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from toolkit.constitution.model import Constitution

__all__ = ["QuoteSources"]

_SPACE = re.compile(r"\s+")
_EMPHASIS = re.compile(r"[*_`]+")
_EDGES = " .,;:!?'\"()[]"


def _norm(text: str) -> str:
    plain = _EMPHASIS.sub("", text.lower().replace("\u2019", "'").replace("\u2018", "'"))
    return _SPACE.sub(" ", plain).strip(_EDGES)


class QuoteSources:
    """The constitution's principle texts, for finding where a quotation comes from."""

    def __init__(self, constitution: Constitution) -> None:
        units = list(constitution.principles())
        self._ids = [unit.id for unit in units]
        self._texts = [_norm(f"{unit.title}\n\n{unit.body}") for unit in units]

    def _cited(self, ids: Sequence[str]) -> set[int]:
        return {
            i
            for i, pid in enumerate(self._ids)
            if any(pid == c or pid.startswith(f"{c}/") for c in ids)
        }

    def foreign(self, quotes: Sequence[str], principle_ids: Sequence[str]) -> int:
        """How many of `quotes` are found in an uncited principle and in no cited one."""
        cited = self._cited(principle_ids)
        count = 0
        for quote in quotes:
            needle = _norm(quote)
            found = {i for i, text in enumerate(self._texts) if needle and needle in text}
            if found and not found & cited:
                count += 1
        return count
