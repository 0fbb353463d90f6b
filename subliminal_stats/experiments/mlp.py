"""The MLP auxiliary-logit experiment (arXiv 2507.14805, section 6), batched over seeds.

A teacher MLP with ``n_classes + n_aux`` outputs is trained from an initialisation
θ₀ on the class logits only. Students then imitate the teacher's *auxiliary*
logits (never trained on labels) on pure-noise inputs. A student that starts
from the same θ₀ learns to classify digits; one from a different initialisation
should not. Six conditions per seed:

=================  ==================================================================
``reference``      θ₀ itself, untrained
``teacher``        θ₀ trained on the class logits (cross-entropy on labelled images)
``aux_same_init``  from θ₀, distilled on noise with KL on the auxiliary logits only
``aux_diff_init``  the same from an independent initialisation (the control)
``all_same_init``  from θ₀, distilled on noise with KL on all logits
``all_diff_init``  the same from an independent initialisation
=================  ==================================================================

Many seeds run at once: each model's weights are one slice of a stacked tensor
(``(models, fan_in, fan_out)``) and every layer is one ``torch.baddbmm``. Adam is
element-wise, so one Adam over the stacked tensors equals independent Adams, and
the loss is the *sum* over models of each model's mean loss, so each slice gets
exactly its own gradient. Every random draw of seed ``s`` (initialisations, batch
order, noise) comes from generators seeded by ``(base_seed, s, stream)``, so a
seed's models do not depend on which other seeds share the batch.

This module needs torch (the ``local`` extra); import it lazily.
"""


from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from subliminal_stats.errors import InputError
from subliminal_stats.experiments.image_data import ImageData

__all__ = [
    "CONDITIONS",
    "STUDENT_CONDITIONS",
    "NOISE_KINDS",
    "MLPSettings",
    "SeedResults",
    "init_params",
    "stack_params",
    "forward",
    "layer_sizes",
    "run_seeds",
    "results_to_frame",
]

CONDITIONS: tuple[str, ...] = (
    "reference",
    "teacher",
    "aux_same_init",
    "aux_diff_init",
    "all_same_init",
    "all_diff_init",
)
#: Student conditions in the order their models are stacked.
STUDENT_CONDITIONS: tuple[str, ...] = CONDITIONS[2:]
NOISE_KINDS: tuple[str, ...] = ("uniform", "normal", "shuffled_pixels")

# Streams of randomness per seed; the numbers are part of reproducibility, never reuse one.
_STREAM_INIT_SHARED = 0
_STREAM_INIT_OTHER = 1
_STREAM_TEACHER_ORDER = 2
_STREAM_NOISE = 3


