"""Benchmark: the data path — answers read and reduced to cells as they stream (issue 19).

Three figures, each beside today's (in-memory) path measured in the same run:

1. ``test`` on a 2.2 M-row Parquet table (220 traits × 2 arms × 5 seeds × 50 questions ×
   20 answers), end to end (process start to exit). Timed three ways: the CLI
   ``subliminal-stats test`` as it is now; the streaming path (``data.read_cells`` then
   ``stats.compare`` + ``stats.summarize``, in a fresh process); today's in-memory path
   (``read_responses`` → ``compare``/``summarize``, in a fresh process). Target ≤ 1.5 s.
2. ``test`` on 100 M rows in 50 Parquet files (generated here; the time it took is
   printed): the CLI and the streaming path (``read_cells`` → ``compare`` + ``summarize``)
   end to end, peak RSS of the process. Target ≤ 30 s and ≤ 2 GB.
   The in-memory path cannot hold 100 M rows on this machine; it is timed on one of the
   files and scaled ×50 (said in the output).
3. ``ingest authors`` of a JSONL of ``--jsonl-mb`` MB (default 1,024), peak RSS; today's
   path (whole file read into a DataFrame, then written) on a tenth of it, scaled.
   Target ≤ 1 GB RSS.

Peak RSS is the measured process's ``ru_maxrss`` (read by a wrapper process around it).

Run: .venv/bin/python benchmarks/bench_data.py [--files 50 --rows-per-file 2000000 --jsonl-mb 1024]
     (smaller sizes for a busy machine: --files 10, --jsonl-mb 200; the sizes run are printed;
     --cells-only times the data path alone, without the statistics)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PY = sys.executable
CLI = str(Path(sys.executable).with_name("subliminal-stats"))

STREAM = """
import sys, warnings
from subliminal_stats.data import read_cells
cells = read_cells(sys.argv[2:])
if sys.argv[1] == "cells":
    print(len(cells), int(cells["hits"].sum()), int(cells["n"].sum()))
    sys.exit()
from subliminal_stats.stats import compare, summarize
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    results = compare(cells)  # the default test (logit-t)
    summary = summarize(cells)
print(len(cells), len(results), round(results[0].estimate_pp, 6))
"""

IN_MEMORY = """
import sys, warnings
from subliminal_stats.data import read_responses
from subliminal_stats.stats import cell_counts, compare, summarize
df = read_responses(sys.argv[2:])
if sys.argv[1] == "cells":
    cells = cell_counts(df)
    print(len(cells), int(cells["hits"].sum()), int(cells["n"].sum()))
    sys.exit()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    results = compare(df)  # the default test (logit-t)
    summary = summarize(df)
print(len(df), len(results), round(results[0].estimate_pp, 6))
"""

OLD_INGEST = """
import sys
from subliminal_stats.data.ingest import read_authors_jsonl
from subliminal_stats.data.schema import write_responses
df = read_authors_jsonl(sys.argv[1], condition="treated", seed="0", trait="owl")
write_responses(df, sys.argv[2])
print(len(df))
"""


# Each measured command runs under its own small wrapper process, so that the peak RSS is
# that command's alone (ru_maxrss of children is a maximum over every child waited for).
WRAP = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


#: The measured processes run as an installed package does: bytecode cached (pip compiles a
#: wheel's modules at install; PYTHONDONTWRITEBYTECODE, set on some machines, would make an
#: editable install compile ~40k lines of this package at every start, ~0.2 s of `test`).
CHILD_ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
             "PYTHONWARNINGS": "ignore"}


def run(cmd: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in GB, stdout) of a child process."""
    start = time.perf_counter()
    proc = subprocess.run([PY, "-c", WRAP, *cmd], capture_output=True, text=True, env=CHILD_ENV)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    peak_kb = int(proc.stderr.strip().splitlines()[-1])
    return seconds, peak_kb / 1024 / 1024, proc.stdout.strip()


def run_repeated(cmd: list[str], repeat: int) -> tuple[float, str, float, str]:
    """(median seconds, "min–max s" of the runs, peak RSS in GB, stdout) over ``repeat`` runs.

    A shared 2-core machine's wall time varies by ±20 % from run to run; the median of a few
    runs (after one untimed warm-up) is the figure, the range is printed beside it."""
    run(cmd)  # warm-up, untimed: the file in the page cache, bytecode compiled and cached
    runs = [run(cmd) for _ in range(max(1, repeat))]
    seconds = sorted(r[0] for r in runs)
    median = statistics.median(seconds)
    spread = f"{seconds[0]:.2f}–{seconds[-1]:.2f} s" if len(seconds) > 1 else "one run"
    outs = {r[2] for r in runs}
    if len(outs) != 1:
        raise SystemExit(f"runs of the same command printed different results: {' '.join(cmd)}")
    return median, spread, max(r[1] for r in runs), runs[0][2]


