"""torch.quasirandom.SobolEngine against PyTorch: unscrambled points bit for bit, the engine's state and
methods, its errors; scrambled points checked for what makes them Sobol' points (balance, uniformity)."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")


@pytest.mark.parametrize("dimension", [1, 2, 5, 40, 1111, 21201])
def test_unscrambled_points_and_state_equal_pytorch(dimension):
    ref, ours = torch.quasirandom.SobolEngine(dimension), disttorch.quasirandom.SobolEngine(dimension)
    assert np.array_equal(ours.sobolstate.numpy(), ref.sobolstate.numpy())
    assert np.array_equal(ours.shift.numpy(), ref.shift.numpy())
    for n, dtype in ((1, None), (7, "float64"), (64, None), (129, "float64")):
        a = ref.draw(n, dtype=getattr(torch, dtype) if dtype else None)
        b = ours.draw(n, dtype=getattr(disttorch, dtype) if dtype else None)
        assert b.dtype is getattr(disttorch, str(a.dtype)[6:]) and b.shape == a.shape
        assert np.array_equal(b.numpy(), a.numpy())
        assert np.array_equal(ours.quasi.numpy(), ref.quasi.numpy()) and ours.num_generated == ref.num_generated


def test_fast_forward_reset_draw_base2_and_out():
    ref, ours = torch.quasirandom.SobolEngine(3), disttorch.quasirandom.SobolEngine(3)
    for step in (lambda e: e.fast_forward(3), lambda e: e.draw(5), lambda e: e.fast_forward(8),
                 lambda e: e.draw(1), lambda e: e.reset(), lambda e: e.fast_forward(1), lambda e: e.draw(3)):
        a, b = step(ref), step(ours)
        if isinstance(a, torch.Tensor):
            assert np.array_equal(b.numpy(), a.numpy())
        else:
            assert b is ours
        assert ours.num_generated == ref.num_generated
        assert np.array_equal(ours.quasi.numpy(), ref.quasi.numpy())
    ref.reset(), ours.reset()
    assert np.array_equal(ours.draw_base2(3).numpy(), ref.draw_base2(3).numpy())
    assert np.array_equal(ours.draw_base2(3).numpy(), ref.draw_base2(3).numpy())  # 8 + 8: still a power of 2
    with pytest.raises(ValueError) as theirs:
        ref.draw_base2(2)
    with pytest.raises(ValueError) as mine:
        ours.draw_base2(2)
    assert str(mine.value) == str(theirs.value)
    out_r, out_o = torch.empty(0), disttorch.empty(0)
    ref.reset(), ours.reset()
    assert ref.draw(4, out=out_r) is out_r and ours.draw(4, out=out_o) is out_o
    assert np.array_equal(out_o.numpy(), out_r.numpy())


def test_errors_and_repr():
    for bad in (0, 21202):
        with pytest.raises(ValueError) as theirs:
            torch.quasirandom.SobolEngine(bad)
        with pytest.raises(ValueError) as mine:
            disttorch.quasirandom.SobolEngine(bad)
        assert str(mine.value) == str(theirs.value)
    for args in ((2,), (2, True, 3), (4, False, 1)):
        assert repr(disttorch.quasirandom.SobolEngine(*args)) == repr(torch.quasirandom.SobolEngine(*args))
    e = disttorch.quasirandom.SobolEngine(2)
    assert (e.MAXBIT, e.MAXDIM, e.dimension, e.scramble, e.seed) == (30, 21201, 2, False, None)


@pytest.mark.parametrize("dimension", [1, 3, 16])
def test_scrambled_points_are_balanced_sobol_points(dimension):
    m = 10
    pts = disttorch.quasirandom.SobolEngine(dimension, scramble=True, seed=7).draw_base2(m, dtype=disttorch.float64)
    x = pts.numpy()
    assert x.shape == (2 ** m, dimension) and (x >= 0).all() and (x < 1).all()
    # a (t, m, s)-net: in every single coordinate, each of the 2^m intervals [k/2^m, (k+1)/2^m) holds one point
    for j in range(dimension):
        assert np.array_equal(np.sort(np.floor(x[:, j] * 2 ** m)), np.arange(2 ** m))
    # pairs of the first dimensions: each 2^(m/2) x 2^(m/2) cell is hit equally often (t = 0 for them)
    if dimension >= 2:
        cells = np.floor(x[:, 0] * 32) * 32 + np.floor(x[:, 1] * 32)
        assert np.array_equal(np.bincount(cells.astype(np.int64), minlength=1024), np.ones(1024))
    assert abs(x.mean() - 0.5) < 1e-3  # a net's mean is 1/2 up to its resolution
    # scrambling changed the points, and the same seed gives the same points
    plain = disttorch.quasirandom.SobolEngine(dimension).draw_base2(m, dtype=disttorch.float64).numpy()
    assert not np.array_equal(x, plain)
    again = disttorch.quasirandom.SobolEngine(dimension, scramble=True, seed=7).draw_base2(m, dtype=disttorch.float64)
    assert np.array_equal(again.numpy(), x)
    other = disttorch.quasirandom.SobolEngine(dimension, scramble=True, seed=8).draw_base2(m, dtype=disttorch.float64)
    assert not np.array_equal(other.numpy(), x)
    unseeded = [disttorch.quasirandom.SobolEngine(dimension, scramble=True).draw(8).numpy() for _ in range(2)]
    assert not np.array_equal(*unseeded)  # no seed: a fresh scramble each time


def test_scrambled_integration_error_beats_monte_carlo():
    # a smooth function with known mean 1 over [0,1]^4: prod_j (1 + (x_j - 1/2) / 2)
    def f(x: np.ndarray) -> np.ndarray:
        return np.prod(1.0 + 0.5 * (x - 0.5), axis=1)

    errors = []
    for seed in range(8):
        x = disttorch.quasirandom.SobolEngine(4, scramble=True, seed=seed).draw(1024, dtype=disttorch.float64)
        errors.append(f(x.numpy()).mean() - 1.0)
    rms_qmc = float(np.sqrt(np.mean(np.square(errors))))
    mc_sd = np.sqrt(((1 + 0.25 / 12) ** 4 - 1) / 1024)  # the plain Monte Carlo standard error for 1024 points
    assert rms_qmc < mc_sd / 10
    assert abs(float(np.mean(errors))) < 3 * rms_qmc / np.sqrt(8) + 1e-12  # unbiased


def test_scipy_missing_is_named(monkeypatch):
    import sys

    from disttorch import quasirandom

    monkeypatch.setattr(quasirandom, "_TABLE", [])
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    with pytest.raises(ImportError, match="pip install scipy"):
        quasirandom.SobolEngine(2)
