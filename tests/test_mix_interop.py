"""A mix folder loads in the tools that train on it: HF datasets, pyarrow and DuckDB.

Each format has its own folder (`parquet/SPLIT/`, `jsonl/SPLIT/`), so every
loader is pointed at a folder or a glob, never at a list of files picked out
of the manifest. `datasets` must not reach the network: it runs offline, with
its cache in tmp_path, and any socket connection during these tests fails the
test.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_mix_helpers import make_docs, tiny_tokenizer, write_corpus, write_spec
from toolkit.mix import build_mix

# datasets reads its offline switches once, at import: set them first.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
datasets = importlib.import_module("datasets")
duckdb = importlib.import_module("duckdb")
huggingface_hub = importlib.import_module("huggingface_hub")
pa = importlib.import_module("pyarrow")
pads = importlib.import_module("pyarrow.dataset")

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
SPLITS = ("train", "validation")
FOLDERS = {"parquet": ("parquet", ".parquet"), "jsonl": ("json", ".jsonl.zst")}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _build(tmp_path: Path, **top: Any) -> tuple[Path, dict[str, Any]]:
    write_corpus(tmp_path / "in/s", make_docs("story", 80, "s"))
    write_corpus(tmp_path / "in/e", make_docs("explainer", 80, "e"))
    spec = write_spec(
        tmp_path / "mix.toml",
        {"s": {"path": "in/s", "share": 0.6}, "e": {"path": "in/e", "share": 0.4}},
        target_tokens=3000,
        seed=2,
        validation_fraction=0.2,
        shard_documents=40,
        tokenizer=str(tiny_tokenizer(tmp_path / "tok.json")),
        **top,
    )
    return tmp_path / "out", build_mix(spec, tmp_path / "out", quiet=True)


@pytest.fixture
def mix(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """Both formats (the default), with a license and a language stated in the spec."""
    return _build(tmp_path, license="cc-by-4.0", language=["en"])


def _load(*args: Any, cache: Path, **kwargs: Any) -> Any:
    return datasets.load_dataset(*args, cache_dir=str(cache), **kwargs)


def _check_split(loaded: Any, manifest: dict[str, Any], split: str) -> None:
    figures = manifest["splits"][split]
    assert loaded.num_rows == figures["documents"]
    assert set(loaded.column_names) == COLUMNS
    assert sum(len(t.split()) for t in loaded["text"]) == figures["tokens"]  # 1 token a word


def _card_yaml(out: Path) -> dict[str, Any]:
    text = (out / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    front, _ = text[4:].split("\n---\n", 1)
    data = yaml.safe_load(front)
    assert isinstance(data, dict)
    return data


def test_each_folder_holds_one_format(mix: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = mix
    assert manifest["spec"]["formats"] == ["jsonl.zst", "parquet"]
    assert manifest["layout"] == {
        "jsonl.zst": {"train": "jsonl/train", "validation": "jsonl/validation"},
        "parquet": {"train": "parquet/train", "validation": "parquet/validation"},
    }
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "README.md",
        "jsonl",
        "manifest.json",
        "parquet",
    ]
    for folder, (_, suffix) in FOLDERS.items():
        assert sorted(p.name for p in (out / folder).iterdir()) == list(SPLITS)
        for split in SPLITS:
            names = [p.name for p in (out / folder / split).iterdir()]
            assert names and all(n.startswith("part-") and n.endswith(suffix) for n in names)
    listed = {s["path"] for s in manifest["shards"]}
    assert listed == {p.relative_to(out).as_posix() for p in out.rglob("part-*")}


@pytest.mark.parametrize("folder", list(FOLDERS))
def test_hf_datasets_loads_a_format_folder_by_data_dir(
    mix: tuple[Path, dict[str, Any]], tmp_path: Path, folder: str
) -> None:
    """Splits come from the folder names; a split folder alone loads as one split."""
    out, manifest = mix
    builder = FOLDERS[folder][0]
    loaded = _load(builder, data_dir=str(out / folder), cache=tmp_path / "hf")
    assert set(loaded) == set(SPLITS)
    for split in SPLITS:
        _check_split(loaded[split], manifest, split)
    train = _load(builder, data_dir=str(out / folder / "train"), cache=tmp_path / "hf")
    _check_split(train["train"], manifest, "train")


def test_hf_datasets_loads_the_mix_folder_from_the_card(
    mix: tuple[Path, dict[str, Any]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`load_dataset(<mix>)` follows the card's YAML configs; nothing warns."""
    out, manifest = mix
    with caplog.at_level(logging.WARNING):
        loaded = _load(str(out), cache=tmp_path / "hf")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert set(loaded) == set(SPLITS)
    for split in SPLITS:
        _check_split(loaded[split], manifest, split)
    declared = _card_yaml(out)["dataset_info"]["features"]
    assert loaded["train"].features == datasets.Features._from_yaml_list(declared)
    assert loaded["train"].features["principle_ids"] == datasets.List(datasets.Value("string"))


