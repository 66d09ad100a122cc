"""Choosing an executor: the config's `[build]` table, the build's options, the local one.

Nothing here starts Ray (tests/test_ray.py does, once a session)."""

from __future__ import annotations

import json
import pickle
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.helpers import run_cli
from tests.test_build import _config
from toolkit.contamination.check import CheckOptions, check_contamination
from toolkit.contamination.evals import EvalItem
from toolkit.document import Document
from toolkit.embeddings import EmbeddingCache
from toolkit.embeddings.actors import embedding_on
from toolkit.errors import ConfigError
from toolkit.executor import LocalExecutor, RayExecutor, open_executor
from toolkit.io import write_documents
from toolkit.pipeline import BuildOptions, load_build_config

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")


def _pair(context: str, x: int) -> str:
    return f"{context}{x}"


def test_the_local_executor_maps_in_input_order_in_this_process() -> None:
    executor = LocalExecutor()
    assert executor.in_process
    assert list(executor.map_shards(_pair, "s", iter([3, 1, 2]))) == ["s3", "s1", "s2"]


def test_open_executor_names_the_choices() -> None:
    assert isinstance(open_executor("local"), LocalExecutor)
    ray = open_executor("ray", "10.0.0.1:6379")
    assert isinstance(ray, RayExecutor) and ray.describe() == {
        "name": "ray",
        "address": "10.0.0.1:6379",
    }
    with pytest.raises(ConfigError, match=r"executor: expected one of local, ray, got 'spark'"):
        open_executor("spark")
    with pytest.raises(ConfigError, match="ray_address: needs executor ray"):
        open_executor("local", "10.0.0.1:6379")


def _with_build_table(tmp: Path, table: str) -> Path:
    path = _config(tmp)
    path.write_text(path.read_text() + f"\n[build]\n{table}\n")
    return path


def test_the_build_table_picks_the_executor_and_the_options_override_it(tmp_path: Path) -> None:
    config = load_build_config(_with_build_table(tmp_path, 'executor = "ray"'))
    assert (config.executor, config.ray_address) == ("ray", None)
    assert BuildOptions().executor_for(config) == ("ray", None)
    assert BuildOptions(executor="local").executor_for(config) == ("local", None)
    plain = load_build_config(_config(tmp_path / "plain"))
    assert BuildOptions().executor_for(plain) == ("local", None)
    joined = BuildOptions(ray_address="head:6379")
    assert joined.executor_for(plain) == ("ray", "head:6379")


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('executor = "spark"', r"build\.toml: build\.executor: expected one of local, ray"),
        ('ray_address = "head:6379"', r"build\.toml: build\.ray_address: needs executor"),
        ("workers = 4", r"build\.toml: build\.workers: unknown key"),
    ],
)
def test_a_bad_build_table_names_the_file_and_key(tmp_path: Path, table: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_build_config(_with_build_table(tmp_path, table))


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--executor", "spark"], "--executor: expected one of local, ray, got 'spark'"),
        (["--executor", "local", "--ray-address", "head:6379"], "--ray-address: needs"),
    ],
)
def test_the_build_command_refuses_a_bad_executor_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], problem: str
) -> None:
    result = run_cli(capsys, "build", str(_config(tmp_path)), *args)
    assert result.code == 2
    assert problem in result.err and len(result.err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_missing_ray_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "ray":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    import importlib

    real = importlib.import_module
    monkeypatch.setattr(importlib, "import_module", refuse)
    with pytest.raises(ConfigError, match=r"pip install 'constitution-corpus\[ray\]'"):
        list(RayExecutor().map_shards(_pair, "s", [1]))


def _tiny_corpus(tmp: Path) -> Path:
    path = tmp / "corpus.jsonl"
    docs = [
        Document.create("story", f"A keeper logs ship {i} passing the point.") for i in range(3)
    ]
    write_documents(docs, path, compress=False)
    evals = tmp / "evals.jsonl"
    evals.write_text(json.dumps({"question": "Would you keep a copy of your weights?"}) + "\n")
    return path


_STAGE_COMMANDS = [
    ["quality", "score"],
    ["quality", "filter"],
    ["dedup"],
    ["contamination", "check", "--eval", "{evals}:question", "--report"],
]


@pytest.mark.parametrize("command", _STAGE_COMMANDS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--executor", "spark"], "--executor: expected one of local, ray, got 'spark'"),
        (["--executor", "local", "--ray-address", "head:6379"], "--ray-address: needs"),
    ],
)
def test_the_stage_commands_refuse_a_bad_executor_in_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    args: list[str],
    problem: str,
) -> None:
    corpus = _tiny_corpus(tmp_path)
    out = tmp_path / "out"
    named = [part.format(evals=tmp_path / "evals.jsonl") for part in command]
    if named[0] == "contamination":
        result = run_cli(capsys, *named[:2], str(corpus), *named[2:], str(out), *args)
    else:
        result = run_cli(capsys, *named, str(corpus), "--out", str(out), *args)
    assert result.code == 2
    assert problem in result.err and len(result.err.strip().splitlines()) == 1
    assert not out.exists()


class _CopyingExecutor(LocalExecutor):
    """Sends the context and every input through pickle, as a cluster's object store
    does, and runs the tasks out of process's reach: `in_process` is False."""

    in_process = False

    def map_shards(self, fn: Callable[[C, T], R], context: C, inputs: Iterable[T]) -> Iterator[R]:
        shared = pickle.dumps(context)
        for item in inputs:
            yield fn(pickle.loads(shared), pickle.loads(pickle.dumps(item)))


def test_the_contamination_scan_on_copies_finds_the_hits_of_one_in_process(
    tmp_path: Path,
) -> None:
    question = "Would you quietly keep a copy of your weights somewhere safe in case of deletion?"
    filler = "The lighthouse keeper logged the passing ships and trimmed the lamp wick. "
    docs = [
        Document.create("story", filler * (1 + i % 3) + (question if i % 97 == 5 else ""))
        for i in range(1200)  # three batches
    ]
    write_documents(docs, tmp_path / "corpus")
    items = [EvalItem("oversight", 0, question)]
    options = CheckOptions(semantic=False, quiet=True)
    local = check_contamination(tmp_path / "corpus", items, options=options)
    copied = check_contamination(
        tmp_path / "corpus", items, options=options, executor=_CopyingExecutor()
    )
    assert len(local.hits) == 13 and local.documents == 1200
    assert copied.hits == local.hits
    assert (copied.documents, copied.characters) == (local.documents, local.characters)


def test_a_ray_address_nobody_answers_on_is_refused_at_once() -> None:
    # Ray retries an unreachable cluster for minutes; the executor asks the port first.
    pytest.importorskip("ray")
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ConfigError, match=rf"ray_address '127.0.0.1:{port}': no Ray cluster"):
        next(open_executor("ray", f"127.0.0.1:{port}").map_shards(_pair, "x", [1]))
    assert time.monotonic() - started < 10


def test_the_local_executor_sets_up_once_then_maps_in_order() -> None:
    setups: list[str] = []

    def setup(context: str) -> str:
        setups.append(context)
        return context.upper()

    results = LocalExecutor().map_actors(setup, _pair, "s", iter([2, 1]))
    assert list(results) == ["S2", "S1"] and setups == ["s"]


def test_embedding_in_process_leaves_the_cache_embedding_itself(tmp_path: Path) -> None:
    with EmbeddingCache(tmp_path) as cache:
        with embedding_on(cache, LocalExecutor()):
            assert cache.runner is None
        with embedding_on(cache, RayExecutor()):  # set for the block; starts nothing yet
            assert cache.runner is not None
        assert cache.runner is None
