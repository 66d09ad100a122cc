"""Quality profiles: shipped defaults, kind overrides, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.errors import ConfigError, InputError
from toolkit.quality import SIGNALS, load_profile

MINIMAL = 'version = "t.v1"\n'
WORDS = "[base.short]\nsignal = 'words'\nmin = 80\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as err:
        load_profile(_write(tmp_path, text))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "profile.toml"))
    return message


def test_default_profile_has_rules_for_every_kind() -> None:
    profile = load_profile()
    assert profile.version == "default.v2"
    for kind in ("explainer", "story", "advice", "external"):
        rules = profile.rules_for(kind)
        assert rules and all(rule.signal in SIGNALS for rule in rules)
    story = {rule.name: rule for rule in profile.rules_for("story")}
    assert story["too_short"].min == 150  # the kind's rule replaces the base one
    assert "ungrounded" not in story and "no_deliberation" in story
    names = [rule.name for rule in profile.rules_for("story")]
    assert names.index("too_short") == 0  # ... in the base rule's place
    assert profile.signals.stock_openers and profile.signals.deliberation_cues


def test_unknown_signal_names_file_key_and_valid_signals(tmp_path: Path) -> None:
    message = _error(tmp_path, MINIMAL + '[base.short]\nsignal = "wordz"\nmin = 3\n')
    assert "key 'base.short.signal'" in message and "'wordz'" in message
    assert "valid signals: words, sentences," in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version = 1\n", "key 'version'"),
        ("nonsense = [\n", "not valid TOML"),
        (MINIMAL + "[robots.x]\nsignal = 'words'\nmin = 1\n", "unknown section"),
        (MINIMAL + "[base.x]\nsignal = 'words'\n", "needs min, max or both"),
        (MINIMAL + "[base.x]\nsignal = 'words'\nmin = 'a'\n", "key 'base.x.min'"),
        (MINIMAL + "[base.x]\nsignal = 'words'\nmin = 5\nmax = 1\n", "min 5.0 is above max"),
        (MINIMAL + "[base.x]\nsignal = 'words'\nmni = 5\n", "key 'base.x.mni': unknown"),
        (MINIMAL + "[signals]\nstock_phrases = ['(']\n", "key 'signals.stock_phrases[0]'"),
        (MINIMAL + "[signals]\nmeta_phrases = ['As an AI']\n", "lower case"),
        (MINIMAL + "[signals]\nopener_words = 0\n", "positive integer"),
        (MINIMAL + "[signals]\ncolour = 1\n", "key 'signals.colour': unknown"),
        (MINIMAL + WORDS + "[score.x]\nsignal = 'words'\n", "key 'score.x.good': missing"),
        (MINIMAL + WORDS + "[score.x]\nsignal = 'words'\ngood = 5\n", "below the min 80"),
        (MINIMAL + WORDS + "[score.x]\nsignal = 'words'\ngood = [90, 1]\n", "90.0 is above"),
        (MINIMAL + WORDS + "[score.x]\nsignal = 'words'\ngood = 90\nweight = 0\n", "above 0"),
        (MINIMAL + WORDS + "[score.x]\nsignal = 'words'\ngood = 90\nmin = 1\n", "'score.x.min'"),
        (MINIMAL + "[score.x]\nsignal = 'words'\ngood = 90\n", "no rule checks 'words'"),
        (MINIMAL + "[score.x]\nsignal = 'wordz'\ngood = 90\n", "key 'score.x.signal'"),
    ],
)
def test_profile_errors_are_one_clear_line(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(tmp_path, text)


def test_escapes_with_capitals_are_allowed_in_patterns(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, MINIMAL + "[signals]\nstock_phrases = ['\\Wfoo\\S']\n"))
    assert profile.signals.stock_phrases == ("\\Wfoo\\S",)


def test_missing_profile_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such profile file"):
        load_profile(tmp_path / "absent.toml")


def test_default_profile_defines_a_score_over_ruled_signals() -> None:
    profile = load_profile()
    terms = {term.name: term for term in profile.score}
    assert terms["deliberation"].signal == "deliberation_density"
    assert terms["deliberation"].weight == max(term.weight for term in profile.score)
    assert terms["length"].good == (300.0, 5000.0)
    ruled = {rule.signal for rules in profile.rules.values() for rule in rules}
    assert {term.signal for term in profile.score} <= ruled


def test_the_released_v1_profile_still_loads_without_a_score() -> None:
    v1 = load_profile(
        Path(__file__).parents[1] / "toolkit" / "data" / "quality" / "default.v1.toml"
    )
    assert v1.version == "default.v1" and v1.score == ()
    assert v1.rules == load_profile().rules  # v2 changed no rule


V3 = Path(__file__).parents[1] / "toolkit" / "data" / "quality" / "default.v3.toml"


def test_v3_replaces_cue_counting_with_structural_and_embedding_rules() -> None:
    v3 = load_profile(V3)
    assert v3.version == "default.v3"
    for kind in ("story", "advice"):
        signals = {rule.signal for rule in v3.rules_for(kind)}
        assert "deliberation_first_person" not in signals
        assert {"reason_sentences", "incoherent_sentences", "quote_relevance"} <= signals
    assert "principle_rank" in {rule.signal for rule in v3.rules_for("explainer")}
    assert v3.signals.reason_patterns and not v3.signals.deliberation_cues
    assert v3.signals.coherence_min_words == 7 and v3.signals.coherence_floor == 0.3
    assert (
        "quote_relevance" in v3.signals_used() and "deliberation_density" not in v3.signals_used()
    )
    assert load_profile().version == "default.v2"  # v3 is shipped, not the default


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[signals]\ncoherence_floor = 2\n", "key 'signals.coherence_floor': expected a cosine"),
        ("[signals]\ncoherence_floor = 'high'\n", "key 'signals.coherence_floor'"),
        ("[signals]\nquote_min_words = 0\n", "key 'signals.quote_min_words'"),
        ("[signals]\nreason_patterns = ['Because']\n", "key 'signals.reason_patterns[0]'"),
    ],
)
def test_new_signal_settings_are_checked(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(tmp_path, MINIMAL + text)
