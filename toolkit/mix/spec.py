"""The mix spec: one TOML file that says what goes into a training mix and how much.

Parsing is strict because a silent default in a mix spec costs a training run:
every problem is one `ConfigError` naming the file, the key and what was
expected, and unknown keys are refused with the list of valid ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.document import KINDS
from toolkit.errors import ConfigError
from toolkit.tables import TableReader, read_toml, resolve_path

__all__ = ["FILL_POLICIES", "FORMATS", "MixSpec", "SourceSpec", "load_spec", "parse_spec"]

FORMATS = ("jsonl.zst", "parquet")
FILL_POLICIES = ("none", "redistribute", "scale")
UNREVIEWED = "unreviewed"
SHARE_TOLERANCE = 1e-6

_TOP_KEYS = {
    "name": "a string naming the mix",
    "target_tokens": "a positive integer",
    "seed": "an integer",
    "max_epochs": "a number >= 1 (the default epoch cap of every source)",
    "fill": f"one of {', '.join(FILL_POLICIES)}",
    "validation_fraction": "a number in [0, 1)",
    "formats": f"a non-empty list drawn from {', '.join(FORMATS)} (default: both)",
    "shard_documents": "a positive integer (documents per shard)",
    "shard_tokens": "a positive integer (tokens per shard)",
    "tokenizer": "a path to a Hugging Face tokenizer.json",
    "contamination_report": "a path to a contamination report JSON",
    "license": "a license id for the data card, e.g. 'cc-by-4.0' (default: none stated)",
    "language": "a list of language codes for the data card, e.g. ['en'] (default: none stated)",
    "sources": "a table of source tables",
}
_SOURCE_KEYS = {
    "path": "a corpus file or directory path",
    "share": "a number in (0, 1]",
    "max_epochs": "a number >= 1",
    "kinds": f"a list drawn from {', '.join(KINDS)}",
    "review_status": f"a list of review statuses ({UNREVIEWED!r} matches documents without one)",
    "min_quality": "a number (minimum quality score) or a table of quality key to minimum",
    "principle_ids": "a list of principle ids (a document needs at least one)",
}


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One corpus in the mix, its filters, and its share of the target tokens."""

    name: str
    path: str
    resolved: Path
    share: float
    max_epochs: float
    kinds: tuple[str, ...] = ()
    review_status: tuple[str, ...] = ()
    min_quality: tuple[tuple[str, float], ...] = ()
    principle_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """As written in the manifest: the path as given, never the machine's absolute one."""
        return {
            "path": self.path,
            "share": self.share,
            "max_epochs": self.max_epochs,
            "kinds": list(self.kinds),
            "review_status": list(self.review_status),
            "min_quality": dict(self.min_quality),
            "principle_ids": list(self.principle_ids),
        }


@dataclass(frozen=True, slots=True)
class MixSpec:
    """A parsed, validated mix spec; `file` is where it came from (for messages)."""

    file: Path
    name: str
    target_tokens: int
    seed: int
    sources: tuple[SourceSpec, ...]
    fill: str = "none"
    validation_fraction: float = 0.0
    formats: tuple[str, ...] = FORMATS
    shard_documents: int | None = None
    shard_tokens: int | None = None
    tokenizer: str | None = None
    contamination_report: str | None = None
    license: str | None = None
    language: tuple[str, ...] = ()

    def resolve(self, path: str) -> Path:
        """Relative paths in a spec are relative to the spec file's directory."""
        return resolve_path(self.file, path)

    def to_dict(self) -> dict[str, Any]:
        """Every setting with defaults filled in: what the manifest records and hashes."""
        return {
            "name": self.name,
            "target_tokens": self.target_tokens,
            "seed": self.seed,
            "fill": self.fill,
            "validation_fraction": self.validation_fraction,
            "formats": list(self.formats),
            "shard_documents": self.shard_documents,
            "shard_tokens": self.shard_tokens,
            "tokenizer": self.tokenizer,
            "contamination_report": self.contamination_report,
            "license": self.license,
            "language": list(self.language),
            "sources": {s.name: s.to_dict() for s in self.sources},
        }