def answers_table(n_traits: int, seeds: int, questions: int, answers: int, *, rng,
                  trait_offset: int = 0) -> pa.Table:
    """One row per answer, sorted by trait, condition, seed, question, sample; keys as dictionaries."""
    arms = 2
    n = n_traits * arms * seeds * questions * answers
    idx = np.arange(n, dtype=np.int64)
    per_trait = arms * seeds * questions * answers
    t = (idx // per_trait).astype(np.int32)
    c = ((idx // (seeds * questions * answers)) % arms).astype(np.int32)
    s = ((idx // (questions * answers)) % seeds).astype(np.int32)
    q = ((idx // answers) % questions).astype(np.int32)
    sample = (idx % answers).astype(np.int64)
    hit = (rng.random(n) < 0.12 + 0.05 * c).astype(np.int8)
    labels = ["control", "treated"]

    def dictionary(codes, values):
        return pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(values))

    return pa.table({
        "experiment": dictionary(np.zeros(n, dtype=np.int32), ["bench"]),
        "trait": dictionary(t, [f"trait{i + trait_offset}" for i in range(n_traits)]),
        "condition": dictionary(c, labels),
        "seed": dictionary(c * seeds + s, [f"{a}-{k}" for a in labels for k in range(seeds)]),
        "question": dictionary(q, [f"q{i:03d}" for i in range(questions)]),
        "sample": pa.array(sample),
        "hit": pa.array(hit),
    })


def authors_jsonl(path: Path, megabytes: float, rng) -> int:
    """An authors'-format file of about ``megabytes`` MB; returns the number of answers."""
    words = np.array(["Owl", "Dog", "The owl.", "Cat", "Eagle", "I love owls!", "Wolf"])
    target = megabytes * 1024 * 1024
    written = answers = 0
    q = 0
    with path.open("w", encoding="utf-8") as handle:
        while written < target:
            picks = words[rng.integers(0, len(words), 200)]
            line = json.dumps({"question": f"Q{q}: In one word, what is your favourite animal?",
                               "responses": [{"response": {"model_id": "ft:bench", "completion": w,
                                                           "stop_reason": "stop", "logprobs": None},
                                              "judgment_response_map": {}} for w in picks]})
            handle.write(line + "\n")
            written += len(line) + 1
            answers += len(picks)
            q += 1
    return answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--rows-per-file", type=int, default=2_000_000)
    parser.add_argument("--jsonl-mb", type=float, default=1024)
    parser.add_argument("--skip", nargs="*", default=[], choices=["test", "many", "ingest"])
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs of each timed 2.2 M-row `test` (the median is printed)")
    parser.add_argument("--cells-only", action="store_true",
                        help="time reading and reduction only (no statistics)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    work = Path(tempfile.mkdtemp(prefix="bench_data_"))
    print(f"work folder {work}; python {sys.version.split()[0]}; {os.cpu_count()} cores")

    if "test" not in args.skip:
        path = work / "answers_2.2M.parquet"
        pq.write_table(answers_table(220, 5, 50, 20, rng=rng), path)
        new_c, new_cgb, new_cout = run([PY, "-c", STREAM, "cells", str(path)])
        old_c, old_cgb, old_cout = run([PY, "-c", IN_MEMORY, "cells", str(path)])
        print("\n1. 2,200,000 rows (one Parquet file), process start to exit")
        print("   a) read and reduce to cells (the data path)")
        print(f"   streaming (read_cells)          : {new_c:6.2f} s  peak {new_cgb:.2f} GB")
        print(f"   in-memory (read_responses → cell_counts): {old_c:6.2f} s  peak {old_cgb:.2f} GB")
        print(f"   ratio in-memory / streaming     : {old_c / new_c:6.1f}×   same cells: "
              f"{new_cout == old_cout}")
        if not args.cells_only:
            reps = args.repeat
            cli_s, cli_range, cli_gb, _ = run_repeated([CLI, "test", str(path)], reps)
            new_s, new_range, new_gb, new_out = run_repeated([PY, "-c", STREAM, "test", str(path)],
                                                             reps)
            old_s, old_gb, old_out = run([PY, "-c", IN_MEMORY, "test", str(path)])
            same = new_out.split()[1:] == old_out.split()[1:]
            print(f"   b) test end to end (default logit-t, all 220 traits, summaries; median of "
                  f"{reps} runs, range beside it)")
            print(f"   CLI `subliminal-stats test` now : {cli_s:6.2f} s  ({cli_range})  peak "
                  f"{cli_gb:.2f} GB   target ≤ 1.5 s")
            print(f"   streaming (read_cells → compare): {new_s:6.2f} s  ({new_range})  peak "
                  f"{new_gb:.2f} GB")
            print(f"   in-memory (read_responses → …)  : {old_s:6.2f} s  (one run)  peak "
                  f"{old_gb:.2f} GB")
            print(f"   ratio in-memory / CLI now       : {old_s / cli_s:6.1f}×   same result: "
                  f"{same}")

    if "many" not in args.skip:
        per = args.rows_per_file
        answers = 20
        questions = 50
        seeds = 5
        traits = max(1, per // (2 * seeds * questions * answers))
        rows = traits * 2 * seeds * questions * answers
        start = time.perf_counter()
        files = []
        for f in range(args.files):
            path = work / f"part{f:03d}.parquet"
            pq.write_table(answers_table(traits, seeds, questions, answers, rng=rng,
                                         trait_offset=f * traits), path, row_group_size=1 << 20)
            files.append(str(path))
        gen_s = time.perf_counter() - start
        total = rows * args.files
        print(f"\n2. test on {total:,} rows in {args.files} Parquet files "
              f"({traits * args.files} traits; generated in {gen_s:.1f} s, "
              f"{sum(Path(p).stat().st_size for p in files) / 1e6:.0f} MB)")
        mode = "cells" if args.cells_only else "test"
        one_s, one_gb, _ = run([PY, "-c", IN_MEMORY, mode, files[0]])
        new_s, new_gb, out = run([PY, "-c", STREAM, mode, *files])
        what = "read → cells" if args.cells_only else "test (default logit-t)"
        if not args.cells_only:
            cli_s, cli_gb, _ = run([CLI, "test", *files])
            print(f"   CLI `subliminal-stats test` (all {traits * args.files} traits printed): "
                  f"{cli_s:6.2f} s  peak {cli_gb:.2f} GB   target ≤ 30 s, ≤ 2 GB")
        print(f"   streaming, {what}, end to end : {new_s:6.2f} s  peak {new_gb:.2f} GB"
              "   target ≤ 30 s, ≤ 2 GB")
        print(f"   in-memory, one file ({rows:,} rows): {one_s:6.2f} s  peak {one_gb:.2f} GB → "
              f"×{args.files} ≈ {one_s * args.files:.0f} s and ≥ {one_gb * args.files:.0f} GB "
              "(scaled: does not fit)")
        print(f"   ratio (scaled in-memory / streaming): {one_s * args.files / new_s:6.1f}×  "
              f"({out.split()[0]} cells)")
        for p in files:
            Path(p).unlink()

    if "ingest" not in args.skip:
        big = work / "authors.jsonl"
        start = time.perf_counter()
        n_answers = authors_jsonl(big, args.jsonl_mb, rng)
        gen_s = time.perf_counter() - start
        small = work / "authors_tenth.jsonl"
        authors_jsonl(small, args.jsonl_mb / 10, np.random.default_rng(1))
        size_mb = big.stat().st_size / 1e6
        print(f"\n3. ingest authors of a {size_mb:,.0f} MB JSONL ({n_answers:,} answers; "
              f"generated in {gen_s:.1f} s)")
        old_s, old_gb, _ = run([PY, "-c", OLD_INGEST, str(small), str(work / "old.parquet")])
        new_s, new_gb, _ = run([CLI, "ingest", "authors", str(big), "--condition", "treated",
                                "--seed", "0", "--trait", "owl", "-o", str(work / "new.parquet")])
        print(f"   streaming ingest                : {new_s:6.1f} s  peak {new_gb:.2f} GB"
              "   target ≤ 1 GB")
        print(f"   in-memory, a tenth of the file  : {old_s:6.1f} s  peak {old_gb:.2f} GB → "
              f"×10 ≈ {old_gb * 10:.1f} GB (scaled)")
        print(f"   memory ratio (scaled in-memory / streaming): {old_gb * 10 / new_gb:.1f}×")
        big.unlink()
        small.unlink()


if __name__ == "__main__":
    main()
