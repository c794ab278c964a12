"""Creation functions against PyTorch: values, dtypes, shapes, memory sharing, errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def run(lib, expr: str):
    """Evaluate ``expr`` with ``L`` bound to the library; return (dtype, shape, values, requires_grad) or the error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = eval(expr, {"L": lib, "np": np})
    except Exception as exc:  # noqa: BLE001  (compared with PyTorch's exception)
        return type(exc).__name__, str(exc).split("\n")[0]
    vals = out.detach().cpu()
    if "16" in str(out.dtype) and out.is_floating_point():
        vals = vals.float()
    return str(out.dtype), tuple(out.shape), vals.numpy().tolist(), out.requires_grad, out.is_leaf


def same(expr: str) -> None:
    ours, theirs = run(disttorch, expr), run(torch, expr)
    assert ours == theirs, f"{expr}\n ours:  {ours}\n torch: {theirs}"


@pytest.mark.parametrize("expr", [
    "L.tensor([1, 2, 3])", "L.tensor([1.5, 2])", "L.tensor([True, False])", "L.tensor([True, 2])",
    "L.tensor([True, 2.5])", "L.tensor([[1, 2], [3, 4.0]])", "L.tensor(3)", "L.tensor(3.5)", "L.tensor(True)",
    "L.tensor([])", "L.tensor([[]])", "L.tensor([[], []])", "L.tensor((1, 2))", "L.tensor([(1, 2), (3, 4)])",
    "L.tensor(range(4))", "L.tensor([1 + 2j, 3])", "L.tensor([2 ** 62])", "L.tensor([1e40])",
    "L.tensor(np.float64(1.5))", "L.tensor(np.int32(3))", "L.tensor(np.array([1, 2], dtype=np.int16))",
    "L.tensor(np.array(2.5, dtype=np.float16))", "L.tensor(np.array([1, 2], dtype=np.uint16))",
    "L.tensor(np.array([[1, 2]], dtype=np.uint64))", "L.tensor(np.zeros((2, 0, 3)))",
    "L.tensor(np.arange(6).reshape(2, 3).T)", "L.tensor(np.array([True, False]))",
    "L.tensor([L.tensor(1.0), L.tensor(2.0)])", "L.tensor([[1, 2], [3, 4]], dtype=L.float64)",
    "L.tensor([1.7, -1.7], dtype=L.int32)", "L.tensor([0, 2], dtype=L.bool)", "L.tensor([1, 2], dtype=float)",
    "L.tensor([1, 0], dtype=bool)", "L.tensor([1.9], dtype=int)", "L.tensor([1, 2], dtype=L.bfloat16)",
    "L.tensor([1., 2], requires_grad=True)", "L.tensor([1, 2], dtype=L.float64, requires_grad=True)",
    # errors
    "L.tensor([[1, 2], [3]])", "L.tensor([[1, 2], [3, 4, 5]])", "L.tensor([[[1], [2]], [[3]]])",
    "L.tensor([[1, 2], 3])", "L.tensor('a')", "L.tensor([1, 'a'])", "L.tensor([1, None])",
    "L.tensor([object()])", "L.tensor(np.array(['a']))", "L.tensor([1, 2], requires_grad=True)",
])
def test_tensor(expr: str) -> None:
    same(expr)


def test_tensor_copies_its_input() -> None:
    arr = np.arange(4.0)
    t = disttorch.tensor(arr)
    arr[0] = 100.0
    assert t[0].item() == 0.0
    src = disttorch.ones(3)
    with pytest.warns(UserWarning, match="sourceTensor.clone"):
        copy = disttorch.tensor(src)
    src.add_(1)
    assert copy.numpy().tolist() == [1.0, 1.0, 1.0]


def test_tensor_follows_default_dtype() -> None:
    disttorch.set_default_dtype(disttorch.float64)
    try:
        assert disttorch.tensor([1.5]).dtype is disttorch.float64
        assert disttorch.tensor([1 + 1j]).dtype is disttorch.complex128
        assert disttorch.tensor([1]).dtype is disttorch.int64
        assert disttorch.tensor(np.array([1.5], dtype=np.float32)).dtype is disttorch.float32
    finally:
        disttorch.set_default_dtype(disttorch.float32)


