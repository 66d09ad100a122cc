"""Sentence vectors for planning and offline composition, the same on every machine.

Plans must be byte-identical for the same inputs and seed, and choices made
here (which situations suit a principle, which draw is too near an eval,
which sentence of a principle to quote) follow cosine rankings. So vectors
are always computed on the CPU in fp32 (never the bf16 or GPU path the
embedding cache may take), and kept in memory by text for the life of the
process: a planner embeds its pools once, however many plans it writes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["cosines", "embed_texts"]

F32 = npt.NDArray[np.float32]

_MEMO: dict[str, F32] = {}
_MEMO_LIMIT = 200_000


def embed_texts(texts: Sequence[str], *, quiet: bool = True) -> F32:
    """L2-normalised MiniLM vectors, one row per text (fp32 on the CPU, remembered)."""
    from toolkit.embeddings import embed, prepare_embedder

    missing = list(dict.fromkeys(t for t in texts if t not in _MEMO))
    if missing:
        prepare_embedder("fp32", device="cpu", quiet=quiet)
        vectors = embed(missing, precision="fp32", device="cpu")
        if len(_MEMO) + len(missing) > _MEMO_LIMIT:
            _MEMO.clear()
        _MEMO.update(zip(missing, vectors, strict=True))
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.stack([_MEMO[t] for t in texts]).astype(np.float32)


def cosines(left: Sequence[str], right: Sequence[str]) -> F32:
    """The cosine of every text of `left` with every text of `right` (rows x columns)."""
    if not left or not right:
        return np.zeros((len(left), len(right)), dtype=np.float32)
    return embed_texts(left) @ embed_texts(right).T
