"""Test hygiene: no keys, no network, every test in its own tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_SECRET_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL")


@pytest.fixture(autouse=True, scope="session")
def _one_static_model(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Distil the static retrieval model once per session, into a temporary folder
    rather than the user's cache (`CCORPUS_STATIC_MODEL_DIR` overrides it)."""
    os.environ["CCORPUS_STATIC_MODEL_DIR"] = str(tmp_path_factory.mktemp("static-model"))


@pytest.fixture(autouse=True)
def _no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove API keys so no test can reach a real service by accident."""
    for name in _SECRET_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test with its working directory in its own tmp_path."""
    monkeypatch.chdir(tmp_path)
