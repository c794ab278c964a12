"""Compare disttorch with real PyTorch on the same inputs: forward values and gradients."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

TOL = {np.float32: (1e-5, 1e-5), np.float64: (1e-10, 1e-10)}


def to_np(x: Any) -> Any:
    if isinstance(x, (tuple, list)):
        return [to_np(v) for v in x]
    if isinstance(x, disttorch.Tensor):
        return np.asarray(x.detach().cpu().__array__())
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().resolve_conj().resolve_neg().numpy()
    return x


def make_pair(arr: np.ndarray, requires_grad: bool, device: str = "cpu") -> tuple[Any, Any]:
    d = disttorch.tensor(arr, device=device)
    t = torch.tensor(arr)
    if requires_grad:
        d.requires_grad_(True)
        t.requires_grad_(True)
    return d, t


def assert_close(ours: Any, theirs: Any, rtol: float = 1e-5, atol: float = 1e-6, what: str = "") -> None:
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs), what
        for o, t in zip(ours, theirs):
            assert_close(o, t, rtol, atol, what)
        return
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, disttorch.Tensor), f"{what}: expected a Tensor, got {type(ours)}"
        assert str(ours.dtype) == str(theirs.dtype), f"{what}: dtype {ours.dtype} != {theirs.dtype}"
        assert tuple(ours.shape) == tuple(theirs.shape), f"{what}: shape {tuple(ours.shape)} != {tuple(theirs.shape)}"
        np.testing.assert_allclose(_widen(to_np(ours)), _widen(to_np(theirs)), rtol=rtol, atol=atol, err_msg=what)
        return
    assert ours == theirs or (ours != ours and theirs != theirs), f"{what}: {ours!r} != {theirs!r}"


def _widen(a: np.ndarray) -> np.ndarray:
    """Compare in float64 (complex128 for complex) so that no part of a value is dropped."""
    if a.dtype == bool:
        return a
    return a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)


def check(fn: Callable, arrays: Sequence[np.ndarray], grad: Sequence[bool] | bool = True,
          fn_torch: Callable | None = None, rtol: float | None = None, atol: float | None = None,
          device: str = "cpu", seed: int = 0) -> None:
    """Run ``fn`` on disttorch and torch tensors made from ``arrays``; compare the outputs and, for
    inputs flagged in ``grad``, the gradients of sum(out * random weights)."""
    fn_torch = fn_torch or fn
    flags = [grad] * len(arrays) if isinstance(grad, bool) else list(grad)
    flags = [f and np.asarray(a).dtype.kind == "f" for f, a in zip(flags, arrays)]
    pairs = [make_pair(np.asarray(a), f, device) for a, f in zip(arrays, flags)]
    ours = fn(disttorch, *[p[0] for p in pairs])
    theirs = fn_torch(torch, *[p[1] for p in pairs])
    kinds = {np.asarray(a).dtype.type for a in arrays if np.asarray(a).dtype.kind == "f"}
    default = TOL.get(np.float32 if np.float32 in kinds or not kinds else np.float64, (1e-5, 1e-6))
    rt = rtol if rtol is not None else default[0]
    at = atol if atol is not None else default[1] * 10
    assert_close(ours, theirs, rt, at, "forward")
    if not any(flags):
        return
    outs_o = ours if isinstance(ours, (tuple, list)) else [ours]
    outs_t = theirs if isinstance(theirs, (tuple, list)) else [theirs]
    rng = np.random.default_rng(seed)
    loss_o = loss_t = None
    for o, t in zip(outs_o, outs_t):
        if not isinstance(t, torch.Tensor) or not t.requires_grad:
            continue
        w = rng.standard_normal(tuple(t.shape)).astype(to_np(t).dtype)
        term_o = (o * disttorch.tensor(w, device=device)).sum()
        term_t = (t * torch.tensor(w)).sum()
        loss_o = term_o if loss_o is None else loss_o + term_o
        loss_t = term_t if loss_t is None else loss_t + term_t
    if loss_t is None:
        return
    loss_o.backward()
    loss_t.backward()
    for i, ((d, t), f) in enumerate(zip(pairs, flags)):
        if f:
            if t.grad is None:
                assert d.grad is None or np.allclose(to_np(d.grad), 0), f"grad of input {i}"
                continue
            assert d.grad is not None, f"input {i}: no gradient, torch has one"
            assert_close(d.grad, t.grad, rt, at, f"grad of input {i}")


def gradcheck(fn: Callable, arrays: Sequence[np.ndarray], **kw: Any) -> None:
    """float64 finite-difference check of fn(disttorch, *tensors)."""
    ts = [disttorch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    assert disttorch.autograd.gradcheck(lambda *xs: fn(disttorch, *xs), ts, **kw)


def randn(*shape: int, seed: int = 0, dtype: Any = np.float32) -> np.ndarray:
    return np.random.default_rng(seed + 7 * len(shape)).standard_normal(shape).astype(dtype)


def same_error(fn: Callable, arrays: Sequence[np.ndarray], match: str | None = None) -> None:
    """``fn(module, *tensors)`` raises the same exception type in disttorch as in torch; the message equals
    torch's (or, with ``match``, both contain it)."""
    with pytest.raises(Exception) as theirs:
        fn(torch, *[torch.tensor(a) for a in arrays])
    with pytest.raises(Exception) as ours:
        fn(disttorch, *[disttorch.tensor(a) for a in arrays])
    t_exc, o_exc = theirs.value, ours.value
    if isinstance(t_exc, torch.linalg.LinAlgError):
        assert isinstance(o_exc, disttorch.linalg.LinAlgError)
    base = next(c for c in type(t_exc).__mro__ if c.__module__ == "builtins")
    assert isinstance(o_exc, base), f"{type(o_exc).__name__} is not a {base.__name__}: {o_exc}"
    if match is None:
        assert str(o_exc) == str(t_exc)
    else:
        assert match in str(t_exc), f"bad test: {match!r} not in torch's message {str(t_exc)!r}"
        assert match in str(o_exc), f"{match!r} not in {str(o_exc)!r}"


def same_special_values(ours: Any, theirs: Any, rtol: float, atol: float) -> None:
    """Same dtype, NaN where torch has NaN, the same signed infinities, and close finite values."""
    o = np.asarray(ours.detach().numpy(), np.float64)
    t = theirs.detach().numpy().astype(np.float64)
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_array_equal(np.isnan(o), np.isnan(t))
    np.testing.assert_array_equal(np.isinf(o) * np.sign(o), np.isinf(t) * np.sign(t))
    m = np.isfinite(t)
    np.testing.assert_allclose(o[m], t[m], rtol=rtol, atol=atol)
