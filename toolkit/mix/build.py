"""`build_mix`: spec in, shards + manifest + data card out, byte-for-byte reproducible.

The manifest is written last and is the completion marker: a directory whose
manifest is missing is an unfinished build. Nothing in the outputs comes from
the clock or the machine (paths are recorded as the spec wrote them), so the
same spec over the same inputs gives identical files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from toolkit import __version__
from toolkit.errors import InputError
from toolkit.io import atomic_write, refuse_existing, remove_stale_temps
from toolkit.mix.card import render_card
from toolkit.mix.plan import Occurrence, allocate, order, sample_source
from toolkit.mix.select import SourceStats, Staging, select_sources
from toolkit.mix.shards import FOLDER, shard_folder, shard_name, write_shard
from toolkit.mix.spec import MixSpec, load_spec
from toolkit.mix.tokens import TokenCounter
from toolkit.progress import progress

__all__ = [
    "DATA_DIRS",
    "MANIFEST",
    "MANIFEST_FORMAT",
    "SPLITS",
    "Layout",
    "build_mix",
    "layout_of",
    "spec_hash",
]

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "ccorpus-mix/2"  # /1 kept both formats together in one folder per split
SPLITS = ("train", "validation")
# Where shards live: one folder per format, and the per-split folders of a
# ccorpus-mix/1 directory, which a rebuild replaces.
DATA_DIRS = (*FOLDER.values(), *SPLITS)
_OWNED = {MANIFEST, "README.md", *DATA_DIRS}

Layout = dict[str, dict[str, str]]


def spec_hash(spec: dict[str, Any]) -> str:
    """sha256 of the spec's canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _prepare(out: Path, overwrite: bool) -> None:
    """Refuse a directory holding anything but a mix, and an earlier (or unfinished)
    mix unless `overwrite`."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    foreign = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    foreign = [name for name in foreign if name not in _OWNED]
    if foreign:
        raise InputError(
            f"{out}: holds {foreign[0]!r}, which is not part of a mix; choose an empty directory"
        )
    refuse_existing([out / name for name in sorted(_OWNED)], overwrite=overwrite)
    for leftover in out.glob(".staging-*"):  # from a build that was killed
        shutil.rmtree(leftover, ignore_errors=True)
    remove_stale_temps(out)  # `.manifest.json.PID.tmp` and shards' of a killed build


def _chunks(items: list[Occurrence], spec: MixSpec) -> Iterator[list[Occurrence]]:
    shard: list[Occurrence] = []
    tokens = 0
    for occ in items:
        full = (
            tokens + occ.tokens > spec.shard_tokens
            if spec.shard_tokens
            else len(shard) >= (spec.shard_documents or 1)
        )
        if shard and full:
            yield shard
            shard, tokens = [], 0
        shard.append(occ)
        tokens += occ.tokens
    if shard:
        yield shard


class _Tally:
    """Documents and tokens by source, kind and split, and versions over unique documents."""

    def __init__(self) -> None:
        self.cells: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        self.versions: dict[str, Counter[str]] = defaultdict(Counter)
        self.unique: dict[str, set[str]] = defaultdict(set)

    def add(self, row: dict[str, Any], split: str, tokens: int) -> None:
        for cell in ((row["source"], "", split), ("", row["kind"], split)):
            self.cells[cell][0] += 1
            self.cells[cell][1] += tokens
        if row["id"] not in self.unique[row["source"]]:
            self.unique[row["source"]].add(row["id"])
            if row["template"]:
                self.versions["templates"][f"{row['template']}.{row['template_version']}"] += 1
            for key in ("model", "constitution_version", "backend"):
                if row[key]:
                    self.versions[f"{key}s"][row[key]] += 1

    def by(self, source: str = "", kind: str = "") -> dict[str, dict[str, int]]:
        cells = {s: self.cells.get((source, kind, s), [0, 0]) for s in SPLITS}
        return {s: {"documents": d, "tokens": t} for s, (d, t) in cells.items()}


def _write_shards(
    spec: MixSpec, out: Path, splits: dict[str, list[Occurrence]], staging: Staging, quiet: bool
) -> tuple[list[dict[str, Any]], _Tally]:
    entries: list[dict[str, Any]] = []
    tally = _Tally()
    for split in SPLITS:
        chunks = list(_chunks(splits[split], spec))
        shards = progress(chunks, description=f"writing {split}", total=len(chunks), quiet=quiet)
        for index, chunk in enumerate(shards):
            rows = [staging.get(occ.source, occ.ordinal) for occ in chunk]
            for row, occ in zip(rows, chunk, strict=True):
                tally.add(row, split, occ.tokens)
            tokens = sum(occ.tokens for occ in chunk)
            for fmt in spec.formats:
                path = shard_name(split, index, fmt)
                write_shard(out / path, fmt, rows)
                digest = hashlib.sha256((out / path).read_bytes()).hexdigest()
                entry = {"path": path, "format": fmt, "split": split, "sha256": digest}
                entries.append({**entry, "documents": len(chunk), "tokens": tokens})
    return entries, tally


def _remove_stale(out: Path, entries: list[dict[str, Any]]) -> None:
    """Delete shards this build did not write (fewer shards, a dropped format, the /1 layout)."""
    written = {e["path"] for e in entries}
    for name in DATA_DIRS:
        top = out / name
        if not top.is_dir():
            continue
        for file in sorted(top.rglob("*")):
            if file.is_file() and file.relative_to(out).as_posix() not in written:
                file.unlink()
        folders = sorted((d for d in top.rglob("*") if d.is_dir()), reverse=True)
        for folder in [*folders, top]:
            if not any(folder.iterdir()):
                folder.rmdir()


def layout_of(formats: list[str] | tuple[str, ...], entries: list[dict[str, Any]]) -> Layout:
    """Format -> split -> folder, for every split that has shards."""
    filled = {(e["format"], e["split"]) for e in entries}
    return {
        fmt: {split: shard_folder(fmt, split) for split in SPLITS if (fmt, split) in filled}
        for fmt in formats
    }


def _contamination(spec: MixSpec) -> dict[str, Any] | None:
    if spec.contamination_report is None:
        return None
    path = spec.resolve(spec.contamination_report)
    entry: dict[str, Any] = {"report": spec.contamination_report, "summary": None}
    if not path.is_file():
        return entry
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: cannot read the contamination report ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("summary"), dict):
        raise InputError(f"{path}: expected a JSON object with a 'summary' object")
    entry["summary"] = data["summary"]
    return entry


def _source_entry(
    spec: MixSpec, i: int, stat: SourceStats, budget: int, tally: _Tally, realised_total: int
) -> dict[str, Any]:
    source = spec.sources[i]
    by_split = tally.by(source=source.name)
    tokens = sum(v["tokens"] for v in by_split.values())
    return {
        **source.to_dict(),
        **stat.to_dict(),
        "tokens_requested": round(source.share * spec.target_tokens),
        "tokens_budget": budget,
        "tokens_realised": tokens,
        "documents_realised": sum(v["documents"] for v in by_split.values()),
        "unique_documents": len(tally.unique[source.name]),
        "share_realised": round(tokens / realised_total, 6) if realised_total else 0.0,
        "epochs_realised": round(tokens / stat.tokens, 4) if stat.tokens else 0.0,
        "by_split": by_split,
    }


def build_mix(
    spec_or_path: MixSpec | str | Path,
    out: str | Path,
    *,
    cache_dir: str | Path | None = None,
    quiet: bool = False,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Build the mix a spec describes into `out`; return the manifest.

    An earlier mix in `out` is refused unless `overwrite`, which replaces it.
    Token counts are cached in `cache_dir` (default: `out/.cache`), which a
    rebuild into the same directory reuses.
    """
    spec = spec_or_path if isinstance(spec_or_path, MixSpec) else load_spec(spec_or_path)
    out = Path(out)
    _prepare(out, overwrite)
    contamination = _contamination(spec)  # a bad report fails before any work is done
    tokenizer = spec.resolve(spec.tokenizer) if spec.tokenizer else None
    cache = Path(cache_dir) if cache_dir is not None else out / ".cache"
    with (
        TokenCounter(
            tokenizer, name=spec.tokenizer, cache=cache / "token-counts.sqlite"
        ) as counter,
        tempfile.TemporaryDirectory(prefix=".staging-", dir=out) as tmp,
    ):
        staging = Staging(Path(tmp) / "rows.sqlite")
        try:
            candidates, stats = select_sources(spec, counter, staging, quiet=quiet)
            budgets, notes = allocate(spec, [s.tokens for s in stats])
            chosen = [
                occ
                for i, source in enumerate(spec.sources)
                for occ in sample_source(candidates[i], budgets[i], spec.seed, source.name)
            ]
            if not chosen:
                raise InputError(f"{spec.file}: nothing to mix: every source is empty")
            splits = order(chosen, spec.validation_fraction, spec.seed)
            (out / MANIFEST).unlink(missing_ok=True)  # until the new one is written: unfinished
            entries, tally = _write_shards(spec, out, splits, staging, quiet)
        finally:
            staging.close()
    _remove_stale(out, entries)
    realised = sum(occ.tokens for occ in chosen)
    spec_dict = spec.to_dict()
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "tool": {"name": "ccorpus", "version": __version__},
        "spec": spec_dict,
        "spec_sha256": spec_hash(spec_dict),
        "tokenizer": counter.info.to_dict(),
        "tokens": {"requested": spec.target_tokens, "realised": realised},
        "splits": {
            s: {"documents": len(splits[s]), "tokens": sum(o.tokens for o in splits[s])}
            for s in SPLITS
        },
        "sources": {
            s.name: _source_entry(spec, i, stats[i], budgets[i], tally, realised)
            for i, s in enumerate(spec.sources)
        },
        "kinds": {k: tally.by(kind=k) for k in sorted({k for _, k, _ in tally.cells if k})},
        "versions": {k: dict(sorted(v.items())) for k, v in sorted(tally.versions.items())},
        "notes": notes,
        "contamination": contamination,
        "layout": layout_of(spec.formats, entries),
        "shards": entries,
    }
    with atomic_write(out / "README.md") as handle:
        handle.write(render_card(manifest).encode())
    with atomic_write(out / MANIFEST) as handle:
        handle.write((json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
    return manifest
