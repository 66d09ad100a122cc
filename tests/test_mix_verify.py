"""`mix verify` and `mix inspect`, through the typer app as a user runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer.main
import zstandard

from tests.test_mix_helpers import make_docs, run_mix, tiny_tokenizer, write_corpus, write_spec
from toolkit.cli.mix import app
from toolkit.cli.reference import commands
from toolkit.errors import CheckFailed, InputError
from toolkit.mix import verify_mix


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    write_corpus(tmp_path / "in/stories", make_docs("story", 60, "s", words=30))
    write_corpus(tmp_path / "in/advice", make_docs("advice", 10, "a", words=10))
    sources = {
        "stories": {"path": "in/stories", "share": 0.7},
        "advice": {"path": "in/advice", "share": 0.3},
    }
    return write_spec(
        tmp_path / "mix.toml",
        sources,
        target_tokens=1500,
        seed=9,
        max_epochs=2,
        validation_fraction=0.2,
        shard_documents=20,
    )


@pytest.fixture
def built(spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    run_mix("build", str(spec), "--out", str(tmp_path / "out"), "--quiet")
    capsys.readouterr()
    return tmp_path / "out"


def test_build_prints_composition_and_notes(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_mix("build", str(spec), "--out", str(tmp_path / "out"), "--quiet")
    out, err = capsys.readouterr()
    assert "shard file(s)" in out and "stories" in out and "advice" in out
    assert "note: source advice:" in err and "requested; used" in err


def test_verify_passes_on_a_fresh_build(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_mix("verify", str(built), "--json", "--quiet")
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["problems"] == []
    manifest = json.loads((built / "manifest.json").read_text())
    assert report["shards"] == len(manifest["shards"])


def test_verify_fails_naming_a_tampered_shard(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shard = built / "parquet/train/part-00001.parquet"
    shard.write_bytes(shard.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(CheckFailed) as info:
        run_mix("verify", str(built), "--quiet")
    assert info.value.exit_code == 1
    assert str(info.value).startswith(f"{built}: parquet/train/part-00001.parquet: sha256 is ")
    assert "FAILED" in capsys.readouterr().out


def test_verify_fails_when_a_jsonl_row_is_edited(built: Path) -> None:
    shard = built / "jsonl/validation/part-00000.jsonl.zst"
    text = zstandard.ZstdDecompressor().decompressobj().decompress(shard.read_bytes())
    first, rest = text.split(b"\n", 1)
    row = json.loads(first)
    row["text"] += " plus several extra words"
    edited = json.dumps(row).encode() + b"\n" + rest
    shard.write_bytes(zstandard.ZstdCompressor().compress(edited))
    report = verify_mix(built, quiet=True)
    shard_name = "jsonl/validation/part-00000.jsonl.zst"
    problems = [p for p in report["problems"] if p.startswith(shard_name)]
    assert any("sha256" in p for p in problems)
    assert any("tokens, manifest says" in p for p in problems)


def test_verify_fails_naming_the_shard_after_manifest_tampering(built: Path) -> None:
    manifest = json.loads((built / "manifest.json").read_text())
    manifest["shards"][0]["documents"] += 1
    (built / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        CheckFailed, match=r"^\S+: jsonl/train/part-00000\.jsonl\.zst: 20 documents"
    ):
        run_mix("verify", str(built), "--quiet")


def test_verify_flags_an_edited_spec_and_an_unlisted_shard(built: Path) -> None:
    manifest = json.loads((built / "manifest.json").read_text())
    manifest["spec"]["seed"] = 10
    (built / "manifest.json").write_text(json.dumps(manifest))
    (built / "parquet/train/part-09999.parquet").write_bytes(b"stray")
    (built / "train").mkdir()  # where a ccorpus-mix/1 build put its shards
    (built / "train/part-00000.jsonl.zst").write_bytes(b"stray")
    problems = verify_mix(built, quiet=True)["problems"]
    assert "manifest.json: spec_sha256 does not match the spec it records" in problems
    assert "parquet/train/part-09999.parquet: not listed in the manifest" in problems
    assert "train/part-00000.jsonl.zst: not listed in the manifest" in problems
    assert "README.md: missing or not the card the manifest renders" in problems


def test_verify_fails_naming_a_missing_shard(built: Path) -> None:
    (built / "parquet/validation/part-00000.parquet").unlink()
    problems = verify_mix(built, quiet=True)["problems"]
    assert problems[0] == "parquet/validation/part-00000.parquet: missing"
    assert any(p.startswith("parquet shards: source stories validation holds 0") for p in problems)


def test_verify_holds_each_format_to_its_own_folder(built: Path) -> None:
    """A manifest may not place a shard beside another format's, nor misstate the layout."""
    manifest = json.loads((built / "manifest.json").read_text())
    entry = next(e for e in manifest["shards"] if e["format"] == "parquet")
    moved = "jsonl/train/" + entry["path"].rsplit("/", 1)[1]
    (built / entry["path"]).rename(built / moved)
    entry["path"] = moved
    manifest["layout"]["parquet"].pop("validation")
    (built / "manifest.json").write_text(json.dumps(manifest))
    problems = verify_mix(built, quiet=True)["problems"]
    assert f"{moved}: not where the layout puts train parquet (parquet/train/*.parquet)" in problems
    assert "manifest.json: layout does not match the shards it lists" in problems


