"""What an embedder is: texts in, one L2-normalised float32 row per text out.

The bundled MiniLM (`model.MiniLM`), the static model (`static.static_embedder`)
and any test's fake are embedders; an `EmbeddingCache` is given one and keeps
its vectors. This module imports nothing else of the package, so every other
module may depend on it and it on none of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from toolkit.errors import InputError

__all__ = ["UNCACHED_BATCH", "Embedder", "embed_checked", "embed_uncached"]

#: Texts per embedder call in `embed_uncached` (cheap models, many short texts).
UNCACHED_BATCH = 8192


class Embedder(Protocol):
    """A callable from texts to an array of shape `(len(texts), dim)`."""

    def __call__(self, texts: Sequence[str], /) -> npt.NDArray[np.float32]: ...


def embed_checked(embedder: Embedder, texts: Sequence[str], name: str) -> npt.NDArray[np.float32]:
    """`embedder(texts)` as float32, refused unless it is one row per text; `name`
    (the model's) is what the message calls the embedder."""
    vectors = np.asarray(embedder(texts), dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(texts):
        raise InputError(
            f"embedder for {name!r}: expected {len(texts)} rows, got shape {vectors.shape}"
        )
    return vectors


def embed_uncached(
    embedder: Embedder, texts: Sequence[str], name: str, *, batch_size: int = UNCACHED_BATCH
) -> npt.NDArray[np.float32]:
    """Vectors for `texts` from `embedder` in calls of `batch_size` texts, neither read
    from nor kept in a cache: for texts too many and too cheap to be worth a row each."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    blocks = [
        embed_checked(embedder, texts[i : i + batch_size], name)
        for i in range(0, len(texts), batch_size)
    ]
    return np.concatenate(blocks)
