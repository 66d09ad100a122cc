"""Read and write corpora: one JSONL(.zst) file or a directory of shards.

Reads stream line by line (memory stays flat however large the corpus, and
a line over the size limit is refused without being held); a malformed line
stops the read with `file:line: what is wrong`, or is
counted in a `SkipReport` when the caller chose to skip bad lines. Writes go
through `atomic_write`, one shard at a time, so a killed writer never leaves a
truncated shard behind.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

import zstandard

from toolkit.document import Document
from toolkit.errors import ConfigError, InputError, RecordError
from toolkit.io.atomic import atomic_write
from toolkit.io.marker import check_output
from toolkit.io.outputs import refuse_existing

__all__ = [
    "DEFAULT_MAX_DOC_BYTES",
    "MAX_DOC_BYTES_ENV",
    "CorpusWriter",
    "SkipReport",
    "corpus_files",
    "max_doc_bytes",
    "read_documents",
    "require_documents",
    "write_documents",
]

SUFFIXES = (".jsonl", ".jsonl.zst")
DEFAULT_SHARD_SIZE = 50_000


def _is_corpus_file(path: Path) -> bool:
    return path.name.endswith(SUFFIXES) and not path.name.startswith(".")


def corpus_files(path: str | Path) -> list[Path]:
    """The files a corpus path names: itself, or the shards below a directory.

    Shards are found recursively, in sorted order of their relative path;
    hidden files and directories (temp files among them) are ignored.
    """
    root = Path(path)
    if root.is_file():
        if not root.name.endswith(SUFFIXES):
            raise InputError(f"{root}: expected a .jsonl or .jsonl.zst file or a directory")
        return [root]
    if root.is_dir():
        files = [
            p
            for p in root.rglob("*")
            if p.is_file()
            and _is_corpus_file(p)
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
        ]
        return sorted(files, key=lambda p: p.relative_to(root).as_posix())
    raise InputError(f"{root}: no such file or directory")


@dataclass
class SkipReport:
    """Malformed lines passed over by a read with `skip_bad=True`."""

    count: int = 0
    examples: list[str] = field(default_factory=list)
    max_examples: int = 20

    def add(self, error: RecordError) -> None:
        self.count += 1
        if len(self.examples) < self.max_examples:
            self.examples.append(str(error))

    def to_dict(self) -> dict[str, Any]:
        return {"skipped": self.count, "where": list(self.examples)}


_CHUNK = 1 << 14  # compressed bytes per step: bounds the text held at once
_READ = 1 << 16  # bytes per read of an uncompressed file

#: The environment variable that raises (or lowers) the size limit of one document.
MAX_DOC_BYTES_ENV = "CCORPUS_MAX_DOC_BYTES"
#: 8 MiB per line: a long generated document is tens of KiB and a whole novel
#: about 3 MiB, while JSON escaping can double the bytes of a text; a 50 MB line
#: took dedup to 2.6 GB of memory.
DEFAULT_MAX_DOC_BYTES = 8 * 1024 * 1024

_UNITS = {"": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}
_SIZE = re.compile(r"(\d+)\s*([kmg]ib)?", re.IGNORECASE)


def max_doc_bytes() -> int:
    """The most bytes one corpus line may hold: `CCORPUS_MAX_DOC_BYTES` or 8 MiB.

    Read at each `read_documents` call, the one place every stage reads
    through, so one setting covers every command.
    """
    raw = os.environ.get(MAX_DOC_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_DOC_BYTES
    match = _SIZE.fullmatch(raw)
    value = int(match[1]) * _UNITS[(match[2] or "").lower()] if match else 0
    if value < 1:
        raise ConfigError(
            f"{MAX_DOC_BYTES_ENV}: expected a positive number of bytes (such as 16777216 "
            f"or 16MiB), got {raw!r}"
        )
    return value


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


@dataclass(frozen=True, slots=True)
class _Oversize:
    """A line longer than the limit, passed over without being held: only its size."""

    size: int


class _LineSplitter:
    """Bytes in, lines out; a line over `limit` bytes is counted, never held whole."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        self._over = -1  # bytes of the oversize line being passed over; -1 when none

    def _add(self, piece: bytes) -> None:
        if self._over >= 0:
            self._over += len(piece)
            return
        self._parts.append(piece)
        self._size += len(piece)
        if self._size > self.limit:
            self._over, self._parts, self._size = self._size, [], 0

    def _take(self) -> bytes | _Oversize:
        if self._over >= 0:
            line: bytes | _Oversize = _Oversize(self._over)
        else:
            line = b"".join(self._parts)
        self._parts, self._size, self._over = [], 0, -1
        return line

    def feed(self, data: bytes) -> Iterator[bytes | _Oversize]:
        *complete, rest = data.split(b"\n")
        for piece in complete:
            self._add(piece)
            line = self._take()
            yield line if isinstance(line, _Oversize) else line + b"\n"
        self._add(rest)

    def finish(self) -> Iterator[bytes | _Oversize]:
        if self._over >= 0 or self._size:
            yield self._take()


