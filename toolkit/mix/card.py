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
from html import escape
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import yaml

from toolkit.mix.shards import ARROW_SCHEMA, SUFFIX, default_format

__all__ = ["card_metadata", "composition_svg", "render_card", "size_category"]

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


def _front_matter(manifest: dict[str, Any]) -> list[str]:
    text = yaml.safe_dump(card_metadata(manifest), sort_keys=False, allow_unicode=True)
    return ["---", text.rstrip("\n"), "---", ""]


def _loading(manifest: dict[str, Any]) -> list[str]:
    """Where each format's shards are and how common loaders read a folder of them."""
    layout = manifest["layout"]
    fmt = default_format(manifest["spec"]["formats"])
    lines = [
        "One folder per format, one subfolder per split; every file in a folder has "
        "the same format and columns:",
        "",
    ]
    for shard_format, folders in layout.items():
        for split, folder in folders.items():
            count = sum(
                1 for e in manifest["shards"] if e["format"] == shard_format and e["split"] == split
            )
            lines.append(f"- `{folder}/`: {count} {shard_format} shard(s), {split} split")
    lines += [
        "",
        f"`load_dataset(<this folder>)` reads the {fmt} shards (the card's `default` config)."
        + (
            " The JSONL shards are not a second config, because `datasets` reads all of a "
            "card's configs with one builder."
            if len(layout) > 1
            else ""
        ),
        "Each format's folder also loads alone (paths relative to this folder):",
        "",
        "```python",
    ]
    if "parquet" in layout:
        lines += [
            'load_dataset("parquet", data_dir="parquet")  # splits from the folder names',
            'pyarrow.dataset.dataset("parquet/train")',
            "duckdb.sql(\"SELECT * FROM read_parquet('parquet/train/*.parquet')\")",
        ]
    if "jsonl.zst" in layout:
        lines += [
            'load_dataset("json", data_dir="jsonl")  # zstd, read through `zstandard`',
            "duckdb.sql(\"SELECT * FROM read_json('jsonl/train/*.jsonl.zst')\")",
        ]
    return [*lines, "```"]


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def composition_svg(sources: dict[str, dict[str, Any]]) -> str:
    """Horizontal bars: each source's requested (light) and realised (dark) token share."""
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
    return "\n".join(parts)


def _sources_table(manifest: dict[str, Any]) -> list[str]:
    rows = []
    for name, s in manifest["sources"].items():
        rows.append(
            [
                name,
                f"`{s['path']}`",
                f"{s['share']:.1%}",
                f"{s['share_realised']:.1%}",
                f"{s['tokens_requested']:,}",
                f"{s['tokens_realised']:,}",
                f"{s['tokens_available']:,}",
                f"{s['epochs_realised']:.2f} (max {s['max_epochs']:g})",
                f"{s['documents_realised']:,} ({s['unique_documents']:,})",
            ]
        )
    header = ["source", "path", "share asked", "share got", "tokens asked", "tokens got"]
    header += ["tokens available", "epochs", "documents (unique)"]
    return _table(header, rows)


def _filters(manifest: dict[str, Any]) -> list[str]:
    lines = []
    for name, s in manifest["sources"].items():
        rules = [
            f"{key} in {{{', '.join(s[key])}}}"
            for key in ("kinds", "review_status", "principle_ids")
            if s[key]
        ]
        rules += [f"quality.{k} ≥ {v:g}" for k, v in s["min_quality"].items()]
        dropped = ", ".join(f"{n:,} {reason}" for reason, n in s["dropped"].items()) or "none"
        lines.append(
            f"- **{_cell(name)}**: read {s['documents_read']:,} documents from "
            f"{len(s['files'])} file(s); filters: {'; '.join(rules) or 'none'}; "
            f"dropped: {dropped}."
        )
    return lines


def _versions(manifest: dict[str, Any]) -> list[str]:
    versions = manifest["versions"]
    if not versions:
        return ["No generation provenance recorded (external text only)."]
    lines = []
    for key, counts in versions.items():
        shown = ", ".join(f"`{v}` ({n:,})" for v, n in counts.items())
        lines.append(f"- {key.replace('_', ' ')}: {shown}")
    return lines


def _contamination(manifest: dict[str, Any]) -> list[str]:
    entry = manifest["contamination"]
    if entry is None:
        return ["No contamination report was named in the spec."]
    if entry["summary"] is None:
        return [f"The spec names `{entry['report']}`, but it did not exist at build time."]
    rows = [[f"`{key}`", value] for key, value in _flatten(entry["summary"])]
    return [f"From `{entry['report']}`:", "", *_table(["measure", "value"], rows)]


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


def render_card(manifest: dict[str, Any]) -> str:
    """The data card's Markdown text."""
    spec, tokens, splits = manifest["spec"], manifest["tokens"], manifest["splits"]
    shard_count = len(manifest["shards"])
    kinds = [
        [kind, *(f"{v[s][m]:,}" for s in ("train", "validation") for m in ("documents", "tokens"))]
        for kind, v in manifest["kinds"].items()
    ]
    kind_header = ["kind", "train documents", "train tokens"]
    kind_header += ["validation documents", "validation tokens"]
    lines = [
        *_front_matter(manifest),
        f"# {spec['name']}: a ccorpus training mix",
        "",
        f"{tokens['realised']:,} tokens ({tokens['requested']:,} requested) in "
        f"{sum(s['documents'] for s in splits.values()):,} documents from "
        f"{len(manifest['sources'])} sources: train {splits['train']['documents']:,} documents "
        f"/ {splits['train']['tokens']:,} tokens, validation "
        f"{splits['validation']['documents']:,} documents / "
        f"{splits['validation']['tokens']:,} tokens.",
        "",
        "## Composition",
        "",
        composition_svg(manifest["sources"]),
        "",
        *_sources_table(manifest),
        "",
        *_table(kind_header, kinds),
        "",
        "## How it was made",
        "",
        f"- Built by ccorpus {manifest['tool']['version']} from a spec with sha256 "
        f"`{manifest['spec_sha256']}` (the spec is in `manifest.json`).",
        f"- Tokens counted with {manifest['tokenizer']['name']} (tokenizer.json sha256 "
        f"`{manifest['tokenizer']['sha256']}`), without special tokens.",
        f"- Target {spec['target_tokens']:,} tokens; shortfall policy `fill = "
        f'"{spec["fill"]}"`; seed {spec["seed"]}. Each source gives whole passes over its '
        "documents, then a seeded partial pass; documents are never cut.",
        f"- Validation fraction {spec['validation_fraction']:g}: a document is held out when "
        "a fixed hash of its id falls below the fraction, so an id keeps its split as "
        "corpora grow, and every copy of a document is in the same split.",
        f"- A seeded global shuffle per split; {shard_count} shard file(s) in "
        f"{', '.join(spec['formats'])} with columns text, id, source, kind, principle_ids, "
        "backend, model, template, template_version, constitution_version.",
        *_filters(manifest),
        "",
        "## Files and loading",
        "",
        *_loading(manifest),
        "",
        "## Versions present",
        "",
        *_versions(manifest),
        "",
        "## Notes",
        "",
        *([f"- {note}" for note in manifest["notes"]] or ["Every source met its request."]),
        "",
        "## Contamination",
        "",
        *_contamination(manifest),
        "",
        "## Known limits",
        "",
        *(f"- {limit}" for limit in KNOWN_LIMITS),
        "",
    ]
    return "\n".join(lines)
