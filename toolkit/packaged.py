"""Files shipped inside the package, under `toolkit/data/`.

Defaults (attribute lists, review reasons and guidelines) are found from the
package itself, never from the current directory, so every command works
wherever it is run. The package is installed as plain files (never zipped),
so these are real paths that can be listed, read and shown in messages.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA_DIR", "data_path"]

DATA_DIR = Path(__file__).resolve().parent / "data"


def data_path(*parts: str) -> Path:
    """The path of a shipped file or folder, e.g. `data_path("stories", "tools.json")`."""
    return DATA_DIR.joinpath(*parts)
