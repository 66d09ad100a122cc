"""Signals found by regular expressions over the lower-cased text.

A batch's texts are joined into one string and each pattern scans it once;
matches map back to documents by offset. A pattern that begins with a literal
(`\bbecause\b` begins with "because") is first looked for as a plain
substring, and skipped for the whole batch when absent; it is compiled
without its leading `\b`, which is checked by hand, so the regex engine can
jump between occurrences of the literal instead of trying every position.

Phrases that reveal a generator talking about its task ("Sure! Here's a
story", "As an AI language model", a refusal) are looked for only in the
first and last `meta_window` characters, where such talk lands; a refusal
inside a story's dialogue is the story, not a defect.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from toolkit.quality.catalog import Scores
from toolkit.quality.profile import SignalConfig

__all__ = ["SEPARATOR", "PhraseSet", "TextPatterns", "endings"]

I64 = npt.NDArray[np.int64]
#: Between joined texts: line breaks, NULs and a full stop, which no phrase should span.
SEPARATOR = "\n\0.\0\n"
_SPECIAL = set(".^$*+?{}[]\\|()")
_TERMINAL = ".!?…"
_CLOSERS = "\"'\u201d\u2019)]}*_ \t\n"  # quotes (straight and curly), brackets, emphasis
#: A last line that is a list item, table row or code fence needs no full stop.
_STRUCTURED = re.compile(r"^\s*(?:[-*+•]\s|\d+[.)]\s|\||```)")


def _top_level_alternation(pattern: str) -> bool:
    depth, escaped, in_class = 0, False, False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
    return False


def _literal_prefix(body: str) -> str:
    """The plain characters every match of `body` starts with."""
    literal = []
    for i, ch in enumerate(body):
        if ch in _SPECIAL or body[i + 1 : i + 2] in ("?", "*", "{"):
            break
        literal.append(ch)
    return "".join(literal)


class PhraseSet:
    """One configured list of patterns, matched with MULTILINE against lower-cased text."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self._patterns: list[tuple[str, re.Pattern[str], bool]] = []
        for pattern in patterns:
            literal, body, boundary = "", pattern, False
            if not _top_level_alternation(pattern):
                literal = _literal_prefix(pattern)
                after_b = _literal_prefix(pattern[2:]) if pattern.startswith("\\b") else ""
                if after_b[:1].isalnum():  # every match starts with a word character
                    literal, body, boundary = after_b, pattern[2:], True
            self._patterns.append((literal, re.compile(body, re.MULTILINE), boundary))

    def starts(self, text: str) -> I64:
        """Start offsets of every pattern's matches (each pattern counted on its own)."""
        found: list[int] = []
        for literal, regex, boundary in self._patterns:
            if literal and literal not in text:
                continue
            if not boundary:
                found.extend(m.start() for m in regex.finditer(text))
                continue
            position = 0
            while (match := regex.search(text, position)) is not None:
                start = match.start()
                before = text[start - 1 : start]
                if not (before.isalnum() or before == "_"):
                    found.append(start)
                    position = max(match.end(), start + 1)
                else:
                    position = start + 1
        return np.sort(np.array(found, dtype=np.int64))


def _per_doc(starts: I64, offsets: I64, lengths: I64) -> I64:
    """Each match's document (-1 for one that spans a separator)."""
    doc = np.searchsorted(offsets, starts, side="right") - 1
    inside = starts < offsets[doc] + lengths[doc]
    return np.where(inside, doc, -1)


class TextPatterns:
    """The compiled lists of one profile's `[signals]` table, applied a batch at a time."""

    def __init__(self, config: SignalConfig) -> None:
        self.meta_window = config.meta_window
        body = "|".join(f"(?:{p})" for p in config.stock_openers) or r"(?!x)x"
        self._opener = re.compile(f"(?:{body})")
        self._stock = PhraseSet(config.stock_phrases)
        self._meta = PhraseSet(config.meta_phrases)
        self._cues = PhraseSet(config.deliberation_cues)

    def stock_openers(self, lowers: Sequence[str]) -> list[int]:
        return [int(self._opener.match(text.lstrip()) is not None) for text in lowers]

    def stock_phrases(self, joined: str, offsets: I64, lengths: I64) -> I64:
        """Stock phrase matches per document of a joined batch."""
        return _count(_per_doc(self._stock.starts(joined), offsets, lengths), offsets.size)

    def meta_phrases(self, lowers: Sequence[str]) -> I64:
        """Meta phrase matches in each document's opening and closing window."""
        window = self.meta_window
        ends = [t if len(t) <= 2 * window else t[:window] + SEPARATOR + t[-window:] for t in lowers]
        offsets, lengths = layout(ends)
        doc = _per_doc(self._meta.starts(SEPARATOR.join(ends)), offsets, lengths)
        return _count(doc, len(lowers))

    def cues(self, joined: str) -> I64:
        """Start offsets of reasoning cues in a joined batch."""
        return self._cues.starts(joined)


def layout(texts: Sequence[str]) -> tuple[I64, I64]:
    """Offsets and lengths of `texts` within `SEPARATOR.join(texts)`."""
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths + len(SEPARATOR))[:-1])).astype(np.int64)
    return offsets, lengths


def _count(doc: I64, n_docs: int) -> I64:
    counts: I64 = np.bincount(doc[doc >= 0], minlength=n_docs)
    return counts


def endings(text: str) -> Scores:
    """Signs of a cut-off text: no terminal punctuation, an open quote or bracket."""
    stripped = text.rstrip(_CLOSERS)
    last_line = text.rstrip().rsplit("\n", 1)[-1]
    terminated = bool(stripped) and (
        stripped[-1] in _TERMINAL or _STRUCTURED.match(last_line) is not None
    )
    straight = text.count('"')
    quote_open = straight % 2 == 1 or text.count("“") > text.count("”")
    bracket_open = any(text.count(a) > text.count(b) for a, b in ("()", "[]", "{}"))
    return {
        "unterminated_ending": int(not terminated),
        "unclosed_quote": int(quote_open),
        "unclosed_bracket": int(bracket_open),
    }
