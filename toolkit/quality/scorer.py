"""Compute every quality signal of a stream of documents, a batch at a time.

A batch of texts goes through spaCy once (one process) and comes out as
concatenated token arrays (`tokens.TokenReader`); counts, ratios, sentence
boundaries and n-gram repetition are a few numpy calls per batch, never a
Python loop over tokens, and the phrase lists scan the batch's joined text
once each. Only the cheap whole-text checks (duplicate lines, endings),
lexical grounding and where quotations come from (`quotations`) run per
document. Embeddings for grounding are computed per
batch, for the batch's explainers only.

A profile with `reason_patterns` gets the structural reasoning signals
(`toolkit.quality.reasoning`), and one whose rules or score terms read an
embedding signal (`catalog.EMBEDDED`: coherence, quotation relevance, drift
from the cited principle) gets those, from one embedding call per batch
(`toolkit.quality.semantic`); the others are left out of its scores, so a
scores file made without them is refused by a profile that needs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import numpy as np

from toolkit.constitution.model import Constitution
from toolkit.document import Document
from toolkit.embeddings import embed as _embed
from toolkit.quality.catalog import EMBEDDED, SIGNALS, Scores
from toolkit.quality.grounding import Grounder
from toolkit.quality.patterns import SEPARATOR, TextPatterns, endings, layout
from toolkit.quality.profile import Profile
from toolkit.quality.quotations import QuoteSources
from toolkit.quality.reasoning import ReasonFinder
from toolkit.quality.repetition import block_repetition, ngram_repetition
from toolkit.quality.segments import Segments, quotes, segment
from toolkit.quality.semantic import Embed, SemanticSignals
from toolkit.quality.tokens import TokenReader, Tokens, load_pipeline

__all__ = ["OpenerKey", "Scorer"]

#: The words of someone speaking as "I" (spaCy splits "I'm" into "I" and "'m").
_FIRST_PERSON = ("i", "me", "my", "myself", "mine")
_DELIBERATING = ("story", "advice")
#: Curly apostrophes become straight ones before phrase matching (same length).
_APOSTROPHES = str.maketrans({"\u2018": "'", "\u2019": "'"})
#: Identifies a document's opening: its kind and the hashes of its first words.
OpenerKey = tuple[str, tuple[int, ...]]


def _ratio(part: Any, whole: Any) -> Any:
    return np.where(whole > 0, part / np.maximum(whole, 1), 0.0)


class Scorer:
    """Scores documents under one profile; build once, feed any number of documents."""

    def __init__(
        self,
        profile: Profile,
        *,
        spacy_model: str | None = None,
        constitution: Constitution | None = None,
        embeddings: bool = True,
        batch_size: int = 256,
        embedder: Embed | None = None,
    ) -> None:
        """`embedder` embeds sentences for the embedding signals (default: the bundled
        MiniLM); `lambda texts: cache.get_or_embed(None, texts)` reuses an `EmbeddingCache`."""
        self.reader = TokenReader(load_pipeline(spacy_model), first_person=_FIRST_PERSON)
        self.patterns = TextPatterns(profile.signals)
        self.opener_words = profile.signals.opener_words
        self.quote_min_words = profile.signals.quote_min_words
        self.batch_size = batch_size
        self.grounder = None
        self.sources = None
        if constitution is not None:
            top = profile.signals.grounding_top_words
            self.grounder = Grounder(constitution, top_words=top, embeddings=embeddings)
            self.sources = QuoteSources(constitution)
        self.reasons = ReasonFinder(profile.signals.reason_patterns)
        self.embedded = EMBEDDED & profile.signals_used()
        self.semantic = None
        if embeddings and self.embedded:
            self.semantic = SemanticSignals(
                profile.signals, self.embedded, embedder or _embed, constitution
            )

    def score(self, docs: Iterable[Document]) -> Iterator[tuple[Document, Scores, OpenerKey]]:
        """Each document with its signals (opener_share still None) and its opener key."""
        stream = iter(docs)
        while batch := list(islice(stream, self.batch_size)):
            yield from self._batch(batch)

    def _batch(self, batch: list[Document]) -> Iterator[tuple[Document, Scores, OpenerKey]]:
        texts = [doc.text for doc in batch]
        lowers = [text.lower().translate(_APOSTROPHES) for text in texts]
        tokens = self.reader.read(texts, self.batch_size)
        columns, openers = self._columns(tokens, lowers)
        cosines = self._cosines(batch)
        segments = self._segments(tokens, texts)
        semantic = self.semantic.batch(batch, segments) if self.semantic and segments else None
        for i, doc in enumerate(batch):
            scores: Scores = {name: values[i] for name, values in columns.items()}
            scores.update(block_repetition(doc.text))
            scores.update(endings(doc.text))
            scores.update(dict.fromkeys(self.embedded))
            if semantic is not None:
                scores.update(semantic[i])
            if self.reasons.enabled and segments:
                reasons = self.reasons.count(lowers[i], segments[i].sentences)
                scores["reason_sentences"] = reasons
                words = scores["words"]
                scores["reasoning_density"] = 100.0 * reasons / words if words else 0.0
            if self.sources is not None:
                found = segments[i].quotes if segments else quotes(doc.text, self.quote_min_words)
                texts = [q.text for q in found]
                scores["foreign_quotes"] = self.sources.foreign(texts, doc.principle_ids)
            if doc.kind not in _DELIBERATING:
                scores["deliberation_density"] = scores["deliberation_first_person"] = None
            if doc.kind == "explainer" and self.grounder is not None:
                known = self.grounder.known(doc.principle_ids)
                scores["unknown_principles"] = len(doc.principle_ids) - len(known)
                scores["grounding_lexical"] = self.grounder.lexical(lowers[i], doc.principle_ids)
                cosine = cosines[i]
                scores["grounding_cosine"] = None if cosine is None else round(cosine, 4)
            yield doc, self._ordered(scores), (doc.kind, openers[i])

    def _columns(
        self, tokens: Tokens, lowers: list[str]
    ) -> tuple[dict[str, list[Any]], list[tuple[int, ...]]]:
        """The token- and pattern-based signals of a batch, one list per signal."""
        n = tokens.size
        is_word = ~tokens.is_punct & ~tokens.is_space
        word_doc = tokens.doc[is_word]
        words = np.bincount(word_doc, minlength=n)
        sentence_of = np.cumsum(tokens.sent_start) - 1
        sentence_doc = tokens.doc[tokens.sent_start]
        sentences = np.bincount(sentence_doc[np.unique(sentence_of[is_word])], minlength=n)
        stop = np.bincount(word_doc, weights=tokens.is_stop[is_word], minlength=n)
        alpha = np.bincount(word_doc, weights=tokens.is_alpha[is_word], minlength=n)
        word_hashes = tokens.lower[is_word]
        columns: dict[str, Any] = {
            "words": words,
            "sentences": sentences,
            "mean_sentence_words": _ratio(words, sentences),
            "stopword_ratio": _ratio(stop, words),
            "alpha_ratio": _ratio(alpha, words),
        }
        columns.update(ngram_repetition(word_hashes, tokens.length[is_word], word_doc, n))
        joined = SEPARATOR.join(lowers)
        offsets, lengths = layout(lowers)
        columns["stock_opener"] = self.patterns.stock_openers(lowers)
        stock = self.patterns.stock_phrases(joined, offsets, lengths)
        columns["stock_phrase_density"] = 100.0 * _ratio(stock, words)
        columns["meta_phrases"] = self.patterns.meta_phrases(lowers)
        columns.update(self._deliberation(tokens, joined, (offsets, lengths), sentence_of, words))
        first = np.searchsorted(word_doc, np.arange(n + 1)).tolist()
        openers = [
            tuple(word_hashes[first[i] : min(first[i] + self.opener_words, first[i + 1])].tolist())
            for i in range(n)
        ]
        return {k: np.asarray(v).tolist() for k, v in columns.items()}, openers

    def _deliberation(
        self, tokens: Tokens, joined: str, placement: Any, sentence_of: Any, words: Any
    ) -> dict[str, Any]:
        """Is the AI's reasoning about *why* on the page? Two measures per document.

        `deliberation_density`: matches of the profile's cue phrases ("because",
        "the reason", "I weighed", "it would be wrong to", "I could have ... but",
        "that would mean", "my principles", "I chose", "trade-off", ...) per 100
        words, so length does not decide. `deliberation_first_person`: how many
        cues sit in a sentence where someone speaks as "I", "me" or "my": in these
        corpora the AI's quoted speech or first-person narration, so a reason in
        the AI's own voice counts while a narrator's "because the disk was full"
        does not. The defaults ask stories and advice for 3 cues per 1,000 words
        and one first-person reason. Known limits: a human character's reasons
        count too, and so do negated cues. Sentences are located in the joined
        text by their first token's offset.
        """
        n = tokens.size
        offsets, lengths = placement
        cues = self.patterns.cues(joined)
        cue_doc = np.searchsorted(offsets, cues, side="right") - 1
        inside = cues < offsets[cue_doc] + lengths[cue_doc]
        cues, cue_doc = cues[inside], cue_doc[inside]
        starts = np.flatnonzero(tokens.sent_start)
        sentence_at = offsets[tokens.doc[starts]] + tokens.idx[starts]
        cue_sentence = np.searchsorted(sentence_at, cues, side="right") - 1
        speaking = np.unique(sentence_of[tokens.is_first_person])
        spoken = np.isin(cue_sentence, speaking)
        return {
            "deliberation_density": 100.0 * _ratio(np.bincount(cue_doc, minlength=n), words),
            "deliberation_first_person": np.bincount(cue_doc[spoken], minlength=n),
        }

    def _segments(self, tokens: Tokens, texts: list[str]) -> list[Segments]:
        """Each document's sentences and quotations, when a signal needs them."""
        if not (self.reasons.enabled or self.semantic):
            return []
        starts = tokens.idx[tokens.sent_start]
        owners = tokens.doc[tokens.sent_start]
        cuts = np.searchsorted(owners, np.arange(len(texts) + 1)).tolist()
        return [
            segment(text, starts[cuts[i] : cuts[i + 1]].tolist(), self.quote_min_words)
            for i, text in enumerate(texts)
        ]

    def _cosines(self, batch: list[Document]) -> list[float | None]:
        if self.grounder is None:
            return [None] * len(batch)
        explainers = [i for i, doc in enumerate(batch) if doc.kind == "explainer"]
        found = self.grounder.cosines(
            [batch[i].text for i in explainers], [batch[i].principle_ids for i in explainers]
        )
        out: list[float | None] = [None] * len(batch)
        for i, value in zip(explainers, found, strict=True):
            out[i] = value
        return out

    def _ordered(self, scores: Scores) -> Scores:
        """Every signal in catalog order, less the embedding signals the profile does not
        read; floats rounded so reruns write the same bytes."""
        out: Scores = {}
        for name in SIGNALS:
            if name in EMBEDDED and name not in self.embedded:
                continue
            value = scores.get(name)
            out[name] = round(value, 6) if isinstance(value, float) else value
        return out
