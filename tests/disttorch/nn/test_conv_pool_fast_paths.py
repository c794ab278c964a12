"""The fast paths of convolution and max pooling against PyTorch: whole-batch and per-sample columns, the
forward's columns kept for the weight gradient, non-finite inputs (no host check),
and max pooling's saved per-window argmax: windows that tile the input (stride == kernel, with remainders and
ceil-mode overhang) next to overlapping, gapped, padded and dilated ones; NaN handled without a host check."""
import numpy as np
import pytest
from oracle import assert_close, check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")

CONV = [  # (input shape, weight shape, kwargs): per-sample columns; groups, dilation, padding, stride
    ((3, 2, 8, 7), (5, 2, 3, 3), dict(padding=1)),
    ((2, 4, 9, 8), (6, 2, 3, 2), dict(padding=(2, 1), dilation=(1, 2), groups=2)),
    ((2, 3, 7, 6), (4, 3, 3, 3), dict(padding="same", dilation=2)),
    ((2, 3, 7, 8), (4, 3, 2, 4), dict(padding="same")),  # asymmetric "same" padding
    ((2, 6, 9, 9), (6, 1, 3, 3), dict(stride=2, padding=1, groups=6)),
    ((2, 3, 10, 9), (4, 3, 3, 2), dict(stride=(3, 2), dilation=(2, 1))),
    ((2, 3, 6, 6), (4, 3, 2, 2), dict(stride=2)),  # kernel == stride
    ((4, 1, 12, 12), (6, 1, 5, 5), dict()),  # LeNet's first layer
    # whole-batch columns (both sides of the product big enough, see conv._whole)
    ((2, 16, 6, 5), (32, 16, 3, 3), dict(padding=1)),
    ((2, 32, 7, 6), (64, 16, 3, 3), dict(padding=(1, 2), dilation=(2, 1), groups=2)),
    ((2, 16, 9, 8), (32, 16, 3, 3), dict(stride=2, padding=1)),
    ((3, 15, 6, 6), (32, 15, 3, 3), dict()),
]
WHOLE = CONV[8:]


@pytest.mark.parametrize("xs,ws,kw", CONV)
def test_conv2d_values_and_grads(xs, ws, kw, device):
    check(lambda t, x, w, b: t.nn.functional.conv2d(x, w, b, **kw),
          [randn(*xs), randn(*ws, seed=1), randn(ws[0], seed=2)], rtol=1e-4, device=device)


@pytest.mark.parametrize("xs,ws,kw", CONV[:6] + [((1, 15, 4, 4), (32, 15, 3, 3), dict(padding=1)),
                                                  ((1, 15, 5, 5), (32, 15, 3, 3), dict(stride=2))])
def test_conv2d_float64_gradcheck_and_double_backward(xs, ws, kw):
    arrays = [randn(*xs, dtype=np.float64), randn(*ws, seed=1, dtype=np.float64)]
    f = lambda t, x, w: t.nn.functional.conv2d(x, w, **kw)  # noqa: E731
    gradcheck(f, arrays)
    ins = tuple(disttorch.tensor(a, requires_grad=True) for a in arrays)
    assert disttorch.autograd.gradgradcheck(lambda x, w: f(disttorch, x, w), ins)


@pytest.mark.parametrize("needs", ["x", "w", "both"])
@pytest.mark.parametrize("cin,cout", [(3, 4), (16, 32)])
def test_conv2d_gradient_subsets(needs, cin, cout, device):
    """Only x, only the weight (the columns kept), or both need a gradient; per-sample and whole-batch."""
    flags = [needs != "w", needs != "x", True]
    check(lambda t, x, w, b: t.nn.functional.conv2d(x, w, b, padding=1),
          [randn(2, cin, 6, 5), randn(cout, cin, 3, 3, seed=1), randn(cout, seed=2)], grad=flags, rtol=1e-4,
          device=device)


@pytest.mark.parametrize("kw", [dict(padding=1), dict(), dict(stride=2, padding=1)])
@pytest.mark.parametrize("cin,cout", [(2, 3), (16, 32)])
def test_conv2d_non_finite_input_weight_grad(kw, cin, cout):
    """inf and nan inputs give PyTorch's weight gradient (no input check, no host sync)."""
    x = randn(2, cin, 6, 6, dtype=np.float64)
    x[0, 0, 2, 5] = np.inf  # the last column: unused by some kernel offsets
    x[1, 1, 5, 0] = -np.inf
    x[1, 0, 0, 3] = np.nan
    out = torch.nn.functional.conv2d(torch.tensor(x), torch.zeros(cout, cin, 3, 3, dtype=torch.float64), **kw).shape
    gy = randn(*out, seed=5, dtype=np.float64)
    w = randn(cout, cin, 3, 3, seed=1, dtype=np.float64)
    grads = []
    for t in (disttorch, torch):
        wt = t.tensor(w, requires_grad=True)
        t.nn.functional.conv2d(t.tensor(x), wt, **kw).backward(t.tensor(gy))
        grads.append(wt.grad)
    assert_close(grads[0], grads[1], rtol=1e-10, atol=1e-10)
    assert np.isfinite(grads[1].numpy()).any() and not np.isfinite(grads[1].numpy()).all()


def test_conv2d_retain_graph_second_backward_matches():
    """The kept columns are freed by the first backward; a second one (retain_graph) rebuilds them."""
    x = disttorch.tensor(randn(2, 3, 6, 6), requires_grad=True)
    w = disttorch.tensor(randn(4, 3, 3, 3, seed=1), requires_grad=True)
    y = disttorch.nn.functional.conv2d(x, w, padding=1).square().sum()
    y.backward(retain_graph=True)
    first = w.grad.clone(), x.grad.clone()
    w.grad = x.grad = None
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), first[0].numpy())
    np.testing.assert_array_equal(x.grad.numpy(), first[1].numpy())


