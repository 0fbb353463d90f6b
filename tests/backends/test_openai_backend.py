"""OpenAI backend against a real HTTP server on 127.0.0.1 that injects faults.

Everything goes through the official ``openai`` SDK and a real socket; the
server (tests/fake_openai_server.py) counts requests per item, so "completed
exactly once" and "bounded retries" are checked where the requests land.
"""

from __future__ import annotations

import json
import logging
import time

import pytest
from fake_openai_server import DEFAULT_KEY, FakeOpenAIServer, expected_completion

from subliminal_stats.backends import pricing
from subliminal_stats.backends.base import ChatBackend, ChatRequest, FineTuneBackend, FineTuneSpec
from subliminal_stats.backends.openai_backend import (
    BackendError,
    BatchFailedError,
    FineTuneFailedError,
    OpenAIBackend,
    RetriesExhaustedError,
    _retry_after_seconds,
)
from subliminal_stats.errors import InputError

pytestmark = pytest.mark.timeout(60)

MODEL = "gpt-4.1-nano"


@pytest.fixture
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", DEFAULT_KEY)
    monkeypatch.delenv("SUBLIMINAL_STATS_PRICES", raising=False)
    return DEFAULT_KEY


@pytest.fixture
def server():
    with FakeOpenAIServer() as fake:
        yield fake


def make_backend(server, **kwargs) -> OpenAIBackend:
    # 2 s: a loaded CI machine must not turn a normal answer into a timeout (and a retry).
    options = dict(base_url=server.base_url, timeout=2.0, max_retries=3, backoff_initial=0.01,
                   backoff_max=0.05, poll_interval=0.01, rng=0)
    options.update(kwargs)
    return OpenAIBackend(MODEL, **options)


def requests_for(n: int, prefix: str = "item") -> list[ChatRequest]:
    return [ChatRequest.from_prompt(f"{prefix}-{i}", f"{prefix} prompt {i}", model=MODEL,
                                    max_tokens=20) for i in range(n)]


def test_backend_speaks_both_protocols(api_key, server):
    backend = make_backend(server)
    assert isinstance(backend, ChatBackend)
    assert isinstance(backend, FineTuneBackend)


def test_every_item_completed_exactly_once_despite_faults(api_key, server):
    reqs = requests_for(30)
    prompts = [r.messages[-1]["content"] for r in reqs]
    server.fail_item(prompts[1], "429:0.3")
    server.fail_item(prompts[2], "500", "503")
    server.fail_item(prompts[3], "hang")
    server.fail_item(prompts[4], "malformed", "429")
    server.fail_item(prompts[5], "notchat", "502")
    calls: dict[str, int] = {}
    finished_at: dict[str, float] = {}
    start = time.monotonic()

    def on_result(result):
        calls[result.custom_id] = calls.get(result.custom_id, 0) + 1
        finished_at[result.custom_id] = time.monotonic() - start

    results = make_backend(server, concurrency=6, timeout=1.0).complete(
        reqs, on_result=on_result, progress=False)

    assert [r.custom_id for r in results] == [r.custom_id for r in reqs]
    assert all(r.ok for r in results)
    assert [r.completion for r in results] == [expected_completion(p) for p in prompts]
    assert calls == {r.custom_id: 1 for r in reqs}
    # The server handed out exactly one successful answer per item ...
    assert all(server.item_answers[p] == 1 for p in prompts)
    # ... after exactly (faults + 1) requests for the faulty ones and one for the rest.
    expected_requests = {p: 1 for p in prompts} | {prompts[1]: 2, prompts[2]: 3,
                                                   prompts[3]: 2, prompts[4]: 3,
                                                   prompts[5]: 3}
    assert dict(server.item_requests) == expected_requests
    # Backoff is capped at 0.05 s here, so waiting 0.3 s can only come from Retry-After.
    assert finished_at["item-1"] >= 0.3
    # The hung request was abandoned after the 1 s client timeout, then retried.
    assert finished_at["item-3"] >= 1.0