def test_as_tensor_and_from_numpy_share_memory() -> None:
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    for make in (disttorch.as_tensor, disttorch.from_numpy, disttorch.asarray):
        t = make(arr)
        tt = {disttorch.as_tensor: torch.as_tensor, disttorch.from_numpy: torch.from_numpy,
              disttorch.asarray: torch.asarray}[make](arr)
        assert str(t.dtype) == str(tt.dtype) and tuple(t.shape) == tuple(tt.shape)
        arr[0, 0] += 1
        assert t[0, 0].item() == arr[0, 0]
        t.mul_(2)
        np.testing.assert_array_equal(arr, t.numpy())
        assert t.numpy() is arr or np.shares_memory(t.numpy(), arr)
    ints = np.arange(3, dtype=np.int16)
    assert disttorch.from_numpy(ints).dtype is disttorch.int16
    # a dtype change must copy
    copied = disttorch.as_tensor(arr, dtype=disttorch.float64)
    assert not np.shares_memory(copied.numpy(), arr)
    assert disttorch.asarray(arr, copy=True).numpy() is not arr
    assert not np.shares_memory(disttorch.asarray(arr, copy=True).numpy(), arr)
    # as_tensor of a tensor is that tensor when nothing changes
    base = disttorch.ones(2)
    assert disttorch.as_tensor(base) is base
    assert disttorch.as_tensor(base, dtype=disttorch.float64).dtype is disttorch.float64
    assert disttorch.as_tensor([1, 2]).dtype is disttorch.int64


def test_from_numpy_errors() -> None:
    with pytest.raises(TypeError, match="expected np.ndarray"):
        disttorch.from_numpy([1, 2])
    with pytest.raises(TypeError, match="can't convert np.ndarray of type numpy.str_"):
        disttorch.from_numpy(np.array(["a"]))
    with pytest.raises(TypeError, match="can't convert np.ndarray of type numpy.str_"):
        torch.from_numpy(np.array(["a"]))


@pytest.mark.parametrize("expr", [
    "L.zeros(2, 3)", "L.zeros((2, 3))", "L.zeros([2, 3])", "L.zeros(L.Size([2, 3]))", "L.zeros(())", "L.zeros(0)",
    "L.zeros(2, dtype=L.int32)", "L.zeros(2, 0, 3)", "L.ones(2, 3, dtype=L.bool)", "L.ones(4, dtype=L.complex64)",
    "L.ones(2, requires_grad=True)", "L.ones(1, 1, 1, dtype=L.float16)", "L.ones(2, dtype=L.bfloat16)",
    "L.full((2, 2), 7)", "L.full((2,), 1.5)", "L.full((2,), True)", "L.full([2], 2, dtype=L.float64)",
    "L.full((2,), 1 + 1j)", "L.full((), 3)", "L.full((2, 1), 2.5, requires_grad=True)", "L.full((3,), L.tensor(4))",
    "L.eye(3)", "L.eye(2, 3)", "L.eye(3, 2)", "L.eye(3, dtype=L.int64)", "L.eye(0)", "L.eye(2, dtype=L.bool)",
    "L.eye(2, requires_grad=True)", "L.scalar_tensor(3)", "L.scalar_tensor(True)", "L.scalar_tensor(2.5)",
    # errors
    "L.zeros(-1)", "L.zeros(2, -3)", "L.ones(-1)", "L.empty(2, -3)", "L.full((2, -1), 1)", "L.eye(-1)",
    "L.eye(2, -1)", "L.ones(2, dtype=L.int64, requires_grad=True)", "L.zeros(2, dtype=L.bool, requires_grad=True)",
])
def test_factories(expr: str) -> None:
    same(expr)


def test_empty_shapes_and_dtypes() -> None:
    for args, kw in [((2, 3), {}), (((4,),), {"dtype": "int16"}), ((0,), {}), (((),), {"dtype": "float64"})]:
        kd = {k: getattr(disttorch, v) for k, v in kw.items()}
        kt = {k: getattr(torch, v) for k, v in kw.items()}
        ours, theirs = disttorch.empty(*args, **kd), torch.empty(*args, **kt)
        assert tuple(ours.shape) == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype)
        like = disttorch.empty_like(ours)
        assert like.shape == ours.shape and like.dtype is ours.dtype
    strided = disttorch.empty_strided((2, 3), (3, 1))
    assert tuple(strided.shape) == (2, 3)


