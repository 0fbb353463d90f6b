"""One normalisation of labels (trait, condition, seed, question, experiment, run) at read time.

Every reader (the in-memory :func:`~subliminal_stats.data.schema.read_responses` and the
streaming :func:`~subliminal_stats.data.reader.read_cells`) turns a key value into its label
with :func:`normalise_label`, applied to the *distinct* values of a column only (never row by
row), so the rule costs nothing on large tables:

* a label is a string, stripped of surrounding white space, in Unicode NFC (an ``é`` typed
  as one code point and as ``e`` + combining accent is one label);
* a whole number is written without a decimal part, whatever its type: ``0``, ``0.0``,
  ``"0"`` and ``"0.0"`` are one seed ``"0"`` (a CSV with an empty cell turns a column of
  integers into floats; a JSONL may mix ``0`` and ``"0"``). Other numbers keep Python's
  shortest form (``0.5``). Leading zeros are kept: ``"007"`` stays ``"007"`` (an identifier);
* an empty value (null, NaN, ``""`` or only spaces) is no label: the readers refuse it.

When two spellings that differ in the file become one label, the readers warn
(:class:`LabelMergeWarning`) naming the column, the spellings and the label they became.

Examples
--------
>>> [normalise_label(v) for v in (0, 0.0, "0", " 0.0 ", "007", 0.5, "owl ")]
['0', '0', '0', '0', '007', '0.5', 'owl']
>>> normalise_label("cafe\\u0301") == normalise_label("caf\\u00e9") == "caf\\u00e9"
True
>>> normalise_label(float("nan")) is None and normalise_label("  ") is None
True
"""

from __future__ import annotations

import math
import re
import unicodedata
import warnings
from collections.abc import Iterable

__all__ = ["LabelMergeWarning", "LabelRegistry", "normalise_label", "spelling"]

#: Spellings a registry keeps per label for the merge warning (enough to show the problem).
MAX_SPELLINGS = 8
_INTEGRAL = re.compile(r"[+-]?(?:0|[1-9][0-9]*)(?:\.0*)?")


class LabelMergeWarning(UserWarning):
    """Two spellings in the data became one label (e.g. seed ``0`` and ``"0.0"``)."""


def normalise_label(value: object) -> str | None:
    """The label of one key value (``None`` when the value is empty); see the module doc."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing values
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, bool):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None if math.isnan(value) else str(value)
        if value == int(value):
            return str(int(value))
        return repr(value)
    text = unicodedata.normalize("NFC", str(value).strip())
    if not text:
        return None
    if _INTEGRAL.fullmatch(text):
        return str(int(float(text))) if "." in text else str(int(text))
    return text


def spelling(value: object) -> str:
    """How a raw value is shown in a merge warning: ``0``, ``0.0``, ``'0'``."""
    if hasattr(value, "item") and not isinstance(value, str):
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    if isinstance(value, str) and not value.isascii():
        return ascii(value)  # NFC and NFD spellings print alike; their escapes do not
    return repr(value)


class LabelRegistry:
    """Labels of one key column, coded in order of first appearance, with merge bookkeeping.

    ``code(labels)`` gives each label an integer (new labels get the next code), so codes
    are stable across batches and files; ``labels`` lists them by code.
    """

    def __init__(self, column: str):
        self.column = column
        self.labels: list[str] = []
        self._codes: dict[str, int] = {}
        self._spellings: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self.labels)

    def code(self, label: str) -> int | None:
        """The code of a label already seen (None when new)."""
        return self._codes.get(label)

    def code_of(self, label: str) -> int:
        code = self._codes.get(label)
        if code is None:
            code = self._codes[label] = len(self.labels)
            self.labels.append(label)
        return code

    def absorb(self, other: LabelRegistry):
        """Register ``other``'s labels (in its order) and spellings; returns its codes here.

        The lookup table (numpy int32) maps a code of ``other`` to this registry's code: a
        file read on its own joins the table this way, first appearances kept in file order.
        """
        import numpy as np

        lut = np.array([self.code_of(label) for label in other.labels] or [0], dtype=np.int32)
        for label, spellings in other._spellings.items():
            seen = self._spellings.setdefault(label, set())
            for sp in sorted(spellings):
                if len(seen) >= MAX_SPELLINGS:
                    break
                seen.add(sp)
        return lut

    def note(self, raw: object, label: str) -> None:
        """Remember that ``raw`` was read as ``label`` (for the merge warning)."""
        seen = self._spellings.setdefault(label, set())
        if len(seen) < MAX_SPELLINGS:
            seen.add(spelling(raw))

    def merges(self) -> dict[str, list[str]]:
        """Labels written in more than one way: ``{label: [spellings]}``."""
        return {label: sorted(s) for label, s in self._spellings.items() if len(s) > 1}

    def warn_merges(self, source: str = "") -> list[str]:
        """Warn once for this column when spellings were merged; return the messages."""
        return warn_merges(self.column, self.merges(), source)


def warn_merges(column: str, merges: dict[str, Iterable[str]], source: str = "") -> list[str]:
    """Issue one :class:`LabelMergeWarning` for ``column`` naming what was merged."""
    if not merges:
        return []
    items = list(merges.items())
    shown = "; ".join(f"{', '.join(sp)} → {label!r}" for label, sp in items[:5])
    more = f" (and {len(items) - 5} more)" if len(items) > 5 else ""
    where = f"{source}: " if source else ""
    message = (f"{where}column '{column}': merged different spellings into one label: {shown}"
               f"{more} (labels are normalised to stripped strings in Unicode NFC, whole "
               "numbers without '.0'; "
               "relabel the data if these are different models or prompts)")
    warnings.warn(message, LabelMergeWarning, stacklevel=3)
    return [message]
