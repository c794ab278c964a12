"""Batch / layer / group / instance norm against PyTorch: outputs, gradients of input and affine
parameters, running statistics over several steps, eval mode, state_dict keys, double backward."""
import numpy as np
import pytest
from oracle import assert_close, check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")


def _data(*shape, seed=0, dtype=np.float32):
    return (randn(*shape, seed=seed, dtype=np.float64) * 3 + 1).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs", [(4, 3), (4, 3, 5), (3, 3, 4, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_functional(xs, training, dtype, device):
    c = xs[1]
    rm, rv = randn(c, seed=5, dtype=dtype), (np.abs(randn(c, seed=6)) + 0.5).astype(dtype)
    stats = {}

    def f(t, x, w, b):
        r = (t.tensor(rm, device=x.device), t.tensor(rv, device=x.device))
        y = t.nn.functional.batch_norm(x, *r, w, b, training=training, momentum=0.3)
        stats[t.__name__] = r
        return y

    check(f, [_data(*xs, dtype=dtype), randn(c, seed=1, dtype=dtype), randn(c, seed=2, dtype=dtype)],
          rtol=1e-4 if dtype == np.float32 else None, device=device)
    for ours, theirs in zip(stats["disttorch"], stats["torch"]):
        assert_close(ours, theirs, 1e-5, 1e-6)


