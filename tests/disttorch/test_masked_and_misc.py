"""torch.masked's functions on strided tensors, hash_tensor, from_file, Tensor.record_stream and module_load
against PyTorch."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from oracle import check

import disttorch

torch = pytest.importorskip("torch")

R = np.random.default_rng(0)
X = R.standard_normal((3, 4, 5))
M = R.random((3, 4, 5)) > 0.4
M[1, 2] = False  # one fully masked row
M1 = R.random((4, 5)) > 0.3  # broadcast over dim 0

REDUCTIONS = ["sum", "mean", "amax", "amin", "prod", "logsumexp", "var", "std"]


def _quiet(fn):
    def run(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    return run


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("dim,keepdim", [(2, False), ((0, 2), True), (None, False)])
@pytest.mark.parametrize("mask", [M, M1])
def test_reductions_as_pytorch(name, dim, keepdim, mask):
    if name in ("median",) and isinstance(dim, tuple):
        return
    grad = name not in ("amax", "amin") or dim is not None  # PyTorch's amax gradient splits ties; none here
    if name in ("var", "std") and mask is M:
        # PyTorch's gradient is nan across the whole input once one reduced row is fully masked (even rows
        # that are not): compare values there, gradients on a mask without such a row
        check(_quiet(lambda lib, x, m: getattr(lib.masked, name)(x, dim, keepdim=keepdim, mask=m)), [X, M],
              grad=False, rtol=1e-10, atol=1e-12)
        mask = M | M1

    @_quiet
    def f(lib, x, m):
        return getattr(lib.masked, name)(x, dim, keepdim=keepdim, mask=m)

    check(f, [X, mask], grad=[grad, False], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin", "cumsum", "cumprod", "argmax", "argmin",
                                  "median"])
def test_dim_functions_as_pytorch(name):
    grad = name not in ("argmax", "argmin", "median")
    m = M.copy()
    m[1, 2] = True  # a fully masked row gives nan (softmax) on both sides; keep gradients finite
    check(_quiet(lambda lib, x, k: getattr(lib.masked, name)(x, 2, mask=k)), [X, m], grad=[grad, False],
          rtol=1e-10, atol=1e-12)
    check(_quiet(lambda lib, x, k: getattr(lib.masked, name)(x, 1, mask=k)), [X, M], grad=False, rtol=1e-10,
          atol=1e-12)


def test_norm_normalize_logaddexp_as_pytorch():
    for ord in (2.0, 1.0, 3.0, float("inf")):
        check(_quiet(lambda lib, x, k: lib.masked.norm(x, ord, 2, mask=k)), [X, M], grad=[ord != float("inf"), False],
              rtol=1e-10, atol=1e-12)
    check(_quiet(lambda lib, x, k: lib.masked.normalize(x, 2.0, 1, mask=k)), [X, M], grad=[True, False],
          rtol=1e-10, atol=1e-12)
    Y = R.standard_normal((3, 4, 5))
    check(_quiet(lambda lib, x, y, a, b: lib.masked.logaddexp(x, y, input_mask=a, other_mask=b)),
          [X, Y, M, M | M1], grad=[True, True, False, False], rtol=1e-10, atol=1e-12)
    check(_quiet(lambda lib, x: lib.masked.sum(x, 1)), [X])  # no mask: the plain reduction
    with pytest.raises(ValueError, match="mask must have dtype bool"):
        disttorch.masked.sum(disttorch.tensor(X), 1, mask=disttorch.ones(3, 4, 5))


@pytest.mark.parametrize("values", [np.arange(6.0).reshape(2, 3), np.arange(12).reshape(3, 4),
                                    np.array([True, False, True]), np.array([-0.0, np.nan, 1e300], np.float32)])
def test_hash_tensor_as_pytorch(values):
    ours, theirs = disttorch.tensor(values), torch.tensor(values)
    assert disttorch.hash_tensor(ours).tolist() == torch.hash_tensor(theirs).tolist()
    if values.ndim == 2:
        assert disttorch.hash_tensor(ours, 1).tolist() == torch.hash_tensor(theirs, 1).tolist()
        assert ours.hash_tensor(0, keepdim=True).tolist() == theirs.hash_tensor(0, keepdim=True).tolist()
    assert str(disttorch.hash_tensor(ours).dtype) == "torch.uint64"


def test_from_file_as_pytorch(tmp_path):
    path = tmp_path / "data.bin"
    np.arange(8, dtype=np.float32).tofile(path)
    for lib in (disttorch, torch):
        t = lib.from_file(str(path), shared=False, size=6, dtype=lib.float32)
        assert t.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        t[0] = 100.0  # private: the file keeps its values
    assert np.fromfile(path, dtype=np.float32)[0] == 0.0
    t = disttorch.from_file(str(path), shared=True, size=8, dtype=disttorch.float32)
    t[1] = 7.0
    del t
    assert np.fromfile(path, dtype=np.float32)[1] == 7.0
    assert torch.from_file(str(path), shared=False, size=2, dtype=torch.float32).tolist() == [0.0, 7.0]
    with pytest.raises(RuntimeError):
        disttorch.from_file(str(path), shared=False, size=100)


def test_record_stream_and_module_load_as_pytorch(device):
    for lib in (disttorch, torch):
        if device == "cpu":
            with pytest.raises(NotImplementedError, match="aten::record_stream"):
                lib.ones(2).record_stream(lib.Stream("cpu"))
        p, other = lib.zeros(3), lib.ones(3)
        assert p.module_load(other) is not other and p.tolist() == [1.0, 1.0, 1.0]
        q = lib.zeros(2)
        out = q.module_load(lib.full((2,), 5.0), assign=True)
        assert out.tolist() == [5.0, 5.0] and q.tolist() == [0.0, 0.0]
    if device == "cuda":
        disttorch.ones(2, device="cuda").record_stream(disttorch.Stream("cuda"))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("initial", [None, 0.5])
def test_segment_reduce_as_pytorch(reduce, initial):
    data = R.standard_normal(6)
    lengths = np.array([2, 0, 3, 1])
    check(lambda lib, d, n: lib.segment_reduce(d, reduce, lengths=n, initial=initial), [data, lengths],
          grad=[True, False], rtol=1e-10, atol=1e-12)
    check(lambda lib, d, o: lib.segment_reduce(d, reduce, offsets=o, initial=initial),
          [data, np.array([0, 2, 2, 5, 6])], grad=[True, False], rtol=1e-10, atol=1e-12)
    data2 = R.standard_normal((6, 3))
    check(lambda lib, d, n: lib.segment_reduce(d, reduce, lengths=n, initial=initial), [data2, lengths],
          grad=[True, False], rtol=1e-10, atol=1e-12)
    check(lambda lib, d, n: lib.segment_reduce(d.reshape(2, 9), reduce, lengths=n, axis=1, initial=initial),
          [data2, np.array([[2, 7], [4, 5]])], grad=[True, False], rtol=1e-10, atol=1e-12)


def test_segment_reduce_errors_as_pytorch():
    for lib in (disttorch, torch):
        with pytest.raises(RuntimeError, match="reduce argument must be either sum, prod, mean, amax or amin"):
            lib.segment_reduce(lib.ones(3), "median", lengths=lib.tensor([3]))
        with pytest.raises(RuntimeError, match="Expected all rows of lengths along axis to sum to"):
            lib.segment_reduce(lib.ones(3), "sum", lengths=lib.tensor([2]))
        with pytest.raises(RuntimeError, match="Expected axis to be the last dimension of lengths"):
            lib.segment_reduce(lib.ones(2, 3), "sum", lengths=lib.tensor([3]), axis=1)


def test_windows_alias_and_thread_safe_generator_as_pytorch():
    assert disttorch.windows is disttorch.signal.windows
    np.testing.assert_allclose(disttorch.windows.hann(5).numpy(), torch.windows.hann(5).numpy(), atol=1e-7)
    assert disttorch.thread_safe_generator() is None and torch.thread_safe_generator() is None
