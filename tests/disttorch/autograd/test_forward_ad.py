"""torch.autograd.forward_ad against PyTorch's: tangents of dual tensors through several ops, errors."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close

import disttorch

torch = pytest.importorskip("torch")

CASES = {
    "sin_mul": lambda lib, a, b: (a.sin() * b).sum(dim=0),
    "matmul_tanh": lambda lib, a, b: (a @ b.T).tanh(),
    "softmax": lambda lib, a, b: lib.nn.functional.softmax(a * b, dim=1),
    "exp_div": lambda lib, a, b: a.exp() / (1 + b * b),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_tangent_as_pytorch(name):
    rng = np.random.default_rng(0)
    arrs = [rng.standard_normal((3, 4)) for _ in range(4)]  # a, b, tangent of a, tangent of b
    fn = CASES[name]
    results = []
    for lib, fwAD in ((disttorch, disttorch.autograd.forward_ad), (torch, torch.autograd.forward_ad)):
        a, b, ta, tb = (lib.tensor(x) for x in arrs)
        with fwAD.dual_level():
            da, db = fwAD.make_dual(a, ta), fwAD.make_dual(b, tb)
            out = fn(lib, da, db)
            primal, tangent = fwAD.unpack_dual(out)
            results.append((primal, tangent, fwAD.unpack_dual(da).tangent))
    (p, t, ta), (tp, tt, tta) = results
    assert_close(p, tp, 1e-10, 1e-12)
    assert_close(t, tt, 1e-10, 1e-12)
    assert_close(ta, tta)


def test_unpacked_is_namedtuple_and_no_tangent_cases():
    fwAD = disttorch.autograd.forward_ad
    x = disttorch.ones(2)
    assert fwAD.unpack_dual(x).tangent is None  # no level open
    with fwAD.dual_level():
        u = fwAD.unpack_dual(x * 2)
        assert u._fields == ("primal", "tangent") and u.tangent is None
        d = fwAD.make_dual(disttorch.ones(2), disttorch.tensor([1.0, 2.0]))
        assert fwAD.unpack_dual(d).tangent.tolist() == [1.0, 2.0]
        assert fwAD.unpack_dual(d * 3).tangent.tolist() == [3.0, 6.0]


def test_errors_as_pytorch():
    for fwAD, lib in ((disttorch.autograd.forward_ad, disttorch), (torch.autograd.forward_ad, torch)):
        with pytest.raises(RuntimeError, match="no level exists"):
            fwAD.make_dual(lib.ones(2), lib.ones(2))
        with fwAD.dual_level():
            with pytest.raises(RuntimeError, match="different size than that of the original Tensor"):
                fwAD.make_dual(lib.ones(2), lib.ones(3))
            with pytest.raises(ValueError, match="floating point or complex"):
                fwAD.make_dual(lib.ones(2, dtype=lib.int64), lib.ones(2))
