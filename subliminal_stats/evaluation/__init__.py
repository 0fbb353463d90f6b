"""Evaluation: questions, sampling the students' answers, scoring them.

- :mod:`~subliminal_stats.evaluation.questions` — bundled and user question sets;
- :mod:`~subliminal_stats.evaluation.evaluate` — sampling requests and the responses table
  (answers scored by :mod:`subliminal_stats.words`);
- :mod:`~subliminal_stats.evaluation.probe` — probability probes from logits;
- :mod:`~subliminal_stats.evaluation.misalignment` — misalignment scores from an LLM judge.
"""
