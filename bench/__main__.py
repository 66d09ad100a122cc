"""`make bench`: run every benchmark and print its figures and ratios.

`python -m bench NAME …` runs only the named ones; options after the names
(`python -m bench ray_scale --docs 5000 --json`) go to a benchmark that takes
them (`OPTIONS`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import contamination, corpus_io, dedup, mix, quality, quality_coherence, ray_scale

BENCHMARKS: dict[str, Callable[[], None]] = {
    "corpus_io": corpus_io.main,
    "quality": quality.main,
    "quality_coherence": quality_coherence.main,
    "dedup": dedup.main,
    "contamination": contamination.main,
    "mix": mix.main,
    "ray_scale": ray_scale.main,
}
#: The benchmarks that take options (their `main` parses them).
OPTIONS: dict[str, Callable[[list[str]], None]] = {"ray_scale": ray_scale.main}


def main(argv: list[str]) -> int:
    first = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    names, options = argv[:first] or list(BENCHMARKS), argv[first:]
    for name in names:
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
            return 2
        if options and name not in OPTIONS:
            print(f"benchmark {name!r} takes no options; these do: {', '.join(OPTIONS)}")
            return 2
    for name in names:
        if options:
            OPTIONS[name](options)
        else:
            BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
