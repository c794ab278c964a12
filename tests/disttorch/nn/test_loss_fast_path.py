"""cross_entropy / nll_loss on host (N, C) inputs with int64 class targets (ClassIndexLoss's fast path): values
and gradients against PyTorch, ignored rows, all rows ignored, out-of-range targets, non-finite inputs (which
go back to the general path), float64 gradcheck and second-order gradients."""
import os

import numpy as np
import pytest

import disttorch
from disttorch.nn._functional.loss_classification import ClassIndexLoss, ClassLoss

torch = pytest.importorskip("torch")


def _pair(x: np.ndarray, t: np.ndarray):
    return (disttorch.tensor(x, requires_grad=True), disttorch.from_numpy(t.copy()),
            torch.tensor(x, requires_grad=True), torch.from_numpy(t.copy()))


def _run(fn: str, x: np.ndarray, t: np.ndarray, **kw):
    a, ta, b, tb = _pair(x, t)
    la = getattr(disttorch.nn.functional, fn)(a, ta, **kw)
    lb = getattr(torch.nn.functional, fn)(b, tb, **kw)
    la.backward()
    lb.backward()
    return la, lb, a, b


def _close(la, lb, a, b, dtype=np.float32) -> None:
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert la.dtype == {np.float32: disttorch.float32, np.float64: disttorch.float64}[dtype]
    np.testing.assert_allclose(la.detach().numpy(), lb.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol)


