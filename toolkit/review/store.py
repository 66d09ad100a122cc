"""The review store: every read and write the CLI and the web page make.

Each write names the item version it was based on and is applied with a
compare-and-swap (`... WHERE version = ?`) inside an IMMEDIATE transaction;
a write based on an older version raises `StaleWrite` instead of silently
overwriting another curator's work. Every write also appends to the audit
log in the same transaction, so the log and the data never disagree.
"""

from __future__ import annotations

import difflib
import json
import sqlite3
from collections.abc import Collection, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from toolkit.document import Document
from toolkit.errors import InputError, ItemNotFound, StaleWrite
from toolkit.review.filters import Filters
from toolkit.review.records import DECISIONS, Edit, Item, ReviewDecision, item_columns
from toolkit.review.schema import STATUSES, connect, now, transaction

__all__ = ["ReviewStore", "check_reviewer", "text_diff"]

MAX_REVIEWER = 64


def check_reviewer(name: str) -> str:
    """A reviewer name, stripped: 1-64 printable characters."""
    cleaned = name.strip()
    if not cleaned:
        raise InputError("reviewer: a name is required (who is making this decision?)")
    if len(cleaned) > MAX_REVIEWER or not cleaned.isprintable():
        raise InputError(f"reviewer: expected up to {MAX_REVIEWER} printable characters")
    return cleaned


