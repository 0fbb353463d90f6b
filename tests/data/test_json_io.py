"""One JSON writer for manifests, markers and `test --json`: strict, atomic, NaN as null."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from subliminal_stats.data.jsonl import json_safe, write_json


def test_write_json_is_strict_json_with_nan_as_null(tmp_path):
    data = {"p_value": float("nan"), "ci_high_pp": math.inf, "n": np.int64(3),
            "rates": np.array([0.25, 0.5]), "out": Path("/x/y"), "nested": [{"d": -math.inf}]}
    path = write_json(tmp_path / "sub" / "manifest.json", data)
    text = path.read_text()
    loaded = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON: {c}"))
    assert loaded == {"p_value": None, "ci_high_pp": None, "n": 3, "rates": [0.25, 0.5],
                      "out": "/x/y", "nested": [{"d": None}]}
    assert text.endswith("}\n") and list(tmp_path.joinpath("sub").iterdir()) == [path]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not private like a mkstemp file


def test_write_json_leaves_the_old_file_when_writing_fails(tmp_path):
    path = write_json(tmp_path / "m.json", {"ok": 1})

    class Unwritable:
        def __str__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_json(path, {"bad": Unwritable()})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no temporary file left


def test_json_safe_keeps_ordinary_values():
    assert json_safe({"a": [1, "x", None, True, 0.5]}) == {"a": [1, "x", None, True, 0.5]}
