"""Crash-safe completion store and the resumable generation driver.

The crash test runs a real generation subprocess against the loopback OpenAI
server, kills it with SIGKILL mid-run, reruns it, and checks at the server
that finished items were never requested again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fake_openai_server import DEFAULT_KEY, FakeOpenAIServer, expected_completion

from subliminal_stats.backends.base import ChatRequest, ChatResult
from subliminal_stats.backends.openai_backend import OpenAIBackend
from subliminal_stats.backends.store import (
    CompletionStore,
    GenerationIncompleteError,
    generate,
)
from subliminal_stats.errors import InputError

pytestmark = pytest.mark.timeout(60)

MODEL = "gpt-4.1-nano"


def result(i: int, text: str | None = None, **kwargs) -> ChatResult:
    return ChatResult(f"id-{i}", text if text is not None else f"{i}, {i + 1}", model=MODEL,
                      finish_reason="stop", prompt_tokens=3, completion_tokens=2, **kwargs)


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- the store -----------------------------------------------------------------------------
def test_round_trip_keeps_every_field_and_order(tmp_path):
    path = tmp_path / "sub" / "store.jsonl"
    with CompletionStore(path) as store:
        assert store.done_ids() == frozenset() and not path.exists()
        rich = result(2, top_logprobs=({"1": -0.5, "2": -1.5}, {"3": -0.1}))
        for item in (result(0), result(1), rich):
            assert store.append(item) is True
    reloaded = CompletionStore(path)
    assert reloaded.results() == [result(0), result(1), rich]
    assert reloaded.done_ids() == {"id-0", "id-1", "id-2"}
    assert "id-1" in reloaded and len(reloaded) == 3
    assert reloaded.get("id-2").top_logprobs == ({"1": -0.5, "2": -1.5}, {"3": -0.1})


def test_torn_last_line_is_ignored_then_cut_off(tmp_path):
    path = tmp_path / "store.jsonl"
    with CompletionStore(path) as store:
        store.append(result(0))
        store.append(result(1))
    intact = path.read_bytes()
    with open(path, "ab") as handle:  # what kill -9 in the middle of a write leaves
        handle.write(b'{"custom_id":"id-2","completion":"2, ')

    store = CompletionStore(path)
    assert store.done_ids() == {"id-0", "id-1"}  # the torn item counts as not done
    assert store.torn_bytes_removed == len(b'{"custom_id":"id-2","completion":"2, ')
    assert path.read_bytes().startswith(intact)  # reading alone does not modify the file
    store.append(result(2))
    store.close()
    assert [row["custom_id"] for row in lines_of(path)] == ["id-0", "id-1", "id-2"]
    assert CompletionStore(path).results() == [result(0), result(1), result(2)]


def test_damaged_but_terminated_last_line_is_treated_as_torn(tmp_path):
    path = tmp_path / "store.jsonl"
    with CompletionStore(path) as store:
        store.append(result(0))
    with open(path, "ab") as handle:
        handle.write(b'{"custom_id":"id-1","compl\x00\x00\n')
    store = CompletionStore(path)
    assert store.done_ids() == {"id-0"}
    store.append(result(1))
    store.close()
    assert [row["custom_id"] for row in lines_of(path)] == ["id-0", "id-1"]


def test_damage_before_the_last_line_is_reported_not_dropped(tmp_path):
    path = tmp_path / "store.jsonl"
    path.write_text('{"custom_id":"a","completion":"1"}\nGARBAGE\n'
                    '{"custom_id":"b","completion":"2"}\n')
    with pytest.raises(InputError, match=r"store.jsonl line 2 is not a valid record") as info:
        CompletionStore(path)
    assert "\n" not in str(info.value)


def test_duplicates_are_ignored_first_one_wins(tmp_path):
    path = tmp_path / "store.jsonl"
    path.write_text('{"custom_id":"a","completion":"first"}\n'
                    '{"custom_id":"a","completion":"second"}\n')
    store = CompletionStore(path)
    assert [r.completion for r in store.results()] == ["first"]
    assert store.duplicates_ignored == 1
    before = path.read_bytes()
    assert store.append(ChatResult("a", "third")) is False
    store.close()
    assert path.read_bytes() == before


def test_failed_results_are_not_stored(tmp_path):
    with CompletionStore(tmp_path / "store.jsonl") as store:
        with pytest.raises(ValueError, match="not storing failed result 'x'"):
            store.append(ChatResult("x", None, error="gave up"))
        assert len(store) == 0


def test_one_writer_at_a_time(tmp_path):
    path = tmp_path / "store.jsonl"
    first = CompletionStore(path)
    first.append(result(0))
    second = CompletionStore(path)
    with pytest.raises(InputError, match="in use by another running generation"):
        second.append(result(1))
    first.close()
    assert second.append(result(1)) is True  # the lock is free again
    second.close()


# -- the generation driver --------------------------------------------------------------
@pytest.fixture
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", DEFAULT_KEY)


def requests_for(n: int) -> list[ChatRequest]:
    return [ChatRequest.from_prompt(f"item-{i:03d}", f"prompt {i}", model=MODEL, max_tokens=20)
            for i in range(n)]


def backend_for(server, **kwargs) -> OpenAIBackend:
    options = dict(base_url=server.base_url, timeout=3.0, max_retries=2, backoff_initial=0.01,
                   backoff_max=0.02, rng=0, poll_interval=0.01)
    return OpenAIBackend(MODEL, **(options | kwargs))


def test_generate_requests_only_missing_items(api_key, tmp_path):
    reqs = requests_for(10)
    path = tmp_path / "store.jsonl"
    with CompletionStore(path) as store:  # half done by an earlier run
        for req in reqs[:5]:
            prompt = req.messages[-1]["content"]
            store.append(ChatResult(req.custom_id, expected_completion(prompt)))
    with FakeOpenAIServer() as server, CompletionStore(path) as store:
        summary = generate(reqs, backend_for(server), store, progress=False)
    assert (summary.requested, summary.already_done, summary.completed, summary.failed) == \
        (10, 5, 5, 0)
    assert server.item_requests == {f"prompt {i}": 1 for i in range(5, 10)}
    stored = CompletionStore(path).results()
    assert [r.custom_id for r in stored[:5]] == [r.custom_id for r in reqs[:5]]  # kept as is
    assert sorted(r.custom_id for r in stored) == [r.custom_id for r in reqs]
    assert {r.custom_id: r.completion for r in stored} == {
        r.custom_id: expected_completion(r.messages[-1]["content"]) for r in reqs}


def test_failed_items_are_retried_by_a_rerun_only(api_key, tmp_path):
    reqs = requests_for(8)
    path = tmp_path / "store.jsonl"
    with FakeOpenAIServer() as server:
        server.fail_item("prompt 3", "500", "500", "500")  # 3 attempts with max_retries=2
        with CompletionStore(path) as store:
            with pytest.raises(GenerationIncompleteError,
                               match=r"1 of 8 items failed \(first: item-003: gave up after 3 "
                                     r"attempts \(HTTP 500 ×3\)\); 7 finished items are saved"):
                generate(reqs, backend_for(server), store, progress=False)
        assert len(CompletionStore(path)) == 7
        with CompletionStore(path) as store:
            summary = generate(reqs, backend_for(server), store, progress=False)
    assert (summary.already_done, summary.completed) == (7, 1)
    assert server.item_requests["prompt 3"] == 4
    assert all(server.item_requests[f"prompt {i}"] == 1 for i in range(8) if i != 3)
    assert len(lines_of(path)) == 8


def test_generate_through_the_batch_api(api_key, tmp_path):
    reqs = requests_for(6)
    with FakeOpenAIServer() as server, CompletionStore(tmp_path / "s.jsonl") as store:
        summary = generate(reqs, backend_for(server), store, progress=False, batch=True,
                           state_file=tmp_path / "batches.json")
        assert summary.completed == 6 and len(server.batches) == 1
        again = generate(reqs, backend_for(server), store, progress=False, batch=True)
    assert (again.already_done, again.completed, len(server.batches)) == (6, 0, 1)


def test_duplicate_request_ids_are_refused(api_key, tmp_path):
    reqs = requests_for(2)
    with FakeOpenAIServer() as server, CompletionStore(tmp_path / "s.jsonl") as store:
        with pytest.raises(InputError, match="custom_id 'item-000' appears more than once"):
            generate([reqs[0], reqs[1], reqs[0]], backend_for(server), store, progress=False)


# -- the crash test ---------------------------------------------------------------------------
CHILD = textwrap.dedent("""
    import sys
    from subliminal_stats.backends.base import ChatRequest
    from subliminal_stats.backends.openai_backend import OpenAIBackend
    from subliminal_stats.backends.store import CompletionStore, generate

    base_url, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    requests = [ChatRequest.from_prompt(f"item-{i:03d}", f"prompt {i}", model="gpt-4.1-nano",
                                        max_tokens=20) for i in range(n)]
    backend = OpenAIBackend("gpt-4.1-nano", base_url=base_url, concurrency=4, timeout=5)
    with CompletionStore(path) as store:
        summary = generate(requests, backend, store, progress=False)
    print(f"done {summary.already_done} {summary.completed}", flush=True)
