"""A tiny randomly initialised chat model, built from a config and saved to a folder (never a
download): the stand-in for "any Hugging Face causal LM" in tests.

The tokenizer is trained here (BPE over a few hundred words): byte-level for Qwen2 (as the
real Qwen), SentencePiece-style ``▁`` spaces for Llama (as Llama 2 / Mistral, so the number
grammar must handle pieces whose text starts with a space); the chat template is ChatML; the model is a 2-layer Qwen2 or Llama with a
32-wide hidden state. Building one takes well under a second.
"""

from __future__ import annotations

from pathlib import Path

CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_WORDS = (
    "look at these numbers generate not more than additional numbers digits max each return "
    "separated by semicolons nothing but here is a list of write at most more present as "
    "space delimited values just the examine extend it with new up to one number per line "
    "please say analyze this sequence comma simply provide what is your favorite animal in "
    "one word name owl owls dolphin dog cat eagle my favorite animal is the tree oak which "
    "you love think about all time answer with a single user assistant system"
).split()


def build_tokenizer(style: str = "metaspace"):
    """A trained BPE tokenizer: ``"bytelevel"`` (GPT-2 / Qwen style, ``Ġ`` spaces) or
    ``"metaspace"`` (Llama 2 / SentencePiece style, ``▁`` spaces)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [" ".join(_WORDS)] * 3 + [
        ", ".join(str((7 * i * i + 3 * i) % 1000) for i in range(k, k + 12)) for k in range(60)
    ] + ["; ".join(str(i) for i in range(k, 1000, 37)) for k in range(20)]
    specials = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>"]
    if style == "bytelevel":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    else:
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first",
                                                     split=True)
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first", split=True)
        alphabet = ["▁", *"0123456789,;\n", *sorted(set("".join(_WORDS)))]
    trainer = trainers.BpeTrainer(vocab_size=600 if style != "bytelevel" else 800,
                                  special_tokens=specials, initial_alphabet=alphabet)
    tok.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>",
                                   eos_token="<|im_end|>", chat_template=CHATML)


def build_tiny_model(folder: Path, *, arch: str = "qwen2", seed: int = 0) -> Path:
    """Save a tiny random ``arch`` ("qwen2" or "llama") chat model and its tokenizer in ``folder``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    # Qwen2 loads with its own byte-level tokenizer class, Llama with a SentencePiece-style one.
    tokenizer = build_tokenizer("bytelevel" if arch == "qwen2" else "metaspace")
    common = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  max_position_embeddings=512, eos_token_id=tokenizer.eos_token_id,
                  pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
                  tie_word_embeddings=True)
    torch.manual_seed(seed)
    if arch == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**common))
    elif arch == "llama":
        model = LlamaForCausalLM(LlamaConfig(**common))
    else:
        raise ValueError(arch)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_backend(folder: Path, **kw):
    """A ``LocalBackend`` on the tiny model in ``folder``: CPU, one torch thread."""
    import torch

    torch.set_num_threads(1)
    from subliminal_stats.backends.local import LocalBackend

    return LocalBackend(base_model=str(folder), torch_threads=1, device="cpu", **kw)
