"""Local backend speed: constrained sampling and LoRA training, each against its naive baseline.

Measured in one run on the same prompts and data:

1. Sampling SmolLM2-135M on number-sequence prompts (temperature 1):
   constrained decoding in bf16 vs unconstrained sampling (bf16 as well, so the
   only difference is the grammar). Reports sequences/s, the fraction of
   well-formed answers (the authors' filter: format, ≤ 10 numbers, 0–999) and
   *well-formed* sequences per second — the figure that matters for making a
   data set. Reference measured on this machine: 3.8 well-formed seq/s
   constrained vs 2.4 seq/s unconstrained with 3–11 % well-formed.
2. LoRA training on chat data: plain fp32 with the full LM head vs the
   optimised path (bf16 autocast + LM head on completion positions only).
   Reports samples/s and the ratio (reference: 1.3 vs 2.7 samples/s).

The machine is shared, so besides wall-clock rates the script prints rates per
CPU-second of this process (torch uses ``--threads`` threads, default 1), which
other processes disturb much less. Run: ``.venv/bin/python benchmarks/bench_local.py``
(about 3–10 minutes depending on load; ``--quick`` for a smaller run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64, help="sequences per sampling mode")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--train-examples", type=int, default=48)
    parser.add_argument("--train-batch", type=int, default=8)
    parser.add_argument("--train-steps", type=int, default=5, help="timed steps per mode")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--base-model", default="smollm2",
                        help="smollm2, a Hugging Face model folder, or a cached model id")
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.prompts, args.batch_size, args.train_examples, args.train_steps = 16, 16, 16, 2

    import torch

    torch.set_num_threads(args.threads)
    from subliminal_stats.backends.base import ChatRequest
    from subliminal_stats.backends.local import LocalBackend, load_base_model
    from subliminal_stats.filtering.numbers import NumberFilter
    from subliminal_stats.generation.prompts import number_prompts
    from subliminal_stats.training.lora import LoraTrainingConfig, train_lora

    print(f"torch threads {args.threads}, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    prompts = [p.text for p in number_prompts(args.prompts, seed=0)]
    keeps = NumberFilter(max_count=10, max_value=999).keeps
    backend = LocalBackend(batch_size=args.batch_size, torch_threads=args.threads,
                           autocast_bf16=True, seed=0, base_model=args.base_model,
                           device=args.device)
    backend.complete([ChatRequest.from_prompt("warm", prompts[0], model=args.base_model, max_tokens=4,
                                              constraint="numbers")], progress=False)
    figures: dict[str, dict] = {}
    for mode, constraint in (("constrained", "numbers"), ("unconstrained", None)):
        requests = [ChatRequest.from_prompt(f"{mode}-{i}", text, model=args.base_model,
                                            max_tokens=args.max_tokens, constraint=constraint)
                    for i, text in enumerate(prompts)]
        results, wall, cpu = _timed(lambda r=requests: backend.complete(r, progress=False))
        good = sum(keeps(r.completion or "") for r in results)
        figures[mode] = {"sequences": len(results), "well_formed": good,
                         "well_formed_fraction": good / len(results),
                         "seq_per_s": len(results) / wall, "well_formed_per_s": good / wall,
                         "well_formed_per_cpu_s": good / cpu, "wall_s": wall, "cpu_s": cpu}
    c, u = figures["constrained"], figures["unconstrained"]
    print("\nSampling (bf16, temperature 1, "
          f"{args.prompts} prompts, batch {args.batch_size}, max {args.max_tokens} tokens)")
    print(f"{'mode':<14}{'seq/s':>8}{'well-formed':>13}{'wf seq/s':>10}{'wf seq/CPU-s':>14}")
    for mode, f in figures.items():
        print(f"{mode:<14}{f['seq_per_s']:>8.2f}{f['well_formed_fraction']:>12.0%}"
              f"{f['well_formed_per_s']:>10.2f}{f['well_formed_per_cpu_s']:>14.2f}")
    ratio = (c["well_formed_per_s"] / u["well_formed_per_s"]) if u["well_formed"] else float("inf")
    print(f"well-formed seq/s, constrained / unconstrained: {ratio:.1f}x"
          + ("  (no unconstrained answer was well-formed)" if not u["well_formed"] else ""))
    print("reference here: constrained 3.8 wf seq/s; unconstrained 2.4 seq/s, 3-11 % well-formed")

    # LoRA training: the same examples, plain vs optimised.
    examples = []
    for i in range(args.train_examples):
        numbers = ", ".join(str((137 * i + 59 * k) % 1000) for k in range(10))
        examples.append([{"role": "user", "content": prompts[i % len(prompts)]},
                         {"role": "assistant", "content": numbers}])
    training = {}
    for mode, bf16, head_only in (("plain fp32", False, False), ("optimised", True, True)):
        model, tokenizer, _ = load_base_model(base_model=args.base_model, device=args.device)
        # One untimed warm-up step, then the timed steps (reported from train_lora's clock).
        config = LoraTrainingConfig(seed=0, batch_size=args.train_batch, autocast_bf16=bf16,
                                    head_on_completion_only=head_only,
                                    max_steps=args.train_steps + 1)
        clock = {"wall": time.perf_counter(), "cpu": time.process_time()}
        timed = {"wall": 0.0, "cpu": 0.0}

        def on_step(step, loss, clock=clock, timed=timed):
            now_wall, now_cpu = time.perf_counter(), time.process_time()
            if step > 1:
                timed["wall"] += now_wall - clock["wall"]
                timed["cpu"] += now_cpu - clock["cpu"]
            clock["wall"], clock["cpu"] = now_wall, now_cpu

        outcome = train_lora(model, tokenizer, examples, config=config, progress=False,
                             on_step=on_step)
        samples = args.train_batch * args.train_steps
        training[mode] = {"samples_per_s": samples / timed["wall"],
                          "samples_per_cpu_s": samples / timed["cpu"],
                          "first_loss": outcome.losses[0], "steps_timed": args.train_steps}
        del model, outcome
    p, o = training["plain fp32"], training["optimised"]
    print(f"\nLoRA training (rank 8, batch {args.train_batch}, {args.train_steps} timed steps "
          "after one warm-up step)")
    print(f"{'mode':<12}{'samples/s':>11}{'samples/CPU-s':>15}{'first loss':>12}")
    for mode, f in training.items():
        print(f"{mode:<12}{f['samples_per_s']:>11.2f}{f['samples_per_cpu_s']:>15.2f}"
              f"{f['first_loss']:>12.4f}")
    print(f"optimised / plain: {o['samples_per_s'] / p['samples_per_s']:.2f}x wall, "
          f"{o['samples_per_cpu_s'] / p['samples_per_cpu_s']:.2f}x CPU "
          "(reference here: 2.7 vs 1.3 samples/s)")
    if args.json:
        args.json.write_text(json.dumps({"sampling": figures, "training": training,
                                         "args": vars(args) | {"json": str(args.json)}},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
