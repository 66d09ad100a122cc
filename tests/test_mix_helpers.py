"""Builders shared by the mix tests: small corpora, specs and a tiny tokenizer.

The tiny tokenizer splits on words and punctuation, so a test knows the
token count of a text it wrote: one token per word.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer.main
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from toolkit.cli.mix import app
from toolkit.document import Document, Provenance
from toolkit.io import write_documents

WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta")


def make_docs(
    kind: str,
    n: int,
    tag: str,
    *,
    words: int = 20,
    metadata: dict[str, Any] | None = None,
    principle_ids: tuple[str, ...] = ("p1",),
) -> Iterator[Document]:
    """`n` documents of `words + 2` words each (a tag and a number lead the text)."""
    prov = Provenance(
        backend="offline",
        model="fake-1",
        template=kind,
        template_version="v1",
        constitution_version="c1",
        created_at="2025-01-01T00:00:00+00:00",
    )
    for i in range(n):
        body = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(words))
        yield Document.create(
            kind,
            f"{tag} n{i} {body}",
            principle_ids=principle_ids,
            provenance=prov,
            metadata=dict(metadata or {}),
        )


def write_corpus(path: Path, docs: Iterator[Document] | list[Document]) -> Path:
    write_documents(docs, path, overwrite=True)
    return path


def tiny_tokenizer(path: Path) -> Path:
    """A WordLevel tokenizer trained on a few sentences, saved as tokenizer.json."""
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(special_tokens=["[UNK]"])
    tokenizer.train_from_iterator([" ".join(WORDS), "story explainer advice"], trainer)
    tokenizer.save(str(path))
    return path


def write_spec(path: Path, sources: dict[str, dict[str, Any]], **top: Any) -> Path:
    """A TOML spec from plain values (strings, numbers, lists of strings, tables)."""

    def value(v: Any) -> str:
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        return repr(v)

    lines = [f"{k} = {value(v)}" for k, v in top.items()]
    for name, table in sources.items():
        lines.append(f"\n[sources.{name}]")
        lines += [f"{k} = {value(v)}" for k, v in table.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_mix(*args: str) -> None:
    """Run `ccorpus mix ARGS` in-process; library errors propagate as raised."""
    typer.main.get_command(app).main(list(args), standalone_mode=False)


def test_tiny_tokenizer_counts_one_token_per_word(tmp_path: Path) -> None:
    from toolkit.mix import TokenCounter

    with TokenCounter(tiny_tokenizer(tmp_path / "tok.json")) as counter:
        assert counter.count([("a", "alpha beta gamma"), ("b", "unknown words here x")]) == [3, 4]
