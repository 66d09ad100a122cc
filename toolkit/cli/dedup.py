"""`ccorpus dedup`: drop exact, near and semantic duplicates from a corpus.

A thin twin of `toolkit.dedup.deduplicate`. The root app registers it with
`app.command("dedup")(dedup_command)`; `app` here runs it alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from toolkit.cli.common import (
    AllowEmptyOption,
    ExecutorOption,
    JsonOption,
    OverwriteOption,
    QuietOption,
    RayAddressOption,
    default_of,
    emit_json,
    opened_executor,
    stdout_console,
)
from toolkit.dedup import STAGES, DedupConfig, deduplicate, parse_stages
from toolkit.embeddings import default_cache_dir

__all__ = ["app", "dedup_command"]


def _default(name: str) -> Any:
    return default_of(DedupConfig, name)


def _print_summary(report: dict[str, Any]) -> None:
    stdout_console.print(
        f"{report['documents']} documents: {report['kept']} kept, "
        f"{report['dropped_count']} dropped",
        markup=False,
    )
    for name, figures in report["stages"].items():
        stdout_console.print(
            f"  {name:<9} input {figures['input']:>8}  dropped {figures['dropped']:>8}  "
            f"clusters {figures['clusters']:>7}  {figures['seconds']:>8.2f} s",
            markup=False,
        )
    memory = report["memory"]
    stdout_console.print(
        f"memory: peak {memory['peak_mb']:.0f} MiB, dedup's own {memory['working_mb']:.0f} MiB "
        f"(bound {memory['bound_mb']} MiB{'' if memory['within_bound'] else ', EXCEEDED'})",
        markup=False,
    )
    stdout_console.print(
        f"kept in {report['out']['kept']}, rejected in {report['out']['rejected']}, "
        f"report {report['report']['json']}",
        markup=False,
    )


def dedup_command(
    corpus: Annotated[
        Path,
        typer.Argument(
            metavar="CORPUS", help="A .jsonl or .jsonl.zst file, or a directory of shards."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Output directory: kept/, rejected/ and the report.")
    ],
    stages: Annotated[
        str,
        typer.Option("--stages", help=f"Comma-separated stages to run, from {','.join(STAGES)}."),
    ] = ",".join(_default("stages")),
    near_threshold: Annotated[
        float,
        typer.Option("--near-threshold", help="Jaccard similarity of word n-grams to count."),
    ] = _default("near_threshold"),
    semantic_threshold: Annotated[
        float,
        typer.Option("--semantic-threshold", help="Cosine similarity of embeddings to count."),
    ] = _default("semantic_threshold"),
    num_perm: Annotated[
        int, typer.Option("--num-perm", help="MinHash permutations per document.")
    ] = _default("num_perm"),
    ngram: Annotated[int, typer.Option("--ngram", help="Words per shingle.")] = _default("ngram"),
    bands: Annotated[
        int | None,
        typer.Option("--bands", help="LSH bands (default: chosen for recall at the threshold)."),
    ] = _default("bands"),
    semantic_index: Annotated[
        str,
        typer.Option(
            "--semantic-index",
            help="Semantic search: auto (by corpus size), flat, ivf, hnsw or kmeans.",
        ),
    ] = _default("semantic_index"),
    memory_mb: Annotated[
        int,
        typer.Option(
            "--memory-mb",
            help="Working memory to stay within (MiB); the corpus streams through a work "
            "folder in pieces sized to it.",
        ),
    ] = _default("memory_mb"),
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache", help=f"Embedding cache directory (default: {default_cache_dir('OUT')})."
        ),
    ] = _default("cache_dir"),
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="JSON report path (default: OUT/dedup_report.json); .md beside it."
        ),
    ] = None,
    allow_empty: AllowEmptyOption = False,
    overwrite: OverwriteOption = False,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Drop exact, near and semantic duplicates; report each drop.

    One document per cluster is kept in OUT/kept; each other one goes to
    OUT/rejected with the reason and the id of the one kept instead. The
    corpus is never held in memory: it streams through OUT/.dedup-work, and
    a killed run started again resumes there.
    """
    config = DedupConfig(
        stages=parse_stages(stages),
        near_threshold=near_threshold,
        semantic_threshold=semantic_threshold,
        num_perm=num_perm,
        ngram=ngram,
        bands=bands,
        semantic_index=semantic_index,
        cache_dir=cache,
        memory_mb=memory_mb,
        quiet=quiet,
    )
    with opened_executor(executor, ray_address) as runner:
        result = deduplicate(
            corpus,
            out,
            config,
            report_path=report,
            allow_empty=allow_empty,
            overwrite=overwrite,
            executor=runner,
        )
    if as_json:
        emit_json({k: v for k, v in result.items() if k not in ("dropped", "clusters")})
    else:
        _print_summary(result)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
app.command(name="dedup")(dedup_command)
