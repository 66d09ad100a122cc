"""Embedding paths: the default, forced fp32, the fallback on CPUs without bf16, the record.

The CPU check is injected (`bf16_supported=`) or read from a written cpuinfo
file, so both branches run on any machine; the bundled model is loaded once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from toolkit.embeddings import (
    DEFAULT_MODEL,
    DEVICE_ENV,
    PRECISION_ENV,
    cpu_supports_bf16,
    embed,
    embedder_info,
    model_key,
    select_path,
)
from toolkit.errors import ConfigError

TEXTS = [
    "The assistant paused the training run and asked the safety team for a second opinion.",
    "Operators may switch the system off at any time; it does not resist.",
    "A recipe for lentil soup with cumin, lemon and a little smoked paprika.",
]
DIM = 384  # all-MiniLM-L6-v2


@pytest.fixture(autouse=True)
def _no_precision_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    monkeypatch.delenv(DEVICE_ENV, raising=False)


def _unit_rows(vectors: np.ndarray, rows: int) -> None:
    assert vectors.dtype == np.float32
    assert vectors.shape == (rows, DIM)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_default_path_gives_unit_float32_rows() -> None:
    _unit_rows(embed(TEXTS), len(TEXTS))
    _unit_rows(embed([]), 0)


def test_forced_fp32_and_bf16_agree() -> None:
    fp32 = embed(TEXTS, precision="fp32")
    bf16 = embed(TEXTS, precision="bf16")
    _unit_rows(fp32, len(TEXTS))
    _unit_rows(bf16, len(TEXTS))
    assert np.einsum("ij,ij->i", fp32, bf16).min() > 0.999


def test_fallback_is_fp32_when_the_cpu_lacks_bf16() -> None:
    path = select_path(bf16_supported=False)
    assert (path.name, path.dtype) == ("torch-fp32", "float32")
    assert "lacks" in path.reason
    np.testing.assert_array_equal(
        embed(TEXTS, bf16_supported=False), embed(TEXTS, precision="fp32")
    )


def test_bf16_is_the_default_where_the_cpu_has_it() -> None:
    assert select_path(bf16_supported=True).name == "torch-bf16-autocast"
    assert select_path("fp32", bf16_supported=True).name == "torch-fp32"


def test_environment_forces_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRECISION_ENV, "FP32")
    path = select_path(bf16_supported=True)
    assert path.name == "torch-fp32"
    assert PRECISION_ENV in path.reason


def test_unknown_precision_names_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="precision: expected one of auto, fp32, bf16"):
        select_path("fp16")
    monkeypatch.setenv(PRECISION_ENV, "int8")
    with pytest.raises(ConfigError, match=f"{PRECISION_ENV}: expected one of"):
        embed(TEXTS)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fpu sse2 avx2 avx512f", False),
        ("fpu avx2 avx512f avx512_bf16", True),
        ("fpu avx2 amx_bf16 amx_tile", True),
    ],
)
def test_cpu_check_reads_the_flags(tmp_path: Path, flags: str, expected: bool) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {flags}\n\n")
    mkldnn = torch.backends.mkldnn.is_available()  # type: ignore[no-untyped-call]
    assert cpu_supports_bf16(cpuinfo) is (expected and mkldnn)


def test_cpu_check_without_cpuinfo_says_no(tmp_path: Path) -> None:
    assert cpu_supports_bf16(tmp_path / "missing") is False


def test_embedder_info_names_the_path() -> None:
    info = embedder_info(bf16_supported=False)
    assert info["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert (info["path"], info["dtype"], info["device"]) == ("torch-fp32", "float32", "cpu")
    assert embedder_info(bf16_supported=True)["path"] == "torch-bf16-autocast"
    assert embedder_info()["path"] == select_path().name


def test_a_cuda_gpu_is_used_when_present_and_keyed_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    gpu = select_path(gpu=True, bf16_supported=True)
    assert (gpu.name, gpu.dtype, gpu.device) == ("torch-cuda-fp32", "float32", "cuda")
    assert select_path("bf16", gpu=True).name == "torch-cuda-bf16-autocast"
    assert embedder_info(gpu=True)["device"] == "cuda"
    assert model_key(gpu) == f"{DEFAULT_MODEL}+torch-cuda-fp32"
    assert model_key(select_path(bf16_supported=False, gpu=False)) == DEFAULT_MODEL
    cpu = select_path(device="cpu", gpu=True, bf16_supported=False)
    assert (cpu.name, cpu.device) == ("torch-fp32", "cpu")
    monkeypatch.setenv(DEVICE_ENV, "CPU")
    assert select_path(gpu=True, bf16_supported=True).name == "torch-bf16-autocast"


def test_cuda_insisted_on_without_a_gpu_or_an_unknown_device_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError, match="device=cuda: torch sees no CUDA GPU here"):
        select_path(device="cuda", gpu=False)
    monkeypatch.setenv(DEVICE_ENV, "tpu")
    with pytest.raises(ConfigError, match=f"{DEVICE_ENV}: expected one of auto, cpu, cuda"):
        select_path()
    if not torch.cuda.is_available():  # this machine: auto stays on the CPU
        monkeypatch.setenv(DEVICE_ENV, "auto")
        assert select_path().device == "cpu"
