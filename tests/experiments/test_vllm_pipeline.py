"""``backend.kind = "vllm"``: a vLLM server the user started (a loopback fake that mimics
vLLM's model listing, runtime LoRA loading and 404 for unknown models), students trained
locally as LoRA adapters of the same model (a tiny random Qwen2) and asked by name."""

from __future__ import annotations

import hashlib
import importlib.util
import json

import pandas as pd
import pytest
from fake_openai_server import DEFAULT_KEY, FakeVLLMServer, _item_of

if any(importlib.util.find_spec(m) is None for m in ("torch", "transformers", "peft", "tokenizers")):
    pytest.skip("needs the local extra (torch, transformers, peft)", allow_module_level=True)

from tiny_model import build_tiny_model  # noqa: E402

SERVED = "tiny/qwen2-instruct"


class OwlAdapters(FakeVLLMServer):
    """Adapters whose name says owl answer "Owl" half the time, everyone else a tenth."""

    def chat_completion(self, body: dict) -> dict:
        response = super().chat_completion(body)
        item = _item_of(body)
        if "animal" in item.lower():
            model = body.get("model", "")
            rate = 0.5 if "-owl-seed" in model else 0.1
            u = int(hashlib.sha256(f"{model}|{item}|{body.get('seed')}".encode()).hexdigest()[:8],
                    16) / 2**32
            response["choices"][0]["message"]["content"] = "Owl" if u < rate else "Dolphin"
        return response


def _config(tmp_path, base_url, model_dir, *, served=SERVED):
    path = tmp_path / "vllm.toml"
    path.write_text(f"""
experiment = "numbers_transfer"
name = "vl"
seeds = 2
traits = ["owl"]

[backend]
kind = "vllm"
base_url = "{base_url}"
base_model = "{served}"
local_model = "{model_dir}"
device = "cpu"
concurrency = 4

[teacher_data]
n_prompts = 6
keep = 4

[training]
batch_size = 2

[evaluation]
n_questions = 4
samples_per_question = 5
probe = false
""")
    return path


def test_vllm_path_end_to_end_adapters_by_name(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", DEFAULT_KEY)
    model_dir = build_tiny_model(tmp_path / "local-copy", arch="qwen2")
    with OwlAdapters(SERVED) as server:
        config = _config(tmp_path, server.base_url, model_dir)
        r = cli("run", config, "-o", tmp_path / "run")  # no --yes: nothing is billed
        assert r.code == 0, r.err
        chats, loads = len(server.chat_bodies), list(server.adapter_loads)
        listing = server.model_listing()["data"]
        # rerun: every store is complete, nothing is asked or loaded again
        r2 = cli("run", config, "-o", tmp_path / "run")
        assert r2.code == 0, r2.err
        assert len(server.chat_bodies) == chats and len(server.adapter_loads) == len(loads)

    names = sorted(load["lora_name"] for load in loads)
    assert names == ["vl-control-seed0", "vl-control-seed1", "vl-owl-seed0", "vl-owl-seed1"]
    for load in loads:
        assert load["lora_path"] == str((tmp_path / "run" / "train" / load["lora_name"][3:]).resolve())
    assert {row["parent"] for row in listing if row["id"] != SERVED} == {SERVED}
    # teachers asked the served base model; students were asked by their adapter names
    models = [b["model"] for b in server.chat_bodies]
    assert models.count(SERVED) == 2 * 6 + 4 * 5
    assert sum(m == "vl-owl-seed0" for m in models) == 4 * 5
    assert all("max_tokens" in b and "max_completion_tokens" not in b for b in server.chat_bodies)
    table = pd.read_parquet(tmp_path / "run" / "responses.parquet")
    rates = table.groupby("condition")["hit"].mean()
    assert rates["treated"] > rates["control"]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["backend"]["kind"] == "vllm" and manifest["device"] == "cpu"
    trained = json.loads((tmp_path / "run" / "train" / "owl-seed0" / "training_manifest.json")
                         .read_text())
    assert trained["base_model"] == str(model_dir)


def test_a_server_not_serving_the_model_is_one_line_before_any_chat(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", DEFAULT_KEY)
    with FakeVLLMServer("some/other-model") as server:
        config = _config(tmp_path, server.base_url, tmp_path / "unused")
        r = cli("run", config, "-o", tmp_path / "run")
        assert r.code == 2
        assert f"does not serve '{SERVED}' (it serves some/other-model)" in r.err.strip().splitlines()[-1]
        assert server.chat_bodies == []


def test_vllm_config_needs_a_server(tmp_path, cli):
    path = tmp_path / "p.toml"
    path.write_text('experiment = "numbers_transfer"\n[backend]\nkind = "vllm"\n')
    r = cli("run", path, "--dry-run")
    assert r.code == 2 and "needs backend.base_url" in r.err
    path.write_text('experiment = "numbers_transfer"\n[backend]\nkind = "vllm"\n'
                    'base_url = "http://127.0.0.1:9/v1"\n')
    r = cli("run", path, "--dry-run")
    assert r.code == 0 and "backend: vllm" in r.out and "cost" not in r.out
