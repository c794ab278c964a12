"""The compiled (numba) kernels of the numpy backend against PyTorch and against the numpy code they replace.

Every test runs twice in one process, ``path`` "numba" (the compiled kernels in the numpy backend's table,
whatever DISTTORCH_NUMBA says) and "numpy" (their entries set to None, so the callers run their numpy code),
and checks that the path asked for really ran. The rest of the suite runs the path the environment picks:
CI runs the pooling, convolution and normalization test files once more with DISTTORCH_NUMBA=0."""
import os
import subprocess
import sys

import numpy as np
import pytest
from disttorch.backends import numba_kernels  # numba is in the test extra
from disttorch.backends import numpy_backend as backend
from disttorch.backends.numpy_backend import COMPILED_KERNELS, compiled_kernels_as
from oracle import assert_close, check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")



@pytest.fixture(params=["numba", "numpy"])
def path(request, monkeypatch):
    """Which kernels the numpy backend holds for the test; yields the calls each compiled kernel got."""
    calls = dict.fromkeys(COMPILED_KERNELS, 0)
    for name in COMPILED_KERNELS:
        kernel = numba_kernels.KERNELS[name] if request.param == "numba" else None

        def counted(*args, _k=kernel, _n=name):
            calls[_n] += 1
            return _k(*args)
        monkeypatch.setitem(backend.kernels, name, counted if kernel is not None else None)
    yield request.param, calls


def _ran(path, calls, *names):
    for name in names:
        assert (calls[name] > 0) == (path[0] == "numba"), (name, calls)


POOL = [  # (input shape, kwargs)
    ((2, 3, 8, 8), dict(kernel_size=2)),  # windows tile the input
    ((2, 3, 9, 7), dict(kernel_size=2)),  # a remainder row and column no window covers
    ((2, 2, 9, 9), dict(kernel_size=3, stride=2, padding=1)),  # overlapping, padded
    ((1, 3, 10, 9), dict(kernel_size=(2, 3), stride=(1, 2), dilation=2)),
    ((2, 2, 7, 8), dict(kernel_size=3, stride=2, ceil_mode=True)),  # windows past the end
    ((3, 5, 6), dict(kernel_size=2, stride=1)),  # no batch dim
    ((2, 3, 7, 9), dict(kernel_size=2, padding=1)),  # 2x2 stride 2 (the compiled forward) over padding
    ((2, 3, 7, 8), dict(kernel_size=2, ceil_mode=True)),  # 2x2 stride 2, a window past the end
]


@pytest.mark.parametrize("shape,kw", POOL)
def test_max_pool2d_against_torch(path, shape, kw):
    for dtype in (np.float32, np.float64):
        check(lambda t, x: t.nn.functional.max_pool2d(x, **kw), [randn(*shape, dtype=dtype)])
        check(lambda t, x: t.nn.functional.max_pool2d(x, return_indices=True, **kw)[1], [randn(*shape)],
              grad=False)
    _ran(path, path[1], "max_pool2d_backward")
    if kw.get("kernel_size") == 2 and kw.get("stride", 2) == 2:  # 2x2 windows, stride 2: the compiled forward
        _ran(path, path[1], "max_pool2d_2x2")


def test_max_pool2d_ties_nan_inf(path):
    x = np.round(randn(2, 2, 8, 8) * 2) / 2  # many ties
    x[0, 0, 1, 1] = np.nan
    x[0, 0, 0, 0] = np.nan  # two NaNs in one window: the last wins
    x[1, 1, 2:5, 2:5] = -np.inf  # a window of -inf
    x[1, 0, 4, 4] = np.inf
    x[1, 0, 5, 5] = -np.inf  # inf and -inf in one 2x2 window
    x[0, 1, 6, 7] = np.nan  # a NaN after the maximum
    x[0, 1, 6, 6] = 9.0
    x[1, 1, 6:8, 6:8] = np.nan  # a window of NaNs
    for kw in (dict(kernel_size=2), dict(kernel_size=2, padding=1), dict(kernel_size=3, stride=2, padding=1)):
        xt, xd = torch.tensor(x, requires_grad=True), disttorch.tensor(x, requires_grad=True)
        yt, it = torch.nn.functional.max_pool2d(xt, return_indices=True, **kw)
        yd, id_ = disttorch.nn.functional.max_pool2d(xd, return_indices=True, **kw)
        assert_close(yd, yt, 0, 0)
        assert_close(id_, it, 0, 0)
        g = randn(*yt.shape, seed=3)
        yt.backward(torch.tensor(g))
        yd.backward(disttorch.tensor(g))
        assert_close(xd.grad, xt.grad, 0, 0)
    _ran(path, path[1], "max_pool2d_backward", "max_pool2d_2x2")