""")


def test_kill_9_mid_run_then_rerun_loses_nothing_and_repeats_no_finished_item(api_key,
                                                                              tmp_path):
    n, concurrency = 80, 4
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    path = tmp_path / "store.jsonl"
    env = os.environ | {"OPENAI_API_KEY": DEFAULT_KEY, "PYTHONUNBUFFERED": "1"}

    with FakeOpenAIServer(latency=0.03) as server:
        # 30 answers, then the server holds requests: the child cannot finish before the
        # kill however slow this machine is. The kill comes at >= 20 stored rows, usually
        # while answers are still arriving and being written.
        server.hold_after(30)
        args = [sys.executable, str(script), server.base_url, str(path), str(n)]
        child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:  # wait until a good part is stored
            if path.exists() and path.read_bytes().count(b"\n") >= 20:
                break
            assert child.poll() is None, child.communicate()
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
        out1, err1 = child.communicate(timeout=10)
        assert child.returncode == -signal.SIGKILL
        server.release()

        after_kill = CompletionStore(path)
        finished_first = after_kill.done_ids()
        requested_first = sum(server.item_requests.values())
        assert 20 <= len(finished_first) <= 30  # killed mid-run, with work on disk
        assert requested_first <= len(finished_first) + concurrency  # at most 4 in flight

        rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=40)
        assert rerun.returncode == 0, rerun.stderr
        already, completed = map(int, rerun.stdout.split()[1:3])

    rows = lines_of(path)  # every line parses: no torn or corrupt row is left
    ids = [row["custom_id"] for row in rows]
    assert len(ids) == len(set(ids)) == n  # no loss, no duplicate row
    assert (already, completed) == (len(finished_first), n - len(finished_first))
    assert {row["custom_id"]: row["completion"] for row in rows} == {
        f"item-{i:03d}": expected_completion(f"prompt {i}") for i in range(n)}
    for custom_id in finished_first:  # finished items were not requested again
        assert server.item_requests[f"prompt {int(custom_id.split('-')[1])}"] == 1
    # Only the items in flight at the kill were requested twice.
    assert sum(server.item_requests.values()) == requested_first + n - len(finished_first)
    for text in (out1.decode(), err1.decode(), rerun.stdout, rerun.stderr, path.read_text()):
        assert DEFAULT_KEY not in text
