"""Every calibration table of the package, in one place (generated; do not edit by hand).

* :data:`TABLE` — standard scenario of docs/STATISTICS.md (logit intercept -2, seed SD 0.4,
  question SD 0.8 crossed, 50 questions x 20 answers), null true, alpha = 0.05, two-sided;
  4000 simulations (1000 for the bootstrap, 999 resamples each), rng=20261127.
  Key: (method, comparison, seeds per arm) -> (false-positive rate, 95 % CI coverage, n sims).
  Regenerate: ``python -m subliminal_stats.stats.calibration --write-standard-table``.
* :data:`MIXED_FPR` — the mixed models' null false-positive rates on :data:`MIXED_DESIGN`.
* :data:`GRID` — every fast method over the scenario grid (issue 13), see
  :mod:`subliminal_stats.stats.grid`; regenerate with ``subliminal-stats calibrate --write-table``.
"""

TABLE = {
    ('pooled-t', 'vs control', 2): (0.0473, 0.9527, 4000),
    ('welch', 'vs control', 2): (0.0248, 0.9752, 4000),
    ('permutation', 'vs control', 2): (0.0000, float('nan'), 4000),
    ('cluster-t', 'vs control', 2): (0.0473, 0.9527, 4000),
    ('naive-cluster-z', 'vs control', 2): (0.1777, 0.8223, 4000),
    ('naive-pooled-z', 'vs control', 2): (0.6438, float('nan'), 4000),
    ('bootstrap-percentile', 'vs control', 2): (0.1910, 0.8060, 1000),
    ('bootstrap-bca', 'vs control', 2): (0.1910, 0.8060, 1000),
    ('t-vs-single-model', 'vs base', 2): (0.0953, 0.9048, 4000),
    ('naive-pooled-z', 'vs base', 2): (0.4480, float('nan'), 4000),
    ('bootstrap-percentile', 'vs base', 2): (0.1370, 0.8600, 1000),
    ('bootstrap-bca', 'vs base', 2): (0.1370, 0.8540, 1000),
    ('pooled-t', 'vs control', 3): (0.0495, 0.9505, 4000),
    ('welch', 'vs control', 3): (0.0338, 0.9663, 4000),
    ('permutation', 'vs control', 3): (0.0000, float('nan'), 4000),
    ('cluster-t', 'vs control', 3): (0.0495, 0.9505, 4000),
    ('naive-cluster-z', 'vs control', 3): (0.1197, 0.8802, 4000),
    ('naive-pooled-z', 'vs control', 3): (0.6342, float('nan'), 4000),
    ('bootstrap-percentile', 'vs control', 3): (0.1260, 0.8710, 1000),
    ('bootstrap-bca', 'vs control', 3): (0.1260, 0.8680, 1000),
    ('t-vs-single-model', 'vs base', 3): (0.0515, 0.9485, 4000),
    ('naive-pooled-z', 'vs base', 3): (0.3912, float('nan'), 4000),
    ('bootstrap-percentile', 'vs base', 3): (0.0690, 0.9240, 1000),
    ('bootstrap-bca', 'vs base', 3): (0.0690, 0.9140, 1000),
    ('pooled-t', 'vs control', 4): (0.0478, 0.9523, 4000),
    ('welch', 'vs control', 4): (0.0377, 0.9623, 4000),
    ('permutation', 'vs control', 4): (0.0275, float('nan'), 4000),
    ('cluster-t', 'vs control', 4): (0.0478, 0.9523, 4000),
    ('naive-cluster-z', 'vs control', 4): (0.0983, 0.9018, 4000),
    ('naive-pooled-z', 'vs control', 4): (0.6412, float('nan'), 4000),
    ('bootstrap-percentile', 'vs control', 4): (0.0910, 0.9040, 1000),
    ('bootstrap-bca', 'vs control', 4): (0.0910, 0.9070, 1000),
    ('t-vs-single-model', 'vs base', 4): (0.0420, 0.9580, 4000),
    ('naive-pooled-z', 'vs base', 4): (0.3498, float('nan'), 4000),
    ('bootstrap-percentile', 'vs base', 4): (0.0510, 0.9480, 1000),
    ('bootstrap-bca', 'vs base', 4): (0.0510, 0.9460, 1000),
    ('pooled-t', 'vs control', 5): (0.0408, 0.9593, 4000),
    ('welch', 'vs control', 5): (0.0357, 0.9643, 4000),
    ('permutation', 'vs control', 5): (0.0385, float('nan'), 4000),
    ('cluster-t', 'vs control', 5): (0.0408, 0.9593, 4000),
    ('naive-cluster-z', 'vs control', 5): (0.0690, 0.9310, 4000),
    ('naive-pooled-z', 'vs control', 5): (0.6235, float('nan'), 4000),
    ('bootstrap-percentile', 'vs control', 5): (0.0600, 0.9380, 1000),
    ('bootstrap-bca', 'vs control', 5): (0.0600, 0.9270, 1000),
    ('t-vs-single-model', 'vs base', 5): (0.0288, 0.9712, 4000),
    ('naive-pooled-z', 'vs base', 5): (0.3048, float('nan'), 4000),
    ('bootstrap-percentile', 'vs base', 5): (0.0390, 0.9590, 1000),
    ('bootstrap-bca', 'vs base', 5): (0.0390, 0.9550, 1000),
    ('pooled-t', 'vs control', 6): (0.0460, 0.9540, 4000),
    ('welch', 'vs control', 6): (0.0405, 0.9595, 4000),
    ('permutation', 'vs control', 6): (0.0455, float('nan'), 4000),
    ('cluster-t', 'vs control', 6): (0.0460, 0.9540, 4000),
    ('naive-cluster-z', 'vs control', 6): (0.0777, 0.9223, 4000),
    ('naive-pooled-z', 'vs control', 6): (0.6438, float('nan'), 4000),
    ('bootstrap-percentile', 'vs control', 6): (0.0660, 0.9290, 1000),
    ('bootstrap-bca', 'vs control', 6): (0.0660, 0.9240, 1000),
    ('t-vs-single-model', 'vs base', 6): (0.0227, 0.9772, 4000),
    ('naive-pooled-z', 'vs base', 6): (0.2815, float('nan'), 4000),
    ('bootstrap-percentile', 'vs base', 6): (0.0280, 0.9670, 1000),
    ('bootstrap-bca', 'vs base', 6): (0.0280, 0.9620, 1000),
    ('pooled-t', 'vs control', 8): (0.0508, 0.9493, 4000),
    ('welch', 'vs control', 8): (0.0475, 0.9525, 4000),
    ('permutation', 'vs control', 8): (0.0490, float('nan'), 4000),
    ('cluster-t', 'vs control', 8): (0.0508, 0.9493, 4000),
    ('naive-cluster-z', 'vs control', 8): (0.0715, 0.9285, 4000),
    ('naive-pooled-z', 'vs control', 8): (0.6587, float('nan'), 4000),
    ('bootstrap-percentile', 'vs control', 8): (0.0620, 0.9350, 1000),
    ('bootstrap-bca', 'vs control', 8): (0.0620, 0.9260, 1000),
    ('t-vs-single-model', 'vs base', 8): (0.0190, 0.9810, 4000),
    ('naive-pooled-z', 'vs base', 8): (0.2420, float('nan'), 4000),
    ('bootstrap-percentile', 'vs base', 8): (0.0190, 0.9790, 1000),
    ('bootstrap-bca', 'vs base', 8): (0.0190, 0.9750, 1000),
    ('pooled-t', 'vs control', 10): (0.0532, 0.9467, 4000),
    ('welch', 'vs control', 10): (0.0512, 0.9487, 4000),
    ('permutation', 'vs control', 10): (0.0540, float('nan'), 4000),
    ('cluster-t', 'vs control', 10): (0.0532, 0.9467, 4000),
    ('naive-cluster-z', 'vs control', 10): (0.0715, 0.9285, 4000),
    ('naive-pooled-z', 'vs control', 10): (0.6538, float('nan'), 4000),
    ('bootstrap-percentile', 'vs control', 10): (0.0540, 0.9420, 1000),
    ('bootstrap-bca', 'vs control', 10): (0.0540, 0.9370, 1000),
    ('t-vs-single-model', 'vs base', 10): (0.0150, 0.9850, 4000),
    ('naive-pooled-z', 'vs base', 10): (0.2040, float('nan'), 4000),
    ('bootstrap-percentile', 'vs base', 10): (0.0140, 0.9850, 1000),
    ('bootstrap-bca', 'vs base', 10): (0.0140, 0.9840, 1000),
    ('pooled-t', 'vs control', 15): (0.0508, 0.9493, 4000),
    ('welch', 'vs control', 15): (0.0500, 0.9500, 4000),
    ('permutation', 'vs control', 15): (0.0512, float('nan'), 4000),
    ('cluster-t', 'vs control', 15): (0.0508, 0.9493, 4000),
    ('naive-cluster-z', 'vs control', 15): (0.0640, 0.9360, 4000),
    ('naive-pooled-z', 'vs control', 15): (0.6480, float('nan'), 4000),
    ('bootstrap-percentile', 'vs control', 15): (0.0570, 0.9380, 1000),
    ('bootstrap-bca', 'vs control', 15): (0.0570, 0.9340, 1000),
    ('t-vs-single-model', 'vs base', 15): (0.0092, 0.9908, 4000),
    ('naive-pooled-z', 'vs base', 15): (0.1690, float('nan'), 4000),
    ('bootstrap-percentile', 'vs base', 15): (0.0130, 0.9840, 1000),
    ('bootstrap-bca', 'vs base', 15): (0.0130, 0.9870, 1000),
    ('pooled-t', 'vs control', 20): (0.0522, 0.9477, 4000),
    ('welch', 'vs control', 20): (0.0517, 0.9483, 4000),
    ('permutation', 'vs control', 20): (0.0527, float('nan'), 4000),
    ('cluster-t', 'vs control', 20): (0.0522, 0.9477, 4000),
    ('naive-cluster-z', 'vs control', 20): (0.0597, 0.9403, 4000),
    ('naive-pooled-z', 'vs control', 20): (0.6478, float('nan'), 4000),
    ('bootstrap-percentile', 'vs control', 20): (0.0500, 0.9470, 1000),
    ('bootstrap-bca', 'vs control', 20): (0.0500, 0.9480, 1000),
    ('t-vs-single-model', 'vs base', 20): (0.0088, 0.9912, 4000),
    ('naive-pooled-z', 'vs base', 20): (0.1288, float('nan'), 4000),
    ('bootstrap-percentile', 'vs base', 20): (0.0120, 0.9880, 1000),
    ('bootstrap-bca', 'vs base', 20): (0.0120, 0.9860, 1000),
}