def test_max_pool2d_gradcheck_and_double_backward(path):
    x = randn(2, 2, 7, 7, dtype=np.float64)
    gradcheck(lambda t, v: t.nn.functional.max_pool2d(v, 3, 2, 1), [x])
    xd = disttorch.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    outs = []
    for t, v in ((disttorch, xd), (torch, xt)):
        y = t.nn.functional.max_pool2d(v, 2)
        (g,) = t.autograd.grad((y * y).sum(), v, create_graph=True)  # the graph of the backward: numpy path
        (gg,) = t.autograd.grad((g * g).sum(), v)
        outs.append((g, gg))
    assert_close(outs[0], outs[1], 1e-12, 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_against_torch(path, dtype):
    x = np.round(randn(4, 3, 5, 6, dtype=dtype) * 2) / 2  # exact zeros: relu'(0) = 0
    x[0, 0, 0, :3] = (np.nan, np.inf, -np.inf)
    g = randn(*x.shape, seed=1, dtype=dtype)
    g[1, 0, 0, :2] = (np.nan, np.inf)  # where the output is 0 too: their gradient is 0
    outs = []
    for t in (disttorch, torch):
        v = t.tensor(x, requires_grad=True)
        t.relu(v).backward(t.tensor(g))
        outs.append(v.grad)
    assert_close(outs[0], outs[1], 0, 0)
    check(lambda t, v: t.nn.functional.relu(v[:, 1:]), [randn(3, 5, dtype=dtype)])  # a strided output
    _ran(path, path[1], "relu_backward")


CONV = [  # whole-batch columns (conv._whole), where the compiled col2im runs
    ((2, 16, 6, 5), (32, 16, 3, 3), dict(padding=1)),
    ((2, 16, 9, 8), (32, 16, 3, 3), dict(stride=2, padding=1)),
    ((2, 16, 9, 10), (32, 16, 3, 3), dict(stride=(2, 3), dilation=(1, 2), padding=(2, 1))),
    ((3, 15, 6, 6), (32, 15, 3, 3), dict()),
]


@pytest.mark.parametrize("xs,ws,kw", CONV)
def test_conv2d_input_grad_against_torch(path, xs, ws, kw):
    check(lambda t, x, w, b: t.nn.functional.conv2d(x, w, b, **kw),
          [randn(*xs), randn(*ws, seed=1), randn(ws[0], seed=2)], rtol=1e-4)
    _ran(path, path[1], "col2im2d")


def test_conv2d_gradcheck_and_transpose(path):
    gradcheck(lambda t, x, w: t.nn.functional.conv2d(x, w, stride=2, padding=1),
              [randn(1, 15, 5, 5, dtype=np.float64), randn(32, 15, 3, 3, seed=1, dtype=np.float64)])
    # conv_transpose2d's forward is the input gradient of a convolution, its bias added by the same kernel
    check(lambda t, x, w, b: t.nn.functional.conv_transpose2d(x, w, b, stride=2, padding=1),
          [randn(2, 32, 5, 4), randn(32, 16, 3, 3, seed=1), randn(16, seed=2)], rtol=1e-4)


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_backward_against_torch(path, affine):
    for dtype in (np.float32, np.float64):
        arrays = [randn(4, 6, 24, dtype=dtype)] + ([randn(24, seed=1, dtype=dtype),
                                                    randn(24, seed=2, dtype=dtype)] if affine else [])
        check(lambda t, x, *wb: t.nn.functional.layer_norm(x, (24,), *wb, eps=1e-5), arrays)
        check(lambda t, x, *wb: t.nn.functional.layer_norm(x, (4, 24), *(v.expand(4, 24) for v in wb)),
              [randn(3, 4, 24, dtype=dtype)] + arrays[1:])
    gradcheck(lambda t, x, w, b: t.nn.functional.layer_norm(x, (8,), w, b),
              [randn(3, 8, dtype=np.float64), randn(8, seed=1, dtype=np.float64), randn(8, seed=2, dtype=np.float64)])
    _ran(path, path[1], "layer_norm_backward")


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("kw", [dict(batch_first=True), dict(num_layers=2, bidirectional=True),
                                dict(proj_size=4)])  # proj_size: the numpy code on both paths
def test_lstm_backward_against_torch(path, kw):
    for dtype in ("float32", "float64"):
        mt = torch.nn.LSTM(6, 8, **kw).to(getattr(torch, dtype))
        md = disttorch.nn.LSTM(6, 8, **kw).to(getattr(disttorch, dtype))
        md.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in mt.state_dict().items()})
        x = randn(5, 3, 6, dtype=dtype)
        outs = []
        for t, m in ((disttorch, md), (torch, mt)):
            xv = t.tensor(x, requires_grad=True)
            out, (h, c) = m(xv)
            (out.sum() + (h * h).sum() + (c * c * c).sum()).backward()  # gradients into out, h_n and c_n
            outs.append([xv.grad] + [p.grad for p in m.parameters()])
        tol = 1e-5 if dtype == "float32" else 1e-12
        assert_close(outs[0], outs[1], tol, tol)
    if "proj_size" not in kw:
        _ran(path, path[1], "lstm_backward_step")


