"""grad_fn._saved_<name> / _raw_saved_<name> and the saved-tensors hooks, against PyTorch on the same inputs."""
import os

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

LIBS = (torch, disttorch)


def _inputs(lib):
    rng = np.random.RandomState(0)
    a = lib.tensor(rng.standard_normal((3, 4)), dtype=lib.float64, requires_grad=True)
    b = lib.tensor(rng.standard_normal((3, 4)), dtype=lib.float64, requires_grad=True)
    w = lib.tensor(rng.standard_normal((5, 4)), dtype=lib.float64, requires_grad=True)
    bias = lib.tensor(rng.standard_normal(5), dtype=lib.float64, requires_grad=True)
    img = lib.tensor(rng.standard_normal((1, 2, 5, 5)), dtype=lib.float64, requires_grad=True)
    k = lib.tensor(rng.standard_normal((3, 2, 3, 3)), dtype=lib.float64, requires_grad=True)
    return a, b, w, bias, img, k


CASES = {
    "mul": lambda lib, a, b, w, bias, img, k: a * b,
    "mul_nograd_other": lambda lib, a, b, w, bias, img, k: a * b.detach(),
    "mul_number": lambda lib, a, b, w, bias, img, k: a * 2,
    "div": lambda lib, a, b, w, bias, img, k: a / b,
    "pow_int": lambda lib, a, b, w, bias, img, k: a.pow(2),
    "pow_float": lambda lib, a, b, w, bias, img, k: a.abs().pow(2.5),
    "pow_tensor": lambda lib, a, b, w, bias, img, k: a.abs().pow(b),
    "exp": lambda lib, a, b, w, bias, img, k: a.exp(),
    "sin": lambda lib, a, b, w, bias, img, k: a.sin(),
    "cos": lambda lib, a, b, w, bias, img, k: a.cos(),
    "sum": lambda lib, a, b, w, bias, img, k: a.sum(),
    "sum_dim": lambda lib, a, b, w, bias, img, k: a.sum(1, keepdim=True),
    "mean": lambda lib, a, b, w, bias, img, k: a.mean(),
    "mean_dim": lambda lib, a, b, w, bias, img, k: a.mean(0),
    "mm": lambda lib, a, b, w, bias, img, k: a.mm(w.t()),
    "matmul": lambda lib, a, b, w, bias, img, k: a @ w.t(),
    "mv": lambda lib, a, b, w, bias, img, k: a @ b[0],
    "bmm": lambda lib, a, b, w, bias, img, k: a.unsqueeze(0).bmm(w.t().unsqueeze(0)),
    "linear": lambda lib, a, b, w, bias, img, k: lib.nn.functional.linear(a, w, bias),
    "linear_nobias": lambda lib, a, b, w, bias, img, k: lib.nn.functional.linear(a, w),
    "addmm": lambda lib, a, b, w, bias, img, k: lib.addmm(bias, a, w.t()),
    "relu": lambda lib, a, b, w, bias, img, k: a.relu(),
    "threshold": lambda lib, a, b, w, bias, img, k: lib.nn.functional.threshold(a, 0.1, 0.0),
    "sigmoid": lambda lib, a, b, w, bias, img, k: a.sigmoid(),
    "tanh": lambda lib, a, b, w, bias, img, k: a.tanh(),
    "softmax": lambda lib, a, b, w, bias, img, k: a.softmax(1),
    "log_softmax": lambda lib, a, b, w, bias, img, k: a.log_softmax(0),
    "gelu": lambda lib, a, b, w, bias, img, k: lib.nn.functional.gelu(a, approximate="tanh"),
    "leaky_relu": lambda lib, a, b, w, bias, img, k: lib.nn.functional.leaky_relu(a, 0.2),
    "conv2d": lambda lib, a, b, w, bias, img, k: lib.nn.functional.conv2d(img, k, stride=2, padding=1),
}
# metadata PyTorch keeps that disttorch does not expose
_NOT_EXPOSED = ("_sym_strides", "_bias_sym_sizes_opt", "_output_padding", "_saved_mat1_sym_sizes",
                "_saved_mat2_sym_sizes", "_saved_self_sym_sizes")


def _saved_names(fn):
    return sorted(n for n in dir(fn) if n.startswith(("_saved_", "_raw_saved_")))


def _same(x, y):
    if isinstance(x, torch.Tensor):
        assert isinstance(y, disttorch.Tensor), (x, y)
        np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy())
    elif isinstance(x, (tuple, list)):
        assert list(x) == list(y)
    else:
        assert x == y, (x, y)


