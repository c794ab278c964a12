"""The float8 dtypes against PyTorch 2.13 on CPU: conversions bit for bit, creation, copies, finfo, printing,
checkpoints both ways, the ops PyTorch runs on them and the errors of those it refuses."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

NAMES = ["float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu"]


def _values() -> np.ndarray:
    rng = np.random.default_rng(0)
    scaled = rng.standard_normal(4000) * 10.0 ** rng.uniform(-12, 6, 4000)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e30, -1e30, 1e-40, 2.0 ** -127, 448, 449, 464, 465,
               480, 240, 241, 248, 57344, 61439, 61440, 1.5, -1.5, 2.5, 3.5, 0.75, 6.0, 1.125, 1.0625]
    return np.concatenate([scaled, special]).astype(np.float32)


def _bits(t) -> np.ndarray:
    if isinstance(t, disttorch.Tensor):
        return t.view(disttorch.uint8).numpy().copy()
    return t.view(torch.uint8).numpy().copy()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("src", ["float32", "float64", "float16", "bfloat16", "int64", "bool"])
def test_to_float8_bit_exact(name, src):
    vals = _values()
    ref = torch.from_numpy(vals)
    if src == "int64":
        ref = torch.from_numpy(np.nan_to_num(vals, posinf=0, neginf=0).clip(-1e9, 1e9).astype(np.int64))
    elif src == "bool":
        ref = ref > 0
    else:
        ref = ref.to(getattr(torch, src))
    ours = disttorch.tensor(ref.float().numpy()).to(getattr(disttorch, src)) if src != "bool" else \
        disttorch.tensor(ref.numpy())
    if src == "int64":
        ours = disttorch.tensor(ref.numpy())
    assert np.array_equal(_bits(ours.to(getattr(disttorch, name))), _bits(ref.to(getattr(torch, name))))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dst", ["float32", "float64", "float16", "bfloat16", "int32", "bool", *NAMES])
def test_from_float8_every_bit_pattern(name, dst):
    pattern = np.arange(256, dtype=np.uint8)
    ref = torch.from_numpy(pattern).view(getattr(torch, name))
    ours = disttorch.tensor(pattern).view(getattr(disttorch, name))
    if dst == "int32":  # NaN and out-of-range values have no defined int (PyTorch: whatever the CPU gives)
        finite = ref.float().isfinite() & (ref.float().abs() < 2 ** 31)
        ref, ours = ref[finite], ours[disttorch.tensor(finite.numpy())]
    r, o = ref.to(getattr(torch, dst)), ours.to(getattr(disttorch, dst))
    assert o.dtype == getattr(disttorch, dst)
    if dst in NAMES:
        assert np.array_equal(_bits(o), _bits(r))
    else:
        rn, on = r.double().numpy(), o.double().numpy()
        assert np.array_equal(rn, on, equal_nan=True)


@pytest.mark.parametrize("name", NAMES)
def test_creation_and_writes_round_as_pytorch(name):
    values = [1.5, -2.25, 300.0, 1000.0, 1e-3, float("inf"), float("nan"), 0.0]
    ours_dt, ref_dt = getattr(disttorch, name), getattr(torch, name)
    assert np.array_equal(_bits(disttorch.tensor(values, dtype=ours_dt)), _bits(torch.tensor(values, dtype=ref_dt)))
    src_o, src_r = disttorch.tensor(values), torch.tensor(values)
    o, r = disttorch.empty(8, dtype=ours_dt), torch.empty(8, dtype=ref_dt)
    assert np.array_equal(_bits(o.copy_(src_o)), _bits(r.copy_(src_r)))
    for fill in (1000.0, 1e6, -3.3, 0.2, 0.0, 1e-40, float("inf"), float("nan")):
        try:
            r.fill_(fill)
        except RuntimeError as exc:  # a number out of the type's range: an error, not saturated
            with pytest.raises(RuntimeError, match="without overflow") as ours:
                o.fill_(fill)
            assert str(ours.value) == str(exc)
            with pytest.raises(RuntimeError, match="without overflow"):
                disttorch.full((3,), fill, dtype=ours_dt)
            continue
        assert np.array_equal(_bits(o.fill_(fill)), _bits(r))
        assert np.array_equal(_bits(disttorch.full((3,), fill, dtype=ours_dt)),
                              _bits(torch.full((3,), fill, dtype=ref_dt)))
    o[1:3] = disttorch.tensor([700.0, -0.1])
    r[1:3] = torch.tensor([700.0, -0.1])
    assert np.array_equal(_bits(o), _bits(r))
    for make in ("zeros", "ones", "empty"):
        t = getattr(disttorch, make)(2, 3, dtype=ours_dt)
        assert t.dtype is ours_dt and t.shape == (2, 3)
    assert disttorch.zeros_like(o).dtype is ours_dt and disttorch.ones_like(o).float().tolist() == [1.0] * 8


@pytest.mark.parametrize("name", NAMES)
def test_dtype_properties_and_finfo(name):
    ours, ref = getattr(disttorch, name), getattr(torch, name)
    assert repr(ours) == repr(ref)
    assert (ours.itemsize, ours.is_floating_point, ours.is_signed, ours.is_complex) == \
        (ref.itemsize, ref.is_floating_point, ref.is_signed, ref.is_complex)
    assert disttorch.ones(3, dtype=ours).element_size() == 1
    assert disttorch.ones(2, dtype=ours).type() == torch.ones(2, dtype=ref).type()
    strided = disttorch.empty_strided((2, 3), (1, 2), dtype=ours)
    assert strided.stride() == torch.empty_strided((2, 3), (1, 2), dtype=ref).stride() and strided.dtype is ours
    fo, fr = disttorch.finfo(ours), torch.finfo(ref)
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(fo, field) == getattr(fr, field), field
    assert repr(fo) == repr(fr)


@pytest.mark.parametrize("name", NAMES)
def test_printing_matches(name):
    vals = [[0.5, -1.25, 3.0], [100.0, 0.015625, 7.0]]
    ours = disttorch.tensor(vals).to(getattr(disttorch, name))
    ref = torch.tensor(vals).to(getattr(torch, name))
    assert repr(ours) == repr(ref)
    assert repr(ours[0, 1]) == repr(ref[0, 1])
    assert ours.tolist() == ref.tolist() and ours[1, 0].item() == ref[1, 0].item()


@pytest.mark.parametrize("name", NAMES)
def test_checkpoints_both_ways(name, tmp_path):
    vals = [0.5, -1.25, 3.0, 100.0, 0.015625]
    ref = torch.tensor(vals).to(getattr(torch, name))
    torch.save({"a": ref, "b": ref[1:]}, tmp_path / "theirs.pt")
    got = disttorch.load(tmp_path / "theirs.pt")
    assert got["a"].dtype is getattr(disttorch, name)
    assert np.array_equal(_bits(got["a"]), _bits(ref)) and np.array_equal(_bits(got["b"]), _bits(ref[1:]))
    ours = disttorch.tensor(vals).to(getattr(disttorch, name))
    disttorch.save({"a": ours, "b": ours[1:]}, tmp_path / "ours.pt")
    back = torch.load(tmp_path / "ours.pt")
    assert back["a"].dtype == getattr(torch, name)
    assert np.array_equal(_bits(back["a"]), _bits(ours))
    assert back["b"].storage_offset() == 1 and back["b"].untyped_storage().data_ptr() == \
        back["a"].untyped_storage().data_ptr()  # the view stays a view


def _ops(lib, d):
    y = lib.tensor([1.0, 2.0, 3.0, -0.5]).to(d)
    m = lib.tensor([[1.0, 2.0, -3.0], [0.25, 4.0, 8.0]]).to(d)
    w = lib.tensor([[0.5, -1.0, 2.0], [1.5, 0.75, -0.25]]).to(d)
    big = lib.full((2, 2), 300.0).to(d)
    return {
        # PyTorch runs these on float8 (CPU)
        "clone": lambda: y.clone(), "cat": lambda: lib.cat([y, y]), "stack": lambda: lib.stack([y, y]),
        "view_bits": lambda: y.view(lib.uint8), "reshape": lambda: y.reshape(2, 2), "slice": lambda: y[1:3],
        "t_contig": lambda: m.t().contiguous(), "index_select": lambda: y.index_select(0, lib.tensor([0, 2])),
        "adv_index": lambda: y[lib.tensor([3, 0])], "mask_index": lambda: y[y == y], "expand": lambda: y[:1].expand(3),
        "repeat": lambda: y.repeat(2), "split": lambda: y.split(2), "unbind": lambda: m.unbind(),
        "roll": lambda: y.roll(1),
        "pad": lambda: lib.nn.functional.pad(y, (1, 1)), "rot90": lambda: m.rot90(), "diag": lambda: y.diag(),
        "unfold": lambda: y.unfold(0, 2, 1), "diagonal": lambda: m.diagonal(), "where": lambda: lib.where(y == y, y, y),
        "abs": lambda: y.abs(), "mul": lambda: y * y, "mul_big": lambda: big * big, "mm": lambda: m.mm(w.t()),
        "mm_big": lambda: big.mm(big), "matmul_3d_2d": lambda: m.reshape(1, 2, 3) @ w.t(),
        "linear": lambda: lib.nn.functional.linear(m, w), "linear_bias": lambda: lib.nn.functional.linear(m, w, y[:2]),
        "eq": lambda: y == y, "ne_scalar": lambda: y != 1.0, "isnan": lambda: y.isnan(), "isinf": lambda: y.isinf(),
        "isfinite": lambda: y.isfinite(),
        "to_float": lambda: y.float(), "to_int": lambda: y.int(), "bool": lambda: y.bool(),
        # PyTorch has no float8 kernel for these on CPU
        "add": lambda: y + y, "sub": lambda: y - y, "neg": lambda: -y, "sum": lambda: y.sum(), "mean": lambda: y.mean(),
        "exp": lambda: y.exp(), "sqrt": lambda: y.sqrt(), "max": lambda: y.max(), "amax": lambda: y.amax(),
        "min2": lambda: lib.minimum(y, y), "relu": lambda: lib.relu(y), "flip": lambda: y.flip(0),
        "lt": lambda: y < y, "gt_scalar": lambda: y > 1.0, "mul_scalar": lambda: y * 2,
        "mul_0dim": lambda: y * lib.tensor(2.0).to(d), "div": lambda: y / y, "pow": lambda: y ** 2,
        "sign": lambda: y.sign(), "clamp": lambda: y.clamp(0, 1), "tril": lambda: m.tril(),
        "cumsum": lambda: y.cumsum(0),
        "bmm": lambda: m.reshape(1, 2, 3).bmm(w.t().reshape(1, 3, 2)), "dot": lambda: y @ y, "mv": lambda: m.mv(y[:3]),
        "masked_fill": lambda: y.masked_fill(y == y, 0.0), "logical_and": lambda: lib.logical_and(y, y),
        "logical_not": lambda: lib.logical_not(y), "nan_to_num": lambda: y.nan_to_num(), "lerp": lambda: y.lerp(y, 0.5),
    }


def _same(o, r) -> bool:
    if isinstance(r, (tuple, list)):
        return len(o) == len(r) and all(_same(a, b) for a, b in zip(o, r))
    if r.dtype == torch.bool or not r.dtype.is_floating_point or r.dtype in (torch.float32,):
        return np.array_equal(np.asarray(o), r.numpy(), equal_nan=r.dtype.is_floating_point)
    return o.dtype is getattr(disttorch, str(r.dtype)[6:]) and np.array_equal(_bits(o.contiguous()),
                                                                             _bits(r.contiguous()))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("op", list(_ops(disttorch, disttorch.float32)))
def test_ops_as_pytorch(name, op):
    ref_fn, our_fn = _ops(torch, getattr(torch, name))[op], _ops(disttorch, getattr(disttorch, name))[op]
    try:
        expected = ref_fn()
    except NotImplementedError as exc:  # no kernel: the same error naming the same dtype (kernel names differ)
        with pytest.raises(NotImplementedError, match="not implemented for 'Float8_e") as ours:
            our_fn()
        assert str(ours.value).split("'")[-2] == str(exc).split("'")[-2]
        return
    except RuntimeError as exc:  # e.g. a pad value out of the type's range
        with pytest.raises(RuntimeError) as ours:
            our_fn()
        assert str(ours.value) == str(exc)
        return
    got = our_fn()
    assert _same(got, expected), (got, expected)


@pytest.mark.parametrize("other", ["float32", "bfloat16", "float8_e5m2", "int64"])
def test_promotion_with_float8_is_refused(other):
    a = torch.ones(2, dtype=torch.float8_e4m3fn)
    with pytest.raises(RuntimeError) as ref:
        a + torch.ones(2, dtype=getattr(torch, other))
    with pytest.raises(RuntimeError) as ours:
        disttorch.ones(2, dtype=disttorch.float8_e4m3fn) + disttorch.ones(2, dtype=getattr(disttorch, other))
    assert str(ours.value) == str(ref.value)
    assert "Promotion for Float8 Types is not supported" in str(ours.value)
    with pytest.raises(RuntimeError, match="Promotion for Float8 Types"):
        disttorch.promote_types(disttorch.float8_e4m3fn, getattr(disttorch, other))


def test_float8_needs_no_import_of_ml_dtypes_at_start():
    import subprocess

    code = "import sys, disttorch; assert 'ml_dtypes' not in sys.modules; print(disttorch.float8_e4m3fn.itemsize)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "1", out.stderr


def test_numpy_round_trip_keeps_ml_dtypes_type():
    import ml_dtypes

    arr = np.array([1.0, 2.5, -4.0], dtype=ml_dtypes.float8_e4m3fn)
    t = disttorch.from_numpy(arr)
    assert t.dtype is disttorch.float8_e4m3fn and t.numpy().dtype == arr.dtype


def test_float8_lives_on_cpu_and_cuda_refuses_it(device):
    x = disttorch.ones(3, dtype=disttorch.float8_e4m3fn)
    if device == "cpu":  # the cpu holds them: the same calls succeed
        for t in (x.to(device), disttorch.ones(3, device=device, dtype=x.dtype),
                  disttorch.tensor([1.0], device=device, dtype=disttorch.float8_e8m0fnu)):
            assert t.is_cpu and t.dtype.itemsize == 1
        return
    for make in (lambda: x.to(device), lambda: x.cuda(), lambda: disttorch.ones(3, device=device, dtype=x.dtype),
                 lambda: disttorch.zeros(3, device=device, dtype=disttorch.float8_e5m2),
                 lambda: disttorch.tensor([1.0], device=device, dtype=disttorch.float8_e8m0fnu),
                 lambda: disttorch.ones(3, device=device).to(disttorch.float8_e4m3fnuz)):
        with pytest.raises(RuntimeError, match="cupy has no 8-bit float dtype"):
            make()
