"""The names and meanings of every quality signal.

Profiles name signals in their rules and score files carry them by name, so
this list is the contract between scoring and filtering: a profile rule on a
name not listed here is a configuration error, caught when the profile loads.
"""

from __future__ import annotations

__all__ = ["EMBEDDED", "NGRAM_DUP", "NGRAM_TOP", "SIGNALS", "Score", "Scores"]

#: One signal's value: a count, a ratio, or None when it does not apply.
Score = int | float | None
Scores = dict[str, Score]

NGRAM_TOP = (2, 3, 4)
NGRAM_DUP = (5, 6, 7, 8, 9, 10)

SIGNALS: dict[str, str] = {
    "words": "word tokens (spaCy tokens that are neither punctuation nor space)",
    "sentences": "sentences holding at least one word",
    "mean_sentence_words": "words per sentence",
    "stopword_ratio": "share of words that are English stop words",
    "alpha_ratio": "share of words made only of letters",
    "dup_line_fraction": "share of non-empty lines that repeat an earlier line",
    "dup_line_char_fraction": "share of line characters in repeated lines",
    "dup_paragraph_fraction": "share of paragraphs that repeat an earlier paragraph",
    "dup_paragraph_char_fraction": "share of paragraph characters in repeated paragraphs",
    **{
        f"top_{n}gram_fraction": f"share of word characters covered by the most frequent {n}-gram"
        for n in NGRAM_TOP
    },
    **{
        f"dup_{n}gram_fraction": f"share of word characters inside repeated {n}-grams"
        for n in NGRAM_DUP
    },
    "stock_opener": "1 when the text opens with a configured stock opener",
    "opener_share": "share of same-kind documents opening with the same first words "
    "(null below opener_min_docs documents of the kind)",
    "stock_phrase_density": "configured stock phrases per 100 words",
    "meta_phrases": "configured meta or refusal phrases in the opening or closing "
    "meta_window characters, where a generator talks about its task",
    "unterminated_ending": "1 when the text does not end on terminal punctuation",
    "unclosed_quote": "1 when a double quotation mark is left open",
    "unclosed_bracket": "1 when more brackets open than close",
    "grounding_lexical": "explainers: worst share of a claimed principle's key words the "
    "text uses (null without a constitution)",
    "grounding_cosine": "explainers: worst embedding cosine to a claimed principle "
    "(null without a constitution or with embeddings off)",
    "unknown_principles": "explainers: claimed principle ids the constitution lacks",
    "deliberation_density": "stories and advice: reasoning cue phrases per 100 words",
    "deliberation_first_person": "stories and advice: reasoning cues in sentences with "
    "first-person speech",
    "reason_sentences": "sentences holding a reason clause joined to a statement (a configured "
    "reason pattern with words on both sides), in any grammatical person "
    "(null without reason_patterns)",
    "reasoning_density": "reason_sentences per 100 words",
    "incoherent_sentences": "share of sentences (of coherence_min_words words or more) whose mean "
    "embedding cosine to their 3 closest sentences of the document is below coherence_floor",
    "sentence_coherence": "mean embedding cosine of adjacent sentences within a paragraph",
    "paragraph_coherence": "mean embedding cosine of adjacent paragraphs",
    "quote_relevance": "the least relevant quotation (quote_min_words words or more in double "
    "quotes): mean of its cosine to the paragraphs around it, its cosine to the rest of the "
    "document and the share of its content words used elsewhere (null without quotations)",
    "foreign_quotes": "quotations (quote_min_words words or more) found word for word in the "
    "constitution in an uncited principle and in no cited one (null without a constitution)",
    "principle_rank": "uncited principles closer in meaning to the document than its closest "
    "cited principle (0: on topic; null without a constitution)",
}

#: Signals computed from sentence embeddings: only when a profile's rule or score
#: term reads them (left out of the scores otherwise), null with embeddings off.
EMBEDDED = frozenset(
    {
        "incoherent_sentences",
        "sentence_coherence",
        "paragraph_coherence",
        "quote_relevance",
        "principle_rank",
    }
)
