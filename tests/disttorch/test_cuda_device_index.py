"""cuda device indices, cpu scalars, linalg errors and sampling on cuda, compared with PyTorch on the cpu.

Run on the strict cupy stand-in (DISTTORCH_FAKE_CUDA=1: two devices, a kernel on an array of another device than
the current one raises as without peer access) or on real GPUs; each test fails without its fix.
"""
import numpy as np
import pytest
from conftest import CUDA

import disttorch

torch = pytest.importorskip("torch")

needs_cuda = pytest.mark.skipif(not CUDA, reason="no GPU here (DISTTORCH_FAKE_CUDA=1 runs these on the stand-in)")
needs_two = pytest.mark.skipif(not CUDA or disttorch.cuda.device_count() < 2, reason="needs two cuda devices")

_X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


def _np(t):
    return t.detach().cpu().numpy()


def _graph(lib, x):
    """Ops with Python-number constants, a multi-output node whose second output gets no gradient, a reduction."""
    y = (x * x + 2.0).exp() * 0.1 - 1.0 / (x.abs() + 1.0)
    values, _ = y.max(dim=1)
    return (values.sum() + (3.0 - x).clamp(min=1.0).sum() + lib.where(x > 0, x, 2.0 * x).pow(2).sum())


# -- 1. forward and backward run on the inputs' device, not the current one ---------------------------------------
@needs_two
def test_backward_on_cuda1_while_cuda0_is_current():
    xt = torch.tensor(_X, requires_grad=True)
    _graph(torch, xt).backward()
    with disttorch.cuda.device(0):
        x = disttorch.tensor(_X, device="cuda:1", requires_grad=True)
        loss = _graph(disttorch, x)
        assert loss.device == disttorch.device("cuda:1")
        loss.backward()  # the seed, the zeros of the unused max indices and every constant on cuda:1
    assert x.grad.device == disttorch.device("cuda:1")
    np.testing.assert_allclose(_np(loss), _graph(torch, xt).item(), rtol=1e-12)
    np.testing.assert_allclose(_np(x.grad), xt.grad.numpy(), rtol=1e-12)


@needs_two
def test_double_backward_on_cuda1_while_cuda0_is_current():
    xt = torch.tensor(_X, requires_grad=True)
    (gt,) = torch.autograd.grad(_graph(torch, xt), xt, create_graph=True)
    (ggt,) = torch.autograd.grad((gt * gt).sum(), xt)
    with disttorch.cuda.device(0):
        x = disttorch.tensor(_X, device="cuda:1", requires_grad=True)
        (g,) = disttorch.autograd.grad(_graph(disttorch, x), x, create_graph=True)
        (gg,) = disttorch.autograd.grad((g * g).sum(), x)
    assert g.device == gg.device == disttorch.device("cuda:1")
    np.testing.assert_allclose(_np(g), gt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(_np(gg), ggt.numpy(), rtol=1e-10)


@needs_two
def test_fast_paths_and_in_place_on_cuda1_while_cuda0_is_current():
    a_np, b_np = _X, _X[::-1].copy()
    with disttorch.cuda.device(0):
        a, b = disttorch.tensor(a_np, device="cuda:1"), disttorch.tensor(b_np, device="cuda:1")
        results = {"a*b": a * b, "a+2": a + 2.0, "2-a": 2.0 - a, "a<b": a < b, "a.add_(b)": a.clone().add_(b),
                   "a.mul_(3)": a.clone().mul_(3.0), "any": (a > 1).any(), "one_hot": disttorch.nn.functional.one_hot(
                       disttorch.tensor([0, 2], device="cuda:1"), 3)}
    at, bt = torch.tensor(a_np), torch.tensor(b_np)
    expected = {"a*b": at * bt, "a+2": at + 2.0, "2-a": 2.0 - at, "a<b": at < bt, "a.add_(b)": at.clone().add_(bt),
                "a.mul_(3)": at.clone().mul_(3.0), "any": (at > 1).any(),
                "one_hot": torch.nn.functional.one_hot(torch.tensor([0, 2]), 3)}
    for key, r in results.items():
        assert r.device == disttorch.device("cuda:1"), key
        np.testing.assert_array_equal(_np(r), expected[key].numpy(), err_msg=key)


# -- 2. two indices of one device type never mix -----------------------------------------------------------------
_MIX = {
    "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "lt": lambda a, b: a < b, "eq": lambda a, b: a.eq(b),
    "maximum": lambda a, b: disttorch.maximum(a, b), "matmul": lambda a, b: a @ b,
    "cat": lambda a, b: disttorch.cat([a, b]), "add_": lambda a, b: a.add_(b),
    "mul with grad": lambda a, b: a.requires_grad_() * b, "0-dim cuda:1": lambda a, b: a + b.sum(),
}


@needs_two
@pytest.mark.parametrize("op", list(_MIX))
def test_cuda0_with_cuda1_raises_pytorchs_error(op):
    a, b = disttorch.ones(2, 2, device="cuda:0"), disttorch.ones(2, 2, device="cuda:1")
    with pytest.raises(RuntimeError) as err:
        _MIX[op](a, b)
    assert str(err.value) == ("Expected all tensors to be on the same device, but found at least two devices, "
                              "cuda:0 and cuda:1!")


# -- 3. ToCopy.backward returns the gradient to the source device index ------------------------------------------
@needs_two
@pytest.mark.parametrize("src,dst", [("cuda:1", "cuda:0"), ("cuda:0", "cuda:1"), ("cpu", "cuda:1"),
                                     ("cuda:1", "cpu"), ("cuda:1", "cuda:1")])
def test_to_backward_lands_on_the_source_device(src, dst):
    xt = torch.tensor(_X, requires_grad=True)
    (xt.float() * xt.float()).sum().backward()
    x = disttorch.tensor(_X, device=src, requires_grad=True)
    y = x.to(dst, disttorch.float32)
    (y * y).sum().backward()
    assert x.grad.device == disttorch.device(src) and x.grad.dtype == disttorch.float64
    np.testing.assert_allclose(_np(x.grad), xt.grad.numpy(), rtol=1e-6)


# -- 4. singular inverses and solves, matrices that are not positive-definite: PyTorch's errors ------------------
_SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])
_BATCH = np.stack([np.eye(2), _SINGULAR])
_LINALG = {
    "linalg.inv": lambda lib, a: lib.linalg.inv(a), "inverse": lambda lib, a: lib.inverse(a),
    "linalg.inv_ex": lambda lib, a: lib.linalg.inv_ex(a, check_errors=True),
    "linalg.solve": lambda lib, a: lib.linalg.solve(a, lib.ones(a.shape[:-1], dtype=a.dtype, device=a.device)),
    "linalg.cholesky": lambda lib, a: lib.linalg.cholesky(a), "cholesky": lambda lib, a: lib.cholesky(a),
    "linalg.cholesky_ex": lambda lib, a: lib.linalg.cholesky_ex(a, check_errors=True),
}


