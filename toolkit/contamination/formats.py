"""Readers for the file formats eval sets come in; each yields plain rows.

A row is a dict of field → value, or, for text folders, a file's whole text
under `text`. Errors name the file and say what was expected; the caller
turns rows into eval items.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from toolkit.errors import InputError

__all__ = ["FORMATS", "TEXT_SUFFIXES", "read_rows"]

Row = dict[str, Any]
TEXT_SUFFIXES = (".txt", ".md")
FORMATS = (
    ".jsonl, .json, .csv, .tsv, .parquet, .txt, .md, a folder of .txt/.md files, "
    "or a saved Hugging Face dataset"
)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not valid UTF-8 ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None


def _object(path: Path, where: str, value: Any) -> Row:
    if not isinstance(value, dict):
        raise InputError(f"{path}: {where}: expected a JSON object, got {type(value).__name__}")
    return value


def _jsonl(path: Path) -> Iterator[Row]:
    for lineno, line in enumerate(_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{path}:{lineno}: not valid JSON: {err.msg}") from None
        yield _object(path, f"line {lineno}", value)


def _json(path: Path) -> Iterator[Row]:
    try:
        value = json.loads(_text(path))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}:{err.lineno}: not valid JSON: {err.msg}") from None
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        value = value["data"]
    if not isinstance(value, list):
        raise InputError(f'{path}: expected a list of objects or {{"data": [...]}}')
    for index, row in enumerate(value):
        yield _object(path, f"item {index}", row)


def _csv(path: Path) -> Iterator[Row]:
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    lines = _text(path).splitlines()
    try:
        yield from csv.DictReader(lines, delimiter=delimiter, strict=True)
    except csv.Error as err:
        raise InputError(f"{path}: not valid {path.suffix[1:].upper()}: {err}") from None


def _arrow() -> tuple[Any, Any]:
    """pyarrow and pyarrow.parquet, imported only when an eval needs them."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    return pa, pq


def _parquet(path: Path) -> Iterator[Row]:
    pa, pq = _arrow()
    try:
        reader = pq.ParquetFile(path)
        for batch in reader.iter_batches():
            yield from batch.to_pylist()
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{path}: not a readable Parquet file ({err})") from None


def _arrow_file(path: Path) -> Iterator[Row]:
    """One `*.arrow` file of `Dataset.save_to_disk`: the Arrow IPC stream format
    (the random-access file format is accepted too)."""
    pa, _ = _arrow()

    try:
        with pa.memory_map(str(path)) as source:
            try:
                batches = list(pa.ipc.open_stream(source))
            except pa.ArrowInvalid:
                source.seek(0)
                reader = pa.ipc.open_file(source)
                batches = [reader.get_batch(i) for i in range(reader.num_record_batches)]
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{path}: not a readable Arrow file ({err})") from None
    for batch in batches:
        yield from batch.to_pylist()


def _arrow_files(folder: Path) -> list[Path]:
    """The shards of a saved dataset in order: as `state.json` lists them, else sorted."""
    state = folder / "state.json"
    if state.is_file():
        try:
            files = json.loads(_text(state)).get("_data_files", [])
            names = [entry["filename"] for entry in files]
        except (json.JSONDecodeError, AttributeError, KeyError, TypeError):
            raise InputError(f"{state}: not a dataset state file (no _data_files)") from None
        return [folder / name for name in names]
    return sorted(folder.glob("*.arrow"))


def _folder(folder: Path) -> Iterator[Row]:
    if (folder / "dataset_dict.json").is_file():
        splits = sorted(p.name for p in folder.iterdir() if p.is_dir())
        raise InputError(
            f"{folder}: a dataset with splits {', '.join(splits) or '(none)'}; "
            f"point --eval at one split, e.g. {folder / (splits[0] if splits else 'test')}"
        )
    arrows = _arrow_files(folder)
    if arrows:
        for path in arrows:
            yield from _arrow_file(path)
        return
    texts = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in TEXT_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not texts:
        raise InputError(f"{folder}: no .arrow, .txt or .md files in this folder")
    for path in texts:
        yield {"text": _text(path), "file": path.relative_to(folder).as_posix()}


def read_rows(path: Path) -> Iterator[Row]:
    """Rows of an eval file or folder, in file order."""
    if path.is_dir():
        yield from _folder(path)
        return
    if not path.is_file():
        raise InputError(f"{path}: no such file or directory")
    suffix = path.suffix.lower()
    readers = {".jsonl": _jsonl, ".json": _json, ".csv": _csv, ".tsv": _csv, ".tab": _csv}
    readers |= {".parquet": _parquet, ".arrow": _arrow_file}
    if suffix in readers:
        yield from readers[suffix](path)
    elif suffix in TEXT_SUFFIXES:
        yield {"text": _text(path), "file": path.name}
    else:
        raise InputError(f"{path}: unknown eval format {suffix or '(no suffix)'}; use {FORMATS}")
