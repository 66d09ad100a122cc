"""Dedup and the contamination check with the local executor and with Ray, on 100,000
generated documents: time, peak memory per process, and whether the outputs agree.

`python -m bench ray_scale [--docs N] [--json]`. The corpus is generated
once (`bench.dedup_data`: Zipfian documents of about 2.7 KiB, a fifth of
them planted duplicates), then each task runs with each executor in a fresh
subprocess, watched from outside by `bench.tree_memory`: the driver's peak,
and each Ray worker's and Ray's own servers' high-water marks.

- dedup: exact, near and semantic stages (the semantic one through the
  hashed stand-in embedder of MiniLM's size, so the figures are dedup's),
  streamed with `memory_mb` = 128; Ray runs the first pass, a shard a task,
  the exact and near grouping, a disk partition a task, and the embedding
  pass's batches on actors.
- contamination check: the first pass through the executor (512 documents
  a task on Ray's actors, the eval indexes and the units' static vectors put
  in the object store once): each batch's n-gram scan and its static
  retrieval by the real static model (loaded once per actor, each batch's
  top-k folded in the driver); then the semantic stage's windows, embedded
  by the same hashed stand-in for MiniLM, on Ray's actors under the Ray
  executor, so the offline verifier, fitted on MiniLM's cosines, is not
  applied and the cosine thresholds decide. 400 eval items: the bundled
  bench sets and 300 passages cut from the corpus, so there are hits to
  compare.

Identical output means the same kept and rejected documents, report rows
and stage figures (dedup), the same hits, nearest cosines and closest
documents (contamination). On a machine of few cores Ray gains little or
loses (the cluster's start, tasks handed through the object store, the
driver and the workers sharing the cores; the check's first pass, n-grams
and static retrieval together, divides by the workers): the point is the
same output and each process's memory bounded, whatever the corpus size.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.contamination_data import SPECS
from bench.dedup_data import hashed_embedder, write_corpus
from bench.dedup_stream import same_outputs
from bench.tree_memory import TreeMemory
from toolkit.contamination import CheckOptions, check_contamination, load_evals
from toolkit.dedup import DedupConfig, deduplicate
from toolkit.dedup.memory import PeakMemory
from toolkit.embeddings import EmbeddingCache
from toolkit.executor import Executor, open_executor
from toolkit.io import read_documents

BOUND_MB = 128
TASKS = ("dedup", "contamination")
EXECUTORS = ("local", "ray")
CORPUS_ITEMS = 300  # eval items cut from the corpus, on top of the bundled sets
_ITEM_WORDS = 30
_LINGER_S = 0.5  # a finished run's workers stay this long, for the sampler's last look


def _ready(_: Any, x: int) -> int:
    """Load what the tasks import, on every worker, before the measured run."""
    import toolkit.contamination.check
    import toolkit.dedup.scan  # noqa: F401

    time.sleep(0.3)  # long enough that each worker gets some
    return x


def _dedup(corpus: str, out: Path, memory_mb: int, executor: Executor) -> dict[str, Any]:
    config = DedupConfig(stages=("exact", "near", "semantic"), memory_mb=memory_mb, quiet=True)
    folder = out.with_name(out.name + "-cache")
    cache = EmbeddingCache(folder, "bench-hashed-384", embedder=hashed_embedder)
    try:
        report = deduplicate(corpus, out, config, cache=cache, executor=executor)
    finally:
        cache.close()
    return {
        "stages": {s: round(v["seconds"], 1) for s, v in report["stages"].items()},
        "memory": report["memory"],
        "dropped": sum(int(v.get("dropped", 0)) for v in report["stages"].values()),
    }


def _contamination(corpus: str, out: Path, evals: str, executor: Executor) -> dict[str, Any]:
    items = load_evals([*SPECS, f"generated={evals}:question"])
    folder = out.with_name(out.name + "-cache")
    with EmbeddingCache(folder, "bench-hashed-384", embedder=hashed_embedder) as cache:
        result = check_contamination(
            corpus, items, options=CheckOptions(quiet=True), cache=cache, executor=executor
        )
    out.mkdir(parents=True)
    lines = (json.dumps(dataclasses.asdict(h), sort_keys=True) for h in result.hits)
    (out / "hits.jsonl").write_text("".join(line + "\n" for line in lines))
    semantic = {"nearest": result.nearest, "closest": result.closest}
    (out / "semantic.json").write_text(json.dumps(semantic, sort_keys=True))
    stages = sorted({h.stage for h in result.hits})
    return {
        "items": len(items),
        "hits": len(result.hits),
        "hit_stages": {s: sum(h.stage == s for h in result.hits) for s in stages},
        "semantic": result.semantic,
    }


def _child(task: str, name: str, corpus: str, out: str, evals: str, memory_mb: int) -> None:
    """One task with one executor in this (fresh) process; its figures as one JSON line."""
    executor = open_executor(name)
    start = time.perf_counter()
    if not executor.in_process:  # the cluster's start, timed apart from the task
        list(executor.map_shards(_ready, None, range(2 * (os.cpu_count() or 1))))
    started = time.perf_counter() - start
    print("ready", flush=True)  # the parent marks each process's memory now
    start = time.perf_counter()
    with PeakMemory() as meter:
        if task == "dedup":
            figures = _dedup(corpus, Path(out), memory_mb, executor)
        else:
            figures = _contamination(corpus, Path(out), evals, executor)
    figures |= {
        "seconds": round(time.perf_counter() - start, 1),
        "start_s": round(started, 1),
        "driver_peak_mb": round(meter.peak_mb, 1),
        "driver_own_mb": round(meter.peak_mb - meter.start_mb, 1),
    }
    print(json.dumps(figures), flush=True)
    time.sleep(_LINGER_S)
    executor.close()


def _run(task: str, name: str, root: Path, evals: Path) -> dict[str, Any]:
    args = [task, name, str(root / "corpus"), str(root / f"{task}-{name}"), str(evals), BOUND_MB]
    command = [sys.executable, "-m", "bench.ray_scale", json.dumps(args)]
    errors = root / f"{task}-{name}.stderr"
    with (
        errors.open("w") as stderr,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True) as child,
        TreeMemory(child.pid) as tree,
    ):
        assert child.stdout is not None
        for line in child.stdout:
            if line.strip() == "ready":
                tree.mark()
                break
        stdout = child.stdout.read()
    if child.returncode != 0:
        raise RuntimeError(f"{task} with {name} failed:\n{errors.read_text()[-3000:]}")
    figures: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return figures | {"processes": tree.figures()}


def same_hits(a: Path, b: Path) -> dict[str, bool]:
    """Whether two contamination runs found the same hits and the same nearest documents."""
    return {
        name: (a / file).read_bytes() == (b / file).read_bytes()
        for name, file in (("hits", "hits.jsonl"), ("semantic figures", "semantic.json"))
    }


def write_evals(corpus: Path, path: Path, count: int = CORPUS_ITEMS) -> int:
    """`count` eval items, each 30 words from the middle of an evenly chosen document."""
    docs = list(read_documents(corpus))
    step = max(1, len(docs) // count)
    rows = []
    for doc in docs[::step][:count]:
        words = doc.text.split()
        middle = max(0, len(words) // 2 - _ITEM_WORDS // 2)
        rows.append(json.dumps({"question": " ".join(words[middle : middle + _ITEM_WORDS])}))
    path.write_text("".join(row + "\n" for row in rows))
    return len(rows)


def measure(n: int) -> dict[str, Any]:
    """Every task with every executor on `n` generated documents; the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        corpus = write_corpus(root, n)
        size = sum(f.stat().st_size for f in corpus.rglob("*") if f.is_file())
        generated = time.perf_counter() - start
        write_evals(corpus, root / "evals.jsonl")
        runs = {(t, e): _run(t, e, root, root / "evals.jsonl") for t in TASKS for e in EXECUTORS}
        same = {
            "dedup": same_outputs(root / "dedup-local", root / "dedup-ray"),
            "contamination": same_hits(root / "contamination-local", root / "contamination-ray"),
        }
    return {
        "documents": n,
        "corpus_zstd_mb": round(size / 2**20, 1),
        "generated_s": round(generated, 1),
        "cpus": os.cpu_count(),
        "memory_mb": BOUND_MB,
        "runs": [{"task": t, "executor": e} | f | _bound(f) for (t, e), f in runs.items()],
        "identical": same,
    }


