"""The mix's README.md data card, rendered from the manifest alone.

Everything on the card comes from the manifest, so the card is as reproducible
as the manifest and never says something the manifest does not. It opens with
Hugging Face dataset-card YAML: a `configs` entry whose `data_files` globs
point `load_dataset(<mix dir>)` at one format's folders (datasets picks one
builder for all of a card's configs, so only one format is declared), the
column types, and only the license and languages the spec states. The chart is
hand-written inline SVG (requested versus realised share per source), so it
shows on any Markdown viewer without a plotting dependency.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import yaml
from markupsafe import Markup, escape

from toolkit.mix.shards import ARROW_SCHEMA, SUFFIX, default_format
from toolkit.pages import render_page

__all__ = ["card_context", "card_metadata", "composition_svg", "render_card", "size_category"]

_BAR_WIDTH = 360
_LABEL_WIDTH = 150
_ROW = 34

KNOWN_LIMITS = (
    "Token counts exclude special tokens (BOS/EOS, separators) that a training loader adds "
    "per document.",
    "Upsampled sources repeat whole documents verbatim, up to each source's epoch cap; "
    "repeated copies are identical rows.",
    "Only exact repeats (the same document id) are removed; near-duplicates are the job of "
    "the deduplication stage, before mixing.",
    "Filters read `metadata.review.status` and `metadata.quality`; a document without a "
    "review status counts as `unreviewed`, one without a quality score fails a quality "
    "threshold.",
    "The validation split is chosen by a hash of the document id, so its size is close to, "
    "not exactly, the requested fraction, most visibly in small mixes.",
)


# The Hugging Face Hub's size_categories, by number of rows.
_SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"),
    (100_000_000_000, "10B<n<100B"),
    (1_000_000_000_000, "100B<n<1T"),
)


def size_category(rows: int) -> str:
    """The Hub's size category for a dataset of `rows` rows."""
    return next((name for limit, name in _SIZE_CATEGORIES if rows < limit), "n>1T")


def _features() -> list[dict[str, str]]:
    """The shard columns as `datasets` YAML features (strings and lists of strings)."""
    features = []
    for field in ARROW_SCHEMA:
        if pa.types.is_list(field.type):
            features.append({"name": field.name, "list": str(field.type.value_type)})
        else:
            features.append({"name": field.name, "dtype": str(field.type)})
    return features


def card_metadata(manifest: dict[str, Any]) -> dict[str, Any]:
    """The card's YAML front matter as data: what `datasets` and the Hub read."""
    spec = manifest["spec"]
    fmt = default_format(spec["formats"])
    data_files = [
        {"split": split, "path": f"{folder}/*{SUFFIX[fmt]}"}
        for split, folder in manifest["layout"][fmt].items()
    ]
    metadata: dict[str, Any] = {"pretty_name": spec["name"]}
    if spec["license"]:
        metadata["license"] = spec["license"]
    if spec["language"]:
        metadata["language"] = list(spec["language"])
    rows = sum(split["documents"] for split in manifest["splits"].values())
    metadata |= {
        "task_categories": ["text-generation"],
        "size_categories": [size_category(rows)],
        "configs": [{"config_name": "default", "default": True, "data_files": data_files}],
        "dataset_info": {"config_name": "default", "features": _features()},
    }
    return metadata


def _front_matter(manifest: dict[str, Any]) -> str:
    text = yaml.safe_dump(card_metadata(manifest), sort_keys=False, allow_unicode=True)
    return text.rstrip("\n")


def _folders(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Each format's folder per split, with its shard count."""
    shards = Counter((e["format"], e["split"]) for e in manifest["shards"])
    return [
        {"path": folder, "format": fmt, "split": split, "shards": shards[fmt, split]}
        for fmt, folders in manifest["layout"].items()
        for split, folder in folders.items()
    ]


def composition_svg(sources: dict[str, dict[str, Any]]) -> Markup:
    """Horizontal bars: each source's requested (light) and realised (dark) token share.

    Markup (source names escaped here), so an HTML template embeds it as it is.
    """
    height = 40 + _ROW * len(sources)
    width = _LABEL_WIDTH + _BAR_WIDTH + 80
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" '
        'role="img" aria-label="Token share per source, requested and realised">',
        '<rect x="0" y="0" width="12" height="10" fill="#b8cce4"/>'
        '<text x="16" y="10">requested</text>',
        '<rect x="96" y="0" width="12" height="10" fill="#1f4e79"/>'
        '<text x="112" y="10">realised</text>',
    ]
    for row, (name, src) in enumerate(sources.items()):
        y = 24 + row * _ROW
        requested = float(src["share"])
        realised = float(src["share_realised"])
        parts.append(f'<text x="0" y="{y + 13}">{escape(name)}</text>')
        for offset, share, colour in ((0, requested, "#b8cce4"), (13, realised, "#1f4e79")):
            bar = round(share * _BAR_WIDTH, 1)
            parts.append(
                f'<rect x="{_LABEL_WIDTH}" y="{y + offset}" width="{bar}" height="11" '
                f'fill="{colour}"/>'
            )
            parts.append(
                f'<text x="{_LABEL_WIDTH + bar + 4}" y="{y + offset + 10}">{share:.1%}</text>'
            )
    parts.append("</svg>")
    return Markup("\n".join(parts))


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested report figures as dotted keys; long lists summarised by their length."""
    rows: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows += _flatten(value, f"{name}.")
        elif isinstance(value, list) and (
            len(value) > 5 or any(isinstance(v, dict) for v in value)
        ):
            rows.append((name, f"{len(value)} entries"))
        else:
            text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
            rows.append((name, text if len(text) <= 120 else f"{text[:117]}..."))
    return rows


def card_context(manifest: dict[str, Any]) -> dict[str, Any]:
    """What the card template is filled from: the manifest's own figures."""
    contamination = manifest["contamination"]
    if contamination is not None and contamination["summary"] is not None:
        contamination = {**contamination, "rows": _flatten(contamination["summary"])}
    return {
        "front_matter": _front_matter(manifest),
        "spec": manifest["spec"],
        "spec_sha256": manifest["spec_sha256"],
        "tool": manifest["tool"],
        "tokenizer": manifest["tokenizer"],
        "tokens": manifest["tokens"],
        "splits": manifest["splits"],
        "documents": sum(s["documents"] for s in manifest["splits"].values()),
        "sources": manifest["sources"],
        "kinds": manifest["kinds"],
        "chart": composition_svg(manifest["sources"]),
        "shard_count": len(manifest["shards"]),
        "layout": manifest["layout"],
        "default_format": default_format(manifest["spec"]["formats"]),
        "folders": _folders(manifest),
        "versions": manifest["versions"],
        "notes": manifest["notes"],
        "contamination": contamination,
        "limits": KNOWN_LIMITS,
    }


def render_card(manifest: dict[str, Any]) -> str:
    """The data card's Markdown text (template `reports/mix-card.md.j2`)."""
    return render_page("mix-card.md.j2", **card_context(manifest))
