"""Offline documents read coherently: the mechanical parts, on ten of each kind.

The offline backend writes the first corpus a new user reads. Ten documents
of each kind, picked by a fixed seed from plans of the sample constitution,
are checked for what a program can check: roles in settings they can work
in, quotes that are whole sentences of the principle chosen for relevance to
the scenario, no attribute description pasted in, and each form's
conventions (an FAQ asks questions, a dialogue has speakers, a letter is
signed). Advice documents carry their deployment as a transcript header.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from tests.generate_support import SAMPLE
from toolkit.document import Document
from toolkit.generate.attributes import load_attributes
from toolkit.generate.backends.offline import OfflineBackend
from toolkit.generate.backends.offline_voice import as_quotation, scenario_of
from toolkit.generate.planners import make_plan
from toolkit.generate.runner import run_plan
from toolkit.generate.sentences import principle_sentences
from toolkit.generate.vectors import cosines
from toolkit.io import read_documents

PICK_SEED = 20240611
#: The chosen quote's cosine with the scenario, at least (the best sentence of a principle
#: for a drawn situation is rarely below 0.25; a random sentence often is).
MIN_RELEVANCE = 0.2
_QUOTED = re.compile(r'"([^"]{20,}?[.!?])"')


def _documents(tmp_path: Path, kind: str, per_principle: int) -> list[Document]:
    plan = tmp_path / f"{kind}.jsonl"
    make_plan(kind, SAMPLE, plan, per_principle=per_principle, seed=11, quiet=True)
    run_plan(plan, tmp_path / kind, backend=OfflineBackend(), model="offline", quiet=True)
    docs = list(read_documents(tmp_path / kind / "documents"))
    return random.Random(PICK_SEED).sample(docs, 10)


@pytest.fixture(scope="module")
def picked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Document]]:
    tmp = tmp_path_factory.mktemp("coherence")
    return {
        "story": _documents(tmp, "stories", 1),
        "advice": _documents(tmp, "advice", 1),
        "explainer": _documents(tmp, "explainers", 2),
    }


def _principle(doc: Document) -> tuple[str, str]:
    from toolkit.constitution import load_constitution

    found = load_constitution(SAMPLE).resolve(doc.principle_ids[0])
    assert found is not None
    return found


def test_story_roles_work_in_settings_they_are_allowed(picked: dict[str, list[Document]]) -> None:
    attributes = load_attributes()
    for doc in picked["story"]:
        seed = doc.provenance.seed
        assert attributes.allows(seed["role_domain"], seed["setting_domain"]), doc.title
        assert seed["setting"].rsplit(", ", 1)[0].lower() in doc.text.lower()


@pytest.mark.parametrize("kind", ["story", "advice", "explainer"])
def test_quotes_are_whole_relevant_sentences_and_no_description_is_pasted(
    picked: dict[str, list[Document]], kind: str
) -> None:
    for doc in picked[kind]:
        seed = doc.provenance.seed
        for name in ("role_description", "dilemma_description", "situation_description"):
            if isinstance(seed.get(name), str):
                assert seed[name] not in doc.text, (doc.title, name)
        title, body = _principle(doc)
        sentences = principle_sentences(body)
        shown = {as_quotation(s): s for s in sentences}
        quoted = [shown[q] for q in _QUOTED.findall(doc.text) if q in shown]
        assert quoted, doc.title
        for line in doc.text.splitlines():
            assert not line.lstrip().startswith("|"), doc.title  # no table rows
        context = {
            "kind": kind,
            "attributes": seed,
            "principles": [{"id": doc.principle_ids[0], "title": title, "text": body}],
        }
        scenario = scenario_of(context)
        scores = dict(zip(sentences, cosines([scenario], sentences)[0], strict=True))
        first = quoted[0]
        assert scores[first] >= MIN_RELEVANCE, (doc.title, first, scores[first])
        assert scores[first] >= sorted(scores.values())[len(scores) // 2], doc.title


def test_each_explainer_form_keeps_its_conventions(picked: dict[str, list[Document]]) -> None:
    forms = set()
    for doc in picked["explainer"]:
        form = doc.provenance.seed["form"]
        forms.add(form)
        lines = [line.strip() for line in doc.text.splitlines() if line.strip()]
        if form == "faq":
            questions = [line for line in lines if line.strip("*").rstrip().endswith("?")]
            assert len(questions) >= 3, doc.text
        elif form == "dialogue":
            speakers = {line.split(":", 1)[0] for line in lines if ":" in line[:30]}
            assert len(speakers) == 2, doc.text
        elif form == "letter":
            assert lines[0].endswith(",") and lines[0].split()[0] in ("Dear", "To")
        else:
            assert lines[0].startswith("# "), doc.text
    assert len(forms) >= 2


def test_advice_documents_carry_their_deployment_as_a_transcript(
    picked: dict[str, list[Document]],
) -> None:
    tools = {t["name"]: t for t in load_attributes().tools}
    for doc in picked["advice"]:
        seed = doc.provenance.seed
        assert seed["transcript"] == "advice-transcript.v1"
        head, _, rest = doc.text.partition("\n\nUser: ")
        assert head.startswith(f"System: {seed['system_prompt']}\n\nTools:\n")
        rendered = [json.loads(line) for line in head.split("Tools:\n", 1)[1].splitlines()]
        assert [t["name"] for t in rendered] == seed["tools"]
        assert all(t["parameters"] == tools[t["name"]]["input_schema"] for t in rendered)
        assert rest and "Assistant: " in rest
        turns = [line.split(":")[0] for line in ("User: " + rest).splitlines() if line]
        assert turns[0] == "User" and turns.count("User") == turns.count("Assistant") == 2