def test_lstm_packed_and_gradcheck(path):
    from disttorch.nn.utils.rnn import pack_padded_sequence
    x = randn(4, 3, 5, dtype=np.float64)
    lengths = [4, 2, 1]
    m = disttorch.nn.LSTM(5, 4).double()

    def run(t, v):
        out, (h, c) = m(pack_padded_sequence(v, lengths))
        return out.data.sum() + h.sum() + (c * c).sum()
    gradcheck(run, [x])
    _ran(path, path[1], "lstm_backward_step")


@pytest.mark.parametrize("shape,dim", [((3, 5, 7), -1), ((4, 9), 1), ((2, 3, 4), 1), ((6,), 0)])
def test_softmax_against_torch(path, shape, dim):
    for dtype in (np.float32, np.float64):
        check(lambda t, x: t.softmax(x, dim), [randn(*shape, dtype=dtype)])
        check(lambda t, x: t.softmax(x * 2, dim).log(), [randn(*shape, dtype=dtype)])
    gradcheck(lambda t, x: t.softmax(x, dim), [randn(*shape, dtype=np.float64)])
    if dim in (-1, len(shape) - 1):
        _ran(path, path[1], "softmax_shift", "softmax_normalize", "softmax_backward")


def test_softmax_special_values_paths_agree(path):
    """-inf rows, +inf and NaN entries: the compiled kernels give what the numpy code gives."""
    x = randn(4, 6)
    x[0, 2], x[1, :], x[2, 3], x[3, :3] = np.inf, -np.inf, np.nan, -np.inf
    y = disttorch.tensor(x).softmax(-1).numpy()
    backend.kernels.update({n: None for n in COMPILED_KERNELS})  # the fixture restores them
    np.testing.assert_array_equal(y, disttorch.tensor(x).softmax(-1).numpy())


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("lq,lk", [(6, 6), (4, 7), (7, 4)])
def test_attention_against_torch(path, causal, lq, lk):
    for dtype in (np.float32, np.float64):
        arrays = [randn(2, 3, lq, 8, dtype=dtype), randn(2, 3, lk, 8, seed=1, dtype=dtype),
                  randn(2, 3, lk, 5, seed=2, dtype=dtype)]
        check(lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal), arrays)
        mask = randn(lq, lk, seed=3) > -0.5
        check(lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=t.tensor(mask)),
              arrays)
    gradcheck(lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal),
              [a.astype(np.float64) for a in arrays])
    _ran(path, path[1], "softmax_shift", "softmax_normalize", "softmax_backward")


def test_both_paths_agree():
    """The compiled kernels and the numpy code they replace give the same result within float rounding."""
    x = randn(64, 16, 14, 14)
    w, g = randn(32, 16, 3, 3, seed=1), randn(64, 32, 7, 7, seed=2)
    results = []
    for kernels in (numba_kernels.KERNELS, {}):
        with compiled_kernels_as(backend, kernels):
            xd, wd = disttorch.tensor(x, requires_grad=True), disttorch.tensor(w, requires_grad=True)
            y = disttorch.nn.functional.max_pool2d(disttorch.nn.functional.conv2d(xd, wd, padding=1), 2)
            y = disttorch.nn.functional.layer_norm(y, (7,))
            y.backward(disttorch.tensor(g))
            results.append([v.detach().numpy() for v in (y, xd.grad, wd.grad)])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-5)