def text_diff(doc_id: str, old: str, new: str, old_version: int, new_version: int) -> str:
    """Unified diff of two texts, labelled with the item versions."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{doc_id}@v{old_version}",
            tofile=f"{doc_id}@v{new_version}",
        )
    )


class ReviewStore:
    """One connection to a review database; open per thread or per request."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False) -> ReviewStore:
        return cls(connect(path, create=create), Path(path))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- writes -----------------------------------------------------------------

    def _audit(
        self, reviewer: str, action: str, doc_id: str | None, version: int | None, **details: Any
    ) -> None:
        self.conn.execute(
            "INSERT INTO audit (at, reviewer, action, doc_id, version, details) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (now(), reviewer, action, doc_id, version, json.dumps(details, ensure_ascii=False)),
        )

    def add(self, docs: Iterable[Document], *, source: str = "") -> tuple[int, int]:
        """Add documents not yet present (by id); return (added, already present).

        Existing items keep their text, decisions and version: re-importing
        a corpus never resets review work.
        """
        added = existing = 0
        with transaction(self.conn):
            position = self.conn.execute("SELECT COALESCE(MAX(position), 0) FROM items")
            next_position = int(position.fetchone()[0]) + 1
            stamp = now()
            for doc in docs:
                row = {**item_columns(doc), "position": next_position}
                row |= {"imported_at": stamp, "updated_at": stamp}
                names = ", ".join(row)
                marks = ", ".join(f":{name}" for name in row)
                cursor = self.conn.execute(
                    f"INSERT OR IGNORE INTO items ({names}) VALUES ({marks})", row
                )
                if cursor.rowcount == 0:
                    existing += 1
                    continue
                added += 1
                next_position += 1
                self.conn.executemany(
                    "INSERT OR IGNORE INTO item_principles (doc_id, principle_id) VALUES (?, ?)",
                    [(doc.id, pid) for pid in doc.principle_ids],
                )
            self._audit("import", "import", None, None, source=source, added=added, kept=existing)
        return added, existing

    def _swap(self, doc_id: str, based_on: int, **columns: Any) -> int:
        """Set columns and bump the version if it is still `based_on`; return the new one."""
        sets = ", ".join(f"{name} = :{name}" for name in columns)
        cursor = self.conn.execute(
            f"UPDATE items SET {sets}, version = version + 1, updated_at = :updated_at "
            "WHERE doc_id = :doc_id AND version = :based_on",
            {**columns, "updated_at": now(), "doc_id": doc_id, "based_on": based_on},
        )
        if cursor.rowcount == 0:
            row = self.conn.execute("SELECT version FROM items WHERE doc_id = ?", (doc_id,))
            found = row.fetchone()
            if found is None:
                raise ItemNotFound(doc_id)
            raise StaleWrite(doc_id, based_on, int(found["version"]))
        return based_on + 1

    def decide(
        self,
        doc_id: str,
        status: str,
        *,
        reviewer: str,
        based_on: int,
        reasons: Iterable[str] = (),
        notes: str = "",
        allowed_reasons: Collection[str] | None = None,
    ) -> Item:
        """Record a verdict (accepted, rejected or needs-edit) on one item."""
        if status not in DECISIONS:
            raise InputError(f"decision: {status!r} is not one of {', '.join(DECISIONS)}")
        reviewer = check_reviewer(reviewer)
        codes = list(dict.fromkeys(code.strip() for code in reasons if code.strip()))
        if allowed_reasons is not None:
            unknown = [code for code in codes if code not in allowed_reasons]
            if unknown:
                raise InputError(
                    f"reason: {unknown[0]!r} is not one of {', '.join(sorted(allowed_reasons))}"
                )
        notes = notes.strip()
        with transaction(self.conn):
            version = self._swap(doc_id, based_on, status=status)
            self.conn.execute(
                "INSERT INTO decisions (doc_id, status, reasons, notes, reviewer, version, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (doc_id, status, json.dumps(codes), notes, reviewer, version, now()),
            )
            self._audit(reviewer, "decide", doc_id, version, status=status, reasons=codes)
        return self.get(doc_id)

    def edit(self, doc_id: str, text: str, *, reviewer: str, based_on: int, reason: str) -> Item:
        """Replace an item's text, keeping the old one as a diff; the status is kept."""
        reviewer = check_reviewer(reviewer)
        reason = reason.strip()
        if not reason:
            raise InputError("edit reason: say briefly why the text was changed")
        if not text.strip():
            raise InputError("edit text: the story cannot be empty")
        with transaction(self.conn):
            before = self.get(doc_id)
            if before.version == based_on and before.text == text:
                raise InputError("edit text: nothing changed; there is nothing to save")
            version = self._swap(doc_id, based_on, current_text=text)
            diff = text_diff(doc_id, before.text, text, based_on, version)
            self.conn.execute(
                "INSERT INTO edits (doc_id, version, text, diff, reason, reviewer, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (doc_id, version, text, diff, reason, reviewer, now()),
            )
            self._audit(reviewer, "edit", doc_id, version, reason=reason)
        return self.get(doc_id)

    # -- reads ------------------------------------------------------------------

    def get(self, doc_id: str) -> Item:
        row = self.conn.execute("SELECT * FROM items WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            raise ItemNotFound(doc_id)
        return Item.from_row(row)

    def find(self, doc_id: str) -> Item | None:
        """The item, or None when no item has this id."""
        try:
            return self.get(doc_id)
        except ItemNotFound:
            return None

    def items(
        self, filters: Filters | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[Item]:
        """Items matching `filters` (all statuses when None), in import order."""
        where, params = (filters or Filters(status=None)).where()
        sql = f"SELECT * FROM items WHERE {where} ORDER BY position"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params = [*params, limit, offset]
        return [Item.from_row(row) for row in self.conn.execute(sql, params)]

    def count(self, filters: Filters | None = None) -> int:
        where, params = (filters or Filters(status=None)).where()
        return int(
            self.conn.execute(f"SELECT COUNT(*) FROM items WHERE {where}", params).fetchone()[0]
        )

    def neighbour(self, position: int, filters: Filters, *, forward: bool = True) -> str | None:
        """Id of the next (or previous) item after `position` within `filters`."""
        where, params = filters.where()
        op, order = (">", "ASC") if forward else ("<", "DESC")
        row = self.conn.execute(
            f"SELECT doc_id FROM items WHERE position {op} ? AND {where} "
            f"ORDER BY position {order} LIMIT 1",
            [position, *params],
        ).fetchone()
        return None if row is None else str(row["doc_id"])

    def progress(self) -> dict[str, int]:
        """Items per status, with `total` and `decided`."""
        counts = dict.fromkeys(STATUSES, 0)
        for row in self.conn.execute("SELECT status, COUNT(*) AS n FROM items GROUP BY status"):
            counts[row["status"]] = int(row["n"])
        total = sum(counts.values())
        return {**counts, "total": total, "decided": total - counts["pending"]}

    def facets(self) -> dict[str, list[str]]:
        """Distinct principles, genres and templates, for the filter menus."""

        def distinct(sql: str) -> list[str]:
            return [str(row[0]) for row in self.conn.execute(sql) if row[0]]

        return {
            "principle": distinct(
                "SELECT DISTINCT principle_id FROM item_principles ORDER BY principle_id"
            ),
            "genre": distinct("SELECT DISTINCT genre FROM items ORDER BY genre"),
            "template": distinct("SELECT DISTINCT template FROM items ORDER BY template"),
        }

    def decisions(self, doc_id: str | None = None) -> list[ReviewDecision]:
        """Every decision (of one item, or all), oldest first."""
        rows = self._history("decisions", doc_id)
        return [ReviewDecision.from_row(row) for row in rows]

    def latest_decisions(self) -> dict[str, ReviewDecision]:
        """The newest decision of every decided item."""
        rows = self.conn.execute(
            "SELECT * FROM decisions WHERE id IN (SELECT MAX(id) FROM decisions GROUP BY doc_id)"
        )
        return {row["doc_id"]: ReviewDecision.from_row(row) for row in rows}

    def edits(self, doc_id: str) -> list[Edit]:
        rows = self.conn.execute("SELECT * FROM edits WHERE doc_id = ? ORDER BY id", (doc_id,))
        return [Edit.from_row(row) for row in rows]

    def edit_counts(self) -> dict[str, int]:
        """Edits saved per reviewer."""
        rows = self.conn.execute("SELECT reviewer, COUNT(*) AS n FROM edits GROUP BY reviewer")
        return {str(row["reviewer"]): int(row["n"]) for row in rows}

    def audit(self, doc_id: str | None = None) -> list[dict[str, Any]]:
        """Audit entries (of one item, or all), oldest first."""
        rows = self._history("audit", doc_id)
        return [{**dict(row), "details": json.loads(row["details"])} for row in rows]

    def _history(self, table: str, doc_id: str | None) -> list[sqlite3.Row]:
        if doc_id is None:
            return self.conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
        sql = f"SELECT * FROM {table} WHERE doc_id = ? ORDER BY id"
        return self.conn.execute(sql, (doc_id,)).fetchall()