def _min_quality(reader: TableReader) -> tuple[tuple[str, float], ...]:
    value = reader.table.get("min_quality")
    if value is None:
        return ()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (("score", float(value)),)
    if isinstance(value, dict) and value:
        bad = [k for k, v in value.items() if isinstance(v, bool) or not isinstance(v, int | float)]
        if not bad:
            return tuple(sorted((k, float(v)) for k, v in value.items()))
    reader.expect("min_quality", value)


def _source(file: Path, name: str, table: Any, default_epochs: float) -> SourceSpec:
    prefix = f"sources.{name}."
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: sources.{name}: expected a table, got {table!r}")
    reader = TableReader(file, table, prefix, _SOURCE_KEYS)
    for key in ("path", "share"):
        if key not in table:
            reader.fail(key, f"missing; expected {_SOURCE_KEYS[key]}")
    path = reader.string("path")
    assert path is not None
    resolved = resolve_path(file, path)
    if not resolved.exists():
        reader.fail("path", f"{resolved} does not exist")
    return SourceSpec(
        name=name,
        path=path,
        resolved=resolved,
        share=reader.number("share", 0.0, 0.0, 1.0, closed=True),
        max_epochs=reader.number("max_epochs", default_epochs, 1.0, math.inf, closed=False),
        kinds=reader.strings("kinds", KINDS),
        review_status=reader.strings("review_status"),
        min_quality=_min_quality(reader),
        principle_ids=reader.strings("principle_ids"),
    )


def parse_spec(data: dict[str, Any], file: Path) -> MixSpec:
    """Validate a decoded TOML table; `file` names the spec in errors and anchors paths."""
    top = TableReader(file, data, "", _TOP_KEYS)
    for key in ("target_tokens", "seed", "sources"):
        if key not in data:
            top.fail(key, f"missing; expected {_TOP_KEYS[key]}")
    sources_table = data["sources"]
    if not isinstance(sources_table, dict) or not sources_table:
        top.fail("sources", "expected at least one [sources.NAME] table")
    default_epochs = top.number("max_epochs", 1.0, 1.0, math.inf, closed=False)
    sources = tuple(_source(file, n, t, default_epochs) for n, t in sources_table.items())
    shares = [s.share for s in sources]
    if sources and (any(s <= 0 for s in shares) or abs(sum(shares) - 1.0) > SHARE_TOLERANCE):
        listed = ", ".join(f"{s.name}={s.share:g}" for s in sources)
        raise ConfigError(
            f"{file}: sources.*.share: expected positive shares summing to 1 (within "
            f"{SHARE_TOLERANCE:g}), got {listed} (sum {sum(shares):.6g})"
        )
    formats = top.strings("formats", FORMATS) if "formats" in data else FORMATS
    if not formats or len(set(formats)) != len(formats):
        top.expect("formats", list(formats))
    language = top.strings("language")
    if len(set(language)) != len(language):
        top.expect("language", list(language))
    if "shard_documents" in data and "shard_tokens" in data:
        top.fail("shard_tokens", "give shard_documents or shard_tokens, not both")
    fill = top.string("fill", "none")
    if fill not in FILL_POLICIES:
        top.expect("fill", fill)
    shard_tokens = top.integer("shard_tokens", None, minimum=1)
    shard_documents = top.integer("shard_documents", None if shard_tokens else 10_000, 1)
    tokenizer = top.string("tokenizer")
    if tokenizer is not None and not resolve_path(file, tokenizer).exists():
        top.fail("tokenizer", f"{resolve_path(file, tokenizer)} does not exist")
    target = top.integer("target_tokens", None, minimum=1)
    seed = top.integer("seed", None)
    assert target is not None and seed is not None and fill is not None
    return MixSpec(
        file=file,
        name=top.string("name", file.stem) or file.stem,
        target_tokens=target,
        seed=seed,
        sources=sources,
        fill=fill,
        validation_fraction=top.number("validation_fraction", 0.0, 0.0, 1.0, closed=False),
        formats=tuple(sorted(formats, key=FORMATS.index)),
        shard_documents=shard_documents,
        shard_tokens=shard_tokens,
        tokenizer=tokenizer,
        contamination_report=top.string("contamination_report"),
        license=top.string("license"),
        language=language,
    )


def load_spec(path: str | Path) -> MixSpec:
    """Read and validate a mix spec file."""
    return parse_spec(read_toml(path), Path(path))
