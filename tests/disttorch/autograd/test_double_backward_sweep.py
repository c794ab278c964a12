"""Double backward against real PyTorch: ``autograd.grad(create_graph=True)`` then a gradient of those
gradients, for common ops and losses (whether the first gradient requires grad, and the second gradients), and
``gradgradcheck`` in float64 with both libraries."""

from __future__ import annotations

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

VEC_SHAPES = ((3, 4), (3, 4))
IMG_SHAPES = ((2, 2, 4, 4), (3, 2, 3, 3))


def _cases(lib):
    F = lib.nn.functional
    tgt = lambda: lib.tensor([1, 0, 3])
    return {
        "mse": (lambda x, y: F.mse_loss(x, y), "xy"),
        "cross_entropy": (lambda x, y: F.cross_entropy(x, tgt()), "x"),
        "cross_entropy_sum": (lambda x, y: F.cross_entropy(x, tgt(), reduction="sum"), "x"),
        "cross_entropy_weight": (
            lambda x, y: F.cross_entropy(x, tgt(), weight=lib.tensor([1.0, 2, 3, 4], dtype=x.dtype)),
            "x",
        ),
        "cross_entropy_ls": (lambda x, y: F.cross_entropy(x, tgt(), label_smoothing=0.1), "x"),
        "cross_entropy_probs": (lambda x, y: F.cross_entropy(x, y.softmax(1)), "xy"),
        "nll": (lambda x, y: F.nll_loss(x.log_softmax(1), tgt()), "x"),
        "nll_raw": (lambda x, y: F.nll_loss(x, tgt()), "x"),
        "bce_with_logits": (lambda x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid()), "xy"),
        "bce": (lambda x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid()), "xy"),
        "smooth_l1": (lambda x, y: F.smooth_l1_loss(x, y), "xy"),
        "huber": (lambda x, y: F.huber_loss(x, y, delta=0.5), "xy"),
        "l1": (lambda x, y: F.l1_loss(x, y), "xy"),
        "kl_div": (lambda x, y: F.kl_div(x.log_softmax(1), y.softmax(1), reduction="batchmean"), "xy"),
        "kl_div_log_target": (
            lambda x, y: F.kl_div(x.log_softmax(1), y.log_softmax(1), reduction="batchmean", log_target=True),
            "xy",
        ),
        "softmax": (lambda x, y: (x.softmax(1) * y).sum(), "xy"),
        "log_softmax": (lambda x, y: (x.log_softmax(1) * y).sum(), "xy"),
        "layer_norm": (lambda x, y: (F.layer_norm(x, (4,), y[0], y[1]) ** 2).sum(), "xy"),
        "gelu": (lambda x, y: (F.gelu(x) * y).sum(), "xy"),
        "gelu_tanh": (lambda x, y: (F.gelu(x, approximate="tanh") * y).sum(), "xy"),
        "silu": (lambda x, y: (F.silu(x) * y).sum(), "xy"),
        "tanh": (lambda x, y: (x.tanh() * y).sum(), "xy"),
        "sigmoid": (lambda x, y: (x.sigmoid() * y).sum(), "xy"),
        "relu": (lambda x, y: (x.relu() * y).sum(), "xy"),
        "elu": (lambda x, y: (F.elu(x) * y).sum(), "xy"),
        "softplus": (lambda x, y: (F.softplus(x) * y).sum(), "xy"),
        "leaky_relu": (lambda x, y: (F.leaky_relu(x, 0.1) * y).sum(), "xy"),
        "matmul": (lambda x, y: ((x @ y.T) ** 2).sum(), "xy"),
        "linear": (lambda x, y: (F.linear(x, y, y[:, 0]) ** 2).sum(), "xy"),
        "exp_log": (lambda x, y: (x.exp() * (y * y + 1).log()).sum(), "xy"),
        "pow_div": (lambda x, y: (x**3 / (1 + y * y)).sum(), "xy"),
        "logsumexp": (lambda x, y: (x * y).logsumexp(1).sum(), "xy"),
        "normalize": (lambda x, y: (F.normalize(x) * y).sum(), "xy"),
        "cosine_similarity": (lambda x, y: F.cosine_similarity(x, y).sum(), "xy"),
        "var_std": (lambda x, y: x.var(1).sum() + y.std(), "xy"),
        "norm": (lambda x, y: x.norm() * y.norm(dim=1).sum(), "xy"),
        "max_amax": (lambda x, y: (x.amax(1) * y.max(1)[0]).sum(), "xy"),
        "sdpa": (lambda x, y: (F.scaled_dot_product_attention(x[None], y[None], y[None]) ** 2).sum(), "xy"),
        "dropout_eval": (lambda x, y: (F.dropout(x, 0.3, training=False) * y).sum(), "xy"),
        "embedding": (lambda x, y: (F.embedding(lib.tensor([0, 2]), x) ** 2 * y[:2]).sum(), "xy"),
    }


