"""register_parametrization, parametrizations.weight_norm and the legacy weight_norm against PyTorch: names,
values, gradients of the stored tensors, assignment through right_inverse, removal."""
import numpy as np
import pytest
from oracle import gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")


def _pair(mod_o, mod_t):
    with torch.no_grad():
        for (_, po), (_, pt) in zip(mod_o.named_parameters(), mod_t.named_parameters()):
            pt.copy_(torch.tensor(po.detach().numpy()))
    return mod_o, mod_t


def _compare(mo, mt, x, rtol=1e-5):
    assert [n for n, _ in mo.named_parameters()] == [n for n, _ in mt.named_parameters()]
    for (n, po), (_, pt) in zip(mo.named_parameters(), mt.named_parameters()):
        np.testing.assert_allclose(po.detach().numpy(), pt.detach().numpy(), rtol=rtol, atol=1e-6, err_msg=n)
    yo, yt = mo(disttorch.tensor(x)), mt(torch.tensor(x))
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=rtol, atol=1e-6)
    (yo * yo).sum().backward()
    (yt * yt).sum().backward()
    for (n, po), (_, pt) in zip(mo.named_parameters(), mt.named_parameters()):
        np.testing.assert_allclose(po.grad.numpy(), pt.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=n)


class Symmetric:
    def __init__(self, m):
        class S(m.nn.Module):
            def forward(self, x):
                return x.triu() + x.triu(1).transpose(-1, -2)

            def right_inverse(self, a):
                return a.triu()
        self.cls = S


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_parametrization(dim):
    mo, mt = _pair(disttorch.nn.Linear(4, 3), torch.nn.Linear(4, 3))
    disttorch.nn.utils.parametrizations.weight_norm(mo, dim=dim)
    torch.nn.utils.parametrizations.weight_norm(mt, dim=dim)
    assert type(mo).__name__ == type(mt).__name__
    _compare(mo, mt, randn(5, 4))
    disttorch.nn.utils.parametrize.remove_parametrizations(mo, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(mt, "weight")
    assert type(mo).__name__ == type(mt).__name__ == "Linear"
    assert [n for n, _ in mo.named_parameters()] == [n for n, _ in mt.named_parameters()]
    np.testing.assert_allclose(mo.weight.detach().numpy(), mt.weight.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dim", [0, 1])
def test_legacy_weight_norm(dim):
    mo, mt = _pair(disttorch.nn.Conv1d(2, 3, 3), torch.nn.Conv1d(2, 3, 3))
    with pytest.warns(FutureWarning, match="is deprecated in favor of"):
        disttorch.nn.utils.weight_norm(mo, dim=dim)
    with pytest.warns(FutureWarning, match="is deprecated in favor of"):
        torch.nn.utils.weight_norm(mt, dim=dim)
    _compare(mo, mt, randn(2, 2, 6))
    disttorch.nn.utils.remove_weight_norm(mo)
    torch.nn.utils.remove_weight_norm(mt)
    assert [n for n, _ in mo.named_parameters()] == [n for n, _ in mt.named_parameters()]
    np.testing.assert_allclose(mo.weight.detach().numpy(), mt.weight.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_custom_parametrization_and_assignment():
    lo, lt = _pair(disttorch.nn.Linear(3, 3), torch.nn.Linear(3, 3))
    P = disttorch.nn.utils.parametrize
    P.register_parametrization(lo, "weight", Symmetric(disttorch).cls())
    torch.nn.utils.parametrize.register_parametrization(lt, "weight", Symmetric(torch).cls())
    assert P.is_parametrized(lo) and P.is_parametrized(lo, "weight") and not P.is_parametrized(lo, "bias")
    w = lo.weight.detach().numpy()
    np.testing.assert_allclose(w, w.T)
    _compare(lo, lt, randn(2, 3))
    a = randn(3, 3, seed=4)
    lo.weight = disttorch.tensor(a)
    lt.weight = torch.tensor(a)
    np.testing.assert_allclose(lo.parametrizations.weight.original.detach().numpy(),
                               lt.parametrizations.weight.original.detach().numpy())
    with P.cached():
        assert lo.weight is lo.weight
    P.remove_parametrizations(lo, "weight", leave_parametrized=False)
    assert type(lo) is disttorch.nn.Linear
    np.testing.assert_allclose(lo.weight.detach().numpy(), np.triu(a), rtol=1e-6)


def test_weight_norm_gradcheck():
    m = disttorch.nn.Linear(3, 2).double()
    disttorch.nn.utils.parametrizations.weight_norm(m)
    g, v = m.parametrizations.weight.original0, m.parametrizations.weight.original1

    def fn(mod, g2, v2):
        return m.parametrizations.weight[0](g2, v2)

    gradcheck(fn, [g.detach().numpy(), v.detach().numpy()])


def test_register_missing_name_error():
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element"):
        disttorch.nn.utils.parametrize.register_parametrization(disttorch.nn.Linear(2, 2), "foo",
                                                                disttorch.nn.Identity())
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element"):
        torch.nn.utils.parametrize.register_parametrization(torch.nn.Linear(2, 2), "foo", torch.nn.Identity())
