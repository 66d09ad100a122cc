"""Sentence embeddings, offline: the bundled MiniLM, a static model distilled from
it, and an on-disk cache of vectors.

- `embedder`: the `Embedder` protocol (texts in, one float32 row per text out).
- `model`: the bundled all-MiniLM-L6-v2, its compute paths (CPU fp32 or bf16,
  CUDA) and `MiniLM`, the model as an `Embedder`.
- `static`: model2vec vectors distilled from MiniLM once per machine, a fast
  first pass (`static_embedder`).
- `cache`: `EmbeddingCache`, SQLite rows of vectors per (model, key), given
  the `Embedder` whose vectors it keeps; `default_cache_dir` is the one
  default location.
- `actors` (imported by name, not here): `embedding_on`, a cache's batches
  embedded on an executor's workers, the model loaded once per worker.

Imports run one way: `cache` depends on `embedder` and on `model` (its default
embedder), `static` on `embedder`; `embedder` and `model` depend on no other
module of the package, and none depends back on `cache`; `actors` depends on
`cache` and on `toolkit.executor`, and nothing here on it.
"""

from toolkit.embeddings.cache import EmbeddingCache, default_cache_dir, text_hash
from toolkit.embeddings.embedder import Embedder, embed_uncached
from toolkit.embeddings.model import (
    DEFAULT_MODEL,
    DEVICE_ENV,
    DEVICES,
    PRECISION_ENV,
    PRECISIONS,
    EmbedPath,
    MiniLM,
    cpu_supports_bf16,
    embed,
    embedder_info,
    load_embedder,
    model_key,
    prepare_embedder,
    select_path,
)
from toolkit.embeddings.static import (
    MODEL_DIR_ENV,
    STATIC_MODEL,
    ensure_static_model,
    load_static_model,
    static_embedder,
    static_model_name,
)

__all__ = [
    "DEFAULT_MODEL",
    "DEVICES",
    "DEVICE_ENV",
    "MODEL_DIR_ENV",
    "PRECISIONS",
    "PRECISION_ENV",
    "STATIC_MODEL",
    "EmbedPath",
    "Embedder",
    "EmbeddingCache",
    "MiniLM",
    "cpu_supports_bf16",
    "default_cache_dir",
    "embed",
    "embed_uncached",
    "embedder_info",
    "ensure_static_model",
    "load_embedder",
    "load_static_model",
    "model_key",
    "prepare_embedder",
    "select_path",
    "static_embedder",
    "static_model_name",
    "text_hash",
]
