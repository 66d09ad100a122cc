"""What the item page shows beside a story, derived from the stored document.

Everything here returns plain data (or Markdown rendered with raw HTML
disabled); the templates escape it. Stage metadata (quality, dedup,
contamination) is read in the shapes `toolkit.metadata` declares; anything
else is shown as key/value rows rather than dropped.
"""

from __future__ import annotations

import difflib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

from toolkit.constitution import Constitution, load_constitution
from toolkit.errors import CorpusError
from toolkit.review.records import Item
from toolkit.review.store import ReviewStore

__all__ = [
    "Cell",
    "PrincipleText",
    "Principles",
    "contamination_hits",
    "duplicates",
    "guidelines",
    "judge_panel",
    "queue_flags",
    "queue_quality",
    "render_markdown",
    "rows",
]

_MD = MarkdownIt("commonmark", {"html": False}).enable("table")


def render_markdown(text: str) -> Markup:
    """Markdown to HTML with raw HTML escaped (markdown-it `html=False`), safe to embed."""
    return Markup(_MD.render(text))


def guidelines(path: Path | None) -> tuple[str, Markup | None]:
    """(where from, rendered HTML), or a reason in place of the path when unreadable."""
    if path is None:
        return "", None
    try:
        return str(path), render_markdown(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        return f"{path}: cannot read ({getattr(err, 'strerror', None) or err})", None


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "" if value is None else str(value)


def rows(value: Any) -> list[tuple[str, str]]:
    """(key, text) rows of a metadata value: one per key of an object."""
    if isinstance(value, dict):
        return [(str(key), _cell(item)) for key, item in value.items()]
    if value in (None, "", [], {}):
        return []
    return [("value", _cell(value))]


@dataclass(frozen=True, slots=True)
class PrincipleText:
    """A principle as the page shows it; `problem` says why the text is missing."""

    id: str
    title: str
    body: Markup
    problem: str = ""


class Principles:
    """Principle texts, from one constitution or each document's `provenance.source`.

    Constitutions are parsed once per server and shared across request
    threads; a missing or unreadable one is reported on the page, not raised.
    """

    def __init__(self, constitution: Path | None = None) -> None:
        self.constitution = constitution
        self._cache: dict[str, Constitution | str] = {}
        self._lock = threading.Lock()

    def _load(self, path: str) -> Constitution | str:
        with self._lock:
            if path not in self._cache:
                try:
                    self._cache[path] = load_constitution(path)
                except CorpusError as err:
                    self._cache[path] = str(err)
                except OSError as err:
                    self._cache[path] = f"{path}: cannot read ({err.strerror})"
            return self._cache[path]

    def for_item(self, item: Item) -> list[PrincipleText]:
        source = item.document.get("provenance", {}).get("source")
        path = str(self.constitution) if self.constitution else source
        if not item.principle_ids:
            return []
        if not path:
            problem = "no constitution: pass --constitution to show principle text"
            return [PrincipleText(pid, pid, Markup(""), problem) for pid in item.principle_ids]
        loaded = self._load(path)
        if isinstance(loaded, str):
            return [PrincipleText(pid, pid, Markup(""), loaded) for pid in item.principle_ids]
        out = []
        for pid in item.principle_ids:
            found = loaded.resolve(pid)
            if found is None:
                out.append(PrincipleText(pid, pid, Markup(""), f"not found in {path}"))
            else:
                out.append(PrincipleText(pid, found[0], render_markdown(found[1])))
        return out


def _duplicate_refs(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    refs: list[dict[str, Any]] = []
    for key in ("dedup", "rejected"):
        value = metadata.get(key)
        if not isinstance(value, dict):
            continue
        for field in ("duplicate_of", "survivor"):
            if isinstance(value.get(field), str):
                refs.append({"id": value[field], "score": value.get("score"), "via": field})
        for via in ("kept_over", "nearest", "neighbours"):
            listed = value.get(via)
            for near in listed if isinstance(listed, list) else []:
                if isinstance(near, dict):
                    ref = near.get("id", near.get("doc_id"))
                    if isinstance(ref, str):
                        refs.append({"id": ref, "score": near.get("score"), "via": via})
    unique: dict[str, dict[str, Any]] = {}
    for ref in refs:
        unique.setdefault(ref["id"], ref)
    return list(unique.values())


def duplicates(item: Item, store: ReviewStore) -> list[dict[str, Any]]:
    """Documents this one duplicates, with their title and an excerpt when imported."""
    out = []
    for ref in _duplicate_refs(item.document.get("metadata", {})):
        if ref["id"] == item.doc_id:
            continue
        other = store.find(ref["id"])
        out.append(
            {
                **ref,
                "score": _cell(ref["score"]),
                "title": other.title if other else "",
                "excerpt": other.text[:400] if other else "",
                "in_review": other is not None,
            }
        )
    return out


def contamination_hits(item: Item) -> list[dict[str, str]]:
    """Contamination hits with eval, score and the matched excerpt, when present."""
    value = item.document.get("metadata", {}).get("contamination")
    hits = value.get("hits") if isinstance(value, dict) else value
    if not isinstance(hits, list):
        return []
    out = []
    for hit in hits:
        if not isinstance(hit, dict):
            continue
        raw = hit.get("excerpt")
        excerpt: dict[str, Any] = raw if isinstance(raw, dict) else {}
        name = _cell(hit.get("eval", hit.get("source", "")))
        if isinstance(hit.get("eval_index"), int):
            name += f"[{hit['eval_index']}]"
        if isinstance(hit.get("eval_id"), str):
            name += f" {hit['eval_id']}"
        out.append(
            {
                "eval": name,
                "score": _cell(hit.get("score")),
                "stage": _cell(hit.get("stage")),
                "before": _cell(excerpt.get("before")),
                "match": _cell(excerpt.get("match", hit.get("item_text", ""))),
                "after": _cell(excerpt.get("after")),
            }
        )
    return out


def _diff_lines(old: str, new: str) -> list[tuple[str, str]]:
    """(css class, line) of a word-wrapped unified diff: `add`, `del` or `ctx`."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), "original", "revision", lineterm="", n=2
    )
    out = []
    for line in lines:
        css = "add" if line.startswith("+") else "del" if line.startswith("-") else "ctx"
        out.append((css, line))
    return out


def judge_panel(item: Item) -> dict[str, Any] | None:
    """The judge's verdict on the document, and when it is a revision, the original
    beside it with their diff (`metadata["judge"]` and `metadata["revision"]`)."""
    metadata = item.document.get("metadata", {})
    judge, revision = metadata.get("judge"), metadata.get("revision")
    if not isinstance(judge, dict) and not isinstance(revision, dict):
        return None
    panel: dict[str, Any] = {"scores": [], "stand_in": False, "revision": None}
    if isinstance(judge, dict):
        reasons, scores = judge.get("reasons"), judge.get("scores")
        reasons = reasons if isinstance(reasons, dict) else {}
        scores = scores if isinstance(scores, dict) else {}
        panel["scores"] = [
            (axis, _cell(score), _cell(reasons.get(axis))) for axis, score in scores.items()
        ]
        panel["stand_in"] = bool(judge.get("stand_in"))
        panel["by"] = f"{_cell(judge.get('backend'))} ({_cell(judge.get('model'))})"
        panel["error"] = _cell(judge.get("error"))
        panel["below"] = ", ".join(map(str, judge.get("below") or []))
    if isinstance(revision, dict) and isinstance(revision.get("original_text"), str):
        original = revision["original_text"]
        panel["revision"] = {
            "of": _cell(revision.get("of")),
            "round": _cell(revision.get("round")),
            "template": _cell(revision.get("template")),
            "stand_in": bool(revision.get("stand_in")),
            "before": ", ".join(f"{k} {v}" for k, v in (revision.get("before") or {}).items()),
            "after": ", ".join(f"{k} {v}" for k, v in (revision.get("after") or {}).items()),
            "original": original,
            "diff": _diff_lines(original, item.text),
        }
    return panel


@dataclass(frozen=True, slots=True)
class Cell:
    """A queue cell: its text, the tooltip saying where it comes from, and its class."""

    text: str
    title: str
    css: str = ""


_NOT_SCORED = Cell(
    "—",
    "not scored on this document: it carries no metadata.quality.score "
    "(a quality/scores.jsonl beside the corpus is not read here)",
    "none",
)


def queue_quality(item: Item) -> Cell:
    """The queue's Quality cell: the score, or "—" saying why there is none."""
    if item.quality is not None:
        return Cell(f"{item.quality:.3g}", "metadata.quality.score")
    quality = item.document.get("metadata", {}).get("quality")
    if isinstance(quality, dict) and quality:
        keys = ", ".join(sorted(map(str, quality)))
        return Cell("—", f"not scored: metadata.quality has no numeric score ({keys})", "none")
    return _NOT_SCORED


def _duplicate_cell(metadata: dict[str, Any]) -> Cell:
    dedup = metadata.get("dedup")
    kept_over = dedup.get("kept_over") if isinstance(dedup, dict) else None
    if isinstance(kept_over, list) and kept_over:
        return Cell(
            "duplicate",
            f"metadata.dedup: kept over {len(kept_over)} duplicate(s), which were dropped",
            "flag",
        )
    return Cell("duplicate", "metadata.dedup: a near or exact duplicate", "flag")


def _near_miss(metadata: dict[str, Any]) -> Cell | None:
    """A badge for eval hits that stayed below the gate (`contaminated` false)."""
    value = metadata.get("contamination")
    if not isinstance(value, dict):
        return None
    hits = value.get("hits")
    if not isinstance(hits, list) or not hits or not isinstance(hits[0], dict):
        return None
    top = hits[0]
    title = (
        f"metadata.contamination: {value.get('hits_total', len(hits))} eval hit(s) below "
        f"the gate, strongest {_cell(top.get('eval'))} {_cell(top.get('stage'))} "
        f"{_cell(top.get('score'))}"
    )
    return Cell("near eval", title, "flag")


def queue_flags(item: Item) -> list[Cell]:
    """The queue's Flags cell: one badge per flag, or one "—" saying what was checked."""
    metadata = item.document.get("metadata", {})
    flags = []
    if item.duplicate:
        flags.append(_duplicate_cell(metadata))
    if item.contaminated:
        flags.append(Cell("contamination", "metadata.contamination: an eval hit", "flag hot"))
    else:
        near = _near_miss(metadata)
        if near is not None:
            flags.append(near)
    if item.edited:
        flags.append(Cell("edited", "the text was edited in review", "flag"))
    if flags:
        return flags
    present = [key for key in ("dedup", "contamination") if key in metadata]
    if present:
        title = f"no flags: {' and '.join(present)} metadata present, nothing found"
    else:
        title = "no flags: this document carries no dedup or contamination metadata"
    return [Cell("—", title, "none")]
