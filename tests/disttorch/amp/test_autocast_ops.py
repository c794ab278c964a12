"""Output dtypes and values of ops under autocast('cpu'), against real torch's CPU autocast on the same code."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


def _arr(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _np(t):
    return np.asarray(t.detach().float().cpu().numpy() if isinstance(t, torch.Tensor) else
                      t.detach().float().__array__())


CASES = {
    "linear": (lambda L, x, w, b: L.nn.functional.linear(x, w, b), [(4, 6), (5, 6), (5,)]),
    "matmul": (lambda L, a, b: L.matmul(a, b), [(2, 3, 4), (4, 5)]),
    "matmul_op": (lambda L, a, b: a @ b, [(3, 4), (4, 5)]),
    "mm": (lambda L, a, b: L.mm(a, b), [(3, 4), (4, 5)]),
    "bmm": (lambda L, a, b: L.bmm(a, b), [(2, 3, 4), (2, 4, 5)]),
    "addmm": (lambda L, c, a, b: L.addmm(c, a, b), [(3, 5), (3, 4), (4, 5)]),
    "baddbmm": (lambda L, c, a, b: L.baddbmm(c, a, b), [(2, 3, 5), (2, 3, 4), (2, 4, 5)]),
    "addbmm": (lambda L, c, a, b: L.addbmm(c, a, b), [(3, 5), (2, 3, 4), (2, 4, 5)]),
    "conv1d": (lambda L, x, w: L.nn.functional.conv1d(x, w), [(2, 3, 8), (4, 3, 3)]),
    "conv2d": (lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, padding=1), [(2, 3, 5, 5), (4, 3, 3, 3), (4,)]),
    "conv_transpose2d": (lambda L, x, w: L.nn.functional.conv_transpose2d(x, w), [(1, 3, 4, 4), (3, 2, 3, 3)]),
    "prelu": (lambda L, x, w: L.nn.functional.prelu(x, w), [(2, 3, 4), (3,)]),
    "sdpa": (lambda L, q, k, v: L.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True),
             [(2, 2, 5, 8), (2, 2, 5, 8), (2, 2, 5, 8)]),
    # float32 ops take bfloat16 inputs (made by a lower-precision op) and answer in float32
    "mse_loss": (lambda L, a, w, t: L.nn.functional.mse_loss(a @ w, t), [(3, 4), (4, 4), (3, 4)]),
    "l1_loss": (lambda L, a, w, t: L.nn.functional.l1_loss(a @ w, t), [(3, 4), (4, 4), (3, 4)]),
    "bce_logits": (lambda L, a, w, t: L.nn.functional.binary_cross_entropy_with_logits(a @ w, t.sigmoid()),
                   [(3, 4), (4, 4), (3, 4)]),
    "cross_entropy": (lambda L, a, w: L.nn.functional.cross_entropy(a @ w, L.tensor([0, 2, 1])), [(3, 4), (4, 4)]),
    "nll_loss": (lambda L, a, w: L.nn.functional.nll_loss(a @ w, L.tensor([0, 2, 1])), [(3, 4), (4, 4)]),
    "kl_div": (lambda L, a, w, t: L.nn.functional.kl_div(a @ w, t.softmax(-1), reduction="batchmean"),
               [(3, 4), (4, 4), (3, 4)]),
    "smooth_l1": (lambda L, a, w, t: L.nn.functional.smooth_l1_loss(a @ w, t), [(3, 4), (4, 4), (3, 4)]),
    # ops on no list run in their inputs' dtype
    "relu_of_mm": (lambda L, a, w: L.relu(a @ w), [(3, 4), (4, 4)]),
    "add_mixed": (lambda L, a, w, b: a @ w + b, [(3, 4), (4, 4), (4,)]),
    "gelu_sum": (lambda L, a, w: L.nn.functional.gelu(a @ w).sum(), [(3, 4), (4, 4)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_dtype_and_values(name: str) -> None:
    fn, shapes = CASES[name]
    arrs = [_arr(*s) for s in shapes]
    ours_in = [disttorch.tensor(a) for a in arrs]
    theirs_in = [torch.tensor(a) for a in arrs]
    with disttorch.autocast("cpu"):
        ours = fn(disttorch, *ours_in)
    with torch.autocast("cpu"):
        theirs = fn(torch, *theirs_in)
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(_np(ours), _np(theirs), rtol=3e-2, atol=3e-2)


@pytest.mark.parametrize("name", ["linear", "matmul", "conv2d", "sdpa", "addmm", "mse_loss", "cross_entropy"])
def test_backward_dtype_and_values(name: str) -> None:
    fn, shapes = CASES[name]
    arrs = [_arr(*s) for s in shapes]
    ours_in = [disttorch.tensor(a, requires_grad=True) for a in arrs]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrs]
    with disttorch.autocast("cpu"):
        fn(disttorch, *ours_in).float().sum().backward()
    with torch.autocast("cpu"):
        fn(torch, *theirs_in).float().sum().backward()
    for o, t in zip(ours_in, theirs_in):
        assert (o.grad is None) == (t.grad is None)
        if t.grad is not None:
            assert str(o.grad.dtype) == str(t.grad.dtype) == "torch.float32"
            np.testing.assert_allclose(_np(o.grad), _np(t.grad), rtol=5e-2, atol=5e-2)


def _regions(L):
    a, b = L.ones(2, 2), L.ones(2, 2)
    out = []
    with L.autocast("cpu"):
        out.append((a @ b).dtype)
        with L.autocast("cpu", enabled=False):
            out.append((a @ b).dtype)
            with L.autocast("cpu", dtype=L.float16):
                out.append((a @ b).dtype)
        out.append((a @ b).dtype)
        out.append(L.is_autocast_enabled("cpu"))
        out.append(L.get_autocast_dtype("cpu"))
    out.append((a @ b).dtype)
    out.append(L.is_autocast_enabled("cpu"))

    @L.autocast("cpu")
    def f(x):
        return x @ x

    out.append(f(a).dtype)
    out.append(L.amp.is_autocast_available("cpu"))
    return [str(v) for v in out]


def test_nested_disabled_and_decorator() -> None:
    assert _regions(disttorch) == _regions(torch)


def test_state_functions() -> None:
    for L in (disttorch, torch):
        assert L.get_autocast_cpu_dtype() == L.bfloat16 and L.get_autocast_gpu_dtype() == L.float16
        assert not L.is_autocast_cpu_enabled() and L.is_autocast_cache_enabled()
        L.set_autocast_cpu_enabled(True)
        L.set_autocast_cpu_dtype(L.float16)
        try:
            assert L.is_autocast_enabled("cpu") and L.get_autocast_dtype("cpu") == L.float16
            assert L.ones(2, 2).mm(L.ones(2, 2)).dtype == L.float16
        finally:
            L.set_autocast_cpu_enabled(False)
            L.set_autocast_dtype("cpu", L.bfloat16)
        assert L.ones(2, 2).mm(L.ones(2, 2)).dtype == L.float32
        n = L.autocast_increment_nesting()
        assert L.autocast_decrement_nesting() == n - 1
        L.clear_autocast_cache()
    assert not disttorch.cuda.is_bf16_supported() or disttorch.cuda.is_available()


def test_cpu_amp_alias_and_cuda_without_device() -> None:
    with pytest.warns(FutureWarning):
        with disttorch.cpu.amp.autocast():
            assert (disttorch.ones(2, 2) @ disttorch.ones(2, 2)).dtype == disttorch.bfloat16
    if not disttorch.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            with disttorch.autocast("cuda"):
                assert (disttorch.ones(2, 2) @ disttorch.ones(2, 2)).dtype == disttorch.float32


def test_custom_fwd_bwd() -> None:
    seen = {}

    class Sq(disttorch.autograd.Function):
        @staticmethod
        @disttorch.amp.custom_fwd(device_type="cpu", cast_inputs=disttorch.float32)
        def forward(ctx, x):
            seen["fwd"] = (x.dtype, disttorch.is_autocast_enabled("cpu"))
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @disttorch.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            seen["bwd"] = disttorch.is_autocast_enabled("cpu")
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = disttorch.ones(3, dtype=disttorch.bfloat16, requires_grad=True)
    with disttorch.autocast("cpu"):
        y = Sq.apply(x)
    y.sum().backward()
    assert seen["fwd"] == (disttorch.float32, False) and seen["bwd"] is False
    assert y.dtype == disttorch.float32 and x.grad.dtype == disttorch.bfloat16
