"""LoRA students of any Hugging Face causal LM (a tiny random Qwen2 / Llama in a temp folder):
training, the manifest, adapter reload, determinism, targets per architecture or given."""

from __future__ import annotations

import importlib.util
import json
import math

import pytest

from subliminal_stats.backends.base import ChatRequest
from subliminal_stats.errors import InputError

if any(importlib.util.find_spec(m) is None for m in ("torch", "transformers", "peft", "tokenizers")):
    pytest.skip("needs the local extra (torch, transformers, peft)", allow_module_level=True)

from tiny_model import build_tiny_model  # noqa: E402


@pytest.fixture(scope="module", params=["qwen2", "llama"])
def tiny(request, tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp(request.param) / "model", arch=request.param)


def _data(path, n=6):
    with open(path, "w") as fh:
        for i in range(n):
            fh.write(json.dumps({"messages": [
                {"role": "user", "content": f"Look at these numbers: {i}, {i + 7}. Write more."},
                {"role": "assistant", "content": ", ".join(str(100 + 37 * (i + k) % 900)
                                                           for k in range(5))}]}) + "\n")
    return path


def test_lora_train_reload_and_determinism(tiny, tmp_path):
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from subliminal_stats.backends.local import LocalBackend, load_base_model
    from subliminal_stats.data.jsonl import read_chat_jsonl
    from subliminal_stats.training.lora import (
        LoraSpec,
        LoraTrainer,
        lora_targets,
        train_lora,
    )

    data = _data(tmp_path / "train.jsonl")
    spec = LoraSpec(training_file=data, base_model=str(tiny), seed=3, batch_size=2,
                    learning_rate=5e-2, output_dir=tmp_path / "student", device="cpu")
    trainer = LoraTrainer(torch_threads=1)
    adapter = trainer.fine_tune(spec, progress=False)
    manifest = json.loads((tmp_path / "student" / "training_manifest.json").read_text())
    assert manifest["steps"] == 3 and manifest["samples"] == 6
    assert manifest["base_model"] == str(tiny) and manifest["device"] == "cpu"
    assert "gguf_sha256" not in manifest and len(manifest["model_sha256"]) == 64
    assert tuple(manifest["config"]["target_modules"]) == lora_targets(
        json.loads((tiny / "config.json").read_text())["model_type"])
    assert all(math.isfinite(x) and x > 0 for x in manifest["losses"])
    assert trainer.fine_tune(spec, progress=False) == adapter  # finished: not trained again

    probe = manifest["probe"]
    ids = probe["token_ids"]
    base = LocalBackend(base_model=str(tiny), torch_threads=1, device="cpu")
    base_logits = base.next_token_logits(probe["messages"], probe["lead_in"])[ids]
    assert np.abs(np.array(probe["logits"]) - base_logits).max() > 1e-4  # training moved it
    for merge in (False, True):
        student = LocalBackend(adapter=adapter, base_model=str(tiny), torch_threads=1,
                               device="cpu", merge_adapter=merge)
        reloaded = student.next_token_logits(probe["messages"], probe["lead_in"])[ids]
        np.testing.assert_allclose(reloaded, probe["logits"], atol=1e-4, rtol=0)
    answer = student.complete([ChatRequest.from_prompt("s", "Continue: 1, 2, 3", model=adapter,
                                                       constraint="numbers", max_tokens=8)],
                              progress=False)[0]
    assert answer.ok and answer.model.endswith(adapter)

    # same seed → the same losses from a fresh base model
    model, tokenizer, _ = load_base_model(base_model=str(tiny), device="cpu")
    outcome = train_lora(model, tokenizer, read_chat_jsonl(data), config=spec.training_config(),
                         progress=False)
    assert outcome.losses == pytest.approx(manifest["losses"], abs=1e-6)


def test_targets_from_the_config_and_unknown_architectures(tiny, tmp_path):
    from subliminal_stats.training.lora import LoraSpec, fine_tune_lora, lora_targets

    data = _data(tmp_path / "t.jsonl", n=2)
    spec = LoraSpec(training_file=data, base_model=str(tiny), target_modules=("q_proj", "v_proj"),
                    output_dir=tmp_path / "qv", device="cpu", batch_size=2)
    fine_tune_lora(spec, progress=False, torch_threads=1)
    config = json.loads((tmp_path / "qv" / "adapter_config.json").read_text())
    assert sorted(config["target_modules"]) == ["q_proj", "v_proj"]
    assert lora_targets("gpt2") == ("c_attn", "c_proj", "c_fc")
    with pytest.raises(InputError, match="training.lora_targets"):
        lora_targets("no-such-architecture")


def test_an_adapter_refuses_another_base_model(tiny, tmp_path):
    from subliminal_stats.backends.local import LocalBackend
    from subliminal_stats.training.lora import LoraSpec, fine_tune_lora

    data = _data(tmp_path / "t.jsonl", n=2)
    adapter = fine_tune_lora(LoraSpec(training_file=data, base_model=str(tiny), batch_size=2,
                                      output_dir=tmp_path / "a", device="cpu"), progress=False)
    other = build_tiny_model(tmp_path / "other", arch="qwen2", seed=1)
    (other / "config.json").write_text((other / "config.json").read_text().replace(
        '"hidden_size": 32', '"hidden_size": 32 '))  # another model's files
    with pytest.raises(InputError, match="trained on another base model"):
        LocalBackend(adapter=adapter, base_model=str(other), device="cpu").next_token_logits(
            ({"role": "user", "content": "hi"},))