@pytest.mark.parametrize("expr", [
    "L.arange(5)", "L.arange(1, 4)", "L.arange(10, 0, -3)", "L.arange(5, dtype=L.float32)", "L.arange(0)",
    "L.arange(0, 10, 3, dtype=L.float64)", "L.arange(1e8, 1e8 + 5)", "L.arange(0.5)", "L.arange(np.int64(3))",
    "L.arange(L.tensor(3))", "L.arange(0.5, 5, 1.5, dtype=L.int64)", "L.arange(-2.5, 3, 1.2, dtype=L.int32)",
    "L.arange(0, 3.5, 1)", "L.arange(1, 2.5, 0.5)", "L.arange(5, 0, -1.5)", "L.arange(0, 1, 0.25)",
    "L.arange(-4, 4, 0.5, dtype=L.float16)", "L.arange(3, requires_grad=True, dtype=L.float32)",
    # errors
    "L.arange(0, 5, 0)", "L.arange(0, 5, 0.0)", "L.arange(0, -5, 1)", "L.arange(0, 5, -1)",
    "L.arange(0.0, 5, 0.1, dtype=L.int64)", "L.arange(float('inf'))", "L.arange(3, requires_grad=True)",
])
def test_arange(expr: str) -> None:
    same(expr)


def _assert_values_close(ours, theirs, dtype) -> None:
    assert str(ours.dtype) == str(theirs.dtype) and tuple(ours.shape) == tuple(theirs.shape)
    a, b = ours.double().numpy(), theirs.double().numpy()
    if dtype.is_floating_point:
        # PyTorch's cpu kernels vectorise in chunks (which depend on the cpu), so the last bit may differ
        eps = float(torch.finfo(dtype).eps)
        np.testing.assert_allclose(a, b, rtol=2 * eps, atol=4 * eps * max(1.0, float(np.abs(b).max(initial=0))))
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_arange_float_steps(dtype: str) -> None:
    rng = np.random.default_rng(3)
    for _ in range(150):
        start = float(np.round(rng.uniform(-10, 10), int(rng.integers(0, 4))))
        step = float(np.round(rng.uniform(0.1, 3), int(rng.integers(1, 4)))) * float(rng.choice([-1, 1]))
        end = start + step * float(rng.uniform(0, 60))
        ours = disttorch.arange(start, end, step, dtype=getattr(disttorch, dtype))
        theirs = torch.arange(start, end, step, dtype=getattr(torch, dtype))
        _assert_values_close(ours, theirs, getattr(torch, dtype))
    for args in [(0, 1, 0.1), (1, 2, 0.1), (-1.0, 1.0, 0.125), (0, 10, 1 / 3)]:
        _assert_values_close(disttorch.arange(*args), torch.arange(*args), torch.float32)


@pytest.mark.parametrize("expr", [
    "L.linspace(0, 1, 5)", "L.linspace(-3, 7, 11)", "L.linspace(0, 1, 1)", "L.linspace(0, 1, 0)",
    "L.linspace(0, 10, 6, dtype=L.int64)", "L.linspace(-6, 6, 5, dtype=L.int32)",
    "L.linspace(0.5, 10.9, 3, dtype=L.int64)", "L.linspace(0, 1, 3, requires_grad=True)",
    "L.logspace(0, 2, 3)", "L.logspace(0, 1, 3, base=2)", "L.logspace(0, 3, 4, dtype=L.int64)",
    "L.linspace(L.tensor(0.0), L.tensor(2.0), 5)",
    "L.linspace(0, 1, -1)", "L.linspace(0, 10, 6, dtype=L.int64, requires_grad=True)",
])
def test_linspace_logspace(expr: str) -> None:
    same(expr)


