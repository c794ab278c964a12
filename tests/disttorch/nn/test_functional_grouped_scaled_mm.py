"""F.grouped_mm, F.scaled_mm, F.scaled_grouped_mm and the ScalingType / SwizzleType enums against PyTorch
2.13 on CPU: values, gradients, and the errors PyTorch raises there."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch
import disttorch.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(shape, dtype="float32", seed=0, requires_grad=False):
    arr = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    t = torch.tensor(arr).to(getattr(torch, dtype))
    d = disttorch.tensor(arr).to(getattr(disttorch, dtype))
    if requires_grad:
        t.requires_grad_(), d.requires_grad_()
    return d, t


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().float().numpy()
    return x.detach().float().numpy()


def test_enums_match():
    for ours, ref in ((F.ScalingType, TF.ScalingType), (F.SwizzleType, TF.SwizzleType)):
        assert [m.name for m in ours] == list(ref.__members__)
        for m in ours:
            r = ref.__members__[m.name]
            assert int(m) == int(r) == m.value and repr(m) == repr(r) and str(m) == str(r)
        assert ours.__name__ == type(next(iter(ref.__members__.values()))).__name__


CASES = {
    "3d_3d": ((2, 4, 8), (2, 8, 16), None),
    "2d_3d": ((10, 8), (3, 8, 16), [3, 7, 10]),
    "2d_3d_tail": ((12, 8), (3, 8, 16), [2, 2, 9]),
    "3d_2d": ((3, 16, 8), (8, 24), [8, 16, 24]),
    "2d_2d": ((16, 24), (24, 8), [8, 16, 24]),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_grouped_mm_values_and_gradients(case, dtype):
    sa, sb, offs = CASES[case]
    (a, ta), (b, tb) = _pair(sa, dtype, 1, True), _pair(sb, dtype, 2, True)
    kw_t = {} if offs is None else {"offs": torch.tensor(offs, dtype=torch.int32)}
    kw_d = {} if offs is None else {"offs": disttorch.tensor(offs, dtype=disttorch.int32)}
    ref, ours = TF.grouped_mm(ta, tb, **kw_t), F.grouped_mm(a, b, **kw_d)
    assert ours.dtype is getattr(disttorch, dtype) and tuple(ours.shape) == tuple(ref.shape)
    tol = 1e-5 if dtype == "float32" else 2e-2
    valid = slice(None) if case != "2d_3d_tail" else slice(0, 9)  # PyTorch leaves rows past offs[-1] unset
    np.testing.assert_allclose(_np(ours)[valid], _np(ref)[valid], rtol=tol, atol=tol)
    if dtype == "float32":
        g = np.random.default_rng(3).standard_normal(tuple(ref.shape)).astype(np.float32)
        g[9:] = 0 if case == "2d_3d_tail" else g[9:]
        ref.backward(torch.tensor(g))
        ours.backward(disttorch.tensor(g))
        # (PyTorch's gradient of the rows past offs[-1] is unset memory; ours is 0)
        np.testing.assert_allclose(_np(a.grad)[valid], _np(ta.grad)[valid], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(_np(b.grad), _np(tb.grad), rtol=1e-5, atol=1e-5)


def test_grouped_mm_gradients_closed_form():
    # grouped_mm takes no float64 (as PyTorch's CPU kernel), so no float64 gradcheck: the gradients of
    # sum(a[g] @ b[g]) are checked against their closed form instead
    a = disttorch.randn(2, 4, 4, requires_grad=True)
    b = disttorch.randn(2, 4, 4, requires_grad=True)
    y = F.grouped_mm(a, b)
    (ga, gb) = disttorch.autograd.grad(y.sum(), (a, b))
    ones = np.ones((2, 4, 4), np.float32)
    np.testing.assert_allclose(ga.numpy(), ones @ np.swapaxes(b.detach().numpy(), -1, -2), rtol=1e-5)
    np.testing.assert_allclose(gb.numpy(), np.swapaxes(a.detach().numpy(), -1, -2) @ ones, rtol=1e-5)


ERRORS = {
    "float64": lambda lib, o: lib.grouped_mm(o.randn(2, 4, 8, dtype=o.float64), o.randn(2, 8, 16, dtype=o.float64)),
    "float8": lambda lib, o: lib.grouped_mm(o.randn(2, 16, 16).to(o.float8_e4m3fn),
                                            o.randn(2, 16, 16).to(o.float8_e4m3fn)),
    "strides": lambda lib, o: lib.grouped_mm(o.randn(2, 4, 8), o.randn(2, 8, 6)),
    "no_offs": lambda lib, o: lib.grouped_mm(o.randn(16, 8), o.randn(8, 16)),
    "extra_offs": lambda lib, o: lib.grouped_mm(o.randn(2, 4, 8), o.randn(2, 8, 16),
                                                offs=o.tensor([1, 2], dtype=o.int32)),
    "int64_offs": lambda lib, o: lib.grouped_mm(o.randn(10, 8), o.randn(3, 8, 16), offs=o.tensor([3, 7, 10])),
    "groups": lambda lib, o: lib.grouped_mm(o.randn(2, 4, 8), o.randn(3, 8, 16)),
    "contraction": lambda lib, o: lib.grouped_mm(o.randn(2, 4, 8), o.randn(2, 16, 16)),
    "1d": lambda lib, o: lib.grouped_mm(o.randn(8), o.randn(2, 8, 16)),
    "bias": lambda lib, o: lib.grouped_mm(o.randn(2, 4, 8), o.randn(2, 8, 16), bias=o.randn(2, 16)),
    "out_dtype": lambda lib, o: lib.grouped_mm(o.randn(2, 4, 8).bfloat16(), o.randn(2, 8, 16).bfloat16(),
                                               out_dtype=o.float32),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_grouped_mm_errors_match(case):
    with pytest.raises(Exception) as ref:
        ERRORS[case](TF, torch)
    with pytest.raises(type(ref.value)) as ours:
        ERRORS[case](F, disttorch)
    assert str(ours.value) == str(ref.value).split("\n")[0]


def _fp8(lib, shape, seed, dtype="float8_e4m3fn", col_major=False):
    arr = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    t = lib.tensor(arr.T.copy()).t() if col_major else lib.tensor(arr)
    return t.to(getattr(lib, dtype))


def _scaled_args(lib, lib_f, recipe, m=16, k=32, n=24, dtypes=("float8_e4m3fn", "float8_e4m3fn")):
    a, b = _fp8(lib, (m, k), 1, dtypes[0]), _fp8(lib, (k, n), 2, dtypes[1], col_major=True)
    if recipe == "TensorWise":
        sa, sb = lib.tensor(0.5), lib.tensor([2.0])
    else:
        rng = np.random.default_rng(4)
        sa = lib.tensor(rng.uniform(0.5, 2, (m, 1)).astype(np.float32))
        sb = lib.tensor(rng.uniform(0.5, 2, (1, n)).astype(np.float32))
    r = getattr(lib_f.ScalingType, recipe)
    return a, b, sa, r, sb, r


@pytest.mark.parametrize("recipe", ["TensorWise", "RowWise"])
@pytest.mark.parametrize("out", ["bfloat16", "float32", "float16", "float8_e4m3fn", None])
@pytest.mark.parametrize("operands", [("float8_e4m3fn", "float8_e4m3fn"), ("float8_e5m2", "float8_e4m3fn"),
                                      ("float8_e5m2", "float8_e5m2")])
def test_scaled_mm_values(recipe, out, operands):
    kw_t = {"output_dtype": getattr(torch, out) if out else None}
    kw_d = {"output_dtype": getattr(disttorch, out) if out else None}
    ref = TF.scaled_mm(*_scaled_args(torch, TF, recipe, dtypes=operands), **kw_t)
    ours = F.scaled_mm(*_scaled_args(disttorch, F, recipe, dtypes=operands), **kw_d)
    assert ours.dtype is getattr(disttorch, str(ref.dtype)[6:]) and tuple(ours.shape) == tuple(ref.shape)
    tol = {"float32": 1e-5, "float16": 2e-3}.get(out, 2e-2) if out else 0.13
    np.testing.assert_allclose(_np(ours), _np(ref), rtol=tol, atol=tol)


def test_scaled_mm_bias_and_gpu_only_arguments():
    bias = np.random.default_rng(5).standard_normal(24).astype(np.float32)
    ref = TF.scaled_mm(*_scaled_args(torch, TF, "TensorWise"), bias=torch.tensor(bias).bfloat16(),
                       swizzle_a=TF.SwizzleType.SWIZZLE_32_4_4, use_fast_accum=True, contraction_dim=[1, 0])
    ours = F.scaled_mm(*_scaled_args(disttorch, F, "TensorWise"), bias=disttorch.tensor(bias).bfloat16(),
                       swizzle_a=F.SwizzleType.SWIZZLE_32_4_4, use_fast_accum=True, contraction_dim=[1, 0])
    np.testing.assert_allclose(_np(ours), _np(ref), rtol=2e-2, atol=2e-2)
    lists = F.scaled_mm(*[[x] if not isinstance(x, disttorch.Tensor) or i > 1 else x
                          for i, x in enumerate(_scaled_args(disttorch, F, "TensorWise"))])
    np.testing.assert_array_equal(_np(lists), _np(F.scaled_mm(*_scaled_args(disttorch, F, "TensorWise"))))


def _scaled_error_cases(lib, lib_f):
    S = lib_f.ScalingType
    a, b = _fp8(lib, (16, 32), 1), _fp8(lib, (32, 16), 2)
    one = lib.tensor(1.0)
    return {
        "blockwise": lambda: lib_f.scaled_mm(a, b, lib.ones(16, 1), S.BlockWise1x32, lib.ones(1, 16), S.BlockWise1x32),
        "mixed": lambda: lib_f.scaled_mm(a, b, one, S.TensorWise, lib.ones(1, 16), S.RowWise),
        "float32_operands": lambda: lib_f.scaled_mm(a.float(), b.float(), one, S.TensorWise, one, S.TensorWise),
        "float64_scale": lambda: lib_f.scaled_mm(a, b, one.double(), S.TensorWise, one, S.TensorWise),
        "two_scales": lambda: lib_f.scaled_mm(a, b, [one, one], [S.TensorWise, S.TensorWise], one, S.TensorWise),
        "tensorwise_numel": lambda: lib_f.scaled_mm(a, b, lib.ones(2), S.TensorWise, one, S.TensorWise),
        "rowwise_shape": lambda: lib_f.scaled_mm(a, b, lib.ones(1, 16), S.RowWise, lib.ones(16, 1), S.RowWise),
        "rowwise_1d": lambda: lib_f.scaled_mm(a, b, lib.ones(16), S.RowWise, lib.ones(16), S.RowWise),
        "shapes": lambda: lib_f.scaled_mm(a, b[:16], one, S.TensorWise, one, S.TensorWise),
        "3d": lambda: lib_f.scaled_mm(a.reshape(1, 16, 32), b, one, S.TensorWise, one, S.TensorWise),
        "bias_size": lambda: lib_f.scaled_mm(a, b, one, S.TensorWise, one, S.TensorWise, bias=lib.ones(15)),
        "grouped": lambda: lib_f.scaled_grouped_mm(a.reshape(2, 8, 32), b.t().reshape(2, 8, 32).transpose(-1, -2),
                                                   lib.ones(2, 8), S.RowWise, lib.ones(2, 8), S.RowWise),
    }


@pytest.mark.parametrize("case", list(_scaled_error_cases(disttorch, F)))
def test_scaled_mm_errors_match(case):
    with pytest.raises(Exception) as ref:
        _scaled_error_cases(torch, TF)[case]()
    with pytest.raises(type(ref.value)) as ours:
        _scaled_error_cases(disttorch, F)[case]()
    first = str(ref.value).split("\n")[0]
    if case == "grouped":
        assert str(ours.value).startswith(first.split(" This could")[0])
    else:
        assert str(ours.value) == first
