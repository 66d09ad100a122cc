"""`python -m bench ray_scale`: its identical-output checks and its per-process memory.

The benchmark's verdicts are only worth what these two pieces are: a check
that says "identical" must notice one document or hit out of place, and the
sampler must find a process under the driver (a Ray worker, by its title)
and its peak, even once the process has exited.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from bench.__main__ import main as bench_main
from bench.dedup_stream import same_outputs
from bench.ray_scale import same_hits, write_evals
from bench.tree_memory import ProcessPeak, TreeMemory
from tests.dedup_support import config, fake_cache, tricky_documents, write_shards
from toolkit.contamination import load_evals
from toolkit.dedup import deduplicate
from toolkit.io import read_documents


def _dedup(corpus: Path, out: Path) -> None:
    deduplicate(corpus, out, config(), cache=fake_cache(out.parent / f"{out.name}-cache"))


def test_dedup_check_finds_one_document_out_of_place(tmp_path: Path) -> None:
    docs = tricky_documents()
    corpus = write_shards(docs, tmp_path)
    _dedup(corpus, tmp_path / "a")
    _dedup(corpus, tmp_path / "b")
    assert same_outputs(tmp_path / "a", tmp_path / "b") == dict.fromkeys(
        ("kept", "rejected", "report rows", "stage figures"), True
    )
    fewer = write_shards(docs[1:], tmp_path / "fewer")  # one document fewer
    _dedup(fewer, tmp_path / "c")
    assert same_outputs(tmp_path / "a", tmp_path / "c")["kept"] is False


def test_hit_check_finds_a_changed_hit(tmp_path: Path) -> None:
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        (tmp_path / run / "hits.jsonl").write_text('{"doc_id": "d1", "score": 0.5}\n')
        (tmp_path / run / "semantic.json").write_text('{"nearest": {"0": 0.9}}')
    assert same_hits(tmp_path / "a", tmp_path / "b") == {"hits": True, "semantic figures": True}
    (tmp_path / "b" / "hits.jsonl").write_text('{"doc_id": "d1", "score": 0.25}\n')
    assert same_hits(tmp_path / "a", tmp_path / "b") == {"hits": False, "semantic figures": True}


def test_eval_items_are_passages_of_the_corpus(tmp_path: Path) -> None:
    corpus = write_shards(tricky_documents(), tmp_path)
    assert write_evals(corpus, tmp_path / "evals.jsonl", count=5) == 5
    texts = [d.text for d in read_documents(corpus)]
    items = load_evals([f"generated={tmp_path / 'evals.jsonl'}:question"])
    assert len(items) == 5
    assert all(any(item.text in text for text in texts) for item in items)


def test_sampler_sees_a_workers_peak_under_the_driver_after_it_exits() -> None:
    worker = "x = b'x' * (200 << 20); import time; time.sleep(0.4)"
    driver = textwrap.dedent(f"""
        import subprocess, sys
        subprocess.run(["ray::task", "-c", {worker!r}], executable=sys.executable, check=True)
    """)
    with (
        subprocess.Popen([sys.executable, "-c", driver]) as child,
        TreeMemory(child.pid, interval=0.05) as tree,
    ):
        child.wait()
    figures = tree.figures()
    assert figures["driver"]["processes"] == 1
    assert figures["worker"]["processes"] == 1
    assert figures["worker"]["max_peak_mb"] >= 200  # every page written: resident
    assert figures["driver"]["max_peak_mb"] < figures["worker"]["max_peak_mb"]


def test_a_worker_started_after_the_mark_counts_from_a_started_workers_size() -> None:
    tree = TreeMemory(os.getpid())
    tree.processes = {
        1: ProcessPeak(1, "worker", "ray::IDLE", peak_mb=160, first_mb=150, at_mark=True),
        2: ProcessPeak(2, "worker", "ray::IDLE", peak_mb=170, first_mb=140, at_mark=True),
        3: ProcessPeak(3, "worker", "ray::_Actor", peak_mb=250, first_mb=40),  # seen starting
    }
    assert tree.figures()["worker"]["max_over_first_mb"] == 100  # 250 - 150, not 250 - 40
    tree.processes[3].first_mb = 200  # seen already holding more than a started one
    assert tree.figures()["worker"]["max_over_first_mb"] == 50


def test_bench_refuses_options_for_a_benchmark_without_any() -> None:
    assert bench_main(["mix", "--docs", "5"]) == 2