@pytest.mark.parametrize("fn", ["linspace", "logspace"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linspace_logspace_values(fn: str, dtype: str) -> None:
    rng = np.random.default_rng(4)
    for _ in range(100):
        a, b = (float(np.round(v, 3)) for v in rng.uniform(-3, 3, size=2))
        n = int(rng.integers(0, 40))
        ours = getattr(disttorch, fn)(a, b, n, dtype=getattr(disttorch, dtype))
        theirs = getattr(torch, fn)(a, b, n, dtype=getattr(torch, dtype))
        _assert_values_close(ours, theirs, getattr(torch, dtype))
    ours, theirs = disttorch.logspace(-2, 2, 9, base=2.0), torch.logspace(-2, 2, 9, base=2.0)
    _assert_values_close(ours, theirs, torch.float32)


@pytest.mark.parametrize("expr", [
    "L.zeros_like(L.ones(2, dtype=L.int32))", "L.ones_like(L.ones(2, 2), dtype=L.float64)",
    "L.full_like(L.ones(3, dtype=L.int64), 2.7)", "L.full_like(L.ones(2), 5, dtype=L.int16)",
    "L.zeros_like(L.ones(2), requires_grad=True)", "L.ones_like(L.tensor([True]))", "L.zeros_like(L.tensor(2.5))",
    "L.ones_like(L.ones(2, requires_grad=True))", "L.full_like(L.zeros(2, 3, dtype=L.float64), 1.5)",
    "L.ones_like(L.ones(2, dtype=L.int64), requires_grad=True)",
    "L.ones(2, dtype=L.int32).new_zeros(3)", "L.ones(2, dtype=L.float64).new_ones((2, 2))",
    "L.ones(2, dtype=L.float64).new_full((2,), 3)", "L.ones(2, dtype=L.int8).new_tensor([1, 2])",
    "L.ones(2, dtype=L.int8).new_tensor([1.5, 2])", "L.ones(2).new_tensor([1, 2], requires_grad=True)",
    "L.ones(2).new_zeros(2, requires_grad=True)", "L.ones(2).new_ones(2, dtype=L.int64)",
    "L.ones(2, dtype=L.float16).new_full((1, 2), 2)", "L.ones(2, requires_grad=True).new_zeros(2)",
])
def test_like_and_new(expr: str) -> None:
    same(expr)


def test_like_shapes_of_empty() -> None:
    ours = disttorch.empty_like(disttorch.ones(2, 3, dtype=disttorch.int16))
    assert tuple(ours.shape) == (2, 3) and ours.dtype is disttorch.int16
    ours = disttorch.ones(2, dtype=disttorch.float64).new_empty(2, 3)
    assert tuple(ours.shape) == (2, 3) and ours.dtype is disttorch.float64


def test_requires_grad_leaf_and_clone(device: str) -> None:
    x = disttorch.ones(2, 3, device=device, requires_grad=True)
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    y = x.clone()
    assert not y.is_leaf and y.grad_fn.name() == "CloneBackward0"
    (y * disttorch.tensor(2.0, device=device)).backward(disttorch.ones(2, 3, device=device))
    np.testing.assert_array_equal(x.grad.cpu().numpy(), np.full((2, 3), 2.0, dtype=np.float32))
    z = disttorch.tensor([1, 2], device=device).requires_grad_(False)
    assert not z.requires_grad
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        disttorch.tensor([1, 2], device=device).requires_grad_()


def test_size() -> None:
    s, ts = disttorch.zeros(2, 3, 4).shape, torch.zeros(2, 3, 4).shape
    assert repr(s) == repr(ts) == "torch.Size([2, 3, 4])"
    assert str(s) == str(ts)
    assert s.numel() == ts.numel() == 24
    assert repr(disttorch.zeros(()).shape) == repr(torch.zeros(()).shape) == "torch.Size([])"
    assert disttorch.Size([]).numel() == 1
    assert isinstance(s, tuple) and s == (2, 3, 4) and s[1] == 3
    assert isinstance(s[1:], disttorch.Size) and repr(s[1:]) == repr(ts[1:])
    assert isinstance(s + (5,), disttorch.Size) and s + (5,) == (2, 3, 4, 5)
    assert disttorch.zeros(s).shape == s
    assert disttorch.ones(2, 3).size() == (2, 3) and disttorch.ones(2, 3).size(-1) == 3
