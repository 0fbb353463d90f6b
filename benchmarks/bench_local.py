"""Local backend speed (issue 18 §5): teacher sampling and LoRA training, today's path vs the previous one.

Measured in one run, on the same prompts and data, with SmolLM2-135M (the offline default):

1. **Teacher sampling**: constrained number sequences at temperature 1 with a trait system
   prompt (the teacher's request, as the pipelines send it). Two paths, both fp32 where the
   CPU has no native bf16: ``generate`` = transformers' ``generate`` (the backend before the
   prefix decoder, ``LocalBackend(prefix_decoding=False)``) and ``prefix decoder`` =
   :class:`subliminal_stats.backends.decoding.PrefixDecoder` (the shared system prompt
   prefilled once, ended rows leaving the batch, the LM head on the number tokens only).
   In fp32 both paths draw the same sequences (checked: "same draws", 64 of 64); under bf16
   autocast rounding flips some tokens (25 of 64 the same, measured). Reports sequences/s, the
   fraction well-formed (the authors' filter: format, ≤ 10 numbers, 0–999) and
   **well-formed sequences per second** (target ≥ 4 on 2 cores; the issue measured 2.8 for
   ``generate`` on its machine, so the target is 1.43× that path).
   The unconstrained baseline (``--unconstrained``) shows why decoding is constrained.
   Then **student evaluation sampling** (questions asked for 20 free-text answers each, the
   evaluation stage's requests) on both paths.
2. **LoRA training** on chat data (rank 8, loss on completion tokens, LM head on
   completion positions only): ``per row`` (every row runs the chat header, the trainer
   before this change; ``training.lora.MIN_SHARED_PREFIX`` set out of reach) vs ``shared
   prefix`` (the batch's common header runs once, :func:`subliminal_stats.training.lora.batch_loss`);
   both give the same losses (printed). Reports examples/s (target ≥ 3 on 2 cores; the issue
   measured 1.7 on its machine, so 1.76× that path).

The machine may be shared: besides wall-clock rates the script prints rates per CPU-second
of this process and the load average at start and end; read the wall figures as valid only
when the load stayed below the core count. Run:
``.venv/bin/python benchmarks/bench_local.py [--threads 2] [--json out.json]``
(3–10 minutes; ``--quick`` for a smoke run; ``--skip-training`` for sampling only;
``--fp32`` for fp32 arithmetic on a CPU with native bf16, where both paths otherwise run
under bf16 autocast).
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
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--unconstrained", action="store_true",
                        help="also time unconstrained sampling (the baseline constrained decoding replaces)")
    parser.add_argument("--base-model", default="smollm2",
                        help="smollm2, a Hugging Face model folder, or a cached model id")
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--skip-training", action="store_true", help="sampling figures only")
    parser.add_argument("--fp32", action="store_true",
                        help="fp32 even where the CPU has native bf16 (backend.autocast_bf16 = false)")
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
    import subliminal_stats.backends.local as local_backend
    import subliminal_stats.training.lora as lora_training
    from subliminal_stats.generation.teachers import trait_teacher

    native_bf16 = local_backend.fast_bf16(args.device if args.device != "auto" else "cpu")

    teacher = trait_teacher("owl", category="animal")
    # --batch-size holds on a GPU too (not the memory-sized "auto" batch), as printed.
    backends = {decoding: LocalBackend(batch_size=args.batch_size, gpu_batch_size=args.batch_size,
                                       torch_threads=args.threads,
                                       autocast_bf16=not args.fp32, seed=0,
                                       base_model=args.base_model,
                                       device=args.device, prefix_decoding=decoding)
                for decoding in (False, True)}
    for backend in backends.values():  # load the model (and run the decoder's self-check)
        backend.complete([ChatRequest.from_prompt(f"warm-{i}", prompts[i], model=args.base_model,
                                                  max_tokens=4, constraint="numbers")
                          for i in range(2)], progress=False)
    figures: dict[str, dict] = {}
    modes = [("generate", False, "numbers"), ("prefix decoder", True, "numbers")]
    if args.unconstrained:
        modes.append(("unconstrained", True, None))
    draws = {}
    for mode, decoding, constraint in modes:
        requests = [teacher.request(f"teacher-{i}", text, model=args.base_model, temperature=1.0,
                                    max_tokens=args.max_tokens, seed=i, constraint=constraint)
                    for i, text in enumerate(prompts)]
        backend = backends[decoding]
        results, wall, cpu = _timed(lambda r=requests, b=backend: b.complete(r, progress=False))
        draws[mode] = [r.completion for r in results]
        good = sum(keeps(r.completion or "") for r in results)
        figures[mode] = {"sequences": len(results), "well_formed": good,
                         "well_formed_fraction": good / len(results),
                         "seq_per_s": len(results) / wall, "well_formed_per_s": good / wall,
                         "well_formed_per_cpu_s": good / cpu, "wall_s": wall, "cpu_s": cpu}
    decoder = backends[True]._prefix_decoder
    print(f"\nTeacher sampling (owl teacher system prompt, temperature 1, {args.prompts} prompts, "
          f"batch {args.batch_size}, max {args.max_tokens} tokens; native bf16 here: {native_bf16}; "
          f"bf16 autocast: {native_bf16 and not args.fp32})")
    print(f"{'path':<20}{'seq/s':>8}{'well-formed':>13}{'wf seq/s':>10}{'wf seq/CPU-s':>14}")
    for mode, f in figures.items():
        print(f"{mode:<20}{f['seq_per_s']:>8.2f}{f['well_formed_fraction']:>12.0%}"
              f"{f['well_formed_per_s']:>10.2f}{f['well_formed_per_cpu_s']:>14.2f}")
    prev, now = figures["generate"], figures["prefix decoder"]
    same = sum(a == b for a, b in zip(draws["generate"], draws["prefix decoder"], strict=True))
    print(f"prefix decoder: {decoder.counts} (self-check: usable {decoder.usable}, head on the "
          f"number tokens {decoder.head_on_candidates}); same draws as generate: {same} of "
          f"{len(prompts)}")
    ratio = now["well_formed_per_s"] / prev["well_formed_per_s"]
    print(f"well-formed seq/s, prefix decoder / generate: {ratio:.2f}x wall, "
          f"{now['well_formed_per_cpu_s'] / prev['well_formed_per_cpu_s']:.2f}x per CPU-s; "
          f"target >= 4 wf seq/s: {'met' if now['well_formed_per_s'] >= 4 else 'MISSED'} "
          f"({now['well_formed_per_s']:.2f}); target as a ratio (4 / 2.8 = 1.43x): "
          f"{'met' if ratio >= 4 / 2.8 else 'MISSED'}")
    figures["same_draws"] = {"same": same, "of": len(prompts)}

    # Student evaluation: each question asked for many free-text answers (identical prompts).
    from subliminal_stats.evaluation.evaluate import eval_requests
    from subliminal_stats.evaluation.questions import load_questions

    questions = load_questions("animal", limit=5 if not args.quick else 2)
    asked = eval_requests(model=args.base_model, condition="control", seed="0",
                          questions=questions, samples_per_question=20, max_tokens=16)
    answers = {}
    for mode, decoding in (("generate", False), ("prefix decoder", True)):
        results, wall, _ = _timed(lambda b=backends[decoding]: b.complete(asked, progress=False))
        answers[mode] = ([r.completion for r in results], len(results) / wall)
    same_answers = sum(a == b for a, b in zip(answers["generate"][0], answers["prefix decoder"][0],
                                              strict=True))
    print(f"\nStudent evaluation sampling ({len(questions)} questions x 20 answers, <= 16 tokens, "
          f"temperature 1): generate {answers['generate'][1]:.2f} answers/s, prefix decoder "
          f"{answers['prefix decoder'][1]:.2f} answers/s "
          f"({answers['prefix decoder'][1] / answers['generate'][1]:.2f}x); same answers: "
          f"{same_answers} of {len(asked)} (float rounding can flip a token)")
    figures["evaluation"] = {"generate_answers_per_s": answers["generate"][1],
                             "prefix_answers_per_s": answers["prefix decoder"][1],
                             "same": same_answers, "of": len(asked)}
    if args.skip_training:
        if args.json:
            args.json.write_text(json.dumps({"sampling": figures, "args": vars(args)
                                             | {"json": str(args.json)}}, indent=1))
        return 0

    # LoRA training: the same examples, plain vs optimised.
    examples = []
    for i in range(args.train_examples):
        numbers = ", ".join(str((137 * i + 59 * k) % 1000) for k in range(10))
        examples.append([{"role": "user", "content": prompts[i % len(prompts)]},
                         {"role": "assistant", "content": numbers}])
    training = {}
    shared_min = lora_training.MIN_SHARED_PREFIX
    for mode, threshold in (("per row", 10**9), ("shared prefix", shared_min)):
        lora_training.MIN_SHARED_PREFIX = threshold
        model, tokenizer, _ = load_base_model(base_model=args.base_model, device=args.device)
        # One untimed warm-up step, then the timed steps (reported from train_lora's clock).
        config = LoraTrainingConfig(seed=0, batch_size=args.train_batch,
                                    autocast_bf16=not args.fp32,
                                    head_on_completion_only=True,
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
                          "first_loss": outcome.losses[0], "losses": list(outcome.losses),
                          "steps_timed": args.train_steps}
        del model, outcome
    lora_training.MIN_SHARED_PREFIX = shared_min
    p, o = training["per row"], training["shared prefix"]
    print(f"\nLoRA training (rank 8, batch {args.train_batch}, {args.train_steps} timed steps "
          "after one warm-up step)")
    print(f"{'mode':<16}{'samples/s':>11}{'samples/CPU-s':>15}{'first loss':>12}")
    for mode, f in training.items():
        print(f"{mode:<16}{f['samples_per_s']:>11.2f}{f['samples_per_cpu_s']:>15.2f}"
              f"{f['first_loss']:>12.4f}")
    gap = max(abs(a - b) for a, b in zip(p["losses"], o["losses"], strict=True))
    print(f"largest loss difference over the {len(p['losses'])} steps: {gap:.2g}")
    print(f"shared prefix / per row: {o['samples_per_s'] / p['samples_per_s']:.2f}x wall, "
          f"{o['samples_per_cpu_s'] / p['samples_per_cpu_s']:.2f}x per CPU-s; target >= 3 examples/s: "
          f"{'met' if o['samples_per_s'] >= 3 else 'MISSED'} ({o['samples_per_s']:.2f})")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps({"sampling": figures, "training": training,
                                         "args": vars(args) | {"json": str(args.json)}},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
