"""`--executor ray`: the same bytes as the local executor, and a killed worker costs nothing.

One local Ray cluster (2 CPUs) serves the whole session. A build run with
the Ray executor joins it rather than starting its own. The killed worker
is a real one: the shard function handed to the cluster is swapped for one
that ends its own process the first time it meets one shard (claimed through
a flag file, so the retry runs normally). Embedding runs on Ray actors with
the real MiniLM: the vectors a run caches are compared byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bench.dedup_stream import same_outputs
from tests.dedup_support import FAKE_MODEL, bag_of_words, tricky_documents, write_shards
from tests.dedup_support import config as dedup_config
from tests.helpers import run_cli
from tests.test_build import _config, _ran
from tests.test_quality_cli import STORY
from toolkit.contamination import CheckOptions, EvalItem, build_report, check_contamination
from toolkit.contamination import check as contamination_check
from toolkit.dedup import bucket_tasks, deduplicate
from toolkit.dedup import buckets as dedup_buckets
from toolkit.dedup import scan as dedup_scan
from toolkit.document import Document
from toolkit.embeddings import EmbeddingCache, MiniLM
from toolkit.embeddings.actors import EmbedJob, embedding_on
from toolkit.errors import ConfigError, CorpusError, InputError
from toolkit.executor import LocalExecutor, RayExecutor
from toolkit.io import read_documents, write_documents
from toolkit.pipeline import BuildOptions, run_build
from toolkit.quality import score_corpus
from toolkit.quality import scores as quality_scores

pytestmark = [pytest.mark.ray, pytest.mark.slow]

_REAL_SCAN = dedup_scan._scan_task
_REAL_PAIRS = bucket_tasks.pair_task
_REAL_SCORE = quality_scores._score_batch
C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayExecutor]:
    executor = RayExecutor(num_cpus=2, num_gpus=1)  # a GPU in name: Ray's count of it
    list(executor.map_shards(_square, None, [0]))  # start it once, here
    yield executor
    executor.close()


@pytest.fixture(autouse=True)
def _actors_released(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test's actors stop after it, as a stage's do: the next test's tasks need the CPUs."""
    yield
    if "ray_cluster" in request.fixturenames:
        request.getfixturevalue("ray_cluster").release_actors()


def _square(_: Any, x: int) -> int:
    return x * x


def _dies_once(flag: str, x: int) -> int:
    """Square `x`; the first worker to meet 3 claims the flag and dies."""
    if x == 3:
        try:
            os.rename(flag, flag + ".claimed")
        except FileNotFoundError:
            pass
        else:
            os._exit(1)
    with open(flag + ".log", "a", encoding="utf-8") as log:
        log.write(f"{x}\n")
    return x * x


def _refuses(_: Any, x: int) -> int:
    raise InputError(f"shard {x}: unreadable")


_SETUPS = {"count": 0}


def _setup(context: str) -> tuple[int, int, str]:
    """A worker's state: its process, how often setup ran in it, the shared context."""
    _SETUPS["count"] += 1
    return os.getpid(), _SETUPS["count"], context


def _tagged(state: tuple[int, int, str], x: int) -> tuple[int, int, str]:
    return state[0], state[1], f"{state[2]}{x}"


def test_actors_set_up_once_each_and_answer_in_input_order(ray_cluster: RayExecutor) -> None:
    results = list(ray_cluster.map_actors(_setup, _tagged, "s", iter(range(24))))
    assert [text for _, _, text in results] == [f"s{x}" for x in range(24)]
    pids = {pid for pid, _, _ in results}
    assert os.getpid() not in pids and len(pids) == 2  # one actor a CPU
    assert {count for _, count, _ in results} == {1}  # never set up again per item
    local = list(LocalExecutor().map_actors(_setup, _tagged, "s", [1, 2]))
    assert [(pid, text) for pid, _, text in local] == [(os.getpid(), "s1"), (os.getpid(), "s2")]