@pytest.mark.parametrize("case", sorted(CASES))
def test_saved_values_match_torch(case):
    yt, yd = (CASES[case](lib, *_inputs(lib)) for lib in LIBS)
    ft, fd = yt.grad_fn, yd.grad_fn
    assert fd.name() == ft.name() or case in ("bmm",)
    names_t = [n for n in _saved_names(ft) if not any(s in n for s in _NOT_EXPOSED)]
    names_d = _saved_names(fd)
    for name in names_t:
        if case == "sum" or case == "mean":  # the sizes are exposed for the reductions
            pass
        assert name in names_d, (case, name, names_d)
        if name.startswith("_raw_saved_"):
            assert type(getattr(fd, name)).__name__ == "SavedTensor"
            continue
        vt, vd = getattr(ft, name), getattr(fd, name)
        if vt is None:
            assert vd is None, (case, name)
        else:
            _same(vt, vd)


@pytest.mark.parametrize("case", ["sum", "sum_dim", "mean", "mean_dim"])
def test_reduction_metadata(case):
    yt, yd = (CASES[case](lib, *_inputs(lib)) for lib in LIBS)
    for name in _saved_names(yt.grad_fn):
        _same(getattr(yt.grad_fn, name), getattr(yd.grad_fn, name))


@pytest.mark.parametrize("case", ["mul", "exp", "sin", "relu", "mm", "linear", "conv2d", "softmax", "pow_tensor"])
def test_saved_after_backward_is_freed(case):
    msgs = []
    for lib in LIBS:
        y = CASES[case](lib, *_inputs(lib))
        name = next(n for n in _saved_names(y.grad_fn) if n.startswith("_raw_saved_")).replace("_raw", "")
        getattr(y.grad_fn, name)  # readable before backward
        y.sum().backward()
        with pytest.raises(RuntimeError) as err:
            getattr(y.grad_fn, name)
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]
    assert "Trying to backward through the graph a second time" in msgs[1]


def test_retain_graph_keeps_saved():
    for lib in LIBS:
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        y = a.exp()
        y.sum().backward(retain_graph=True)
        assert y.grad_fn._saved_result.tolist() == pytest.approx(np.exp([1.0, 2.0]).tolist())


def test_non_tensor_metadata_survives_backward():
    got = []
    for lib in LIBS:
        a = lib.ones(2, 3, requires_grad=True)
        y = a.pow(2)
        z = a.sum(1)
        (y.sum() + z.sum()).backward()
        got.append((y.grad_fn._saved_exponent, tuple(z.grad_fn._saved_dim), z.grad_fn._saved_keepdim))
    assert got[0] == got[1]


# -- hooks ------------------------------------------------------------------------------------------------------
def _count(lib, case):
    calls = {"pack": 0, "unpack": 0}

    def pack(t):
        calls["pack"] += 1
        return t

    def unpack(t):
        calls["unpack"] += 1
        return t

    inputs = _inputs(lib)
    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = CASES[case](lib, *inputs)
        packed = calls["pack"]
        y.sum().backward()
    grads = [t.grad.numpy().copy() if t.grad is not None else None for t in inputs]
    return packed, calls["pack"], calls["unpack"], grads


@pytest.mark.parametrize("case", ["mul", "mul_nograd_other", "mul_number", "div", "pow_int", "pow_float", "exp",
                                  "sin", "sum", "mean", "mm", "mv", "linear", "linear_nobias", "addmm", "relu",
                                  "sigmoid", "tanh", "softmax", "log_softmax", "threshold", "conv2d"])
def test_hook_call_counts_and_gradients_match_torch(case):
    (pt, pt_end, ut, gt), (pd, pd_end, ud, gd) = (_count(lib, case) for lib in LIBS)
    # sum()'s own node saves nothing; the counts are those of the case's op
    assert (pd, pd_end, ud) == (pt, pt_end, ut), case
    for x, y in zip(gt, gd):
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_allclose(y, x)


# more two-input nodes whose pack order PyTorch fixes (other first, or input order for dot/mv/losses)
ORDER_CASES = {
    "atan2": lambda lib, a, b, w, bias, img, k: lib.atan2(a, b),
    "maximum": lambda lib, a, b, w, bias, img, k: lib.maximum(a, b),
    "hypot": lambda lib, a, b, w, bias, img, k: lib.hypot(a, b),
    "dot": lambda lib, a, b, w, bias, img, k: lib.dot(a[0], b[0]),
    "mse_loss": lambda lib, a, b, w, bias, img, k: lib.nn.functional.mse_loss(a, b),
    "smooth_l1_loss": lambda lib, a, b, w, bias, img, k: lib.nn.functional.smooth_l1_loss(a, b),
    **CASES,
}


