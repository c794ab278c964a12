"""AdaptiveLogSoftmaxWithLoss, FractionalMaxPool2d/3d (+ functional), CrossMapLRN2d, NLLLoss2d, nn.grad and
conv_tbc against PyTorch: values, gradients, float64 gradcheck, errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from oracle import assert_close, check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")


def _asm_pair(**kw):
    torch.manual_seed(0)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [4, 10, 15], **kw).double()
    ours = disttorch.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [4, 10, 15], dtype=disttorch.float64, **kw)
    ours.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("kw", [dict(), dict(div_value=2.0, head_bias=True)])
def test_adaptive_log_softmax_as_pytorch(kw):
    ours, theirs = _asm_pair(**kw)
    assert list(ours.state_dict()) == list(theirs.state_dict()) and repr(ours) == repr(theirs)
    x = randn(6, 8, dtype=np.float64)
    t = np.array([0, 3, 5, 12, 19, 9])
    res = []
    for lib, mod in ((disttorch, ours), (torch, theirs)):
        xi = lib.tensor(x, requires_grad=True)
        out = mod(xi, lib.tensor(t))
        assert out._fields == ("output", "loss")
        (out.loss + out.output[1] * 0.5).backward()
        res.append((out.output, out.loss, xi.grad, [p.grad for p in mod.parameters()],
                    mod.log_prob(lib.tensor(x)), mod.predict(lib.tensor(x)), mod(lib.tensor(x[0]), lib.tensor(t[0]))))
    o, th = res
    for a, b in zip(o[:2], th[:2]):
        assert_close(a, b, 1e-10, 1e-12)
    assert_close(o[2], th[2], 1e-10, 1e-12)
    assert_close(o[3], th[3], 1e-10, 1e-12)
    assert_close(o[4], th[4], 1e-10, 1e-12)
    assert_close(o[5], th[5])
    assert_close(list(o[6]), list(th[6]), 1e-10, 1e-12)
    gradcheck(lambda lib, X: ours(X, lib.tensor(t)).output, [x])


def test_adaptive_log_softmax_errors_as_pytorch():
    for lib in (disttorch, torch):
        for cutoffs in ([], [5, 3], [0, 4], [4, 20]):
            with pytest.raises(ValueError):
                lib.nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs)
        m = lib.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [4])
        with pytest.raises(RuntimeError, match="Target values should be in \\[0, 19\\]"):
            m(lib.zeros(2, 8), lib.tensor([1, 25]))
        with pytest.raises(RuntimeError, match="same size in the batch dimension"):
            m(lib.zeros(3, 8), lib.tensor([1, 2]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,shape,kernel,out", [(2, (2, 3, 9, 8), 3, (5, 4)), (2, (3, 7, 7), (2, 3), (4, 5)),
                                                 (3, (1, 2, 7, 8, 9), 2, (4, 5, 6)), (3, (2, 5, 5, 6), 2, (3, 3, 4))])
def test_fractional_max_pool_as_pytorch(nd, shape, kernel, out, dtype):
    x = randn(*shape, dtype=dtype)
    batch = shape[:2] if len(shape) == nd + 2 else (1, shape[0])
    u = np.random.default_rng(1).random(batch + (nd,)).astype(dtype)
    fname = f"fractional_max_pool{nd}d"
    check(lambda lib, X, U: getattr(lib.nn.functional, fname)(X, kernel, output_size=out, return_indices=True,
                                                               _random_samples=U), [x, u], grad=[True, False])
    check(lambda lib, X, U: getattr(lib.nn.functional, fname + "_with_indices")(X, kernel, out, None, False, U)[0],
          [x, u], grad=[True, False])
    cls = f"FractionalMaxPool{nd}d"
    check(lambda lib, X, U: getattr(lib.nn, cls)(kernel, output_ratio=0.5, _random_samples=U)(X), [x, u],
          grad=[True, False])
    if dtype == np.float64:
        gradcheck(lambda lib, X: getattr(lib.nn.functional, fname)(X, kernel, output_size=out,
                                                                   _random_samples=lib.tensor(u)), [x])


def test_fractional_max_pool_random_samples_and_errors():
    x = disttorch.randn(2, 3, 10, 10)
    out = disttorch.nn.FractionalMaxPool2d(3, output_size=5)(x)
    assert tuple(out.shape) == (2, 3, 5, 5)
    for lib in (disttorch, torch):
        with pytest.raises(ValueError, match="requires specifying either an output size, or a pooling ratio"):
            lib.nn.FractionalMaxPool2d(2)
        with pytest.raises(ValueError, match="only one of output_size and output_ratio may be specified"):
            lib.nn.FractionalMaxPool2d(2, output_size=3, output_ratio=0.5)
        with pytest.raises(ValueError, match="output_ratio must be between 0 and 1"):
            lib.nn.FractionalMaxPool3d(2, output_ratio=1.5)
        with pytest.raises(ValueError, match="requires specifying either an output_size or an output_ratio"):
            lib.nn.functional.fractional_max_pool2d(lib.zeros(1, 1, 4, 4), 2)
    assert disttorch.nn.FractionalMaxPool2d.__module__ == "disttorch.nn.modules.pooling"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7])
def test_cross_map_lrn2d_as_pytorch(size):
    x = randn(2, 6, 3, 3, dtype=np.float64)
    check(lambda lib, X: lib.nn.CrossMapLRN2d(size, 1e-1, 0.75, 1.5)(X), [x], grad=False, rtol=1e-12, atol=1e-12)
    # PyTorch's own backward of this layer fails its gradcheck; ours is the derivative of the forward
    gradcheck(lambda lib, X: lib.nn.CrossMapLRN2d(size, 1e-1, 0.75, 1.5)(X), [x])
    assert repr(disttorch.nn.CrossMapLRN2d(size)) == repr(torch.nn.CrossMapLRN2d(size))
    for lib in (disttorch, torch):
        with pytest.raises(ValueError, match="Expected input to be 4D, got 3D instead"):
            lib.nn.CrossMapLRN2d(size)(lib.zeros(2, 3, 4))


def test_nll_loss2d_as_pytorch():
    x = randn(2, 4, 3, 3, dtype=np.float64)
    t = np.random.default_rng(0).integers(0, 4, (2, 3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda lib, X, T: lib.nn.NLLLoss2d(ignore_index=1)(X, T), [x, t])
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        disttorch.nn.NLLLoss2d()
    assert issubclass(disttorch.nn.NLLLoss2d, disttorch.nn.NLLLoss)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_nn_grad_as_pytorch(nd):
    spatial = (9, 7, 6)[:nd]
    x = randn(2, 4, *spatial, dtype=np.float64)
    w = randn(6, 2, *([3] * nd), dtype=np.float64, seed=1)
    kw = dict(stride=2, padding=1, dilation=1, groups=2)
    conv = getattr(torch.nn.functional, f"conv{nd}d")
    go_shape = conv(torch.tensor(x), torch.tensor(w), None, **kw).shape
    go = randn(*go_shape, dtype=np.float64, seed=2)
    fi, fw = f"conv{nd}d_input", f"conv{nd}d_weight"
    check(lambda lib, W, G: getattr(lib.nn.grad, fi)(x.shape, W, G, **kw), [w, go], rtol=1e-10, atol=1e-12)
    check(lambda lib, X, G: getattr(lib.nn.grad, fw)(X, w.shape, G, **kw), [x, go], rtol=1e-10, atol=1e-12)
    gradcheck(lambda lib, W, G: getattr(lib.nn.grad, fi)(x.shape, W, G, **kw), [w, go])


def test_conv_tbc_as_pytorch():
    i, w, b = randn(7, 2, 3, dtype=np.float64), randn(3, 3, 4, dtype=np.float64, seed=1), randn(4, dtype=np.float64)
    for pad in (0, 1, 2):
        check(lambda lib, I, W, B: lib.conv_tbc(I, W, B, pad), [i, w, b], rtol=1e-10, atol=1e-12)
        check(lambda lib, I, W, B: lib.nn.functional.conv_tbc(I, W, B, pad), [i, w, b], rtol=1e-10, atol=1e-12)
    gradcheck(lambda lib, I, W, B: lib.conv_tbc(I, W, B, 1), [i, w, b])
    for lib in (disttorch, torch):
        with pytest.raises(RuntimeError, match="Input must have 3 dims: time, batch, in_channel"):
            lib.conv_tbc(lib.zeros(2, 3), lib.zeros(3, 3, 4), lib.zeros(4))