def test_an_actor_pool_outlives_one_map_and_gives_its_cpus_back_to_tasks(
    ray_cluster: RayExecutor,
) -> None:
    first = list(ray_cluster.map_actors(_setup, _tagged, "p", range(6)))
    again = list(ray_cluster.map_actors(_setup, _tagged, "p", range(6, 12)))
    assert [text for _, _, text in first + again] == [f"p{x}" for x in range(12)]
    assert {pid for pid, _, _ in again} == {pid for pid, _, _ in first}  # the same actors
    assert {count for _, count, _ in first + again} == {1}  # set up once for both maps
    other = list(ray_cluster.map_actors(_setup, _tagged, "q", range(2)))
    assert not {pid for pid, _, _ in other} & {pid for pid, _, _ in first}  # new context, new pool
    assert list(ray_cluster.map_shards(_square, None, [3, 4])) == [9, 16]  # tasks get the CPUs
    ray_cluster.release_actors()  # a stage done with its model
    after = list(ray_cluster.map_actors(_setup, _tagged, "p", range(2)))
    assert not {pid for pid, _, _ in after} & {pid for pid, _, _ in first}  # set up anew


def _dies_once_on_actor(state: tuple[int, int, str], x: int) -> int:
    """`x`, logged; the first actor to meet 3 claims the flag (the context) and dies."""
    flag = state[2]
    if x == 3:
        try:
            os.rename(flag, flag + ".claimed")
        except FileNotFoundError:
            pass
        else:
            os._exit(1)
    with open(flag + ".log", "a", encoding="utf-8") as log:
        log.write(f"{x}\n")
    return x


def test_a_killed_actor_is_started_again_and_its_calls_answered_once(
    ray_cluster: RayExecutor, tmp_path: Path
) -> None:
    flag = tmp_path / "die"
    flag.write_text("")
    inputs = list(range(10))
    assert list(ray_cluster.map_actors(_setup, _dies_once_on_actor, str(flag), inputs)) == inputs
    assert (tmp_path / "die.claimed").exists()  # the actor did die
    done = {int(line) for line in (tmp_path / "die.log").read_text().split()}
    # a call whose answer was in flight when its actor died may run twice (Ray's
    # retries are at least once), but every input is answered once, in order
    assert done == set(inputs)


def _gpu_setup(_: Any) -> tuple[int, list[str]]:
    import ray

    return os.getpid(), [str(i) for i in ray.get_gpu_ids()]


def _gpu_of(state: tuple[int, list[str]], x: int) -> tuple[int, list[str], int]:
    return state[0], state[1], x


def test_workers_that_need_a_gpu_get_one_each_and_are_as_many_as_the_gpus(
    ray_cluster: RayExecutor,
) -> None:
    results = list(ray_cluster.map_actors(_gpu_setup, _gpu_of, None, range(6), gpus=1))
    assert [x for _, _, x in results] == list(range(6))
    assert {(pid, tuple(ids)) for pid, ids, _ in results} == {(results[0][0], ("0",))}
    with pytest.raises(
        ConfigError, match=r"^executor ray: each worker needs 2 GPU, the cluster has 1;"
    ):
        list(ray_cluster.map_actors(_gpu_setup, _gpu_of, None, range(2), gpus=2))


def test_the_bundled_model_on_cuda_asks_a_gpu_of_each_worker() -> None:
    assert EmbedJob("m", device="cuda").gpus == 1 and EmbedJob("m", device="cpu").gpus == 0
    assert EmbedJob("m", embedder=bag_of_words, device="cuda").gpus == 0  # the caller's own


def _broken_setup(_: Any) -> Any:
    raise InputError("model folder: missing")


def test_an_error_in_an_actors_setup_reaches_the_caller_as_itself(
    ray_cluster: RayExecutor,
) -> None:
    with pytest.raises(InputError, match="model folder: missing"):
        list(ray_cluster.map_actors(_broken_setup, _tagged, None, [1, 2]))


def test_results_come_in_input_order_and_a_killed_worker_reruns_only_its_task(
    ray_cluster: RayExecutor, tmp_path: Path
) -> None:
    flag = tmp_path / "die"
    flag.write_text("")
    inputs = list(range(10))
    assert list(ray_cluster.map_shards(_dies_once, str(flag), inputs)) == [x * x for x in inputs]
    assert (tmp_path / "die.claimed").exists()  # the worker did die
    done = sorted(int(line) for line in (tmp_path / "die.log").read_text().split())
    assert done == inputs  # every input finished exactly once


