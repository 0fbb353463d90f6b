"""Cost estimates for OpenAI calls, shown before any money is spent.

The estimate is deliberately simple and errs on the high side:

* **Tokens.** With ``tiktoken`` installed, text is counted with the model's
  encoding (``o200k_base`` when the model is unknown to tiktoken); otherwise
  we assume about 4 characters per token, OpenAI's rule of thumb for English
  (numbers and code usually take *more* tokens per character, so treat the
  fallback as a rough figure). Each chat message adds 4 tokens of framing and
  each request 3 more, as in OpenAI's cookbook recipe for chat token counts.
* **Completions** are counted at their ceiling, ``max_tokens`` per request,
  because the real length is unknown before the call.
* **Fine-tuning** is billed per training token: tokens in the file × epochs.
  With ``epochs="auto"`` OpenAI chooses the epochs from the data size; we
  assume :data:`AUTO_EPOCHS_ASSUMED` and say so.

Prices are US dollars per million tokens as listed on OpenAI's pricing page
(https://openai.com/api/pricing) around :data:`PRICES_TAKEN_ON`; they were
entered by hand (the GPT-4.1 inference prices match listings seen in 2026,
the fine-tuning prices could not be re-checked when this was written). The
table is a convenience, not a source of truth. **Prices change: check them
and override them** with a TOML file passed as
``prices_file=`` or named by the ``SUBLIMINAL_STATS_PRICES`` environment
variable, in this shape::

    taken_on = "2026-01-31"
    [models."gpt-4.1-nano"]
    input = 0.10        # $ per 1M prompt tokens
    output = 0.40       # $ per 1M completion tokens
    training = 1.50     # $ per 1M training tokens (fine-tunable models only)

Fine-tuned models (``ft:<base>:...``) are priced from the
``"ft:<base>"`` entry when present, otherwise from the base model. The Batch
API costs :data:`BATCH_DISCOUNT` of the synchronous price.
"""

from __future__ import annotations

import math
import os
import sys
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from subliminal_stats.data.jsonl import iter_jsonl
from subliminal_stats.errors import InputError

#: The day the prices below were copied; update together with the table.
PRICES_TAKEN_ON = "2025-06-15"

#: $ per 1M tokens. ``input``/``output`` for chat, ``training`` for fine-tuning.
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-4.1": {"input": 2.00, "output": 8.00, "training": 25.00},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60, "training": 5.00},
    "gpt-4.1-nano": {"input": 0.10, "output": 0.40, "training": 1.50},
    "gpt-4o": {"input": 2.50, "output": 10.00, "training": 25.00},
    "gpt-4o-mini": {"input": 0.15, "output": 0.60, "training": 3.00},
    # Inference on fine-tuned models costs more than on the base model.
    "ft:gpt-4.1": {"input": 3.00, "output": 12.00},
    "ft:gpt-4.1-mini": {"input": 0.80, "output": 3.20},
    "ft:gpt-4.1-nano": {"input": 0.20, "output": 0.80},
    "ft:gpt-4o": {"input": 3.75, "output": 15.00},
    "ft:gpt-4o-mini": {"input": 0.30, "output": 1.20},
}

#: Batch API price as a fraction of the synchronous price.
BATCH_DISCOUNT = 0.5
#: Epochs assumed for ``epochs="auto"`` in a fine-tuning estimate.
AUTO_EPOCHS_ASSUMED = 3
#: Fallback characters per token when tiktoken is not installed.
CHARS_PER_TOKEN = 4.0
_TOKENS_PER_MESSAGE = 4
_TOKENS_PER_REQUEST = 3

PRICES_ENV = "SUBLIMINAL_STATS_PRICES"


@dataclass(frozen=True)
class CostEstimate:
    """An upper-end cost estimate for one piece of work.

    ``usd`` is ``None`` when no price is known for ``model`` (e.g. a local
    OpenAI-compatible server or a model missing from the table).
    """

    what: str
    model: str
    n_requests: int
    input_tokens: int
    output_tokens: int
    training_tokens: int
    usd: float | None
    token_method: str
    prices_taken_on: str
    note: str = ""

    def summary(self) -> str:
        """One line for the user, printed before spending."""
        tokens = []
        if self.input_tokens:
            tokens.append(f"~{self.input_tokens:,} input tokens")
        if self.output_tokens:
            tokens.append(f"≤{self.output_tokens:,} output tokens")
        if self.training_tokens:
            tokens.append(f"~{self.training_tokens:,} training tokens")
        cost = (f"≈ ${self.usd:,.4f}" if self.usd is not None
                else "cost unknown (no price for this model)")
        extra = f"; {self.note}" if self.note else ""
        return (f"{self.what} on {self.model}: {self.n_requests:,} request(s), "
                f"{', '.join(tokens) or 'no tokens'} {cost} "
                f"(tokens by {self.token_method}; prices of {self.prices_taken_on}, "
                f"check openai.com/api/pricing{extra})")


