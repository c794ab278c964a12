"""torch.testing.assert_close: the same verdicts and messages as PyTorch's; make_tensor's contract."""
from __future__ import annotations

import pytest

import disttorch

torch = pytest.importorskip("torch")

CASES = {
    "one far value": (lambda t: (t.tensor([1., 2., 3.]), t.tensor([1., 2.5, 3.])), {}),
    "dtype": (lambda t: (t.tensor([1., 2.]), t.tensor([1., 2.], dtype=t.float64)), {}),
    "shape": (lambda t: (t.tensor([1., 2.]), t.tensor([1., 2., 3.])), {}),
    "python floats": (lambda t: (1.0, 1.1), {}),
    "python ints": (lambda t: ([1, 2], [1, 3]), {}),
    "0-dim in a list": (lambda t: ([t.tensor(1.)], [t.tensor(2.)]), {}),
    "ints in a dict": (lambda t: ({"a": t.tensor(1)}, {"a": t.tensor(2)}), {}),
    "integer matrix": (lambda t: (t.tensor([[1, 2], [3, 4]]), t.tensor([[1, 2], [3, 5]])), {}),
    "nan": (lambda t: (t.tensor([float("nan")]), t.tensor([float("nan")])), {}),
    "nan equal": (lambda t: (t.tensor([float("nan"), 1.]), t.tensor([float("nan"), 1.])), {"equal_nan": True}),
    "inf": (lambda t: (t.tensor([1., float("inf")]), t.tensor([1., float("inf")])), {}),
    "given tolerances": (lambda t: (t.tensor([1., 2.]), t.tensor([1.1, 2.])), {"rtol": 0.2, "atol": 0.}),
    "custom message": (lambda t: (t.tensor([1., 2.]), t.tensor([1.1, 2.])), {"msg": "custom"}),
    "nested tuple": (lambda t: ((t.tensor([1., 5.]),), (t.tensor([1., 2.]),)), {}),
    "float16 tolerance": (lambda t: (t.tensor([1.0], dtype=t.float16), t.tensor([1.001], dtype=t.float16)), {}),
    "bfloat16 tolerance": (lambda t: (t.tensor([1.0, 3.0], dtype=t.bfloat16),
                                      t.tensor([1.01, 2.0], dtype=t.bfloat16)), {}),
    "dtype unchecked": (lambda t: (t.tensor([1., 2.]), t.tensor([1., 2.], dtype=t.float64)), {"check_dtype": False}),
    "close enough": (lambda t: (t.tensor([1., 2.]), t.tensor([1. + 1e-7, 2.])), {}),
}


def _outcome(mod, name):
    make, kw = CASES[name]
    actual, expected = make(mod)
    try:
        mod.testing.assert_close(actual, expected, **kw)
    except AssertionError as exc:
        return str(exc)
    return "passed"


@pytest.mark.parametrize("name", list(CASES))
def test_same_verdict_and_message_as_torch(name):
    assert _outcome(disttorch, name) == _outcome(torch, name)


def test_msg_callable_and_argument_errors():
    with pytest.raises(AssertionError, match="^wrapped: Tensor-likes"):
        disttorch.testing.assert_close(disttorch.ones(2), disttorch.zeros(2), msg=lambda m: "wrapped: " + m)
    with pytest.raises(ValueError, match="Both 'rtol' and 'atol'"):
        disttorch.testing.assert_close(disttorch.ones(2), disttorch.ones(2), rtol=0.1)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8", "bool", "complex64"])
def test_make_tensor(dtype):
    dt = getattr(disttorch, dtype)
    x = disttorch.testing.make_tensor(3, 4, dtype=dt, device="cpu")
    assert x.shape == (3, 4) and x.dtype is dt
    y = disttorch.testing.make_tensor((2, 5), dtype=dt, noncontiguous=True, low=0, high=2)
    assert y.shape == (2, 5) and not y.is_contiguous()
    if dt.is_floating_point:
        assert 0 <= float(y.min()) and float(y.max()) <= 2
        z = disttorch.testing.make_tensor(4, dtype=dt, requires_grad=True, exclude_zero=True)
        assert z.requires_grad and bool((z != 0).all())
