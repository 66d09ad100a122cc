"""Compare the principles of two constitutions: by id, then by text for renames and moves.

A researcher reading a new version wants to know which principles are new,
which are gone, which only moved or were renamed (their documents still
apply), and which changed, in which words (their documents may be stale).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from toolkit.constitution.markdown import plain_text
from toolkit.constitution.model import Constitution
from toolkit.constitution.principles import Principle

__all__ = ["RENAME_SIMILARITY", "ConstitutionDiff", "PrincipleChange", "diff_constitutions"]

#: Least word-sequence similarity (difflib ratio, 0-1) for an unmatched old and
#: new principle to count as one principle renamed or moved.
RENAME_SIMILARITY = 0.6
_WORD = re.compile(r"\S+")
_CONTEXT_WORDS = 4


@dataclass(frozen=True, slots=True)
class PrincipleChange:
    """One principle in both versions whose text differs (whitespace aside)."""

    id: str
    old_id: str
    ops: list[dict[str, str]]
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "old_id": self.old_id,
            "words_removed": sum(len(op["old"].split()) for op in self.ops),
            "words_added": sum(len(op["new"].split()) for op in self.ops),
            "diff": list(self.ops),
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class ConstitutionDiff:
    """Principles added, removed, renamed or moved (old id → new id), changed, unchanged."""

    old_version: str
    new_version: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[PrincipleChange] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return bool(self.added or self.removed or self.renamed or self.changed)

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "renamed": len(self.renamed),
            "changed": len(self.changed),
            "unchanged": len(self.unchanged),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "counts": self.counts(),
            "added": list(self.added),
            "removed": list(self.removed),
            "renamed": [dict(item) for item in self.renamed],
            "changed": [change.to_dict() for change in self.changed],
            "unchanged": list(self.unchanged),
        }


def _words(unit: Principle) -> list[str]:
    return _WORD.findall(plain_text(unit.body))


def similarity(old: Principle, new: Principle) -> float:
    """How alike two principles' texts are, 0-1, as sequences of words."""
    a, b = _words(old), _words(new)
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def word_diff(old: str, new: str) -> tuple[list[dict[str, str]], str]:
    """Word-level edits of `old` into `new`, and a one-line rendering.

    The rendering shows each edit as `[-removed-]{+added+}` with a few words
    of context on each side, and "…" where unchanged text is left out.
    """
    a, b = _WORD.findall(old), _WORD.findall(new)
    ops: list[dict[str, str]] = []
    pieces: list[str] = []
    codes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(codes):
        if tag == "equal":
            same = a[i1:i2]
            head = same[:_CONTEXT_WORDS] if index > 0 else []
            tail = same[-_CONTEXT_WORDS:] if index < len(codes) - 1 else []
            if len(same) > len(head) + len(tail):
                pieces.extend([*head, "…", *tail] if head or tail else ["…"])
            else:
                pieces.extend(same)
            continue
        removed, added = " ".join(a[i1:i2]), " ".join(b[j1:j2])
        ops.append({"op": tag, "old": removed, "new": added})
        if removed:
            pieces.append(f"[-{removed}-]")
        if added:
            pieces.append(f"{{+{added}+}}")
    return ops, " ".join(pieces)


def _normalised(unit: Principle) -> str:
    return " ".join(unit.body.split())


def _pair_renames(
    old: list[Principle], new: list[Principle], threshold: float
) -> list[tuple[Principle, Principle, float]]:
    """Greedy best-first pairing of unmatched principles by text similarity."""
    scored = []
    for a in old:
        words_a = set(_words(a))
        for b in new:
            words_b = set(_words(b))
            union = len(words_a | words_b)
            # Dice on word sets bounds the ratio from above: skip hopeless pairs cheaply.
            if union and 2 * len(words_a & words_b) / (len(words_a) + len(words_b)) < threshold:
                continue
            score = similarity(a, b)
            if score >= threshold:
                scored.append((score, a, b))
    scored.sort(key=lambda item: -item[0])
    used_old: set[str] = set()
    used_new: set[str] = set()
    pairs = []
    for score, a, b in scored:
        if a.id in used_old or b.id in used_new:
            continue
        used_old.add(a.id)
        used_new.add(b.id)
        pairs.append((a, b, score))
    return pairs


def diff_constitutions(
    old: Constitution, new: Constitution, *, rename_similarity: float = RENAME_SIMILARITY
) -> ConstitutionDiff:
    """Match principles by id, then pair the rest by text similarity.

    A pair matched by text is renamed (or moved: the id's path changed); a
    matched pair whose text differs once whitespace runs are collapsed is
    also changed, with its word-level diff. What is left is added or removed.
    """
    before = {unit.id: unit for unit in old.principles()}
    after = {unit.id: unit for unit in new.principles()}
    pairs = [(before[i], after[i]) for i in after if i in before]
    renames = _pair_renames(
        [u for i, u in before.items() if i not in after],
        [u for i, u in after.items() if i not in before],
        rename_similarity,
    )
    renamed_new = {b.id for _, b, _ in renames}
    renamed_old = {a.id for a, _, _ in renames}
    changed: list[PrincipleChange] = []
    unchanged: list[str] = []
    renamed: list[dict[str, Any]] = []
    by_new = {b.id: (a, b) for a, b in pairs} | {b.id: (a, b) for a, b, _ in renames}
    scores = {b.id: score for _, b, score in renames}
    for new_id in after:
        if new_id not in by_new:
            continue
        a, b = by_new[new_id]
        differs = _normalised(a) != _normalised(b)
        if new_id in renamed_new:
            renamed.append(
                {
                    "old": a.id,
                    "new": b.id,
                    "old_title": a.title,
                    "new_title": b.title,
                    "similarity": round(scores[new_id], 4),
                    "changed": differs,
                }
            )
        if differs:
            ops, text = word_diff(plain_text(a.body), plain_text(b.body))
            text = text if ops else "(formatting only: the words are the same)"
            changed.append(PrincipleChange(b.id, a.id, ops, text))
        elif new_id not in renamed_new:
            unchanged.append(new_id)
    return ConstitutionDiff(
        old_version=old.version,
        new_version=new.version,
        added=[i for i in after if i not in before and i not in renamed_new],
        removed=[i for i in before if i not in after and i not in renamed_old],
        renamed=renamed,
        changed=changed,
        unchanged=unchanged,
    )
