"""Pipeline runners: the registry behind ``subliminal-stats run PIPELINE.toml``.

A pipeline file names its kind at the top level, either ``experiment = "mlp_digits"``
or a table ``[experiment]`` with ``kind = "mlp_digits"`` (and optionally ``name``).
``run`` looks the kind up here and hands the validated config to the runner.

A runner registers itself with :func:`register_runner`::

    register_runner("numbers_transfer", config_model=NumbersConfig, run=run_numbers,
                    describe=describe_numbers)

Built-in kinds are imported lazily (torch and friends load only when a pipeline of
that kind runs); add a line to :data:`BUILTIN_RUNNER_MODULES` for a new one.

Resumability helper: :class:`SeedParts` keeps one responses part per finished seed
under ``RUN/parts/`` so that an interrupted run redoes only unfinished seeds.
This module imports neither torch nor anything heavy.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ValidationError

from subliminal_stats.errors import InputError
from subliminal_stats.experiments.config import PipelineConfig

#: kind → module that registers it when imported.
BUILTIN_RUNNER_MODULES: dict[str, str] = {
    "mlp_digits": "subliminal_stats.experiments.mlp_pipeline",
    "mlp_aux_logits": "subliminal_stats.experiments.mlp_pipeline",
    "numbers_transfer": "subliminal_stats.experiments.numbers_transfer",
    "misalignment_numbers": "subliminal_stats.experiments.misalignment",
    "code_transfer": "subliminal_stats.experiments.code_transfer",
    "cot_transfer": "subliminal_stats.experiments.misalignment",
}


@dataclass(frozen=True)
class RunContext:
    """What a runner gets from the ``run`` command."""

    config: PipelineConfig
    config_path: Path
    out_dir: Path
    seeds: tuple[int, ...]
    #: Called as ``progress(total_steps=...)`` once, then ``progress(advance=n)``.
    progress: Callable[..., None] = field(default=lambda **kw: None)
    #: One-line status messages (to stderr in the CLI).
    log: Callable[[str], None] = field(default=lambda message: None)
    #: Spending is pre-confirmed (``run --yes``); otherwise paid backends ask first.
    confirm: bool = False
    #: Where independent jobs run (students, models to evaluate): None = here, serially;
    #: or an :mod:`~subliminal_stats.experiments.executors` executor (``run --executor ray``).
    executor: Any = None


@dataclass(frozen=True)
class RunOutcome:
    """What a runner returns: where the table is and what goes into the manifest."""

    responses_path: Path
    n_rows: int
    seeds_run: tuple[int, ...]
    seeds_reused: tuple[int, ...]
    manifest: dict[str, Any]
    #: Short lines to print at the end (e.g. a per-condition accuracy table).
    summary: tuple[str, ...] = ()


@dataclass(frozen=True)
class Runner:
    kind: str
    config_model: type[PipelineConfig]
    run: Callable[[RunContext], RunOutcome]
    #: One line per planned step for ``--dry-run``; must not start heavy work.
    describe: Callable[[PipelineConfig, tuple[int, ...], Path], list[str]]


_RUNNERS: dict[str, Runner] = {}


def register_runner(
    kind: str,
    *,
    config_model: type[PipelineConfig],
    run: Callable[[RunContext], RunOutcome],
    describe: Callable[[PipelineConfig, tuple[int, ...], Path], list[str]],
) -> Runner:
    """Register the runner of pipeline kind ``kind`` (re-registering replaces it)."""
    runner = Runner(kind=kind, config_model=config_model, run=run, describe=describe)
    _RUNNERS[kind] = runner
    return runner


def known_kinds() -> list[str]:
    return sorted(set(_RUNNERS) | set(BUILTIN_RUNNER_MODULES))


def get_runner(kind: str) -> Runner:
    """The runner for ``kind``, importing its built-in module on first use."""
    if kind not in _RUNNERS and kind in BUILTIN_RUNNER_MODULES:
        importlib.import_module(BUILTIN_RUNNER_MODULES[kind])
    if kind not in _RUNNERS:
        raise InputError(
            f"unknown experiment kind {kind!r}; known kinds: {', '.join(known_kinds())}"
        )
    return _RUNNERS[kind]


# ----------------------------------------------------------------------------- config files


def read_pipeline_toml(path: str | Path) -> dict[str, Any]:
    """Parse a pipeline TOML file and normalise the ``experiment`` key to the kind string."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"pipeline file not found: {path}")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    exp = doc.get("experiment")
    if isinstance(exp, dict):
        extra = sorted(set(exp) - {"kind", "name"})
        if extra:
            raise InputError(f"{path}: unknown key 'experiment.{extra[0]}' (allowed: kind, name)")
        if "kind" not in exp:
            raise InputError(f"{path}: [experiment] needs kind = \"...\" (e.g. kind = \"mlp_digits\")")
        if "name" in exp:
            if "name" in doc:
                raise InputError(f"{path}: give name either at the top level or in [experiment], not both")
            doc["name"] = exp["name"]
        doc["experiment"] = exp["kind"]
    elif exp is None:
        raise InputError(
            f"{path}: missing key 'experiment'; add e.g. experiment = \"mlp_digits\" "
            f"(known kinds: {', '.join(known_kinds())})"
        )
    elif not isinstance(exp, str):
        raise InputError(f"{path}: 'experiment' must be a string naming the kind, e.g. \"mlp_digits\"")
    return doc


