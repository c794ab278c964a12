"""The shared harness of the distribution tests: build the same distribution in disttorch and in torch from
the same numbers, and compare everything both can compute."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from oracle import assert_close, torch

import disttorch

PROPS = ("mean", "mode", "variance", "stddev")


def leaf_maker(lib: Any, dtype: str, leaves: list) -> Callable:
    """``P(values)``: a leaf tensor of ``dtype`` with requires_grad, remembered in ``leaves``."""
    def make(values: Any, grad: bool = True, dt: str | None = None) -> Any:
        t = lib.tensor(np.asarray(values, dtype=dt or dtype))
        if grad and t.dtype.is_floating_point:
            t.requires_grad_(True)
            leaves.append(t)
        return t
    return make


def _call(fn: Callable) -> tuple:
    try:
        return fn(), None
    except NotImplementedError as e:
        return None, e


def evaluate(lib: Any, make: Callable, value: Any, dtype: str, value_dtype: str | None = None,
             extra: Callable | None = None) -> dict:
    leaves: list = []
    d = make(lib, leaf_maker(lib, dtype, leaves))
    v = lib.tensor(np.asarray(value, dtype=value_dtype or dtype))
    out: dict = {"batch_shape": tuple(d.batch_shape), "event_shape": tuple(d.event_shape),
                 "has_rsample": d.has_rsample, "arg_constraints": sorted(d.arg_constraints),
                 "support": repr(d.support) if not _dependent_support(lib, d) else "dependent",
                 "repr": repr(d)}
    objective = 0
    lp = d.log_prob(v)
    out["log_prob"] = lp
    objective = lp.sum()
    for prop in PROPS:
        out[prop], _ = _call(lambda: getattr(d, prop))
    ent, _ = _call(d.entropy)
    if ent is not None:
        out["entropy"] = ent
        objective = objective + ent.sum()
    out["cdf"], _ = _call(lambda: d.cdf(v))
    if d.event_shape == ():
        out["icdf"], _ = _call(lambda: d.icdf(lib.full(tuple(d.batch_shape), 0.3, dtype=getattr(lib, dtype))))
    e = d.expand((2,) + tuple(d.batch_shape))
    out["expand_shape"] = (tuple(e.batch_shape), tuple(e.event_shape))
    out["expand_log_prob"] = e.log_prob(v)
    out["sample_shape"] = tuple(d.sample((3,)).shape)
    out["sample_dtype"] = str(d.sample().dtype)
    if extra is not None:
        out.update(extra(lib, d, v))
    objective.backward()
    out["grads"] = [p.grad if p.grad is not None else lib.zeros_like(p) for p in leaves]
    return out


def _dependent_support(lib: Any, d: Any) -> bool:
    return type(d).__dict__.get("support") is not None and lib.distributions.constraints.is_dependent(
        type(d).__dict__["support"]) or _mro_dependent(lib, type(d))


def _mro_dependent(lib: Any, cls: type) -> bool:
    for k in cls.__mro__:
        if "support" in k.__dict__:
            return lib.distributions.constraints.is_dependent(k.__dict__["support"])
    return False


def compare(name: str, make: Callable, value: Any, dtype: str, value_dtype: str | None = None,
            tol: float | None = None, extra: Callable | None = None) -> None:
    tol = tol or (2e-5 if dtype == "float32" else 1e-9)
    ours = evaluate(disttorch, make, value, dtype, value_dtype, extra)
    theirs = evaluate(torch, make, value, dtype, value_dtype, extra)
    assert set(ours) == set(theirs)
    for key, want in theirs.items():
        got = ours[key]
        if key.startswith("sample") or key in ("batch_shape", "event_shape", "has_rsample", "arg_constraints",
                                                "expand_shape", "repr", "support"):
            assert got == want, f"{name} {key}: {got} != {want}"
        elif want is None:
            assert got is None, f"{name} {key}: torch does not define it, we give {got}"
        else:
            assert got is not None, f"{name} {key}: missing"
            assert_close(got, want, rtol=tol, atol=tol, what=f"{name} {key}")


def sample_moments(d: Any, n: int = 40000, seed: int = 0) -> None:
    """Loose check of the sample law: sample mean and variance against the distribution's (finite) moments."""
    disttorch.manual_seed(seed)
    s = d.sample((n,)).double().numpy()
    mean = np.broadcast_to(d.mean.detach().double().numpy(), s.shape[1:])
    var = np.broadcast_to(d.variance.detach().double().numpy(), s.shape[1:])
    ok = np.isfinite(mean) & np.isfinite(var)
    assert ok.any()
    err = np.abs(s.mean(0) - mean)[ok]
    assert (err < 6 * np.sqrt(var[ok] / n) + 1e-6).all(), (s.mean(0), mean)
    svar = s.var(0)[ok]
    assert (np.abs(svar - var[ok]) < 0.1 * var[ok] + 1e-6).all(), (s.var(0), var)


