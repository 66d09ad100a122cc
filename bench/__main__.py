"""`make bench`: run every benchmark and print its figures and ratios.

`python -m bench NAME …` runs only the named ones.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import contamination, corpus_io, dedup, mix, quality, quality_coherence

BENCHMARKS: dict[str, Callable[[], None]] = {
    "corpus_io": corpus_io.main,
    "quality": quality.main,
    "quality_coherence": quality_coherence.main,
    "dedup": dedup.main,
    "contamination": contamination.main,
    "mix": mix.main,
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    for name in names:
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
            return 2
    for name in names:
        BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