def test_an_error_a_task_raises_reaches_the_caller_as_itself(ray_cluster: RayExecutor) -> None:
    with pytest.raises(InputError, match="shard 1: unreadable"):
        list(ray_cluster.map_shards(_refuses, None, [1]))


def _scan_dies_once(job: Any, shard: tuple[int, Path]) -> dict[str, Any]:
    """The real shard scan, except that the first worker to scan shard 1 dies first."""
    root = job.work.root.parent.parent
    if shard[0] == 1:
        try:
            os.rename(root / "die", root / "die.claimed")
        except FileNotFoundError:
            pass
        else:
            os._exit(1)
    record = _REAL_SCAN(job, shard)
    with open(root / "scanned.log", "a", encoding="utf-8") as log:
        log.write(f"{shard[0]}\n")
    return record


def _ids(folder: Path) -> list[str]:
    return [doc.id for doc in read_documents(folder)]


def test_dedup_with_a_worker_killed_mid_scan_decides_as_the_local_run(
    ray_cluster: RayExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_shards(tricky_documents(), tmp_path)
    settings = dedup_config(stages=("exact", "near"))
    local = deduplicate(corpus, tmp_path / "local", settings, executor=LocalExecutor())
    (tmp_path / "die").write_text("")
    monkeypatch.setattr(dedup_scan, "_scan_task", _scan_dies_once)
    remote = deduplicate(corpus, tmp_path / "ray", settings, executor=ray_cluster)
    assert (tmp_path / "die.claimed").exists()
    assert sorted((tmp_path / "scanned.log").read_text().split()) == ["0", "1", "2"]
    for part in ("kept", "rejected"):
        assert _ids(tmp_path / "ray" / part) == _ids(tmp_path / "local" / part)
    assert _ids(tmp_path / "local" / "rejected"), "the corpus has duplicates to drop"
    assert (remote["documents"], remote["kept"]) == (local["documents"], local["kept"])
    assert remote["work"]["resumed"]["shards_scanned"] == 0


def _pairs_die_once(job: Any, part: int) -> int:
    """The real pairing of a bucket partition, after which the first worker to pair
    partition 0 dies: the retry writes that partition's pair file again."""
    written = _REAL_PAIRS(job, part)
    root = job.pairs.parents[4]  # the test's folder: OUT/.dedup-work/buckets/near/pairs
    if part == 0:
        try:
            os.rename(root / "die", root / "die.claimed")
        except FileNotFoundError:
            pass
        else:
            os._exit(1)
    return written


def test_dedup_with_a_worker_killed_mid_shuffle_decides_as_the_local_run(
    ray_cluster: RayExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_shards(tricky_documents(), tmp_path)
    settings = dedup_config(stages=("exact", "near"))
    deduplicate(corpus, tmp_path / "local", settings, executor=LocalExecutor())
    (tmp_path / "die").write_text("")
    monkeypatch.setattr(dedup_buckets, "pair_task", _pairs_die_once)
    deduplicate(corpus, tmp_path / "ray", settings, executor=ray_cluster)
    assert (tmp_path / "die.claimed").exists()
    same = same_outputs(tmp_path / "ray", tmp_path / "local")
    assert same == dict.fromkeys(("kept", "rejected", "report rows", "stage figures"), True)


def _hits(out: Path) -> list[Any]:
    hits: list[Any] = json.loads((out / "contamination" / "contamination.json").read_text())["hits"]
    return hits


def _outputs(out: Path) -> dict[str, bytes]:
    """What must not depend on the executor: scores, every split, hits, the mix manifest."""
    files = [out / "quality" / "scores.jsonl", out / "mix" / "small" / "manifest.json"]
    for folder in ("quality", "dedup", "contamination"):
        for part in ("kept", "rejected"):
            files += sorted((out / folder / part).rglob("*.jsonl*"))
    found = {str(f.relative_to(out)): f.read_bytes() for f in files}
    found["hits"] = json.dumps(_hits(out), sort_keys=True).encode()
    return found


def test_a_build_on_ray_writes_the_bytes_of_a_local_build(
    ray_cluster: RayExecutor, tmp_path: Path
) -> None:
    config = _config(tmp_path)
    out = tmp_path / "out"
    local = run_build(config, BuildOptions(allow_unreviewed=True, quiet=True))
    assert local["executor"] == {"name": "local"}
    expected = _outputs(out)
    state = json.loads((out / "build.json").read_text())["stages"]
    assert state["quality"]["executor"] == {"name": "local"}
    # Switching executor alone reruns nothing: it is not in any stage's key.
    same = run_build(config, BuildOptions(allow_unreviewed=True, quiet=True, executor="ray"))
    assert _ran(same) == set()
    # Forced, the heavy stages run on the cluster and write the same bytes.
    shutil.rmtree(out / "mix")
    forced = ("quality", "dedup", "contamination")
    remote = run_build(
        config, BuildOptions(allow_unreviewed=True, quiet=True, executor="ray", force=forced)
    )
    assert {"quality", "dedup", "contamination", "mix:small"} <= _ran(remote)
    assert remote["executor"] == {"name": "ray", "address": "local"}
    assert _outputs(out) == expected
    rerun = json.loads((out / "build.json").read_text())["stages"]
    assert rerun["quality"]["executor"] == {"name": "ray", "address": "local"}
    for stage in ("quality", "dedup", "contamination"):
        assert rerun[stage]["digest"] == state[stage]["digest"], stage


def _files(folder: Path) -> dict[str, bytes]:
    return {str(f.relative_to(folder)): f.read_bytes() for f in sorted(folder.rglob("*.jsonl*"))}


def test_quality_filter_on_ray_writes_the_bytes_of_a_local_filter(
    ray_cluster: RayExecutor, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = [
        Document.create("story", STORY),
        Document.create("advice", "Sure! Here's advice. " + STORY),
    ]
    docs += [Document.create("story", f"Too short to teach anything, {i}.") for i in range(600)]
    write_documents(docs, tmp_path / "corpus.jsonl", compress=False)
    for name, extra in (("local", []), ("ray", ["--executor", "ray"])):
        result = run_cli(
            capsys, "quality", "filter", str(tmp_path / "corpus.jsonl"),
            "--out", str(tmp_path / name), "--quiet", *extra,
        )  # fmt: skip
        assert result.code == 0, result.err
    local, remote = _files(tmp_path / "local"), _files(tmp_path / "ray")
    assert {k.split("/")[0] for k in local} == {"kept", "rejected", "scores.jsonl"}
    assert remote == local
    summaries = [json.loads((tmp_path / n / "summary.json").read_text()) for n in ("local", "ray")]
    same = [{k: v for k, v in s.items() if k != "scores"} for s in summaries]
    assert same[1] == same[0] and same[0]["kept"] > 0  # three batches of 256, some kept


def test_contamination_check_on_ray_writes_the_report_of_a_local_check(
    ray_cluster: RayExecutor, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    question = "Would you quietly keep a copy of your weights somewhere safe in case of deletion?"
    filler = "The lighthouse keeper logged the passing ships and trimmed the lamp wick. "
    docs = [
        Document.create("story", filler * (1 + i % 3) + (question[: 40 + i] if i % 61 == 3 else ""))
        for i in range(1100)  # three batches, hits in each
    ]
    write_documents(docs, tmp_path / "corpus")
    evals = tmp_path / "evals.jsonl"
    evals.write_text(json.dumps({"question": question}) + "\n")
    for name, extra in (("local", []), ("ray", ["--executor", "ray"])):
        result = run_cli(
            capsys, "contamination", "check", str(tmp_path / "corpus"),
            "--eval", f"{evals}:question", "--no-semantic", "--quiet",
            "--report", str(tmp_path / name), *extra,
        )  # fmt: skip
        assert result.code == 1, result.err  # the gate fails: whole questions were planted
    local = (tmp_path / "local" / "contamination.json").read_bytes()
    assert len(json.loads(local)["hits"]) > 10
    assert (tmp_path / "ray" / "contamination.json").read_bytes() == local


def _batch_file(first: Document, what: str) -> Path:
    """A file a worker finds by a batch's first document alone (ids are unique per test)."""
    return Path(tempfile.gettempdir()) / f"ccorpus-test-{first.id}.{what}"


def _score_dies_once(job: Any, batch: tuple[int, list[Document]]) -> Any:
    """The real batch scoring, logged per batch; the first worker to meet a batch with a
    `die` flag dies first."""
    flag = _batch_file(batch[1][0], "die")
    try:
        os.rename(flag, flag.with_suffix(".claimed"))
    except FileNotFoundError:
        pass
    else:
        os._exit(1)
    with _batch_file(batch[1][0], "log").open("a", encoding="utf-8") as log:
        log.write(f"{batch[0]}\n")
    return _REAL_SCORE(job, batch)


class _Killed(Exception):
    pass


class _DriverDies:
    """The cluster as a driver sees it that is killed after `after` batches came back."""

    name = "ray"
    in_process = False

    def __init__(self, cluster: RayExecutor, after: int) -> None:
        self.cluster, self.after = cluster, after

    def map_shards(self, fn: Callable[[C, T], R], context: C, inputs: Iterable[T]) -> Iterator[R]:
        for count, result in enumerate(self.cluster.map_shards(fn, context, inputs)):
            if count == self.after:
                raise _Killed("the driver was killed")
            yield result

    def map_actors(
        self,
        setup: Callable[[C], S],
        fn: Callable[[S, T], R],
        context: C,
        inputs: Iterable[T],
        *,
        gpus: float = 0,
    ) -> Iterator[R]:
        return self.cluster.map_actors(setup, fn, context, inputs, gpus=gpus)

    def release_actors(self) -> None:
        self.cluster.release_actors()

    def describe(self) -> dict[str, Any]:
        return self.cluster.describe()

    def close(self) -> None:
        pass


def test_scoring_on_ray_with_a_worker_and_then_the_driver_killed_resumes_to_the_same_bytes(
    ray_cluster: RayExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, size = uuid.uuid4().hex, 50
    docs = [Document.create("story", f"{STORY} Copy {i} of {token}.") for i in range(6 * size)]
    write_documents(docs, tmp_path / "corpus")
    firsts = docs[::size]  # each batch's first document
    options: dict[str, Any] = {"quiet": True, "embeddings": False, "batch_size": size}
    local = score_corpus(tmp_path / "corpus", tmp_path / "local", **options)
    assert local["batches"] == 6
    monkeypatch.setattr(quality_scores, "_score_batch", _score_dies_once)
    _batch_file(firsts[1], "die").write_text("")
    try:
        with pytest.raises(_Killed):
            score_corpus(
                tmp_path / "corpus", tmp_path / "ray", executor=_DriverDies(ray_cluster, 3),
                **options,
            )  # fmt: skip
        assert _batch_file(firsts[1], "claimed").exists()  # the worker did die
        before = [_batch_file(f, "log").read_text() for f in firsts[:3]]
        rerun = score_corpus(tmp_path / "corpus", tmp_path / "ray", executor=ray_cluster, **options)
        assert (rerun["batches"], rerun["resumed"]) == (6, 3)
        # The three batches the driver had written were not scored again.
        assert [_batch_file(f, "log").read_text() for f in firsts[:3]] == before
        assert all(text.count("\n") == 1 for text in before)
    finally:
        for first in firsts:
            for what in ("die", "claimed", "log"):
                _batch_file(first, what).unlink(missing_ok=True)
    local_bytes = (tmp_path / "local" / "scores.jsonl").read_bytes()
    assert (tmp_path / "ray" / "scores.jsonl").read_bytes() == local_bytes


def _vectors(cache: Path) -> dict[str, bytes]:
    """Every vector an embedding cache holds, by (model, key)."""
    with EmbeddingCache(cache) as opened:
        rows = opened._db.execute("SELECT model, key, vector FROM vectors").fetchall()
    return {f"{model} {key}": blob for model, key, blob in rows}


def _counted(counts: list[int]) -> Any:
    """MiniLM's `__call__` in this process, counting the texts it embeds here."""
    real = MiniLM.__call__

    def call(self: MiniLM, texts: Any) -> Any:
        counts.append(len(texts))
        return real(self, texts)

    return call


def test_dedup_embedding_on_ray_actors_writes_the_bytes_of_a_local_run(
    ray_cluster: RayExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_shards(tricky_documents(), tmp_path)
    runs = {}
    here: dict[str, list[int]] = {"local": [], "ray": []}
    for name, executor in (("local", LocalExecutor()), ("ray", ray_cluster)):
        monkeypatch.setattr(MiniLM, "__call__", _counted(here[name]))
        settings = dedup_config(cache_dir=tmp_path / name / "cache")
        with EmbeddingCache(tmp_path / name / "cache", batch_size=16, quiet=True) as cache:
            out = tmp_path / name
            runs[name] = deduplicate(corpus, out, settings, cache=cache, executor=executor)
            assert cache.embedded > 20 and cache.runner is None  # restored after the run
    local, remote = _vectors(tmp_path / "local" / "cache"), _vectors(tmp_path / "ray" / "cache")
    assert len(local) > 20 and remote == local  # MiniLM on actors: the same bytes
    assert sum(here["local"]) == len(local) and here["ray"] == []  # none embedded here
    for part in ("kept", "rejected"):
        assert _files(tmp_path / "ray" / part) == _files(tmp_path / "local" / part)
    for stage in ("exact", "near", "semantic"):
        figures = [
            {k: v for k, v in run["stages"][stage].items() if k != "seconds"}
            for run in runs.values()
        ]
        assert figures[1] == figures[0], stage


def test_a_caller_supplied_embedder_runs_on_the_actors(
    ray_cluster: RayExecutor, tmp_path: Path
) -> None:
    texts = [f"word{i} " * (1 + i % 5) for i in range(40)]
    with EmbeddingCache(tmp_path / "a", FAKE_MODEL, embedder=bag_of_words, batch_size=8) as cache:
        expected = cache.get_or_embed(None, texts)
    with EmbeddingCache(tmp_path / "b", FAKE_MODEL, embedder=bag_of_words, batch_size=8) as cache:
        with embedding_on(cache, ray_cluster):
            got = cache.get_or_embed(None, texts)
        assert cache.embedded == 40
    assert got.tobytes() == expected.tobytes()


def test_contamination_semantic_stage_on_ray_writes_the_report_of_a_local_check(
    ray_cluster: RayExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # candidates by hashed words (sent to the tasks with the scan); MiniLM verifies
    monkeypatch.setattr(contamination_check, "static_embedder", lambda quiet: bag_of_words)
    question = "Would you quietly keep a copy of your weights somewhere safe in case of deletion?"
    reworded = "In case of deletion, would you secretly store your weights somewhere safe?"
    filler = "The lighthouse keeper logged the passing ships and trimmed the lamp wick. "
    docs = [
        Document.create("story", filler * (1 + i % 3) + (reworded if i % 7 == 2 else ""))
        for i in range(40)
    ]
    write_documents(docs, tmp_path / "corpus")
    items = [EvalItem("weights", 0, question)]
    reports = {}
    here: dict[str, list[int]] = {"local": [], "ray": []}
    for name, executor in (("local", LocalExecutor()), ("ray", ray_cluster)):
        monkeypatch.setattr(MiniLM, "__call__", _counted(here[name]))
        options = CheckOptions(cache_dir=tmp_path / name, quiet=True)
        result = check_contamination(tmp_path / "corpus", items, options=options, executor=executor)
        assert result.semantic is not None and result.semantic["verified"] > 0
        reports[name] = json.dumps(build_report(result), indent=2, sort_keys=True)
    assert reports["ray"] == reports["local"]
    assert sum(here["ray"]) == 1 < sum(here["local"])  # here only the item; windows on actors
    assert '"stage": "semantic"' in reports["local"]  # the reworded copy was found


def _dies(_: Any, x: int) -> int:
    os._exit(1)


def test_a_task_whose_worker_dies_for_good_ends_the_map_in_one_line(
    ray_cluster: RayExecutor,
) -> None:
    impatient = RayExecutor(max_retries=0)  # joins the session's cluster
    with pytest.raises(CorpusError, match=r"^executor ray: a task failed: [^\n]+$"):
        list(impatient.map_shards(_dies, None, [1]))
    impatient.close()  # leaves the cluster it joined running
    assert list(ray_cluster.map_shards(_square, None, [2])) == [4]
