"""A small OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks.

It implements the endpoints our OpenAI backend uses (chat completions, files,
batches, fine-tuning jobs) and injects faults on demand, so the backend is
tested through the real ``openai`` SDK and a real socket, never the internet.

Items are identified by the content of the last user message of a chat
request (tests give every item a distinct prompt). Faults are queued per item:
``server.fail_item("item-3", "429:1", "500")`` makes the first request for
``item-3`` get a 429 with ``Retry-After: 1``, the second a 500, and the third a
normal answer. Fault codes:

``"429"`` / ``"429:<seconds>"``  rate limited, optionally with Retry-After
``"500"`` / ``"503"``            server error
``"hang"``                       no answer until the server stops (client must time out)
``"malformed"``                  HTTP 200 with a body that is not JSON
``"notchat"``                    HTTP 200 with JSON that is not a chat completion
``"400"``                        bad request (not retryable)
``"batch_error"``                (Batch API only) the line goes to the error file

A batch whose input contains ``FAIL_BATCH`` fails as a whole, one with
``EXPIRE_BATCH`` expires with half of its lines answered; a fine-tuning
job whose training file contains ``FAIL_JOB`` (or whose suffix is ``"fail"``)
fails, and one with suffix ``"cancel"`` is cancelled.

Route faults (``fail_route("GET /v1/batches", "500")``) apply to any request
whose ``METHOD path`` starts with the given prefix.

Run ``python tests/fake_openai_server.py --latency 0.2`` to serve in the
foreground (used by ``benchmarks/bench_openai.py`` in a separate process).
"""

from __future__ import annotations

import argparse
import collections
import email.parser
import email.policy
import hashlib
import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DEFAULT_KEY = "sk-test-SECRET123"


def expected_completion(item: str) -> str:
    """The deterministic answer the server gives for an item (tests compare to it)."""
    digest = int(hashlib.sha256(item.encode()).hexdigest()[:8], 16)
    numbers = [(digest >> (3 * i)) % 900 + 100 for i in range(5)]
    return ", ".join(str(n) for n in numbers)


def _item_of(body: dict) -> str:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    content = users[-1]["content"] if users else ""
    return content if isinstance(content, str) else json.dumps(content)