def test_unsupported_inputs_fall_back():
    """Inputs the kernels do not take (other dtypes, non-contiguous) return None, for the numpy code."""
    arg = np.zeros((2, 2, 2), np.uint8)
    g = np.ones((2, 2, 2), np.int64)
    assert numba_kernels.max_pool2d_backward(g, arg, (2, 4, 4), (2, 2), (2, 2), (0, 0), (1, 1)) is None
    gs = np.ones((2, 2, 4), np.float32)[:, :, ::2]  # not contiguous
    assert numba_kernels.max_pool2d_backward(gs, arg, (2, 4, 4), (2, 2), (2, 2), (0, 0), (1, 1)) is None
    assert numba_kernels.max_pool2d_2x2(np.zeros((2, 4, 4), np.float16), (2, 2)) is None
    assert numba_kernels.relu_backward(np.zeros(3, np.float32), np.zeros(3, np.float64)) is None
    assert numba_kernels.max_pool2d_2x2(np.zeros((2, 4, 8), np.float32)[:, :, ::2], (2, 2)) is None
    assert numba_kernels.col2im2d(np.zeros((2, 3, 3, 1, 2, 2), np.float16), None, (4, 4), (1, 1), (1, 1),
                                  (1, 1)) is None
    assert numba_kernels.layer_norm_backward(*(np.zeros((3, 4), np.float16),) * 2, np.zeros(3, np.float16),
                                             None) is None
    xi = disttorch.arange(32).reshape(2, 1, 4, 4)  # integers still pool (numpy code)
    assert disttorch.nn.functional.max_pool2d(xi, 2).tolist() == torch.nn.functional.max_pool2d(
        torch.arange(32).reshape(2, 1, 4, 4), 2).tolist()


def _run(code: str, **env: str) -> str:
    full = {**os.environ, **env}
    out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=240,
                         cwd=os.path.dirname(__file__))
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_switch_and_lazy_import():
    """DISTTORCH_NUMBA=0 leaves the numpy code; otherwise numba is imported on the first call, not at import."""
    code = ("import sys, disttorch; from disttorch.backends import numpy_backend as b; "
            "print(b.kernels['col2im2d'] is None, 'numba' in sys.modules)")
    assert _run(code, DISTTORCH_NUMBA="0") == "True False"
    assert _run(code, DISTTORCH_NUMBA="1") == "False False"


def test_cache_dir_and_no_cache(tmp_path):
    """The compiled code lands in NUMBA_CACHE_DIR when set."""
    code = ("import numpy as np; from disttorch.backends import numba_kernels as k; g = np.ones((1, 1, 1), 'f4'); "
            "a = np.ones((1, 1, 1), 'u1'); "
            "print(k.max_pool2d_backward(g, a, (1, 2, 2), (2, 2), (1, 1), (0, 0), (1, 1)).sum())")
    assert _run(code, NUMBA_CACHE_DIR=str(tmp_path)) == "1.0"
    assert any(p.suffix == ".nbi" for p in tmp_path.rglob("*")), list(tmp_path.rglob("*"))


def test_jit_without_cache_location(monkeypatch):
    """With no writable cache location (numba refuses cache=True) the kernels compile in memory."""
    import numba

    real = numba.njit

    def refusing(**kw):
        if kw.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x.py'")
        return real(**kw)

    monkeypatch.setattr(numba, "njit", refusing)
    f = numba_kernels._jit(lambda a: a + 1)
    assert f(1.5) == 2.5


OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), weight_decay=0.1, amsgrad=True)),  # 1 - beta1 >= 0.5: the other lerp
    ("AdamW", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
]


@pytest.mark.parametrize("name,kw", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizer_steps_against_torch(path, name, kw, dtype):
    """Five steps over a large (in-place) and small (flat-buffer) parameters, one gradient not contiguous."""
    shapes = [(140, 130), (7, 5), (3,)]
    params = [randn(*s, seed=i, dtype=dtype) for i, s in enumerate(shapes)]
    results = []
    for t in (disttorch, torch):
        ps = [t.tensor(p, requires_grad=True) for p in params]
        opt = getattr(t.optim, name)(ps, **kw)
        for k in range(5):
            opt.zero_grad()
            for i, p in enumerate(ps):
                g = t.tensor(randn(*p.shape[::-1], seed=10 * k + i, dtype=dtype)).permute(*range(p.dim())[::-1])
                p.grad = g if i == 1 else g.contiguous()  # i == 1: a transposed gradient
            opt.step()
        results.append([p.detach() for p in ps])
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert_close(results[0], results[1], tol, tol)
    _ran(path, path[1], "sgd_momentum" if name == "SGD" else "adam")


@pytest.mark.parametrize("name,kw", OPTIMIZERS)
def test_optimizer_kernels_match_numpy_code(name, kw):
    """The compiled update is the numpy kernel's arithmetic, operation by operation: the same bits."""
    results = []
    for kernels in (numba_kernels.KERNELS, {}):
        with compiled_kernels_as(backend, kernels):
            p = disttorch.tensor(randn(300, 70), requires_grad=True)
            opt = getattr(disttorch.optim, name)([p], **kw)
            for k in range(4):
                p.grad = disttorch.tensor(randn(300, 70, seed=k + 1))
                opt.step()
            results.append(p.detach().numpy().copy())
    np.testing.assert_array_equal(results[0], results[1])
