"""Do the offline signals catch incoherence? Coherent documents against defective copies.

The documents are our own (`bench/data/quality/coherence/`); the defects are
derived from them (`bench/quality_defects.py`): sentences shuffled in from
other documents, a quotation swapped for an irrelevant one, the reasons
removed, and two harder cases (sentences from documents of the same kind
only; the text citing a principle of another part of the constitution). Each
variant is scored with the sample constitution and judged by a profile's
rules, as the quality stage judges it; a variant counts as rejected when it
fails any rule. The goal, for a profile to become the default: at least
90 % of each of the three named defect classes rejected while at least 90 %
of the coherent documents are kept, on every split. Figures are given per
split: `tune` is the one thresholds were chosen on; `held_out` was not
looked at while default.v3's were chosen (its failures were read afterwards)
and `held_out_2` was written before default.v4's were chosen and scored
only once they were final.

`python -m bench quality_coherence` prints default.v2, default.v3 and
default.v4 side by side;
`python -m bench.quality_coherence --json` prints the figures as JSON,
`--profile PATH` judges with another profile, `--split tune` scores one
split only (thresholds are chosen that way, never looking at `held_out`) and
`--dump FILE` writes every variant's signals (one JSON object a line).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.quality_defects import DEFECTS, SPLITS, Variant, load, variants
from toolkit.constitution import load_constitution
from toolkit.document import Document
from toolkit.quality import Profile, Scorer, Scores, evaluate, load_profile

SAMPLE = Path(__file__).resolve().parents[1] / "constitution" / "sample.md"
PROFILES = Path(__file__).resolve().parents[1] / "toolkit" / "data" / "quality"
NAMED = ("shuffled", "quote_swapped", "reasons_removed")
GOAL = 0.9
#: The signals aimed at each defect class, for "rejected by its own signals".
TARGETS = {
    "shuffled": {"incoherent_sentences"},
    "shuffled_same_kind": {"incoherent_sentences"},
    "quote_swapped": {"quote_relevance", "foreign_quotes"},
    "reasons_removed": {"reason_sentences", "reasoning_density"},
    "principle_swapped": {"principle_rank"},
}


@dataclass
class Tally:
    total: int = 0
    rejected: int = 0
    by_target: int = 0
    rules: Counter[str] = field(default_factory=Counter)

    def add(self, failed: list[tuple[str, str]], targets: set[str]) -> None:
        self.total += 1
        if failed:
            self.rejected += 1
            self.rules[failed[0][0]] += 1
        if any(signal in targets for _, signal in failed):
            self.by_target += 1

    def share(self) -> float | None:
        return round(self.rejected / self.total, 3) if self.total else None


def score(items: Sequence[Variant], profile: Profile) -> list[Scores]:
    scorer = Scorer(profile, constitution=load_constitution(SAMPLE))
    docs = [Document.create(v.source.kind, v.text, principle_ids=v.principle_ids) for v in items]
    return [scores for _, scores, _ in scorer.score(docs)]


def judge(profile: Profile, splits: Sequence[str] = SPLITS) -> tuple[dict[str, Any], list[Any]]:
    """Figures per split, defect and kind for `profile`, and every variant's signals."""
    principles = [p.id for p in load_constitution(SAMPLE).principles()]
    figures: dict[str, Any] = {}
    rows: list[Any] = []
    for split in splits:
        items = list(variants(load(split), principles))
        tallies: dict[tuple[str, str], Tally] = {}
        for item, scores in zip(items, score(items, profile), strict=True):
            failed = [(f.rule, f.signal) for f in evaluate(item.source.kind, scores, profile)]
            for kind in (item.source.kind, "all"):
                tally = tallies.setdefault((item.defect, kind), Tally())
                tally.add(failed, TARGETS.get(item.defect, set()))
            rows.append(
                {"split": split, "id": item.source.id, "kind": item.source.kind}
                | {"defect": item.defect, "failed": [r for r, _ in failed], "scores": scores}
            )
        figures[split] = {
            defect: {
                kind: {
                    "documents": t.total,
                    "share": (
                        round(1 - t.rejected / t.total, 3) if defect == "coherent" else t.share()
                    ),
                    "by_own_signals": round(t.by_target / t.total, 3) if t.total else None,
                    "first_rules": dict(t.rules.most_common(4)),
                }
                for (d, kind), t in sorted(tallies.items())
                if d == defect
            }
            for defect in ("coherent", *DEFECTS)
        }
    return figures, rows


def goal_met(figures: dict[str, Any]) -> bool:
    return all(
        figures[split]["coherent"]["all"]["share"] >= GOAL
        and all(figures[split][d]["all"]["share"] >= GOAL for d in NAMED)
        for split in figures
    )


def _lines(name: str, figures: dict[str, Any]) -> list[str]:
    out = [f"  profile {name}: kept coherent / rejected defective (explainer, story, advice)"]
    for split, by_defect in figures.items():
        out.append(f"    {split}:")
        for defect, by_kind in by_defect.items():
            whole = by_kind["all"]
            kinds = [k for k in ("explainer", "story", "advice") if k in by_kind]
            parts = ", ".join(f"{by_kind[k]['share']:.0%}" for k in kinds)
            verb = "kept" if defect == "coherent" else "rejected"
            share, n = whole["share"], whole["documents"]
            out.append(f"      {defect:<20} {verb:>8} {share:6.1%} of {n:3d} ({parts})")
    return out


def main(argv: Sequence[str] = ()) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.quality_coherence")
    parser.add_argument("--profile", action="append", type=Path, help="profile file (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--dump", type=Path, help="write every variant's signals as JSONL")
    parser.add_argument("--split", choices=SPLITS, action="append", help="only this split")
    args = parser.parse_args(argv)
    paths = args.profile or [PROFILES / f"default.v{n}.toml" for n in (2, 3, 4)]
    report: dict[str, Any] = {}
    started = time.perf_counter()
    for path in paths:
        profile = load_profile(path)
        figures, rows = judge(profile, args.split or SPLITS)
        report[profile.version] = {"figures": figures, "goal_met": goal_met(figures)}
        if args.dump:
            with args.dump.open("w", encoding="utf-8") as handle:
                handle.writelines(json.dumps(row) + "\n" for row in rows)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print("quality coherence: hand-written documents against defective copies")
    for version, found in report.items():
        print("\n".join(_lines(version, found["figures"])))
        met = "met" if found["goal_met"] else "not met"
        print(f"    goal (>= {GOAL:.0%} kept and >= {GOAL:.0%} of each named defect): {met}")
    print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