def _order(lib, case):
    """Which of the case's inputs (by position, -1: none of them) each pack and unpack call saw, in call order."""
    inputs = _inputs(lib)
    log = []

    def which(t):  # PyTorch's linear saves the weight transposed: matched as the weight
        forms = [(i, y) for i, x in enumerate(inputs) for y in ((x, x.t()) if x.dim() == 2 else (x,))]
        return next((i for i, y in forms if t.shape == y.shape and lib.equal(t, y)), -1)

    def pack(t):
        log.append(("pack", which(t)))
        return t

    def unpack(t):
        log.append(("unpack", which(t)))
        return t

    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = ORDER_CASES[case](lib, *inputs)
    y.sum().backward()
    return log


@pytest.mark.parametrize("case", sorted(ORDER_CASES))
def test_pack_and_unpack_order_match_torch(case):
    # a binary op packs `other` before `self` (the tutorial on saved-tensor hooks prints this order)
    assert _order(disttorch, case) == _order(torch, case)


def test_unpack_counts_on_introspection():
    got = []
    for lib in LIBS:
        calls = []
        a = lib.ones(3, requires_grad=True)
        b = lib.ones(3)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: (calls.append("p"), t)[1],
                                                    lambda t: (calls.append("u"), t)[1]):
            y = a * b
            got.append((y.grad_fn._saved_self is None, y.grad_fn._saved_other.tolist(), list(calls)))
    assert got[0] == got[1]


def test_pack_to_disk(tmp_path):
    """The tutorial's hooks: each saved tensor goes to a file, backward reads it back."""
    grads = []
    for lib in LIBS:
        names = []

        def pack(t):
            name = os.path.join(tmp_path, f"{lib.__name__}_{len(names)}.pt")
            lib.save(t.detach(), name)
            names.append(name)
            return name

        def unpack(name):
            return lib.load(name)

        a, b, w, bias, img, k = _inputs(lib)
        with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = lib.nn.functional.linear(a.sin() * b, w, bias).relu().pow(2).sum()
        y.backward()
        grads.append([t.grad.numpy() for t in (a, b, w, bias)] + [len(names)])
    for x, y in zip(*grads):
        np.testing.assert_allclose(y, x)


def test_save_on_cpu_and_hooks_outside_are_not_called():
    grads = []
    for lib in LIBS:
        a, b, w, bias, img, k = _inputs(lib)
        with lib.autograd.graph.save_on_cpu(pin_memory=False):
            y = (lib.nn.functional.conv2d(img, k).tanh() * 3).sum() + (a.exp() * b).sum()
        y.backward()
        grads.append([t.grad.numpy() for t in (a, b, img, k)])
    for x, y in zip(*grads):
        np.testing.assert_allclose(y, x)
    calls = []
    with disttorch.autograd.graph.saved_tensors_hooks(lambda t: calls.append(1) or t, lambda t: t):
        pass
    disttorch.ones(2, requires_grad=True).exp().sum().backward()
    assert calls == []


def test_innermost_hooks_win():
    got = []
    for lib in LIBS:
        log = []
        hooks = lib.autograd.graph.saved_tensors_hooks
        a = lib.ones(2, requires_grad=True)
        with hooks(lambda t: (log.append("outer"), t)[1], lambda t: t):
            with hooks(lambda t: (log.append("inner"), t)[1], lambda t: t):
                a.exp()
            a.sin()
        got.append(log)
    assert got[0] == got[1] == ["inner", "outer"]


def test_disable_saved_tensors_hooks():
    for lib in LIBS:
        graph = lib.autograd.graph
        with graph.disable_saved_tensors_hooks("no hooks here"):
            with pytest.raises(RuntimeError, match="no hooks here"):
                with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                    pass
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            with pytest.raises(RuntimeError, match="no hooks here"):
                with graph.disable_saved_tensors_hooks("no hooks here"):
                    pass
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):  # usable again after the block
            pass


def test_unpack_must_return_a_tensor():
    msgs = []
    for lib in LIBS:
        a = lib.ones(2, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: 1, lambda t: t):
            y = a.sin()
        with pytest.raises(TypeError) as err:
            y.sum().backward()
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]