def _img_cases(lib):
    F = lib.nn.functional
    return {
        "conv2d": (lambda x, w: (F.conv2d(x, w, padding=1) ** 2).sum(), "xw"),
        "conv2d_stride": (lambda x, w: (F.conv2d(x, w, stride=2) ** 2).sum(), "xw"),
        "conv_transpose2d": (lambda x, w: (F.conv_transpose2d(x, w.transpose(0, 1)[:, :2]) ** 2).sum(), "xw"),
        "max_pool2d": (lambda x, w: (F.max_pool2d(x * x, 2) ** 2).sum(), "x"),
        "avg_pool2d": (lambda x, w: (F.avg_pool2d(x * x, 2) ** 2).sum(), "x"),
        "adaptive_avg_pool2d": (lambda x, w: (F.adaptive_avg_pool2d(x * x, 1) ** 2).sum(), "x"),
        "batch_norm_train": (
            lambda x, w: (F.batch_norm(x, None, None, w[0, :, 0, 0], w[1, :, 0, 0], training=True) ** 3).sum(),
            "xw",
        ),
        "batch_norm_train_running": (
            lambda x, w: (
                F.batch_norm(x, lib.zeros(2, dtype=x.dtype), lib.ones(2, dtype=x.dtype), training=True) ** 3
            ).sum(),
            "x",
        ),
        "batch_norm_eval": (
            lambda x, w: (
                F.batch_norm(
                    x,
                    lib.zeros(2, dtype=x.dtype) + 0.1,
                    lib.ones(2, dtype=x.dtype) * 2,
                    w[0, :, 0, 0],
                    None,
                    training=False,
                )
                ** 3
            ).sum(),
            "xw",
        ),
        "group_norm": (lambda x, w: (F.group_norm(x, 2, w[0, :, 0, 0], w[1, :, 0, 0]) ** 3).sum(), "xw"),
        "instance_norm": (lambda x, w: (F.instance_norm(x) ** 3).sum(), "x"),
        "interpolate_bilinear": (lambda x, w: (F.interpolate(x, scale_factor=2, mode="bilinear") ** 2).sum(), "x"),
    }


def _all(lib):
    out = {k: (f, w, VEC_SHAPES) for k, (f, w) in _cases(lib).items()}
    out.update({k: (f, w, IMG_SHAPES) for k, (f, w) in _img_cases(lib).items()})
    return out


NAMES = sorted(_all(torch))


def _dense(g):
    if g is None:
        return None
    if isinstance(g, torch.Tensor):
        if g._is_zerotensor():  # PyTorch's lazily-zero gradient
            return np.zeros(tuple(g.shape))
        return g.detach().numpy()
    return g.detach().numpy()


def _double(lib, name):
    f, which, shapes = _all(lib)[name]
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal(shapes[0]), requires_grad=True)
    y = lib.tensor(rng.standard_normal(shapes[1]), requires_grad=True)
    ins = [x, y] if len(which) > 1 else [x]
    first = lib.autograd.grad(f(x, y), ins, create_graph=True)
    flags = [g.requires_grad for g in first]
    vs = [lib.tensor(rng.standard_normal(tuple(g.shape))) for g in first]
    terms = [(g * v).sum() for g, v in zip(first, vs) if g.requires_grad]
    second = None
    if terms:
        second = [_dense(g) for g in lib.autograd.grad(sum(terms), [x, y], allow_unused=True)]
    return flags, [_dense(g) for g in first], second


@pytest.mark.parametrize("name", NAMES)
def test_double_backward_as_pytorch(name):
    ours, theirs = _double(disttorch, name), _double(torch, name)
    assert ours[0] == theirs[0]  # which first gradients require grad
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)
    assert (ours[2] is None) == (theirs[2] is None)
    for a, b in zip(ours[2] or (), theirs[2] or ()):
        if a is None or b is None:  # unused in one, zeros in the other
            np.testing.assert_allclose(a if a is not None else 0, b if b is not None else 0, atol=1e-12)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)


# gradgradcheck where the second derivative is smooth at the test point; max-like ops and kinks excluded
_KINKED = {"l1", "relu", "leaky_relu", "max_amax", "max_pool2d"}


@pytest.mark.parametrize("name", [n for n in NAMES if n not in _KINKED])
def test_gradgradcheck_float64(name):
    for lib in (disttorch, torch):
        f, which, shapes = _all(lib)[name]
        rng = np.random.default_rng(1)
        x = lib.tensor(rng.standard_normal(shapes[0]), requires_grad=True)
        y = lib.tensor(rng.standard_normal(shapes[1]), requires_grad=len(which) > 1)
        # (PyTorch's own check in its fast mode: it only vouches that the case is well posed)
        fast = {"fast_mode": True} if lib is torch else {}
        assert lib.autograd.gradgradcheck(f, (x, y), eps=1e-6, atol=1e-5, rtol=1e-3, **fast), lib.__name__


def test_nll_loss_gradient_is_differentiable():
    """A gradient penalty through nll_loss of raw scores: the first gradient requires grad, as in PyTorch."""
    got = []
    for lib in (disttorch, torch):
        x = lib.tensor(np.random.default_rng(2).standard_normal((3, 4)), requires_grad=True)
        (g,) = lib.autograd.grad(lib.nn.functional.nll_loss(x, lib.tensor([1, 0, 3])), x, create_graph=True)
        (g.norm() ** 2).backward()
        got.append((g.grad_fn.name(), _dense(x.grad)))
    assert got[0][0] == got[1][0] == "NllLossBackwardBackward0"
    np.testing.assert_allclose(got[0][1], got[1][1])


def test_nll_loss_double_backward_on_device(device):
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((3, 4))
    results = []
    for lib, dev in ((disttorch, device), (torch, "cpu")):
        x = lib.tensor(x0, device=dev, requires_grad=True)
        target = lib.tensor([1, 0, 3], device=dev)
        for f in (lambda: lib.nn.functional.nll_loss(x, target),
                  lambda: lib.nn.functional.cross_entropy(x, target, label_smoothing=0.1)):
            (g,) = lib.autograd.grad(f(), x, create_graph=True)
            (gg,) = lib.autograd.grad((g * g).sum(), x)
            results.append((g.requires_grad, _dense(g.detach().cpu()), _dense(gg.cpu())))
    for ours, theirs in zip(results[:2], results[2:]):
        assert ours[0] == theirs[0] is True
        np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10)
        np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-10, atol=1e-14)
