"""Feature matrices against hand counts."""

from __future__ import annotations

import numpy as np

from subliminal_stats.diagnostics import features as F


def test_number_and_digit_counts_by_hand():
    seqs = [(7, 123, 40, 7), None, (1000, 5)]
    counts = F.number_counts(seqs).toarray()
    assert counts.shape == (3, 1001)
    assert counts[0, 7] == 2 and counts[0, 123] == 1 and counts[0, 40] == 1 and counts[0].sum() == 4
    assert counts[1].sum() == 0
    assert counts[2, 1000] == 1 and counts[2, 5] == 1  # 1000 falls in the ">999" column
    assert F.number_labels()[1000] == ">999"
    digits = F.digit_position_counts(seqs).toarray()
    labels = F.digit_labels()
    row = dict(zip(labels, digits[0], strict=True))
    # units of 7, 123, 40, 7 → 7, 3, 0, 7; tens of 123, 40 → 2, 4; hundreds of 123 → 1
    assert row["units=7"] == 2 and row["units=3"] == 1 and row["units=0"] == 1
    assert row["tens=2"] == 1 and row["tens=4"] == 1 and row["hundreds=1"] == 1
    assert digits[0].sum() == 7 and digits[1].sum() == 0
    assert list(F.sequence_lengths(seqs)) == [4, 0, 2]


def test_ngrams_are_binary_and_stay_inside_sequences():
    seqs = [(1, 2, 1, 2), (1, 2), (2, 1), (3,)]
    uni = F.ngram_matrix(seqs, max_n=1, min_count=1).toarray()
    assert uni.shape == (4, 3) and uni.max() == 1
    assert (uni.sum(axis=0) == [3, 3, 1]).all()  # numbers 1, 2, 3: sequences containing each
    bi = F.ngram_matrix(seqs, max_n=2, min_count=2).toarray()
    # kept: 1, 2 (unigrams in ≥ 2 sequences), (1,2) in 2 sequences, (2,1) in 2; not 3, and
    # no bigram across the boundary of sequences 2 and 3 ((2) then (2, 1) would give (2,2))
    assert bi.shape == (4, 4)
    assert (bi.sum(axis=0) == [3, 3, 2, 2]).all()


def test_format_features():
    texts = ["1, 2, 3", "4;5.", "[6 7]", "8", "no"]
    nums = [(1, 2, 3), (4, 5), (6, 7), (8,), None]
    m = F.format_matrix(texts, nums)
    labels = F.format_labels()
    assert m.shape == (5, len(labels))
    col = {name: i for i, name in enumerate(labels)}
    assert m[0, col["separator ', '"]] == 1 and m[1, col["separator ';'"]] == 1
    assert m[2, col["separator ' '"]] == 1 and m[3, col["separator 'single number'"]] == 1
    assert m[4, col["separator 'not a list'"]] == 1
    assert list(m[:, col["count"]]) == [3, 2, 2, 1, 0]
    assert m[1, col["trailing period"]] == 1 and m[2, col["brackets"]] == 1
    assert np.allclose(m[:, col["characters"]], [len(t) for t in texts])