def test_retries_are_bounded_and_the_error_says_why(api_key, server):
    reqs = requests_for(5)
    stuck = reqs[2].messages[-1]["content"]
    server.fail_item(stuck, *["500"] * 20)
    backend = make_backend(server, max_retries=3)

    results = backend.complete(reqs, progress=False)

    assert server.item_requests[stuck] == 4  # 1 try + 3 retries, then stop
    failed = results[2]
    assert not failed.ok and failed.completion is None
    assert failed.error == "gave up after 4 attempts (HTTP 500 ×4)"
    assert all(r.ok for i, r in enumerate(results) if i != 2)

    with pytest.raises(RetriesExhaustedError, match=r"1 of 1 chat requests failed; first: "
                                                    r"item-2: gave up after 4 attempts"):
        backend.complete([reqs[2]], progress=False, raise_on_error=True)
    assert server.item_requests[stuck] == 8


def test_an_error_in_on_result_stops_the_run(api_key, server):
    def full_disk(result):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        make_backend(server, concurrency=2).complete(requests_for(20), on_result=full_disk,
                                                     progress=False)
    assert sum(server.item_requests.values()) < 20  # it did not carry on regardless


def test_hung_requests_time_out_and_count_as_retries(api_key, server):
    reqs = requests_for(1, prefix="slow")
    server.fail_item(reqs[0].messages[-1]["content"], "hang", "hang", "hang")
    start = time.monotonic()
    [result] = make_backend(server, timeout=0.3, max_retries=1).complete(reqs, progress=False)
    assert result.error == "gave up after 2 attempts (timeout ×2)"
    assert 0.6 <= time.monotonic() - start < 5


def test_bad_request_is_not_retried(api_key, server):
    reqs = requests_for(1)
    server.fail_item(reqs[0].messages[-1]["content"], "400")
    [result] = make_backend(server).complete(reqs, progress=False)
    assert result.error == "HTTP 400: bad request (injected)"
    assert server.item_requests[reqs[0].messages[-1]["content"]] == 1


def test_concurrency_is_bounded(api_key):
    with FakeOpenAIServer(latency=0.15) as server:
        results = make_backend(server, concurrency=4).complete(requests_for(16), progress=False)
    assert all(r.ok for r in results)
    assert server.max_in_flight == 4


def test_request_body_carries_the_request_settings(api_key, server):
    req = ChatRequest.from_prompt("a", "hello", model=MODEL, system="You love owls.",
                                  temperature=0.7, max_tokens=12, seed=5, logprobs=True,
                                  top_logprobs=3)
    [result] = make_backend(server).complete([req], progress=False)
    [body] = server.chat_bodies
    assert body["messages"] == [{"role": "system", "content": "You love owls."},
                                {"role": "user", "content": "hello"}]
    assert (body["model"], body["temperature"], body["max_tokens"], body["seed"],
            body["logprobs"], body["top_logprobs"]) == (MODEL, 0.7, 12, 5, True, 3)
    first = int(expected_completion("hello").split(",")[0])
    assert result.top_logprobs == ({str(first): -0.1, str(first + 1): -1.1,
                                    str(first + 2): -2.1},)


def test_missing_key_is_a_one_line_input_error(monkeypatch, server):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(InputError, match="OPENAI_API_KEY is not set") as info:
        OpenAIBackend(MODEL, base_url=server.base_url)
    assert "\n" not in str(info.value)


def test_rejected_key_stops_with_input_error_without_the_key(monkeypatch, server):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-WRONGKEY999")
    with pytest.raises(InputError, match=r"rejected the API key .* \(HTTP 401\)") as info:
        make_backend(server).complete(requests_for(3), progress=False)
    assert "WRONGKEY999" not in str(info.value)
    assert server.auth_failures >= 1


