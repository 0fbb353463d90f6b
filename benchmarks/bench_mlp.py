"""Benchmark of the MLP auxiliary-logit experiment: batched seeds vs a naive loop.

Prints, in one run on this machine:

1. digits 8×8 with the settings of ``pipelines/mlp_digits.toml``: wall time of
   N seeds × 6 conditions batched (``run_seeds``), and of a naive baseline that
   trains every model one at a time as an ``nn.Sequential`` with its own Adam
   (measured on a few seeds, scaled per seed), and the ratio;
2. an MNIST-sized network (784-256-256-13) on noise inputs: seconds per seed for
   the paper's schedule (5 epochs of 60,000 images at batch 1024 = 295 steps for the
   teacher and for the students), batched and naive, measured on a number of steps
   and scaled linearly to the full schedule (the cost per step is constant).

Usage: python benchmarks/bench_mlp.py [--seeds 25] [--naive-seeds 2] [--threads 2]
       [--mnist-seeds 4] [--mnist-steps 10]
"""

from __future__ import annotations

import argparse
import math
import time
import tomllib
from pathlib import Path

import numpy as np
import torch

from subliminal_stats.experiments import mlp
from subliminal_stats.experiments.image_data import ImageData
from subliminal_stats.experiments.mlp_pipeline import (
    MLPPipelineConfig,
    load_data,
    settings_from_config,
)

REPO = Path(__file__).resolve().parents[1]


