"""nn.utils: clip_grad_norm_ / clip_grad_value_ / get_total_norm / parameters_to_vector against PyTorch."""
import math

import numpy as np
import pytest
from oracle import assert_close, randn

import disttorch

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (5,), (2, 3, 2), ()]


def _params(dtype=np.float32, scale=1.0, with_none=False):
    """The same parameters (with gradients) in both frameworks."""
    ours, theirs = [], []
    for i, shape in enumerate(SHAPES):
        w, g = randn(*shape, seed=i, dtype=dtype), randn(*shape, seed=10 + i, dtype=dtype) * scale
        po, pt = disttorch.nn.Parameter(disttorch.tensor(w)), torch.nn.Parameter(torch.tensor(w))
        if not (with_none and i == 1):
            po.grad, pt.grad = disttorch.tensor(g), torch.tensor(g)
        ours.append(po)
        theirs.append(pt)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.0, math.inf, "inf", 0.5])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    ours, theirs = _params(dtype, with_none=True)
    n = float(norm_type)
    total_o = disttorch.nn.utils.clip_grad_norm_(ours, max_norm, n)
    total_t = torch.nn.utils.clip_grad_norm_(theirs, max_norm, n)
    assert_close(total_o, total_t, rtol=1e-5)
    for po, pt in zip(ours, theirs):
        if pt.grad is None:
            assert po.grad is None
        else:
            assert_close(po.grad, pt.grad, rtol=1e-5)


def test_clip_grad_norm_single_tensor_and_generator():
    ours, theirs = _params()
    total_o = disttorch.nn.utils.clip_grad_norm_(ours[0], 0.1)
    total_t = torch.nn.utils.clip_grad_norm_(theirs[0], 0.1)
    assert_close(total_o, total_t)
    assert_close(ours[0].grad, theirs[0].grad)
    total_o = disttorch.nn.utils.clip_grad_norm_((p for p in ours), 0.1)
    total_t = torch.nn.utils.clip_grad_norm_((p for p in theirs), 0.1)
    assert_close(total_o, total_t)


def test_clip_grad_norm_no_grads_returns_zero():
    ours = disttorch.nn.utils.clip_grad_norm_([disttorch.nn.Parameter(disttorch.ones(3))], 1.0)
    theirs = torch.nn.utils.clip_grad_norm_([torch.nn.Parameter(torch.ones(3))], 1.0)
    assert_close(ours, theirs)


def test_clip_grad_norm_of_a_module_after_backward():
    lin_o, lin_t = disttorch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    with torch.no_grad():
        lin_t.weight.copy_(torch.tensor(lin_o.weight.detach().numpy()))
        lin_t.bias.copy_(torch.tensor(lin_o.bias.detach().numpy()))
    x = randn(5, 4)
    (lin_o(disttorch.tensor(x)) ** 2).sum().backward()
    (lin_t(torch.tensor(x)) ** 2).sum().backward()
    assert_close(disttorch.nn.utils.clip_grad_norm_(lin_o.parameters(), 0.5),
                 torch.nn.utils.clip_grad_norm_(lin_t.parameters(), 0.5))
    assert_close(lin_o.weight.grad, lin_t.weight.grad)
    assert_close(lin_o.bias.grad, lin_t.bias.grad)


def test_clip_grad_norm_nonfinite():
    ours, theirs = _params()
    ours[0].grad._data[0, 0] = np.inf
    theirs[0].grad[0, 0] = math.inf
    with pytest.raises(RuntimeError) as exc_t:
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as exc_o:
        disttorch.nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    assert str(exc_o.value) == str(exc_t.value)
    assert_close(disttorch.nn.utils.clip_grad_norm_(ours, 1.0), torch.nn.utils.clip_grad_norm_(theirs, 1.0))
    for po, pt in zip(ours, theirs):
        assert_close(po.grad, pt.grad)


def test_get_total_norm_and_clip_grads_with_norm():
    ours, theirs = _params()
    go, gt = [p.grad for p in ours], [p.grad for p in theirs]
    no, nt = disttorch.nn.utils.get_total_norm(go, 3.0), torch.nn.utils.get_total_norm(gt, 3.0)
    assert_close(no, nt)
    disttorch.nn.utils.clip_grads_with_norm_(ours, 0.2, no)
    torch.nn.utils.clip_grads_with_norm_(theirs, 0.2, nt)
    for po, pt in zip(ours, theirs):
        assert_close(po.grad, pt.grad)


@pytest.mark.parametrize("clip_value", [0.3, 2])
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = _params(with_none=True)
    assert disttorch.nn.utils.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for po, pt in zip(ours, theirs):
        if pt.grad is not None:
            assert_close(po.grad, pt.grad)


def test_clipping_keeps_grad_objects_and_bumps_version():
    ours, _ = _params()
    grads = [p.grad for p in ours]
    versions = [g._version for g in grads]
    disttorch.nn.utils.clip_grad_norm_(ours, 1e-3)
    assert all(p.grad is g for p, g in zip(ours, grads))
    assert all(g._version > v for g, v in zip(grads, versions))


def test_parameters_to_vector_and_back():
    ours, theirs = _params()
    vo = disttorch.nn.utils.parameters_to_vector(ours)
    vt = torch.nn.utils.parameters_to_vector(theirs)
    assert_close(vo, vt)
    assert vo.grad_fn is not None and vo.requires_grad
    # gradients flow back through the concatenation to every parameter
    w = randn(vt.numel(), seed=3)
    fresh_o = [disttorch.nn.Parameter(disttorch.tensor(p.detach().numpy())) for p in ours]
    fresh_t = [torch.nn.Parameter(p.detach().clone()) for p in theirs]
    (disttorch.nn.utils.parameters_to_vector(fresh_o) * disttorch.tensor(w)).sum().backward()
    (torch.nn.utils.parameters_to_vector(fresh_t) * torch.tensor(w)).sum().backward()
    for po, pt in zip(fresh_o, fresh_t):
        assert_close(po.grad, pt.grad)

    new = randn(vt.numel(), seed=4)
    disttorch.nn.utils.vector_to_parameters(disttorch.tensor(new), ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs)
    for po, pt in zip(ours, theirs):
        assert_close(po.detach(), pt.detach())
        assert po.requires_grad and po.is_leaf


def test_vector_to_parameters_type_error():
    with pytest.raises(TypeError) as exc_t:
        torch.nn.utils.vector_to_parameters([1.0], [torch.nn.Parameter(torch.ones(1))])
    with pytest.raises(TypeError) as exc_o:
        disttorch.nn.utils.vector_to_parameters([1.0], [disttorch.nn.Parameter(disttorch.ones(1))])
    assert str(exc_o.value) == str(exc_t.value)
