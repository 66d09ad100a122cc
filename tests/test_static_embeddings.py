"""The distilled static model: one per machine, keyed, atomic, and never silent.

A fake distiller (a five-token static model, saved as model2vec saves one)
stands in for the real distillation, so these tests take milliseconds; each
keeps its models in its own tmp_path.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from toolkit.embeddings import EmbeddingCache
from toolkit.embeddings import static as se
from toolkit.embeddings.static import (
    DISTILL,
    MARKER,
    MODEL_DIR_ENV,
    PCA_DIMS,
    default_root,
    ensure_static_model,
    key_inputs,
    model_folder,
    model_key,
    static_embedder,
    static_model_name,
)
from toolkit.errors import InputError
from toolkit.progress import Step

TEXTS = ["hello world", "soup", "nothing known here"]


def _tiny_model(work: Path) -> None:
    from model2vec import StaticModel
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    vocab = {"[UNK]": 0, "[PAD]": 1, "hello": 2, "world": 3, "soup": 4}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    vectors = np.random.default_rng(0).standard_normal((len(vocab), PCA_DIMS))
    StaticModel(vectors=vectors.astype(np.float32), tokenizer=tokenizer).save_pretrained(work)


class FakeDistiller:
    """Counts its runs; moves the bar as the real one does (a phase, then counted work)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, work: Path, bar: Step) -> None:
        self.calls += 1
        bar.update(description="static model: fake vocabulary", total=3)
        for _ in range(3):
            bar.advance()
        _tiny_model(work)


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own machine-wide model folder, through the variable."""
    root = tmp_path / "machine-cache"
    monkeypatch.setenv(MODEL_DIR_ENV, str(root))
    return root


def test_two_embedding_caches_share_one_distillation(tmp_path: Path, models: Path) -> None:
    fake = FakeDistiller()
    for name in ("cache-a", "cache-b"):
        se._open.cache_clear()  # as a new process would: only the disk can say "done"
        with EmbeddingCache(
            tmp_path / name, static_model_name(), embedder=static_embedder(distill=fake)
        ) as cache:
            vectors = cache.get_or_embed(None, TEXTS[:2])
        assert vectors.shape == (2, PCA_DIMS)
        assert not list((tmp_path / name).glob("*model2vec*"))
        if name == "cache-a":
            folder = model_folder()
            marked = (folder / MARKER).stat().st_mtime_ns
    assert fake.calls == 1
    assert folder.parent == models and (folder / MARKER).stat().st_mtime_ns == marked


def test_the_default_folder_is_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg/cache")
    assert default_root() == Path("/xdg/cache/ccorpus/static-models")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: absolute only
    assert default_root() == Path.home() / ".cache" / "ccorpus" / "static-models"
    monkeypatch.setenv(MODEL_DIR_ENV, "/elsewhere")
    assert default_root() == Path("/elsewhere")


def test_the_key_changes_with_what_changes_the_model() -> None:
    base = key_inputs()
    assert model_key(base) == model_key(key_inputs())
    assert model_key(key_inputs({**DISTILL, "pca_dims": 128})) != model_key(base)
    assert model_key(key_inputs({**DISTILL, "sif_coefficient": 1e-3})) != model_key(base)
    for part, name in (("versions", "model2vec"), ("versions", "torch"), ("source", "sha256")):
        changed = {**base, part: {**base[part], name: "something else"}}
        assert model_key(changed) != model_key(base), (part, name)
    assert model_folder("/m").name.endswith(model_key(base))
    assert static_model_name().endswith("@" + model_key(base))


def test_a_model_of_another_key_is_not_reused(models: Path) -> None:
    folder = model_folder()
    folder.mkdir(parents=True)
    (folder / MARKER).write_text('{"key": "0123456789abcdef"}')
    fake = FakeDistiller()
    assert ensure_static_model(distill=fake) == folder
    assert fake.calls == 1
    assert se._complete(folder, model_key())


def test_a_killed_distillation_is_not_taken_for_a_model(models: Path) -> None:
    folder = model_folder()
    half = folder.parent / f".{folder.name}.tmp-killed"  # what a SIGKILL mid-write leaves
    half.mkdir(parents=True)
    (half / "config.json").write_text("{}")
    folder.mkdir()  # and a copy cut short at the final name, without its marker
    (folder / "config.json").write_text("{}")
    fake = FakeDistiller()
    ensure_static_model(distill=fake)
    assert fake.calls == 1
    assert not half.exists()
    assert (folder / "model.safetensors").is_file() and se._complete(folder, model_key())
    assert [p.name for p in models.iterdir() if ".tmp-" in p.name] == []


def test_a_failed_distillation_leaves_nothing(models: Path) -> None:
    def crash(work: Path, bar: Step) -> None:
        (work / "config.json").write_text("{}")
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        ensure_static_model(distill=crash)
    assert sorted(p.name for p in models.iterdir() if not p.name.endswith(".lock")) == []
    fake = FakeDistiller()
    ensure_static_model(distill=fake)
    assert fake.calls == 1


def test_rename_wins_when_another_process_finished_first(models: Path) -> None:
    """Where there is no lock (some network mounts), the first rename wins and a
    later one keeps the model already in place."""
    folder = model_folder()

    def racer(work: Path, bar: Step) -> None:
        _tiny_model(work)
        theirs = folder.parent / "theirs"
        _tiny_model(theirs)
        (theirs / MARKER).write_text(f'{{"key": "{model_key()}"}}')
        (theirs / "theirs").touch()
        theirs.rename(folder)

    assert ensure_static_model(distill=racer) == folder
    assert (folder / "theirs").exists()
    assert [p.name for p in models.iterdir() if ".tmp-" in p.name] == []


def test_two_processes_at_once_distil_once(models: Path) -> None:
    """The second waits on the lock, then finds the first one's model."""
    fake, started, release = FakeDistiller(), threading.Event(), threading.Event()

    def slow(work: Path, bar: Step) -> None:
        started.set()
        release.wait(10)
        fake(work, bar)

    got: list[Path] = []
    first = threading.Thread(target=lambda: got.append(ensure_static_model(distill=slow)))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=lambda: got.append(ensure_static_model(distill=slow)))
    second.start()
    second.join(0.2)  # blocked on the lock while the first distils
    release.set()
    first.join(10)
    second.join(10)
    assert fake.calls == 1 and got == [model_folder()] * 2


def test_notice_and_bar_on_stderr_unless_quiet(
    models: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    ensure_static_model(models / "quiet", quiet=True, distill=FakeDistiller())
    assert capfd.readouterr() == ("", "")
    ensure_static_model(models / "loud", quiet=False, distill=FakeDistiller())
    out, err = capfd.readouterr()
    assert out == ""
    assert "distilling the static retrieval model from MiniLM (once per machine;" in err
    assert str(model_folder(models / "loud")) in " ".join(err.split())
    assert "3/3" in err  # the distiller's own count, not a timer
    ensure_static_model(models / "loud", quiet=False, distill=FakeDistiller())
    assert capfd.readouterr() == ("", "")  # already there: nothing to say


def test_an_unwritable_folder_names_the_variable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InputError, match=MODEL_DIR_ENV):
        ensure_static_model(blocker / "models", distill=FakeDistiller())
