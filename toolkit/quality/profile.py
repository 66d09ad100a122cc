"""Quality profiles: phrase lists for scoring, and rules with thresholds per kind.

A profile is a TOML file: a `version` string, a `[signals]` table that
configures scoring (phrase lists, opener settings), rule tables
`[SECTION.RULE]` where SECTION is `base` (every kind) or a kind, and from
default.v2 on an optional `[score.TERM]` table per term of the composite
quality score (see `toolkit.quality.composite`). A kind's rules are the base
rules, with same-named ones replaced, then its own. Each rule names one
signal and a `min` and/or `max`; a document fails it when the value lies
outside. Every mistake is a `ConfigError` naming the file and key, so a
profile is checked whole before any document is read.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from toolkit.document import KINDS
from toolkit.errors import ConfigError, InputError
from toolkit.quality.catalog import SIGNALS
from toolkit.quality.signal_config import SignalConfig, parse_signal_config

__all__ = ["DEFAULT_PROFILE", "Profile", "Rule", "ScoreTerm", "SignalConfig", "load_profile"]

DEFAULT_PROFILE = "default.v2.toml"
_SECTIONS = ("base", *KINDS)
_RULE_KEYS = ("signal", "min", "max", "why")
_TERM_KEYS = ("signal", "good", "weight", "why")


@dataclass(frozen=True, slots=True)
class Rule:
    """Keep a document only while `min <= scores[signal] <= max` (bounds optional)."""

    name: str
    signal: str
    min: float | None = None
    max: float | None = None
    why: str = ""

    def failure(self, value: float) -> tuple[str, float] | None:
        """("min" | "max", threshold) when `value` breaks this rule, else None."""
        if self.min is not None and value < self.min:
            return "min", self.min
        if self.max is not None and value > self.max:
            return "max", self.max
        return None


@dataclass(frozen=True, slots=True)
class ScoreTerm:
    """One term of the composite score: `signal` mapped to [0, 1], with a `weight`.

    The term is 1 while the value lies in `good` (low, high) and falls
    linearly to 0 at the threshold of the document's kind's rule on that side
    (its `min` below, its `max` above); a side with no rule stays 1. A kind
    with no rule on the signal has no zero point, so the term does not apply
    to it.
    """

    name: str
    signal: str
    good: tuple[float, float]
    weight: float = 1.0
    why: str = ""


@dataclass(frozen=True, slots=True)
class Profile:
    """A loaded profile: `rules[kind]` in evaluation order (the first failure is the reason).

    `score` holds the terms of the composite quality score, empty for a
    profile without a `[score]` table (default.v1), which scores no document.
    """

    path: str
    version: str
    signals: SignalConfig
    rules: dict[str, tuple[Rule, ...]]
    score: tuple[ScoreTerm, ...] = ()

    def rules_for(self, kind: str) -> tuple[Rule, ...]:
        return self.rules.get(kind, self.rules["base"])

    def signals_used(self) -> frozenset[str]:
        """Every signal some kind's rule or a score term reads: scoring computes the
        costly embedding signals only for these."""
        ruled = {rule.signal for rules in self.rules.values() for rule in rules}
        return frozenset(ruled | {term.signal for term in self.score})


def _valid_signals() -> str:
    return ", ".join(SIGNALS)


def _number(where: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: key {key!r}: expected a number, got {value!r}")
    return float(value)


def _rule(where: str, section: str, name: str, table: Any) -> Rule:
    key = f"{section}.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: key {key!r}: expected a table with signal, min and/or max")
    unknown = sorted(set(table) - set(_RULE_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: key '{key}.{unknown[0]}': unknown; expected one of {', '.join(_RULE_KEYS)}"
        )
    signal = table.get("signal")
    if signal not in SIGNALS:
        raise ConfigError(
            f"{where}: key '{key}.signal': unknown signal {signal!r}; "
            f"valid signals: {_valid_signals()}"
        )
    low = _number(where, f"{key}.min", table["min"]) if "min" in table else None
    high = _number(where, f"{key}.max", table["max"]) if "max" in table else None
    if low is None and high is None:
        raise ConfigError(f"{where}: key {key!r}: a rule needs min, max or both")
    if low is not None and high is not None and low > high:
        raise ConfigError(f"{where}: key {key!r}: min {low} is above max {high}")
    why = table.get("why", "")
    if not isinstance(why, str):
        raise ConfigError(f"{where}: key '{key}.why': expected a string")
    return Rule(name=name, signal=str(signal), min=low, max=high, why=why)


def _good(where: str, key: str, value: Any) -> tuple[float, float]:
    if isinstance(value, list) and len(value) == 2:
        low, high = (_number(where, key, v) for v in value)
        if low > high:
            raise ConfigError(f"{where}: key {key!r}: {low} is above {high}")
        return low, high
    if isinstance(value, list):
        raise ConfigError(f"{where}: key {key!r}: expected a number or [low, high]")
    number = _number(where, key, value)
    return number, number


def _term(where: str, name: str, table: Any, rules: dict[str, tuple[Rule, ...]]) -> ScoreTerm:
    key = f"score.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: key {key!r}: expected a table with signal, good and weight")
    unknown = sorted(set(table) - set(_TERM_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: key '{key}.{unknown[0]}': unknown; expected one of {', '.join(_TERM_KEYS)}"
        )
    signal = table.get("signal")
    if signal not in SIGNALS:
        raise ConfigError(
            f"{where}: key '{key}.signal': unknown signal {signal!r}; "
            f"valid signals: {_valid_signals()}"
        )
    if "good" not in table:
        raise ConfigError(f"{where}: key '{key}.good': missing; expected a number or [low, high]")
    low, high = _good(where, f"{key}.good", table["good"])
    weight = _number(where, f"{key}.weight", table.get("weight", 1.0))
    if weight <= 0:
        raise ConfigError(f"{where}: key '{key}.weight': expected a number above 0, got {weight}")
    why = table.get("why", "")
    if not isinstance(why, str):
        raise ConfigError(f"{where}: key '{key}.why': expected a string")
    ruled = False
    for kind, kind_rules in rules.items():
        for rule in kind_rules:
            if rule.signal != signal:
                continue
            ruled = True
            if rule.min is not None and rule.min > low:
                raise ConfigError(
                    f"{where}: key '{key}.good': {low:g} is below the min {rule.min:g} of rule "
                    f"{kind}.{rule.name}; good values must pass the rules"
                )
            if rule.max is not None and rule.max < high:
                raise ConfigError(
                    f"{where}: key '{key}.good': {high:g} is above the max {rule.max:g} of rule "
                    f"{kind}.{rule.name}; good values must pass the rules"
                )
    if not ruled:
        raise ConfigError(
            f"{where}: key '{key}.signal': no rule checks {signal!r}, so the term has no "
            "zero point; add a rule on it or remove the term"
        )
    return ScoreTerm(name=name, signal=str(signal), good=(low, high), weight=weight, why=why)


def _score_terms(
    where: str, table: Any, rules: dict[str, tuple[Rule, ...]]
) -> tuple[ScoreTerm, ...]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: key 'score': expected a table of score terms")
    return tuple(_term(where, name, t, rules) for name, t in table.items())


def _parse(where: str, data: dict[str, Any]) -> Profile:
    allowed = ("version", "signals", "score", *_SECTIONS)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{where}: key {unknown[0]!r}: unknown section; expected one of {', '.join(allowed)}"
        )
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise ConfigError(f"{where}: key 'version': expected a non-empty string")
    sections: dict[str, dict[str, Rule]] = {}
    for section in _SECTIONS:
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: key {section!r}: expected a table of rules")
        sections[section] = {name: _rule(where, section, name, t) for name, t in table.items()}
    rules = {"base": tuple(sections["base"].values())}
    for kind in KINDS:
        merged = {**sections["base"], **sections[kind]}
        rules[kind] = tuple(merged.values())
    return Profile(
        path=where,
        version=version,
        signals=parse_signal_config(where, data.get("signals", {})),
        rules=rules,
        score=_score_terms(where, data.get("score", {}), rules),
    )


def load_profile(path: str | Path | None = None) -> Profile:
    """The profile at `path`, or the shipped default when `path` is None."""
    if path is None:
        source = resources.files("toolkit").joinpath("data", "quality", DEFAULT_PROFILE)
        where = f"<default profile {DEFAULT_PROFILE}>"
        text = source.read_text(encoding="utf-8")
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{where}: no such profile file") from None
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(f"{where}: cannot read profile ({err})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where}: not valid TOML ({err})") from None
    return _parse(where, data)
