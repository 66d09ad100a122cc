"""The review app's own errors, both part of the one `CorpusError` tree."""

from __future__ import annotations

from toolkit.errors import CorpusError, InputError

__all__ = ["ItemNotFound", "StaleWrite"]


class ItemNotFound(InputError):
    """No review item has this document id."""

    def __init__(self, doc_id: str) -> None:
        super().__init__(f"review item {doc_id!r}: not in the review database")
        self.doc_id = doc_id


class StaleWrite(CorpusError):
    """A write was based on an item version that another write has since replaced.

    Refusing it (instead of last-writer-wins) is what keeps two curators from
    silently overwriting each other's decision or edit.
    """

    def __init__(self, doc_id: str, based_on: int, current: int) -> None:
        super().__init__(
            f"review item {doc_id!r}: changed by someone else since you opened it "
            f"(you had version {based_on}, it is now version {current}); nothing was saved"
        )
        self.doc_id = doc_id
        self.based_on = based_on
        self.current = current
