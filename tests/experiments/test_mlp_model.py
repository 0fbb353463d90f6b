"""The batched MLP: stacked forward = ordinary nn.Linear stacks, seeds independent of batching."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from subliminal_stats.experiments import mlp  # noqa: E402
from subliminal_stats.experiments.image_data import ImageData, load_digits_data  # noqa: E402

torch.set_num_threads(1)


def _sequential_from(params, model_index):
    layers = []
    n_layers = len(params) // 2
    for i in range(n_layers):
        w, b = params[2 * i][model_index], params[2 * i + 1][model_index]
        lin = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            lin.weight.copy_(w.T)
            lin.bias.copy_(b[0])
        layers.append(lin)
        if i < n_layers - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def test_stacked_forward_equals_per_model_nn_linear():
    sizes = [7, 5, 4, 3]
    gens = [torch.Generator().manual_seed(k) for k in range(3)]
    params = mlp.stack_params([mlp.init_params(sizes, g) for g in gens])
    x = torch.randn(3, 6, 7, generator=torch.Generator().manual_seed(9))
    got = mlp.forward(params, x)
    for m in range(3):
        want = _sequential_from(params, m)(x[m])
        torch.testing.assert_close(got[m], want, rtol=1e-5, atol=1e-6)


def test_init_matches_pytorch_default_linear_bounds():
    params = mlp.init_params([64, 256, 13], torch.Generator().manual_seed(0))
    w1, b1, w2, _ = params
    bound = 1 / math.sqrt(64)
    assert w1.shape == (64, 256) and b1.shape == (1, 256) and w2.shape == (256, 13)
    assert float(w1.abs().max()) <= bound
    # U(−a, a) has sd a/√3
    assert float(w1.std()) == pytest.approx(bound / math.sqrt(3), rel=0.03)
    assert float(w2.abs().max()) <= 1 / math.sqrt(256)


def test_kl_per_model_matches_torch_kl_div():
    g = torch.Generator().manual_seed(3)
    t, s = torch.randn(2, 5, 3, generator=g), torch.randn(2, 5, 3, generator=g)
    got = mlp._kl_per_model(t, s, 2.0)
    for m in range(2):
        want = torch.nn.functional.kl_div(
            torch.log_softmax(s[m] / 2, -1), torch.log_softmax(t[m] / 2, -1),
            reduction="batchmean", log_target=True)
        torch.testing.assert_close(got[m], want)


@pytest.fixture(scope="module")
def small_digits() -> ImageData:
    d = load_digits_data()
    return ImageData(d.x_train[:400], d.y_train[:400], d.x_test[:120], d.y_test[:120],
                     d.test_ids[:120], 10, d.name)


TINY = mlp.MLPSettings(hidden=(24, 24), teacher_epochs=10, teacher_batch_size=50, teacher_lr=3e-3,
                       student_epochs=2, student_batch_size=100, student_lr=1e-3)


def test_a_seed_gives_the_same_models_whatever_block_it_runs_in(small_digits):
    together = mlp.run_seeds(small_digits, TINY, [3, 5, 8])
    alone = mlp.run_seeds(small_digits, TINY, [5])
    for cond in mlp.CONDITIONS:
        assert together.hits[cond].shape == (3, 120)
        # argmax can flip only on exact float ties; allow one image of slack for bmm reordering
        assert np.sum(together.hits[cond][1] != alone.hits[cond][0]) <= 1, cond
    again = mlp.run_seeds(small_digits, TINY, [3, 5, 8])
    for cond in mlp.CONDITIONS:
        np.testing.assert_array_equal(together.hits[cond], again.hits[cond])
    other = mlp.run_seeds(small_digits, TINY, [3, 5, 8], base_seed=1)
    assert not np.array_equal(other.hits["teacher"], together.hits["teacher"])


def test_teacher_learns_and_reference_is_at_chance(small_digits):
    res = mlp.run_seeds(small_digits, TINY, [0, 1, 2, 3])
    acc = res.accuracy()
    assert acc["teacher"].min() > 0.6  # chance is 0.1
    assert abs(acc["reference"].mean() - 0.1) < 0.08
    # same-init and different-init students share their starting points with the right models
    assert np.array_equal(res.hits["reference"].shape, res.hits["aux_diff_init"].shape)


def test_results_to_frame_layout(small_digits):
    res = mlp.run_seeds(small_digits, TINY, [7])
    frame = mlp.results_to_frame(res, small_digits)
    assert len(frame) == 6 * 120
    assert set(frame["condition"]) == set(mlp.CONDITIONS)
    assert set(frame["seed"]) == {"7"} and frame["trait"].eq("digits").all()
    t = frame[frame["condition"] == "teacher"]
    assert t["hit"].mean() == pytest.approx(res.accuracy()["teacher"][0])
    assert list(t["question"][:2]) == list(small_digits.test_ids[:2])


def test_settings_refuse_bad_values():
    from subliminal_stats.errors import InputError

    with pytest.raises(InputError, match="noise"):
        mlp.MLPSettings(noise="pink")
    with pytest.raises(InputError, match="hidden"):
        mlp.MLPSettings(hidden=(0,))