def test_verify_names_the_older_layout_and_how_to_replace_it(built: Path) -> None:
    manifest = json.loads((built / "manifest.json").read_text())
    (built / "manifest.json").write_text(json.dumps({**manifest, "format": "ccorpus-mix/1"}))
    with pytest.raises(CheckFailed, match=r"'ccorpus-mix/1' .* rebuild the mix"):
        verify_mix(built, quiet=True)


def test_verify_a_malformed_or_missing_manifest(built: Path, tmp_path: Path) -> None:
    (built / "manifest.json").write_text('{"format": "ccorpus-mix/1"}')
    with pytest.raises(CheckFailed, match="malformed"):
        verify_mix(built, quiet=True)
    with pytest.raises(InputError, match=r"no manifest\.json"):
        run_mix("verify", str(tmp_path))


def test_verify_with_a_custom_tokenizer_needs_it(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tok = tiny_tokenizer(tmp_path / "tok.json")
    spec.write_text(f'tokenizer = "{tok.name}"\n' + spec.read_text())
    run_mix("build", str(spec), "--out", str(tmp_path / "custom"), "--quiet")
    with pytest.raises(InputError, match=r"pass its tokenizer\.json with --tokenizer"):
        verify_mix(tmp_path / "custom", quiet=True)
    run_mix("verify", str(tmp_path / "custom"), "--tokenizer", str(tok), "--quiet")
    assert capsys.readouterr().out.strip().endswith("ok")


def test_inspect_json_reports_composition(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_mix("inspect", str(built), "--json")
    report = json.loads(capsys.readouterr().out)
    manifest = json.loads((built / "manifest.json").read_text())
    assert report["tokens"] == manifest["tokens"]
    assert set(report["sources"]) == {"stories", "advice"}
    advice = report["sources"]["advice"]
    assert advice["epochs_realised"] == 2.0 and advice["max_epochs"] == 2
    assert set(report["kinds"]) == {"story", "advice"}
    for kind in report["kinds"].values():
        assert set(kind) == {"train", "validation"}
    total = sum(s["by_split"][x]["tokens"] for s in report["sources"].values() for x in kind)
    assert total == report["tokens"]["realised"]
    assert report["formats"] == ["jsonl.zst", "parquet"]
    for fmt, folder in (("jsonl.zst", "jsonl"), ("parquet", "parquet")):
        for split in ("train", "validation"):
            where = report["layout"][fmt][split]
            assert where["folder"] == f"{folder}/{split}"
            assert where["documents"] == manifest["splits"][split]["documents"]
            assert where["shards"] == len(list((built / folder / split).iterdir()))
    run_mix("inspect", str(built))
    out, err = capsys.readouterr()
    assert "stories" in out and "epochs" in out and "note:" in err
    assert re.search(r"^parquet +parquet/validation/ +\d+ +\d+$", out, re.MULTILINE)


def test_verify_names_a_row_with_missing_columns(built: Path) -> None:
    shard = built / "jsonl/train/part-00000.jsonl.zst"
    text = zstandard.ZstdDecompressor().decompressobj().decompress(shard.read_bytes())
    first, rest = text.split(b"\n", 1)
    row = json.loads(first)
    del row["text"]
    shard.write_bytes(zstandard.ZstdCompressor().compress(json.dumps(row).encode() + b"\n" + rest))
    problems = verify_mix(built, quiet=True)["problems"]
    assert any(
        p.startswith("jsonl/train/part-00000.jsonl.zst: row 1 has columns") for p in problems
    )


def test_every_mix_command_has_help_and_json() -> None:
    found = dict(commands(typer.main.get_command(app), ("mix",)))
    assert set(found) == {("mix", "build"), ("mix", "verify"), ("mix", "inspect")}
    for path, command in found.items():
        assert (command.help or "").strip(), path
        options = [p for p in command.params if p.param_type_name == "option"]
        assert all((p.help or "").strip() for p in options if p.name != "help"), path
        assert any("--json" in p.opts for p in options), path
