"""Per-cell counts as input — moved to :mod:`subliminal_stats.data.counts` (data is below
stats; the file readers use them). This name keeps working for code that imports it."""

from __future__ import annotations

from subliminal_stats.data.counts import counts_to_cells, rates_to_cells

__all__ = ["counts_to_cells", "rates_to_cells"]
