"""The modules of `toolkit` import each other without a cycle.

Every `.py` under `toolkit/` is parsed with `ast` (nothing is imported), and
every import statement in it becomes an edge to the `toolkit` module it names:
`import toolkit.a.b` and `from toolkit.a import b` name `toolkit.a.b` when `b`
is a module, `from toolkit.a import name` names `toolkit.a` (the package's
`__init__`), and relative imports are resolved against the importing module's
package. Imports of anything outside `toolkit` are ignored.

Which imports count: all of them, wherever they stand: at module level,
inside functions and methods, and under `if TYPE_CHECKING:`. A lazy import
kept inside a function for start-up speed (the Anthropic SDK behind the
backend factory, torch behind the embedding model) defers the cost of a
dependency but not the dependency: a cycle closed by one is the same tangle
as any other, only out of sight of an import-time check, and a type-only
import that closes a cycle says two modules need each other just as much.
The tree has none of either kind, so the test holds the strict line.

An edge goes only to the module named, not to the packages above it, although
Python runs `toolkit/a/__init__.py` before `toolkit.a.b`: a package whose
`__init__` re-exports its own submodules (a curated face, as
`toolkit.embeddings` has) would otherwise be a cycle by construction. Tools
that check import layering (grimp, import-linter) draw the graph this way.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "toolkit"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted((ROOT / PACKAGE).rglob("*.py"))}


def _imported(module: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """The `toolkit` modules that `module` (at `path`) names in any import statement."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name  # `import a.b.c` binds a, runs a.b.c
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name:
                    yield name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in modules:
                    yield submodule
                elif source in modules:
                    yield source


def import_graph() -> dict[str, set[str]]:
    """Each `toolkit` module and the `toolkit` modules it imports."""
    modules = _modules()
    return {
        name: {target for target in _imported(name, path, modules) if target != name}
        for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path that ends where it starts, or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path = [start]
        on_path = {start}
        stack = [iter(sorted(graph[start]))]
        while stack:
            target = next(stack[-1], None)
            if target is None:
                stack.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                continue
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target in done:
                continue
            path.append(target)
            on_path.add(target)
            stack.append(iter(sorted(graph[target])))
    return None


def test_the_graph_sees_imports_of_every_kind() -> None:
    """The walk finds imports of names, of submodules and inside functions, so no
    cycle found means no cycle, not an empty graph."""
    graph = import_graph()
    assert len(graph) > 100
    assert "toolkit.embeddings.embedder" in graph["toolkit.embeddings.cache"]
    assert "toolkit.errors" in graph["toolkit.embeddings.cache"]
    # `from toolkit.generate.backends.anthropic import AnthropicBackend`, inside a function
    assert "toolkit.generate.backends.anthropic" in graph["toolkit.generate.backends.factory"]
    # `from toolkit.pipeline import steps` names the submodule, not the package
    assert "toolkit.pipeline.steps" in graph["toolkit.pipeline.runner"]


def test_find_cycle_names_the_modules_around_it() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"b"}}) is None


def test_toolkit_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
