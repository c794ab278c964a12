"""Dropout: masks from the default generator (reproducible with manual_seed), scaling, channel-wise
variants, identity in eval mode, gradients through the same mask, PyTorch's errors and warnings."""
import warnings

import numpy as np
import pytest

import disttorch
import disttorch.nn.functional as F

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("dtype", [disttorch.float32, disttorch.float64])
def test_dropout_scales_kept_values_and_drops_about_p(p, dtype, device):
    disttorch.manual_seed(0)
    x = disttorch.ones(400, 250, dtype=dtype, device=device)
    y = F.dropout(x, p)
    assert y.dtype == dtype and y.shape == x.shape
    values = np.unique(y.cpu().numpy())
    np.testing.assert_allclose(values, [0.0, 1.0 / (1.0 - p)], rtol=1e-6)
    dropped = float((y == 0).float().mean())
    assert abs(dropped - p) < 0.01  # 100000 draws: the standard error is about 0.0016
    assert abs(float(y.mean()) - 1.0) < 0.05


def test_manual_seed_makes_masks_reproducible():
    x = disttorch.randn(50, 40)
    disttorch.manual_seed(123)
    a = F.dropout(x, 0.3)
    b = F.dropout(x, 0.3)
    disttorch.manual_seed(123)
    c = F.dropout(x, 0.3)
    assert bool((a == c).all()) and not bool((a == b).all())


def test_gradient_flows_through_the_same_mask():
    x = disttorch.randn(30, 20, dtype=disttorch.float64, requires_grad=True)
    y = F.dropout(x, 0.4)
    g = disttorch.randn(30, 20, dtype=disttorch.float64)
    (y * g).sum().backward()
    mask = (y.detach() / x.detach()).numpy()  # 0 or 1/(1-p) elementwise
    np.testing.assert_allclose(x.grad.numpy(), g.numpy() * mask, rtol=1e-12)
    assert y.grad_fn.name() == "MulBackward0"


def test_double_backward_uses_the_mask_twice():
    x = disttorch.randn(30, 20, dtype=disttorch.float64, requires_grad=True)
    y = F.dropout(x, 0.5)
    mask = (y.detach() / x.detach()).numpy()
    (gx,) = disttorch.autograd.grad((y * y).sum(), x, create_graph=True)  # 2 * mask^2 * x
    gx.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * mask * mask, rtol=1e-12)


def test_eval_mode_and_p0_return_input():
    x = disttorch.randn(4, 5)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    layer = disttorch.nn.Dropout(0.5).eval()
    assert layer(x) is x
    x4 = disttorch.randn(2, 3, 4, 5)
    assert disttorch.nn.Dropout2d(0.5).eval()(x4) is x4


def test_p1_gives_zeros_and_inplace_modifies_input():
    x = disttorch.randn(3, 4, requires_grad=True)
    y = F.dropout(x, 1.0)
    assert bool((y == 0).all())
    y.sum().backward()
    assert bool((x.grad == 0).all())
    z = disttorch.randn(6, 7)
    before = z.clone()
    out = F.dropout(z, 0.5, inplace=True)
    assert out is z and z._version == 1
    zn, bn = z.numpy(), before.numpy()
    assert np.all((zn == 0) | np.isclose(zn, 2 * bn))


@pytest.mark.parametrize("fn,shape,mask_shape", [
    (F.dropout2d, (20, 30, 3, 4), (20, 30, 1, 1)),
    (F.dropout1d, (20, 30, 5), (20, 30, 1)),
    (F.dropout1d, (30, 5), (30, 1)),
    (F.dropout3d, (20, 30, 2, 2, 2), (20, 30, 1, 1, 1)),
    (F.dropout3d, (30, 2, 3, 2), (30, 1, 1, 1)),
])
def test_channelwise_dropout_zeroes_whole_channels(fn, shape, mask_shape):
    disttorch.manual_seed(1)
    y = fn(disttorch.ones(*shape), 0.5).numpy()
    spatial = tuple(i for i, s in enumerate(mask_shape) if s == 1)
    assert np.all(y.min(axis=spatial) == y.max(axis=spatial))  # every channel is all zeros or all 2s
    assert 0.35 < (y == 0).mean() < 0.65


def test_dropout2d_3d_input_warns_like_torch():
    for lib in (torch, disttorch):
        with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
            lib.nn.functional.dropout2d(lib.ones(2, 3, 4), 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = F.dropout2d(disttorch.ones(40, 50, 6), 0.5).numpy()
    assert np.all(y.min(axis=2) == y.max(axis=2))  # treated as (N, C, L)


def test_alpha_dropout_keeps_mean_and_variance():
    disttorch.manual_seed(3)
    x = disttorch.randn(200000, dtype=disttorch.float64)
    y = F.alpha_dropout(x, 0.2, training=True)
    assert abs(float(y.mean())) < 0.02 and abs(float(y.std()) - 1.0) < 0.02
    assert F.alpha_dropout(x, 0.2) is x  # training defaults to False
    p, alpha = 0.5, 1.7580993408473766
    a = 1.0 / np.sqrt((alpha * alpha * p + 1) * (1 - p))
    yf = F.feature_alpha_dropout(disttorch.randn(100, 50, 4, dtype=disttorch.float64), p, training=True).numpy()
    dropped = np.isclose(yf, -alpha * a * (1 - p), rtol=0, atol=1e-12)  # a dropped unit takes this value
    assert np.all(dropped.all(axis=2) | ~dropped.any(axis=2))  # whole channels at once
    assert 0.45 < dropped.all(axis=2).mean() < 0.55


@pytest.mark.parametrize("ctor", [lambda nn: nn.Dropout(), lambda nn: nn.Dropout(0.2, inplace=True),
                                  lambda nn: nn.Dropout1d(0.1), lambda nn: nn.Dropout2d(0.3),
                                  lambda nn: nn.Dropout3d(), lambda nn: nn.AlphaDropout(0.1)])
def test_module_repr(ctor):
    assert repr(ctor(disttorch.nn)) == repr(ctor(torch.nn))


@pytest.mark.parametrize("call,exc,msg", [
    (lambda t: t.nn.functional.dropout(t.ones(2), 1.5), ValueError,
     "dropout probability has to be between 0 and 1, but got 1.5"),
    (lambda t: t.nn.Dropout(-0.1), ValueError, "dropout probability has to be between 0 and 1, but got -0.1"),
    (lambda t: t.nn.functional.dropout1d(t.ones(2, 3, 4, 5), 0.5), RuntimeError,
     "dropout1d: Expected 2D or 3D input, but received a 4D input"),
])
def test_errors_like_torch(call, exc, msg):
    for lib in (torch, disttorch):
        with pytest.raises(exc, match=msg):
            call(lib)