def test_raw_saved_register_hooks():
    got = []
    for lib in LIBS:
        log = []
        a = lib.tensor([0.5, 1.5], requires_grad=True)
        y = a.sin()
        raw = y.grad_fn._raw_saved_self
        raw.register_hooks(lambda t: (log.append("p"), t * 1)[1], lambda t: (log.append("u"), t)[1])
        errors = []
        with pytest.raises(RuntimeError) as err:
            raw.register_hooks(lambda t: t, lambda t: t)
        errors.append(str(err.value))
        value = y.grad_fn._saved_self.tolist()
        y.sum().backward()
        with pytest.raises(RuntimeError) as err:
            raw.register_hooks(lambda t: t, lambda t: t)
        errors.append(str(err.value))
        got.append((list(log), value, a.grad.tolist(), errors))
    assert got[0] == got[1]


def test_raw_saved_of_default_hooked_tensor_refuses_hooks():
    msgs = []
    for lib in LIBS:
        a = lib.ones(2, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            raw = a.exp().grad_fn._raw_saved_result
            with pytest.raises(RuntimeError) as err:
                raw.register_hooks(lambda t: t, lambda t: t)
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]


def test_gradcheck_under_hooks():
    a = disttorch.randn(3, 4, dtype=disttorch.float64, requires_grad=True)
    w = disttorch.randn(5, 4, dtype=disttorch.float64, requires_grad=True)

    def f(a, w):
        with disttorch.autograd.graph.saved_tensors_hooks(lambda t: t.clone(), lambda t: t):
            return (disttorch.nn.functional.linear(a.tanh(), w).exp() / (1 + a.sum())).softmax(1)

    assert disttorch.autograd.gradcheck(f, (a, w))


# -- register_multi_grad_hook -------------------------------------------------------------------------------------
def _multi_log(lib):
    a, b, c = (lib.ones(2, requires_grad=True) for _ in range(3))
    log = []
    graph = lib.autograd.graph
    h = graph.register_multi_grad_hook((a, b, c), lambda gs: log.append(
        ("all", [None if g is None else g.tolist() for g in gs])))
    h2 = graph.register_multi_grad_hook((a, b), lambda g: log.append(("any", g.tolist())), mode="any")
    (a * 2 + b * 3).sum().backward()
    (a * 2).sum().backward()
    h.remove()
    h2.remove()
    (a * 2).sum().backward()
    with pytest.raises(ValueError) as err:
        graph.register_multi_grad_hook((a,), lambda g: None, mode="x")
    log.append(str(err.value))
    return log


def test_register_multi_grad_hook_matches_torch():
    assert _multi_log(torch) == _multi_log(disttorch)


@pytest.mark.skipif(not disttorch.cuda.is_available(), reason="needs a cuda device (or the fake-cuda stand-in)")
def test_save_on_cpu_keeps_cuda_tensors_on_the_host():
    a = disttorch.randn(3, 4, dtype=disttorch.float64, requires_grad=True)
    ac = a.detach().cuda().requires_grad_(True)
    with disttorch.autograd.graph.save_on_cpu():
        y = (ac.sin() * ac).exp().sum()
        _, (device, kept), _ = y.grad_fn.next_functions[0][0]._packed_out  # ExpBackward0's packed output
    y.backward()
    (a.sin() * a).exp().sum().backward()
    assert (device.type, kept.device.type) == ("cuda", "cpu")
    assert ac.grad.device.type == "cuda"
    np.testing.assert_allclose(ac.grad.cpu().numpy(), a.grad.numpy())


def _function_log(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            y = x * x * x * w
            ctx.save_for_backward(x, w, y)
            return y

        @staticmethod
        def backward(ctx, g):
            x, w, y = ctx.saved_tensors
            return g * 3 * x * x * w, g * y / w

    log = []
    x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    w = lib.tensor([0.5, 3.0], dtype=lib.float64, requires_grad=True)
    with lib.autograd.graph.saved_tensors_hooks(lambda t: (log.append(("p", t.tolist())), t * 1)[1],
                                                lambda t: (log.append(("u", t.tolist())), t)[1]):
        y = Cube.apply(x, w)
    y.sum().backward()
    return log, x.grad.tolist(), w.grad.tolist()


def test_custom_function_saved_tensors_go_through_hooks():
    assert _function_log(torch) == _function_log(disttorch)
