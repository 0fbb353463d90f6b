"""Files that ship inside the package: reports, pipeline configs, bundled data, prompts.

Everything is read through :mod:`importlib.resources`, so a wheel installed anywhere finds
the same files as a git checkout. In the repository the top-level ``reports/``,
``pipelines/`` and ``data/`` folders are the real files; ``subliminal_stats/resources/``
links to them, and the wheel build copies them in.

Examples
--------
>>> resource("reports", "trait.qmd").name
'trait.qmd'
>>> "owl_numbers_local" in bundled_pipelines()
True
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from subliminal_stats.errors import InputError

__all__ = ["bundled_pipelines", "pipeline_config", "resource", "resources_root"]


def resources_root() -> Path:
    """The folder holding every shipped file (``subliminal_stats/resources``)."""
    # A wheel installs as plain files, so the Traversable is a real path.
    return Path(str(resources.files("subliminal_stats") / "resources"))


def resource(*parts: str) -> Path:
    """Path of a shipped file or folder, e.g. ``resource("data", "examples", "owl_example.csv")``."""
    return resources_root().joinpath(*parts)


def bundled_pipelines() -> dict[str, Path]:
    """The shipped pipeline configs by name (file stem), sorted."""
    folder = resource("pipelines")
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def pipeline_config(name_or_path: str | Path) -> Path:
    """A pipeline TOML: an existing path as given, else a bundled config by name.

    Raises
    ------
    InputError
        Neither a file nor the name of a bundled config.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    configs = bundled_pipelines()
    name = path.stem if path.suffix == ".toml" else str(name_or_path)
    if path.suffix in ("", ".toml") and name in configs and len(path.parts) <= 1:
        return configs[name]
    if path.exists():
        raise InputError(f"pipeline config {path} is not a file")
    raise InputError(
        f"pipeline config {str(name_or_path)!r} not found: give a TOML file or one of the bundled "
        f"configs ({', '.join(configs)}); `subliminal-stats pipelines` lists them"
    )
