"""Pooling against PyTorch: values, indices (flat per-plane convention), gradients, ceil mode, padding."""
import numpy as np
import pytest
from oracle import assert_close, check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")


def _ties(*shape, seed=0):
    """Small integers: many equal values in a window, to check that ties go to the first maximum."""
    return np.random.default_rng(seed).integers(-2, 3, size=shape).astype(np.float32)


MAX2D = [
    ((2, 3, 7, 6), dict(kernel_size=2)),
    ((2, 3, 7, 6), dict(kernel_size=(3, 2), stride=(2, 1), padding=1, dilation=(1, 2), ceil_mode=True)),
    ((2, 3, 8, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((3, 7, 6), dict(kernel_size=3, stride=1)),  # unbatched
    ((1, 2, 5, 5), dict(kernel_size=(2, 3), stride=(3, 1), dilation=2)),
]


@pytest.mark.parametrize("xs,kw", MAX2D)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d_values_indices_grads(xs, kw, ties, device):
    x = _ties(*xs) if ties else randn(*xs)
    check(lambda t, x: t.nn.functional.max_pool2d(x, return_indices=True, **kw), [x], device=device)


@pytest.mark.parametrize("xs,kw", [((2, 3, 9), dict(kernel_size=3, stride=2, padding=1)),
                                   ((3, 9), dict(kernel_size=2, ceil_mode=True)),
                                   ((2, 2, 10), dict(kernel_size=3, dilation=2, ceil_mode=True, stride=2))])
def test_max_pool1d(xs, kw):
    check(lambda t, x: t.nn.functional.max_pool1d(x, return_indices=True, **kw), [_ties(*xs, seed=2)])


def test_max_pool3d():
    check(lambda t, x: t.nn.functional.max_pool3d(x, (2, 3, 2), (1, 2, 2), 1, return_indices=True),
          [randn(2, 2, 5, 6, 7)])


def test_max_pool_nan_propagates_like_torch():
    x = randn(2, 3, 6, 6, dtype=np.float64)
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = x[1, 2, 3, 3] = np.nan
    ours = disttorch.nn.functional.max_pool2d(disttorch.tensor(x), 3, 2, 1, return_indices=True)
    theirs = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,kw", [
    ((2, 3, 7, 6), dict(kernel_size=2)),
    ((2, 3, 7, 6), dict(kernel_size=(3, 2), stride=(2, 1), padding=1, ceil_mode=True)),
    ((2, 3, 8, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ((2, 3, 8, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=True)),
    ((2, 3, 7, 6), dict(kernel_size=3, padding=1, divisor_override=5)),
    ((3, 7, 6), dict(kernel_size=3, padding=1, count_include_pad=False)),
])
def test_avg_pool2d(xs, kw, dtype, device):
    check(lambda t, x: t.nn.functional.avg_pool2d(x, **kw), [randn(*xs, dtype=dtype)], device=device)


@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
                                dict(kernel_size=4)])
def test_avg_pool1d_and_3d(kw):
    check(lambda t, x: t.nn.functional.avg_pool1d(x, **kw), [randn(2, 3, 10)])
    check(lambda t, x: t.nn.functional.avg_pool3d(x, **kw), [randn(1, 2, 8, 9, 7)])


@pytest.mark.parametrize("xs,out", [((2, 3, 7, 6), (3, 4)), ((2, 3, 8, 6), (4, None)), ((3, 8, 6), 1),
                                    ((2, 3, 5, 5), (5, 2)), ((1, 2, 9, 13), (4, 6))])
def test_adaptive_pool2d(xs, out):
    check(lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, out), [randn(*xs)])
    check(lambda t, x: t.nn.functional.adaptive_max_pool2d(x, out, return_indices=True), [_ties(*xs, seed=1)])


@pytest.mark.parametrize("out", [1, 3, 4, 10])
def test_adaptive_pool1d(out):
    check(lambda t, x: t.nn.functional.adaptive_avg_pool1d(x, out), [randn(2, 3, 10)])
    check(lambda t, x: t.nn.functional.adaptive_max_pool1d(x, out, return_indices=True), [_ties(2, 3, 10)])


def test_adaptive_avg_pool3d():
    check(lambda t, x: t.nn.functional.adaptive_avg_pool3d(x, (2, 3, 5)), [randn(2, 2, 4, 7, 5)])


