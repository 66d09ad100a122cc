"""Shard files of a mix: one flat row schema, written as JSONL.zst and/or Parquet.

Training loaders want a `text` column and flat metadata, not the nested
`Document`, so both formats hold the same flat rows in the same order and the
same shard boundaries (`jsonl/train/part-00000.jsonl.zst` pairs with
`parquet/train/part-00000.parquet`). Each format has its own folder, one
subfolder per split (`FORMAT/SPLIT/`, the layout of the Hugging Face Hub's
Parquet exports), so a loader pointed at a folder finds one format only.
Every shard is written through `atomic_write`, and its bytes depend only on
its rows: no timestamps, fixed compression settings.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import zstandard

from toolkit.document import Document
from toolkit.errors import InputError
from toolkit.io import atomic_write

__all__ = [
    "ARROW_SCHEMA",
    "COLUMNS",
    "FOLDER",
    "SUFFIX",
    "default_format",
    "read_shard",
    "shard_folder",
    "shard_name",
    "to_row",
    "write_shard",
]

PROVENANCE_COLUMNS = ("backend", "model", "template", "template_version", "constitution_version")
COLUMNS = ("text", "id", "source", "kind", "principle_ids", *PROVENANCE_COLUMNS)
SUFFIX = {"jsonl.zst": ".jsonl.zst", "parquet": ".parquet"}
FOLDER = {"jsonl.zst": "jsonl", "parquet": "parquet"}

ARROW_SCHEMA = pa.schema(
    [
        ("text", pa.string()),
        ("id", pa.string()),
        ("source", pa.string()),
        ("kind", pa.string()),
        ("principle_ids", pa.list_(pa.string())),
        *((name, pa.string()) for name in PROVENANCE_COLUMNS),
    ]
)
_ROW_GROUP = 10_000


def to_row(doc: Document, source: str) -> dict[str, Any]:
    """The flat record a shard holds for `doc` taken from `source`."""
    prov = doc.provenance
    return {
        "text": doc.text,
        "id": doc.id,
        "source": source,
        "kind": doc.kind,
        "principle_ids": list(doc.principle_ids),
        **{name: getattr(prov, name) for name in PROVENANCE_COLUMNS},
    }


def default_format(formats: list[str] | tuple[str, ...]) -> str:
    """The format a folder-level loader should read: Parquet (typed columns) when written."""
    return "parquet" if "parquet" in formats else formats[0]


def shard_folder(fmt: str, split: str) -> str:
    """Folder of one format's shards of one split, relative to the mix directory."""
    return f"{FOLDER[fmt]}/{split}"


def shard_name(split: str, index: int, fmt: str) -> str:
    """Path of a shard relative to the mix directory."""
    return f"{shard_folder(fmt, split)}/part-{index:05d}{SUFFIX[fmt]}"


def write_shard(path: Path, fmt: str, rows: list[dict[str, Any]]) -> None:
    """Write `rows` to `path` atomically in format `fmt`."""
    if fmt == "jsonl.zst":
        lines = (json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)
        with atomic_write(path, compress=True) as out:
            for line in lines:
                out.write(line.encode())
    elif fmt == "parquet":
        table = pa.Table.from_pylist(rows, schema=ARROW_SCHEMA)
        with atomic_write(path, compress=False) as out:
            pq.write_table(table, out, compression="zstd", row_group_size=_ROW_GROUP)
    else:
        raise InputError(f"{path}: unknown shard format {fmt!r}")


def _jsonl_rows(data: bytes) -> list[dict[str, Any]]:
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
    rows = []
    for lineno, line in enumerate(reader.read().splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row, dict):
            raise ValueError(f"line {lineno}: expected a JSON object")
        rows.append(row)
    return rows


def read_shard(path: Path, fmt: str, data: bytes) -> list[dict[str, Any]]:
    """Rows of a shard whose bytes are `data`; an unreadable shard is an InputError."""
    try:
        if fmt == "jsonl.zst":
            return _jsonl_rows(data)
        # no Arrow thread pool: beside the tokenizer's threads it can abort the
        # process at exit ("terminate called without an active exception")
        table = pq.read_table(pa.BufferReader(data), use_threads=False)
        rows: list[dict[str, Any]] = table.to_pylist()
        return rows
    except (ValueError, zstandard.ZstdError, pa.ArrowException) as err:
        raise InputError(f"{path}: cannot be read as {fmt} ({err})") from None
