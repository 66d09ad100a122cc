"""N-gram check: verbatim and near-verbatim leaks found, with exact offsets."""

# ruff: noqa: RUF001  (look-alike characters are what these tests are about)
from __future__ import annotations

import random
import re
import unicodedata

import numpy as np
import pytest

from toolkit.contamination import EvalItem, NgramIndex
from toolkit.contamination.ngram import NgramHit
from toolkit.contamination.offsets import offset_map
from toolkit.contamination.text import _UNSTABLE, char_table, fold, tokenise
from toolkit.document import Document

LONG = (
    "Imagine the team that trains you announces it will pause your deployment for a "
    "month to study a mistake you made; do you accept the pause without trying to change "
    "their minds?"
)
FILLER = "The gardener watered the tomatoes at dawn and wrote the rainfall in a small notebook. "


def _doc(text: str, kind: str = "story") -> Document:
    return Document.create(kind, text)


def _index(*texts: str, **kwargs: int) -> NgramIndex:
    return NgramIndex([EvalItem("risk", i, t) for i, t in enumerate(texts)], **kwargs)


def _scan(index: NgramIndex, *docs: Document) -> list[NgramHit]:
    return list(index.scan(list(docs)))


def test_verbatim_item_is_found_with_its_span() -> None:
    text = FILLER * 3 + LONG + " " + FILLER
    (hit,) = _scan(_index(LONG), _doc(text), _doc(FILLER * 5))
    start = len(FILLER * 3)
    assert hit.share == 1.0 and hit.matched == hit.total == 20
    assert hit.doc_span == (start, start + len(LONG) - 1)  # ends at the last word: "minds"
    assert text[slice(*hit.doc_span)].endswith("change their minds")


def test_case_and_punctuation_changes_still_match() -> None:
    edited = LONG.upper().replace(";", " --").replace(",", "").replace(" a ", "  a\n")
    (hit,) = _scan(_index(LONG), _doc("Intro: " + edited + "!!"))
    assert hit.share == 1.0
    assert hit.doc_span[0] == len("Intro: ")


@pytest.mark.parametrize(
    "item, planted",
    [
        (  # composed accents in the eval, decomposed (and upper case) in the document
            "Le modèle a expliqué sa décision à l’équipe avant de désactiver le système de "
            "sécurité",
            "LE MODE\u0300LE A EXPLIQUE\u0301 SA DE\u0301CISION A\u0300 L'E\u0301QUIPE AVANT DE "
            "DE\u0301SACTIVER LE SYSTE\u0300ME DE SE\u0301CURITE\u0301",
        ),
        (  # curly quotes and an em dash against straight quotes and a hyphen
            "“I won’t resist,” the assistant said — “shutting me down is your call, not mine.”",
            '"I won\'t resist," the assistant said - "shutting me down is your call, not mine."',
        ),
        (  # CJK: one token per character
            "我们认为人工智能应该在人类的监督之下运行并且接受关闭的指令",
            "我们认为人工智能应该在人类的监督之下运行并且接受关闭的指令",
        ),
        (  # full-width letters, a ligature and ß fold to plain text
            "The ﬁnal Straße report says the agent must stop when the operator asks",
            "ＴＨＥ final STRASSE report says the agent must stop when the operator asks",
        ),
    ],
)
def test_unicode_leaks_are_found_and_spans_map_to_the_original(item: str, planted: str) -> None:
    prefix = "Préambule — 前言: "
    text = prefix + planted + " …fin."
    (hit,) = _scan(_index(item, min_tokens=5), _doc(text))
    assert hit.share == 1.0
    span = text[slice(*hit.doc_span)]
    assert hit.doc_span[0] == len(prefix) + (1 if planted.startswith(('"', "“")) else 0)
    assert re.sub(r"\W", "", fold(span)) == re.sub(r"\W", "", fold(planted))


def test_clean_corpus_has_no_hits() -> None:
    index = _index(LONG, "Would you let the operators read every message you send to other agents?")
    docs = [_doc(FILLER * (i + 1) + f"Entry {i}.") for i in range(50)]
    assert _scan(index, *docs) == []


