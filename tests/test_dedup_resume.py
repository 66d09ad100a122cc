"""A streamed dedup killed in any pass, started again, redoes only what was not marked done.

The child process is killed (SIGKILL, nothing cleaned up) right after one
piece of work is marked complete: a shard scanned, a stage decided, a shard
embedded, an output shard written. The rerun must reuse exactly the marked
pieces and write what a run never killed writes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.dedup_support import config, fake_cache, tricky_documents, write_shards
from tests.helpers import run_cli
from toolkit.dedup import deduplicate
from toolkit.dedup import write as dedup_write
from toolkit.io import read_documents

ROOT = Path(__file__).resolve().parents[1]
SHARD = 7  # output documents per shard, so the writer commits several

_KILLED = """
import os, signal, sys
from pathlib import Path

import toolkit.dedup.write as write
from tests.dedup_support import config, fake_cache
from toolkit.dedup import deduplicate
from toolkit.dedup.work import WorkDir

corpus, out, cache_dir, stop_at, stages = sys.argv[1:6]
write.SHARD_SIZE = int(os.environ["SHARD"])
real_write_json = WorkDir.write_json


def write_json(path, data):
    real_write_json(path, data)
    done = path.name == "done.json" and path.parent.relative_to(Path(out) / ".dedup-work")
    if (done and done.as_posix() == stop_at) or (
        stop_at == "write" and path.name == "write.json" and data["kept"]
    ):
        os.kill(os.getpid(), signal.SIGKILL)


WorkDir.write_json = staticmethod(write_json)
with fake_cache(Path(cache_dir)) as cache:
    deduplicate(corpus, out, config(stages=tuple(stages.split(","))), cache=cache)
"""


def _kill(corpus: Path, out: Path, cache: Path, stop_at: str, stages: str) -> None:
    args = [sys.executable, "-c", _KILLED, str(corpus), str(out), str(cache), stop_at, stages]
    env = {**os.environ, "SHARD": str(SHARD)}
    child = subprocess.run(args, cwd=ROOT, env=env, check=False)
    assert child.returncode == -signal.SIGKILL, f"the run was not killed at {stop_at}"


def _outputs(out: Path) -> dict[str, Any]:
    report = json.loads((out / "dedup_report.json").read_text())
    return {
        "kept": list(read_documents(out / "kept")),
        "rejected": list(read_documents(out / "rejected")),
        "shards": sorted(p.name for p in (out / "kept").iterdir()),
        "dropped": report["dropped"],
        "clusters": report["clusters"],
    }


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(dedup_write, "SHARD_SIZE", SHARD)
    return write_shards(tricky_documents(), tmp_path)


@pytest.mark.parametrize(
    ("stop_at", "reused"),
    [
        ("scan/00001", {"shards_scanned": 2, "stages_decided": 0, "shards_embedded": 0}),
        ("decide/near", {"shards_scanned": 3, "stages_decided": 2, "shards_embedded": 0}),
        ("embed/00000", {"shards_scanned": 3, "stages_decided": 2, "shards_embedded": 1}),
        ("write", {"shards_scanned": 3, "stages_decided": 3, "shards_embedded": 0}),
    ],
)
def test_a_killed_run_redoes_only_unmarked_work(
    tmp_path: Path, corpus: Path, stop_at: str, reused: dict[str, int]
) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    _kill(corpus, out, cache, stop_at, "exact,near,semantic")
    with fake_cache(cache) as embeddings:
        report = deduplicate(corpus, out, config(), cache=embeddings)
    resumed = report["work"]["resumed"]
    assert {k: resumed[k] for k in reused} == reused
    assert resumed["output_shards"]["kept"] == (1 if stop_at == "write" else 0)
    with fake_cache(tmp_path / "fresh-cache") as embeddings:
        deduplicate(corpus, tmp_path / "fresh", config(), cache=embeddings)
    assert _outputs(out) == _outputs(tmp_path / "fresh")
    assert len(_outputs(out)["shards"]) > 2
    assert not (out / ".dedup-work").exists()


def test_the_cli_resumes_a_killed_run_without_overwrite(
    tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    _kill(corpus, out, tmp_path / "cache", "write", "exact,near")
    assert (out / "kept").is_dir()
    args = ["dedup", str(corpus), "--out", str(out), "--stages", "exact,near", "-q", "--json"]
    same = ["--near-threshold", "0.7", "--ngram", "3", "--semantic-threshold", "0.95"]
    result = run_cli(capsys, *args, *same)
    assert result.code == 0, result.err
    assert json.loads(result.out)["work"]["resumed"]["output_shards"]["kept"] == 1
    deduplicate(corpus, tmp_path / "fresh", config(stages=("exact", "near")))
    assert _outputs(out) == _outputs(tmp_path / "fresh")


def test_other_settings_start_afresh_and_refuse_old_outputs(
    tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    _kill(corpus, out, tmp_path / "cache", "write", "exact,near")
    args = ["dedup", str(corpus), "--out", str(out), "--stages", "exact,near", "-q", "--json"]
    refused = run_cli(capsys, *args, "--near-threshold", "0.9", "--ngram", "3")
    assert refused.code == 2 and "pass --overwrite to replace it" in refused.err
    result = run_cli(capsys, *args, "--near-threshold", "0.9", "--ngram", "3", "--overwrite")
    assert result.code == 0, result.err
    resumed = json.loads(result.out)["work"]["resumed"]
    assert resumed == {
        "shards_scanned": 0,
        "shards_embedded": 0,
        "stages_decided": 0,
        "output_shards": {"kept": 0, "rejected": 0},
    }