class FakeOpenAIServer:
    """OpenAI-compatible server in a background thread; use as a context manager.

    Parameters
    ----------
    latency : float
        Seconds every chat completion waits before answering.
    api_key : str
        The key the server accepts (``Authorization: Bearer <key>``); others get 401.
    batch_polls : int
        Retrieves a batch takes to go from ``validating`` to ``completed``.
    job_polls : int
        Retrieves a fine-tuning job takes to reach its final status.
    """

    def __init__(self, *, latency: float = 0.0, api_key: str = DEFAULT_KEY,
                 batch_polls: int = 2, job_polls: int = 3, port: int = 0):
        self.latency = latency
        self.api_key = api_key
        self.batch_polls = batch_polls
        self.job_polls = job_polls
        self._port = port
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.item_faults: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self.route_faults: list[tuple[str, collections.deque]] = []
        self.item_requests: collections.Counter = collections.Counter()
        self.item_answers: collections.Counter = collections.Counter()
        self.route_requests: collections.Counter = collections.Counter()
        self.files: dict[str, dict] = {}
        self.batches: dict[str, dict] = {}
        self.jobs: dict[str, dict] = {}
        self.job_create_bodies: list[dict] = []
        self.chat_bodies: list[dict] = []
        self.auth_failures = 0
        self.in_flight = 0
        self.max_in_flight = 0
        # hold_after(n): answers beyond the n-th wait until release() (crash tests).
        self.answer_limit: int | None = None
        self.answers_granted = 0
        self.released = threading.Event()
        self._ids = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- configuration ------------------------------------------------------------
    def fail_item(self, item: str, *faults: str) -> None:
        """Queue faults for the next requests of ``item`` (then it answers normally)."""
        with self.lock:
            self.item_faults[item].extend(faults)

    def fail_route(self, prefix: str, *faults: str) -> None:
        """Queue faults for requests whose ``"METHOD /path"`` starts with ``prefix``."""
        with self.lock:
            self.route_faults.append((prefix, collections.deque(faults)))

    def hold_after(self, n: int) -> None:
        """Answer ``n`` more chat requests, then hold the rest until :meth:`release`."""
        with self.lock:
            self.answer_limit = self.answers_granted + n
            self.released.clear()

    def release(self) -> None:
        with self.lock:
            self.answer_limit = None
        self.released.set()

    # -- lifecycle ------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAIServer:
        server = self

        class Handler(_Handler):
            fake = server

        self._httpd = _Server(("127.0.0.1", self._port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.released.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers used by the handler ------------------------------------------------
    def new_id(self, prefix: str) -> str:
        with self.lock:
            self._ids += 1
            return f"{prefix}-{self._ids:06d}"

    def next_item_fault(self, item: str) -> str | None:
        with self.lock:
            self.item_requests[item] += 1
            queue = self.item_faults.get(item)
            return queue.popleft() if queue else None

    def next_route_fault(self, route: str) -> str | None:
        with self.lock:
            self.route_requests[route] += 1
            for prefix, queue in self.route_faults:
                if route.startswith(prefix) and queue:
                    return queue.popleft()
        return None

    # -- vLLM-style model listing (the plain fake serves any model name) ---------------
    def serves(self, model: str) -> bool:
        return True

    def model_listing(self) -> dict:
        return {"object": "list", "data": []}

    def load_lora_adapter(self, body: dict) -> tuple[int, object]:
        return 404, "no route POST /v1/load_lora_adapter"

    def chat_completion(self, body: dict) -> dict:
        item = _item_of(body)
        text = expected_completion(item)
        with self.lock:
            self.item_answers[item] += 1
        choice: dict = {"index": 0, "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop", "logprobs": None}
        if body.get("logprobs"):
            top_n = int(body.get("top_logprobs") or 1)
            first = text.split(",")[0]
            choice["logprobs"] = {"content": [{
                "token": first, "logprob": -0.1, "bytes": None,
                "top_logprobs": [{"token": str(int(first) + k), "logprob": -0.1 - k,
                                  "bytes": None} for k in range(top_n)],
            }], "refusal": None}
        prompt_tokens = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4
        return {"id": self.new_id("chatcmpl"), "object": "chat.completion",
                "created": int(time.time()), "model": body.get("model", ""),
                "choices": [choice],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text) // 4,
                          "total_tokens": prompt_tokens + len(text) // 4}}

    def advance_batch(self, batch: dict) -> None:
        batch["_polls"] += 1
        if batch["status"] in ("completed", "failed", "expired", "cancelled"):
            return
        if batch["_polls"] < self.batch_polls:
            batch["status"] = "in_progress"
            return
        self._finish_batch(batch)

    def _finish_batch(self, batch: dict) -> None:
        content = self.files[batch["input_file_id"]]["content"]
        if b"FAIL_BATCH" in content:
            batch["status"] = "failed"
            batch["errors"] = {"object": "list", "data": [{
                "code": "invalid_request", "message": "injected: the input file was rejected",
                "line": 1, "param": None}]}
            return
        lines = content.decode().splitlines()
        outputs, errors = [], []
        for line in lines:
            if not line.strip():
                continue
            req = json.loads(line)
            item = _item_of(req["body"])
            fault = self.next_item_fault(item)
            rid = self.new_id("batch_req")
            if fault == "batch_error":
                errors.append({"id": rid, "custom_id": req["custom_id"],
                               "response": {"status_code": 500, "request_id": rid, "body": {
                                   "error": {"message": "injected batch failure",
                                             "type": "server_error"}}},
                               "error": None})
            else:
                outputs.append({"id": rid, "custom_id": req["custom_id"],
                                "response": {"status_code": 200, "request_id": rid,
                                             "body": self.chat_completion(req["body"])},
                                "error": None})
        # Real batches return lines in any order: reverse them so mapping is by id.
        outputs.reverse()
        if b"EXPIRE_BATCH" in content:
            # An expired batch returns what it finished in 24 h: here, half of it.
            outputs = outputs[: len(outputs) // 2]
        batch["status"] = "expired" if b"EXPIRE_BATCH" in content else "completed"
        batch["completed_at"] = int(time.time())
        batch["request_counts"] = {"total": len(outputs) + len(errors),
                                   "completed": len(outputs), "failed": len(errors)}
        if outputs:
            batch["output_file_id"] = self.store_file(
                "\n".join(json.dumps(o) for o in outputs).encode() + b"\n", "batch_output")["id"]
        if errors:
            batch["error_file_id"] = self.store_file(
                "\n".join(json.dumps(e) for e in errors).encode() + b"\n", "batch_output")["id"]

    def store_file(self, content: bytes, purpose: str, filename: str = "file.jsonl") -> dict:
        file_id = self.new_id("file")
        record = {"id": file_id, "object": "file", "bytes": len(content),
                  "created_at": int(time.time()), "filename": filename, "purpose": purpose,
                  "status": "processed"}
        with self.lock:
            self.files[file_id] = {**record, "content": content}
        return record

    def advance_job(self, job: dict) -> None:
        job["_polls"] += 1
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return
        if job["_polls"] < self.job_polls:
            job["status"] = "queued" if job["_polls"] == 1 else "running"
            job["trained_tokens"] = None
            return
        content = self.files[job["training_file"]]["content"]
        if job.get("suffix") == "cancel":
            job["status"] = "cancelled"
        elif job.get("suffix") == "fail" or b"FAIL_JOB" in content:
            job["status"] = "failed"
            job["error"] = {"code": "invalid_training_file", "param": "training_file",
                            "message": "The job failed due to an invalid training file."}
        else:
            job["status"] = "succeeded"
            suffix = job.get("suffix") or "student"
            job["fine_tuned_model"] = f"ft:{job['model']}:fake-org:{suffix}:{job['id'][-6:]}"
            job["trained_tokens"] = len(content) // 4
        job["finished_at"] = int(time.time())


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 refuses connections when 32+ clients connect at once.
    request_queue_size = 256


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAIServer
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Without this, Nagle + delayed ACK add ~40 ms to every loopback answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    # -- plumbing ----------------------------------------------------------------------
    def _send(self, status: int, payload, headers: dict | None = None,
              raw: bytes | None = None) -> None:
        body = raw if raw is not None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            # Headers and body in one write (one TCP segment for small answers).
            self._headers_buffer.append(b"\r\n" + body)
            self.flush_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout); nothing to answer

    def _error(self, status: int, message: str, headers: dict | None = None) -> None:
        self._send(status, {"error": {"message": message, "type": "fake_error", "code": None}},
                   headers)

    def _apply_fault(self, fault: str | None) -> bool:
        """Answer with the fault; return True when the request has been handled."""
        if fault is None or fault == "ok" or fault == "batch_error":
            return False
        if fault.startswith("429"):
            _, _, after = fault.partition(":")
            self._error(429, "rate limited (injected)",
                        {"Retry-After": after} if after else None)
        elif fault in ("500", "502", "503"):
            self._error(int(fault), "server error (injected)")
        elif fault == "400":
            self._error(400, "bad request (injected)")
        elif fault == "hang":
            self.fake.stopping.wait(60)
            self.close_connection = True
        elif fault == "malformed":
            self._send(200, None, raw=b'{"id": "chatcmpl-broken", "choices": [ {"mess')
        elif fault == "notchat":
            self._send(200, {"object": "list", "data": []})
        elif fault == "null_choice":  # well-formed JSON, not a usable completion
            self._send(200, {"id": "chatcmpl-x", "object": "chat.completion", "choices": [None]})
        elif fault == "no_message":
            self._send(200, {"id": "chatcmpl-x", "object": "chat.completion",
                             "choices": [{"index": 0, "finish_reason": "stop"}]})
        elif fault == "bad_usage":
            self._send(200, {"id": "chatcmpl-x", "object": "chat.completion",
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": "1, 2"}}],
                             "usage": {"prompt_tokens": "many", "completion_tokens": [3]}})
        else:
            raise ValueError(f"unknown fault {fault!r}")
        return True

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.fake.api_key}":
            return True
        with self.fake.lock:
            self.fake.auth_failures += 1
        self._error(401, "Incorrect API key provided.")
        return False

    # -- routes ----------------------------------------------------------------------
    def do_POST(self):  # noqa: N802 - http.server naming
        raw = self._body()
        if not self._authorised():
            return
        path = self.path.split("?")[0]
        if self._apply_fault(self.fake.next_route_fault(f"POST {path}")):
            return
        if path == "/v1/load_lora_adapter":
            status, payload = self.fake.load_lora_adapter(json.loads(raw))
            return self._send(status, payload) if status == 200 else self._error(status, payload)
        if path == "/v1/chat/completions":
            body = json.loads(raw)
            with self.fake.lock:
                self.fake.chat_bodies.append(body)
            if not self.fake.serves(body.get("model", "")):
                return self._error(404, f"The model `{body.get('model')}` does not exist.")
            fault = self.fake.next_item_fault(_item_of(body))
            if self._apply_fault(fault):
                return
            with self.fake.lock:
                self.fake.in_flight += 1
                self.fake.max_in_flight = max(self.fake.max_in_flight, self.fake.in_flight)
            try:
                with self.fake.lock:
                    self.fake.answers_granted += 1
                    held = (self.fake.answer_limit is not None
                            and self.fake.answers_granted > self.fake.answer_limit)
                if held:
                    while not (self.fake.released.wait(0.05) or self.fake.stopping.is_set()):
                        pass
                if self.fake.latency:
                    time.sleep(self.fake.latency)
                answer = self.fake.chat_completion(body)
            finally:
                with self.fake.lock:
                    self.fake.in_flight -= 1
            self._send(200, answer)
        elif path == "/v1/files":
            fields, files = _parse_multipart(self.headers.get("Content-Type", ""), raw)
            if "file" not in files:
                return self._error(400, "missing file")
            name, content = files["file"]
            self._send(200, self.fake.store_file(content, fields.get("purpose", ""), name))
        elif path == "/v1/batches":
            body = json.loads(raw)
            if body.get("input_file_id") not in self.fake.files:
                return self._error(400, "unknown input_file_id")
            batch = {"id": self.fake.new_id("batch"), "object": "batch",
                     "endpoint": body["endpoint"], "input_file_id": body["input_file_id"],
                     "completion_window": body["completion_window"], "status": "validating",
                     "created_at": int(time.time()), "output_file_id": None,
                     "error_file_id": None, "errors": None, "_polls": 0,
                     "request_counts": {"total": 0, "completed": 0, "failed": 0}}
            with self.fake.lock:
                self.fake.batches[batch["id"]] = batch
            self._send(200, _public(batch))
        elif path == "/v1/fine_tuning/jobs":
            body = json.loads(raw)
            if body.get("training_file") not in self.fake.files:
                return self._error(400, "unknown training_file")
            with self.fake.lock:
                self.fake.job_create_bodies.append(body)
            hyper = (body.get("method", {}).get("supervised", {}).get("hyperparameters")
                     or body.get("hyperparameters") or {})
            job = {"id": self.fake.new_id("ftjob"), "object": "fine_tuning.job",
                   "created_at": int(time.time()), "model": body["model"],
                   "training_file": body["training_file"], "validation_file": None,
                   "hyperparameters": hyper, "seed": body.get("seed") or 0,
                   "suffix": body.get("suffix"), "status": "validating_files",
                   "organization_id": "fake-org", "result_files": [], "error": None,
                   # A creation response never names the final model on the real API;
                   # this decoy checks that the backend reads it from the finished job.
                   "fine_tuned_model": "ft:DECOY-from-create-response",
                   "finished_at": None, "trained_tokens": None, "_polls": 0}
            with self.fake.lock:
                self.fake.jobs[job["id"]] = job
            self._send(200, _public(job))
            job["fine_tuned_model"] = None
        else:
            self._error(404, f"no route POST {path}")

    def do_GET(self):  # noqa: N802 - http.server naming
        if not self._authorised():
            return
        path = self.path.split("?")[0]
        if self._apply_fault(self.fake.next_route_fault(f"GET {path}")):
            return
        if path == "/v1/models":
            return self._send(200, self.fake.model_listing())
        if m := re.fullmatch(r"/v1/files/([\w-]+)/content", path):
            record = self.fake.files.get(m.group(1))
            if record is None:
                return self._error(404, "no such file")
            self._send(200, None, raw=record["content"])
        elif m := re.fullmatch(r"/v1/batches/([\w-]+)", path):
            batch = self.fake.batches.get(m.group(1))
            if batch is None:
                return self._error(404, "no such batch")
            with self.fake.lock:
                self.fake.advance_batch(batch)
            self._send(200, _public(batch))
        elif m := re.fullmatch(r"/v1/fine_tuning/jobs/([\w-]+)", path):
            job = self.fake.jobs.get(m.group(1))
            if job is None:
                return self._error(404, "no such job")
            with self.fake.lock:
                self.fake.advance_job(job)
            self._send(200, _public(job))
        else:
            self._error(404, f"no route GET {path}")


class FakeVLLMServer(FakeOpenAIServer):
    """Mimics a ``vllm serve MODEL --enable-lora`` server: ``GET /v1/models`` lists the base
    model and the loaded adapters (``root`` = adapter path, ``parent`` = base), ``POST
    /v1/load_lora_adapter`` (runtime LoRA updating) adds one, and a chat request naming a model
    it does not serve is a 404, as in vLLM. ``adapter_loads`` counts load calls."""

    def __init__(self, served_model: str, **kwargs):
        super().__init__(**kwargs)
        self.served_model = served_model
        self.adapters: dict[str, str] = {}
        self.adapter_loads: list[dict] = []

    def serves(self, model: str) -> bool:
        with self.lock:
            return model == self.served_model or model in self.adapters

    def model_listing(self) -> dict:
        with self.lock:
            rows = [{"id": self.served_model, "object": "model", "owned_by": "vllm",
                     "root": self.served_model, "parent": None}]
            rows += [{"id": name, "object": "model", "owned_by": "vllm", "root": path,
                      "parent": self.served_model} for name, path in self.adapters.items()]
        return {"object": "list", "data": rows}

    def load_lora_adapter(self, body: dict) -> tuple[int, object]:
        name, path = body.get("lora_name"), body.get("lora_path")
        with self.lock:
            self.adapter_loads.append(dict(body))
            if not name or not path:
                return 400, "lora_name and lora_path are required"
            if name in self.adapters:
                return 400, f"The lora adapter '{name}' has already been loaded."
            if not Path(path, "adapter_config.json").is_file():
                return 400, f"No adapter found for {path}"
            self.adapters[name] = path
        return 200, f"Success: LoRA adapter '{name}' added successfully."


def _public(record: dict) -> dict:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def _parse_multipart(content_type: str, raw: bytes) -> tuple[dict, dict]:
    """Parse a multipart/form-data body into (text fields, {name: (filename, bytes)})."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields, files = {}, {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            files[name] = (filename, payload)
        else:
            fields[name] = payload.decode()
    return fields, files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = FakeOpenAIServer(latency=args.latency, port=args.port).start()
    print(server.base_url, flush=True)  # the parent reads the URL from the first line
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
