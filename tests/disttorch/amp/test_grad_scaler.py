"""GradScaler against torch's on the same training loop with injected inf/nan gradients."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

W0 = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
X = np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32)


def _loop(L, bad_steps, growth_interval=3, steps=10, unscale_first=False):
    w = L.nn.Parameter(L.tensor(W0))
    opt = L.optim.SGD([w], lr=0.1)
    scaler = L.amp.GradScaler("cpu", init_scale=2.0 ** 4, growth_factor=2.0, backoff_factor=0.25,
                              growth_interval=growth_interval)
    scales, stepped = [], []
    for i in range(steps):
        opt.zero_grad()
        loss = (L.tensor(X) @ w.t()).pow(2).mean()
        scaler.scale(loss).backward()
        if i in bad_steps:
            w.grad[0, 0] = bad_steps[i]
        if unscale_first:
            scaler.unscale_(opt)
        before = w.detach().clone()
        scaler.step(opt)
        stepped.append(not bool((w.detach() == before).all()))
        scaler.update()
        scales.append(scaler.get_scale())
    return scales, stepped, scaler.state_dict(), np.asarray(w.detach().numpy() if L is torch else w.detach())


@pytest.mark.parametrize("unscale_first", [False, True])
def test_skips_and_scale_trajectory(unscale_first: bool) -> None:
    bad = {1: float("inf"), 2: float("nan"), 6: float("-inf")}
    ours = _loop(disttorch, bad, unscale_first=unscale_first)
    theirs = _loop(torch, bad, unscale_first=unscale_first)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    assert ours[2] == theirs[2]
    np.testing.assert_allclose(ours[3], theirs[3], rtol=1e-5, atol=1e-6)


def test_state_dict_roundtrip_and_disabled() -> None:
    for L in (disttorch, torch):
        s = L.amp.GradScaler("cpu", init_scale=8.0, growth_interval=5)
        sd = {"scale": 32.0, "growth_factor": 3.0, "backoff_factor": 0.5, "growth_interval": 7, "_growth_tracker": 2}
        s.load_state_dict(sd)
        assert s.state_dict() == sd and s.get_scale() == 32.0
        off = L.amp.GradScaler("cpu", enabled=False)
        t = L.ones(2)
        assert off.scale(t) is t and off.state_dict() == {} and off.get_scale() == 1.0
        with pytest.raises(RuntimeError, match="source state dict is empty"):
            L.amp.GradScaler("cpu").load_state_dict({})
    assert (disttorch.amp.GradScaler("cpu").state_dict() == torch.amp.GradScaler("cpu").state_dict())


def test_errors_match() -> None:
    for L in (disttorch, torch):
        w = L.nn.Parameter(L.ones(2))
        opt = L.optim.SGD([w], lr=0.1)
        s = L.amp.GradScaler("cpu")
        s.scale((w * 2).sum()).backward()
        s.unscale_(opt)
        with pytest.raises(RuntimeError, match="already been called on this optimizer"):
            s.unscale_(opt)
        s.step(opt)
        with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
            s.step(opt)
        s.update()
        np.testing.assert_allclose(np.asarray(w.detach().numpy() if L is torch else w.detach()), [0.8, 0.8])


def test_cuda_scaler_without_cuda_disables() -> None:
    if disttorch.cuda.is_available():
        pytest.skip("GPU present")
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        s = disttorch.amp.GradScaler()
        with pytest.warns(FutureWarning):
            disttorch.cuda.amp.GradScaler()
    assert not s.is_enabled() and any("CUDA is not available" in str(w.message) for w in got)