def rsample_gradient(make: Callable, n: int = 40000, seed: int = 0, rtol: float = 0.05) -> None:
    """Reparameterisation: the average gradient of rsample equals the gradient of the analytic mean."""
    got, want = [], []
    for use_samples in (True, False):
        leaves: list = []
        d = make(disttorch, leaf_maker(disttorch, "float64", leaves))
        disttorch.manual_seed(seed)
        target = d.rsample((n,)).mean(0) if use_samples else d.mean
        target.sum().backward()
        (got if use_samples else want).append([np.zeros(tuple(p.shape)) if p.grad is None else p.grad.numpy().copy()
                                                 for p in leaves])
    for g, w in zip(got[0], want[0]):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * np.abs(w).max() + 0.03)  # noise of a mean


def gradcheck_case(make: Callable, value: Any, value_dtype: str | None = None, entropy: bool = True) -> None:
    """float64 gradcheck of log_prob (and entropy) in every floating vector parameter the case builds (matrix
    parameters are held fixed: a one-entry perturbation leaves the symmetric / triangular set they live in;
    their gradients are compared with torch's instead)."""
    leaves: list = []
    make(disttorch, leaf_maker(disttorch, "float64", leaves))
    v = disttorch.tensor(np.asarray(value, dtype=value_dtype or "float64"))

    def rebuild(*inputs: Any) -> Any:
        it = iter(inputs)

        def P(values: Any, grad: bool = True, dt: str | None = None) -> Any:
            t = disttorch.tensor(np.asarray(values, dtype=dt or "float64"))
            return next(it) if grad and t.dtype.is_floating_point and t.dim() < 2 else t
        d = make(disttorch, P)
        out = d.log_prob(v).sum()
        if entropy:
            try:
                out = out + d.entropy().sum()
            except NotImplementedError:
                pass
        return out
    inputs = [p.detach().clone().requires_grad_(True) for p in leaves if p.dim() < 2]
    assert disttorch.autograd.gradcheck(rebuild, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


def wrong_shape_error(make: Callable, value_dtype: str = "float64") -> tuple:
    """log_prob of a value whose shape fits neither batch nor event shape: the error type and text, ours and
    torch's (None when every shape would broadcast)."""
    out = []
    for lib in (disttorch, torch):
        d = make(lib, lambda v, **k: lib.tensor(np.asarray(v, dtype=k.get("dt") or "float64")))
        batch, event = tuple(d.batch_shape), tuple(d.event_shape)
        if batch and batch[-1] > 1:
            shape = batch[:-1] + (batch[-1] + 1,) + event
        elif event:
            shape = batch + event[:-1] + (event[-1] + 1,)
        else:
            return None, None
        try:
            d.log_prob(lib.zeros(shape, dtype=getattr(lib, value_dtype)))
        except Exception as e:  # noqa: BLE001 - the type is part of what is compared
            out.append((type(e).__name__, str(e).replace("torch.", "")))
        else:
            out.append(None)
    return tuple(out)
