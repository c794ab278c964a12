"""torch.func (vmap, grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, functional_call,
stack_module_state) and torch.vmap against real PyTorch's torch.func."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch
from tests.oracle import assert_close

torch = pytest.importorskip("torch")


def _pair(*shape, seed=0):
    arr = np.random.default_rng(seed).standard_normal(shape)
    return disttorch.tensor(arr), torch.tensor(arr)


def _f(lib):
    return lambda x, w: (lib.tanh(x @ w) ** 2).sum()


def test_vmap_in_dims_out_dims_and_trees():
    (xd, xt), (wd, wt) = _pair(5, 3), _pair(3, 4, seed=1)
    for in_dims, out_dims in (((0, None), 0), ((0, None), 1), ((1, None), -1)):
        xs_d, xs_t = (xd, xt) if in_dims == (0, None) else (xd.t(), xt.t())
        od = disttorch.vmap(lambda x, w: x @ w, in_dims=in_dims, out_dims=out_dims)(xs_d, wd)
        ot = torch.vmap(lambda x, w: x @ w, in_dims=in_dims, out_dims=out_dims)(xs_t, wt)
        assert_close(od, ot, rtol=1e-12, atol=1e-12)
    tree_d = disttorch.func.vmap(lambda d: {"s": d["a"] + d["b"][0], "p": (d["a"] * 2,)})(
        {"a": xd, "b": [xd * 3]})
    tree_t = torch.func.vmap(lambda d: {"s": d["a"] + d["b"][0], "p": (d["a"] * 2,)})({"a": xt, "b": [xt * 3]})
    assert_close(tree_d["s"], tree_t["s"])
    assert_close(tree_d["p"][0], tree_t["p"][0])
    per_sample = disttorch.vmap(disttorch.func.grad(_f(disttorch)), in_dims=(0, None))(xd, wd)
    assert_close(per_sample, torch.vmap(torch.func.grad(_f(torch)), in_dims=(0, None))(xt, wt), rtol=1e-10)
    for lib, x in ((disttorch, xd), (torch, xt)):
        with pytest.raises(ValueError, match="same size in the mapped dimension"):
            lib.vmap(lambda a, b: a + b)(x, x[:3])
        with pytest.raises(ValueError, match="in_dim to satisfy"):
            lib.vmap(lambda a: a, in_dims=2)(x)


def test_grad_and_value_argnums_has_aux_and_nesting():
    (xd, xt), (wd, wt) = _pair(5, 3), _pair(3, 4, seed=1)
    for argnums in (0, 1, (0, 1)):
        gd = disttorch.func.grad(_f(disttorch), argnums=argnums)(xd, wd)
        gt = torch.func.grad(_f(torch), argnums=argnums)(xt, wt)
        assert_close(gd, gt, rtol=1e-10)
    (gd, (vd, auxd)) = disttorch.func.grad_and_value(lambda x: (x.sin().sum(), x.cos()), has_aux=True)(xd)
    (gt, (vt, auxt)) = torch.func.grad_and_value(lambda x: (x.sin().sum(), x.cos()), has_aux=True)(xt)
    assert_close([gd, vd, auxd], [gt, vt, auxt])
    assert gd.grad_fn is None and not gd.requires_grad
    g2d = disttorch.func.grad(disttorch.func.grad(lambda x: (x ** 3).sum() if x.ndim else x ** 3))(
        disttorch.tensor(1.7, dtype=disttorch.float64))
    g2t = torch.func.grad(torch.func.grad(lambda x: x ** 3))(torch.tensor(1.7, dtype=torch.float64))
    assert_close(g2d, g2t)
    leaf = disttorch.tensor(0.5, dtype=disttorch.float64, requires_grad=True)
    inner = disttorch.func.grad(lambda x: x.exp() * x)(leaf)  # d/dx (x e^x) = (1 + x) e^x, still on leaf's graph
    inner.backward()
    assert_close(leaf.grad, torch.tensor((2 + 0.5) * np.exp(0.5), dtype=torch.float64))
    for lib, x in ((disttorch, xd), (torch, xt)):
        with pytest.raises(RuntimeError, match="scalar Tensor"):
            lib.func.grad(lambda a: a * 2)(x)


def test_vjp_jvp_jacobians_hessian():
    (xd, xt), (wd, wt) = _pair(4, 3), _pair(3, 2, seed=1)
    out_d, fn_d = disttorch.func.vjp(lambda x, w: (x @ w).tanh(), xd, wd)
    out_t, fn_t = torch.func.vjp(lambda x, w: (x @ w).tanh(), xt, wt)
    (cd, ct) = _pair(4, 2, seed=2)
    assert_close(out_d, out_t)
    assert_close(list(fn_d(cd)), list(fn_t(ct)), rtol=1e-10)
    (td, tt) = _pair(4, 3, seed=3)
    assert_close(list(disttorch.func.jvp(lambda x: (x ** 2).sin(), (xd,), (td,))),
                 list(torch.func.jvp(lambda x: (x ** 2).sin(), (xt,), (tt,))), rtol=1e-10)
    for name in ("jacrev", "jacfwd"):
        for argnums in (0, (0, 1)):
            jd = getattr(disttorch.func, name)(lambda x, w: (x @ w).sin(), argnums=argnums)(xd, wd)
            jt = getattr(torch.func, name)(lambda x, w: (x @ w).sin(), argnums=argnums)(xt, wt)
            assert_close(jd, jt, rtol=1e-10, atol=1e-12)
    (vd, vt) = _pair(3, seed=4)
    assert_close(disttorch.func.hessian(lambda v: (v.exp() * v.sin()).sum())(vd),
                 torch.func.hessian(lambda v: (v.exp() * v.sin()).sum())(vt), rtol=1e-10)


def test_functional_call_and_stack_module_state_with_vmap():
    torch.manual_seed(0)
    t_models = [torch.nn.Linear(3, 2) for _ in range(4)]
    d_models = [disttorch.nn.Linear(3, 2) for _ in range(4)]
    for dm, tm in zip(d_models, t_models):
        dm.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    pd, bd = disttorch.func.stack_module_state(d_models)
    pt, bt = torch.func.stack_module_state(t_models)
    assert sorted(pd) == sorted(pt) and bd == bt == {}
    assert_close(pd["weight"], pt["weight"])
    assert pd["weight"].requires_grad and pd["weight"].is_leaf
    (xd, xt) = _pair(5, 3)
    xd, xt = xd.float(), xt.float()
    base_d, base_t = d_models[0], t_models[0]
    od = disttorch.vmap(lambda p, b, x: disttorch.func.functional_call(base_d, (p, b), (x,)), in_dims=(0, 0, None))(
        pd, bd, xd)
    ot = torch.vmap(lambda p, b, x: torch.func.functional_call(base_t, (p, b), (x,)), in_dims=(0, 0, None))(pt, bt, xt)
    assert_close(od, ot, rtol=1e-5)
    od.sum().backward()
    ot.sum().backward()
    assert_close(pd["weight"].grad, pt["weight"].grad, rtol=1e-5)
    assert base_d.weight.grad is None  # the module's own parameters were swapped back, untouched
    new = {"weight": disttorch.zeros(2, 3), "bias": disttorch.ones(2)}
    assert_close(disttorch.func.functional_call(base_d, new, xd), torch.ones(5, 2))
    with pytest.raises(RuntimeError, match="Unexpected key"):
        disttorch.func.functional_call(base_d, {"nope": disttorch.zeros(1)}, xd)


def test_linearize_functionalize_debug_unwrap_replace_batch_norm():
    (xd, xt), (td, tt) = _pair(3), _pair(3, seed=1)
    od, fd = disttorch.func.linearize(lambda x: x.sin() * x, xd)
    ot, ft = torch.func.linearize(lambda x: x.sin() * x, xt)
    assert_close(od, ot)
    assert_close(fd(td), ft(tt), rtol=1e-10)

    def mutating(x):
        y = x.clone()
        y.add_(1)
        return y * 2

    assert_close(disttorch.func.functionalize(mutating)(xd), torch.func.functionalize(mutating)(xt))
    assert disttorch.func.debug_unwrap(xd) is xd
    for lib in (disttorch, torch):
        net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4))
        lib.func.replace_all_batch_norm_modules_(net)
        bn = net[1]
        assert bn.running_mean is None and bn.running_var is None and not bn.track_running_stats
    dnet = disttorch.nn.Sequential(disttorch.nn.BatchNorm1d(3))
    disttorch.func.replace_all_batch_norm_modules_(dnet).eval()
    x = disttorch.tensor(np.random.default_rng(2).standard_normal((6, 3)))
    tnet = torch.nn.Sequential(torch.nn.BatchNorm1d(3, dtype=torch.float64))
    torch.func.replace_all_batch_norm_modules_(tnet).eval()
    dnet.double()
    assert_close(dnet(x), tnet(torch.tensor(x.numpy())), rtol=1e-10)  # batch statistics even in eval


def test_cond_and_while_loop_run_eagerly_like_pytorch():
    (xd, xt) = _pair(3)
    for lib, x in ((disttorch, xd), (torch, xt)):
        x = x.clone().requires_grad_(True)
        out = lib.cond(x.sum() > -100, lambda a: a * 2, lambda a: a - 1, (x,))
        out.sum().backward()
        assert x.grad.tolist() == [2.0, 2.0, 2.0]
        assert lib.cond(False, lambda: 1, lambda: 2) == 2
        with pytest.raises(RuntimeError, match="Expected pred to be bool or single-element tensor"):
            lib.cond(x > 0, lambda a: a, lambda a: a, (x,))
    rd = disttorch.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * 2), (disttorch.tensor(0), xd))
    rt = torch.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * 2), (torch.tensor(0), xt))
    assert_close(list(rd), list(rt))
