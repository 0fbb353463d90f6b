"""The package's shape: imports point down the pipeline, never up, and never at private names.

The layers, bottom first (``LAYERS``): a module may import from its own layer or any layer
below it. ``subliminal_stats/__init__.py`` (the public facade) may import anything, lazily.
A module never imports another module's underscore names, and never a private module
(``_name.py``) of another subpackage.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "subliminal_stats"

#: Bottom first. Top-level modules and subpackages of ``subliminal_stats``.
LAYERS: list[set[str]] = [
    {"errors", "version", "bundled", "resources"},
    {"words"},
    {"data"},
    {"backends"},
    {"judge"},
    {"generation"},
    {"filtering"},
    {"training"},
    {"evaluation"},
    {"diagnostics"},
    {"stats"},
    {"report"},
    {"experiments"},
    {"cli", "__main__"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path):
    """Yield (line, imported module, imported names) for every subliminal_stats import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = _module_name(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative import: resolve against this package
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            if module.startswith("subliminal_stats"):
                yield node.lineno, module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("subliminal_stats"):
                    yield node.lineno, alias.name, []


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_room_has_a_layer():
    rooms = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in SOURCES}
    rooms.discard("__init__")
    missing = sorted(rooms - RANK.keys())
    assert not missing, f"rooms without a layer in LAYERS: {missing}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_and_stay_public(path: Path):
    own = _module_name(path)
    own_layer = _layer(own)
    problems = []
    for line, module, names in _imports(path):
        target_layer = _layer(module)
        if own_layer is not None and target_layer is not None:
            if RANK[target_layer] > RANK[own_layer]:
                problems.append(f"line {line}: {own_layer} imports up the pipeline from {module}")
        for part in module.split(".")[1:]:
            if part.startswith("_") and not module.startswith(f"subliminal_stats.{own_layer}."):
                problems.append(f"line {line}: imports private module {module}")
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        if private:
            problems.append(f"line {line}: imports private names {private} from {module}")
    assert not problems, "\n".join(problems)
