"""Legacy ``F()(x)`` calls of autograd.Function instances: PyTorch's DeprecationWarning on instantiation and
RuntimeError on the call; ``F.apply`` still works, with gradients as PyTorch's."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def _classes(lib):
    class Legacy(lib.autograd.Function):
        def forward(self, x):  # the pre-static style
            return x * 2

    class Static(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    return Legacy, Static


def _call_outcome(lib, which: int):
    cls = _classes(lib)[which]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inst = cls()
    warned = [(w.category.__name__, str(w.message).replace(repr(cls), "<F>")) for w in caught]
    try:
        inst(lib.ones(2))
    except Exception as exc:  # noqa: BLE001  (compared with PyTorch's)
        return warned, type(exc).__name__, str(exc)
    return warned, "ok"


@pytest.mark.parametrize("which", [0, 1], ids=["non_static_forward", "static_forward"])
def test_instance_call_matches_torch(which):
    got = _call_outcome(disttorch, which)
    assert got == _call_outcome(torch, which)
    assert got[1] == "RuntimeError" and "non-static forward" in got[2]
    assert got[0] and got[0][0][0] == "DeprecationWarning"


def test_apply_still_works(device):
    _, static = _classes(disttorch)
    _, tstatic = _classes(torch)
    data = np.array([0.5, -1.25, 3.0])
    x = disttorch.tensor(data, requires_grad=True, device=device)
    tx = torch.tensor(data, requires_grad=True)
    y, ty = static.apply(x), tstatic.apply(tx)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(y.detach().cpu().numpy(), ty.detach().numpy())
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy())
    # float64 gradcheck on cpu (gradcheck reads its Jacobians on the host)
    assert disttorch.autograd.gradcheck(static.apply, (disttorch.tensor(data, requires_grad=True),))
