"""Write the corpus without what the gate caught.

A document with a gated hit goes to OUT/rejected, its reason naming the eval
item (`contamination: EVAL[INDEX]`) and every gated hit in its details; the
rest go to OUT/kept. With `cut_spans` the matched spans are cut out instead
and the shortened document kept (with a new id, since the id hashes the
text); a document left with no words is rejected. Below-gate hits are left
in: the gate defines what counts as contaminated. A kept document with such
hits carries them in `metadata["contamination"]`
(`toolkit.metadata.ContaminationMetadata`): the strongest per eval item, with
the gate they stayed below, so a curator sees how close it came.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from toolkit.document import document_id
from toolkit.errors import InputError
from toolkit.io.corpus import read_documents
from toolkit.metadata import ContaminationHit, ContaminationMetadata
from toolkit.progress import progress
from toolkit.stages import Decision, SplitWriter

__all__ = ["MAX_HITS", "cut", "decontaminate", "near_misses"]

#: Most below-gate hits (one per eval item, strongest first) kept in a document's metadata.
MAX_HITS = 3


def cut(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` without the given character spans (overlaps merged)."""
    pieces, position = [], 0
    for start, end in sorted(spans):
        if end <= position:
            continue
        pieces.append(text[position : max(start, position)])
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _gated(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for hit in report["hits"]:
        if hit["gated"] and hit["source"] == "corpus":
            by_doc.setdefault(hit["doc_id"], []).append(hit)
    return by_doc


def _below_gate(hit: dict[str, Any]) -> ContaminationHit:
    context = hit.get("context") or {}
    below: ContaminationHit = {
        "eval": hit["eval"],
        "eval_index": hit["eval_index"],
        "stage": hit["stage"],
        "score": hit["score"],
        "doc_span": list(hit["doc_span"]),
        "excerpt": {
            "before": context.get("before", ""),
            "match": hit.get("doc_text", ""),
            "after": context.get("after", ""),
        },
    }
    if hit.get("eval_id"):
        below["eval_id"] = hit["eval_id"]
    return below


def near_misses(report: dict[str, Any]) -> dict[str, ContaminationMetadata]:
    """`metadata["contamination"]` by document id, for documents with only below-gate hits."""
    gate = report["summary"]["gate"]
    thresholds = {"ngram_share": gate["ngram_share"], "cosine": gate["cosine"]}
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for hit in report["hits"]:
        if hit["source"] == "corpus":
            by_doc.setdefault(hit["doc_id"], []).append(hit)
    out: dict[str, ContaminationMetadata] = {}
    for doc_id, hits in by_doc.items():
        if any(hit["gated"] for hit in hits):
            continue
        strongest: dict[tuple[str, int], dict[str, Any]] = {}
        for hit in sorted(hits, key=lambda h: -h["score"]):
            strongest.setdefault((hit["eval"], hit["eval_index"]), hit)
        out[doc_id] = {
            "contaminated": False,
            "hits": [_below_gate(hit) for hit in list(strongest.values())[:MAX_HITS]],
            "hits_total": len(hits),
            "gate": thresholds,
        }
    return out


def _brief(hit: dict[str, Any]) -> dict[str, Any]:
    keys = ("eval", "eval_index", "stage", "score", "doc_span", "spans")
    return {key: hit[key] for key in keys}


def decontaminate(
    corpus: str | Path,
    report: dict[str, Any],
    out: str | Path,
    *,
    cut_spans: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Split `corpus` by the report's gated hits into OUT/kept and OUT/rejected."""
    if Path(out).resolve() == Path(corpus).resolve():
        raise InputError(f"{out}: the decontaminated output must differ from the corpus")
    gated = _gated(report)
    near = near_misses(report)
    removed: list[dict[str, Any]] = []
    docs = progress(read_documents(corpus), description="decontaminating", quiet=quiet)
    with SplitWriter(out, "contamination") as writer:
        for doc in docs:
            hits = gated.get(doc.id)
            if not hits:
                if doc.id in near:
                    doc = replace(doc, metadata={**doc.metadata, "contamination": near[doc.id]})
                writer.write(Decision(doc))
                continue
            first = max(hits, key=lambda h: h["score"])
            reason = f"contamination: {first['eval']}[{first['eval_index']}]"
            details = {"hits": [_brief(h) for h in hits]}
            entry = {"doc_id": doc.id, "reason": reason, **details}
            if cut_spans:
                text = cut(doc.text, [(s[0], s[1]) for h in hits for s in h["spans"]])
                if any(c.isalnum() for c in text):
                    new = replace(
                        doc,
                        id=document_id(doc.kind, text),
                        text=text,
                        metadata={**doc.metadata, "decontaminated": {"from": doc.id, **details}},
                    )
                    writer.write(Decision(new))
                    removed.append(
                        {
                            **entry,
                            "action": "cut",
                            "new_id": new.id,
                            "chars_cut": len(doc.text) - len(text),
                        }
                    )
                    continue
            writer.write(Decision(doc, reason, details))
            removed.append({**entry, "action": "removed"})
    summary = writer.summary.to_dict()
    return {
        "out": str(out),
        "cut_spans": cut_spans,
        **summary,
        "cut": sum(1 for r in removed if r["action"] == "cut"),
        "near_misses": len(near),
        "documents": removed,
    }
