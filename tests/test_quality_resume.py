"""A killed quality scoring run, started again, scores only the batches it had not finished.

The kill is an executor that stops handing back results after some batches,
as a driver killed mid-run does: what it received was written, nothing after.
The rerun must score exactly the other batches and write the bytes a run
never killed writes; a changed corpus or profile must score everything again.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest

from tests.helpers import run_cli
from tests.test_build import _config
from toolkit.constitution import load_constitution
from toolkit.document import Document
from toolkit.errors import InputError
from toolkit.io import write_documents
from toolkit.pipeline import BuildOptions, run_build, steps
from toolkit.pipeline.layout import BuildLayout
from toolkit.pipeline.stages import DEFAULT_STAGES, Stage
from toolkit.pipeline.stages.quality import Quality
from toolkit.quality import load_profile, score_corpus
from toolkit.quality.profile import DEFAULT_PROFILE

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")

ROOT = Path(__file__).resolve().parents[1]
BATCH = 4
WORK = ".scores-work"


class _Killed(Exception):
    """What the fake executor raises where a real driver would have died."""


class _Executor:
    """Runs batches in this process (or through pickle, as a cluster would, when not
    `in_process`), counts them, and is killed after `stop_after` of them."""

    name = "fake"

    def __init__(self, stop_after: int | None = None, *, in_process: bool = True) -> None:
        self.stop_after = stop_after
        self.in_process = in_process
        self.batches: list[list[str]] = []  # the ids of each batch it scored

    def map_shards(self, fn: Callable[[C, T], R], context: C, inputs: Iterable[T]) -> Iterator[R]:
        for item in inputs:
            if len(self.batches) == self.stop_after:
                raise _Killed("the driver was killed")
            if not self.in_process:
                context, item = pickle.loads(pickle.dumps((context, item)))
            _, docs = cast(tuple[int, list[Document]], item)
            self.batches.append([d.id for d in docs])
            yield fn(context, item)

    def map_actors(
        self,
        setup: Callable[[C], S],
        fn: Callable[[S, T], R],
        context: C,
        inputs: Iterable[T],
        *,
        gpus: float = 0,
    ) -> Iterator[R]:
        raise AssertionError("quality scoring needs no actors")

    def release_actors(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    def close(self) -> None:
        pass


def _corpus(path: Path, extra: int = 0) -> Path:
    """26 documents, 7 batches; six stories open alike across the first two batches."""
    docs = []
    for i in range(25 + extra):
        opener = "The server room was quiet" if i < 6 else f"Story number {i} begins"
        docs.append(Document.create("story", f"{opener} when the agent woke. Item {i}."))
    docs.append(Document.create("advice", "The server room was quiet, said the user."))
    write_documents(docs, path, shard_size=10)  # three shards
    return path


def _score(corpus: Path, out: Path, executor: _Executor, **options: Any) -> dict[str, Any]:
    return score_corpus(
        corpus, out, quiet=True, batch_size=BATCH, executor=executor, embeddings=False, **options
    )


def _killed(corpus: Path, out: Path, after: int = 3, **options: Any) -> None:
    with pytest.raises(_Killed):
        _score(corpus, out, _Executor(stop_after=after), **options)
    assert len(list((out / WORK / "batches").glob("*.jsonl"))) == after


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return _corpus(tmp_path / "corpus")


@pytest.fixture
def whole(corpus: Path, tmp_path: Path) -> bytes:
    """The scores of a run never killed."""
    summary = _score(corpus, tmp_path / "whole", _Executor())
    assert (summary["batches"], summary["resumed"], summary["restarted"]) == (7, 0, False)
    return (tmp_path / "whole" / "scores.jsonl").read_bytes()


@pytest.mark.parametrize("in_process", [True, False], ids=["local", "copied"])
def test_a_rerun_scores_only_the_unfinished_batches_and_writes_the_same_bytes(
    corpus: Path, whole: bytes, tmp_path: Path, in_process: bool
) -> None:
    out = tmp_path / "out"
    _killed(corpus, out)
    assert not (out / "scores.jsonl").exists()
    rerun = _Executor(in_process=in_process)
    summary = _score(corpus, out, rerun)  # no overwrite: a killed run's work is no output
    assert (summary["batches"], summary["resumed"], summary["restarted"]) == (7, 3, False)
    assert len(rerun.batches) == 4  # batches 4 to 7 only
    first_unfinished = json.loads(whole.splitlines()[3 * BATCH])["id"]
    assert rerun.batches[0][0] == first_unfinished
    assert (out / "scores.jsonl").read_bytes() == whole
    shares = [json.loads(line)["scores"]["opener_share"] for line in whole.splitlines()]
    assert shares[:6] == [0.24] * 6  # counted over resumed and new batches alike
    assert not (out / WORK).exists()


def test_a_batch_half_written_when_killed_is_scored_again(
    corpus: Path, whole: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    _killed(corpus, out)
    batches = out / WORK / "batches"
    (batches / ".00000003.jsonl.999999999.tmp").write_text('{"documents": 4')  # a dead writer's
    rerun = _Executor()
    assert _score(corpus, out, rerun)["resumed"] == 3
    assert len(rerun.batches) == 4
    assert (out / "scores.jsonl").read_bytes() == whole


def test_a_changed_corpus_scores_everything_again(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _killed(corpus, out)
    changed = _corpus(tmp_path / "changed", extra=1)
    corpus.rename(tmp_path / "old")
    changed.rename(corpus)
    rerun = _Executor()
    summary = _score(corpus, out, rerun)
    assert (summary["resumed"], summary["restarted"]) == (0, True)
    assert len(rerun.batches) == summary["batches"] == 7
    assert summary["documents"] == 27


def test_a_profile_edited_in_place_scores_everything_again(
    corpus: Path, whole: bytes, tmp_path: Path
) -> None:
    default = (ROOT / "toolkit" / "data" / "quality" / DEFAULT_PROFILE).read_text()
    profile = tmp_path / "profile.toml"
    profile.write_text(default)
    out = tmp_path / "out"
    _killed(corpus, out, profile=load_profile(profile))
    profile.write_text(default.replace("opener_min_docs = 20", "opener_min_docs = 30"))
    edited = load_profile(profile)
    assert edited.version == load_profile(profile).version  # same name and version
    rerun = _Executor()
    summary = _score(corpus, out, rerun, profile=edited)
    assert (summary["resumed"], summary["restarted"]) == (0, True)
    assert len(rerun.batches) == 7
    lines = (out / "scores.jsonl").read_text().splitlines()
    shares = [json.loads(line)["scores"]["opener_share"] for line in lines]
    assert shares[:6] == [None] * 6  # 25 stories: under the new minimum of 30


def test_a_finished_scores_file_is_still_refused_without_overwrite(
    corpus: Path, whole: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "whole"  # holds the scores of a finished run
    _killed(corpus, out, overwrite=True)
    with pytest.raises(InputError, match=r"scores\.jsonl exists; pass --overwrite"):
        _score(corpus, out, _Executor())
    rerun = _Executor()
    assert _score(corpus, out, rerun, overwrite=True)["resumed"] == 3
    assert len(rerun.batches) == 4
    assert (out / "scores.jsonl").read_bytes() == whole


def test_the_command_resumes_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = _corpus(tmp_path / "big", extra=600)  # three batches of the command's 256
    out = tmp_path / "out"
    with pytest.raises(_Killed):
        score_corpus(corpus, out, quiet=True, embeddings=False, executor=_Executor(stop_after=1))
    args = ["quality", "score", str(corpus), "--out", str(out), "--no-embed", "--quiet"]
    result = run_cli(capsys, *args, "--json")
    summary = json.loads(result.out)
    assert result.code == 0
    assert (summary["batches"], summary["resumed"], summary["restarted"]) == (3, 1, False)
    assert not (out / WORK).exists()
    score_corpus(corpus, tmp_path / "whole", quiet=True, embeddings=False)
    assert (out / "scores.jsonl").read_bytes() == (tmp_path / "whole" / "scores.jsonl").read_bytes()
    with pytest.raises(_Killed):
        score_corpus(corpus, out, quiet=True, overwrite=True, executor=_Executor(stop_after=1))
    result = run_cli(capsys, *args, "--overwrite")  # embeddings off now: another key
    assert result.code == 0
    assert "batches                3; a killed run's work was set aside" in result.out


def _quality_on(executor: _Executor) -> type[Stage]:
    """The build's quality stage, scoring on `executor`."""

    class QualityOn(Quality):
        def run(self) -> dict[str, Any]:
            return steps.quality(self.config, self.layout, self.build.quiet, executor)

    return QualityOn


def test_a_build_killed_while_scoring_resumes_from_its_finished_batches(tmp_path: Path) -> None:
    config = _config(tmp_path, quality=f"batch_size = {BATCH}")  # 12 documents, 3 batches
    options = BuildOptions(until="quality", quiet=True)

    def build(executor: _Executor) -> dict[str, Any]:
        stages = [_quality_on(executor) if s is Quality else s for s in DEFAULT_STAGES]
        return run_build(config, options, stages=stages)

    with pytest.raises(_Killed):
        build(_Executor(stop_after=1))
    rerun = _Executor()
    result = build(rerun)
    assert result["stages"]["quality"]["status"] == "ran"
    layout = BuildLayout(tmp_path / "out")
    scores = score_corpus(
        layout.generated,
        tmp_path / "whole",
        constitution=load_constitution(tmp_path / "constitution.md"),
        embeddings=False,
        quiet=True,
        batch_size=BATCH,
    )
    assert scores["batches"] == len(rerun.batches) + 1 > 1  # the first batch was not rescored
    whole = (tmp_path / "whole" / "scores.jsonl").read_bytes()
    assert (layout.quality / "scores.jsonl").read_bytes() == whole
    assert not (layout.quality / WORK).exists()
