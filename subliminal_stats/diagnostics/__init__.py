"""Teacher-data diagnostics: is a trait's signal in the number sequences before training?

- :func:`read_teacher_outputs` — teacher outputs in this package's store format, the
  authors' ``{prompt, completion}``, ``{question, response}`` and chat training files;
- :func:`compare` — number- and digit-frequency permutation tests (max-T adjusted), a
  held-out classifier detector with AUROC against bag size K and a format-only baseline,
  and a verdict;
- :func:`split_half_null` — the calibration check on halves of one teacher;
- :mod:`~subliminal_stats.diagnostics.entanglement` — which numbers raise P(trait word)
  in a local base model, and whether the treated teacher over-represents them;
- :mod:`~subliminal_stats.diagnostics.presentation` — Markdown tables and the AUROC figure.
"""

from subliminal_stats.diagnostics.diagnose import (
    DISTINGUISHABLE,
    NO_EVIDENCE,
    NullCheck,
    PairDiagnosis,
    compare,
    pairs_of,
    split_half_null,
)
from subliminal_stats.diagnostics.teacher_data import TeacherData, combine, read_teacher_outputs

__all__ = ["DISTINGUISHABLE", "NO_EVIDENCE", "NullCheck", "PairDiagnosis", "TeacherData", "combine",
           "compare", "pairs_of", "read_teacher_outputs", "split_half_null"]
