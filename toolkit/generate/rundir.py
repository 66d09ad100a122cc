"""The run directory: its files, its lock, its corpus and its status.

DIR/journal.jsonl   every result, as it arrived (the source of truth)
DIR/ledger.jsonl    what each result cost
DIR/documents/      the corpus, rebuilt from the journal after every run
DIR/run.json        plan, backend, model and figures of the last run
DIR/.lock           held while a run is sending
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from toolkit.document import Document, Provenance
from toolkit.errors import ConfigError, InputError
from toolkit.generate.journal import Journal
from toolkit.generate.ledger import CostLedger
from toolkit.generate.plan import PlanItem, read_plan
from toolkit.io.atomic import atomic_write
from toolkit.io.corpus import write_documents

__all__ = [
    "DOCUMENTS",
    "JOURNAL",
    "LEDGER",
    "RUN_FILE",
    "check_same_run",
    "document_text",
    "exclusive",
    "read_run_json",
    "run_status",
    "write_run_documents",
    "write_run_json",
]

JOURNAL = "journal.jsonl"
LEDGER = "ledger.jsonl"
RUN_FILE = "run.json"
DOCUMENTS = "documents"
LOCK = ".lock"


@contextmanager
def exclusive(out: Path) -> Iterator[None]:
    """Hold `DIR/.lock` for a run, so two runs never send the same keys at once.

    The OS releases the lock when the process dies, however it dies.
    """
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"{out}: another run is using this directory") from None
        yield
    finally:
        os.close(fd)


def read_run_json(out: Path) -> dict[str, Any]:
    path = out / RUN_FILE
    if not path.is_file():
        raise InputError(f"{out}: no {RUN_FILE}; not a run directory of `ccorpus generate run`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), str) for k in ("plan", "backend", "model")
    ):
        raise InputError(f"{path}: expected an object with plan, backend and model")
    return data


def check_same_run(out: Path, plan: Path, backend: str, model: str) -> None:
    """Refuse to mix two runs' results in one directory."""
    if not (out / RUN_FILE).exists():
        return
    before = read_run_json(out)
    wanted = {"plan": str(plan.resolve()), "backend": backend, "model": model}
    for key, value in wanted.items():
        if before.get(key) != value:
            raise ConfigError(
                f"{out}: holds a run with {key} {before.get(key)!r}, not {value!r}; "
                "resume with the same plan, backend and model, or choose another --out"
            )


def write_run_json(out: Path, record: Mapping[str, Any]) -> None:
    with atomic_write(out / RUN_FILE, compress=False) as handle:
        handle.write((json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode())


def document_text(item: PlanItem, answer: str) -> str:
    """The document: the item's prefix (its deployment context as a transcript header,
    added by our code whatever the backend) and then the answer."""
    return f"{item.prefix.strip()}\n\n{answer.lstrip()}" if item.prefix.strip() else answer


def _document(item: PlanItem, row: Mapping[str, Any], system_template: str) -> Document:
    return Document.create(
        item.kind,
        document_text(item, row["text"]),
        title=item.title,
        principle_ids=item.principle_ids,
        provenance=Provenance(
            backend=row.get("backend"),
            model=row.get("model"),
            template=item.template,
            template_version=item.template_version,
            seed={**item.attributes, "plan_id": item.plan_id, "sample_index": item.sample_index},
            constitution_version=item.constitution_version,
            created_at=row.get("ts"),
            source=item.constitution,
        ),
        metadata={
            "plan_id": item.plan_id,
            "request_key": row["key"],
            "stop_reason": row.get("stop_reason"),
            "system_template": system_template,
        },
    )


def write_run_documents(
    out: Path,
    items: Sequence[PlanItem],
    keys: Sequence[str],
    journal: Journal,
    *,
    system_template: str,
) -> int:
    """Rewrite `DIR/documents/` from every successful journal row, in plan order,
    through `toolkit.io.write_documents`; return how many documents it holds.

    Rows are read one at a time through the journal's index, so memory stays
    flat however many documents a run holds.
    """
    index = journal.index()
    written = 0

    def documents() -> Iterator[Document]:
        nonlocal written
        for item, key in zip(items, keys, strict=True):
            entry = index.get(key)
            if entry is None or not entry.ok:
                continue
            row = journal.read(entry)
            if isinstance(row.get("text"), str):
                written += 1
                yield _document(item, row, system_template)

    write_documents(documents(), out / DOCUMENTS, overwrite=True)
    return written


def run_status(out_dir: str | Path) -> dict[str, Any]:
    """Plan items done, failed and pending, tokens by type and cost, from the run's files.

    Each plan item is counted once, in one state, so `done + failed + pending
    == plan_items`: done, it has a successful result (whatever failed before
    it); failed, it has only failed results (a rerun retries it); pending, it
    has no result yet (never sent, or sent and never answered).

    `cost_usd` is what the answers cost; `cost_upper_usd` adds the ceiling of
    every send never answered (`unanswered`: in flight at a kill, or timed
    out), which the API may have billed all the same.
    """
    out = Path(out_dir)
    record = read_run_json(out)
    items = list(read_plan(record["plan"]))
    keys = [item.key(record["model"]) for item in items]
    index = Journal(out / JOURNAL).index()
    done = sum(1 for key in keys if key in index and index[key].ok)
    failed = sum(1 for key in keys if key in index and not index[key].ok)
    pending = len(keys) - done - failed
    ledger = CostLedger(out / LEDGER).summary()
    return {
        "dir": str(out),
        "plan": record["plan"],
        "backend": record["backend"],
        "model": record["model"],
        "last_run": record.get("status"),
        "plan_items": len(items),
        "done": done,
        "failed": failed,
        "pending": pending,
        "requests": ledger["requests"],
        "tokens": ledger["tokens"],
        "cost_usd": round(ledger["cost_usd"], 6),
        "unanswered": ledger["unanswered"],
        "cost_upper_usd": round(ledger["upper_bound_usd"], 6),
    }
