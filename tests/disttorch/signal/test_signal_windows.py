"""torch.signal.windows: the same values, shapes and dtypes as PyTorch, symmetric and periodic."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

NAMES = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "hamming", "hann", "kaiser", "nuttall"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("M", [0, 1, 2, 7, 10])
@pytest.mark.parametrize("sym", [True, False])
def test_matches_torch(name, M, sym):
    ours = getattr(disttorch.signal.windows, name)(M, sym=sym)
    theirs = getattr(torch.signal.windows, name)(M, sym=sym)
    assert str(ours.dtype) == str(theirs.dtype) and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_parameters_dtypes_and_errors():
    pairs = [("general_cosine", {"a": [0.3, 0.5, 0.2]}), ("general_hamming", {"alpha": 0.6}),
             ("gaussian", {"std": 2.5}), ("kaiser", {"beta": 4.0}), ("exponential", {"tau": 3.0}),
             ("exponential", {"center": 2.0, "sym": False})]
    for name, kw in pairs:
        ours = getattr(disttorch.signal.windows, name)(9, dtype=disttorch.float64, **kw)
        theirs = getattr(torch.signal.windows, name)(9, dtype=torch.float64, **kw)
        assert str(ours.dtype) == "torch.float64"
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-14)
    for bad in (lambda m: m.signal.windows.gaussian(5, std=0), lambda m: m.signal.windows.exponential(5, center=1.0),
                lambda m: m.signal.windows.kaiser(5, beta=-1.0)):
        with pytest.raises(ValueError):
            bad(torch)
        with pytest.raises(ValueError):
            bad(disttorch)
    assert disttorch.signal.windows.hann(4, requires_grad=True).requires_grad