def test_batch_api_maps_results_back_by_custom_id(api_key, server):
    reqs = requests_for(12, prefix="batch")
    prompts = [r.messages[-1]["content"] for r in reqs]
    server.fail_item(prompts[5], "batch_error")
    seen: list[str] = []
    results = make_backend(server).complete_batch(reqs, on_result=lambda r: seen.append(
        r.custom_id), progress=False)

    assert sorted(seen) == sorted(r.custom_id for r in reqs)  # once each
    assert [r.custom_id for r in results] == [r.custom_id for r in reqs]
    for i, (result, prompt) in enumerate(zip(results, prompts, strict=True)):
        if i == 5:
            assert result.error == "batch error: HTTP 500: injected batch failure"
        else:
            assert result.completion == expected_completion(prompt)
    [batch] = server.batches.values()
    uploaded = server.files[batch["input_file_id"]]
    assert uploaded["purpose"] == "batch"
    lines = [json.loads(x) for x in uploaded["content"].decode().splitlines()]
    assert [x["custom_id"] for x in lines] == [r.custom_id for r in reqs]
    assert {x["url"] for x in lines} == {"/v1/chat/completions"}
    assert batch["_polls"] == server.batch_polls  # polled until completed, then stopped
    assert all(server.item_requests[p] == 1 for p in prompts)


def test_batch_polling_resumes_from_the_state_file(api_key, tmp_path):
    state = tmp_path / "batches.json"
    reqs = requests_for(4, prefix="resume")
    with FakeOpenAIServer(batch_polls=4) as server:
        backend = make_backend(server)
        with pytest.raises(BackendError, match="still in_progress after 0 s"):
            backend.complete_batch(reqs, progress=False, state_file=state, max_wait=0)
        first_id = backend.last_batch_ids[0]
        assert first_id in json.loads(state.read_text()).values()
        results = backend.complete_batch(reqs, progress=False, state_file=state)
    assert len(server.batches) == 1 and backend.last_batch_ids == [first_id]
    assert all(r.ok for r in results)
    assert json.loads(state.read_text()) == {}


def test_failed_batch_raises_with_the_server_reason(api_key, server):
    reqs = [ChatRequest.from_prompt("x", "FAIL_BATCH", model=MODEL)]
    with pytest.raises(BatchFailedError, match="injected: the input file was rejected"):
        make_backend(server).complete_batch(reqs, progress=False)


def test_expired_batch_keeps_what_finished_and_flags_the_rest(api_key, server):
    reqs = [ChatRequest.from_prompt(f"e{i}", f"EXPIRE_BATCH {i}", model=MODEL)
            for i in range(6)]
    results = make_backend(server).complete_batch(reqs, progress=False)
    done = [r for r in results if r.ok]
    assert len(done) == 3
    assert all(r.completion == expected_completion(f"EXPIRE_BATCH {r.custom_id[1:]}")
               for r in done)
    batch_id = next(iter(server.batches))
    assert {r.error for r in results if not r.ok} == {
        f"missing from the output of batch {batch_id} (status expired)"}


def test_batch_error_lines_of_both_shapes():
    from subliminal_stats.backends.openai_backend import _parse_batch_output

    content = (json.dumps({"custom_id": "a", "response": None,
                           "error": {"code": "x", "message": "request too large"}}) + "\n" +
               json.dumps({"custom_id": "b", "response": {"status_code": 429, "body": {
                   "error": {"message": "quota"}}}, "error": None}) + "\n\n").encode()
    assert [(r.custom_id, r.error) for r in _parse_batch_output(content)] == [
        ("a", "batch error: request too large"), ("b", "batch error: HTTP 429: quota")]


def test_poll_survives_transient_errors(api_key, server):
    server.fail_route("GET /v1/batches", "500", "429:0.05")
    results = make_backend(server).complete_batch(requests_for(2), progress=False)
    assert all(r.ok for r in results)


def write_training_file(path, n=3, marker=""):
    with open(path, "w") as handle:
        for i in range(n):
            handle.write(json.dumps({"messages": [
                {"role": "user", "content": f"Continue: 1, 2, {i}{marker}"},
                {"role": "assistant", "content": "4, 5, 6"}]}) + "\n")
    return path