def test_batch_norm_without_running_stats_or_affine():
    check(lambda t, x: t.nn.functional.batch_norm(x, None, None, training=True), [_data(5, 3, 4)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ns", [((4, 3, 5), (5,)), ((4, 3, 5), (3, 5)), ((3, 5), (3, 5)), ((2, 3, 4, 5), [5])])
def test_layer_norm(xs, ns, dtype, device):
    shape = tuple(ns)
    check(lambda t, x, w, b: t.nn.functional.layer_norm(x, ns, w, b),
          [_data(*xs, dtype=dtype), randn(*shape, seed=1, dtype=dtype), randn(*shape, seed=2, dtype=dtype)],
          rtol=1e-4 if dtype == np.float32 else None, device=device)
    check(lambda t, x: t.nn.functional.layer_norm(x, ns, eps=1e-3), [_data(*xs, dtype=dtype)],
          rtol=1e-4 if dtype == np.float32 else None)


@pytest.mark.parametrize("xs,g", [((4, 6, 5), 3), ((4, 6, 2, 3), 2), ((4, 6), 3), ((2, 4, 3), 1)])
def test_group_norm(xs, g):
    check(lambda t, x, w, b: t.nn.functional.group_norm(x, g, w, b),
          [_data(*xs), randn(xs[1], seed=1), randn(xs[1], seed=2)], rtol=1e-4)


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm(use_input_stats):
    rm, rv = randn(3, seed=5, dtype=np.float64), np.abs(randn(3, seed=6, dtype=np.float64)) + 0.5
    stats = {}

    def f(t, x, w, b):
        r = (t.tensor(rm), t.tensor(rv))
        stats[t.__name__] = r
        return t.nn.functional.instance_norm(x, *r, w, b, use_input_stats=use_input_stats, momentum=0.2)

    check(f, [_data(4, 3, 5, 2, dtype=np.float64), randn(3, seed=1, dtype=np.float64),
              randn(3, seed=2, dtype=np.float64)])
    for ours, theirs in zip(stats["disttorch"], stats["torch"]):
        assert_close(ours, theirs, 1e-10, 1e-12)


@pytest.mark.parametrize("f,shapes", [
    (lambda t, x, w, b: t.nn.functional.batch_norm(x, None, None, w, b, training=True), [(4, 3, 2), (3,), (3,)]),
    (lambda t, x, w, b: t.nn.functional.layer_norm(x, (3, 2), w, b), [(4, 3, 2), (3, 2), (3, 2)]),
    (lambda t, x, w, b: t.nn.functional.group_norm(x, 2, w, b), [(3, 4, 2), (4,), (4,)]),
    (lambda t, x, w, b: t.nn.functional.batch_norm(x, t.zeros(3, dtype=t.float64), t.ones(3, dtype=t.float64), w,
                                                   b), [(4, 3, 2), (3,), (3,)]),
])
def test_gradcheck_and_double_backward(f, shapes):
    arrays = [randn(*s, seed=i, dtype=np.float64) for i, s in enumerate(shapes)]
    gradcheck(f, arrays)
    ts = [disttorch.tensor(a, requires_grad=True) for a in arrays]
    assert disttorch.autograd.gradgradcheck(lambda *xs: f(disttorch, *xs), ts)


def _copy_params(ours, theirs):
    for (n, p), (m, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == m
        p.data = disttorch.tensor(q.detach().numpy())


def _step(ours, theirs, x, seed):
    xo, xt = disttorch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    assert_close(yo, yt, 1e-4, 1e-5, "output")
    assert yo.grad_fn.name() == yt.grad_fn.name()
    g = randn(*yt.shape, seed=seed)
    (yo * disttorch.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    assert_close(xo.grad, xt.grad, 1e-4, 1e-4, "input grad")
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, q.grad, 1e-4, 1e-4, n)
        p.grad = q.grad = None


@pytest.mark.parametrize("ctor,xs", [
    (lambda nn: nn.BatchNorm1d(3), (5, 3)),
    (lambda nn: nn.BatchNorm1d(3, momentum=None), (5, 3, 4)),
    (lambda nn: nn.BatchNorm2d(3, momentum=0.25, eps=1e-3), (4, 3, 5, 2)),
    (lambda nn: nn.BatchNorm2d(3, affine=False), (4, 3, 2, 2)),
    (lambda nn: nn.BatchNorm2d(3, bias=False), (4, 3, 2, 2)),
    (lambda nn: nn.BatchNorm2d(3, track_running_stats=False), (4, 3, 2, 2)),
    (lambda nn: nn.InstanceNorm2d(3, affine=True, track_running_stats=True), (4, 3, 3, 2)),
    (lambda nn: nn.InstanceNorm1d(3), (3, 5)),
])
def test_batch_norm_modules_train_then_eval(ctor, xs):
    ours, theirs = ctor(disttorch.nn), ctor(torch.nn)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys())
    for (n, b), (m, c) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert n == m and str(b.dtype) == str(c.dtype)
    _copy_params(ours, theirs)
    for step in range(3):  # running statistics after several training steps
        _step(ours, theirs, _data(*xs, seed=step), 10 + step)
        for (n, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers()):
            assert_close(b, c, 1e-5, 1e-5, n)
    ours.eval()
    theirs.eval()
    _step(ours, theirs, _data(*xs, seed=7), 20)
    for (n, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert_close(b, c, 1e-5, 1e-5, n)


@pytest.mark.parametrize("ctor,xs", [
    (lambda nn: nn.LayerNorm(4), (2, 3, 4)),
    (lambda nn: nn.LayerNorm((3, 4), elementwise_affine=False), (2, 3, 4)),
    (lambda nn: nn.LayerNorm(4, bias=False, eps=1e-3), (5, 4)),
    (lambda nn: nn.GroupNorm(2, 4), (3, 4, 5)),
    (lambda nn: nn.GroupNorm(3, 6, affine=False), (2, 6, 2, 2)),
])
def test_layer_and_group_norm_modules(ctor, xs):
    ours, theirs = ctor(disttorch.nn), ctor(torch.nn)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys())
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.detach(), q.detach(), 0, 0, n)  # default init: ones / zeros
    theirs_params = list(theirs.parameters())
    with torch.no_grad():
        for q in theirs_params:
            q.normal_()
    _copy_params(ours, theirs)
    _step(ours, theirs, _data(*xs), 3)


def test_batch_norm_state():
    bn = disttorch.nn.BatchNorm2d(3)
    assert bn.num_batches_tracked.dtype == disttorch.int64 and bn.num_batches_tracked.item() == 0
    assert not bn.running_mean.requires_grad
    bn(disttorch.tensor(_data(2, 3, 2, 2)))
    bn(disttorch.tensor(_data(2, 3, 2, 2, seed=1)))
    assert bn.num_batches_tracked.item() == 2
    bn.reset_running_stats()
    assert bn.num_batches_tracked.item() == 0 and float(bn.running_var.sum()) == 3.0
    bn.eval()
    x = disttorch.tensor(_data(2, 3, 2, 2))
    assert_close(bn(x), torch.nn.functional.batch_norm(torch.tensor(x.numpy()), torch.zeros(3), torch.ones(3),
                                                       torch.ones(3), torch.zeros(3)), 1e-5, 1e-6)


@pytest.mark.parametrize("call,exc,msg", [
    (lambda t: t.nn.functional.batch_norm(t.ones(1, 3), t.zeros(3), t.ones(3), training=True), ValueError,
     r"Expected more than 1 value per channel when training, got input size torch.Size\(\[1, 3\]\)"),
    (lambda t: t.nn.functional.batch_norm(t.ones(2, 3), t.zeros(4), t.ones(4), training=True), RuntimeError,
     "running_mean should contain 3 elements not 4"),
    (lambda t: t.nn.BatchNorm2d(3)(t.ones(2, 3, 4)), ValueError, r"expected 4D input \(got 3D input\)"),
    (lambda t: t.nn.BatchNorm1d(3)(t.ones(2, 3, 4, 5)), ValueError, r"expected 2D or 3D input \(got 4D input\)"),
    (lambda t: t.nn.functional.layer_norm(t.ones(2, 3), (4,)), RuntimeError,
     r"Given normalized_shape=\[4\], expected input with shape \[\*, 4\], but got input of size\[2, 3\]"),
    (lambda t: t.nn.functional.layer_norm(t.ones(2, 3), 3), TypeError, "must be tuple of ints, not int"),
    (lambda t: t.nn.functional.group_norm(t.ones(2, 6, 3), 4), RuntimeError,
     "Expected number of channels in input to be divisible by num_groups"),
    (lambda t: t.nn.GroupNorm(4, 6), ValueError, r"num_channels \(6\) must be divisible by num_groups \(4\)"),
])
def test_errors_like_torch(call, exc, msg):
    for lib in (torch, disttorch):
        with pytest.raises(exc, match=msg):
            call(lib)
