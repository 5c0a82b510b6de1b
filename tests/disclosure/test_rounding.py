"""Cell-key random rounding (hrpipeline.disclosure.rounding)."""

import numpy as np
import pytest

from hrpipeline.disclosure.rounding import cell_key, feasible_range, round_count, rounded


def test_multiples_stay_and_others_go_to_a_neighbouring_multiple():
    for u in (0.0, 0.3, 0.999):
        assert round_count(0, 5, u) == 0
        assert round_count(20, 5, u) == 20
    assert round_count(12, 5, 0.39) == 15 and round_count(12, 5, 0.41) == 10
    assert round_count(3, 5, 0.59) == 5 and round_count(3, 5, 0.61) == 0
    with pytest.raises(ValueError):
        round_count(-1, 5, 0.5)


def test_unbiased_over_keys():
    """Unbiased random rounding (Fellegi 1975): E[R] = c. Monte-Carlo over 20,000 cell keys;
    the standard error of the mean is at most 2.5/sqrt(20000) = 0.018."""
    for value in (1, 3, 7, 12):
        draws = [rounded(b"k", ("cell", i), value, 5) for i in range(20_000)]
        assert np.mean(draws) == pytest.approx(value, abs=4 * 0.018)
        assert set(draws) <= {5 * (value // 5), 5 * (value // 5 + 1)}


def test_key_is_stable_secret_and_value_dependent():
    a = cell_key(b"secret", ("ANT", "2024-1", "x"), 3)
    assert a == cell_key(b"secret", ("ANT", "2024-1", "x"), 3)  # same cell, same coin
    assert a != cell_key(b"other", ("ANT", "2024-1", "x"), 3)  # another key, another coin
    assert a != cell_key(b"secret", ("ANT", "2024-1", "x"), 4)  # another value, another coin
    assert 0.0 <= a < 1.0


@pytest.mark.parametrize("k", [3, 5, 7, 10])
def test_every_small_count_keeps_k_possible_values(k):
    for c in range(1, k):
        for u in np.linspace(0, 0.999, 7):
            lo, hi = feasible_range(round_count(c, k, u), k)
            assert lo <= c <= hi and hi - lo + 1 >= k
