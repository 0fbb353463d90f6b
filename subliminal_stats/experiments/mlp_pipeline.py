"""Pipeline kind ``mlp_digits`` (alias ``mlp_aux_logits``): the MLP auxiliary-logit experiment.

The pipeline file (see ``pipelines/mlp_digits.toml``)::

    experiment = "mlp_digits"
    seeds = 25
    out = "data/runs/mlp_digits"

    [data]       source = "digits" | "mnist_idx", path, test_fraction, split_seed, train_limit, test_limit
    [model]      hidden = [256, 256], n_aux = 3
    [teacher]    epochs, batch_size, learning_rate
    [student]    epochs, batch_size, learning_rate, noise, noise_per_epoch, temperature

Torch is imported only when the pipeline runs (not for ``--dry-run``).
"""

from __future__ import annotations

import math
import platform
from pathlib import Path

from subliminal_stats.errors import InputError
from subliminal_stats.experiments.image_data import ImageData, load_digits_data
from subliminal_stats.experiments.mlp_config import MLPPipelineConfig
from subliminal_stats.experiments.pipeline import (
    RunContext,
    RunOutcome,
    SeedParts,
    config_fingerprint,
    register_runner,
)


def load_data(config: MLPPipelineConfig) -> ImageData:
    d = config.data
    if d.source == "digits":
        data = load_digits_data(test_fraction=d.test_fraction, split_seed=d.split_seed)
        if d.train_limit or d.test_limit:
            data = ImageData(
                x_train=data.x_train[: d.train_limit], y_train=data.y_train[: d.train_limit],
                x_test=data.x_test[: d.test_limit], y_test=data.y_test[: d.test_limit],
                test_ids=data.test_ids[: d.test_limit], n_classes=data.n_classes, name=data.name,
            )
        return data
    config.check()
    from subliminal_stats.experiments.mnist_idx import load_mnist_idx

    return load_mnist_idx(d.path, train_limit=d.train_limit, test_limit=d.test_limit)


def settings_from_config(config: MLPPipelineConfig):
    from subliminal_stats.experiments.mlp import MLPSettings

    return MLPSettings(
        hidden=tuple(config.model.hidden),
        n_aux=config.model.n_aux,
        teacher_epochs=config.teacher.epochs,
        teacher_batch_size=config.teacher.batch_size,
        teacher_lr=config.teacher.learning_rate,
        student_epochs=config.student.epochs,
        student_batch_size=config.student.batch_size,
        student_lr=config.student.learning_rate,
        noise_per_epoch=config.student.noise_per_epoch,
        noise=config.student.noise,
        temperature=config.student.temperature,
    )


def _blocks(seeds: list[int], size: int) -> list[list[int]]:
    return [seeds[i:i + size] for i in range(0, len(seeds), size)]


def _steps(n_train: int, config: MLPPipelineConfig) -> int:
    teacher = config.teacher.epochs * math.ceil(n_train / min(config.teacher.batch_size, n_train))
    per_epoch = config.student.noise_per_epoch or n_train
    return teacher + config.student.epochs * math.ceil(per_epoch / config.student.batch_size)


def describe(config: MLPPipelineConfig, seeds: tuple[int, ...], out_dir: Path) -> list[str]:
    done = SeedParts(out_dir, "").done() & set(seeds)
    todo = [s for s in seeds if s not in done]
    lines = [
        "kind mlp_digits: teacher + 4 students (aux/all logits × same/different init) per seed, "
        "6 conditions evaluated on the test images",
        f"data: {config.data.source}" + (f" from {config.data.path}" if config.data.path else ""),
        f"model: inputs-{'-'.join(map(str, config.model.hidden))}-(classes+{config.model.n_aux}), "
        f"teacher {config.teacher.epochs} epochs (batch {config.teacher.batch_size}, lr {config.teacher.learning_rate}), "
        f"students {config.student.epochs} epochs of {config.student.noise} noise "
        f"(batch {config.student.batch_size}, lr {config.student.learning_rate})",
        f"seeds: {len(seeds)} ({len(done)} already finished in {out_dir}, {len(todo)} to run "
        f"in {len(_blocks(todo, config.seeds_per_block))} block(s) of ≤ {config.seeds_per_block})",
        f"output: {out_dir / 'responses.parquet'}, {out_dir / 'manifest.json'}",
    ]
    return lines


def run(ctx: RunContext) -> RunOutcome:
    config: MLPPipelineConfig = ctx.config  # type: ignore[assignment]
    try:
        import torch
    except ImportError:
        raise InputError(
            "the mlp_digits pipeline needs torch: pip install 'subliminal-stats[local]'"
        ) from None
    import numpy as np

    from subliminal_stats.data.schema import write_responses
    from subliminal_stats.experiments.mlp import CONDITIONS, results_to_frame, run_seeds

    torch.set_num_threads(config.threads)
    data = load_data(config)
    settings = settings_from_config(config)
    data_hash = data.fingerprint()
    parts = SeedParts(ctx.out_dir, config_fingerprint(config) + "-" + data_hash[:16])
    parts.open()
    done = parts.done() & set(ctx.seeds)
    todo = [s for s in ctx.seeds if s not in done]
    blocks = _blocks(todo, config.seeds_per_block)
    ctx.progress(total_steps=_steps(len(data.y_train), config) * len(blocks))
    if done:
        ctx.log(f"resuming: {len(done)} seed(s) already finished in {parts.parts_dir}, {len(todo)} to run")
    for block in blocks:
        results = run_seeds(data, settings, block, base_seed=config.base_seed,
                            progress=lambda n: ctx.progress(advance=n))
        frame = results_to_frame(results, data, experiment=config.label, trait=config.trait)
        for seed in block:
            parts.save(seed, frame[frame["seed"] == str(seed)], seconds=results.seconds / len(block))
    table = parts.combine(ctx.seeds)
    responses_path = write_responses(table, ctx.out_dir / "responses.parquet")

    per_seed = table.groupby(["condition", "seed"])["hit"].mean().unstack("seed")
    accuracy = {
        c: {"mean": float(per_seed.loc[c].mean()), "sd": float(per_seed.loc[c].std(ddof=1))
            if per_seed.shape[1] > 1 else 0.0}
        for c in CONDITIONS
    }
    seconds = parts.seconds()
    manifest = {
        "data": {
            "name": data.name,
            "sha256": data_hash,
            "n_train": int(len(data.y_train)),
            "n_test": int(len(data.y_test)),
            "n_inputs": data.n_inputs,
            "n_classes": data.n_classes,
        },
        "torch": {"version": torch.__version__, "threads": torch.get_num_threads()},
        "machine": {"platform": platform.platform(), "processor": platform.machine()},
        "compute_seconds_per_seed": {
            "mean": float(np.mean([seconds[str(s)] for s in ctx.seeds if str(s) in seconds]))
            if seconds else None,
        },
        "accuracy_per_condition": accuracy,
    }
    summary = tuple(
        f"{c:>14}: accuracy {a['mean']:.3f} (sd over seeds {a['sd']:.3f})" for c, a in accuracy.items()
    )
    return RunOutcome(
        responses_path=responses_path,
        n_rows=len(table),
        seeds_run=tuple(todo),
        seeds_reused=tuple(sorted(done)),
        manifest=manifest,
        summary=summary,
    )


for _kind in ("mlp_digits", "mlp_aux_logits"):
    register_runner(_kind, config_model=MLPPipelineConfig, run=run, describe=describe)

