"""Convolutions against PyTorch: F.conv*/conv_transpose*, the modules, gradients (incl. double backward)."""
import math

import numpy as np
import pytest
from oracle import assert_close, check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")

CONV2D = [  # (input shape, weight shape, kwargs)
    ((2, 3, 7, 6), (4, 3, 3, 2), {}),
    ((2, 4, 9, 8), (6, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)),
    ((1, 3, 8, 8), (5, 3, 1, 1), dict(stride=3)),
    ((2, 4, 7, 9), (4, 1, 3, 3), dict(padding=1, groups=4)),  # depthwise
    ((2, 3, 6, 7), (2, 3, 4, 2), dict(padding="same", dilation=(1, 2))),
    ((2, 3, 6, 5), (2, 3, 3, 3), dict(padding="valid", bias=False)),
    ((3, 6, 5), (4, 3, 2, 2), dict(stride=2, padding=1)),  # unbatched
]


def _conv_args(ws, kw, dtype, seed=3):
    kw = dict(kw)
    arrays = [randn(*ws, seed=seed, dtype=dtype)]
    if kw.pop("bias", True):
        arrays.append(randn(ws[0], seed=seed + 1, dtype=dtype))
    return arrays, kw


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,kw", CONV2D)
def test_conv2d_matches_torch(xs, ws, kw, dtype, device):
    params, kw = _conv_args(ws, kw, dtype)
    check(lambda t, x, w, *b: t.nn.functional.conv2d(x, w, *b, **kw), [randn(*xs, dtype=dtype)] + params,
          rtol=1e-4 if dtype == np.float32 else None, device=device)


@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 3, 9), (4, 3, 3), dict(stride=2, padding=1)),
    ((2, 4, 10), (6, 2, 4), dict(dilation=2, groups=2, padding="same")),
    ((3, 7), (2, 3, 2), {}),
])
def test_conv1d_matches_torch(xs, ws, kw):
    params, kw = _conv_args(ws, kw, np.float64)
    check(lambda t, x, w, *b: t.nn.functional.conv1d(x, w, *b, **kw), [randn(*xs, dtype=np.float64)] + params)


def test_conv3d_matches_torch():
    check(lambda t, x, w, b: t.nn.functional.conv3d(x, w, b, stride=(1, 2, 1), padding=1),
          [randn(2, 2, 4, 5, 3), randn(4, 2, 2, 3, 2, seed=1), randn(4, seed=2)], rtol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 4, 5, 6), (4, 3, 3, 2), dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2))),
    ((2, 4, 5, 6), (4, 1, 3, 2), dict(stride=(2, 1), padding=1, output_padding=(0, 1), groups=2, dilation=(1, 2))),
    ((1, 3, 4, 4), (3, 2, 2, 2), dict(stride=1, dilation=2, output_padding=1)),  # output_padding < dilation
    ((3, 4, 5), (3, 2, 3, 3), dict(stride=2)),  # unbatched
])
def test_conv_transpose2d_matches_torch(xs, ws, kw, dtype):
    arrays = [randn(*xs, dtype=dtype), randn(*ws, seed=1, dtype=dtype), randn(ws[1] * kw.get("groups", 1), seed=2,
                                                                               dtype=dtype)]
    check(lambda t, x, w, b: t.nn.functional.conv_transpose2d(x, w, b, **kw), arrays,
          rtol=1e-4 if dtype == np.float32 else None)


def test_conv_transpose1d_matches_torch():
    check(lambda t, x, w: t.nn.functional.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1),
          [randn(2, 4, 5, dtype=np.float64), randn(4, 3, 3, seed=1, dtype=np.float64)])


def test_conv_gradcheck_and_double_backward():
    f = lambda t, x, w, b: t.nn.functional.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
    arrays = [randn(2, 4, 5, 6), randn(6, 2, 3, 2, seed=1), randn(6, seed=2)]
    gradcheck(f, arrays)
    ts = [disttorch.tensor(a.astype(np.float64), requires_grad=True) for a in arrays]
    assert disttorch.autograd.gradgradcheck(lambda *xs: f(disttorch, *xs), ts)
    ft = lambda t, x, w: t.nn.functional.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)
    arrays = [randn(1, 2, 3, 4), randn(2, 3, 3, 2, seed=1)]
    ts = [disttorch.tensor(a.astype(np.float64), requires_grad=True) for a in arrays]
    assert disttorch.autograd.gradgradcheck(lambda *xs: ft(disttorch, *xs), ts)