@pytest.mark.parametrize("f", [
    lambda t, x: t.nn.functional.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda t, x: t.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, (3, 4)),
    lambda t, x: t.nn.functional.adaptive_max_pool2d(x, (3, 4)),
])
def test_gradcheck_and_double_backward(f):
    x = randn(2, 3, 7, 6, dtype=np.float64)
    gradcheck(f, [x])
    assert disttorch.autograd.gradgradcheck(lambda x: f(disttorch, x), (disttorch.tensor(x, requires_grad=True),))


@pytest.mark.parametrize("ctor,xs", [
    (lambda nn: nn.MaxPool2d(2), (2, 3, 6, 6)),
    (lambda nn: nn.MaxPool2d((3, 2), stride=(2, 1), padding=1, ceil_mode=True, return_indices=True), (2, 3, 7, 6)),
    (lambda nn: nn.MaxPool1d(3, 2, 1, ceil_mode=True), (2, 3, 9)),
    (lambda nn: nn.AvgPool2d(3, padding=1, count_include_pad=False), (2, 3, 7, 7)),
    (lambda nn: nn.AvgPool1d(3), (2, 3, 9)),
    (lambda nn: nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 7, 7)),
    (lambda nn: nn.AdaptiveAvgPool1d(4), (2, 3, 9)),
    (lambda nn: nn.AdaptiveMaxPool2d(2), (2, 3, 5, 5)),
])
def test_modules_match_torch(ctor, xs):
    ours, theirs = ctor(disttorch.nn), ctor(torch.nn)
    assert repr(ours) == repr(theirs)
    check(lambda t, x: (ours if t is disttorch else theirs)(x), [randn(*xs)])


def test_no_grad_forward_skips_indices_but_matches():
    x = randn(2, 3, 8, 8)
    with disttorch.no_grad():
        y = disttorch.nn.functional.max_pool2d(disttorch.tensor(x, requires_grad=True), 2)
    assert_close(y, torch.nn.functional.max_pool2d(torch.tensor(x), 2))


@pytest.mark.parametrize("call,exc,msg", [
    (lambda t: t.nn.functional.max_pool2d(t.ones(1, 1, 4, 4), 3, padding=2), RuntimeError,
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1"),
    (lambda t: t.nn.functional.max_pool2d(t.ones(1, 1, 2, 2), 3), RuntimeError,
     r"Given input size: \(1x2x2\). Calculated output size: \(1x0x0\). Output size is too small"),
    (lambda t: t.nn.functional.avg_pool2d(t.ones(1, 1, 2, 2), 3), RuntimeError, "Output size is too small"),
    (lambda t: t.nn.functional.max_pool2d(t.ones(2), 3), RuntimeError,
     r"non-empty 3D or 4D \(batch mode\) tensor expected for input"),
    (lambda t: t.nn.functional.max_pool1d(t.ones(2), 3), RuntimeError,
     r"max_pool1d: Expected 2D or 3D \(batch mode\) tensor with optional 0 dim batch size for input"),
    (lambda t: t.nn.functional.max_pool2d(t.ones(1, 1, 4, 4), 2, stride=0), RuntimeError,
     "stride should not be zero"),
    (lambda t: t.nn.functional.adaptive_avg_pool2d(t.ones(4), 2), RuntimeError,
     r"adaptive_avg_pool2d\(\): Expected 3D or 4D tensor, but got \[4\]"),
])
def test_errors_like_torch(call, exc, msg):
    for lib in (torch, disttorch):
        with pytest.raises(exc, match=msg):
            call(lib)


@pytest.mark.parametrize("kw", [dict(kernel_size=2, stride=2, padding=1), dict(kernel_size=3, stride=1, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool2d_windows_of_minus_inf_pick_an_input_element(kw, dtype):
    """A window whose inputs are all -inf (the padding value) takes its first element inside the input, as
    PyTorch: the index and the gradient go there, never to a pad slot."""
    x = np.full((2, 1, 5, 5), -np.inf, dtype)
    x[0, 0, 4, 4] = 1.0
    x[1, 0, 2, 1] = -2.0
    check(lambda t, x: t.nn.functional.max_pool2d(x, return_indices=True, **kw), [x])
