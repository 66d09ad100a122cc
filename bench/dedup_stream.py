"""Streamed dedup against the in-memory path, on 100,000 generated documents.

Each path runs in a fresh subprocess, so its peak resident memory
(sampled, and the kernel's high-water mark once the run sets it) is its
own: the in-memory one reads the whole corpus, runs `find_duplicates` and
writes kept/rejected and the report (what
`deduplicate` did before it streamed); the streamed one is `deduplicate`
with `memory_mb` set to the bound. Twice: exact and near stages, then all
three (the semantic one through a hashed stand-in embedder of MiniLM's size,
`bench.dedup_data`). Printed: time, peak memory and memory over the
process's start (dedup's own), the bound, the corpus size, whether both
paths wrote the same kept and rejected documents and report rows, and the
measured figures that the README's "Scaling" section extrapolates to 10M
documents.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.dedup_data import hashed_embedder, write_corpus
from toolkit.dedup import DedupConfig, deduplicate, find_duplicates
from toolkit.dedup.memory import PeakMemory
from toolkit.dedup.report import write_report
from toolkit.embeddings import EmbeddingCache
from toolkit.io import corpus_files, read_documents
from toolkit.stages import SplitWriter

BOUND_MB = 128
STAGE_SETS = (("exact", "near"), ("exact", "near", "semantic"))
_VOLATILE = {"seconds", "embedded"}


def _child(mode: str, corpus: str, out: str, stages: list[str], memory_mb: int) -> None:
    """One path in this (fresh) process; prints its figures as one JSON line."""
    config = DedupConfig(stages=tuple(stages), memory_mb=memory_mb, quiet=True)
    cache = EmbeddingCache(Path(out + "-cache"), "bench-hashed-384", embedder=hashed_embedder)
    start = time.perf_counter()
    with PeakMemory() as meter:  # not ru_maxrss alone: a child starts with its parent's
        if mode == "stream":
            report = deduplicate(corpus, out, config, cache=cache)
        else:
            docs = list(read_documents(corpus))
            outcome = find_duplicates(docs, config, cache=cache)
            with SplitWriter(out, "dedup") as writer:
                for decision in outcome.decisions:
                    writer.write(decision)
            write_report(outcome.report, Path(out) / "dedup_report.json")
            report = outcome.report
    seconds = time.perf_counter() - start
    cache.close()
    figures = {"seconds": seconds, "peak_mb": meter.peak_mb, "start_mb": meter.start_mb}
    figures |= {k: report[k] for k in ("stages", "memory", "work") if k in report}
    print(json.dumps(figures))


def _run(mode: str, corpus: Path, out: Path, stages: tuple[str, ...]) -> dict[str, Any]:
    args = [mode, str(corpus), str(out), list(stages), BOUND_MB]
    done = subprocess.run(
        [sys.executable, "-m", "bench.dedup_stream", json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def same_outputs(a: Path, b: Path) -> dict[str, bool]:
    """Whether two runs wrote the same documents and the same report rows."""
    ra, rb = (json.loads((p / "dedup_report.json").read_text()) for p in (a, b))
    return {
        side: list(read_documents(a / side)) == list(read_documents(b / side))
        for side in ("kept", "rejected")
    } | {
        "report rows": all(ra[k] == rb[k] for k in ("dropped", "clusters", "cluster_sizes")),
        "stage figures": all(
            {k: v for k, v in ra["stages"][s].items() if k not in _VOLATILE}
            == {k: v for k, v in rb["stages"][s].items() if k not in _VOLATILE}
            for s in ra["stages"]
        ),
    }


def _corpus_mb(corpus: Path) -> tuple[float, float]:
    """Corpus size on disk (zstd) and as JSON lines, in MiB."""
    files = corpus_files(corpus)
    packed = sum(f.stat().st_size for f in files)
    lines = (json.dumps(d.to_dict(), ensure_ascii=False) for d in read_documents(corpus))
    plain = sum(len(line.encode()) + 1 for line in lines)
    return packed / 2**20, plain / 2**20


def main(n: int = 100_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        corpus = write_corpus(root, n)
        packed, plain = _corpus_mb(corpus)
        print(
            f"dedup (streamed vs in memory): {n:,} generated documents in "
            f"shards of 10,000, {plain:,.0f} MiB of JSON lines "
            f"({packed:,.0f} MiB zstd; generated in {time.perf_counter() - start:.0f} s); "
            f"streamed with memory_mb = {BOUND_MB}"
        )
        for stages in STAGE_SETS:
            name = "+".join(stages)
            memory = _run("memory", corpus, root / f"memory-{name}", stages)
            stream = _run("stream", corpus, root / f"stream-{name}", stages)
            same = same_outputs(root / f"memory-{name}", root / f"stream-{name}")
            _print(name, memory, stream, same, n, plain)


def _print(
    name: str,
    memory: dict[str, Any],
    stream: dict[str, Any],
    same: dict[str, bool],
    n: int,
    corpus_mb: float,
) -> None:
    print(f"  stages {name}")
    print(f"    {'path':<10}{'seconds':>9}{'peak MiB':>10}{'own MiB':>9}  per stage (seconds)")
    for label, f in (("in memory", memory), ("streamed", stream)):
        own = f["peak_mb"] - f["start_mb"]
        per = ", ".join(f"{s} {v['seconds']:.1f}" for s, v in f["stages"].items())
        print(f"    {label:<10}{f['seconds']:9.1f}{f['peak_mb']:10.0f}{own:9.0f}  {per}")
    own = stream["peak_mb"] - stream["start_mb"]
    mem_own = memory["peak_mb"] - memory["start_mb"]
    print(
        f"    streamed / in memory: time {stream['seconds'] / memory['seconds']:.2f}x, "
        f"own memory {own / mem_own:.3f}x; streamed own memory {own:.0f} MiB "
        f"{'<=' if own <= BOUND_MB else '>'} bound {BOUND_MB} MiB, "
        f"{corpus_mb / own:.0f}x below the corpus ({corpus_mb:,.0f} MiB)"
    )
    reported = stream["memory"]
    print(
        f"    the report's memory: peak {reported['peak_mb']} MiB, dedup's own "
        f"{reported['working_mb']} MiB, within bound: {reported['within_bound']}"
    )
    checks = ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in same.items())
    print(f"    identical outputs: {checks}")
    work = stream["work"]["disk_mb"]
    semantic = stream["stages"].get("semantic")
    index = f", semantic index {semantic['index']}" if semantic else ""
    print(
        f"    work folder {work:,.0f} MiB ({work * 2**20 / n:,.0f} bytes a document, "
        f"{work / corpus_mb:.2f}x the corpus){index}"
    )


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1].startswith("["):
        _child(*json.loads(sys.argv[1]))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