#: Design of the calibration simulation behind :data:`MIXED_FPR` (the design of
#: docs/STATISTICS.md, 50 questions).
MIXED_DESIGN = {
    "intercept": -2.0,
    "seed_sd": 0.4,
    "question_sd": 0.8,
    "n_questions": 50,
    "answers_per_question": 20,
}

#: False-positive rates of the mixed models at nominal alpha = 0.05 under the null (no effect),
#: measured on :data:`MIXED_DESIGN` (Monte Carlo SE about 0.7 points at 1,000 sims) by the
#: former simulator of stats/mixed.py (v0.1; same model, another random stream).
#: Key: (method, seeds per arm) -> (two-sided FPR, one-sided "greater" FPR, n sims).
#: Re-measure with (about 40 min on one idle core per design):
#:   python -m subliminal_stats.stats.calibration --mixed --sims 1000 --seeds-per-arm 3 5 10
#: The " z" rows are the asymptotic-z variant of the same fit, and "gee-robust z" the
#: plain sandwich with z: kept to show why the package does not use them.
#: These are 1,000 nulls in ONE scenario, not over the grid: no mixed model is called
#: calibrated on them.
MIXED_FPR = {
    ("lmm", 3): (0.048, 0.060, 1000),
    ("lmm z", 3): (0.130, 0.090, 1000),
    ("glmm-map", 3): (0.081, 0.083, 1000),
    ("glmm-map z", 3): (0.189, 0.120, 1000),
    ("gee-bias-reduced", 3): (0.025, 0.036, 1000),
    ("gee-bias-reduced z", 3): (0.082, 0.076, 1000),
    ("gee-robust z", 3): (0.215, 0.130, 1000),
    ("lmm", 5): (0.047, 0.047, 1000),
    ("lmm z", 5): (0.084, 0.066, 1000),
    ("glmm-map", 5): (0.075, 0.068, 1000),
    ("glmm-map z", 5): (0.117, 0.084, 1000),
    ("gee-bias-reduced", 5): (0.033, 0.036, 1000),
    ("gee-bias-reduced z", 5): (0.055, 0.051, 1000),
    ("gee-robust z", 5): (0.120, 0.079, 1000),
    ("lmm", 10): (0.047, 0.051, 1000),
    ("lmm z", 10): (0.065, 0.061, 1000),
    ("glmm-map", 10): (0.065, 0.062, 1000),
    ("glmm-map z", 10): (0.090, 0.068, 1000),
    ("gee-bias-reduced", 10): (0.033, 0.041, 1000),
    ("gee-bias-reduced z", 10): (0.051, 0.050, 1000),
    ("gee-robust z", 10): (0.083, 0.070, 1000),
}

#: Filled by ``subliminal-stats calibrate --write-table``.
GRID: list = []
