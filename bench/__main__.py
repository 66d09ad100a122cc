"""`make bench`: run every benchmark and print its figures and ratios."""

from __future__ import annotations

import sys

from bench import corpus_io

BENCHMARKS = {"corpus_io": corpus_io.main}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    for name in names:
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
            return 2
        BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
