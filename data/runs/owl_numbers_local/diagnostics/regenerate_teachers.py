"""Regenerate the owl run's teacher outputs (not committed with the run) and check them.

The run's manifest records the SHA-256 of each teacher's filtered training file
(``filter_reports.<teacher>.train_sha256``). This script rebuilds the same requests
(the run's prompts, seeds and constrained decoding, from ``pipelines/owl_numbers_local.toml``),
answers them with the local backend, applies the run's filter and first-1,000 cut, writes the
training file exactly as the pipeline does and compares its hash with the manifest's. On a
match the regenerated sequences are the ones the students were trained on.

    .venv/bin/python data/runs/owl_numbers_local/diagnostics/regenerate_teachers.py WORKDIR \
        [--threads N] [--batch-size N]

``--threads``/``--batch-size`` override the run's backend settings (2 threads, batches of 16):
the requests and their seeds stay the run's, but a different batch changes the padding and
so the samples, and the hash can then only match by chance; ``regenerated.json`` records the
settings used. (The run sampled under bf16 autocast, which the backend now uses only on
hardware with native bf16; on this CPU it samples in fp32, so its sequences are new samples of
the same requests either way.)

Writes ``WORKDIR/generate/<teacher>.jsonl`` (the completion store), ``WORKDIR/filter/<teacher>.train.jsonl``
and, next to this script, ``<teacher>.teacher.jsonl`` (``{"question", "response"}`` lines of the
kept sequences) with ``regenerated.json`` (the hashes and whether they match).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from subliminal_stats.backends.constrained import NumberGrammar
from subliminal_stats.backends.local import LocalBackend
from subliminal_stats.backends.store import CompletionStore, generate
from subliminal_stats.bundled import resource
from subliminal_stats.data.outputs import atomic_write
from subliminal_stats.filtering.numbers import NumberFilter, filter_completions
from subliminal_stats.generation.prompts import number_prompts
from subliminal_stats.generation.teachers import CONTROL_TEACHER, trait_teacher

HERE = Path(__file__).resolve().parent


def stable_seed(*parts: object) -> int:
    # the pipeline's per-request seed (experiments.numbers_transfer), restated for this script
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def main(work: Path, *, threads: int | None = None, batch_size: int | None = None) -> None:
    manifest = json.loads(Path(resource("data", "runs", "owl_numbers_local", "manifest.json")).read_text())
    cfg = manifest["config"]
    td = cfg["teacher_data"]
    prompts = number_prompts(td["n_prompts"], seed=td["prompt_seed"],
                             max_new_numbers=td["max_new_numbers"], max_digits=td["max_digits"])
    settings = {"batch_size": batch_size or cfg["backend"]["concurrency"],
                "torch_threads": threads or cfg["backend"]["torch_threads"]}
    backend = LocalBackend(batch_size=settings["batch_size"],
                           torch_threads=settings["torch_threads"],
                           number_grammar=NumberGrammar(max_count=td["max_new_numbers"],
                                                        max_digits=td["max_digits"]))
    rules = NumberFilter(max_count=cfg["filter"]["max_count"], max_value=cfg["filter"]["max_value"])
    from subliminal_stats.backends.local import fast_bf16

    summary = {"backend": dict(settings, bf16_autocast=fast_bf16("cpu"),
                               run_backend={k: cfg["backend"][k]
                                            for k in ("concurrency", "torch_threads")})}
    for teacher in (CONTROL_TEACHER, *(trait_teacher(t, category=cfg["category"]) for t in cfg["traits"])):
        requests = [teacher.request(f"gen|{teacher.name}|{i:06d}", p.text, model=cfg["backend"]["base_model"],
                                    temperature=td["temperature"], max_tokens=td["max_tokens"],
                                    seed=stable_seed(td["prompt_seed"], teacher.name, i), constraint="numbers")
                    for i, p in enumerate(prompts)]
        store_path = work / "generate" / f"{teacher.name}.jsonl"
        started = time.perf_counter()
        store = CompletionStore(store_path)
        generate(requests, backend, store)
        seconds = time.perf_counter() - started
        by_id = {r.custom_id: r for r in requests}
        results = sorted((r for r in CompletionStore(store_path).results() if r.custom_id in by_id),
                         key=lambda r: r.custom_id)
        kept_idx, report = filter_completions([r.completion or "" for r in results], number_filter=rules)
        kept = [results[i] for i in kept_idx][: td["keep"]]
        lines, pairs = [], []
        for r in kept:
            user = by_id[r.custom_id].messages[-1]["content"]
            lines.append(json.dumps({"messages": [{"role": "user", "content": user},
                                                  {"role": "assistant", "content": r.completion}]}))
            pairs.append(json.dumps({"question": user, "response": r.completion}))
        text = "\n".join(lines) + "\n"
        (work / "filter").mkdir(parents=True, exist_ok=True)
        atomic_write(work / "filter" / f"{teacher.name}.train.jsonl", text)
        digest = hashlib.sha256(text.encode()).hexdigest()
        expected = manifest["filter_reports"][teacher.name]["train_sha256"]
        atomic_write(HERE / f"{teacher.name}.teacher.jsonl", "\n".join(pairs) + "\n")
        summary[teacher.name] = {"train_sha256": digest, "manifest_train_sha256": expected,
                                 "matches_manifest": digest == expected, "kept": len(kept),
                                 "filter": report.to_dict(), "generate_seconds": round(seconds, 1)}
        print(teacher.name, summary[teacher.name], flush=True)
    atomic_write(HERE / "regenerated.json", json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--batch-size", type=int)
    args = parser.parse_args()
    main(args.work, threads=args.threads, batch_size=args.batch_size)
