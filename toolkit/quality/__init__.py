"""Quality signals, scores files, profile rules, the quality filter and the LLM judge."""

from toolkit.quality.catalog import SIGNALS, Score, Scores
from toolkit.quality.composite import Composite
from toolkit.quality.filter import Failure, decide, evaluate, filter_corpus
from toolkit.quality.profile import Profile, Rule, ScoreTerm, SignalConfig, load_profile
from toolkit.quality.scorer import Scorer
from toolkit.quality.scores import SCORES_FILE, ScoreRecord, read_scores, score_corpus
from toolkit.quality.tokens import load_pipeline

__all__ = [
    "SCORES_FILE",
    "SIGNALS",
    "Composite",
    "Failure",
    "Profile",
    "Rule",
    "Score",
    "ScoreRecord",
    "ScoreTerm",
    "Scorer",
    "Scores",
    "SignalConfig",
    "decide",
    "evaluate",
    "filter_corpus",
    "load_pipeline",
    "load_profile",
    "read_scores",
    "score_corpus",
]