def test_double_backward_matches_torch():
    """d/dx of |grad_w|^2: goes through the weight-gradient op's own backward."""
    x, w = randn(2, 3, 6, 5, dtype=np.float64), randn(4, 3, 3, 3, seed=1, dtype=np.float64)
    res = []
    for lib in (disttorch, torch):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.conv2d(xt, wt, stride=2, padding=1)
        gx, gw = lib.autograd.grad((y * y).sum(), (xt, wt), create_graph=True)
        ((gw * gw).sum() + (gx * gx).sum()).backward()
        res.append((xt.grad, wt.grad))
    assert_close(res[0][0], res[1][0], 1e-9, 1e-9)
    assert_close(res[0][1], res[1][1], 1e-9, 1e-9)


def _copy_params(ours, theirs):
    for (n, p), (m, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == m
        p.data = disttorch.tensor(q.detach().numpy())


@pytest.mark.parametrize("ctor,xs", [
    (lambda nn: nn.Conv2d(3, 8, 3), (2, 3, 7, 7)),
    (lambda nn: nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=(1, 2), groups=2, bias=False), (2, 4, 9, 8)),
    (lambda nn: nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"), (2, 3, 5, 6)),
    (lambda nn: nn.Conv2d(3, 4, (2, 3), padding="same", padding_mode="circular"), (2, 3, 5, 6)),
    (lambda nn: nn.Conv1d(3, 6, 3, padding="same", padding_mode="replicate"), (2, 3, 8)),
    (lambda nn: nn.Conv1d(2, 4, 2, stride=2), (2, 5)),
    (lambda nn: nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=1, groups=2), (2, 4, 5, 4)),
    (lambda nn: nn.ConvTranspose1d(3, 2, 4, stride=3, padding=1), (2, 3, 5)),
])
def test_modules_match_torch(ctor, xs):
    ours, theirs = ctor(disttorch.nn), ctor(torch.nn)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict().keys()) == list(theirs.state_dict().keys())
    _copy_params(ours, theirs)
    x = randn(*xs, seed=4)
    xo, xt = disttorch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    assert_close(yo, yt, 1e-4, 1e-5)
    assert yo.grad_fn.name() == yt.grad_fn.name()
    g = randn(*yt.shape, seed=5)
    (yo * disttorch.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    assert_close(xo.grad, xt.grad, 1e-4, 1e-5)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, q.grad, 1e-4, 1e-4, n)


def test_conv_transpose_output_size():
    ours, theirs = disttorch.nn.ConvTranspose2d(2, 3, 3, stride=2), torch.nn.ConvTranspose2d(2, 3, 3, stride=2)
    _copy_params(ours, theirs)
    x = randn(1, 2, 4, 4)
    assert_close(ours(disttorch.tensor(x), output_size=[10, 9]), theirs(torch.tensor(x), output_size=[10, 9]),
                 1e-5, 1e-5)
    with pytest.raises(ValueError, match="requested an output size of"):
        ours(disttorch.tensor(x), output_size=[12, 12])


@pytest.mark.parametrize("ctor,fan_in", [(lambda nn: nn.Conv2d(16, 32, (5, 3)), 16 * 15),
                                         (lambda nn: nn.Conv1d(8, 4, 3, groups=2), 4 * 3),
                                         (lambda nn: nn.ConvTranspose2d(12, 16, 3, groups=4), 4 * 9)])
def test_default_init_distribution(ctor, fan_in):
    disttorch.manual_seed(0)
    layer = ctor(disttorch.nn)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert w.min() >= -bound and w.max() <= bound and b.min() >= -bound and b.max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert w.max() > 0.9 * bound and w.min() < -0.9 * bound


