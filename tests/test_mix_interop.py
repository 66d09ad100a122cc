"""Shards load in the tools that train on them: HF datasets, pyarrow and DuckDB.

`datasets` must not reach the network: it runs offline, with its cache in
tmp_path, and any socket connection during these tests fails the test.
"""

from __future__ import annotations

import importlib
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.test_mix_helpers import make_docs, tiny_tokenizer, write_corpus, write_spec
from toolkit.mix import build_mix

# datasets reads its offline switch once, at import: set it first.
os.environ["HF_DATASETS_OFFLINE"] = "1"
datasets = importlib.import_module("datasets")
duckdb = importlib.import_module("duckdb")
pa = importlib.import_module("pyarrow")
pq = importlib.import_module("pyarrow.parquet")

COLUMNS = {
    "text",
    "id",
    "source",
    "kind",
    "principle_ids",
    "backend",
    "model",
    "template",
    "template_version",
    "constitution_version",
}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def mix(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    write_corpus(tmp_path / "in/s", make_docs("story", 80, "s"))
    write_corpus(tmp_path / "in/e", make_docs("explainer", 80, "e"))
    spec = write_spec(
        tmp_path / "mix.toml",
        {"s": {"path": "in/s", "share": 0.6}, "e": {"path": "in/e", "share": 0.4}},
        target_tokens=3000,
        seed=2,
        validation_fraction=0.2,
        formats=["jsonl.zst", "parquet"],
        shard_documents=40,
        tokenizer=str(tiny_tokenizer(tmp_path / "tok.json")),
    )
    return tmp_path / "out", build_mix(spec, tmp_path / "out", quiet=True)


def _files(out: Path, manifest: dict[str, Any], fmt: str, split: str) -> list[str]:
    return [
        str(out / s["path"])
        for s in manifest["shards"]
        if s["format"] == fmt and s["split"] == split
    ]


def _expected(manifest: dict[str, Any], split: str) -> tuple[int, int]:
    figures = manifest["splits"][split]
    return figures["documents"], figures["tokens"]


@pytest.mark.parametrize(("fmt", "builder"), [("jsonl.zst", "json"), ("parquet", "parquet")])
def test_hf_datasets_loads_both_splits(
    mix: tuple[Path, dict[str, Any]], tmp_path: Path, fmt: str, builder: str
) -> None:
    out, manifest = mix
    data_files = {split: _files(out, manifest, fmt, split) for split in ("train", "validation")}
    loaded = datasets.load_dataset(builder, data_files=data_files, cache_dir=str(tmp_path / "hf"))
    for split in ("train", "validation"):
        documents, tokens = _expected(manifest, split)
        assert loaded[split].num_rows == documents
        assert set(loaded[split].column_names) == COLUMNS
        assert sum(len(t.split()) for t in loaded[split]["text"]) == tokens  # 1 token a word


def test_pyarrow_reads_the_parquet_shards(mix: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = mix
    for split in ("train", "validation"):
        files = _files(out, manifest, "parquet", split)
        tables = [pq.read_table(f, use_threads=False) for f in files]
        assert sum(t.num_rows for t in tables) == manifest["splits"][split]["documents"]
        assert set(tables[0].schema.names) == COLUMNS
        principle_ids = tables[0].schema.field("principle_ids").type
        assert pa.types.is_list(principle_ids) and pa.types.is_string(principle_ids.value_type)


def test_duckdb_counts_match_the_manifest(mix: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = mix
    con = duckdb.connect()
    for fmt, reader in (("parquet", "read_parquet"), ("jsonl.zst", "read_json_auto")):
        for split in ("train", "validation"):
            files = _files(out, manifest, fmt, split)
            query = f"SELECT source, count(*) FROM {reader}(?) GROUP BY source ORDER BY source"
            counts = dict(con.execute(query, [files]).fetchall())
            expected = {
                name: s["by_split"][split]["documents"] for name, s in manifest["sources"].items()
            }
            assert counts == {k: v for k, v in expected.items() if v}, (fmt, split)