def _zst_chunks(raw: IO[bytes]) -> Iterator[bytes]:
    """Decompressed bytes of a zstd file (one or more frames); a cut-off frame raises ZstdError.

    The stream reader of `zstandard` treats a truncated frame as a clean end,
    which would silently drop the tail of a damaged shard; a decompression
    object tells us whether the frame really ended.
    """
    dctx = zstandard.ZstdDecompressor()
    dobj = dctx.decompressobj()
    in_frame = False
    while chunk := raw.read(_CHUNK):
        while chunk:
            in_frame = True
            data = dobj.decompress(chunk)
            chunk = b""
            if dobj.eof:
                chunk, in_frame = dobj.unused_data, False
                dobj = dctx.decompressobj()
            yield data
    if in_frame:
        raise zstandard.ZstdError("the last frame is incomplete")


def _plain_chunks(raw: IO[bytes]) -> Iterator[bytes]:
    while chunk := raw.read(_READ):
        yield chunk


def _lines(handle: IO[bytes], path: Path, limit: int) -> Iterator[bytes | _Oversize]:
    chunks = _zst_chunks(handle) if path.name.endswith(".zst") else _plain_chunks(handle)
    splitter = _LineSplitter(limit)
    for data in chunks:
        yield from splitter.feed(data)
    yield from splitter.finish()


def _decode(path: Path, lineno: int, raw: bytes | _Oversize, limit: int) -> Document | None:
    if isinstance(raw, _Oversize):  # refused before decoding: no JSON parse of 50 MB
        raise RecordError(
            str(path),
            lineno,
            f"document of {raw.size} bytes ({_mib(raw.size)}) is over the limit of {limit} "
            f"bytes ({_mib(limit)}) per line; set {MAX_DOC_BYTES_ENV} to raise it",
        )
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RecordError(str(path), lineno, f"not valid UTF-8 ({err.reason})") from None
    if not line.strip():
        return None
    try:
        data = json.loads(line)
    except json.JSONDecodeError as err:
        problem = f"not valid JSON: {err.msg} (column {err.colno})"
        raise RecordError(str(path), lineno, problem) from None
    try:
        return Document.from_dict(data)
    except InputError as err:
        raise RecordError(str(path), lineno, err.message) from None


def _read_file(
    path: Path, skip_bad: bool, report: SkipReport | None, limit: int
) -> Iterator[Document]:
    lineno = 0
    with open(path, "rb") as handle:
        try:
            for lineno, raw in enumerate(_lines(handle, path, limit), start=1):
                try:
                    doc = _decode(path, lineno, raw, limit)
                except RecordError as err:
                    if not skip_bad:
                        raise
                    if report is not None:
                        report.add(err)
                    continue
                if doc is not None:
                    yield doc
        except zstandard.ZstdError as err:
            raise InputError(
                f"{path}: corrupt or truncated zstd data after line {lineno} ({err})"
            ) from None


def _read_files(
    files: list[Path], skip_bad: bool, report: SkipReport | None, limit: int
) -> Iterator[Document]:
    for file in files:
        yield from _read_file(file, skip_bad, report, limit)


def read_documents(
    path: str | Path,
    *,
    skip_bad: bool = False,
    report: SkipReport | None = None,
    max_bytes: int | None = None,
) -> Iterator[Document]:
    """Stream every document of a corpus file or shard directory, in order.

    What can be checked without reading is checked at the call, before any
    document is read: the path exists, and when it is a stage's output, that
    stage's run finished (`check_output`). A line over `max_bytes` (default
    `max_doc_bytes()`) is a `RecordError`, found before the line is decoded.
    """
    files = corpus_files(path)
    check_output(path)
    limit = max_doc_bytes() if max_bytes is None else max_bytes
    return _read_files(files, skip_bad, report, limit)


