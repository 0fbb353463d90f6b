"""Paths every test may need (a module of its own: ``conftest`` is ambiguous once subfolders have one).

``SHARED_DATA`` is the third-party data beside the checkout (``../shared/data``); CI lays a
copy there too. ``SUBLIMINAL_SHARED`` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CSV = REPO_ROOT / "data" / "examples" / "owl_example.csv"
SHARED_DATA = Path(os.environ.get("SUBLIMINAL_SHARED", REPO_ROOT.parent / "shared")) / "data"