def test_conv2d_input_modified_after_forward_raises():
    """The kept columns are only used while the saved input is unchanged (the version check still applies)."""
    x = disttorch.tensor(randn(2, 3, 6, 6), requires_grad=True) * 1
    w = disttorch.tensor(randn(4, 3, 3, 3, seed=1), requires_grad=True)
    y = disttorch.nn.functional.conv2d(x, w, padding=1)
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_conv2d_output_is_contiguous_and_inputs_unchanged():
    xa, wa = randn(2, 3, 6, 6), randn(4, 3, 3, 3, seed=1)
    x, w = disttorch.tensor(xa.copy(), requires_grad=True), disttorch.tensor(wa.copy(), requires_grad=True)
    y = disttorch.nn.functional.conv2d(x, w, disttorch.zeros(4), padding=1)
    assert y.is_contiguous()
    y.sum().backward()
    assert x.grad.is_contiguous() and w.grad.is_contiguous()
    np.testing.assert_array_equal(x.detach().numpy(), xa)
    np.testing.assert_array_equal(w.detach().numpy(), wa)


def test_conv2d_non_contiguous_input(device):
    check(lambda t, x, w: t.nn.functional.conv2d(x.transpose(2, 3), w, padding=1),
          [randn(2, 3, 5, 7), randn(4, 3, 3, 3, seed=1)], rtol=1e-4, device=device)


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1, output_padding=1), dict(padding=1), dict(groups=2)])
@pytest.mark.parametrize("cin,cout", [(4, 2), (32, 16)])
def test_conv_transpose2d(kw, cin, cout, device):
    check(lambda t, x, w, b: t.nn.functional.conv_transpose2d(x, w, b, **kw),
          [randn(2, cin, 5, 6), randn(cin, cout // kw.get("groups", 1), 3, 3, seed=1), randn(cout, seed=2)],
          rtol=1e-4, device=device)


@pytest.mark.parametrize("nd", [1, 3])
def test_conv1d_conv3d_whole_batch(nd):
    xs, ws = ((2, 64, 9), (32, 64, 3)) if nd == 1 else ((2, 8, 5, 4, 6), (32, 8, 2, 3, 3))
    fn = f"conv{nd}d"
    check(lambda t, x, w: getattr(t.nn.functional, fn)(x, w, padding=1), [randn(*xs), randn(*ws, seed=1)],
          rtol=1e-4)


# -- max pooling ---------------------------------------------------------------------------------------------
POOL = [  # windows that tile (stride == kernel) with remainders and ceil-mode overhang, and the others
    ((2, 3, 8, 6), dict(kernel_size=2)),
    ((2, 3, 7, 9), dict(kernel_size=2)),  # floor mode drops the last row / column
    ((2, 3, 7, 8), dict(kernel_size=(2, 3), ceil_mode=True)),  # the last windows hang over
    ((2, 3, 9, 9), dict(kernel_size=3)),
    ((2, 3, 8, 8), dict(kernel_size=3, stride=2)),  # overlapping
    ((2, 3, 8, 8), dict(kernel_size=2, stride=3)),  # gaps between windows
    ((2, 3, 8, 8), dict(kernel_size=2, padding=1)),
    ((2, 3, 9, 8), dict(kernel_size=2, dilation=2)),
]


@pytest.mark.parametrize("xs,kw", POOL)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d_paths(xs, kw, ties, device):
    x = np.random.default_rng(1).integers(-2, 3, size=xs).astype(np.float32) if ties else randn(*xs)
    check(lambda t, x: t.nn.functional.max_pool2d(x, return_indices=True, **kw), [x], device=device)
    check(lambda t, x: t.nn.functional.max_pool2d(x, **kw), [x], device=device)


@pytest.mark.parametrize("xs,kw", [POOL[0], POOL[2], POOL[4]])
def test_max_pool2d_float64_gradcheck_and_double_backward(xs, kw):
    x = randn(*xs, dtype=np.float64)
    f = lambda t, x: t.nn.functional.max_pool2d(x, **kw)  # noqa: E731
    gradcheck(f, [x])
    assert disttorch.autograd.gradgradcheck(lambda x: f(disttorch, x), (disttorch.tensor(x, requires_grad=True),))


def test_max_pool_nan_and_negative_zero_gradient(device):
    x = randn(2, 2, 4, 6, dtype=np.float64)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan  # two NaNs in one window: the last one is picked
    x[1, 1, 2:4, 2:4] = -np.inf
    g = randn(2, 2, 2, 3, seed=3, dtype=np.float64)
    g[0, 1, 0, 0] = -0.0
    res = []
    for t in (disttorch, torch):
        xt = t.tensor(x, device=device if t is disttorch else "cpu", requires_grad=True)
        y, i = t.nn.functional.max_pool2d(xt, 2, return_indices=True)
        y.backward(t.tensor(g, device=xt.device))
        res.append((y.detach().cpu().numpy(), i.cpu().numpy(), xt.grad.cpu().numpy()))
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.signbit(res[0][2]), np.signbit(res[1][2]))


@pytest.mark.parametrize("nd,xs,k", [(1, (2, 3, 9), 3), (3, (2, 2, 4, 6, 5), (2, 3, 2))])
def test_max_pool_tiling_1d_3d(nd, xs, k):
    fn = f"max_pool{nd}d"
    check(lambda t, x: getattr(t.nn.functional, fn)(x, k, return_indices=True), [randn(*xs)])
    check(lambda t, x: getattr(t.nn.functional, fn)(x, k, ceil_mode=True), [randn(*xs)])
