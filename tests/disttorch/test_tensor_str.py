"""repr/str of tensors must be byte-identical to PyTorch's."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def same(ours: object, theirs: object) -> None:
    a, b = repr(ours), repr(theirs)
    assert a == b, f"\nours:\n{a}\ntorch:\n{b}"
    assert str(ours) == str(theirs)


def both(arr: np.ndarray, **kw: object) -> tuple:
    return disttorch.tensor(arr, **kw), torch.tensor(arr, **kw)


@pytest.fixture
def printopts():
    """Set print options on both libraries; restore the defaults afterwards."""

    def setter(**kw: object) -> None:
        disttorch.set_printoptions(**kw)
        torch.set_printoptions(**kw)

    yield setter
    disttorch.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


@pytest.fixture
def default_dtype():
    yield
    disttorch.set_default_dtype(disttorch.float32)
    torch.set_default_dtype(torch.float32)


SCALES = [10.0 ** k for k in range(-6, 10)]


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4), ()])
def test_random_floats(scale: float, dtype: type, shape: tuple) -> None:
    arr = (_rng(len(shape)).standard_normal(shape) * scale).astype(dtype)
    same(*both(arr))


@pytest.mark.parametrize("scale", [1e-6, 1e-3, 1.0, 1e3, 1e9])
def test_positive_floats_and_mixed_magnitudes(scale: float) -> None:
    arr = np.abs(_rng(1).standard_normal(9)).astype(np.float32) * scale
    same(*both(arr))
    mixed = np.array([scale, 1.0, 0.5, -2.0], dtype=np.float32)
    same(*both(mixed))


@pytest.mark.parametrize("values", [
    [1.0, 2.0, 3.0], [0.0, -1.0, 100.0], [1.0, 1e9], [1.0, 2000.0], [-5.0, 1e8], [1e8, 2e8], [3.0],
    [0.0, 0.0], [-0.0, 0.0], [-0.0], [1e-5, 1.0], [1e-4, 0.5], [0.1, 0.2, 0.3], [123456.789, 0.001],
    [float("inf"), 1.0], [float("nan"), 2.5], [float("-inf"), float("inf"), float("nan")],
    [float("nan"), 0.0], [float("inf"), -0.0, 1e-7], [1.0, float("nan"), 1e10], [-1.5, -0.0, 2.0],
])
def test_special_float_lists(values: list) -> None:
    same(disttorch.tensor(values), torch.tensor(values))
    same(disttorch.tensor(values, dtype=disttorch.float64), torch.tensor(values, dtype=torch.float64))


@pytest.mark.parametrize("value", [0.0, -0.0, 1.0, -3.0, 1.5, 1e-8, 1e12, float("inf"), float("nan"), 123.456])
def test_zero_dim_float(value: float) -> None:
    same(disttorch.tensor(value), torch.tensor(value))


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8"])
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 2, 3), ()])
def test_ints(dtype: str, shape: tuple) -> None:
    lo = 0 if dtype == "uint8" else -100
    arr = _rng(2).integers(lo, 100, size=shape).astype(dtype)
    same(*both(arr))


def test_large_ints_and_wrapping() -> None:
    arr = _rng(3).integers(-10**12, 10**12, size=(40,))
    same(*both(arr))
    same(disttorch.arange(100), torch.arange(100))


@pytest.mark.parametrize("shape", [(6,), (3, 3), (2, 2, 2), ()])
def test_bools(shape: tuple) -> None:
    arr = _rng(4).random(shape) > 0.5
    same(*both(arr))


@pytest.mark.parametrize("shape", [(30,), (5, 30), (3, 4, 5), (2, 3, 2, 4), (2, 1, 2, 1, 3)])
def test_nesting_and_line_wrapping(shape: tuple) -> None:
    arr = _rng(5).standard_normal(shape).astype(np.float32)
    same(*both(arr))
    same(*both((arr * 1e5).round()))


@pytest.mark.parametrize("shape", [(1001,), (2000,), (40, 50), (11, 11, 11), (5, 6, 7, 8), (3, 500), (500, 3)])
@pytest.mark.parametrize("kind", ["float", "int", "bool"])
def test_summarisation(shape: tuple, kind: str) -> None:
    arr = _rng(6).standard_normal(shape).astype(np.float32)
    if kind == "int":
        arr = (arr * 1000).astype(np.int64)
    elif kind == "bool":
        arr = arr > 0
    same(*both(arr))


def test_summarised_formatter_sees_only_shown_values() -> None:
    arr = np.ones(2000, dtype=np.float32)
    arr[1000] = 1e-9  # hidden in the middle: must not switch to scientific mode
    same(*both(arr))
    arr[0] = 1e-9
    same(*both(arr))


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0), (2, 0, 4)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool", "int32"])
def test_empty(shape: tuple, dtype: str) -> None:
    same(*both(np.zeros(shape, dtype=dtype)))


def test_empty_from_list() -> None:
    same(disttorch.tensor([]), torch.tensor([]))
    same(disttorch.zeros(0, 3), torch.zeros(0, 3))


@pytest.mark.parametrize("scale", [1e-3, 1.0, 100.0, 1e4])
def test_half_and_bfloat16(scale: float) -> None:
    arr = (_rng(7).standard_normal((3, 4)) * scale).astype(np.float32)
    same(disttorch.tensor(arr).half(), torch.tensor(arr).half())
    same(disttorch.tensor(arr).bfloat16(), torch.tensor(arr).bfloat16())


@pytest.mark.parametrize("values", [
    [1 + 2j, -3.5 - 0.25j], [0j, 1j], [1e-6 + 1j, 2 + 0j], [complex(1, -0.0), complex(-0.0, 2)],
    [complex(float("inf"), 1), complex(1, float("nan"))],
])
def test_complex(values: list) -> None:
    same(disttorch.tensor(values), torch.tensor(values))
    same(disttorch.tensor(values, dtype=disttorch.complex128), torch.tensor(values, dtype=torch.complex128))
    same(disttorch.tensor(values[0]), torch.tensor(values[0]))


def test_dtype_suffixes(default_dtype: None) -> None:
    vals = [1.5, 2.0]
    for name in ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]:
        same(disttorch.tensor(vals, dtype=getattr(disttorch, name)), torch.tensor(vals, dtype=getattr(torch, name)))
    disttorch.set_default_dtype(disttorch.float64)
    torch.set_default_dtype(torch.float64)
    for name in ["float32", "float64", "complex64", "complex128"]:
        same(disttorch.tensor(vals, dtype=getattr(disttorch, name)), torch.tensor(vals, dtype=getattr(torch, name)))
    same(disttorch.zeros(0), torch.zeros(0))
    same(disttorch.zeros(0, dtype=disttorch.float32), torch.zeros(0, dtype=torch.float32))


def test_autograd_suffixes() -> None:
    arr = _rng(8).standard_normal((2, 3)).astype(np.float32)
    d, t = both(arr, requires_grad=True)
    same(d, t)
    same(d * 2, t * 2)
    same(d + d, t + t)
    same(d.double(), t.double())
    same(d.detach(), t.detach())
    with disttorch.no_grad(), torch.no_grad():
        same(d * 2, t * 2)


def test_parameter() -> None:
    arr = _rng(9).standard_normal((2, 2)).astype(np.float32)
    same(disttorch.nn.Parameter(disttorch.tensor(arr)), torch.nn.Parameter(torch.tensor(arr)))


def test_suffix_wraps_at_linewidth() -> None:
    arr = _rng(10).standard_normal((2, 9))
    d, t = both(arr, requires_grad=True)
    same(d, t)
    same(d * 3, t * 3)
    d, t = both(_rng(11).standard_normal(6))
    same(d, t)


@pytest.mark.parametrize("opts", [
    dict(precision=2), dict(precision=8), dict(precision=0), dict(threshold=5), dict(threshold=5, edgeitems=1),
    dict(threshold=5, edgeitems=0), dict(edgeitems=5), dict(linewidth=40), dict(linewidth=200),
    dict(linewidth=5), dict(sci_mode=True), dict(sci_mode=False), dict(profile="short"), dict(profile="full"),
    dict(profile="short", precision=6),
])
def test_printoptions(printopts, opts: dict) -> None:
    printopts(**opts)
    rng = _rng(12)
    arrays = [rng.standard_normal((4, 6)).astype(np.float32), rng.standard_normal(20) * 1e-6,
              np.arange(12, dtype=np.int64).reshape(3, 4), rng.standard_normal((3, 3, 3)).astype(np.float32),
              np.array([1.0, 2.0, 3.0], dtype=np.float32), np.zeros(3, dtype=np.float32),
              np.array([0.0, float("inf")], dtype=np.float32), np.array(0.5, dtype=np.float32),
              rng.standard_normal(1500).astype(np.float32), rng.random((30, 40)) > 0.5]
    for arr in arrays:
        same(*both(arr))


def test_format_of_zero_dim() -> None:
    d, t = disttorch.tensor(2.5), torch.tensor(2.5)
    assert f"{d:.3f}" == f"{t:.3f}"
