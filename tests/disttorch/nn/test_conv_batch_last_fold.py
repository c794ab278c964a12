"""The batch-last col2im of conv's input gradient (and of conv_transpose's forward) against PyTorch, on shapes that
select it (groups 1, batch >= 8, output rows under 16 wide, many columns per position) and with strides,
dilations, padding, bias, float64 gradcheck."""
import math

import numpy as np
import pytest

import disttorch
from disttorch.nn._functional.conv import _batch_last_pays

torch = pytest.importorskip("torch")

F, TF = disttorch.nn.functional, torch.nn.functional


def _grads(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, **kw):
    rs = np.random.RandomState(1)
    res = []
    for lib, fn in ((disttorch, F.conv2d), (torch, TF.conv2d)):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        bt = lib.tensor(b, requires_grad=True) if b is not None else None
        y = fn(xt, wt, bt, **kw)
        gy = rs.randn(*y.shape).astype(x.dtype) if not res else res[0][0]
        y.backward(lib.tensor(gy))
        res.append((gy, y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()))
    return res


@pytest.mark.parametrize("n,c,o,k,h,kw", [
    (64, 6, 16, 5, 12, {}),                                       # LeNet's second convolution
    (16, 33, 64, 3, 14, {"padding": 1}),
    (8, 6, 4, 3, 11, {"stride": 2, "padding": (1, 2)}),
    (9, 5, 3, 3, 13, {"dilation": 2}),
    (8, 4, 2, (3, 5), (9, 14), {"padding": (2, 1), "stride": (1, 2)}),
])
@pytest.mark.parametrize("bias", [True, False])
def test_input_gradient_matches_torch(n, c, o, k, h, kw, bias):
    k2 = k if isinstance(k, tuple) else (k, k)
    h2 = h if isinstance(h, tuple) else (h, h)
    rs = np.random.RandomState(0)
    x = rs.randn(n, c, *h2).astype(np.float32)
    w = (rs.randn(o, c, *k2) / math.sqrt(c * k2[0] * k2[1])).astype(np.float32)
    b = rs.randn(o).astype(np.float32) if bias else None
    (gy, ya, gxa, gwa), (_, yb, gxb, gwb) = _grads(x, w, b, **kw)
    assert _batch_last_pays(n, c, o, k2, gy.shape[2:], 1)
    np.testing.assert_allclose(ya, yb, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gxa, gxb, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gwa, gwb, rtol=1e-4, atol=1e-3)


def test_selection_leaves_out_the_measured_losses():
    assert not _batch_last_pays(64, 1, 32, (3, 3), (28, 28), 1)   # one input channel, wide rows
    assert not _batch_last_pays(8, 16, 16, (3, 3), (16, 16), 1)   # 16-wide output rows
    assert not _batch_last_pays(4, 6, 16, (5, 5), (8, 8), 1)      # small batch
    assert not _batch_last_pays(64, 6, 16, (5, 5), (8, 8), 2)     # groups
    assert not _batch_last_pays(64, 32, 64, (3, 3), (14, 14), 1)  # the benchmark CNN's: on the boundary (memory)


def test_conv_transpose_forward_with_bias_matches_torch():
    # conv_transpose2d's forward is the input gradient with a bias: 16 -> 6 channels, 5x5, 8x8 -> 12x12
    rs = np.random.RandomState(2)
    x = rs.randn(10, 16, 8, 8).astype(np.float32)
    w = (rs.randn(16, 6, 5, 5) / 20).astype(np.float32)
    b = rs.randn(6).astype(np.float32)
    assert _batch_last_pays(10, 6, 16, (5, 5), (8, 8), 1)
    xa, wa, ba = (disttorch.tensor(a, requires_grad=True) for a in (x, w, b))
    xb, wb, bb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ya, yb = F.conv_transpose2d(xa, wa, ba), TF.conv_transpose2d(xb, wb, bb)
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-4, atol=1e-4)
    g = rs.randn(*yb.shape).astype(np.float32)
    ya.backward(disttorch.tensor(g))
    yb.backward(torch.tensor(g))
    for a, t in ((xa, xb), (wa, wb), (ba, bb)):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-3)


def test_gradcheck_float64():
    rs = np.random.RandomState(3)
    x = disttorch.tensor(rs.randn(8, 3, 6, 6), requires_grad=True)
    w = disttorch.tensor(rs.randn(2, 3, 3, 3), requires_grad=True)
    assert _batch_last_pays(8, 3, 2, (3, 3), (6, 6), 1)
    assert disttorch.autograd.gradcheck(lambda a, b: F.conv2d(a, b, padding=1), (x, w))
    assert disttorch.autograd.gradgradcheck(lambda a, b: F.conv2d(a, b, padding=1), (x, w))