@pytest.mark.parametrize("fn", list(_LINALG))
@pytest.mark.parametrize("batched", [False, True])
def test_singular_linalg_raises_pytorchs_error(device, fn, batched):
    a = _BATCH if batched else _SINGULAR
    with pytest.raises(RuntimeError) as expected:
        _LINALG[fn](torch, torch.tensor(a))
    with pytest.raises(disttorch.linalg.LinAlgError) as err:
        _LINALG[fn](disttorch, disttorch.tensor(a, device=device))
    assert str(err.value) == str(expected.value)


@pytest.mark.parametrize("fn", list(_LINALG))
def test_regular_linalg_on_device_matches_torch(device, fn):
    a = np.array([[4.0, 1.0], [1.0, 3.0]])
    ours, theirs = _LINALG[fn](disttorch, disttorch.tensor(a, device=device)), _LINALG[fn](torch, torch.tensor(a))
    ours, theirs = (ours[0], theirs[0]) if fn.endswith("_ex") else (ours, theirs)
    np.testing.assert_allclose(_np(ours), theirs.numpy(), rtol=1e-12)


# -- 5. a cpu 0-dim tensor or a numpy number joins a cuda tensor, in place or not ---------------------------------
_SCALAR_OPS = {
    "add_": lambda x, s: x.add_(s), "sub_": lambda x, s: x.sub_(s), "mul_": lambda x, s: x.mul_(s),
    "div_": lambda x, s: x.div_(s), "pow_": lambda x, s: x.pow_(s), "clamp_": lambda x, s: x.clamp_(min=s),
    "clamp_max_": lambda x, s: x.clamp_(max=s), "lt_": lambda x, s: x.lt_(s), "eq_": lambda x, s: x.eq_(s),
    "+=": lambda x, s: x.__iadd__(s), "s < x": lambda x, s: s < x, "s * x": lambda x, s: s * x,
    "maximum": lambda x, s: disttorch.maximum(x, s) if isinstance(x, disttorch.Tensor) else torch.maximum(x, s),
}


@pytest.mark.parametrize("op", list(_SCALAR_OPS))
@pytest.mark.parametrize("kind", ["cpu 0-dim tensor", "numpy float64"])
def test_cpu_scalar_joins_a_device_tensor(device, op, kind):
    if kind == "numpy float64" and op in ("maximum", "s < x", "s * x"):
        pytest.skip("not a case: torch.maximum takes tensors only; a numpy number on the left is numpy's operator")
    x_np = np.array([0.5, 1.5, 2.5], dtype=np.float32)

    def scalar(lib):
        return lib.tensor(1.5) if kind == "cpu 0-dim tensor" else np.float64(1.5)

    ours = _SCALAR_OPS[op](disttorch.tensor(x_np, device=device), scalar(disttorch))
    theirs = _SCALAR_OPS[op](torch.tensor(x_np), scalar(torch))
    assert ours.device.type == device and ours.dtype == getattr(disttorch, str(theirs.dtype).split(".")[1])
    np.testing.assert_allclose(_np(ours), theirs.numpy(), rtol=1e-6)


