"""The dedup report: JSON for tools, a Markdown twin for people reviewing a run.

Every dropped document appears with the one kept in its place, the stage,
the similarity between the two, and why the kept one won; every cluster
appears with its members, so a reviewer can check a drop without the corpus.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from toolkit.dedup.clusters import Drop
from toolkit.dedup.config import DedupConfig
from toolkit.document import Document
from toolkit.embeddings import EmbeddingCache
from toolkit.io import atomic_write

__all__ = ["build_report", "markdown_report", "write_report"]

SNIPPET = 100  # characters of text shown per clustered document
TOP_CLUSTERS = 10


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1] + "…"


def _config(config: DedupConfig) -> dict[str, Any]:
    data = asdict(config)
    data["stages"] = list(config.stages)
    data["cache_dir"] = None if config.cache_dir is None else str(config.cache_dir)
    data.pop("quiet")
    return data


def build_report(
    docs: Sequence[Document],
    config: DedupConfig,
    drops: Sequence[Drop],
    clusters: Sequence[dict[str, Any]],
    figures: dict[str, dict[str, Any]],
    survivors: dict[int, int],
    cache: EmbeddingCache | None,
) -> dict[str, Any]:
    """The report as plain JSON-ready data; positions are 0-based corpus order."""
    score_of = {d.position: d.score for d in drops}
    dropped = [
        {
            "id": docs[d.position].id,
            "position": d.position,
            "duplicate_of": docs[d.kept].id,
            "duplicate_of_position": d.kept,
            "stage": d.stage,
            "reason": d.reason,
            "score": d.score,
            "kept_because": d.kept_because,
            "linked_to": docs[d.linked_to].id,
            "link_score": d.link_score,
            "survivor": docs[survivors[d.position]].id,
        }
        for d in drops
    ]
    cluster_rows = []
    for c in clusters:
        members = [
            {
                "id": docs[m].id,
                "position": m,
                "score": score_of.get(m) if m != c["kept"] else None,
                "snippet": _snippet(docs[m].text),
            }
            for m in c["members"]
        ]
        cluster_rows.append(
            {
                "stage": c["stage"],
                "size": len(members),
                "kept": docs[c["kept"]].id,
                "kept_position": c["kept"],
                "kept_because": c["kept_because"],
                "members": members,
            }
        )
    sizes = Counter(row["size"] for row in cluster_rows)
    report: dict[str, Any] = {
        "documents": len(docs),
        "kept": len(docs) - len(drops),
        "dropped_count": len(drops),
        "stages": figures,
        "dropped": dropped,
        "clusters": cluster_rows,
        "cluster_sizes": {str(k): sizes[k] for k in sorted(sizes)},
        "config": _config(config),
    }
    if cache is not None:
        report["embedding_cache"] = {
            "path": str(cache.path),
            "model": cache.model_name,
            "embedded": cache.embedded,
            "from_cache": cache.hits,
        }
    return report


def _stage_detail(figures: dict[str, Any]) -> str:
    common = {"input", "dropped", "clusters", "seconds", "edges"}
    return ", ".join(f"{k} {v}" for k, v in figures.items() if k not in common)


def markdown_report(report: dict[str, Any]) -> str:
    """Per-stage counts, a cluster-size histogram and the largest clusters with snippets."""
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
    top = sorted(report["clusters"], key=lambda c: (-c["size"], c["kept_position"]))
    if top:
        lines += ["", f"## Largest clusters (top {min(TOP_CLUSTERS, len(top))})"]
    for rank, c in enumerate(top[:TOP_CLUSTERS], start=1):
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
    with atomic_write(target, compress=False) as handle:
        handle.write(json.dumps(report, indent=2, ensure_ascii=False).encode() + b"\n")
    with atomic_write(target.with_suffix(".md"), compress=False) as handle:
        handle.write(markdown_report(report).encode())