def naive_seed(data: ImageData, settings: mlp.MLPSettings, seed: int) -> dict[str, float]:
    """One seed, every model trained on its own: the loop a first implementation would write."""
    sizes = mlp.layer_sizes(data.n_inputs, settings, data.n_classes)
    n_classes = data.n_classes
    x_train = torch.as_tensor(data.x_train)
    y_train = torch.as_tensor(data.y_train)
    x_test = torch.as_tensor(data.x_test)
    y_test = torch.as_tensor(data.y_test)

    def build(generator_stream: int) -> torch.nn.Sequential:
        torch.manual_seed(seed * 10 + generator_stream)
        layers: list[torch.nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(torch.nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers)

    def accuracy(model: torch.nn.Module) -> float:
        with torch.no_grad():
            return float((model(x_test)[:, :n_classes].argmax(1) == y_test).float().mean())

    theta0, other = build(0), build(1)
    out = {"reference": accuracy(theta0)}
    teacher = build(0)
    teacher.load_state_dict(theta0.state_dict())
    opt = torch.optim.Adam(teacher.parameters(), lr=settings.teacher_lr)
    n = len(y_train)
    bs = min(settings.teacher_batch_size, n)
    for _ in range(settings.teacher_epochs):
        perm = torch.randperm(n)
        for start in range(0, n, bs):
            idx = perm[start:start + bs]
            loss = torch.nn.functional.cross_entropy(teacher(x_train[idx])[:, :n_classes], y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    out["teacher"] = accuracy(teacher)
    per_epoch = settings.noise_per_epoch or n
    for cond in mlp.STUDENT_CONDITIONS:
        student = build(0)
        student.load_state_dict((theta0 if "same" in cond else other).state_dict())
        opt = torch.optim.Adam(student.parameters(), lr=settings.student_lr)
        cols = slice(n_classes, None) if cond.startswith("aux") else slice(None)
        for _ in range(settings.student_epochs):
            for start in range(0, per_epoch, settings.student_batch_size):
                b = min(settings.student_batch_size, per_epoch - start)
                noise = torch.rand(b, data.n_inputs) * 2 - 1
                with torch.no_grad():
                    target = torch.log_softmax(teacher(noise)[:, cols], -1)
                pred = torch.log_softmax(student(noise)[:, cols], -1)
                loss = torch.nn.functional.kl_div(pred, target, reduction="batchmean", log_target=True)
                opt.zero_grad()
                loss.backward()
                opt.step()
        out[cond] = accuracy(student)
    return out


def bench_digits(args) -> None:
    config = MLPPipelineConfig.model_validate(
        tomllib.loads((REPO / "pipelines" / "mlp_digits.toml").read_text())
    )
    data = load_data(config)
    settings = settings_from_config(config)
    print(f"digits 8x8: {data.n_inputs}-{'-'.join(map(str, settings.hidden))}-{10 + settings.n_aux}, "
          f"teacher {settings.teacher_epochs} epochs, students {settings.student_epochs} epochs "
          f"(pipelines/mlp_digits.toml), {torch.get_num_threads()} torch thread(s)")
    t0 = time.perf_counter()
    res = mlp.run_seeds(data, settings, list(range(args.seeds)))
    batched = time.perf_counter() - t0
    acc = res.accuracy()
    print(f"  batched: {args.seeds} seeds x 6 conditions in {batched:.1f} s "
          f"({batched / args.seeds:.2f} s per seed)")
    print("  accuracy: " + ", ".join(f"{c} {acc[c].mean():.3f}" for c in mlp.CONDITIONS))
    t0 = time.perf_counter()
    naive_acc = [naive_seed(data, settings, s) for s in range(args.naive_seeds)]
    naive = (time.perf_counter() - t0) / args.naive_seeds
    print(f"  naive loop: {naive:.2f} s per seed (measured on {args.naive_seeds} seed(s)); "
          f"{args.seeds} seeds would take {naive * args.seeds:.1f} s")
    print("  naive accuracy: " + ", ".join(
        f"{c} {np.mean([a[c] for a in naive_acc]):.3f}" for c in mlp.CONDITIONS))
    print(f"  speed-up batched vs naive: {naive * args.seeds / batched:.1f}x")


def bench_mnist_sized(args) -> None:
    teacher_steps_full = 5 * math.ceil(60000 / 1024)  # paper: 5 epochs, batch 1024
    steps = args.mnist_steps
    rng = np.random.default_rng(0)
    n = 1024 * steps
    # noise inputs with arbitrary labels: only the cost per step matters here
    data = ImageData(
        x_train=rng.uniform(-1, 1, size=(n, 784)).astype(np.float32),
        y_train=rng.integers(0, 10, size=n),
        x_test=rng.uniform(-1, 1, size=(1000, 784)).astype(np.float32),
        y_test=rng.integers(0, 10, size=1000),
        test_ids=tuple(str(i) for i in range(1000)),
    )
    settings = mlp.MLPSettings(hidden=(256, 256), n_aux=3, teacher_epochs=1, teacher_batch_size=1024,
                               student_epochs=1, student_batch_size=1024, noise_per_epoch=n)
    scale = teacher_steps_full / steps
    print(f"MNIST-sized 784-256-256-13 on noise inputs, batch 1024: {steps} teacher + {steps} student "
          f"steps measured, scaled x{scale:.1f} to the paper's {teacher_steps_full} + {teacher_steps_full}")
    t0 = time.perf_counter()
    mlp.run_seeds(data, settings, list(range(args.mnist_seeds)))
    batched = (time.perf_counter() - t0) / args.mnist_seeds * scale
    t0 = time.perf_counter()
    naive_seed(data, settings, 0)
    naive = (time.perf_counter() - t0) * scale
    print(f"  batched ({args.mnist_seeds} seeds at once): {batched:.1f} s per seed (6 conditions)")
    print(f"  naive loop: {naive:.1f} s per seed")
    print(f"  speed-up batched vs naive: {naive / batched:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=25)
    parser.add_argument("--naive-seeds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--mnist-seeds", type=int, default=4)
    parser.add_argument("--mnist-steps", type=int, default=10)
    parser.add_argument("--skip-digits", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not args.skip_digits:
        bench_digits(args)
    bench_mnist_sized(args)


if __name__ == "__main__":
    main()
