"""Optimizers against PyTorch: same initial parameters and gradients must give the same trajectory."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch
from disttorch.optim import _flat

torch = pytest.importorskip("torch")

# one parameter large enough for the one-by-one path, the others small enough for the flat path
SHAPES = [(3, 4), (5,), (), (2, 3, 2), (_flat.LARGE + 7,)]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), amsgrad=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.05)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.2, maximize=True)),
    ("Adagrad", dict(lr=0.1, eps=1e-6, lr_decay=0.01)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.95), weight_decay=0.1, momentum_decay=0.01, maximize=True)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1, maximize=True)),  # rho_t > 5 from step 6
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, betas=(0.7, 0.9), eps=1e-3, weight_decay=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.7, eps=1e-4, weight_decay=0.1, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(0.02, 0.1), maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.1, lambd=0.01, alpha=0.5, t0=2, weight_decay=0.1, maximize=True)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-5, 1e-2), d=1.5, weight_decay=0.1, maximize=True)),
]


def _arrays(shapes, dtype, seed=0, steps=6):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    return init, grads


def _make(lib, name, params, kw):
    return getattr(lib.optim, name)(params, **kw)


def _to_np(t):
    if isinstance(t, disttorch.Tensor):
        return np.asarray(t.detach().cpu().__array__())
    return t.detach().numpy()


def _close(actual, desired, err_msg="", rtol=1e-7, atol=0.0):
    """assert_allclose with ``atol`` relative to the array's scale (entries that cancelled to near zero
    carry the rounding error of the large values they came from)."""
    scale = max(1.0, float(np.abs(desired).max())) if np.size(desired) else 1.0
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=atol * scale, err_msg=err_msg)


def _compare_state(ours, theirs, params_o, params_t, tol):
    assert len(ours.state) == len(theirs.state)
    for po, pt in zip(params_o, params_t):
        so, st = ours.state[po], theirs.state[pt]
        assert sorted(so) == sorted(st)
        for key, vt in st.items():
            vo = so[key]
            assert str(vo.dtype) == str(vt.dtype), key
            assert tuple(vo.shape) == tuple(vt.shape), key
            _close(_to_np(vo), _to_np(vt), err_msg=key, **tol)


def _run(lib, name, kw, init, grads, device, skip=()):
    params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
    if lib is disttorch:
        params = [disttorch.tensor(a.copy(), device=device, requires_grad=True) for a in init]
    opt = _make(lib, name, params, kw)
    for step, gs in enumerate(grads):
        for i, (p, g) in enumerate(zip(params, gs)):
            p.grad = None if (step, i) in skip else lib.tensor(g).to(p.device)
        opt.step()
    return params, opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_trajectory_matches_torch(name, kw, dtype, device):
    init, grads = _arrays(SHAPES, dtype)
    # some parameters miss a gradient at some steps: their state (and step count) falls behind
    skip = {(1, 0), (2, 0), (3, 3), (0, 2)}
    po, oo = _run(disttorch, name, kw, init, grads, device, skip)
    pt, ot = _run(torch, name, kw, init, grads, "cpu", skip)
    tol = dict(TOL[dtype])
    if kw.get("centered") and dtype == np.float32:
        tol = dict(rtol=2e-4, atol=2e-5)  # sqrt(E[g^2] - E[g]^2) cancels: float32 rounding is amplified
    for a, b in zip(po, pt):
        assert str(a.dtype) == str(b.dtype)
        _close(_to_np(a), _to_np(b), **tol)
    _compare_state(oo, ot, po, pt, tol)


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.05, amsgrad=True)),
                                     ("RMSprop", dict(lr=0.01, centered=True, momentum=0.3)),
                                     ("Adagrad", dict(lr=0.1, lr_decay=0.05))])
def test_closure_and_loss_gradients(name, kw):
    init, _ = _arrays([(4, 3), (3,)], np.float64, seed=1)
    results = []
    for lib in (disttorch, torch):
        params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
        opt = _make(lib, name, params, kw)
        losses = []
        for _ in range(8):
            def closure():
                opt.zero_grad()
                loss = (params[0] * params[0]).sum() + (params[1] * params[1] * params[1]).sum()
                loss.backward()
                return loss
            losses.append(float(opt.step(closure).detach()))
        results.append((losses, [_to_np(p) for p in params]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,kw", [c for c in CONFIGS if c[1].get("momentum") or c[0] != "SGD"][::2])
def test_state_dict_round_trip(name, kw):
    init, grads = _arrays(SHAPES[:4], np.float32, seed=2, steps=8)
    # reference: torch without interruption
    pt, ot = _run(torch, name, kw, init, grads, "cpu")
    # ours: 4 steps, save, load into a fresh optimizer over fresh parameters, 4 more steps
    po, oo = _run(disttorch, name, kw, init, grads[:4], "cpu")
    sd = oo.state_dict()
    sd_t = _run(torch, name, kw, init, grads[:4], "cpu")[1].state_dict()
    assert sd["param_groups"] == sd_t["param_groups"]
    assert sorted(sd["state"]) == sorted(sd_t["state"])
    for k in sd_t["state"]:
        assert sorted(sd["state"][k]) == sorted(sd_t["state"][k])
    fresh = [disttorch.tensor(_to_np(p).copy(), requires_grad=True) for p in po]
    opt2 = _make(disttorch, name, fresh, kw)
    opt2.load_state_dict(sd)
    for gs in grads[4:]:
        for p, g in zip(fresh, gs):
            p.grad = disttorch.tensor(g)
        opt2.step()
    for a, b in zip(fresh, pt):
        _close(_to_np(a), _to_np(b), **TOL[np.float32])
    _compare_state(opt2, ot, fresh, pt, TOL[np.float32])


def test_load_state_dict_into_running_optimizer():
    """Loading replaces the state tensors; the vectorised path must pick up the new ones."""
    init, grads = _arrays([(3,), (4,), (2, 2)], np.float64, seed=3, steps=6)
    po, oo = _run(disttorch, "Adam", dict(lr=0.1), init, grads[:3], "cpu")
    pt, ot = _run(torch, "Adam", dict(lr=0.1), init, grads[:3], "cpu")
    sd = oo.state_dict()  # its tensors are the live state (as in PyTorch): copy them
    saved = {"state": {k: {n: v.clone() for n, v in s.items()} for k, s in sd["state"].items()},
             "param_groups": sd["param_groups"]}
    for gs in grads[3:5]:  # diverge, then go back to the saved state
        for p, g in zip(po, gs):
            p.grad = disttorch.tensor(g)
        oo.step()
    for p, a in zip(po, pt):
        p.data = disttorch.tensor(_to_np(a).copy())
    oo.load_state_dict(saved)
    for lib, params, opt in ((disttorch, po, oo), (torch, pt, ot)):
        for p, g in zip(params, grads[5]):
            p.grad = lib.tensor(g)
        opt.step()
    for a, b in zip(po, pt):
        np.testing.assert_allclose(_to_np(a), _to_np(b), rtol=1e-12)


def test_param_groups_with_different_hyperparameters():
    init, grads = _arrays([(3, 2), (4,), (5,)], np.float64, seed=4)
    params_of = {}
    for lib in (disttorch, torch):
        ps = [lib.tensor(a.copy(), requires_grad=True) for a in init]
        opt = lib.optim.SGD([{"params": [ps[0]], "lr": 0.5, "momentum": 0.5},
                             {"params": ps[1:], "weight_decay": 0.1}], lr=0.01, momentum=0.9)
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = lib.tensor(g)
            opt.step()
        params_of[lib.__name__] = ([_to_np(p) for p in ps], opt)
    (ours, oo), (theirs, ot) = params_of["disttorch"], params_of["torch"]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert oo.state_dict()["param_groups"] == ot.state_dict()["param_groups"]
    assert repr(oo) == repr(ot)


def test_add_param_group_and_defaults():
    a, b = disttorch.zeros(2, requires_grad=True), disttorch.zeros(3, requires_grad=True)
    ta, tb = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    opt, topt = disttorch.optim.Adam([a], lr=0.1), torch.optim.Adam([ta], lr=0.1)
    opt.add_param_group({"params": b, "betas": (0.5, 0.6)})
    topt.add_param_group({"params": tb, "betas": (0.5, 0.6)})
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == \
        [{k: v for k, v in g.items() if k != "params"} for g in topt.param_groups]
    assert opt.param_groups[1]["params"][0] is b
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})
    named = disttorch.optim.SGD([("w", a), ("v", b)], lr=0.1)
    assert named.param_groups[0]["param_names"] == ["w", "v"]
    assert named.state_dict()["param_groups"][0]["param_names"] == ["w", "v"]


def test_zero_grad():
    p = disttorch.ones(3, requires_grad=True)
    opt = disttorch.optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and _to_np(p.grad).tolist() == [0.0, 0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None
    opt.step()  # no gradients: nothing happens
    assert _to_np(p).tolist() == [1.0, 1.0, 1.0]


def test_step_bumps_version_and_keeps_storage():
    p = disttorch.ones(4, requires_grad=True)
    view = p.detach()
    opt = disttorch.optim.Adam([p], lr=0.1)
    p.grad = disttorch.ones(4)
    v0 = p._version
    opt.step()
    assert p._version > v0
    np.testing.assert_allclose(_to_np(view), _to_np(p))  # updated in place


def test_complex_params_adam():
    rng = np.random.default_rng(5)
    init = (rng.standard_normal(6) + 1j * rng.standard_normal(6)).astype(np.complex64)
    grads = [(rng.standard_normal(6) + 1j * rng.standard_normal(6)).astype(np.complex64) for _ in range(4)]
    out = []
    for lib in (disttorch, torch):
        p = lib.tensor(init.copy(), requires_grad=True)
        opt = lib.optim.Adam([p], lr=0.1, weight_decay=0.1)
        for g in grads:
            p.grad = lib.tensor(g)
            opt.step()
        out.append(_to_np(p))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-5, atol=1e-6)


def test_hooks():
    p = disttorch.ones(2, requires_grad=True)
    opt = disttorch.optim.SGD([p], lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt)))
    h2 = opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", o is opt)))
    opt.step()
    assert calls == [("pre", True), ("post", True)]
    h1.remove()
    h2.remove()
    opt.step()
    assert len(calls) == 2
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    assert opt.state_dict()["extra"] == 1


def _errors(lib):
    p = lib.zeros(2, requires_grad=True)
    return [
        (lambda: lib.optim.SGD([p], lr=-1), ValueError, "Invalid learning rate: -1"),
        (lambda: lib.optim.SGD([p], lr=0.1, momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
        (lambda: lib.optim.SGD([p], lr=0.1, weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
        (lambda: lib.optim.SGD([p], lr=0.1, nesterov=True), ValueError,
         "Nesterov momentum requires a momentum and zero dampening"),
        (lambda: lib.optim.SGD([], lr=0.1), ValueError, "optimizer got an empty parameter list"),
        (lambda: lib.optim.SGD(p, lr=0.1), TypeError, "params argument given to the optimizer should be an "
         "iterable of Tensors or dicts, but got torch.FloatTensor"),
        (lambda: lib.optim.SGD([1.0], lr=0.1), TypeError, "optimizer can only optimize Tensors, but one of the "
         "params is float"),
        (lambda: lib.optim.SGD([{"params": {p}}], lr=0.1), TypeError, "ordering of tensors in sets"),
        (lambda: lib.optim.SGD([p * 2], lr=0.1), ValueError, "can't optimize a non-leaf Tensor"),
        (lambda: lib.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1), ValueError,
         "some parameters appear in more than one parameter group"),
        (lambda: lib.optim.Adam([p], betas=(1.5, 0.9)), ValueError, "Invalid beta parameter at index 0: 1.5"),
        (lambda: lib.optim.Adam([p], betas=(0.9, -0.1)), ValueError, "Invalid beta parameter at index 1: -0.1"),
        (lambda: lib.optim.Adam([p], betas=(0, 0.9)), ValueError, "betas must be either both floats or both Tensors"),
        (lambda: lib.optim.Adam([p], eps=-1.0), ValueError, "Invalid epsilon value: -1.0"),
        (lambda: lib.optim.AdamW([p], weight_decay=-0.1), ValueError, "Invalid weight_decay value: -0.1"),
        (lambda: lib.optim.RMSprop([p], alpha=-0.1), ValueError, "Invalid alpha value: -0.1"),
        (lambda: lib.optim.RMSprop([p], momentum=-0.1), ValueError, "Invalid momentum value: -0.1"),
        (lambda: lib.optim.Adagrad([p], lr_decay=-0.1), ValueError, "Invalid lr_decay value: -0.1"),
        (lambda: lib.optim.Adagrad([p], initial_accumulator_value=-1), ValueError,
         "Invalid initial_accumulator_value value: -1"),
        (lambda: lib.optim.Adadelta([p], rho=1.5), ValueError, "Invalid rho value: 1.5"),
        (lambda: lib.optim.Rprop([p], etas=(1.5, 1.2)), ValueError, "Invalid eta values: 1.5, 1.2"),
        (lambda: lib.optim.NAdam([p], momentum_decay=-1.0), ValueError, "Invalid momentum_decay value: -1.0"),
        (lambda: lib.optim.RAdam([p], betas=(0.9, 1.0)), ValueError, "Invalid beta parameter at index 1: 1.0"),
        (lambda: lib.optim.Adamax([p], eps=-1.0), ValueError, "Invalid epsilon value: -1.0"),
        (lambda: lib.optim.Adafactor([p], beta2_decay=0.5), ValueError, "beta2_decay should be <= 0 but is: 0.5"),
        (lambda: lib.optim.Adafactor([p], d=0.5), ValueError, "Clipping threshold d should be >= 1 but is: 0.5"),
    ]


@pytest.mark.parametrize("index", range(len(_errors(disttorch))))
def test_errors_match_torch(index):
    for lib in (torch, disttorch):
        fn, exc, msg = _errors(lib)[index]
        with pytest.raises(exc) as info:
            fn()
        assert msg in str(info.value), (lib.__name__, str(info.value))


def test_load_state_dict_errors():
    for lib in (torch, disttorch):
        a, b = lib.zeros(2, requires_grad=True), lib.zeros(2, requires_grad=True)
        sd = lib.optim.SGD([a, b], lr=0.1).state_dict()
        with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
            lib.optim.SGD([a], lr=0.1).load_state_dict(sd)
        with pytest.raises(ValueError, match="different number of parameter groups"):
            lib.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)


def test_step_dtype_follows_default_dtype():
    p = disttorch.zeros(2, dtype=disttorch.float64, requires_grad=True)
    p.grad = disttorch.ones(2, dtype=disttorch.float64)
    opt = disttorch.optim.Adam([p])
    opt.step()
    assert opt.state[p]["step"].dtype == disttorch.float32 and opt.state[p]["step"].shape == ()
    assert float(opt.state[p]["step"]) == 1.0


def _torch_to_ours(value):
    if isinstance(value, torch.Tensor):
        return disttorch.tensor(value.detach().numpy().copy())
    if isinstance(value, dict):
        return {k: _torch_to_ours(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_torch_to_ours(v) for v in value]
    return value


@pytest.mark.parametrize("name,kw", list({n: (n, k) for n, k in reversed(CONFIGS)}.values()))
def test_load_torch_state_dict(name, kw):
    """A real torch optimizer's state_dict, converted value by value, continues as torch continues."""
    init, grads = _arrays(SHAPES[:4], np.float64, seed=6, steps=8)
    pt, ot0 = _run(torch, name, kw, init, grads[:4], "cpu")
    sd = _torch_to_ours(ot0.state_dict())
    # the reference reloads too: loading casts floating state (ASGD's eta, NAdam's mu_product) to the params' dtype
    ot = _make(torch, name, pt, kw)
    ot.load_state_dict(ot0.state_dict())
    fresh = [disttorch.tensor(_to_np(p).copy(), requires_grad=True) for p in pt]
    opt = _make(disttorch, name, fresh, kw)
    opt.load_state_dict(sd)
    for gs in grads[4:]:
        for lib, params, o in ((disttorch, fresh, opt), (torch, pt, ot)):
            for p, g in zip(params, gs):
                p.grad = lib.tensor(g)
            o.step()
    for a, b in zip(fresh, pt):
        _close(_to_np(a), _to_np(b), **TOL[np.float64])
    _compare_state(opt, ot, fresh, pt, TOL[np.float64])