def _inputs(n: int, c: int, dtype=np.float32, seed: int = 0, ignore: int = 0):
    rs = np.random.RandomState(seed)
    x = (rs.randn(n, c) * 3).astype(dtype)
    t = rs.randint(0, c, n).astype(np.int64)
    t[rs.permutation(n)[:ignore]] = -100
    return x, t


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("n,c,ignore", [(16, 10, 0), (128, 10, 0), (7, 3, 2), (5, 1, 0), (1, 4, 0), (9, 6, 8)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_and_gradients_match_torch(fn, reduction, n, c, ignore, dtype):
    x, t = _inputs(n, c, dtype, seed=n + c, ignore=ignore)
    if fn == "nll_loss":
        x = np.log(np.exp(x) / np.exp(x).sum(1, keepdims=True)).astype(dtype)
    la, lb, a, b = _run(fn, x, t, reduction=reduction)
    assert isinstance(la.grad_fn, ClassIndexLoss) and not la.grad_fn.general
    assert la.grad_fn.name() == lb.grad_fn.name()
    _close(la, lb, a, b, dtype)


def test_module_takes_fast_path_and_matches_torch():
    x, t = _inputs(16, 10, ignore=3)
    a, ta, b, tb = _pair(x, t)
    la = disttorch.nn.CrossEntropyLoss()(a, ta)
    lb = torch.nn.CrossEntropyLoss()(b, tb)
    assert isinstance(la.grad_fn, ClassIndexLoss)
    la.backward()
    lb.backward()
    _close(la, lb, a, b)


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_all_targets_ignored(fn, reduction):
    x, t = _inputs(4, 5)
    t[:] = -100
    la, lb, a, b = _run(fn, x, t, reduction=reduction)
    assert np.isnan(lb.item()) == (reduction == "mean")
    np.testing.assert_array_equal(np.isnan(la.detach().numpy()), np.isnan(lb.detach().numpy()))
    if reduction == "sum":
        assert la.item() == lb.item() == 0.0
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())  # zero gradients, as PyTorch's


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_other_negative_ignore_index(fn):
    x, t = _inputs(8, 4)
    t[[1, 5]] = -3
    la, lb, a, b = _run(fn, x, t, ignore_index=-3)
    assert isinstance(la.grad_fn, ClassIndexLoss) and not la.grad_fn.general
    _close(la, lb, a, b)


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("bad", [10, -1, -100])
def test_out_of_range_targets_raise_as_torch(fn, bad):
    x, t = _inputs(6, 10)
    t[2] = bad
    kw = {"ignore_index": -5} if bad == -100 else {}  # -100 is out of range once it is not the ignore_index
    t[4] = -5 if kw else t[4]  # with an ignored row too, so the masked branch does the check
    a, ta, b, tb = _pair(x, t)
    with pytest.raises(IndexError) as eb:
        getattr(torch.nn.functional, fn)(b, tb, **kw)
    with pytest.raises(IndexError, match=f"Target {bad} is out of bounds."):
        getattr(disttorch.nn.functional, fn)(a, ta, **kw)
    assert str(bad) in str(eb.value)


@pytest.mark.parametrize("row", [[np.inf, 0.0, 1.0], [-np.inf, -np.inf, -np.inf], [np.nan, 0.0, 1.0]])
def test_non_finite_logits_take_the_general_path(row):
    x, t = _inputs(3, 3)
    x[1] = row
    a, ta = disttorch.tensor(x, requires_grad=True), disttorch.from_numpy(t)
    la = disttorch.nn.functional.cross_entropy(a, ta)
    assert la.grad_fn.general
    la.backward()
    a2 = disttorch.tensor(x, requires_grad=True)
    ref = ClassLoss.apply(a2, ta, None, axis=1, ls=0.0, ii=-100, reduction="mean", logits=True, probs=False,
                          ndim=2)
    ref.backward()
    np.testing.assert_array_equal(la.detach().numpy(), ref.detach().numpy())
    np.testing.assert_array_equal(a.grad.numpy(), a2.grad.numpy())


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("ignore", [0, 2])
def test_gradcheck_and_second_order(fn, reduction, ignore):
    x, t = _inputs(5, 4, np.float64, ignore=ignore)
    tt = disttorch.from_numpy(t)
    f = getattr(disttorch.nn.functional, fn)
    xd = disttorch.tensor(x, requires_grad=True)
    assert disttorch.autograd.gradcheck(lambda a: f(a, tt, reduction=reduction), (xd,))
    assert disttorch.autograd.gradgradcheck(lambda a: f(a, tt, reduction=reduction), (xd,))
    # second-order values against PyTorch
    a, b = disttorch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ga,) = disttorch.autograd.grad(f(a, tt, reduction=reduction), a, create_graph=True)
    (gb,) = torch.autograd.grad(getattr(torch.nn.functional, fn)(b, torch.from_numpy(t), reduction=reduction), b,
                                create_graph=True)
    np.testing.assert_allclose(ga.detach().numpy(), gb.detach().numpy(), rtol=1e-10, atol=1e-12)
    if fn == "nll_loss":  # its gradient is constant in the input (the general path's too, gives no graph)
        return
    w = np.random.RandomState(1).randn(*x.shape)
    (ga * disttorch.tensor(w)).sum().backward()
    (gb * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ga.detach().numpy(), gb.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_retain_graph_backward_twice():
    x, t = _inputs(6, 5, ignore=1)
    a, ta, b, tb = _pair(x, t)
    la = disttorch.nn.functional.cross_entropy(a, ta)
    lb = torch.nn.functional.cross_entropy(b, tb)
    for _ in range(2):
        la.backward(retain_graph=True)
        lb.backward(retain_graph=True)
    _close(la, lb, a, b)


def test_non_contiguous_target_and_scaled_grad():
    x, _ = _inputs(8, 6)
    t = np.random.RandomState(3).randint(0, 6, 16).astype(np.int64)[::2]
    a, b = disttorch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    la = disttorch.nn.functional.cross_entropy(a, disttorch.from_numpy(t))
    lb = torch.nn.functional.cross_entropy(b, torch.from_numpy(t.copy()))
    assert isinstance(la.grad_fn, ClassIndexLoss)
    (la * 3).backward()
    (lb * 3).backward()
    _close(la, lb, a, b)


@pytest.mark.parametrize("kw", [{"label_smoothing": 0.1}, {"reduction": "none"}, {"ignore_index": 2},
                                {"weight": "w"}])
def test_other_arguments_keep_the_general_path(kw):
    x, t = _inputs(6, 4)
    if "weight" in kw:
        kw = {"weight": np.arange(1, 5, dtype=np.float32)}
    a, ta, b, tb = _pair(x, t)
    kwa = {k: disttorch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    kwb = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    la = disttorch.nn.functional.cross_entropy(a, ta, **kwa)
    lb = torch.nn.functional.cross_entropy(b, tb, **kwb)
    assert isinstance(la.grad_fn, ClassLoss)
    la.sum().backward()
    lb.sum().backward()
    np.testing.assert_allclose(la.detach().numpy(), lb.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(os.environ.get("DISTTORCH_FAKE_CUDA", "") in ("", "0") and not disttorch.cuda.is_available(),
                    reason="needs a cuda device or the cupy stand-in (DISTTORCH_FAKE_CUDA=1)")
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_cuda_keeps_the_general_path(fn):
    x, t = _inputs(6, 5, ignore=2)
    a = disttorch.tensor(x, device="cuda", requires_grad=True)
    la = getattr(disttorch.nn.functional, fn)(a, disttorch.from_numpy(t).to("cuda"))
    assert isinstance(la.grad_fn, ClassLoss)
    la.backward()
    b = torch.tensor(x, requires_grad=True)
    lb = getattr(torch.nn.functional, fn)(b, torch.from_numpy(t))
    lb.backward()
    np.testing.assert_allclose(la.detach().cpu().numpy(), lb.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("ignore", [0, 2])
def test_transposed_and_sliced_inputs(fn, ignore):
    x, t = _inputs(7, 12, ignore=ignore)
    for view in (lambda a: a.t().contiguous().t()[:, :], lambda a: a[:, 2:9]):  # column-major; strided rows
        a, b = disttorch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        va, vb = view(a), view(b)
        tt = np.minimum(t, va.shape[1] - 1) if ignore == 0 else np.where(t < 0, t, np.minimum(t, va.shape[1] - 1))
        la = getattr(disttorch.nn.functional, fn)(va, disttorch.from_numpy(tt))
        lb = getattr(torch.nn.functional, fn)(vb, torch.from_numpy(tt))
        assert isinstance(la.grad_fn, ClassIndexLoss)
        la.backward()
        lb.backward()
        _close(la, lb, a, b)
