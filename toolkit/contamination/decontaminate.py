"""Write the corpus without what the gate caught.

A document with a gated hit goes to OUT/rejected, its reason naming the eval
item (`contamination: EVAL[INDEX]`) and every gated hit in its details; the
rest go to OUT/kept. With `cut_spans` the matched spans are cut out instead
and the shortened document kept (with a new id, since the id hashes the
text); a document left with no words is rejected. Below-gate hits are left
alone: the gate defines what counts as contaminated.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from toolkit.document import document_id
from toolkit.errors import InputError
from toolkit.io.corpus import read_documents
from toolkit.progress import progress
from toolkit.stages import Decision, SplitWriter

__all__ = ["cut", "decontaminate"]


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
    removed: list[dict[str, Any]] = []
    docs = progress(read_documents(corpus), description="decontaminating", quiet=quiet)
    with SplitWriter(out, "contamination") as writer:
        for doc in docs:
            hits = gated.get(doc.id)
            if not hits:
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
        "documents": removed,
    }
