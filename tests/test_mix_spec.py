"""Mix spec parsing: every mistake is one ConfigError naming the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_mix_helpers import make_docs, run_mix, write_corpus, write_spec
from toolkit.errors import ConfigError, InputError
from toolkit.mix import load_spec


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "data" / "stories", make_docs("story", 3, "s"))


def _spec(tmp_path: Path, sources: dict[str, dict[str, Any]] | None = None, **top: Any) -> Path:
    settings: dict[str, Any] = {"target_tokens": 1000, "seed": 1, **top}
    sources = sources or {"stories": {"path": "data/stories", "share": 1.0}}
    return write_spec(tmp_path / "mix.toml", sources, **settings)


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    assert info.value.exit_code == 2
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    return message


def test_valid_spec_fills_defaults_and_resolves_paths_against_the_spec(
    tmp_path: Path, corpus: Path
) -> None:
    spec = load_spec(_spec(tmp_path, max_epochs=3, formats=["parquet", "jsonl.zst"]))
    (source,) = spec.sources
    assert source.resolved == corpus
    assert source.max_epochs == 3
    assert spec.formats == ("jsonl.zst", "parquet")
    assert spec.fill == "none" and spec.validation_fraction == 0.0
    assert spec.shard_documents == 10_000 and spec.shard_tokens is None
    assert spec.name == "mix"
    assert spec.license is None and spec.language == ()


def test_both_formats_by_default_and_card_metadata_when_stated(
    tmp_path: Path, corpus: Path
) -> None:
    assert load_spec(_spec(tmp_path)).formats == ("jsonl.zst", "parquet")
    spec = load_spec(_spec(tmp_path, formats=["parquet"], license="cc-by-4.0", language=["en"]))
    assert spec.formats == ("parquet",)
    assert spec.to_dict()["license"] == "cc-by-4.0" and spec.to_dict()["language"] == ["en"]


def test_min_quality_accepts_a_number_or_a_table(tmp_path: Path, corpus: Path) -> None:
    source = {"path": "data/stories", "share": 1.0, "min_quality": 0.5}
    assert load_spec(_spec(tmp_path, {"s": source})).sources[0].min_quality == (("score", 0.5),)
    source["min_quality"] = {"score": 0.5, "coherence": 0.2}
    parsed = load_spec(_spec(tmp_path, {"s": source})).sources[0].min_quality
    assert parsed == (("coherence", 0.2), ("score", 0.5))


def test_unknown_top_level_key_lists_the_valid_ones(tmp_path: Path, corpus: Path) -> None:
    message = _error(_spec(tmp_path, target_token=5))
    assert "target_token: unknown key" in message
    assert "target_tokens" in message and "validation_fraction" in message


def test_unknown_source_key_names_the_source(tmp_path: Path, corpus: Path) -> None:
    path = _spec(tmp_path, {"stories": {"path": "data/stories", "share": 1.0, "kind": ["x"]}})
    message = _error(path)
    assert "sources.stories.kind: unknown key; valid keys are" in message
    assert "kinds" in message


def test_shares_must_sum_to_one(tmp_path: Path, corpus: Path) -> None:
    sources = {
        "a": {"path": "data/stories", "share": 0.5},
        "b": {"path": "data/stories", "share": 0.4},
    }
    message = _error(_spec(tmp_path, sources))
    assert "sources.*.share" in message and "a=0.5, b=0.4" in message and "sum 0.9" in message


def test_shares_within_tolerance_are_accepted(tmp_path: Path, corpus: Path) -> None:
    sources = {
        "a": {"path": "data/stories", "share": 0.1},
        "b": {"path": "data/stories", "share": 0.2},
        "c": {"path": "data/stories", "share": 0.7000000001},
    }
    assert len(load_spec(_spec(tmp_path, sources)).sources) == 3


def test_missing_source_path_is_named(tmp_path: Path) -> None:
    message = _error(_spec(tmp_path, {"stories": {"path": "nowhere", "share": 1.0}}))
    assert "sources.stories.path:" in message and "does not exist" in message


def test_missing_tokenizer_file_is_named(tmp_path: Path, corpus: Path) -> None:
    message = _error(_spec(tmp_path, tokenizer="tok/tokenizer.json"))
    assert "tokenizer:" in message and "does not exist" in message


def test_source_without_path_key(tmp_path: Path) -> None:
    message = _error(_spec(tmp_path, {"stories": {"share": 1.0}}))
    assert "sources.stories.path: missing" in message


@pytest.mark.parametrize(
    ("top", "fragment"),
    [
        ({"formats": ["csv"]}, "formats: expected a non-empty list drawn from jsonl.zst, parquet"),
        ({"fill": "spread"}, "fill: expected one of none, redistribute, scale, got 'spread'"),
        ({"validation_fraction": 1.0}, "validation_fraction: expected a number in [0, 1)"),
        ({"target_tokens": 0}, "target_tokens: expected a positive integer, got 0"),
        ({"max_epochs": 0.5}, "max_epochs: expected a number >= 1"),
        ({"shard_documents": 5, "shard_tokens": 5}, "give shard_documents or shard_tokens"),
        ({"seed": "x"}, "seed: expected an integer, got 'x'"),
        ({"license": ""}, "license: expected a license id for the data card"),
        ({"language": "en"}, "language: expected a list of language codes"),
        ({"language": ["en", "en"]}, "language: expected a list of language codes"),
    ],
)
def test_bad_values_say_what_was_expected(
    tmp_path: Path, corpus: Path, top: dict[str, Any], fragment: str
) -> None:
    assert fragment in _error(_spec(tmp_path, **top))


def test_bad_kind_filter(tmp_path: Path, corpus: Path) -> None:
    sources = {"s": {"path": "data/stories", "share": 1.0, "kinds": ["poem"]}}
    assert "sources.s.kinds: expected a list drawn from" in _error(_spec(tmp_path, sources))


def test_missing_required_key(tmp_path: Path, corpus: Path) -> None:
    path = write_spec(tmp_path / "mix.toml", {"s": {"path": "data/stories", "share": 1.0}}, seed=1)
    assert "target_tokens: missing" in _error(path)


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("target_tokens = = 3\n")
    assert "not valid TOML" in _error(bad)
    with pytest.raises(InputError, match="no such file"):
        load_spec(tmp_path / "absent.toml")


def test_cli_build_raises_the_config_error(tmp_path: Path, corpus: Path) -> None:
    path = _spec(tmp_path, bogus=1)
    with pytest.raises(ConfigError, match="bogus: unknown key"):
        run_mix("build", str(path), "--out", str(tmp_path / "out"), "--quiet")