def test_cpu_scalar_bound_gets_its_gradient(device):
    xt, lot = torch.tensor([0.5, 1.5, 2.5], requires_grad=True), torch.tensor(1.0, requires_grad=True)
    xt.clamp(min=lot).sum().backward()
    x = disttorch.tensor([0.5, 1.5, 2.5], device=device, requires_grad=True)
    lo = disttorch.tensor(1.0, requires_grad=True)
    x.clamp(min=lo).sum().backward()
    np.testing.assert_allclose(_np(x.grad), xt.grad.numpy())
    np.testing.assert_allclose(_np(lo.grad), lot.grad.numpy())


# -- 6. distributions that sample from discrete laws, on the device ----------------------------------------------
_PROBS = np.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]])


@pytest.mark.parametrize("law", ["Categorical", "OneHotCategorical"])
def test_categorical_samples_on_the_device(device, law):
    n = 20000
    disttorch.manual_seed(0)
    s = getattr(disttorch.distributions, law)(probs=disttorch.tensor(_PROBS, device=device)).sample((n,))
    t = getattr(torch.distributions, law)(probs=torch.tensor(_PROBS)).sample((n,))
    assert s.device.type == device and tuple(s.shape) == tuple(t.shape) and str(s.dtype) == str(t.dtype)
    counts = _np(s).sum(0) if law == "OneHotCategorical" else np.stack(
        [np.bincount(_np(s)[:, i], minlength=3) for i in range(2)])
    np.testing.assert_allclose(counts / n, _PROBS, atol=0.015)  # about 5 standard deviations


@needs_two
def test_categorical_samples_on_cuda1_while_cuda0_is_current():
    with disttorch.cuda.device(0):
        d = disttorch.distributions.Categorical(probs=disttorch.tensor(_PROBS, device="cuda:1"))
        s = d.sample((5000,))
        assert s.device == disttorch.device("cuda:1")
    freq = np.stack([np.bincount(_np(s)[:, i], minlength=3) for i in range(2)]) / 5000
    np.testing.assert_allclose(freq, _PROBS, atol=0.03)


@pytest.mark.parametrize("law", ["Multinomial", "Binomial"])
def test_count_laws_sample_on_the_device(device, law):
    n = 4000
    disttorch.manual_seed(0)
    p = disttorch.tensor(_PROBS[0], device=device)
    d = getattr(disttorch.distributions, law)(10, probs=p)
    s = d.sample((n,))
    t = getattr(torch.distributions, law)(10, probs=torch.tensor(_PROBS[0]))
    assert s.device.type == device and tuple(s.shape) == tuple(t.sample((n,)).shape)
    np.testing.assert_allclose(_np(s).mean(0), t.mean.numpy(), atol=0.1)


# -- a whole training step on cuda:1 while cuda:0 is current -----------------------------------------------------
def _net(nn):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(7, 4)
            self.body = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.BatchNorm1d(6), nn.Linear(6, 3))

        def forward(self, idx):
            return self.body(self.emb(idx))

    return Net()


@needs_two
@pytest.mark.parametrize("opt", ["SGD", "Adam", "RMSprop"])
def test_training_steps_on_cuda1_while_cuda0_is_current(opt):
    kw = {"lr": 0.1, "momentum": 0.9} if opt == "SGD" else {"lr": 0.01}
    idx, target = np.array([0, 3, 6, 2, 5]), np.array([0, 2, 1, 1, 0])
    disttorch.manual_seed(0)
    model = _net(disttorch.nn)
    ref = _net(torch.nn)
    ref.load_state_dict({k: torch.tensor(_np(v)) for k, v in model.state_dict().items()})
    ref_opt = getattr(torch.optim, opt)(ref.parameters(), **kw)
    with disttorch.cuda.device(0):
        model = model.to("cuda:1")
        o = getattr(disttorch.optim, opt)(model.parameters(), **kw)
        i, y = disttorch.tensor(idx, device="cuda:1"), disttorch.tensor(target, device="cuda:1")
        for _ in range(3):
            o.zero_grad()
            loss = disttorch.nn.functional.cross_entropy(model(i), y)
            loss.backward()
            o.step()
            ref_opt.zero_grad()
            ref_loss = torch.nn.functional.cross_entropy(ref(torch.tensor(idx)), torch.tensor(target))
            ref_loss.backward()
            ref_opt.step()
            np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=1e-5)
    for (name, p), q in zip(model.state_dict().items(), ref.state_dict().values()):
        assert p.device == disttorch.device("cuda:1"), name
        np.testing.assert_allclose(_np(p), q.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)


@needs_cuda
def test_as_tensor_shares_a_cupy_array_and_tensor_copies_it():
    cupy = pytest.importorskip("cupy")
    with cupy.cuda.Device(0):
        arr = cupy.arange(4, dtype=cupy.float32)
    shared, copied = disttorch.as_tensor(arr), disttorch.tensor(arr, dtype=disttorch.float64)
    arr[0] = 9.0
    assert shared.device == copied.device == disttorch.device("cuda:0")
    np.testing.assert_array_equal(_np(shared), [9.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(_np(copied), [0.0, 1.0, 2.0, 3.0])
    assert copied.dtype == disttorch.float64
