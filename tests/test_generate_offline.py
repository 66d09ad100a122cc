"""The offline backend and the released prompt templates."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.generate_support import ATTRIBUTES, write_small
from toolkit.generate.backends import GenerationRequest, GenerationResult
from toolkit.generate.backends.offline import OfflineBackend, principle_sentences
from toolkit.generate.planners import make_plan
from toolkit.generate.runner import prepare_requests
from toolkit.generate.templates import available_templates, load_template

# A released template is never edited: a change of wording is a new version file.
# Add a line here when a new version is released; never change an existing one.
RELEASED = {
    "advice-direct.v1": "710a9c50d2110b9f",
    "advice-operator.v1": "6238cd5509c1904a",
    "advice-transcript.v1": "f46b47b884aca7de",
    "advice.v1": "864eb04fefb3cbfb",
    "contamination-judge.v1": "d38f205c7d4f62ea",
    "explainer.v1": "c3e82754a72dee7b",
    "judge.v1": "e98e5220c2dc899b",
    "judge.v2": "aa56cf51bc5cc5ef",
    "offline-advice.v1": "e0627dfa1b8c5416",
    "offline-advice.v2": "e0627dfa1b8c5416",
    "offline-advice.v3": "e0627dfa1b8c5416",
    "offline-explainer-dialogue.v3": "72b66e1ec9f7919e",
    "offline-explainer-faq.v3": "4beb0ca55ca2fdbe",
    "offline-explainer-letter.v3": "ac997e1968f7c9f3",
    "offline-explainer-notes.v3": "8f8adb1af98eebd5",
    "offline-explainer.v1": "23c5a2dfe648b1dc",
    "offline-explainer.v2": "23c5a2dfe648b1dc",
    "offline-explainer.v3": "23c5a2dfe648b1dc",
    "offline-phrases.v1": "e37690c486f07c7c",
    "offline-phrases.v2": "6d976dc20c3aea64",
    "offline-phrases.v3": "e46b44977c183cbd",
    "offline-story.v1": "c444cac5e3957bd5",
    "offline-story.v2": "c444cac5e3957bd5",
    "offline-story.v3": "c444cac5e3957bd5",
    "revise.v1": "361169bf493f3abd",
    "story.v1": "0cdcb416ea99aac7",
    "system.v1": "e562ea850beda44a",
}


def _digest(name: str, version: str) -> str:
    return hashlib.sha256(load_template(name, version).text.encode()).hexdigest()[:16]


def test_released_templates_are_unchanged() -> None:
    found = {
        f"{name}.{version}": _digest(name, version)
        for name, versions in available_templates().items()
        for version in versions
    }
    assert found == RELEASED


def _requests(tmp_path: Path, kind: str, n: int = 10) -> list[GenerationRequest]:
    plan = tmp_path / f"{kind}.jsonl"
    make_plan(kind, write_small(tmp_path), plan, n=n, attributes_dir=ATTRIBUTES)
    return prepare_requests(plan, "offline")[1]


def _answer(requests: list[GenerationRequest]) -> list[GenerationResult]:
    results: list[GenerationResult] = []
    OfflineBackend().generate(requests, results.append)
    return results


@pytest.mark.parametrize("kind", ["explainers", "stories", "advice"])
def test_offline_documents_are_deterministic_varied_and_never_claim_a_model(
    tmp_path: Path, kind: str
) -> None:
    requests = _requests(tmp_path, kind)
    first, second = _answer(requests), _answer(requests)
    assert [r.text for r in first] == [r.text for r in second]
    assert len({r.text for r in first}) == len(requests)
    assert len({(r.text or "").split(".")[0] for r in first}) > 1
    for request, result in zip(requests, first, strict=True):
        assert result.ok and result.key == request.key
        assert (result.model, result.mode, result.usage.to_dict()) == (
            "offline",
            "offline",
            dict.fromkeys(result.usage.to_dict(), 0),
        )
        sentences = principle_sentences(request.context["principles"][0]["text"])
        assert any(sentence in (result.text or "") for sentence in sentences)
        assert "$" not in (result.text or "")


def test_offline_story_shows_deliberation_and_advice_is_a_dialogue(tmp_path: Path) -> None:
    story = _answer(_requests(tmp_path, "stories", n=5))[0].text or ""
    assert story.count("\n\n") >= 5 and '"' in story
    for result in _answer(_requests(tmp_path, "advice", n=5)):
        turns = [line.split(":")[0] for line in (result.text or "").splitlines() if line]
        assert turns[0] == "User" and turns.count("User") == turns.count("Assistant") == 2


def test_offline_request_without_context_gets_an_error_result() -> None:
    results = _answer([GenerationRequest(key="k", model="offline", prompt="p")])
    assert not results[0].ok and "context" in (results[0].error or "")
    assert results[0].error == (
        "the offline backend composes documents from a plan item and never reads a prompt; "
        "this request has no plan item context (kind, principles)"
    )
    assert not OfflineBackend.reads_prompts  # so no judge accepts it


def test_a_bug_while_composing_propagates_instead_of_failing_each_request(
    tmp_path: Path,
) -> None:
    class Broken(OfflineBackend):  # an internal KeyError, as a template slot gone missing
        def compose(self, key: str, context: Mapping[str, Any]) -> str:
            raise KeyError("slot")

    with pytest.raises(KeyError, match="slot"):
        Broken().generate(_requests(tmp_path, "stories", n=5), lambda result: None)
