"""optim.Muon trajectories and state against PyTorch's; optim.swap_in_optimizer_params_and_state."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def _trajectory(lib, kw, shape, steps=5, dtype="float32"):
    r = np.random.default_rng(0)
    w0 = r.standard_normal(shape)
    grads = [r.standard_normal(shape) for _ in range(steps)]
    p = lib.tensor(w0, dtype=getattr(lib, dtype), requires_grad=True)
    opt = lib.optim.Muon([p], **kw)
    path = []
    for g in grads:
        p.grad = lib.tensor(g, dtype=getattr(lib, dtype))
        opt.step()
        path.append(p.detach().clone().numpy())
    return np.array(path), opt


@pytest.mark.parametrize("shape", [(5, 3), (3, 6), (4, 4)])
@pytest.mark.parametrize("kw", [dict(lr=0.02), dict(lr=0.05, nesterov=False, momentum=0.9),
                                dict(lr=0.01, weight_decay=0.0, adjust_lr_fn="match_rms_adamw", ns_steps=3),
                                dict(lr=0.01, ns_coefficients=(2.0, -1.5, 0.5), eps=1e-5)])
def test_muon_trajectory_as_pytorch(kw, shape):
    ours, opt = _trajectory(disttorch, kw, shape)
    theirs, topt = _trajectory(torch, kw, shape)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"][0].keys() == tsd["param_groups"][0].keys()
    np.testing.assert_allclose(sd["state"][0]["momentum_buffer"].numpy(), tsd["state"][0]["momentum_buffer"].numpy(),
                               rtol=1e-6, atol=1e-7)


def test_muon_float64_and_errors_as_pytorch():
    ours, _ = _trajectory(disttorch, dict(lr=0.02), (4, 3), dtype="float64")
    theirs, _ = _trajectory(torch, dict(lr=0.02), (4, 3), dtype="float64")
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9)
    for lib in (disttorch, torch):
        with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
            lib.optim.Muon([lib.zeros(3, requires_grad=True)])
        with pytest.raises(ValueError, match="Learning rate should be >= 0"):
            lib.optim.Muon([lib.zeros(2, 2, requires_grad=True)], lr=-1.0)
        with pytest.raises(ValueError, match="Adjust learning rate function bad is not supported"):
            lib.optim.Muon([lib.zeros(2, 2, requires_grad=True)], adjust_lr_fn="bad")


def _swap_in_run(lib):
    a, b = lib.ones(2, requires_grad=True), lib.ones(3, requires_grad=True)
    opt = lib.optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = lib.ones(2), lib.ones(3)
    opt.step()  # the live state exists
    live_buf = opt.state[a]["momentum_buffer"].clone()
    sa, sb = lib.zeros(2), lib.zeros(3)
    sa.grad, sb.grad = lib.full((2,), 2.0), lib.full((3,), 2.0)
    osd = {"state": {0: {"momentum_buffer": lib.full((2,), 5.0)}, 1: {"momentum_buffer": lib.zeros(3)}},
           "param_groups": [dict(opt.state_dict()["param_groups"][0], lr=1.0)]}
    groups_before = opt.param_groups[0]["params"]
    with lib.optim.swap_in_optimizer_params_and_state(opt, {"a": sa, "b": sb}, osd):
        assert opt.param_groups[0]["params"][0] is sa and opt.param_groups[0]["lr"] == 1.0
        opt.step()
    assert opt.param_groups[0]["params"] is groups_before and opt.param_groups[0]["lr"] == 0.1
    assert opt.state[a]["momentum_buffer"].tolist() == live_buf.tolist()
    return sa.tolist(), sb.tolist(), osd["state"][0]["momentum_buffer"].tolist(), a.tolist()


def test_swap_in_as_pytorch():
    assert _swap_in_run(disttorch) == _swap_in_run(torch)
