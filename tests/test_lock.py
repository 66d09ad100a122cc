"""The committed lock must satisfy pyproject.toml: every install runs from it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def pins(text: str) -> dict[str, Version]:
    """`name==version` lines of a pip-compile lock, names canonicalised."""
    found: dict[str, Version] = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==([^\s;#]+)", line)
        if match:
            found[canonicalize_name(match[1])] = Version(match[2])
    return found


def requirements(project: dict[str, Any]) -> list[Requirement]:
    """Runtime and every extra's requirements, without the project's own self-references."""
    table = project["project"]
    listed = list(table["dependencies"])
    for extra in table["optional-dependencies"].values():
        listed += extra
    reqs = [Requirement(text) for text in listed]
    return [r for r in reqs if canonicalize_name(r.name) != canonicalize_name(table["name"])]


def unsatisfied(project: dict[str, Any], lock: str) -> list[str]:
    pinned = pins(lock)
    problems = []
    for req in requirements(project):
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        version = pinned.get(canonicalize_name(req.name))
        if version is None:
            problems.append(f"{req.name} is not in the lock")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}=={version} does not satisfy {req}")
    return problems


def test_the_committed_lock_satisfies_every_requirement_of_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lock = (ROOT / "requirements.lock").read_text()
    assert unsatisfied(project, lock) == [], "run `make lock` and commit requirements.lock"
    locked = pins(lock)
    assert locked["torch"] == Version("2.13.0"), "torch must stay on the CPU build's release"
    assert "pip" in locked, "the install pins pip from the lock"
    # a path on the locking machine would install that machine's checkout, or fail elsewhere
    assert "file://" not in lock and not re.search(r"^\S+ @ ", lock, re.M)


def test_a_stale_lock_is_caught() -> None:
    project: dict[str, Any] = {
        "project": {
            "name": "constitution-corpus",
            "dependencies": ["anthropic>=2.0", "numpy>=1.26"],
            "optional-dependencies": {"dev": ["constitution-corpus[bench]", "ruff==0.17.6"]},
        }
    }
    lock = "anthropic==1.9.0\n    # via x\nruff==0.17.6\n"
    assert unsatisfied(project, lock) == [
        "anthropic==1.9.0 does not satisfy anthropic>=2.0",
        "numpy is not in the lock",
    ]
