"""torch.slice_inverse / Tensor.slice_inverse and Tensor.name against PyTorch 2.13.

slice_inverse(input, src, dim, start, end, step) views input's storage with src's geometry (the base a slice
came from); its gradient is the slice of the output's gradient, as PyTorch's SliceInverseBackward0. That
gradient is not the derivative of the forward values (they read storage outside ``input``), so there is no
numerical gradcheck: gradients are compared with PyTorch's instead.
"""
from __future__ import annotations

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def _both(fn):
    return fn(torch), fn(disttorch)


CASES = {
    "1d_step": lambda lib: (lib.arange(10.0)[2:8:2], lib.zeros(10), (0, 2, 8, 2)),
    "2d_dim1": lambda lib: (lib.arange(12.0).reshape(3, 4)[:, 1:3], lib.zeros(3, 4), (1, 1, 3, 1)),
    "2d_transposed_src": lambda lib: (lib.arange(12.0).reshape(3, 4)[:, 1:3], lib.zeros(3, 4).t(), (1, 1, 3, 1)),
    "negative_dim": lambda lib: (lib.arange(12.0).reshape(3, 4)[1:], lib.zeros(2, 4), (-2, 1, None, 1)),
    "offset_src": lambda lib: (lib.arange(12.0)[4:], lib.zeros(12)[2:], (0, 2, None, 1)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_values_geometry_and_aliasing(case):
    (ti, ts, args), (di, ds, dargs) = _both(CASES[case])
    ref, ours = torch.slice_inverse(ti, ts, *args), disttorch.slice_inverse(di, ds, *dargs)
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    assert tuple(ours.shape) == tuple(ref.shape) and ours.stride() == ref.stride()
    assert ours.storage_offset() == ref.storage_offset()
    assert ours.untyped_storage().data_ptr() == di.untyped_storage().data_ptr()  # a view of input's storage
    method = di.slice_inverse(ds, *dargs)
    np.testing.assert_array_equal(method.numpy(), ref.numpy())


def test_gradient_is_the_slice_of_the_output_gradient():
    rng = np.random.default_rng(0)
    base, g = rng.standard_normal(12), rng.standard_normal(6)
    grads = []
    for lib in (torch, disttorch):
        b = lib.tensor(base, requires_grad=True)
        out = lib.slice_inverse(b[::2], lib.zeros(6, dtype=lib.float64), 0, 0, 6)
        assert out.grad_fn.name() == "SliceInverseBackward0"
        out.backward(lib.tensor(g))
        grads.append(b.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0])
    x = disttorch.tensor(base, requires_grad=True)
    y = disttorch.slice_inverse(x[2:8:2], disttorch.zeros(12, dtype=disttorch.float64), 0, 2, 8, 2)
    (gx,) = disttorch.autograd.grad((y * disttorch.arange(12.0, dtype=disttorch.float64)).sum(), x)
    xt = torch.tensor(base, requires_grad=True)
    yt = torch.slice_inverse(xt[2:8:2], torch.zeros(12, dtype=torch.float64), 0, 2, 8, 2)
    (gt,) = torch.autograd.grad((yt * torch.arange(12.0, dtype=torch.float64)).sum(), xt)
    np.testing.assert_allclose(gx.numpy(), gt.numpy())


def test_out_of_bounds_error_matches():
    with pytest.raises(RuntimeError) as ref:
        torch.slice_inverse(torch.arange(10.0), torch.zeros(6, 2), 0)
    with pytest.raises(RuntimeError) as ours:
        disttorch.slice_inverse(disttorch.arange(10.0), disttorch.zeros(6, 2), 0)
    assert str(ours.value) == str(ref.value)


def test_tensor_name_is_a_read_only_none():
    for lib in (torch, disttorch):
        t = lib.zeros(3)
        assert t.name is None and t[1:].name is None and t.clone().name is None
        with pytest.raises(AttributeError):
            t.name = "x"
    assert isinstance(type(disttorch.zeros(1)).__dict__.get("name") or disttorch.Tensor.name, property)
