"""Dedup's second pass on an executor: each partition grouped by a task, the same decisions.

The exact and near stages write their partitions to the work folder and hand
each one to `Executor.map_shards`, so on a cluster the grouping is a shuffle
through disk. An executor standing for another process (context, inputs and
results all through pickle) must get every partition's work and leave the
kept and rejected documents, report rows and stage figures exactly as the
in-process run's, with the pieces at their default sizes and small enough
that every stage has many partitions and every pair file many runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.dedup_support import config, tricky_documents, write_shards
from tests.elsewhere import Elsewhere
from toolkit.dedup import deduplicate
from toolkit.dedup.memory import Budget
from toolkit.dedup.partition import RunFile, read_runs
from toolkit.executor import LocalExecutor
from toolkit.io import read_documents


def _fixed(size: int) -> Callable[[Budget], int]:
    def getter(self: Budget) -> int:
        return size

    return getter


def _outputs(out: Path) -> dict[str, Any]:
    report = json.loads((out / "dedup_report.json").read_text())
    return {
        "kept": list(read_documents(out / "kept")),
        "rejected": list(read_documents(out / "rejected")),
        "dropped": report["dropped"],
        "clusters": report["clusters"],
        "stages": {
            stage: {k: v for k, v in figures.items() if k != "seconds"}
            for stage, figures in report["stages"].items()
        },
    }


@pytest.mark.parametrize("pieces", ["default", "tiny"])
def test_exact_and_near_partitions_run_as_tasks_and_decide_as_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pieces: str
) -> None:
    if pieces == "tiny":  # many partitions, and pair files of many runs
        for name, size in {"partition_bytes": 200, "buffer_bytes": 300}.items():
            monkeypatch.setattr(Budget, name, property(_fixed(size)))
    corpus = write_shards(tricky_documents(), tmp_path)
    settings = config(stages=("exact", "near"))
    deduplicate(corpus, tmp_path / "local", settings, executor=LocalExecutor())
    elsewhere = Elsewhere()
    deduplicate(corpus, tmp_path / "elsewhere", settings, executor=elsewhere)
    local, remote = _outputs(tmp_path / "local"), _outputs(tmp_path / "elsewhere")
    assert remote == local
    assert all(local["stages"][s]["dropped"] for s in ("exact", "near"))
    assert local["stages"]["near"]["verified"] > 0
    ran = elsewhere.ran
    assert ran["exact_task"] >= 1 and ran["pair_task"] >= 1
    assert ran["verify_task"] == 2 * ran["pair_task"]  # pairs: two partitions per bucket one
    if pieces == "tiny":
        assert ran["exact_task"] > 3 and ran["pair_task"] > 3


def test_a_run_file_gives_each_partition_its_records_and_a_rewrite_replaces_it(
    tmp_path: Path,
) -> None:
    records = np.arange(40, dtype=np.uint64)
    parts = records % np.uint64(3)
    first = RunFile(tmp_path / "00000", 3, np.uint64, buffer_bytes=64)  # each add a run
    first.add(records[:20], parts[:20])
    first.add(records[20:], parts[20:])
    first.close()
    assert read_runs([tmp_path / "00000"], 1, np.uint64).tolist() == list(range(1, 40, 3))
    again = RunFile(tmp_path / "00000", 3, np.uint64, buffer_bytes=64)  # the task run again
    again.add(records[10:15], parts[10:15])
    again.close()
    other = RunFile(tmp_path / "00001", 3, np.uint64, buffer_bytes=64)
    other.add(records[5:7], parts[5:7])
    other.close()
    paths = [tmp_path / "00000", tmp_path / "00001"]
    assert read_runs(paths, 2, np.uint64).tolist() == [11, 14, 5]
    assert read_runs(paths, 0, np.uint64).tolist() == [12, 6]