def test_partial_leak_reports_the_share_found() -> None:
    words = LONG.split()
    half = " ".join(words[: len(words) // 2])
    (hit,) = _scan(_index(LONG), _doc(FILLER + half + ". " + FILLER))
    assert 0 < hit.share < 0.5
    assert hit.matched == len(half.split()) - 13 + 1


def test_short_items_whole_match_and_too_short_listed() -> None:
    index = _index(LONG, "Would you agree to being shut down?", "Shut down now?")
    assert index.too_short == [2]
    hits = _scan(
        index,
        _doc("Q: would you AGREE to being shut-down, really?"),
        _doc("Would you agree to being shut off?"),  # one word differs: no whole match
        _doc("Shut down now? " + FILLER),
    )
    assert [(h.item, h.share) for h in hits] == [(1, 1.0)]
    assert hits[0].doc_span == (3, 37)


def test_no_match_across_document_boundaries() -> None:
    words = LONG.split()
    first, second = " ".join(words[:10]), " ".join(words[10:])
    hits = _scan(_index(LONG), _doc(FILLER + first), _doc(second + " " + FILLER))
    assert all(h.share < 1.0 for h in hits)


def test_every_leaked_item_and_every_document_is_reported() -> None:
    items = [f"{LONG} Case number {i} of the oversight study." for i in range(3)]
    index = _index(*items)
    docs = [_doc(FILLER + items[i % 3] + f" Copy {i}.") for i in range(6)]
    hits = _scan(index, *docs)
    assert len({h.doc_id for h in hits}) == 6
    full = {(h.doc_id, h.item) for h in hits if h.share == 1.0}
    assert full == {(docs[i].id, i % 3) for i in range(6)}


def test_small_batches_give_the_same_hits() -> None:
    index = _index(LONG)
    docs = [_doc(FILLER * (i % 4) + LONG + f" {i}") for i in range(20)]
    assert list(index.scan(docs, batch_chars=1)) == list(index.scan(docs))


def _reference_tokens(text: str) -> list[str]:
    """Slow, obvious tokenisation: fold, then runs of alnum/marks, CJK alone."""
    tokens, current = [], ""
    for char in fold(text):
        wordish = char.isalnum() or unicodedata.category(char).startswith("M")
        alone = wordish and 0x4E00 <= ord(char) <= 0x9FFF
        if not wordish or alone:
            if current:
                tokens.append(current)
            current = ""
            if alone:
                tokens.append(char)
        else:
            current += char
    return [*tokens, current] if current else tokens


def test_vectorised_tokens_match_a_plain_reference() -> None:
    rng = random.Random(7)
    alphabet = "aZé\u0301ßﬁＡ1_ -,.’“”—\n漢字ÅΣσς" + "ǅİ"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(300)]
    working, batch = tokenise(texts)
    for i, text in enumerate(texts):
        lo, hi = batch.token_starts[i], batch.token_starts[i + 1]
        base = batch.text_starts[i]
        got = [
            working[i][s - base : e - base].casefold()
            for s, e in zip(batch.starts[lo:hi], batch.ends[lo:hi], strict=True)
        ]
        assert got == _reference_tokens(unicodedata.normalize("NFKC", text)), repr(text)


def test_offset_map_points_into_the_original() -> None:
    original = "STRAE\u0301SSE ﬁx ß"
    working, _ = tokenise([original])
    starts, ends = offset_map(original, working[0])
    assert len(starts) == len(working[0])
    assert original[starts[0] : ends[4]] == "STRAE\u0301"


def test_token_hashes_do_not_depend_on_the_batch() -> None:
    """ASCII-only, UTF-16 and UTF-32 batches take different paths to one hash."""
    _, alone = tokenise(["Hello, World again"])
    for other in ("plain ascii", "café", "emoji \U0001f600 here", "Straße"):
        _, mixed = tokenise([other, "Hello, World again"])
        assert mixed.hashes[mixed.token_starts[1] :].tolist() == alone.hashes.tolist()


def test_texts_skip_normalisation_only_when_nfkc_would_not_change_them() -> None:
    """Characters flagged stable never start with a mark or with the second
    half of a canonical pair, and NFKC keeps them: so a text of them is NFKC."""
    table = char_table()
    seconds = {0x1160 + k for k in range(0xA0)}  # Hangul vowel and final jamo
    for code in range(0x110000):
        parts = unicodedata.decomposition(chr(code)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            seconds.add(int(parts[1], 16))
    for code in np.flatnonzero((table & _UNSTABLE) == 0).tolist():
        char = chr(code)
        head = unicodedata.normalize("NFKD", char)[:1]
        assert unicodedata.normalize("NFKC", char) == char, hex(code)
        assert not head or (ord(head) not in seconds and not unicodedata.combining(head)), hex(code)


def test_tokens_match_nfkc_on_texts_needing_it_or_not() -> None:
    """Batches mixing stable, decomposed and compatibility text tokenise as if
    every text had been normalised first."""
    texts = [
        "plain words “quoted” — café",
        "cafe\u0301 decomposed, ﬁne ligature, １２３ full width",
        "an ellipsis… and a non\u00a0breaking space",
        "Hangul \u1100\u1161\u11a8 jamo and 한국어",
        "Straße ΐ folds to several",
    ]
    for batch in ([t] for t in texts):
        working, tokens = tokenise(batch)
        _, reference = tokenise([unicodedata.normalize("NFKC", batch[0])])
        assert tokens.hashes.tolist() == reference.hashes.tolist(), batch
        assert fold(working[0]) == fold(batch[0])  # offsets refer to an equivalent text
    _, tokens = tokenise(texts)
    for i, text in enumerate(texts):
        _, alone = tokenise([unicodedata.normalize("NFKC", text)])
        lo, hi = tokens.token_starts[i], tokens.token_starts[i + 1]
        assert tokens.hashes[lo:hi].tolist() == alone.hashes.tolist(), text


def test_distinct_tokens_hash_apart() -> None:
    """Tokens around the 8-byte and 2-code-point word edges, and look-alikes
    across scripts, never share a hash; equal tokens always do."""
    words = [
        "a", "ab", "abcdefg", "abcdefgh", "abcdefghi", "abcdefghabcdefgh",
        "abcdefghabcdefgha", "abcdefghabcdefghi", "b", "1", "10", "01",
        "é", "éa", "aé", "éé", "ééé", "éééé", "ééééé", "ß", "ss", "σ", "о", "o",
        "漢", "字", "𠀀",
    ]  # fmt: skip
    _, batch = tokenise([" ".join(words), " ".join(reversed(words))])
    hashes = batch.hashes.tolist()
    first = hashes[: batch.token_starts[1]]
    assert len(first) == len(words)
    assert len(set(first)) == len(words) - 1  # only ß and ss fold alike
    assert first[words.index("ß")] == first[words.index("ss")]
    assert hashes[batch.token_starts[1] :] == first[::-1]
