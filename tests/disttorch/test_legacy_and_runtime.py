"""Names PyTorch programs reach for outside the ops: legacy tensor types, Variable, finfo/iinfo, constants,
default device, float32 matmul precision and the torch.backends flag modules, each checked against PyTorch."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor", "ShortTensor",
          "CharTensor", "ByteTensor", "BoolTensor"]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_constructors_match_torch(name):
    ours, theirs = getattr(disttorch, name), getattr(torch, name)
    data = ours([1, 0, 2]) if name != "BoolTensor" else ours([True, False])
    ref = theirs([1, 0, 2]) if name != "BoolTensor" else theirs([True, False])
    assert str(data.dtype) == str(ref.dtype) and data.tolist() == ref.tolist()
    assert ours(2, 3).shape == theirs(2, 3).shape == (2, 3)
    assert ours(2, 3).dtype is data.dtype
    assert isinstance(data, ours) and isinstance(ref, theirs)
    other = "DoubleTensor" if name != "DoubleTensor" else "FloatTensor"
    assert not isinstance(data, getattr(disttorch, other)) and not isinstance(ref, getattr(torch, other))
    assert repr(ours) == repr(theirs)


def test_type_with_legacy_types_and_names():
    x, t = disttorch.tensor([1.5, 2.5]), torch.tensor([1.5, 2.5])
    for target in ("DoubleTensor", "LongTensor", "ByteTensor"):
        a, b = x.type(getattr(disttorch, target)), t.type(getattr(torch, target))
        assert str(a.dtype) == str(b.dtype) and a.tolist() == b.tolist()
        a, b = x.type(f"torch.{target}"), t.type(f"torch.{target}")
        assert str(a.dtype) == str(b.dtype) and a.type() == b.type()
    assert x.type() == t.type() == "torch.FloatTensor"
    with pytest.raises(ValueError, match="invalid type"):
        x.type("torch.NoSuchTensor")
    if disttorch.cuda.is_available():
        assert x.type(disttorch.cuda.LongTensor).device.type == "cuda"
    else:  # no GPU (or no cupy): the move to cuda fails with a message saying so
        with pytest.raises(RuntimeError, match="cupy|cuda"):
            x.type(disttorch.cuda.FloatTensor)


def test_set_default_tensor_type():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        disttorch.set_default_tensor_type(disttorch.DoubleTensor)
        try:
            assert disttorch.zeros(1).dtype is disttorch.float64
        finally:
            disttorch.set_default_tensor_type("torch.FloatTensor")
    assert disttorch.zeros(1).dtype is disttorch.float32
    with pytest.raises(TypeError, match="floating-point"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        disttorch.set_default_tensor_type(disttorch.LongTensor)


def test_variable_is_a_leaf_sharing_data():
    from disttorch.autograd import Variable

    base = disttorch.ones(3)
    v = Variable(base, requires_grad=True)
    tv = torch.autograd.Variable(torch.ones(3), requires_grad=True)
    assert v.requires_grad == tv.requires_grad and v.is_leaf == tv.is_leaf
    assert isinstance(v, Variable) and isinstance(base, Variable)
    (v * 2).sum().backward()
    assert v.grad.tolist() == [2.0, 2.0, 2.0]
    base[0] = 5.0  # shares storage, as in PyTorch
    assert v[0].item() == 5.0
    with pytest.raises(TypeError, match="Variable data has to be a tensor"):
        Variable([1.0])


@pytest.mark.parametrize("name", ["float32", "float64", "float16", "bfloat16"])
def test_finfo_matches_torch(name):
    a, b = disttorch.finfo(getattr(disttorch, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(a, field) == getattr(b, field), field
    assert repr(a) == repr(b)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name):
    a, b = disttorch.iinfo(getattr(disttorch, name)), torch.iinfo(getattr(torch, name))
    assert (a.bits, a.max, a.min, a.dtype) == (b.bits, b.max, b.min, b.dtype)
    assert repr(a) == repr(b)


def test_info_refusals():
    with pytest.raises(TypeError):
        disttorch.finfo(disttorch.int32)
    with pytest.raises(TypeError):
        disttorch.iinfo(disttorch.float32)
    with pytest.raises(TypeError):
        disttorch.iinfo(disttorch.bool)
    assert disttorch.finfo().dtype == torch.finfo().dtype == "float32"


def test_constants():
    assert (disttorch.pi, disttorch.e, disttorch.inf) == (torch.pi, torch.e, torch.inf) == (math.pi, math.e, math.inf)
    assert math.isnan(disttorch.nan) and disttorch.newaxis is torch.newaxis is None
    x = disttorch.zeros(2, 3)
    assert x[:, disttorch.newaxis].shape == torch.zeros(2, 3)[:, torch.newaxis].shape


def test_default_device_for_factories_and_samplers():
    assert disttorch.get_default_device() == disttorch.device("cpu")
    assert str(disttorch.get_default_device()) == str(torch.get_default_device())
    disttorch.set_default_device("cpu")
    try:
        assert disttorch.get_default_device() == disttorch.device("cpu")
        assert disttorch.zeros(2).device.type == disttorch.randn(2).device.type == "cpu"
    finally:
        disttorch.set_default_device(None)
    if not disttorch.cuda.is_available():
        disttorch.set_default_device("cuda")
        try:
            with pytest.raises(RuntimeError, match="cupy|cuda"):
                disttorch.zeros(2)  # the default reaches the factory: cuda is asked for (and is absent)
            with pytest.raises(RuntimeError, match="cupy|cuda"):
                disttorch.randn(2)
        finally:
            disttorch.set_default_device(None)
    assert disttorch.zeros(2).device.type == "cpu"


def test_float32_matmul_precision_round_trip():
    flags = disttorch.backends.cuda.matmul
    assert disttorch.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
    try:
        for p in ("high", "medium", "highest"):
            disttorch.set_float32_matmul_precision(p)
            torch.set_float32_matmul_precision(p)
            assert disttorch.get_float32_matmul_precision() == p
            assert flags.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
        flags.allow_tf32 = True
        assert disttorch.get_float32_matmul_precision() == "high"
        with pytest.raises(RuntimeError, match="Invalid precision"):
            disttorch.set_float32_matmul_precision("fast")
    finally:
        disttorch.set_float32_matmul_precision("highest")
        torch.set_float32_matmul_precision("highest")


def test_backend_flag_modules_have_torchs_attributes():
    pairs = {
        "cuda": ["is_built", "preferred_linalg_library", "flash_sdp_enabled", "enable_flash_sdp",
                 "mem_efficient_sdp_enabled", "enable_mem_efficient_sdp", "math_sdp_enabled", "enable_math_sdp",
                 "sdp_kernel", "matmul", "cufft_plan_cache"],
        "cudnn": ["enabled", "benchmark", "deterministic", "allow_tf32", "is_available", "version", "flags"],
        "mps": ["is_available", "is_built"],
        "mkldnn": ["is_available", "enabled", "flags"],
        "openmp": ["is_available"],
        "opt_einsum": ["is_available", "enabled", "strategy", "get_opt_einsum"],
        "cpu": ["get_cpu_capability"],
    }
    for module, names in pairs.items():
        ours, theirs = getattr(disttorch.backends, module), getattr(torch.backends, module)
        for n in names:
            assert hasattr(theirs, n), f"torch.backends.{module}.{n} (the test's list is wrong)"
            assert hasattr(ours, n), f"disttorch.backends.{module}.{n} missing"
    for flag in ("allow_tf32", "allow_fp16_reduced_precision_reduction", "allow_bf16_reduced_precision_reduction"):
        assert getattr(disttorch.backends.cuda.matmul, flag) == getattr(torch.backends.cuda.matmul, flag), flag
    for flag in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(disttorch.backends.cudnn, flag) == getattr(torch.backends.cudnn, flag), flag
    assert disttorch.backends.mps.is_available() is False
    assert disttorch.backends.cpu.get_cpu_capability() in ("DEFAULT", "AVX2", "AVX512")
    assert disttorch.backends.get_backend("cpu").xp is np  # the array-backend registry is still there


def test_backend_flags_are_settable_and_flags_restore():
    cudnn = disttorch.backends.cudnn
    cudnn.benchmark = True
    try:
        with cudnn.flags(enabled=False, deterministic=True):
            assert cudnn.enabled is False and cudnn.deterministic is True and cudnn.benchmark is True
        assert cudnn.enabled is True and cudnn.deterministic is False
    finally:
        cudnn.benchmark = False
    with disttorch.backends.cuda.sdp_kernel(enable_flash=False):
        assert not disttorch.backends.cuda.flash_sdp_enabled()
    assert disttorch.backends.cuda.flash_sdp_enabled()


def test_opt_einsum_flags_are_honoured():
    flags = disttorch.backends.opt_einsum
    ops = [disttorch.randn(3, 4, requires_grad=True), disttorch.randn(4, 5), disttorch.randn(5, 6)]
    ref = disttorch.einsum("ij,jk,kl->il", *ops)
    assert ref.grad_fn.optimize == "greedy"  # the "auto" strategy searches a contraction order
    try:
        flags.enabled = False
        plain = disttorch.einsum("ij,jk,kl->il", *ops)
        assert plain.grad_fn.optimize is False  # left to right
        flags.enabled, flags.strategy = True, "optimal"
        best = disttorch.einsum("ij,jk,kl->il", *ops)
        assert best.grad_fn.optimize == "optimal"
    finally:
        flags.enabled, flags.strategy = True, "auto"
    np.testing.assert_allclose(plain.detach().numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(best.detach().numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-5)