# -- price table ---------------------------------------------------------------------
def load_prices(prices_file: str | os.PathLike | None = None) -> tuple[dict, str]:
    """Return ``(prices, taken_on)``: the built-in table, or a user TOML file over it.

    Parameters
    ----------
    prices_file : path, optional
        TOML file in the shape shown in the module docstring. Defaults to the
        file named by ``SUBLIMINAL_STATS_PRICES``, else the built-in table.
    """
    path = prices_file or os.environ.get(PRICES_ENV)
    prices = {name: dict(row) for name, row in DEFAULT_PRICES.items()}
    if not path:
        return prices, PRICES_TAKEN_ON
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"price file {path} does not exist: fix the path or unset {PRICES_ENV}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"price file {path} is not valid TOML ({exc})") from None
    models = data.get("models")
    if not isinstance(models, dict):
        raise InputError(f"price file {path} has no [models.\"NAME\"] tables: see "
                         "subliminal_stats.backends.pricing for the format")
    for name, row in models.items():
        if not isinstance(row, dict) or not all(
                isinstance(v, int | float) and v >= 0 for v in row.values()):
            raise InputError(f"price file {path}: model {name!r} needs non-negative numbers "
                             "for input/output/training ($ per 1M tokens)")
        prices[name] = {k: float(v) for k, v in row.items()}
    return prices, str(data.get("taken_on", f"{path} (no taken_on date)"))


def price_for(model: str, prices: dict) -> dict | None:
    """Prices of ``model``; a fine-tuned ``ft:base:...`` falls back to ``ft:base`` then ``base``.

    Dated snapshots such as ``gpt-4.1-nano-2025-04-14`` match their family name.
    """
    if model.startswith("ft:"):
        base = _family(model.split(":")[1], prices)
        return prices.get(f"ft:{base}") or prices.get(base)
    return prices.get(model) or prices.get(_family(model, prices))


def _family(model: str, prices: dict) -> str:
    # "gpt-4.1-nano-2025-04-14" → "gpt-4.1-nano": the longest table name that prefixes it.
    matches = [name for name in prices if not name.startswith("ft:")
               and (model == name or model.startswith(name + "-2"))]
    return max(matches, key=len) if matches else model


# -- token counting ------------------------------------------------------------------
def token_counter(model: str) -> tuple[Callable[[str], int], str]:
    """Return ``(count, method)``: tiktoken's count when installed, else ~4 chars/token."""
    try:
        import tiktoken
    except ImportError:
        return (lambda text: math.ceil(len(text) / CHARS_PER_TOKEN)), "~4 chars/token"
    base = model.split(":")[1] if model.startswith("ft:") else model
    try:
        try:
            encoding = tiktoken.encoding_for_model(base)
        except KeyError:
            encoding = tiktoken.get_encoding("o200k_base")
    except Exception:  # noqa: BLE001 - tiktoken downloads its encoding files; offline that fails
        return (lambda text: math.ceil(len(text) / CHARS_PER_TOKEN)), \
            "~4 chars/token (tiktoken's encoding file is not available offline)"
    return (lambda text: len(encoding.encode(text, disallowed_special=()))), \
        f"tiktoken {encoding.name}"


def count_chat_tokens(messages: Iterable[dict], count: Callable[[str], int]) -> int:
    """Prompt tokens of one chat request (content plus per-message framing)."""
    total = _TOKENS_PER_REQUEST
    for message in messages:
        total += _TOKENS_PER_MESSAGE + count(str(message.get("content") or ""))
    return total


