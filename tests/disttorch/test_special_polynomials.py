"""torch.special's orthogonal polynomials against real PyTorch: degrees 0-24 (negative and fractional too),
inside and outside [-1, 1], float32 and float64, tensor and number degrees, integer inputs, no gradient."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close, torch

import disttorch

NAMES = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
         "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
         "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
         "laguerre_polynomial_l", "legendre_polynomial_p"]

X = np.array([-1.5, -1.0, -0.7, -0.2, 0.0, 0.1, 0.5, 0.9, 1.0, 1.3, 2.0, np.nan])
DEGREES = np.array([-2.0, 0.0, 1.0, 2.0, 2.7, 3.0, 5.0, 7.0, 10.0, 16.0, 24.0])


def _compare(name: str, x: np.ndarray, n: np.ndarray | float, rtol: float) -> None:
    ours = getattr(disttorch.special, name)(disttorch.tensor(x), disttorch.tensor(n) if isinstance(n, np.ndarray)
                                            else n)
    theirs = getattr(torch.special, name)(torch.tensor(x), torch.tensor(n) if isinstance(n, np.ndarray) else n)
    scale = float(np.nanmax(np.abs(theirs.double().numpy()))) if theirs.numel() else 1.0
    assert_close(ours, theirs, rtol=rtol, atol=rtol * max(scale, 1.0) * 1e-3, what=name)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 2e-4)])
@pytest.mark.parametrize("name", NAMES)
def test_grid_of_points_and_degrees(name: str, dtype: type, rtol: float) -> None:
    x, n = np.meshgrid(X.astype(dtype), DEGREES.astype(dtype), indexing="ij")
    _compare(name, x, n, rtol)


@pytest.mark.parametrize("name", NAMES)
def test_number_degree_and_integer_input(name: str) -> None:
    # (no nan here: PyTorch's vectorised kernel for a number degree gives a neighbour's value at nan)
    _compare(name, X[:-1], 4, 1e-5)
    _compare(name, np.array([-2, 0, 1, 3], np.int64), np.array([3, 2, 1, 5], np.int64), 1e-5)


@pytest.mark.parametrize("name", NAMES[:1] + NAMES[8:])
def test_no_gradient_and_out(name: str) -> None:
    x = disttorch.tensor([0.3, 0.6], requires_grad=True)
    y = getattr(disttorch.special, name)(x, 3)
    assert not y.requires_grad and y.grad_fn is None
    out = disttorch.empty(2)
    assert getattr(disttorch.special, name)(x.detach(), 3, out=out) is out
    assert_close(out, getattr(torch.special, name)(torch.tensor([0.3, 0.6]), 3), rtol=1e-6)
