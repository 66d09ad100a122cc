"""Settings of one dedup run, validated once so stages can trust them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from toolkit.embeddings import DEFAULT_MODEL
from toolkit.errors import ConfigError

__all__ = ["INDEX_KINDS", "STAGES", "DedupConfig", "parse_stages"]

STAGES: tuple[str, ...] = ("exact", "near", "semantic")
INDEX_KINDS: tuple[str, ...] = ("auto", "flat", "ivf", "hnsw", "kmeans")
MIN_MEMORY_MB = 16  # below this the pieces get too small to stream efficiently


def parse_stages(value: str | Iterable[str]) -> tuple[str, ...]:
    """Stage names from `"exact,near"` or a list, returned in the fixed run order.

    Order is fixed because each stage feeds the next its survivors: cheap exact
    hashing first, so the costlier stages see fewer documents.
    """
    names = value.split(",") if isinstance(value, str) else list(value)
    wanted = {name.strip() for name in names if name.strip()}
    unknown = sorted(wanted - set(STAGES))
    if unknown:
        raise ConfigError(
            f"stages: unknown stage {unknown[0]!r}; expected one or more of {', '.join(STAGES)}"
        )
    if not wanted:
        raise ConfigError(f"stages: none given; expected one or more of {', '.join(STAGES)}")
    return tuple(stage for stage in STAGES if stage in wanted)


def _check_range(key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{key}: expected a number from {low} to {high}, got {value}")


@dataclass(frozen=True, slots=True)
class DedupConfig:
    """Every knob of `deduplicate`; `ccorpus dedup` takes its defaults from here.

    `bands=None` lets the near stage pick bands for recall (candidates are
    verified anyway). The semantic index is exact (`flat`) up to
    `approx_above` documents, inverted lists (`ivf`) up to `cluster_above`,
    then SemDeDup-style k-means clustering; `semantic_index` forces one of
    them, or `hnsw` (k nearest neighbours, `neighbours` of them).

    `memory_mb` bounds what `deduplicate` holds at once beyond a few bytes
    per document and per duplicate: chunks of text, LSH buckets, candidate
    pairs and vectors stream through disk in pieces sized to it, and an
    automatic semantic index whose vectors would not fit in half of it is the
    k-means one, which works cluster by cluster.
    """

    stages: tuple[str, ...] = STAGES
    near_threshold: float = 0.8
    num_perm: int = 128
    ngram: int = 5
    bands: int | None = None
    bucket_window: int = 64
    semantic_threshold: float = 0.92
    semantic_index: str = "auto"
    approx_above: int = 20_000
    cluster_above: int = 500_000
    neighbours: int = 16
    cache_dir: Path | None = None
    model_name: str = DEFAULT_MODEL
    seed: int = 1
    memory_mb: int = 1024
    quiet: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", parse_stages(self.stages))
        _check_range("near_threshold", self.near_threshold, 0.0, 1.0)
        _check_range("semantic_threshold", self.semantic_threshold, -1.0, 1.0)
        for key in ("num_perm", "ngram", "bucket_window", "neighbours"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key}: expected a positive number, got {getattr(self, key)}")
        if self.memory_mb < MIN_MEMORY_MB:
            raise ConfigError(
                f"memory_mb: expected at least {MIN_MEMORY_MB} (MiB), got {self.memory_mb}"
            )
        if self.bands is not None and not 1 <= self.bands <= self.num_perm:
            raise ConfigError(
                f"bands: expected a number from 1 to num_perm ({self.num_perm}), got {self.bands}"
            )
        if self.semantic_index not in INDEX_KINDS:
            raise ConfigError(
                f"semantic_index: {self.semantic_index!r} is not one of {', '.join(INDEX_KINDS)}"
            )
        if not 0 < self.approx_above <= self.cluster_above:
            raise ConfigError(
                "approx_above, cluster_above: expected 0 < approx_above <= cluster_above, "
                f"got {self.approx_above} and {self.cluster_above}"
            )
