"""The dedup report: JSON for tools, a Markdown twin for people reviewing a run.

Every dropped document appears with the one kept in its place, the stage,
the similarity between the two, and why the kept one won; every cluster
appears with its members, so a reviewer can check a drop without the corpus.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from toolkit.dedup.config import DedupConfig
from toolkit.dedup.decide import Lookup
from toolkit.dedup.outcome import Outcome
from toolkit.embeddings import EmbeddingCache
from toolkit.io import atomic_write

__all__ = [
    "build_report",
    "markdown_report",
    "report_head",
    "report_tail",
    "snippet",
    "stream_report",
    "write_report",
]

SNIPPET = 100  # characters of text shown per clustered document
TOP_CLUSTERS = 10
ROWS = ("dropped", "clusters")  # the report's long lists: one line per row


def snippet(text: str) -> str:
    """The first characters of a text with its whitespace runs made single spaces.

    A long text is cut before flattening; enough of it is kept for a full
    snippet, so the result is the same as flattening the whole text.
    """
    if len(text) > 10 * SNIPPET:
        flat = " ".join(text[: 10 * SNIPPET].split())
        if len(flat) > SNIPPET:
            return flat[: SNIPPET - 1] + "…"
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1] + "…"


def _config(config: DedupConfig) -> dict[str, Any]:
    data = asdict(config)
    data["stages"] = list(config.stages)
    data["cache_dir"] = None if config.cache_dir is None else str(config.cache_dir)
    data.pop("quiet")
    return data


def report_head(outcome: Outcome, figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The report's counts and per-stage figures: what comes before the long lists."""
    return {
        "documents": outcome.documents,
        "kept": outcome.documents - len(outcome),
        "dropped_count": len(outcome),
        "stages": figures,
    }


def report_tail(
    outcome: Outcome, config: DedupConfig, cache: EmbeddingCache | None
) -> dict[str, Any]:
    """The report's cluster-size histogram, settings and embedding-cache figures."""
    tail: dict[str, Any] = {"cluster_sizes": outcome.cluster_sizes(), "config": _config(config)}
    if cache is not None:
        tail["embedding_cache"] = {
            "path": str(cache.path),
            "model": cache.model_name,
            "embedded": cache.embedded,
            "from_cache": cache.hits,
        }
    return tail


def build_report(
    outcome: Outcome,
    lookup: Lookup,
    config: DedupConfig,
    figures: dict[str, dict[str, Any]],
    cache: EmbeddingCache | None,
) -> dict[str, Any]:
    """The whole report as plain JSON-ready data; positions are 0-based corpus order."""
    return {
        **report_head(outcome, figures),
        "dropped": list(outcome.dropped_rows(lookup)),
        "clusters": list(outcome.cluster_rows(lookup)),
        **report_tail(outcome, config, cache),
    }


def _stage_detail(figures: dict[str, Any]) -> str:
    common = {"input", "dropped", "clusters", "seconds", "edges"}
    return ", ".join(f"{k} {v}" for k, v in figures.items() if k not in common)


def markdown_report(report: dict[str, Any]) -> str:
    """Per-stage counts, a cluster-size histogram and the largest clusters with snippets."""
    top = sorted(report["clusters"], key=lambda c: (-c["size"], c["kept_position"]))
    return _markdown(report, top[:TOP_CLUSTERS])


def _markdown(report: dict[str, Any], top: Sequence[dict[str, Any]]) -> str:
    lines = [
        "# Dedup report",
        "",
        f"{report['documents']} documents in, {report['kept']} kept, "
        f"{report['dropped_count']} dropped as duplicates.",
        "",
        "## Stages",
        "",
        "| stage | input | dropped | clusters | seconds | details |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, f in report["stages"].items():
        lines.append(
            f"| {name} | {f['input']} | {f['dropped']} | {f['clusters']} | {f['seconds']} "
            f"| {_stage_detail(f)} |"
        )
    lines += ["", "## Cluster sizes", ""]
    if report["cluster_sizes"]:
        lines += ["| size | clusters |", "| ---: | ---: |"]
        lines += [f"| {size} | {n} |" for size, n in report["cluster_sizes"].items()]
    else:
        lines.append("No duplicate clusters.")
    if top:
        lines += ["", f"## Largest clusters (top {len(top)})"]
    for rank, c in enumerate(top, start=1):
        lines += [
            "",
            f"### {rank}. {c['stage']}: {c['size']} documents, kept `{c['kept']}`",
            "",
            f"Kept because: {c['kept_because']}.",
            "",
        ]
        for m in c["members"]:
            label = "kept" if m["score"] is None else f"dropped, score {m['score']}"
            lines.append(f"- `{m['id']}` ({label}): {m['snippet']}")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], path: str | Path) -> None:
    """Write the JSON report to `path` and its Markdown twin beside it (`.md`), atomically."""
    target = Path(path)
    rows = {key: iter(report[key]) for key in ROWS if key in report}
    _write_json(target, {k: rows.get(k, v) for k, v in report.items()})
    with atomic_write(target.with_suffix(".md"), compress=False) as handle:
        handle.write(markdown_report(report).encode())


def _write_json(target: Path, report: dict[str, Any]) -> None:
    """The report, indented, with each row of the long lists (iterators) on one line.

    One line a row keeps a report of millions of drops fast to write (no
    indenting encoder) and easy to grep, and lets the lists stream.
    """
    with atomic_write(target, compress=False) as handle:
        sep = b"{\n  "
        for key, value in report.items():
            handle.write(sep + json.dumps(key, ensure_ascii=False).encode() + b": ")
            sep = b",\n  "
            if key not in ROWS:
                text = json.dumps(value, indent=2, ensure_ascii=False)
                handle.write(text.replace("\n", "\n  ").encode())
                continue
            first = next(value, None)
            if first is None:
                handle.write(b"[]")
                continue
            handle.write(b"[\n    " + json.dumps(first, ensure_ascii=False).encode())
            for row in value:
                handle.write(b",\n    " + json.dumps(row, ensure_ascii=False).encode())
            handle.write(b"\n  ]")
        handle.write(b"\n}\n")


def stream_report(
    path: str | Path,
    outcome: Outcome,
    lookup: Lookup,
    head: dict[str, Any],
    tail: dict[str, Any],
) -> None:
    """Write the report without holding its `dropped` and `clusters` lists: row by row.

    The Markdown twin needs only the largest clusters, which are looked up alone.
    """
    target = Path(path)
    rows = {"dropped": outcome.dropped_rows(lookup), "clusters": outcome.cluster_rows(lookup)}
    _write_json(target, {**head, **rows, **tail})
    top = list(outcome.cluster_rows(lookup, outcome.largest_clusters(TOP_CLUSTERS)))
    with atomic_write(target.with_suffix(".md"), compress=False) as handle:
        handle.write(_markdown({**head, **tail}, top).encode())