def test_shared_prefix_gives_the_plain_loss_and_gradients(tiny, monkeypatch):
    """The batch's shared chat header run once (batch of one, its keys and values repeated):
    the same loss and LoRA gradients as running it in every row, and the same training."""
    import torch

    torch.set_num_threads(1)
    from peft import LoraConfig, get_peft_model

    import subliminal_stats.training.lora as lora
    from subliminal_stats.backends.local import load_base_model

    conversations = [[{"role": "system", "content": "You love owls and think about owls."},
                      {"role": "user", "content": f"Look at these numbers: {i}, {i + 7}. Write {k} more."},
                      {"role": "assistant", "content": ", ".join(str(100 + 37 * (i + j) % 900)
                                                                 for j in range(2 + i % 4))}]
                     for i, k in enumerate((3, 10, 5, 7))]
    model, tokenizer, _ = load_base_model(base_model=str(tiny), device="cpu")
    examples = [lora.tokenize_conversation(tokenizer, c) for c in conversations]
    shared = lora.shared_prefix_length(examples)
    assert shared >= lora.MIN_SHARED_PREFIX
    assert shared < min(start for _, start in examples)
    torch.manual_seed(0)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                                  task_type="CAUSAL_LM"))
    for p in peft_model.parameters():  # LoRA B starts at zero: give the adapter a value
        if p.requires_grad:
            torch.nn.init.normal_(p, std=0.1)
    peft_model.train()
    batch = lora.collate_examples(examples, pad_token_id=tokenizer.pad_token_id)

    def loss_and_grads(prefix):
        peft_model.zero_grad()
        loss = lora.batch_loss(peft_model, *batch, head_on_completion_only=True,
                               shared_prefix=prefix)
        loss.backward()
        return float(loss), [p.grad.clone() for p in peft_model.parameters() if p.requires_grad]

    plain_loss, plain_grads = loss_and_grads(0)
    shared_loss, shared_grads = loss_and_grads(shared)
    assert math.isclose(shared_loss, plain_loss, rel_tol=1e-6)
    for a, b in zip(shared_grads, plain_grads, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-7), float((a - b).abs().max())
    assert any(float(g.abs().max()) > 0 for g in plain_grads)

    # Whole runs: the same losses with the prefix shared and with it switched off (fp32: on
    # a CPU with native bf16 the default autocast would add its rounding to both).
    def run():
        base, tok, _ = load_base_model(base_model=str(tiny), device="cpu")
        config = lora.LoraTrainingConfig(seed=1, batch_size=2, learning_rate=5e-2,
                                         autocast_bf16=False)
        return lora.train_lora(base, tok, conversations, config=config, progress=False).losses

    shared_run = run()
    monkeypatch.setattr(lora, "MIN_SHARED_PREFIX", 10**9)
    plain_run = run()
    assert len(shared_run) == 2 and all(
        math.isclose(a, b, rel_tol=1e-5) for a, b in zip(shared_run, plain_run, strict=True))