def _bound(figures: dict[str, Any]) -> dict[str, bool]:
    """Dedup's verdict: its own memory within the bound in the driver and in every worker."""
    if "memory" not in figures:
        return {}
    worker = figures["processes"]["worker"]["max_over_first_mb"]
    return {"within_bound": bool(figures["memory"]["within_bound"]) and worker <= BOUND_MB}


def _mb(value: float) -> str:
    return f"{value:,.0f}" if value else "-"


def report(figures: dict[str, Any]) -> None:
    """The figures as a table and a few lines."""
    print(
        f"ray_scale: {figures['documents']:,} generated documents "
        f"({figures['corpus_zstd_mb']:,.0f} MiB zstd), memory_mb {figures['memory_mb']}, "
        f"{figures['cpus']} CPUs (Ray: a local cluster, one worker a CPU)"
    )
    head = ("task", "executor", "seconds", "start s", "driver", "own", "workers", "max", "sum",
            "ray srv", "identical")  # fmt: skip
    print("  " + "".join(f"{h:<15}" if i < 2 else f"{h:>10}" for i, h in enumerate(head)))
    for run in figures["runs"]:
        proc = run["processes"]
        worker, ray = proc["worker"], proc["ray"]
        same = figures["identical"][run["task"]]
        agree = "yes" if all(same.values()) else "NO"
        cells = [
            f"{run['seconds']:10.1f}",
            f"{run['start_s']:10.1f}" if run["executor"] == "ray" else f"{'-':>10}",
            f"{run['driver_peak_mb']:10,.0f}",
            f"{run['driver_own_mb']:10,.0f}",
            f"{worker['processes'] or '-':>10}",
            f"{_mb(worker['max_peak_mb']):>10}",
            f"{_mb(worker['sum_peak_mb']):>10}",
            f"{_mb(ray['sum_peak_mb']):>10}",
            f"{agree if run['executor'] == 'ray' else '':>10}",
        ]
        print(f"  {run['task']:<15}{run['executor']:<15}" + "".join(cells))
    print(
        "  (MiB: driver = its peak resident memory, own = over what it held before the task; "
        "max and sum = the Ray workers' high-water marks; ray srv = raylet, GCS and agents)"
    )
    for task, same in figures["identical"].items():
        checks = ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in same.items())
        print(f"  {task}, ray against local: {checks}")
    for run in figures["runs"]:
        if run["task"] == "dedup":
            worker = run["processes"]["worker"]
            print(
                f"  dedup with {run['executor']}: dedup's own memory {run['memory']['working_mb']} "
                f"MiB in the driver, each worker at most {worker['max_over_first_mb']:,.0f} MiB "
                f"over what it held before the task; bound {figures['memory_mb']} MiB: "
                f"{'within' if run['within_bound'] else 'EXCEEDED'}"
            )
        else:
            print(
                f"  contamination with {run['executor']}: {run['items']} eval items, "
                f"hits by stage {run['hit_stages']}; semantic stage {run['semantic']}"
            )
    seconds = {(r["task"], r["executor"]): r["seconds"] for r in figures["runs"]}
    ratios = ", ".join(f"{t} {seconds[t, 'ray'] / seconds[t, 'local']:.2f}x" for t in TASKS)
    print(
        f"  ray / local time (the cluster's start apart): {ratios}; on {figures['cpus']} "
        "cores Ray shows the same output and bounded memory per process, not speed"
    )


def main(argv: Sequence[str] = ()) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench ray_scale", description=__doc__)
    parser.add_argument("--docs", type=int, default=100_000, help="documents to generate")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(list(argv))
    figures = measure(args.docs)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        report(figures)


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1].startswith("["):
        _child(*json.loads(sys.argv[1]))
    else:
        main(sys.argv[1:])