def test_fine_tune_records_the_model_of_the_finished_job(api_key, server, tmp_path):
    spec = FineTuneSpec(training_file=write_training_file(tmp_path / "train.jsonl"),
                        base_model=MODEL, seed=7, epochs=10, batch_size=39,
                        learning_rate_multiplier=2.0, suffix="owl-s7")
    created: list[str] = []
    backend = make_backend(server)
    model = backend.fine_tune(spec, progress=False, on_job_created=created.append)

    [job] = server.jobs.values()
    assert created == [job["id"]] == [backend.last_job_id]
    assert model == job["fine_tuned_model"] == f"ft:{MODEL}:fake-org:owl-s7:{job['id'][-6:]}"
    assert "DECOY" not in model  # not the creation response's value
    assert job["_polls"] == server.job_polls
    [body] = server.job_create_bodies
    assert body["seed"] == 7 and body["suffix"] == "owl-s7" and body["model"] == MODEL
    assert body["method"] == {"type": "supervised", "supervised": {"hyperparameters": {
        "n_epochs": 10, "batch_size": 39, "learning_rate_multiplier": 2.0}}}
    assert server.files[body["training_file"]]["purpose"] == "fine-tune"
    assert server.files[body["training_file"]]["content"] == spec.training_file.read_bytes()


def test_fine_tune_resumes_an_existing_job(api_key, server, tmp_path):
    spec = FineTuneSpec(training_file=write_training_file(tmp_path / "train.jsonl"),
                        base_model=MODEL)
    backend = make_backend(server)
    with pytest.raises(BackendError, match="still"):
        backend.fine_tune(spec, progress=False, max_wait=0)
    job_id = backend.last_job_id
    assert backend.fine_tune(spec, progress=False, job_id=job_id).startswith(f"ft:{MODEL}")
    assert len(server.jobs) == 1 and len(server.job_create_bodies) == 1


@pytest.mark.parametrize(("suffix", "marker", "message"), [
    (None, "FAIL_JOB", r"failed \(invalid_training_file: The job failed due to an invalid"),
    ("cancel", "", r"cancelled \(no reason given\)"),
])
def test_fine_tune_failure_is_a_clear_error(api_key, server, tmp_path, suffix, marker, message):
    spec = FineTuneSpec(training_file=write_training_file(tmp_path / "t.jsonl", marker=marker),
                        base_model=MODEL, suffix=suffix)
    with pytest.raises(FineTuneFailedError, match=r"fine-tuning job ftjob-\d+ " + message):
        make_backend(server).fine_tune(spec, progress=False)


