"""Mix builds: a cold build (every document tokenised) against a warm rebuild.

The peer is the cold build, which tokenises every document; the warm rebuild
into the same directory reads its counts from the token cache, so the ratio
shows what the cache saves. Run alone with `python -m bench.mix`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from toolkit.document import Document, Provenance
from toolkit.io import write_documents
from toolkit.mix import build_mix

WORDS = "the agent paused and asked before acting because the change could not be undone " * 20


def _inputs(directory: Path, n: int) -> Path:
    prov = Provenance(backend="offline", template="story", template_version="v1")
    for kind in ("story", "explainer"):
        docs = (Document.create(kind, f"{kind} {i} {WORDS}", provenance=prov) for i in range(n))
        write_documents(docs, directory / kind)
    spec = directory / "mix.toml"
    spec.write_text(
        f"target_tokens = {n * 300}\nseed = 1\nmax_epochs = 2\nvalidation_fraction = 0.05\n"
        'formats = ["jsonl.zst", "parquet"]\n'
        '[sources.stories]\npath = "story"\nshare = 0.6\n'
        '[sources.explainers]\npath = "explainer"\nshare = 0.4\n'
    )
    return spec


def main(n: int = 5_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        spec = _inputs(Path(tmp), n)
        out = Path(tmp) / "out"
        start = time.perf_counter()
        manifest = build_mix(spec, out, quiet=True)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        build_mix(spec, out, quiet=True, overwrite=True)
        warm = time.perf_counter() - start
    tokens = manifest["tokens"]["realised"]
    print(f"mix build: {2 * n:,} input documents, {tokens:,} tokens out")
    print(f"  cold (tokenise all)  {cold:6.2f} s  {tokens / cold:>12,.0f} tokens/s")
    print(f"  warm (token cache)   {warm:6.2f} s  {tokens / warm:>12,.0f} tokens/s")
    print(f"  cache speed-up       {cold / warm:6.2f}x")


if __name__ == "__main__":
    main()
