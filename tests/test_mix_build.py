"""Building a mix: filters, token shares, epoch caps, splits, determinism, data card."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import zstandard

from tests.test_mix_helpers import make_docs, tiny_tokenizer, write_corpus, write_spec
from toolkit.document import Document
from toolkit.errors import InputError
from toolkit.io import read_documents
from toolkit.mix import SourceSpec, TokenCounter, build_mix, in_validation, load_spec
from toolkit.mix.select import drop_reason
from toolkit.mix.tokens import DEFAULT_TOKENIZER_NAME


def _rows(out: Path, split: str = "*") -> list[dict[str, Any]]:
    rows = []
    for shard in sorted(out.glob(f"jsonl/{split}/part-*.jsonl.zst")):
        data = zstandard.ZstdDecompressor().decompressobj().decompress(shard.read_bytes())
        rows += [json.loads(line) for line in data.splitlines()]
    return rows


@pytest.fixture
def tok(tmp_path: Path) -> str:
    return str(tiny_tokenizer(tmp_path / "tokenizer.json"))


def _three_sources(tmp_path: Path, tok: str, **top: Any) -> Path:
    """stories 10,000 tokens; explainers 10,000; advice 1,000 (tiny tokenizer: 25 a doc)."""
    write_corpus(tmp_path / "in/stories", make_docs("story", 400, "s", words=23))
    write_corpus(tmp_path / "in/explainers", make_docs("explainer", 400, "e", words=23))
    write_corpus(tmp_path / "in/advice", make_docs("advice", 40, "a", words=23))
    sources = {
        "stories": {"path": "in/stories", "share": 0.5},
        "explainers": {"path": "in/explainers", "share": 0.3},
        "advice": {"path": "in/advice", "share": 0.2},
    }
    settings: dict[str, Any] = {"target_tokens": 8000, "seed": 3, "max_epochs": 2, "tokenizer": tok}
    settings.update(top)
    return write_spec(tmp_path / "mix.toml", sources, **settings)


def test_drop_reason_applies_each_filter() -> None:
    (meta,) = make_docs("story", 1, "x", metadata={"review": {"status": "approved"}})
    (bare,) = make_docs("story", 1, "y", principle_ids=("p2",))
    scored = Document.create("story", "z", metadata={"quality": {"score": 0.7, "style": 0.1}})
    spec_path = write_spec(
        Path("mix.toml"), {"s": {"path": ".", "share": 1.0}}, target_tokens=1, seed=1
    )
    source = load_spec(spec_path).sources[0]

    def with_(**changes: Any) -> SourceSpec:
        return dataclasses.replace(source, **changes)

    assert drop_reason(meta, with_(kinds=("advice",))) == "kind"
    assert drop_reason(meta, with_(kinds=("story",))) is None
    assert drop_reason(meta, with_(review_status=("approved",))) is None
    assert drop_reason(bare, with_(review_status=("approved",))) == "review_status"
    assert drop_reason(bare, with_(review_status=("unreviewed",))) is None
    assert drop_reason(bare, with_(min_quality=(("score", 0.5),))) == "min_quality"
    assert drop_reason(scored, with_(min_quality=(("score", 0.5),))) is None
    assert drop_reason(scored, with_(min_quality=(("score", 0.5), ("style", 0.2)))) == (
        "min_quality"
    )
    assert drop_reason(bare, with_(principle_ids=("p1", "p3"))) == "principle_ids"
    assert drop_reason(bare, with_(principle_ids=("p2",))) is None


def test_filters_are_applied_and_every_drop_counted(tmp_path: Path, tok: str) -> None:
    approved = {"review": {"status": "approved"}, "quality": {"score": 0.9}}
    docs = [
        *make_docs("story", 10, "ok", metadata=approved),
        *make_docs("story", 4, "rej", metadata={"review": {"status": "rejected"}}),
        *make_docs("story", 3, "low", metadata={**approved, "quality": {"score": 0.1}}),
        *make_docs("story", 2, "off", principle_ids=("p9",), metadata=approved),
        *make_docs("advice", 5, "adv"),
    ]
    write_corpus(tmp_path / "in/mixed", docs)
    source = {
        "path": "in/mixed",
        "share": 1.0,
        "kinds": ["story"],
        "review_status": ["approved"],
        "min_quality": 0.5,
        "principle_ids": ["p1"],
    }
    spec = write_spec(
        tmp_path / "mix.toml", {"m": source}, target_tokens=220, seed=1, tokenizer=tok
    )
    manifest = build_mix(spec, tmp_path / "out", quiet=True)
    entry = manifest["sources"]["m"]
    assert entry["dropped"] == {"kind": 5, "min_quality": 3, "principle_ids": 2, "review_status": 4}
    assert entry["documents_read"] == 24 and entry["documents_available"] == 10
    assert {r["text"].split()[0] for r in _rows(tmp_path / "out")} == {"ok"}


def test_min_quality_selects_by_what_a_quality_run_wrote(tmp_path: Path, tok: str) -> None:
    from tests.test_quality_filter import BARELY_PASSING_STORY, _fixtures
    from toolkit.io import write_documents
    from toolkit.quality import filter_corpus

    good = next(doc for entry, doc in _fixtures() if entry["name"] == "clean_story")
    barely = Document.create("story", BARELY_PASSING_STORY)
    write_documents([good, barely], tmp_path / "generated.jsonl", compress=False)
    filter_corpus(tmp_path / "generated.jsonl", tmp_path / "quality", embeddings=False, quiet=True)
    kept = {d.id: d for d in read_documents(tmp_path / "quality" / "kept")}
    scores = {i: d.metadata["quality"]["score"] for i, d in kept.items()}
    assert scores[barely.id] < 0.8 < scores[good.id]
    source = {"path": "quality/kept", "share": 1.0, "min_quality": 0.8}
    spec = write_spec(
        tmp_path / "mix.toml", {"s": source}, target_tokens=200, seed=1, tokenizer=tok
    )
    manifest = build_mix(spec, tmp_path / "out", quiet=True)
    assert manifest["sources"]["s"]["dropped"] == {"min_quality": 1}
    assert {row["id"] for row in _rows(tmp_path / "out")} == {good.id}
    # a table names the score, a score term of the profile, or a signal
    source_spec = load_spec(spec).sources[0]
    for minimum in ({"deliberation": 0.9}, {"deliberation_first_person": 2}):
        by_term = dataclasses.replace(source_spec, min_quality=tuple(minimum.items()))
        assert drop_reason(kept[barely.id], by_term) == "min_quality"
        assert drop_reason(kept[good.id], by_term) is None


def test_token_shares_within_one_percent(tmp_path: Path, tok: str) -> None:
    manifest = build_mix(_three_sources(tmp_path, tok), tmp_path / "out", quiet=True)
    assert manifest["notes"] == []
    total = manifest["tokens"]["realised"]
    assert abs(total - 8000) / 8000 < 0.01
    for name, share in (("stories", 0.5), ("explainers", 0.3), ("advice", 0.2)):
        source = manifest["sources"][name]
        assert abs(source["tokens_realised"] / total - share) < 0.01, name
        assert source["share_realised"] == pytest.approx(source["tokens_realised"] / total)
    assert manifest["sources"]["advice"]["epochs_realised"] == pytest.approx(1.6, abs=0.03)
    assert manifest["tokenizer"]["name"] == tok
    rows = _rows(tmp_path / "out")
    assert sum(len(r["text"].split()) for r in rows) == total  # one token per word


def test_epoch_cap_shortfall_is_reported_not_redistributed(tmp_path: Path, tok: str) -> None:
    spec = _three_sources(tmp_path, tok, target_tokens=20_000, max_epochs=1)
    manifest = build_mix(spec, tmp_path / "out", quiet=True)
    advice = manifest["sources"]["advice"]
    assert advice["tokens_requested"] == 4000 and advice["tokens_realised"] == 1000
    assert advice["epochs_realised"] == 1.0
    assert manifest["notes"][0] == (
        "source advice: 1,000 tokens available, at most 1 epochs = 1,000 < 4,000 requested; "
        "used 1,000"
    )
    assert 'fill = "none"' in manifest["notes"][1]
    assert manifest["sources"]["stories"]["tokens_realised"] == pytest.approx(10_000, abs=13)
    assert manifest["tokens"]["realised"] < 20_000


def test_redistribute_and_scale_policies(tmp_path: Path, tok: str) -> None:
    spec = _three_sources(tmp_path, tok, target_tokens=12_000, fill="redistribute")
    spread = build_mix(spec, tmp_path / "spread", quiet=True)["sources"]
    assert spread["advice"]["tokens_realised"] == 2000  # 1,000 available x 2 epochs
    assert sum(s["tokens_realised"] for s in spread.values()) == pytest.approx(12_000, abs=25)
    # the 400 advice could not give goes 5:3 to stories and explainers
    assert spread["stories"]["tokens_realised"] == pytest.approx(6000 + 400 * 5 / 8, abs=13)
    assert spread["explainers"]["tokens_realised"] == pytest.approx(3600 + 400 * 3 / 8, abs=13)
    spec = _three_sources(tmp_path, tok, target_tokens=12_000, fill="scale")
    scaled = build_mix(spec, tmp_path / "scaled", quiet=True)
    assert scaled["tokens"]["realised"] == pytest.approx(10_000, abs=40)  # 2,000 / 2,400
    for name, share in (("stories", 0.5), ("explainers", 0.3), ("advice", 0.2)):
        assert scaled["sources"][name]["share_realised"] == pytest.approx(share, abs=0.01)


def test_rebuild_is_byte_identical(tmp_path: Path, tok: str) -> None:
    spec = _three_sources(tmp_path, tok, validation_fraction=0.1)  # both formats by default
    build_mix(spec, tmp_path / "a", quiet=True)
    build_mix(spec, tmp_path / "b", quiet=True)
    with pytest.raises(InputError, match=r"holds an earlier output .*pass --overwrite"):
        build_mix(spec, tmp_path / "a", quiet=True)
    build_mix(spec, tmp_path / "a", quiet=True, overwrite=True)  # in place, from the token cache
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*"))
    assert files_a == files_b
    shown = [f for f in files_a if not f.parts[0].startswith(".")]
    assert Path("manifest.json") in shown and Path("README.md") in shown
    assert Path("parquet/train/part-00000.parquet") in shown
    assert Path("jsonl/validation/part-00000.jsonl.zst") in shown
    for name in shown:
        if (tmp_path / "a" / name).is_file():
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_validation_split_is_stable_as_the_corpus_grows(tmp_path: Path, tok: str) -> None:
    write_corpus(tmp_path / "in/s", make_docs("story", 200, "s"))
    spec = write_spec(
        tmp_path / "mix.toml",
        {"s": {"path": "in/s", "share": 1.0}},
        target_tokens=4400,
        seed=5,
        validation_fraction=0.2,
        tokenizer=tok,
    )
    build_mix(spec, tmp_path / "before", quiet=True)
    held_out = {r["id"] for r in _rows(tmp_path / "before", "validation")}
    assert 20 <= len(held_out) <= 60
    assert all(in_validation(i, 0.2) for i in held_out)
    write_corpus(tmp_path / "in/s", make_docs("story", 400, "s"))  # the first 200 plus 200 new
    spec.write_text(spec.read_text().replace("4400", "8800").replace("seed = 5", "seed = 6"))
    build_mix(spec, tmp_path / "after", quiet=True)
    after_valid = {r["id"] for r in _rows(tmp_path / "after", "validation")}
    after_train = {r["id"] for r in _rows(tmp_path / "after", "train")}
    assert held_out <= after_valid
    assert not held_out & after_train
    assert not after_valid & after_train


def test_duplicate_ids_across_sources_are_dropped_once(tmp_path: Path, tok: str) -> None:
    write_corpus(tmp_path / "in/a", make_docs("story", 10, "s"))
    write_corpus(tmp_path / "in/b", make_docs("story", 12, "s"))
    sources = {"a": {"path": "in/a", "share": 0.5}, "b": {"path": "in/b", "share": 0.5}}
    spec = write_spec(tmp_path / "mix.toml", sources, target_tokens=80, seed=1, tokenizer=tok)
    manifest = build_mix(spec, tmp_path / "out", quiet=True)
    assert manifest["sources"]["b"]["dropped"] == {"duplicate_id": 10}
    assert manifest["sources"]["b"]["documents_available"] == 2


def test_shard_tokens_bounds_each_shard(tmp_path: Path, tok: str) -> None:
    spec = _three_sources(tmp_path, tok, shard_tokens=1000)
    manifest = build_mix(spec, tmp_path / "out", quiet=True)
    assert len(manifest["shards"]) >= 16  # the same shards in each of the two formats
    assert all(0 < s["tokens"] <= 1000 for s in manifest["shards"])
    for fmt in ("jsonl.zst", "parquet"):
        tokens = sum(s["tokens"] for s in manifest["shards"] if s["format"] == fmt)
        assert tokens == manifest["tokens"]["realised"]


def test_rebuild_removes_stale_shards_and_refuses_foreign_directories(
    tmp_path: Path, tok: str
) -> None:
    spec = _three_sources(tmp_path, tok, shard_documents=50)
    build_mix(spec, tmp_path / "out", quiet=True)
    assert (tmp_path / "out/jsonl/train/part-00005.jsonl.zst").exists()
    assert (tmp_path / "out/parquet/train/part-00005.parquet").exists()
    (tmp_path / "out/train").mkdir()  # a ccorpus-mix/1 layout: both formats per split folder
    (tmp_path / "out/train/part-00000.parquet").write_bytes(b"old")
    settings = spec.read_text().replace("shard_documents = 50", "shard_documents = 500")
    spec.write_text('formats = ["jsonl.zst"]\n' + settings)
    build_mix(spec, tmp_path / "out", quiet=True, overwrite=True)
    left = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*"))
    assert [p for p in left if not p.startswith(".")] == [
        "README.md",
        "jsonl",
        "jsonl/train",
        "jsonl/train/part-00000.jsonl.zst",
        "manifest.json",
    ]
    (tmp_path / "other").mkdir()
    (tmp_path / "other/notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"notes\.txt"):
        build_mix(spec, tmp_path / "other", quiet=True)


def test_default_tokenizer_is_named_and_not_truncated(tmp_path: Path) -> None:
    with TokenCounter(cache=tmp_path / "cache.sqlite") as counter:
        assert counter.info.name == DEFAULT_TOKENIZER_NAME
        long = "the agent paused before acting " * 100
        assert counter.count([("x", long)]) == [500]
        assert counter.count([("x", long)]) == [500] and counter.hits == 1
        assert counter.encoded == 1


def test_data_card_has_chart_counts_and_contamination(tmp_path: Path, tok: str) -> None:
    report = tmp_path / "contamination.json"
    summary = {"documents": 3, "gate": {"passed": False, "failing": [{"eval": "x"}]}}
    report.write_text(json.dumps({"summary": summary, "hits": []}))
    spec = _three_sources(tmp_path, tok, contamination_report="contamination.json", name="demo")
    manifest = build_mix(spec, tmp_path / "out", quiet=True)
    card = (tmp_path / "out/README.md").read_text()
    assert card.startswith("---\npretty_name: demo\n")
    assert "\n---\n\n# demo: a ccorpus training mix\n" in card
    # no validation fraction: the card's config lists the one split that has files
    assert "    path: parquet/train/*.parquet\n" in card and "validation/*" not in card
    assert "<svg" in card and "</svg>" in card and card.count("<rect") == 2 + 2 * 3
    assert f"{manifest['tokens']['realised']:,} tokens (8,000 requested)" in card
    assert "| stories | `in/stories` | 50.0% |" in card
    assert "| `documents` | 3 |" in card and "| `gate.passed` | false |" in card
    assert "| `gate.failing` | 1 entries |" in card and "## Known limits" in card
    assert manifest["contamination"]["summary"] == summary
    assert set(manifest["versions"]["templates"]) == {"advice.v1", "explainer.v1", "story.v1"}
    assert manifest["versions"]["models"] == {
        "fake-1": 160 + 96 + 40
    }  # unique documents in the mix


def test_empty_mix_is_refused(tmp_path: Path, tok: str) -> None:
    write_corpus(tmp_path / "in/s", make_docs("story", 3, "s"))
    source = {"path": "in/s", "share": 1.0, "kinds": ["advice"]}
    spec = write_spec(tmp_path / "mix.toml", {"s": source}, target_tokens=10, seed=1, tokenizer=tok)
    with pytest.raises(InputError, match="nothing to mix"):
        build_mix(spec, tmp_path / "out", quiet=True)
