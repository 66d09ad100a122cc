"""The review database: SQLite in WAL mode, versioned with `PRAGMA user_version`.

WAL lets the web server read while an import or another curator writes.
`MIGRATIONS[i]` takes a database from schema version `i` to `i + 1`; `migrate`
applies the missing ones in one transaction each, so a database is always at
a version the code knows. The audit log, decisions and edits are history:
triggers refuse UPDATE and DELETE on them, whoever connects.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from toolkit.errors import InputError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "STATUSES", "connect", "migrate", "now", "transaction"]

STATUSES: tuple[str, ...] = ("pending", "accepted", "rejected", "needs-edit")


def _append_only(table: str) -> str:
    return "".join(
        f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;\n"
        for op in ("UPDATE", "DELETE")
    )


_V1 = f"""
CREATE TABLE items (
    doc_id TEXT PRIMARY KEY,
    position INTEGER NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    original_text TEXT NOT NULL,
    current_text TEXT NOT NULL,
    principle_ids TEXT NOT NULL,
    genre TEXT NOT NULL,
    template TEXT NOT NULL,
    quality REAL,
    duplicate INTEGER NOT NULL,
    contaminated INTEGER NOT NULL,
    seed TEXT NOT NULL,
    document TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'accepted', 'rejected', 'needs-edit')),
    version INTEGER NOT NULL DEFAULT 1,
    imported_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE item_principles (
    doc_id TEXT NOT NULL REFERENCES items(doc_id),
    principle_id TEXT NOT NULL,
    PRIMARY KEY (doc_id, principle_id)
);
CREATE INDEX item_principles_by_principle ON item_principles(principle_id);
CREATE INDEX items_by_status ON items(status, position);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES items(doc_id),
    status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected', 'needs-edit')),
    reasons TEXT NOT NULL,
    notes TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX decisions_by_item ON decisions(doc_id, id);
CREATE TABLE edits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES items(doc_id),
    version INTEGER NOT NULL,
    text TEXT NOT NULL,
    diff TEXT NOT NULL,
    reason TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX edits_by_item ON edits(doc_id, id);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    action TEXT NOT NULL,
    doc_id TEXT,
    version INTEGER,
    details TEXT NOT NULL
);
{_append_only("audit")}{_append_only("decisions")}{_append_only("edits")}
"""

MIGRATIONS: tuple[str, ...] = (_V1,)
SCHEMA_VERSION = len(MIGRATIONS)


def now() -> str:
    """UTC timestamp with milliseconds: sortable and unambiguous."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def connect(path: str | Path, *, create: bool = False) -> sqlite3.Connection:
    """Open (or with `create`, make) a review database and bring it up to date.

    The connection is in autocommit mode; writes go through `transaction`.
    """
    db = Path(path)
    if not create and not db.is_file():
        raise InputError(f"{db}: no review database here; run `ccorpus review import` first")
    if create:
        db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db, isolation_level=None, timeout=10.0)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        migrate(conn, where=str(db))
    except sqlite3.DatabaseError as err:
        conn.close()
        raise InputError(f"{db}: not a usable review database ({err})") from None
    except BaseException:
        conn.close()
        raise
    return conn


def _statements(script: str) -> Iterator[str]:
    """Split a script into statements (triggers hold `;` inside BEGIN ... END)."""
    buffer = ""
    for piece in script.split(";")[:-1]:
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""


def migrate(conn: sqlite3.Connection, *, where: str = "review database") -> int:
    """Apply every missing migration; return the schema version now in place.

    Each step re-reads the version under the write lock, so two processes
    opening a new database at once do not both create it.
    """
    while True:
        with transaction(conn):
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if current > SCHEMA_VERSION:
                raise InputError(
                    f"{where}: schema version {current} is newer than this ccorpus knows "
                    f"({SCHEMA_VERSION}); upgrade ccorpus"
                )
            if current == SCHEMA_VERSION:
                return current
            for statement in _statements(MIGRATIONS[current]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {current + 1}")


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception.

    IMMEDIATE takes the write lock up front, so the version check and the
    write it guards cannot interleave with another writer's.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