def test_card_header_is_hugging_face_metadata_true_to_the_mix(
    mix: tuple[Path, dict[str, Any]],
) -> None:
    out, manifest = mix
    card = huggingface_hub.DatasetCard.load(out / "README.md")
    data = card.data.to_dict()
    assert data["pretty_name"] == "mix"
    assert data["license"] == "cc-by-4.0" and data["language"] == ["en"]
    assert data["task_categories"] == ["text-generation"]
    assert sum(f["documents"] for f in manifest["splits"].values()) < 1000
    assert data["size_categories"] == ["n<1K"]
    assert data["configs"] == [
        {
            "config_name": "default",
            "default": True,
            "data_files": [
                {"split": "train", "path": "parquet/train/*.parquet"},
                {"split": "validation", "path": "parquet/validation/*.parquet"},
            ],
        }
    ]
    assert {f["name"] for f in data["dataset_info"]["features"]} == COLUMNS
    assert card.text.lstrip().startswith("# mix: a ccorpus training mix")


def test_card_states_no_license_or_language_the_spec_does_not(tmp_path: Path) -> None:
    out, _ = _build(tmp_path)
    data = _card_yaml(out)
    assert "license" not in data and "language" not in data


def test_a_jsonl_only_mix_declares_its_jsonl_folders(tmp_path: Path) -> None:
    out, manifest = _build(tmp_path, formats=["jsonl.zst"])
    assert not (out / "parquet").exists()
    assert _card_yaml(out)["configs"][0]["data_files"] == [
        {"split": "train", "path": "jsonl/train/*.jsonl.zst"},
        {"split": "validation", "path": "jsonl/validation/*.jsonl.zst"},
    ]
    loaded = _load(str(out), cache=tmp_path / "hf")
    for split in SPLITS:
        _check_split(loaded[split], manifest, split)


def test_pyarrow_dataset_reads_a_parquet_folder(mix: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = mix
    for split in SPLITS:
        table = pads.dataset(out / "parquet" / split).to_table(use_threads=False)
        assert table.num_rows == manifest["splits"][split]["documents"]
        assert set(table.schema.names) == COLUMNS
        principle_ids = table.schema.field("principle_ids").type
        assert pa.types.is_list(principle_ids) and pa.types.is_string(principle_ids.value_type)
    every_split = pads.dataset(out / "parquet")  # the format folder: both splits, one schema
    assert every_split.count_rows() == sum(f["documents"] for f in manifest["splits"].values())


def test_duckdb_reads_folder_globs(mix: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = mix
    con = duckdb.connect()
    for folder, reader in (("parquet", "read_parquet"), ("jsonl", "read_json")):
        suffix = FOLDERS[folder][1]
        for split in SPLITS:
            glob = str(out / folder / split / f"*{suffix}")
            query = f"SELECT source, count(*) FROM {reader}(?) GROUP BY source ORDER BY source"
            counts = dict(con.execute(query, [glob]).fetchall())
            expected = {
                name: s["by_split"][split]["documents"] for name, s in manifest["sources"].items()
            }
            assert counts == {k: v for k, v in expected.items() if v}, (folder, split)