def test_fine_tune_rejects_a_bad_training_file(api_key, server, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": []}\n{"prompt": "x"}\n')
    with pytest.raises(InputError, match="bad.jsonl line 2: not a chat example"):
        make_backend(server).fine_tune(FineTuneSpec(bad, MODEL), progress=False)
    with pytest.raises(InputError, match="does not exist"):
        make_backend(server).fine_tune(FineTuneSpec(tmp_path / "nope.jsonl", MODEL),
                                       progress=False)
    assert server.files == {}


def test_billed_spending_needs_confirmation(api_key, server, capsys):
    backend = make_backend(server, billed=True)
    with pytest.raises(InputError, match="confirm the estimated cost by passing --yes"):
        backend.complete(requests_for(3), progress=False)
    assert server.item_requests == {}  # nothing was sent
    assert "cost estimate: chat completions on gpt-4.1-nano: 3 request(s)" in \
        capsys.readouterr().err

    results = backend.complete(requests_for(3), progress=False, confirm=True)
    assert all(r.ok for r in results)
    assert "≈ $" in capsys.readouterr().err


def test_no_key_in_any_log_output_or_file(api_key, server, tmp_path, caplog, capsys):
    from subliminal_stats.backends.store import (
        CompletionStore,
        GenerationIncompleteError,
        generate,
    )

    for name in ("", "openai", "httpx2", "httpcore2", "subliminal_stats"):
        caplog.set_level(logging.DEBUG, logger=name or None)
    reqs = requests_for(6, prefix="secret")
    server.fail_item(reqs[0].messages[-1]["content"], "429:0.01", "hang", "malformed")
    server.fail_item(reqs[1].messages[-1]["content"], "500", "500", "500", "500")
    backend = make_backend(server, timeout=0.5)
    store = CompletionStore(tmp_path / "store.jsonl")
    with pytest.raises(GenerationIncompleteError, match="1 of 6 items failed"):
        generate(reqs, backend, store, progress=True)
    backend.complete_batch(requests_for(3, prefix="b"), progress=True,
                           state_file=tmp_path / "state.json")
    spec = FineTuneSpec(training_file=write_training_file(tmp_path / "t.jsonl"), base_model=MODEL)
    backend.fine_tune(spec, progress=True)
    with pytest.raises(FineTuneFailedError):
        backend.fine_tune(FineTuneSpec(spec.training_file, MODEL, suffix="fail"), progress=True)
    store.close()

    captured = capsys.readouterr()
    logs = caplog.text
    assert "HTTP Request: POST" in logs and "retry 1 of 3" in logs  # the capture works
    texts = [logs, captured.out, captured.err, repr(backend), str(vars(backend))]
    texts += [p.read_text() for p in tmp_path.iterdir() if p.is_file()]
    for text in texts:
        assert DEFAULT_KEY not in text and "SECRET123" not in text


def test_retry_after_header_forms():
    assert _retry_after_seconds({"retry-after": "2"}) == 2.0
    assert _retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= _retry_after_seconds({"retry-after": http_date}) <= 31
    assert _retry_after_seconds({"retry-after": "soon"}) is None
    assert _retry_after_seconds({}) is None


def test_backoff_is_exponential_capped_and_jittered(api_key, server):
    backend = make_backend(server, backoff_initial=1.0, backoff_max=8.0, rng=1)
    delays = [[backend._delay(attempt, None) for attempt in range(6)] for _ in range(200)]
    for attempt, ceiling in enumerate([1, 2, 4, 8, 8, 8]):
        column = [row[attempt] for row in delays]
        assert 0.5 * ceiling <= min(column) and max(column) < ceiling
        assert max(column) - min(column) > 0.3 * ceiling  # jitter spreads the waits
    assert backend._delay(0, 3.0) >= 3.0 and backend._delay(0, 500.0) <= 120 * 1.1


# -- pricing ---------------------------------------------------------------------------------
@pytest.fixture
def four_chars_per_token(monkeypatch):
    monkeypatch.setattr(pricing, "token_counter",
                        lambda model: (lambda text: -(-len(text) // 4), "~4 chars/token"))
    monkeypatch.delenv("SUBLIMINAL_STATS_PRICES", raising=False)


def test_chat_cost_by_hand(four_chars_per_token):
    # 40-character prompt: 10 tokens + 4 per message + 3 per request = 17 input tokens.
    req = ChatRequest.from_prompt("a", "x" * 40, model="gpt-4.1-nano", max_tokens=100)
    estimate = pricing.estimate_chat_cost([req] * 1000)
    assert (estimate.input_tokens, estimate.output_tokens) == (17_000, 100_000)
    assert estimate.usd == pytest.approx(17_000 * 0.10 / 1e6 + 100_000 * 0.40 / 1e6)
    batch = pricing.estimate_chat_cost([req] * 1000, batch=True)
    assert batch.usd == pytest.approx(estimate.usd / 2)
    dated = ChatRequest.from_prompt("a", "x" * 40, model="gpt-4.1-nano-2025-04-14",
                                    max_tokens=100)
    assert pricing.estimate_chat_cost([dated]).usd == pytest.approx(estimate.usd / 1000)
    tuned = ChatRequest.from_prompt("a", "x" * 40, model="ft:gpt-4.1-nano:org:owl:abc",
                                    max_tokens=100)
    assert pricing.estimate_chat_cost([tuned]).usd == pytest.approx(
        17 * 0.20 / 1e6 + 100 * 0.80 / 1e6)
    unknown = ChatRequest.from_prompt("a", "hi", model="llama-3", max_tokens=10)
    assert pricing.estimate_chat_cost([unknown]).usd is None


def test_fine_tune_cost_by_hand(four_chars_per_token, tmp_path):
    path = tmp_path / "t.jsonl"
    # Each example: 3 + (4 + 2) + (4 + 1) = 14 tokens ("abcdefgh" → 2, "abcd" → 1).
    path.write_text(('{"messages": [{"role": "user", "content": "abcdefgh"}, '
                     '{"role": "assistant", "content": "abcd"}]}\n') * 10)
    estimate = pricing.estimate_fine_tune_cost(FineTuneSpec(path, "gpt-4.1-nano", epochs=4))
    assert estimate.training_tokens == 14 * 10 * 4
    assert estimate.usd == pytest.approx(560 * 1.50 / 1e6)
    auto = pricing.estimate_fine_tune_cost(FineTuneSpec(path, "gpt-4.1-nano", epochs="auto"))
    assert auto.training_tokens == 14 * 10 * pricing.AUTO_EPOCHS_ASSUMED
    assert "epochs=auto: assumed 3" in auto.summary()


def test_price_file_overrides_the_table(four_chars_per_token, tmp_path, monkeypatch):
    prices = tmp_path / "prices.toml"
    prices.write_text('taken_on = "2030-01-01"\n[models."gpt-4.1-nano"]\n'
                      'input = 1.0\noutput = 2.0\n')
    req = ChatRequest.from_prompt("a", "x" * 40, model="gpt-4.1-nano", max_tokens=100)
    estimate = pricing.estimate_chat_cost([req], prices_file=prices)
    assert estimate.usd == pytest.approx((17 * 1.0 + 100 * 2.0) / 1e6)
    assert "prices of 2030-01-01" in estimate.summary()
    monkeypatch.setenv("SUBLIMINAL_STATS_PRICES", str(prices))
    assert pricing.estimate_chat_cost([req]).usd == pytest.approx(estimate.usd)
    prices.write_text('[models."gpt-4.1-nano"]\ninput = "cheap"\n')
    with pytest.raises(InputError, match="needs non-negative numbers"):
        pricing.load_prices(prices)
    with pytest.raises(InputError, match="does not exist"):
        pricing.load_prices(tmp_path / "missing.toml")


def test_confirmation_prompt(four_chars_per_token):
    req = ChatRequest.from_prompt("a", "hi", model="gpt-4.1-nano")
    estimate = pricing.estimate_chat_cost([req])
    pricing.confirm_spending(estimate, ask=lambda prompt: "y")
    with pytest.raises(InputError, match="cancelled at the cost confirmation"):
        pricing.confirm_spending(estimate, ask=lambda prompt: "")
    pricing.confirm_spending(estimate, confirm=True)


# -- malformed HTTP 200 answers (issue 14) -------------------------------------------------


@pytest.mark.parametrize("fault", ["null_choice", "no_message", "bad_usage"])
def test_malformed_success_is_retried_like_a_fault(api_key, server, fault):
    reqs = requests_for(4, prefix=fault)
    prompts = [r.messages[-1]["content"] for r in reqs]
    server.fail_item(prompts[1], fault, fault)
    results = make_backend(server).complete(reqs, progress=False)
    assert all(r.ok for r in results)
    assert [r.completion for r in results] == [expected_completion(p) for p in prompts]
    assert server.item_requests[prompts[1]] == 3  # two malformed answers, then a good one


def test_malformed_success_after_the_budget_is_a_failed_item_not_a_crash(api_key, server,
                                                                          tmp_path):
    from subliminal_stats.backends.store import CompletionStore, generate

    reqs = requests_for(3, prefix="junk")
    bad = reqs[0].messages[-1]["content"]
    server.fail_item(bad, *["null_choice"] * 4)
    results = make_backend(server, max_retries=3).complete(reqs, progress=False)
    assert results[0].error == "gave up after 4 attempts (malformed response ×4)"
    assert all(r.ok for r in results[1:])
    # Through the store: the good items are kept, the failure is reported, and a rerun
    # asks only for the failed item (which now answers).
    store = CompletionStore(tmp_path / "s.jsonl")
    server.fail_item(bad, *["bad_usage"] * 4)
    with pytest.raises(BackendError, match="1 of 3"):
        generate(reqs, make_backend(server, max_retries=3), store)
    assert store.done_ids() == {"junk-1", "junk-2"}
    before = dict(server.item_requests)
    generate(reqs, make_backend(server, max_retries=3), store)
    assert store.done_ids() == {"junk-0", "junk-1", "junk-2"}
    assert server.item_requests[bad] == before[bad] + 1
    assert server.item_requests[reqs[1].messages[-1]["content"]] == before[reqs[1].messages[-1]["content"]]