def _describe_validation_error(exc: ValidationError, path: Path, model: type[BaseModel]) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err["loc"])
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, err["loc"][:-1])
        hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return f"{path}: unknown key '{loc}'{hint}"
    if err["type"] == "missing":
        return f"{path}: missing key '{loc}'"
    value = err.get("input")
    return f"{path}: key '{loc}' = {value!r}: {err['msg']}"


def _allowed_keys(model: type[BaseModel], loc: Iterable[Any]) -> list[str]:
    current: Any = model
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            return []
        current = fields[part].annotation
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields else []


def load_pipeline(path: str | Path, *, overrides: Mapping[str, Any] | None = None) -> tuple[Runner, PipelineConfig]:
    """Read, dispatch and validate a pipeline file; ``overrides`` replace top-level keys."""
    path = Path(path)
    doc = read_pipeline_toml(path)
    doc.update({k: v for k, v in (overrides or {}).items() if v is not None})
    runner = get_runner(doc["experiment"])
    try:
        config = runner.config_model.model_validate(doc)
    except ValidationError as exc:
        raise InputError(_describe_validation_error(exc, path, runner.config_model)) from None
    try:
        config.check()
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    if config.seeds < 1:
        raise InputError(f"{path}: seeds must be at least 1, got {config.seeds}")
    for key, name in config.input_files():
        found = Path(name)
        if not (found.is_absolute() or found.exists()):
            found = path.parent / found
        if not found.is_file():
            raise InputError(f"{path}: {key} = {name!r}: file not found (relative paths are "
                             f"read from the current folder or beside the TOML)")
    return runner, config


def config_fingerprint(config: PipelineConfig, *, ignore: Iterable[str] = ("seeds", "out")) -> str:
    """Hash of everything that changes results (not the number of seeds nor the folder)."""
    payload = config.model_dump(mode="json", exclude=set(ignore))
    from subliminal_stats.experiments.config import ADDED_DEFAULTS, RENAMED_FIELDS

    for (section, key), default in ADDED_DEFAULTS.items():
        part = payload.get(section)
        if isinstance(part, dict) and key in part and part[key] == default:
            del part[key]
    for (section, key), old in RENAMED_FIELDS.items():
        part = payload.get(section)
        if isinstance(part, dict) and key in part and old not in part:
            part[old] = part.pop(key)
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- per-seed parts


_PART_RE = re.compile(r"^seed-(\d+)\.parquet$")


class SeedParts:
    """One responses part per finished seed under ``out_dir/parts``; resumable runs.

    The folder records the config fingerprint; reusing it with a config that would
    give different results is refused rather than mixing two experiments.
    """

    def __init__(self, out_dir: str | Path, fingerprint: str):
        self.out_dir = Path(out_dir)
        self.parts_dir = self.out_dir / "parts"
        self.fingerprint = fingerprint
        self._stamp = self.parts_dir / "config-fingerprint.txt"
        self._timing = self.parts_dir / "seconds.json"

    def open(self) -> None:
        """Create the folder, or check that it belongs to the same config."""
        if self._stamp.exists():
            found = self._stamp.read_text().strip()
            if found != self.fingerprint:
                raise InputError(
                    f"{self.out_dir} holds seeds of a different configuration (fingerprint {found}, "
                    f"this one {self.fingerprint}); use another --out or delete {self.parts_dir}"
                )
        else:
            self.parts_dir.mkdir(parents=True, exist_ok=True)
            self._stamp.write_text(self.fingerprint + "\n")

    def done(self) -> set[int]:
        if not self.parts_dir.is_dir():
            return set()
        found = set()
        for p in self.parts_dir.iterdir():
            m = _PART_RE.match(p.name)
            if m:
                found.add(int(m.group(1)))
        return found

    def part_path(self, seed: int) -> Path:
        return self.parts_dir / f"seed-{seed:05d}.parquet"

    def save(self, seed: int, frame: pd.DataFrame, *, seconds: float) -> Path:
        """Write one seed's rows atomically (a partial part never counts as done)."""
        import io

        from subliminal_stats.data.outputs import atomic_write

        path = self.part_path(seed)
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False, compression="zstd")
        atomic_write(path, buffer.getvalue())
        timing = self.seconds()
        timing[str(seed)] = round(float(seconds), 4)
        atomic_write(self._timing, json.dumps(timing, sort_keys=True))
        return path

    def seconds(self) -> dict[str, float]:
        """Compute seconds spent per finished seed (a block's time split evenly)."""
        if self._timing.exists():
            return json.loads(self._timing.read_text())
        return {}

    def combine(self, seeds: Iterable[int]) -> pd.DataFrame:
        frames = [pd.read_parquet(self.part_path(s)) for s in sorted(seeds)]
        return pd.concat(frames, ignore_index=True)
