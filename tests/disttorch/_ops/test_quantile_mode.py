"""quantile / nanquantile / mode against real PyTorch: values, shapes, gradients, errors, float64 gradcheck."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch
from tests.oracle import assert_close

torch = pytest.importorskip("torch")

NAN = float("nan")


def _pair(arr, grad=False):
    d, t = disttorch.tensor(arr), torch.tensor(arr)
    if grad:
        d.requires_grad_(True)
        t.requires_grad_(True)
    return d, t


@pytest.mark.parametrize("fn", ["quantile", "nanquantile"])
@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (0, False), (1, True), (-1, False)])
@pytest.mark.parametrize("q", [0.3, [0.0, 0.25, 0.5, 0.9, 1.0]])
def test_quantile_matches_pytorch(fn, interpolation, dim, keepdim, q):
    arr = np.random.default_rng(1).standard_normal((3, 5, 4))
    if fn == "nanquantile":
        arr[0, 1, :] = np.nan
        arr[1, :, 2] = np.nan
        arr[2, 0, 0] = np.nan
    d, t = _pair(arr, grad=True)
    qd, qt = (q, q) if isinstance(q, float) else (disttorch.tensor(q, dtype=disttorch.float64),
                                                   torch.tensor(q, dtype=torch.float64))
    od = getattr(disttorch, fn)(d, qd, dim=dim, keepdim=keepdim, interpolation=interpolation)
    ot = getattr(torch, fn)(t, qt, dim=dim, keepdim=keepdim, interpolation=interpolation)
    assert_close(od, ot, rtol=1e-12, atol=1e-12)
    weights = np.random.default_rng(2).standard_normal(tuple(ot.shape))
    (od.nan_to_num() * disttorch.tensor(weights)).sum().backward()
    (ot.nan_to_num() * torch.tensor(weights)).sum().backward()
    assert_close(d.grad, t.grad, rtol=1e-12, atol=1e-12)


def test_quantile_nan_propagation_methods_and_float32():
    arr = np.array([[1.0, NAN, 3.0], [1.0, 2.0, 3.0], [NAN, NAN, NAN]], dtype=np.float32)
    d, t = _pair(arr)
    for fn in ("quantile", "nanquantile"):
        assert_close(getattr(d, fn)(0.5, dim=1), getattr(t, fn)(0.5, dim=1))
        assert_close(getattr(d, fn)(disttorch.tensor([0.2, 0.8]), dim=0),
                     getattr(t, fn)(torch.tensor([0.2, 0.8]), dim=0))
        assert_close(getattr(d, fn)(0.4), getattr(t, fn)(0.4))
    assert_close(disttorch.quantile(disttorch.tensor(2.5), 0.5), torch.quantile(torch.tensor(2.5), 0.5))


def test_quantile_errors_as_pytorch():
    cases = [
        (lambda lib: lib.quantile(lib.arange(10), 0.5), "input tensor must be either float or double dtype"),
        (lambda lib: lib.quantile(lib.arange(10.0), 1.5), r"q must be in the range \[0, 1\] but got 1.5"),
        (lambda lib: lib.quantile(lib.arange(10.0), lib.tensor([[0.5]])), "q must be a scalar or 1D tensor"),
        (lambda lib: lib.quantile(lib.arange(10.0), lib.tensor([0.5], dtype=lib.float64)),
         "q tensor must be same dtype as the input tensor"),
        (lambda lib: lib.quantile(lib.arange(10.0), 0.5, interpolation="foo"),
         "interpolation must be one of linear, lower, higher, midpoint or nearest, but got foo"),
        (lambda lib: lib.quantile(lib.tensor([]), 0.5), "input tensor must be non-empty"),
        (lambda lib: lib.nanquantile(lib.arange(4.0), lib.tensor([0.5, 2.0])),
         r"q values must be in the range \[0, 1\]"),
    ]
    for call, message in cases:
        for lib in (disttorch, torch):
            with pytest.raises(RuntimeError, match=message):
                call(lib)


def test_quantile_gradcheck_float64():
    x = disttorch.tensor(np.random.default_rng(3).permutation(12).reshape(3, 4) / 7.0, requires_grad=True)
    q = disttorch.tensor([0.1, 0.45, 0.8], dtype=disttorch.float64)
    assert disttorch.autograd.gradcheck(lambda a: disttorch.quantile(a, q, dim=1), (x,))
    assert disttorch.autograd.gradcheck(lambda a: disttorch.nanquantile(a, 0.35), (x,))
    assert disttorch.autograd.gradgradcheck(lambda a: disttorch.quantile(a, 0.6, dim=0), (x,))


@pytest.mark.parametrize("dim,keepdim", [(-1, False), (0, True), (1, False)])
def test_mode_matches_pytorch(dim, keepdim):
    arr = np.random.default_rng(4).integers(0, 4, (5, 7, 6)).astype(np.float64)
    d, t = _pair(arr, grad=True)
    vd, idd = disttorch.mode(d, dim, keepdim)
    vt, it = torch.mode(t, dim, keepdim)
    assert_close(vd, vt)
    assert_close(idd, it)
    assert vd.grad_fn.name() == vt.grad_fn.name() == "ModeBackward0"
    w = np.random.default_rng(5).standard_normal(tuple(vt.shape))
    (vd * disttorch.tensor(w)).sum().backward()
    (vt * torch.tensor(w)).sum().backward()
    assert_close(d.grad, t.grad)
    ints = np.array([[3, 1, 3, 1, 2], [7, 7, 7, 0, 9]])
    assert_close(tuple(disttorch.tensor(ints).mode()), tuple(torch.tensor(ints).mode()))
    with_nan = [1.0, NAN, NAN, 2.0, 2.0]
    assert_close(tuple(disttorch.tensor(with_nan).mode()), tuple(torch.tensor(with_nan).mode()))
    assert_close(tuple(disttorch.mode(disttorch.tensor(5.0))), tuple(torch.mode(torch.tensor(5.0))))
    out = (disttorch.empty(0), disttorch.empty(0, dtype=disttorch.int64))
    disttorch.mode(disttorch.tensor(ints, dtype=disttorch.float32), 1, out=out)
    assert_close(out[0], torch.tensor(ints, dtype=torch.float32).mode(1).values)
