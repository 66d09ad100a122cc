"""Corpus reads: ccorpus's streaming, validating reader against the usual code.

The peer is what people write by hand: decompress the whole shard, split it
into lines and `json.loads` each into a list. ccorpus validates every record
into a `Document` and streams, so it should cost little more time while its
peak memory stays flat as the corpus grows.
"""

from __future__ import annotations

import json
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zstandard

from toolkit.document import Document, Provenance
from toolkit.io import read_documents, write_documents

WORDS = "the agent paused and asked before acting because the change could not be undone " * 40


def _corpus(directory: Path, n: int) -> Path:
    prov = Provenance(backend="offline", template="story", template_version="v1")
    docs = (
        Document.create("story", f"{i} {WORDS}", principle_ids=["oversight"], provenance=prov)
        for i in range(n)
    )
    write_documents(docs, directory / "corpus", shard_size=10_000)
    return directory / "corpus"


def _peer(path: Path) -> int:
    rows: list[Any] = []
    for shard in sorted(path.glob("*.jsonl.zst")):
        data = zstandard.ZstdDecompressor().decompressobj().decompress(shard.read_bytes())
        rows.extend(json.loads(line) for line in data.splitlines() if line)
    return len(rows)


def _ours(path: Path) -> int:
    return sum(1 for _ in read_documents(path))


def _measure(fn: Callable[[Path], int], path: Path) -> tuple[float, float, int]:
    tracemalloc.start()
    start = time.perf_counter()
    count = fn(path)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20, count


def main(n: int = 50_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _corpus(Path(tmp), n)
        size = sum(p.stat().st_size for p in path.iterdir()) / 2**20
        peer_s, peer_mb, peer_n = _measure(_peer, path)
        ours_s, ours_mb, ours_n = _measure(_ours, path)
    assert peer_n == ours_n == n
    print(f"corpus_io: {n} documents of ~500 words, {size:.1f} MiB compressed")
    print(f"  peer (load all, json.loads): {n / peer_s:9.0f} docs/s  peak {peer_mb:8.1f} MiB")
    print(f"  ccorpus read_documents:      {n / ours_s:9.0f} docs/s  peak {ours_mb:8.1f} MiB")
    print(
        f"  speed ratio ccorpus/peer: {peer_s / ours_s:.2f}x   "
        f"memory ratio ccorpus/peer: {ours_mb / peer_mb:.3f}x"
    )


if __name__ == "__main__":
    main()
