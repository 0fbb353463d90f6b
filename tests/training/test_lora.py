"""LoRA students (training.lora): typed specs, refusals before loading, training on SmolLM2.

Moved from tests/backends/test_local_backend.py with the code (issue 12); the assertions
are the same. The ``local``-marked test loads the real SmolLM2-135M-Instruct.
"""

from __future__ import annotations

import json
import math

import pytest
from smollm2_helpers import PROMPTS, WELL_FORMED, local

from subliminal_stats.backends.base import ChatRequest, FineTuneSpec
from subliminal_stats.errors import InputError


def _write_chat_jsonl(path, n=4):
    with open(path, "w") as handle:
        for i in range(n):
            numbers = ", ".join(str(100 + 37 * (i + k) % 900) for k in range(6))
            handle.write(json.dumps({"messages": [
                {"role": "user", "content": PROMPTS[i % len(PROMPTS)]},
                {"role": "assistant", "content": numbers},
            ]}) + "\n")


@local
def test_fine_tune_refuses_bad_specs_before_loading_the_model(tmp_path, monkeypatch):
    from subliminal_stats.training import lora
    from subliminal_stats.training.lora import LoraSpec, LoraTrainer

    loaded = []
    monkeypatch.setattr(lora, "load_base_model", lambda **kw: loaded.append(kw))
    data = tmp_path / "train.jsonl"
    _write_chat_jsonl(data)
    trainer = LoraTrainer(torch_threads=1)
    with pytest.raises(InputError, match="unknown local fine-tuning option"):
        trainer.fine_tune(LoraSpec.make(training_file=data, base_model="smollm2",
                                        learnin_rate=1e-3), progress=False)
    with pytest.raises(InputError, match="learning_rate"):
        LoraSpec.make(training_file=data, learning_rate=-1.0)
    # (was "fine-tunes SmolLM2 only": any local Hugging Face model is now accepted, issue 18)
    with pytest.raises(InputError, match="gpt-4.1-nano.*neither a model folder nor in the local"):
        trainer.fine_tune(FineTuneSpec(training_file=data, base_model="gpt-4.1-nano"),
                          progress=False)
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not an adapter written by fine_tune"):
        trainer.fine_tune(LoraSpec(training_file=data, base_model="smollm2",
                                   output_dir=occupied), progress=False)
    assert (occupied / "notes.txt").read_text() == "mine"
    assert loaded == []  # all refused before any model was loaded


@pytest.fixture(scope="module")
def backend():
    import torch

    torch.set_num_threads(1)
    from subliminal_stats.backends.local import LocalBackend

    return LocalBackend(torch_threads=1, batch_size=4)


@local
@pytest.mark.local
def test_lora_steps_save_reload_and_determinism(backend, tmp_path):
    import numpy as np
    import torch

    from subliminal_stats.backends.local import LocalBackend, load_base_model
    from subliminal_stats.data.jsonl import read_chat_jsonl
    from subliminal_stats.training.lora import LoraSpec, LoraTrainer, LoraTrainingConfig, train_lora

    data = tmp_path / "train.jsonl"
    _write_chat_jsonl(data)
    spec = LoraSpec(training_file=data, base_model="smollm2", seed=7, epochs=1, batch_size=2,
                    learning_rate=5e-3, output_dir=tmp_path / "student")
    trainer = LoraTrainer(torch_threads=1)
    adapter = trainer.fine_tune(spec, progress=False)
    manifest = json.loads((tmp_path / "student" / "training_manifest.json").read_text())
    assert manifest["steps"] == 2 and manifest["samples"] == 4
    assert all(math.isfinite(x) and x > 0 for x in manifest["losses"])
    # Rerunning the same job returns the finished adapter without training again.
    assert trainer.fine_tune(spec, progress=False) == adapter

    probe = manifest["probe"]
    ids = probe["token_ids"]
    trained = np.array(probe["logits"])
    base_logits = backend.next_token_logits(probe["messages"], probe["lead_in"])[ids]
    assert np.abs(trained - base_logits).max() > 1e-3  # the two steps changed the model
    for merge in (False, True):
        student = LocalBackend(adapter=adapter, torch_threads=1, merge_adapter=merge)
        reloaded = student.next_token_logits(probe["messages"], probe["lead_in"])[ids]
        np.testing.assert_allclose(reloaded, trained, atol=1e-4, rtol=0)
    # The student answers under its own name and still follows the number grammar.
    answer = student.complete([ChatRequest.from_prompt("s0", PROMPTS[0], model=adapter,
                                                       constraint="numbers", max_tokens=8)],
                              progress=False)[0]
    assert answer.model.endswith(adapter) and WELL_FORMED.match(answer.completion)

    # Same seed → bit-identical LoRA weights (one more short run on a fresh base model).
    conversations = read_chat_jsonl(data)
    config = LoraTrainingConfig(seed=7, batch_size=2, learning_rate=5e-3)
    model, tokenizer, _ = load_base_model()
    outcome = train_lora(model, tokenizer, conversations, config=config, progress=False)
    assert outcome.losses == pytest.approx(manifest["losses"], abs=1e-6)
    # The optimised loss (LM head on completion positions only) is the plain loss, in fp32.
    from subliminal_stats.training.lora import batch_loss, collate_examples, tokenize_conversation

    batch = collate_examples([tokenize_conversation(tokenizer, c) for c in conversations[:2]],
                             pad_token_id=tokenizer.eos_token_id)
    with torch.no_grad():
        plain, fast = (float(batch_loss(outcome.model, *batch, head_on_completion_only=flag))
                       for flag in (False, True))
    assert math.isclose(plain, fast, rel_tol=1e-5) and plain > 0
    from safetensors.torch import load_file

    saved = load_file(str(tmp_path / "student" / "adapter_model.safetensors"))
    current = {k: v for k, v in outcome.model.state_dict().items() if "lora_" in k}
    assert len(saved) == len(current) > 0
    for key, value in saved.items():
        match = [v for k, v in current.items() if k.replace(".default", "") == key]
        assert len(match) == 1 and torch.equal(match[0], value), key