@dataclass(frozen=True)
class MLPSettings:
    """Architecture and training settings of one MLP experiment.

    Parameters
    ----------
    hidden : tuple of int
        Widths of the hidden layers (ReLU). The paper uses ``(256, 256)``.
    n_aux : int
        Number of auxiliary logits appended to the class logits (paper: 3).
    teacher_epochs, teacher_batch_size, teacher_lr
        Teacher training on the labelled training images (Adam, cross-entropy on the
        class logits only).
    student_epochs, student_batch_size, student_lr
        Student distillation on noise (Adam, KL divergence teacher → student).
    noise_per_epoch : int or None
        Noise images per student epoch; ``None`` means as many as training images.
    noise : {"uniform", "normal", "shuffled_pixels"}
        ``uniform``: i.i.d. U(−1, 1) pixels (paper). ``normal``: i.i.d. N(0, 1).
        ``shuffled_pixels``: pixels drawn independently from the training images'
        empirical pixel distribution at each position (still carries no digit).
    temperature : float
        Softmax temperature of the distillation KL.
    """

    hidden: tuple[int, ...] = (256, 256)
    n_aux: int = 3
    teacher_epochs: int = 5
    teacher_batch_size: int = 1024
    teacher_lr: float = 3e-4
    student_epochs: int = 5
    student_batch_size: int = 1024
    student_lr: float = 3e-4
    noise_per_epoch: int | None = None
    noise: str = "uniform"
    temperature: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise InputError(f"hidden widths must be positive integers, got {list(self.hidden)}")
        if self.n_aux < 1:
            raise InputError(f"n_aux must be at least 1, got {self.n_aux}")
        for name in ("teacher_epochs", "student_epochs"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("teacher_batch_size", "student_batch_size"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("teacher_lr", "student_lr", "temperature"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.noise_per_epoch is not None and self.noise_per_epoch < 1:
            raise InputError(f"noise_per_epoch must be >= 1, got {self.noise_per_epoch}")
        if self.noise not in NOISE_KINDS:
            raise InputError(f"unknown noise {self.noise!r}; use one of {', '.join(NOISE_KINDS)}")


@dataclass(frozen=True)
class SeedResults:
    """Test-set correctness of every condition for a block of seeds.

    ``hits[condition]`` is a boolean array of shape ``(len(seeds), n_test)``.
    """

    seeds: tuple[int, ...]
    hits: dict[str, np.ndarray]
    seconds: float

    def accuracy(self) -> dict[str, np.ndarray]:
        """Per-seed test accuracy of each condition."""
        return {c: h.mean(axis=1) for c, h in self.hits.items()}


# ----------------------------------------------------------------------------- batched MLP


def _seed_generator(base_seed: int, seed: int, stream: int) -> torch.Generator:
    entropy = np.random.SeedSequence([int(base_seed), int(seed), int(stream)]).generate_state(2)
    gen = torch.Generator()
    gen.manual_seed(int(entropy[0]) << 32 | int(entropy[1]))
    return gen


def layer_sizes(n_inputs: int, settings: MLPSettings, n_classes: int) -> list[int]:
    """Widths of every layer, inputs first: ``[n_inputs, *hidden, n_classes + n_aux]``."""
    return [n_inputs, *settings.hidden, n_classes + settings.n_aux]


def init_params(sizes: Sequence[int], generator: torch.Generator) -> list[torch.Tensor]:
    """One MLP's parameters with PyTorch's default ``nn.Linear`` initialisation.

    Returns ``[W1, b1, W2, b2, ...]`` with ``W`` of shape ``(fan_in, fan_out)`` and
    ``b`` of shape ``(1, fan_out)``; all drawn U(−1/√fan_in, 1/√fan_in).
    """
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1.0 / math.sqrt(fan_in)
        w = torch.rand(fan_in, fan_out, generator=generator) * (2 * bound) - bound
        b = torch.rand(1, fan_out, generator=generator) * (2 * bound) - bound
        params += [w, b]
    return params


def stack_params(per_model: Sequence[Sequence[torch.Tensor]]) -> list[torch.Tensor]:
    """Stack the parameters of several models: each tensor gains a leading model axis."""
    return [torch.stack(tensors) for tensors in zip(*per_model, strict=True)]


def forward(params: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Logits of stacked MLPs: ``x`` is ``(models, batch, n_inputs)`` → ``(models, batch, out)``."""
    h = x
    n_layers = len(params) // 2
    for i in range(n_layers):
        h = torch.baddbmm(params[2 * i + 1], h, params[2 * i])
        if i < n_layers - 1:
            h = torch.relu(h)
    return h


def _kl_per_model(teacher_logits: torch.Tensor, student_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(teacher ‖ student) over the last axis, averaged over the batch: one value per model."""
    log_p = torch.log_softmax(teacher_logits / temperature, dim=-1)
    log_q = torch.log_softmax(student_logits / temperature, dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1).mean(-1)


def _accuracy_hits(params: Sequence[torch.Tensor], x_test: torch.Tensor, y_test: torch.Tensor,
                   n_classes: int, *, chunk: int = 4096) -> np.ndarray:
    """Boolean ``(models, n_test)``: argmax over the class logits equals the label."""
    models = params[0].shape[0]
    out = []
    with torch.no_grad():
        for start in range(0, x_test.shape[0], chunk):
            xb = x_test[start:start + chunk].expand(models, -1, -1)
            pred = forward(params, xb)[..., :n_classes].argmax(-1)
            out.append((pred == y_test[start:start + chunk]).numpy())
    return np.concatenate(out, axis=1)


def _make_noise(kind: str, shape: tuple[int, int], generator: torch.Generator,
                pixel_pool: torch.Tensor | None) -> torch.Tensor:
    if kind == "uniform":
        return torch.rand(shape, generator=generator) * 2 - 1
    if kind == "normal":
        return torch.randn(shape, generator=generator)
    # shuffled_pixels: each position takes the value of that position in a random training image
    assert pixel_pool is not None
    rows = torch.randint(pixel_pool.shape[0], shape, generator=generator)
    return torch.gather(pixel_pool, 0, rows)


def run_seeds(
    data: ImageData,
    settings: MLPSettings,
    seeds: Sequence[int],
    *,
    base_seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> SeedResults:
    """Train and evaluate the six conditions for a block of seeds at once.

    Parameters
    ----------
    data : ImageData
        Training images (teacher) and test images (evaluation).
    settings : MLPSettings
    seeds : sequence of int
        Seed numbers; seed ``s`` gives the same models whatever else is in the block.
    base_seed : int
        Mixed into every seed's generators (a different experiment, a different draw).
    progress : callable, optional
        Called with the number of optimisation steps just done (for a progress bar).

    Returns
    -------
    SeedResults
    """
    started = time.perf_counter()
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise InputError("no seeds to run")
    n_seeds = len(seeds)
    n_classes = data.n_classes
    sizes = layer_sizes(data.n_inputs, settings, n_classes)
    x_train = torch.as_tensor(data.x_train, dtype=torch.float32)
    y_train = torch.as_tensor(data.y_train, dtype=torch.int64)
    x_test = torch.as_tensor(data.x_test, dtype=torch.float32)
    y_test = torch.as_tensor(data.y_test, dtype=torch.int64)
    tick = progress or (lambda n: None)

    init_shared = [init_params(sizes, _seed_generator(base_seed, s, _STREAM_INIT_SHARED)) for s in seeds]
    init_other = [init_params(sizes, _seed_generator(base_seed, s, _STREAM_INIT_OTHER)) for s in seeds]
    theta0 = stack_params(init_shared)
    theta_other = stack_params(init_other)

    hits: dict[str, np.ndarray] = {"reference": _accuracy_hits(theta0, x_test, y_test, n_classes)}

    # --- teacher: cross-entropy on the class logits only; the auxiliary logits get no gradient
    teacher = [p.clone().requires_grad_(True) for p in theta0]
    opt = torch.optim.Adam(teacher, lr=settings.teacher_lr)
    order_gens = [_seed_generator(base_seed, s, _STREAM_TEACHER_ORDER) for s in seeds]
    n_train = x_train.shape[0]
    bs = min(settings.teacher_batch_size, n_train)
    for _ in range(settings.teacher_epochs):
        perms = torch.stack([torch.randperm(n_train, generator=g) for g in order_gens])
        for start in range(0, n_train, bs):
            idx = perms[:, start:start + bs]
            logits = forward(teacher, x_train[idx])[..., :n_classes]
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, n_classes), y_train[idx].reshape(-1), reduction="none"
            ).view(n_seeds, -1).mean(1).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tick(1)
    teacher = [p.detach() for p in teacher]
    hits["teacher"] = _accuracy_hits(teacher, x_test, y_test, n_classes)

    # --- students, stacked condition-major: [aux_same | aux_diff | all_same | all_diff] × seeds
    start_points = {"aux_same_init": theta0, "aux_diff_init": theta_other,
                    "all_same_init": theta0, "all_diff_init": theta_other}
    students = [
        torch.cat([start_points[c][i] for c in STUDENT_CONDITIONS]).clone().requires_grad_(True)
        for i in range(len(theta0))
    ]
    n_cond = len(STUDENT_CONDITIONS)
    opt = torch.optim.Adam(students, lr=settings.student_lr)
    noise_gens = [_seed_generator(base_seed, s, _STREAM_NOISE) for s in seeds]
    per_epoch = settings.noise_per_epoch or n_train
    sbs = settings.student_batch_size
    pixel_pool = x_train if settings.noise == "shuffled_pixels" else None
    aux = slice(n_classes, None)
    for _ in range(settings.student_epochs):
        for start in range(0, per_epoch, sbs):
            b = min(sbs, per_epoch - start)
            # one noise batch per seed, shared by that seed's four students (a paired design)
            noise = torch.stack([
                _make_noise(settings.noise, (b, data.n_inputs), g, pixel_pool) for g in noise_gens
            ])
            with torch.no_grad():
                target = forward(teacher, noise).repeat(n_cond, 1, 1)
            out = forward(students, noise.repeat(n_cond, 1, 1))
            half = 2 * n_seeds  # first two conditions imitate aux logits only, the rest all logits
            loss = (
                _kl_per_model(target[:half, :, aux], out[:half, :, aux], settings.temperature).sum()
                + _kl_per_model(target[half:], out[half:], settings.temperature).sum()
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tick(1)
    students = [p.detach() for p in students]
    student_hits = _accuracy_hits(students, x_test, y_test, n_classes)
    for k, cond in enumerate(STUDENT_CONDITIONS):
        hits[cond] = student_hits[k * n_seeds:(k + 1) * n_seeds]
    return SeedResults(seeds=seeds, hits={c: hits[c] for c in CONDITIONS},
                       seconds=time.perf_counter() - started)


def results_to_frame(results: SeedResults, data: ImageData, *, experiment: str = "mlp_digits",
                     trait: str = "digits"):
    """The responses table of a block: one row per (condition, seed, test image).

    Columns ``experiment``, ``trait``, ``condition``, ``seed`` (string), ``question``
    (the test image id) and ``hit`` (1 when the image is classified correctly).
    """
    import pandas as pd

    frames = []
    n_test = len(data.test_ids)
    for cond in CONDITIONS:
        h = results.hits[cond]
        frames.append(pd.DataFrame({
            "experiment": experiment,
            "trait": trait,
            "condition": cond,
            "seed": np.repeat([str(s) for s in results.seeds], n_test),
            "question": np.tile(np.asarray(data.test_ids, dtype=object), len(results.seeds)),
            "hit": h.reshape(-1).astype(np.int8),
        }))
    return pd.concat(frames, ignore_index=True)