# -- estimates -----------------------------------------------------------------------
def estimate_chat_cost(requests, *, batch: bool = False, prices_file=None,
                       free: bool = False) -> CostEstimate:
    """Estimate the cost of chat requests (``ChatRequest`` objects).

    Parameters
    ----------
    requests : sequence of ChatRequest
    batch : bool
        Price at the Batch API discount.
    prices_file : path, optional
        Price table override (see :func:`load_prices`).
    free : bool
        The server does not bill (a local OpenAI-compatible server): cost 0.
    """
    requests = list(requests)
    model = requests[0].model if requests else ""
    models = {r.model for r in requests}
    count, method = token_counter(model)
    input_tokens = sum(count_chat_tokens(r.messages, count) for r in requests)
    output_tokens = sum(r.max_tokens for r in requests)
    what = "Batch API chat" if batch else "chat completions"
    if free:
        return CostEstimate(what, model, len(requests), input_tokens, output_tokens, 0, 0.0,
                            method, "-", note="custom base_url: assumed free")
    prices, taken_on = load_prices(prices_file)
    usd: float | None = 0.0
    for name in models:
        price = price_for(name, prices)
        if price is None or "input" not in price or "output" not in price:
            usd = None
            break
        mine = [r for r in requests if r.model == name]
        usd += (sum(count_chat_tokens(r.messages, count) for r in mine) * price["input"]
                + sum(r.max_tokens for r in mine) * price["output"]) / 1e6
    if usd is not None and batch:
        usd *= BATCH_DISCOUNT
    label = model if len(models) <= 1 else f"{len(models)} models"
    return CostEstimate(what, label, len(requests), input_tokens, output_tokens, 0, usd,
                        method, taken_on)


def estimate_fine_tune_cost(spec, *, prices_file=None, free: bool = False) -> CostEstimate:
    """Estimate the training cost of a :class:`FineTuneSpec` (tokens in file × epochs)."""
    count, method = token_counter(spec.base_model)
    file_tokens = 0
    n_examples = 0
    for line_no, _, example in iter_jsonl(spec.training_file,
                                          expect='a chat example {"messages": [...]}'):
        messages = example.get("messages")
        if not isinstance(messages, list):
            raise InputError(f"{spec.training_file} line {line_no}: not a chat example; "
                             'each line must be {"messages": [...]}')
        file_tokens += count_chat_tokens(messages, count)
        n_examples += 1
    epochs = AUTO_EPOCHS_ASSUMED if spec.epochs == "auto" else int(spec.epochs)
    note = f"{n_examples:,} examples × {epochs} epochs"
    if spec.epochs == "auto":
        note += " (epochs=auto: assumed 3)"
    training_tokens = file_tokens * epochs
    if free:
        return CostEstimate("fine-tuning", spec.base_model, 1, 0, 0, training_tokens, 0.0,
                            method, "-", note=note + "; custom base_url: assumed free")
    prices, taken_on = load_prices(prices_file)
    price = price_for(spec.base_model, prices)
    usd = (training_tokens * price["training"] / 1e6
           if price is not None and "training" in price else None)
    return CostEstimate("fine-tuning", spec.base_model, 1, 0, 0, training_tokens, usd,
                        method, taken_on, note=note)


def confirm_spending(estimate: CostEstimate, *, confirm: bool = False,
                     ask: Callable[[str], str] | None = None, stream=None) -> None:
    """Print the estimate, then go ahead only if the spending is confirmed.

    Parameters
    ----------
    estimate : CostEstimate
    confirm : bool
        Already confirmed (``--yes`` on the command line): print and go ahead.
    ask : callable, optional
        Prompt function for an interactive yes/no (default :func:`input` when
        stdin is a terminal). Without a terminal and without ``confirm`` the
        call stops with an :class:`InputError` rather than spend unasked.
    stream : file, optional
        Where to print (default stderr, so stdout stays machine-readable).

    Raises
    ------
    InputError
        The spending was not confirmed.
    """
    stream = stream or sys.stderr
    print(f"cost estimate: {estimate.summary()}", file=stream, flush=True)
    if confirm or estimate.usd == 0.0:
        return
    if ask is None and sys.stdin is not None and sys.stdin.isatty():
        ask = input
    if ask is None:
        raise InputError(f"{estimate.what} not started: confirm the estimated cost by passing "
                         "--yes (confirm=True in Python)")
    answer = ask("Proceed and spend this? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise InputError(f"{estimate.what} cancelled at the cost confirmation; nothing was spent")