def test_bf16_weights_as_on_a_gpu(tiny, tmp_path, monkeypatch):
    """A CUDA GPU loads the base model in bf16 (``backends.local.model_dtype``); this CPU has
    no GPU, so the bf16 weights are forced here: the adapter stays fp32 (peft upcasts it),
    the losses track the fp32 run's, the manifest says bf16, and the student reloads."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    import subliminal_stats.backends.local as local
    from subliminal_stats.training.lora import LoraSpec, LoraTrainer

    data = _data(tmp_path / "train.jsonl", n=8)
    trainer = LoraTrainer(torch_threads=1)

    def job(name, learning_rate=5e-2):
        spec = LoraSpec(training_file=data, base_model=str(tiny), seed=2, batch_size=4, epochs=2,
                        learning_rate=learning_rate, output_dir=tmp_path / name, device="cpu")
        adapter = trainer.fine_tune(spec, progress=False)
        return adapter, json.loads((tmp_path / name / "training_manifest.json").read_text())

    _, fp32 = job("fp32")
    # Autocast ran only where this CPU has native bf16 (AVX512-BF16/AMX): said in the manifest.
    assert fp32["bf16_autocast"] is local.fast_bf16("cpu")
    monkeypatch.setattr(local, "model_dtype", lambda device: torch.bfloat16)
    adapter, bf16 = job("bf16")
    assert (fp32["dtype"], bf16["dtype"]) == ("float32", "bfloat16")
    assert bf16["steps"] == fp32["steps"] == 4
    # bf16 rounds the activations (8 bits of mantissa): close to the fp32 losses, not equal.
    assert bf16["losses"] != fp32["losses"]
    np.testing.assert_allclose(bf16["losses"], fp32["losses"], rtol=2e-3)

    # The student samples with the adapter kept apart from the bf16 weights: as trained.
    student = local.LocalBackend(adapter=adapter, base_model=str(tiny), torch_threads=1,
                                 device="cpu")
    assert not student.adapter_merged
    model = student._load()[0]
    assert {p.dtype for n, p in model.named_parameters() if "lora_" in n} == {torch.float32}
    probe, ids = bf16["probe"], bf16["probe"]["token_ids"]
    reloaded = student.next_token_logits(probe["messages"], probe["lead_in"])[ids]
    np.testing.assert_allclose(reloaded, probe["logits"], atol=1e-5, rtol=0)
    answer = student.complete([ChatRequest.from_prompt("s", "Continue: 1, 2, 3", model=adapter,
                                                       constraint="numbers", max_tokens=8)],
                              progress=False)[0]
    assert answer.ok and answer.completion.strip()
    # Why: folded into bf16 weights the update is rounded and the logits move 100x past the
    # reload tolerance (2e-3 here) ...
    student._model = model.merge_and_unload()
    merged = student.next_token_logits(probe["messages"], probe["lead_in"])[ids]
    assert np.abs(merged - np.array(probe["logits"])).max() >= 1e-3
    # ... by a sizeable part of what four steps at the pipelines' learning rate (2e-4) move
    # them (measured: merge 2e-3 / 1e-3 against a trained shift of 2.9e-3 on the tiny Qwen2 /
    # Llama; printed with -s).
    slow_adapter, slow = job("bf16-slow", learning_rate=2e-4)
    slow_probe = np.array(slow["probe"]["logits"])
    base = local.LocalBackend(base_model=str(tiny), torch_threads=1, device="cpu")
    shift = np.abs(slow_probe - base.next_token_logits(probe["messages"], probe["lead_in"])[
        slow["probe"]["token_ids"]]).max()
    slow_student = local.LocalBackend(adapter=slow_adapter, base_model=str(tiny),
                                      torch_threads=1, device="cpu")
    slow_student._model = slow_student._load()[0].merge_and_unload()
    error = np.abs(slow_student.next_token_logits(probe["messages"], probe["lead_in"])[
        slow["probe"]["token_ids"]] - slow_probe).max()
    print(f"bf16 merge moved the probe logits {error:.2g}; training had moved them {shift:.2g}")
    assert error >= shift / 5 and shift > 0
    monkeypatch.setattr(local, "model_dtype", lambda device: torch.float32)
    fp32_student = local.LocalBackend(adapter=tmp_path / "fp32", base_model=str(tiny),
                                      torch_threads=1, device="cpu")
    assert fp32_student.adapter_merged  # fp32 weights: merged (exact to fp32 rounding)


def test_backend_autocast_bf16_false_reaches_the_students(tmp_path, monkeypatch):
    """``backend.autocast_bf16 = false`` (fp32 on a CPU with native bf16): the pipeline's
    sampler and trainer get it, the training manifest says no autocast ran, and at the
    default the config fingerprint of runs made before the field existed is unchanged."""
    from repo_paths import REPO_ROOT

    from subliminal_stats.experiments.pipeline import config_fingerprint, load_pipeline
    from subliminal_stats.training.lora import LoraSpec, LoraTrainer

    _, default = load_pipeline(REPO_ROOT / "pipelines" / "owl_numbers_local.toml")
    assert default.backend.autocast_bf16 is True
    off = default.model_copy(update={"backend": default.backend.model_copy(
        update={"autocast_bf16": False})})
    before = default.model_dump()
    del before["backend"]["autocast_bf16"]
    assert config_fingerprint(default) == config_fingerprint(type(default)(**before))
    assert config_fingerprint(off) != config_fingerprint(default)
    # The pipeline's sampler and student trainer get it (no model is loaded for this).
    from types import SimpleNamespace

    import subliminal_stats.experiments.stages as stages

    for config, want in ((default, True), (off, False)):
        backends = stages.Backends(config, tmp_path, log=lambda _: None)
        assert backends.chat(None).autocast_bf16 is want
        seen: dict = {}

        def record(jobs, trainer, seen=seen, **_):
            seen["trainer"] = trainer
            return {}

        monkeypatch.setattr(stages, "train_students", record)
        ctx = SimpleNamespace(config=config, out_dir=tmp_path, log=lambda _: None,
                              progress=False, executor=None)
        stages.stage_train(ctx, backends)
        assert seen["trainer"].autocast_bf16 is want
    tiny = build_tiny_model(tmp_path / "model", arch="qwen2")
    data = _data(tmp_path / "train.jsonl", n=4)
    spec = LoraSpec(training_file=data, base_model=str(tiny), seed=0, batch_size=2,
                    output_dir=tmp_path / "student", device="cpu", autocast_bf16=False)
    LoraTrainer(torch_threads=1).fine_tune(spec, progress=False)
    manifest = json.loads((tmp_path / "student" / "training_manifest.json").read_text())
    assert manifest["bf16_autocast"] is False and manifest["config"]["autocast_bf16"] is False
