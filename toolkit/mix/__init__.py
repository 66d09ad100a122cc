"""Training mixes: sources blended by token share into shuffled, verifiable shards.

`load_spec` reads a TOML mix spec, `build_mix` writes shards (one folder per
format, one subfolder per split: `parquet/train/`, `jsonl/train/`),
`manifest.json` and a README data card with a Hugging Face YAML header,
`verify_mix` re-checks a built mix and `inspect_mix` reports its composition
and layout. `TokenCounter` counts tokens with any Hugging Face
`tokenizer.json`.
"""

from toolkit.mix.build import build_mix
from toolkit.mix.plan import in_validation
from toolkit.mix.spec import MixSpec, SourceSpec, load_spec
from toolkit.mix.tokens import TokenCounter, TokenizerInfo
from toolkit.mix.verify import inspect_mix, load_manifest, raise_if_failed, verify_mix

__all__ = [
    "MixSpec",
    "SourceSpec",
    "TokenCounter",
    "TokenizerInfo",
    "build_mix",
    "in_validation",
    "inspect_mix",
    "load_manifest",
    "load_spec",
    "raise_if_failed",
    "verify_mix",
]