def require_documents(
    path: str | Path, *, allow_empty: bool = False, skip_bad: bool = False
) -> None:
    """Raise `InputError` when `path` holds no document, unless `allow_empty`.

    An empty input is more often a wrong path or an upstream stage that
    dropped everything than an intent, so stages refuse it before writing
    anything; reading stops at the first document.
    """
    if allow_empty:
        return
    if next(read_documents(path, skip_bad=skip_bad), None) is None:
        raise InputError(f"{path}: no documents; pass --allow-empty to write empty outputs")


def _encode(doc: Document) -> bytes:
    return (json.dumps(doc.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class CorpusWriter:
    """Write documents to one file or to numbered shards in a directory.

    `dest` ending in `.jsonl` or `.jsonl.zst` is one file; anything else is a
    directory of `part-NNNNN.jsonl[.zst]` shards holding `shard_size`
    documents each. Each shard becomes visible only once complete. A
    directory that already holds shards is refused unless `overwrite`, in
    which case shards of the old corpus left over are removed on `close`.
    """

    def __init__(
        self,
        dest: str | Path,
        *,
        shard_size: int = DEFAULT_SHARD_SIZE,
        compress: bool = True,
        overwrite: bool = False,
    ) -> None:
        if shard_size < 1:
            raise InputError(f"shard size: expected a positive number, got {shard_size}")
        self.dest = Path(dest)
        self.single = self.dest.name.endswith(SUFFIXES)
        self.shard_size = shard_size
        self.suffix = ".jsonl.zst" if compress else ".jsonl"
        self.written = 0
        self.paths: list[Path] = []
        self._stale: list[Path] = []
        self._cm: Any = None
        self._handle: BinaryIO | None = None
        self._in_shard = 0
        if self.single:
            refuse_existing([self.dest], overwrite=overwrite)
        elif self.dest.exists():
            if not self.dest.is_dir():
                raise InputError(f"{self.dest}: expected a directory for shards")
            self._stale = corpus_files(self.dest)
            if self._stale and not overwrite:
                raise InputError(
                    f"{self.dest}: already holds {len(self._stale)} corpus file(s); "
                    "choose an empty directory or pass --overwrite to replace them"
                )

    def _next_path(self) -> Path:
        if self.single:
            return self.dest
        return self.dest / f"part-{len(self.paths):05d}{self.suffix}"

    def _open(self) -> None:
        path = self._next_path()
        self._cm = atomic_write(path)
        self._handle = self._cm.__enter__()
        self.paths.append(path)
        self._in_shard = 0

    def _commit(self) -> None:
        if self._cm is not None:
            self._cm.__exit__(None, None, None)
        self._cm = None
        self._handle = None

    def write(self, doc: Document) -> None:
        if self._handle is None:
            self._open()
        elif not self.single and self._in_shard >= self.shard_size:
            self._commit()
            self._open()
        assert self._handle is not None
        self._handle.write(_encode(doc))
        self._in_shard += 1
        self.written += 1

    def close(self) -> list[Path]:
        """Commit the last shard, remove stale ones; return the files written."""
        if self._handle is None and not self.paths:
            self._open()  # an empty corpus is still a corpus: one empty file
        self._commit()
        for old in self._stale:
            if old not in self.paths:
                old.unlink(missing_ok=True)
        return list(self.paths)

    def abort(self, exc: BaseException) -> None:
        """Drop the shard being written; committed shards stay."""
        if self._cm is not None:
            self._cm.__exit__(type(exc), exc, exc.__traceback__)
            self.paths.pop()
        self._cm = None
        self._handle = None

    def __enter__(self) -> CorpusWriter:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            self.close()
        else:
            self.abort(exc)


def write_documents(
    docs: Iterable[Document],
    dest: str | Path,
    *,
    shard_size: int = DEFAULT_SHARD_SIZE,
    compress: bool = True,
    overwrite: bool = False,
) -> list[Path]:
    """Write `docs` to `dest` (see `CorpusWriter`); return the files written."""
    with CorpusWriter(
        dest, shard_size=shard_size, compress=compress, overwrite=overwrite
    ) as writer:
        for doc in docs:
            writer.write(doc)
    return writer.paths
