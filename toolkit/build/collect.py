"""The build report's figures, read from the files each stage left.

Every section comes from one stage's outputs; a stage that has not run gives
`{"ran": false}` rather than an error, so a build stopped early (`--until`,
or a gate) still gets a report of what it did. Figures are deterministic:
paths are relative to the build folder and nothing records the time, so a
rerun that changed nothing writes the same bytes (and `write_report` then
writes nothing).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.build.layout import BuildLayout
from toolkit.constitution.model import Constitution
from toolkit.document import Document
from toolkit.embedding_cache import EmbeddingCache
from toolkit.io import read_documents
from toolkit.io.atomic import atomic_write

__all__ = ["collect_report", "write_report"]

NOT_RUN: dict[str, Any] = {"ran": False}
SPREAD_SAMPLE = 500
OPENER_WORDS = 5


def _json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _docs(path: Path) -> list[Document]:
    return list(read_documents(path)) if path.exists() else []


def _generated(layout: BuildLayout) -> list[Document]:
    root = layout.root / "generate"
    kinds = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    return [d for kind in kinds for d in _docs(layout.generated_documents(kind))]


def _coverage(
    constitution: Constitution, generated: list[Document], final: list[Document]
) -> dict[str, Any]:
    principles = [node.id for node in constitution.principles()]
    kinds = sorted({d.kind for d in generated} | {d.kind for d in final})

    def matrix(docs: Iterable[Document], axis: str) -> dict[str, dict[str, int]]:
        cells: dict[str, Counter[str]] = {p: Counter() for p in principles}
        for doc in docs:
            value = doc.kind if axis == "kind" else str(doc.provenance.seed.get("genre", ""))
            for pid in doc.principle_ids:
                if value and pid in cells:
                    cells[pid][value] += 1
        return {p: dict(sorted(c.items())) for p, c in cells.items()}

    by_kind = matrix(final, "kind")
    gaps = [{"principle": p, "kind": k} for p in principles for k in kinds if not by_kind[p].get(k)]
    return {
        "principles": principles,
        "kinds": kinds,
        "genres": sorted(
            {str(d.provenance.seed["genre"]) for d in generated if d.provenance.seed.get("genre")}
        ),
        "final_by_kind": by_kind,
        "generated_by_kind": matrix(generated, "kind"),
        "final_by_genre": matrix(final, "genre"),
        "gaps": gaps,
    }


def _distinct(docs: list[Document], n: int) -> float:
    grams: Counter[tuple[str, ...]] = Counter()
    for doc in docs:
        words = doc.text.lower().split()
        grams.update(zip(*(words[i:] for i in range(n)), strict=False))
    total = sum(grams.values())
    return round(len(grams) / total, 4) if total else 0.0


def _spread(docs: list[Document], cache: EmbeddingCache | None) -> float | None:
    if cache is None or len(docs) < 2:
        return None
    sample = sorted(docs, key=lambda d: d.id)[:SPREAD_SAMPLE]
    vectors = cache.get_or_embed([d.id for d in sample], [d.text for d in sample])
    sims = vectors @ vectors.T
    n = len(sample)
    mean_sim = (float(sims.sum()) - float(np.trace(sims))) / (n * (n - 1))
    return round(1.0 - mean_sim, 4)


def _diversity(docs: list[Document], cache: EmbeddingCache | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in sorted({d.kind for d in docs}):
        group = [d for d in docs if d.kind == kind]
        openers = Counter(" ".join(d.text.split()[:OPENER_WORDS]) for d in group)
        top = sorted(openers.items(), key=lambda item: (-item[1], item[0]))[:10]
        out[kind] = {
            "documents": len(group),
            "distinct_1grams": _distinct(group, 1),
            "distinct_2grams": _distinct(group, 2),
            "distinct_3grams": _distinct(group, 3),
            "embedding_spread": _spread(group, cache),
            "top_openers": [{"opener": text, "documents": count} for text, count in top],
        }
    return out


def _quality(layout: BuildLayout) -> dict[str, Any]:
    summary = _json(layout.quality / "summary.json")
    if summary is None:
        return NOT_RUN
    return {
        "ran": True,
        "documents": summary.get("documents", 0),
        "kept": summary.get("kept", 0),
        "rejected": summary.get("dropped", 0),
        "reasons": summary.get("reasons", {}),
        "profile_version": summary.get("profile_version"),
    }


def _dedup(layout: BuildLayout) -> dict[str, Any]:
    report = _json(layout.dedup / "dedup_report.json")
    if report is None:
        return NOT_RUN
    dropped = report.get("dropped", [])
    clusters: dict[str, list[str]] = {}
    for drop in dropped:
        clusters.setdefault(drop["duplicate_of"], []).append(drop["id"])
    sizes = Counter(len(members) + 1 for members in clusters.values())
    top = sorted(clusters.items(), key=lambda item: (-len(item[1]), item[0]))[:5]
    return {
        "ran": True,
        "documents": report.get("documents", 0),
        "kept": report.get("kept", 0),
        "dropped": len(dropped),
        "by_stage": {name: s.get("dropped", 0) for name, s in report.get("stages", {}).items()},
        "cluster_sizes": {str(size): count for size, count in sorted(sizes.items())},
        "top_clusters": [{"kept": kept, "dropped": sorted(members)} for kept, members in top],
    }


def _contamination(layout: BuildLayout) -> dict[str, Any]:
    report = _json(layout.contamination / "contamination.json")
    if report is None:
        return NOT_RUN
    summary = report["summary"]
    distance = report.get("distance", {})
    evals = {
        name: {
            "items": figures.get("items", 0),
            "items_with_hits": figures.get("items_with_hits", 0),
            "failing_items": figures.get("failing_items", 0),
            "distance": {k: distance.get(name, {}).get(k) for k in ("p50", "p90", "p99", "max")},
            "nearest": distance.get(name, {}).get("nearest", []),
            "closest": distance.get(name, {}).get("closest", [])[:3],
        }
        for name, figures in sorted(summary.get("evals", {}).items())
    }
    return {
        "ran": True,
        "gate": summary.get("gate", {}),
        "hits": summary.get("hits", {}),
        "evals": evals,
        "removed": report.get("decontamination", {}).get("dropped", 0),
    }


def _review(layout: BuildLayout) -> dict[str, Any]:
    queue = _json(layout.review_queue)
    if queue is None:
        return NOT_RUN
    return {"ran": True, "progress": queue.get("progress", {})}


def _mixes(layout: BuildLayout, names: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        manifest = _json(layout.mix(name) / "manifest.json")
        if manifest is None:
            out[name] = NOT_RUN
            continue
        out[name] = {
            "ran": True,
            "path": str(layout.mix(name).relative_to(layout.root)),
            "tokens": manifest.get("tokens", {}),
            "splits": manifest.get("splits", {}),
            "sources": manifest.get("sources", {}),
            "kinds": manifest.get("kinds", {}),
        }
    return out


def _cost(layout: BuildLayout) -> dict[str, Any]:
    from toolkit.generate.ledger import CostLedger

    root = layout.root / "generate"
    per_kind: dict[str, Any] = {}
    tokens: Counter[str] = Counter()
    for run in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        summary = CostLedger(run / "ledger.jsonl").summary()
        per_kind[run.name] = {
            "requests": summary["requests"],
            "cost_usd": round(summary["cost_usd"], 6),
        }
        tokens.update(summary["tokens"])
    total = round(sum(k["cost_usd"] for k in per_kind.values()), 6)
    return {"cost_usd": total, "tokens": dict(sorted(tokens.items())), "by_kind": per_kind}


def collect_report(
    layout: BuildLayout,
    constitution: Constitution,
    *,
    mixes: Sequence[str],
    cache: EmbeddingCache | None = None,
) -> dict[str, Any]:
    """Every figure of the build report, as one JSON-ready dict."""
    generated, final = _generated(layout), _docs(layout.final)
    return {
        "constitution": {"title": constitution.title, "version": constitution.version},
        "coverage": _coverage(constitution, generated, final),
        "diversity": _diversity(final or generated, cache),
        "diversity_of": "final" if final else "generated",
        "quality": _quality(layout),
        "dedup": _dedup(layout),
        "contamination": _contamination(layout),
        "review": _review(layout),
        "mixes": _mixes(layout, mixes),
        "cost": _cost(layout),
    }


def write_report(layout: BuildLayout, report: dict[str, Any]) -> bool:
    """Write report.json and report.html, each only when its content changed."""
    from toolkit.build.page import render_report_html

    blobs = {
        layout.report_json: json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        layout.report_html: render_report_html(report),
    }
    written = False
    for path, text in blobs.items():
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        with atomic_write(path, compress=False) as out:
            out.write(text.encode())
        written = True
    return written
