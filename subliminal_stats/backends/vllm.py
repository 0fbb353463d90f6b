"""A vLLM server the user started: sampling through its OpenAI-compatible API, LoRA students
served by name, no billing.

vLLM serves the OpenAI chat API, lists what it serves at ``GET /v1/models`` (the base model,
then every LoRA adapter with ``root`` = its folder and ``parent`` = the base), and with
``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`` loads an adapter at ``POST /v1/load_lora_adapter``
(``{"lora_name", "lora_path"}``). :class:`VLLMServer` uses exactly these: a student trained
locally (``subliminal_stats.training.lora``) is loaded under its name once, then asked by
that name like any model. This package never starts the server. Start it as::

    VLLM_ALLOW_RUNTIME_LORA_UPDATING=True vllm serve Qwen/Qwen2.5-7B-Instruct \\
        --enable-lora --max-lora-rank 8 --max-loras 8 --port 8000
    # students already trained by an earlier run can be served from the start:
    #   --lora-modules owl-seed0=runs/owl/train/owl-seed0 control-seed0=runs/owl/train/control-seed0

and set ``backend.kind = "vllm"``, ``backend.base_url = "http://localhost:8000/v1"``,
``backend.base_model = "Qwen/Qwen2.5-7B-Instruct"`` (the served name; also the local copy
LoRA students are trained from, from the Hugging Face cache).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from subliminal_stats.backends.openai_backend import API_KEY_ENV
from subliminal_stats.errors import BackendError, InputError

__all__ = ["VLLMServer"]


class VLLMServer:
    """The models a vLLM server serves, and loading LoRA adapters into it by name.

    Parameters
    ----------
    base_url : str
        The server's OpenAI base URL, e.g. ``http://localhost:8000/v1``.
    timeout : float
        Seconds allowed per call.
    """

    def __init__(self, base_url: str, *, timeout: float = 60.0):
        if not base_url:
            raise InputError("backend.kind = \"vllm\" needs backend.base_url, e.g. "
                             "\"http://localhost:8000/v1\" (start the server yourself)")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, route: str, body: dict | None = None) -> tuple[int, str]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(API_KEY_ENV, "").strip()
        if key:  # vllm serve --api-key ...
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(
            self.base_url + route, method=method, headers=headers,
            data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as exc:
            raise BackendError(f"vLLM server at {self.base_url} not reachable ({exc}); start "
                               "it first (see subliminal_stats.backends.vllm)") from None

    def models(self) -> dict[str, dict]:
        """``{model id: listing row}`` of everything the server serves (base and adapters)."""
        status, text = self._call("GET", "/models")
        try:
            rows = json.loads(text)["data"] if status == 200 else None
            listing = {str(row["id"]): row for row in rows}
        except (ValueError, KeyError, TypeError):
            listing = None
        if listing is None:
            raise BackendError(f"{self.base_url}/models answered HTTP {status}: not a vLLM / "
                               "OpenAI model listing")
        return listing

    def check_base(self, base_model: str) -> None:
        """Refuse a server that does not serve ``base_model`` (one line naming what it serves)."""
        served = self.models()
        if base_model not in served:
            raise InputError(f"the server at {self.base_url} does not serve {base_model!r} "
                             f"(it serves {', '.join(served) or 'nothing'}); set "
                             "backend.base_model to the served name")

    def ensure_adapter(self, name: str, path: str | Path) -> str:
        """Make the server serve the LoRA adapter in ``path`` as ``name`` (loaded at most once);
        return ``name``.

        Raises
        ------
        InputError
            The name is taken by another adapter, or the server cannot load adapters.
        """
        path = str(Path(path).resolve())
        served = self.models()
        if name in served:
            root = served[name].get("root")
            if root and Path(str(root)).resolve() != Path(path):
                raise InputError(f"the vLLM server already serves another adapter as {name!r} "
                                 f"({root}); restart it or use another run name")
            return name
        status, text = self._call("POST", "/load_lora_adapter",
                                  {"lora_name": name, "lora_path": path})
        if status != 200 and name not in self.models():
            raise InputError(f"the vLLM server did not load adapter {name!r} from {path} "
                             f"(HTTP {status}: {text.strip()[:200]}); start it with --enable-lora "
                             "and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True, or serve the adapter with "
                             f"--lora-modules {name}={path}")
        return name
