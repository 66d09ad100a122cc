"""Compare the principles of two constitutions by id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from toolkit.constitution.model import Constitution, Node

__all__ = ["ConstitutionDiff", "diff_constitutions"]


@dataclass(frozen=True, slots=True)
class ConstitutionDiff:
    """Principle ids added, removed and changed (body text differs), in document order."""

    old_version: str
    new_version: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def differs(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": list(self.changed),
            "unchanged": self.unchanged,
        }


def _normalised_body(node: Node) -> str:
    return " ".join(node.body.split())


def diff_constitutions(old: Constitution, new: Constitution) -> ConstitutionDiff:
    """Principles by id: new ids are added, vanished ids removed, and ids in both
    changed when their body text differs once whitespace runs are collapsed."""
    before = {node.id: node for node in old.principles()}
    after = {node.id: node for node in new.principles()}
    changed = [
        node_id
        for node_id, node in after.items()
        if node_id in before and _normalised_body(before[node_id]) != _normalised_body(node)
    ]
    shared = sum(1 for node_id in after if node_id in before)
    return ConstitutionDiff(
        old_version=old.version,
        new_version=new.version,
        added=[node_id for node_id in after if node_id not in before],
        removed=[node_id for node_id in before if node_id not in after],
        changed=changed,
        unchanged=shared - len(changed),
    )