@pytest.mark.parametrize("call,exc,msg", [
    (lambda t: t.nn.functional.conv2d(t.ones(2, 3), t.ones(8, 3, 3, 3)), RuntimeError,
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: \[2, 3\]"),
    (lambda t: t.nn.functional.conv2d(t.ones(1, 4, 5, 5), t.ones(8, 3, 3, 3)), RuntimeError,
     r"Given groups=1, weight of size \[8, 3, 3, 3\], expected input\[1, 4, 5, 5\] to have 3 channels, but got 4 "
     "channels instead"),
    (lambda t: t.nn.functional.conv2d(t.ones(1, 3, 2, 2), t.ones(8, 3, 3, 3)), RuntimeError,
     r"Calculated padded input size per channel: \(2 x 2\). Kernel size: \(3 x 3\). Kernel size can't be greater"),
    (lambda t: t.nn.functional.conv2d(t.ones(1, 4, 5, 5), t.ones(3, 2, 3, 3), groups=2), RuntimeError,
     "expected weight to be divisible by 2 at dimension 0"),
    (lambda t: t.nn.functional.conv2d(t.ones(1, 3, 5, 5), t.ones(8, 3, 3, 3), stride=0), RuntimeError,
     "non-positive stride is not supported"),
    (lambda t: t.nn.functional.conv2d(t.ones(1, 3, 5, 5), t.ones(8, 3, 3, 3), padding=-1), RuntimeError,
     "negative padding is not supported"),
    (lambda t: t.nn.functional.conv2d(t.ones(1, 3, 5, 5), t.ones(8, 3, 3, 3), stride=2, padding="same"),
     RuntimeError, "padding='same' is not supported for strided convolutions"),
    (lambda t: t.nn.functional.conv2d(t.ones(1, 3, 5, 5, dtype=t.float64), t.ones(8, 3, 3, 3)), RuntimeError,
     "expected scalar type Double but found Float"),
    (lambda t: t.nn.functional.conv2d(t.ones(1, 3, 5, 5), t.ones(8, 3, 3, 3), t.ones(7)), RuntimeError,
     r"expected bias to be 1-dimensional with 8 elements, but got bias of size \[7\] instead"),
    (lambda t: t.nn.functional.conv_transpose2d(t.ones(1, 3, 5, 5), t.ones(4, 2, 3, 3)), RuntimeError,
     r"Given transposed=1, weight of size \[4, 2, 3, 3\], expected input\[1, 3, 5, 5\] to have 4 channels"),
    (lambda t: t.nn.functional.conv1d(t.ones(2, 3, 4, 5), t.ones(2, 3, 3)), RuntimeError,
     r"Expected 2D \(unbatched\) or 3D \(batched\) input to conv1d"),
    (lambda t: t.nn.functional.conv_transpose2d(t.ones(1, 4, 5, 5), t.ones(4, 2, 3, 3), stride=2, output_padding=2),
     RuntimeError, "output padding must be smaller than either stride or dilation"),
    (lambda t: t.nn.Conv2d(3, 4, 3, groups=2), ValueError, "in_channels must be divisible by groups"),
    (lambda t: t.nn.Conv2d(4, 3, 3, groups=2), ValueError, "out_channels must be divisible by groups"),
    (lambda t: t.nn.Conv2d(4, 4, 3, stride=2, padding="same"), ValueError,
     "padding='same' is not supported for strided convolutions"),
    (lambda t: t.nn.ConvTranspose2d(4, 4, 3, padding_mode="reflect"), ValueError,
     'Only "zeros" padding mode is supported for ConvTranspose2d'),
])
def test_errors_like_torch(call, exc, msg):
    for lib in (torch, disttorch):
        with pytest.raises(exc, match=msg):
            call(lib)


def test_no_grad_and_frozen_weight_paths():
    x, w = randn(2, 3, 6, 6), randn(4, 3, 3, 3, seed=1)
    ref = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1)
    with disttorch.no_grad():
        y = disttorch.nn.functional.conv2d(disttorch.tensor(x, requires_grad=True), disttorch.tensor(w), padding=1)
    assert y.grad_fn is None
    assert_close(y, ref, 1e-5, 1e-5)
    xo = disttorch.tensor(x, requires_grad=True)
    disttorch.nn.functional.conv2d(xo, disttorch.tensor(w), padding=1).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.conv2d(xt, torch.tensor(w), padding=1).sum().backward()
    assert_close(xo.grad, xt.grad, 1e-5, 1e-5)
