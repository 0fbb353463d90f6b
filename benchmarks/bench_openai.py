"""Throughput of the OpenAI chat path against the loopback server with injected latency.

Starts ``tests/fake_openai_server.py`` in a separate process (so the server's
threads do not compete with the client for the GIL), gives every chat
completion 200 ms of latency, and times ``OpenAIBackend.complete`` at
concurrency 1, 8 and 32. The ideal throughput is ``concurrency / latency``;
the target is at least 0.9 of it. Concurrency 1 is the naive sequential
baseline measured in the same run.

A last row runs the same work through ``generate`` into a
``CompletionStore`` (one fsync per record) to show the cost of crash safety.

Run: ``.venv/bin/python benchmarks/bench_openai.py [--latency 0.2] [--seconds 3]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-test-SECRET123"  # the loopback server's fake key, not a real one


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "fake_openai_server.py"), "--latency",
         str(latency)], stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        server.kill()
        raise SystemExit(f"fake server did not start (got {url!r})")
    return server, url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="ideal duration of each run (sets the number of requests)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args(argv)

    os.environ["OPENAI_API_KEY"] = KEY
    from subliminal_stats.backends.base import ChatRequest
    from subliminal_stats.backends.openai_backend import OpenAIBackend
    from subliminal_stats.backends.store import CompletionStore, generate

    server, url = start_server(args.latency)
    try:
        def requests(n: int, tag: str) -> list[ChatRequest]:
            return [ChatRequest.from_prompt(f"{tag}-{i}", f"{tag} prompt {i}",
                                            model="gpt-4.1-nano", max_tokens=30)
                    for i in range(n)]

        # Warm-up: imports, first connection, pydantic model building.
        OpenAIBackend("gpt-4.1-nano", base_url=url, concurrency=4).complete(
            requests(8, "warm"), progress=False)

        print(f"OpenAI chat path, loopback server with {args.latency * 1000:.0f} ms latency "
              f"per request; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
              "before the run")
        print(f"{'concurrency':>11} {'requests':>8} {'seconds':>8} {'req/s':>8} "
              f"{'ideal':>8} {'ratio':>6} {'vs c=1':>7} {'cpu ms/req':>10}  target ≥ 0.9")
        baseline = None
        rows = []
        for concurrency in args.concurrency:
            ideal = concurrency / args.latency
            n = max(5, round(ideal * args.seconds))
            backend = OpenAIBackend("gpt-4.1-nano", base_url=url, concurrency=concurrency)
            batch = requests(n, f"c{concurrency}")
            start, cpu = time.perf_counter(), time.process_time()
            results = backend.complete(batch, progress=False)
            elapsed = time.perf_counter() - start
            cpu_ms = (time.process_time() - cpu) / n * 1000
            assert all(r.ok for r in results), "a request failed during the benchmark"
            rate = n / elapsed
            baseline = baseline or rate
            rows.append((concurrency, rate / ideal))
            print(f"{concurrency:>11} {n:>8} {elapsed:>8.2f} {rate:>8.1f} {ideal:>8.1f} "
                  f"{rate / ideal:>6.2f} {rate / baseline:>6.1f}x {cpu_ms:>10.2f}  "
                  f"{'ok' if rate / ideal >= 0.9 else 'BELOW TARGET'}")

        concurrency = max(args.concurrency)
        ideal = concurrency / args.latency
        n = max(5, round(ideal * args.seconds))
        with tempfile.TemporaryDirectory() as folder:
            store = CompletionStore(Path(folder) / "store.jsonl")
            backend = OpenAIBackend("gpt-4.1-nano", base_url=url, concurrency=concurrency)
            start, cpu = time.perf_counter(), time.process_time()
            summary = generate(requests(n, "store"), backend, store, progress=False)
            elapsed = time.perf_counter() - start
            cpu_ms = (time.process_time() - cpu) / n * 1000
            store.close()
        rate = summary.completed / elapsed
        print(f"{concurrency:>11} {n:>8} {elapsed:>8.2f} {rate:>8.1f} {ideal:>8.1f} "
              f"{rate / ideal:>6.2f} {rate / baseline:>6.1f}x {cpu_ms:>10.2f}  via generate() + "
              "CompletionStore (fsync per record)")
        print(f"load average after the run: {os.getloadavg()[0]:.1f} (other work on the machine "
              "competes for the CPU the client needs at high concurrency)")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0 if all(ratio >= 0.9 for _, ratio in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
