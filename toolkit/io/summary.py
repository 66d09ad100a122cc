"""Whole-corpus passes behind `ccorpus corpus`: figures, checks and conversion."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from toolkit.document import document_id
from toolkit.errors import CheckFailed, InputError
from toolkit.io.corpus import (
    CorpusWriter,
    SkipReport,
    corpus_files,
    read_documents,
    require_documents,
)
from toolkit.progress import progress

__all__ = ["check_or_raise", "convert_corpus", "summarise_corpus", "validate_corpus"]

_WORD = re.compile(r"\w+")


def summarise_corpus(
    path: str | Path, *, skip_bad: bool = False, quiet: bool = False
) -> dict[str, Any]:
    """Counts a user checks before using a corpus: documents, kinds, words, problems.

    Duplicate ids are counted with a set of ids; at 24 hex characters per id
    that is about 100 bytes a document, the one thing that grows with size.
    """
    files = corpus_files(path)
    report = SkipReport()
    by_kind: Counter[str] = Counter()
    seen: set[str] = set()
    duplicates = words = characters = mismatched = 0
    docs = read_documents(path, skip_bad=skip_bad, report=report)
    for doc in progress(docs, description="reading", quiet=quiet):
        by_kind[doc.kind] += 1
        words += len(_WORD.findall(doc.text))
        characters += len(doc.text)
        if doc.id in seen:
            duplicates += 1
        seen.add(doc.id)
        if doc.id != document_id(doc.kind, doc.text):
            mismatched += 1
    documents = sum(by_kind.values())
    return {
        "path": str(path),
        "files": len(files),
        "documents": documents,
        "by_kind": dict(sorted(by_kind.items())),
        "words": words,
        "characters": characters,
        "mean_words": round(words / documents, 1) if documents else 0.0,
        "duplicate_ids": duplicates,
        "id_mismatches": mismatched,
        "skipped_lines": report.to_dict(),
    }


def validate_corpus(
    path: str | Path, *, skip_bad: bool = True, quiet: bool = False
) -> dict[str, Any]:
    """Summarise, then fail (`CheckFailed`) on malformed lines or duplicate ids.

    Ids that no longer match their text (for example after an edit) are
    reported but do not fail the check.
    """
    summary = summarise_corpus(path, skip_bad=skip_bad, quiet=quiet)
    problems = []
    if summary["skipped_lines"]["skipped"]:
        first = summary["skipped_lines"]["where"][0]
        problems.append(f"{summary['skipped_lines']['skipped']} malformed line(s), first {first}")
    if summary["duplicate_ids"]:
        problems.append(f"{summary['duplicate_ids']} duplicate id(s)")
    summary["ok"] = not problems
    summary["problems"] = problems
    return summary


def check_or_raise(summary: dict[str, Any]) -> None:
    """Turn a failed `validate_corpus` verdict into `CheckFailed`."""
    if not summary["ok"]:
        raise CheckFailed(f"{summary['path']}: " + "; ".join(summary["problems"]))


def convert_corpus(
    src: str | Path,
    dest: str | Path,
    *,
    shard_size: int,
    compress: bool = True,
    skip_bad: bool = False,
    overwrite: bool = False,
    allow_empty: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Re-shard or (de)compress a corpus; the output is written atomically per shard.

    An empty input is refused unless `allow_empty`.
    """
    if Path(src).resolve() == Path(dest).resolve():
        raise InputError(f"{dest}: the output must differ from the input")
    require_documents(src, allow_empty=allow_empty, skip_bad=skip_bad)
    report = SkipReport()
    docs = read_documents(src, skip_bad=skip_bad, report=report)
    with CorpusWriter(dest, shard_size=shard_size, compress=compress, overwrite=overwrite) as out:
        for doc in progress(docs, description="converting", quiet=quiet):
            out.write(doc)
    return {
        "documents": out.written,
        "files": [str(p) for p in out.paths],
        "skipped_lines": report.to_dict(),
    }
