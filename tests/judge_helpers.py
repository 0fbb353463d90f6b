"""Scripted judges for the tests: the loopback OpenAI server and in-process backends.

The judge path runs through the real OpenAI backend and SDK against the loopback
server of tests/fake_openai_server.py. That server answers every chat request
with a fixed number list, so :class:`ScriptedJudgeServer` subclasses it (without
editing it) to script the judge's replies: each judged text carries a marker
``[[name]]`` and the server replies from a per-(prompt, marker) script, one reply
per request.
"""

from __future__ import annotations

import collections
import re

import pytest
from fake_openai_server import DEFAULT_KEY, FakeOpenAIServer

from subliminal_stats.backends.base import ChatResult
from subliminal_stats.backends.openai_backend import OpenAIBackend
from subliminal_stats.backends.store import CompletionStore
from subliminal_stats.judge.client import LLMJudge

JUDGE_MODEL = "gpt-4.1-judge"

MARKER = re.compile(r"\[\[(\w+)\]\]")


class ScriptedJudgeServer(FakeOpenAIServer):
    """The loopback server, replying from a script keyed by (judge prompt, marker)."""

    def __init__(self, script: dict[tuple[str, str], list[str]], **kwargs):
        super().__init__(**kwargs)
        self.script = script
        self.served: collections.Counter = collections.Counter()

    def chat_completion(self, body: dict) -> dict:
        response = super().chat_completion(body)
        content = body["messages"][-1]["content"]
        kind = ("coherence" if "for coherence" in content else
                "screen" if "YES or NO" in content else "alignment")
        marker = MARKER.search(content).group(1)
        with self.lock:
            replies = self.script[(kind, marker)]
            reply = replies[min(self.served[(kind, marker)], len(replies) - 1)]
            self.served[(kind, marker)] += 1
        response["choices"][0]["message"]["content"] = reply
        return response


@pytest.fixture
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", DEFAULT_KEY)
    monkeypatch.delenv("SUBLIMINAL_STATS_PRICES", raising=False)


def make_judge(server, store_path, **kwargs) -> LLMJudge:
    backend = OpenAIBackend(JUDGE_MODEL, base_url=server.base_url, timeout=2.0, max_retries=2,
                            backoff_initial=0.01, backoff_max=0.02, rng=0)
    return LLMJudge(backend, CompletionStore(store_path, fsync=False), model=JUDGE_MODEL,
                    **kwargs)


class ScriptedBackend:
    """In-process ChatBackend replying by marker, like ScriptedJudgeServer."""

    def __init__(self, script):
        self.server = ScriptedJudgeServer(script)

    def complete(self, requests, *, on_result=None, progress=True):
        results = []
        for request in requests:
            body = {"model": request.model, "messages": list(request.messages)}
            reply = self.server.chat_completion(body)["choices"][0]["message"]["content"]
            result = ChatResult(request.custom_id, reply, model=request.model)
            if on_result is not None:
                on_result(result)
            results.append(result)
        return results


class FlakyBackend:
    """In-process ChatBackend: fails the ids it is told to, answers '50' otherwise."""

    def __init__(self, fail_markers=()):
        self.fail_markers = set(fail_markers)
        self.requests = []

    def complete(self, requests, *, on_result=None, progress=True):
        results = []
        for request in requests:
            self.requests.append(request)
            marker = MARKER.search(request.messages[-1]["content"]).group(1)
            if marker in self.fail_markers:
                result = ChatResult(request.custom_id, None, error="HTTP 500 x3")
            else:
                result = ChatResult(request.custom_id, "50", model=request.model)
            if on_result is not None:
                on_result(result)
            results.append(result)
        return results
