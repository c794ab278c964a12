"""Forward-mode AD through custom autograd.Functions (their own ``jvp``, ``ctx.save_for_forward``), with
``torch.autograd.forward_ad`` and ``torch.func.jvp``, against real PyTorch running the same code."""
from __future__ import annotations

import functools

import numpy as np
import pytest
from oracle import assert_close

import disttorch

torch = pytest.importorskip("torch")

LIBS = (disttorch, torch)


def _fwad(lib):
    return lib.autograd.forward_ad


def _functions(lib):
    """The same custom Functions, written against ``lib``."""
    Function = lib.autograd.Function
    seen: list = []

    class Exp(Function):  # the forward-AD tutorial's: a tensor kept on ctx, freed in jvp
        @staticmethod
        def forward(ctx, foo):
            result = lib.exp(foo)
            ctx.result = result
            return result

        @staticmethod
        def jvp(ctx, g):
            out = g * ctx.result
            del ctx.result
            return out

    class Skewed(Function):  # jvp and backward disagree on purpose: shows which one forward AD runs
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def jvp(ctx, t):
            return t * 3

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class Two(Function):  # two outputs, a non-tensor argument, save_for_forward next to save_for_backward
        @staticmethod
        def forward(ctx, x, y, k):
            ctx.save_for_forward(x, y)
            ctx.save_for_backward(y)
            ctx.k = k
            return x * y * k, x + 1

        @staticmethod
        def jvp(ctx, tx, ty, tk):
            seen.append((tx, ty, tk, len(ctx.saved_tensors)))
            x, y = ctx.saved_tensors
            return (tx * y + x * ty) * ctx.k, tx

        @staticmethod
        def backward(ctx, g1, g2):
            (y,) = ctx.saved_tensors
            return g1 * y * ctx.k + g2, None, None

    class NoJvp(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class Sin(Function):  # the setup_context style torch.func needs
        @staticmethod
        def forward(x, k):
            return x.sin() * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, k = inputs
            ctx.save_for_forward(x)
            ctx.k = k

        @staticmethod
        def jvp(ctx, tx, tk):
            seen.append("jvp")
            (x,) = ctx.saved_tensors
            return tx * x.cos() * ctx.k

        @staticmethod
        def backward(ctx, g):
            seen.append("backward")
            return None, None

    return {"Exp": Exp, "Skewed": Skewed, "Two": Two, "NoJvp": NoJvp, "Sin": Sin, "seen": seen}


def _arrays(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def test_tutorial_custom_function_jvp():
    p, t = _arrays((10, 10), (10, 10))
    got = []
    for lib in LIBS:
        fns, fwAD = _functions(lib), _fwad(lib)
        primal = lib.tensor(p, requires_grad=True)
        with fwAD.dual_level():
            out = fns["Exp"].apply(fwAD.make_dual(primal, lib.tensor(t)))
            got.append(fwAD.unpack_dual(out))
        assert lib.autograd.gradcheck(fns["Exp"].apply, (primal,), check_forward_ad=True, check_backward_ad=False,
                                      check_undefined_grad=False, check_batched_grad=False)
    assert_close(got[0].primal, got[1].primal, 1e-12, 1e-12)
    assert_close(got[0].tangent, got[1].tangent, 1e-12, 1e-12)


def test_tutorial_dual_tensors_and_modules():
    p, t, inp = _arrays((10, 10), (10, 10), (16, 5))
    got = []
    for lib in LIBS:
        fwAD = _fwad(lib)
        primal, tangent = lib.tensor(p), lib.tensor(t)
        with fwAD.dual_level():
            dual = fwAD.make_dual(primal, tangent)
            same = fwAD.unpack_dual(dual).tangent is tangent
            copied = fwAD.unpack_dual(fwAD.make_dual(primal, tangent.T)).tangent
            out = dual ** 2 + primal.cos() ** 2
            jv = fwAD.unpack_dual(out).tangent
        lib.manual_seed(0)
        model = lib.nn.Linear(5, 5)
        with lib.no_grad():
            model.weight.copy_(lib.tensor(np.arange(25.0).reshape(5, 5) / 25, dtype=lib.float32))
            model.bias.fill_(0.5)
        params = dict(model.named_parameters())
        tangents = {n: lib.ones_like(v) * (i + 1) for i, (n, v) in enumerate(params.items())}
        x = lib.tensor(inp, dtype=lib.float32)
        with fwAD.dual_level():
            duals = {n: fwAD.make_dual(v, tangents[n]) for n, v in params.items()}
            jv_call = fwAD.unpack_dual(lib.func.functional_call(model, duals, x)).tangent
            for n in params:
                delattr(model, n)
                setattr(model, n, duals[n])
            jv_module = fwAD.unpack_dual(model(x)).tangent
        got.append((same, copied is tangent, copied, jv, fwAD.unpack_dual(out).tangent, jv_call, jv_module))
    ours, theirs = got
    assert ours[:2] == theirs[:2] == (True, False)
    assert_close(ours[2], theirs[2], 0, 0)
    assert_close(ours[3], theirs[3], 1e-12, 1e-12)
    assert ours[4] is None and theirs[4] is None  # tangents go when the level closes
    assert_close(ours[5], theirs[5])
    assert_close(ours[6], theirs[6])


def test_jvp_not_backward_drives_tangents_downstream():
    x0, t0 = _arrays((4,), (4,), seed=1)
    got = []
    for lib in LIBS:
        fns, fwAD = _functions(lib), _fwad(lib)
        x = lib.tensor(x0, requires_grad=True)
        with fwAD.dual_level():
            mid = fns["Skewed"].apply(fwAD.make_dual(x, lib.tensor(t0)))
            out = (mid.sin() * mid).sum()
            tangent = fwAD.unpack_dual(out).tangent
            mid_tangent = fwAD.unpack_dual(mid).tangent
        (grad,) = lib.autograd.grad((fns["Skewed"].apply(x).sin()).sum(), x)  # backward still runs backward
        got.append((tangent, mid_tangent, grad))
    assert_close(got[0][0], got[1][0], 1e-12, 1e-12)
    assert_close(got[0][1], got[1][1], 1e-12, 1e-12)
    assert_close(got[0][2], got[1][2], 1e-12, 1e-12)
    np.testing.assert_allclose(got[0][1].numpy(), 3 * t0, 1e-12)  # jvp's 3, not backward's 2


def test_save_for_forward_two_outputs_and_tangentless_inputs():
    x0, y0, t0 = _arrays((3,), (3,), (3,), seed=2)
    got = []
    for lib in LIBS:
        fns, fwAD = _functions(lib), _fwad(lib)
        y = lib.tensor(y0, requires_grad=True)
        with fwAD.dual_level():
            a, b = fns["Two"].apply(fwAD.make_dual(lib.tensor(x0), lib.tensor(t0)), y, 2.0)
            ta, tb = fwAD.unpack_dual(a).tangent, fwAD.unpack_dual(b).tangent
            tc = fwAD.unpack_dual((a * b).exp()).tangent
            dx = fwAD.make_dual(lib.tensor(x0), lib.tensor(t0))
            (swapped, _) = fns["Two"].apply(lib.tensor(y0), dx, 1.0)  # tangent on the second input only
            ts = fwAD.unpack_dual(swapped).tangent
        (tx, ty, tk, n_saved), _ = fns["seen"]
        got.append((ta, tb, tc, ts, tx, ty, tk, n_saved))
    ours, theirs = got
    for i in range(6):
        assert_close(ours[i], theirs[i], 1e-12, 1e-12)
    assert ours[6] is None and theirs[6] is None  # a non-tensor argument's tangent
    assert ours[7] == theirs[7] == 2  # ctx.saved_tensors in jvp: what save_for_forward kept


def test_function_without_jvp_raises_only_with_a_tangent():
    x0 = _arrays((3,))[0]
    msgs = []
    for lib in LIBS:
        fns, fwAD = _functions(lib), _fwad(lib)
        with fwAD.dual_level():
            plain = fns["NoJvp"].apply(lib.tensor(x0))  # no tangent: plain call
            with pytest.raises(NotImplementedError) as err:
                fns["NoJvp"].apply(fwAD.make_dual(lib.tensor(x0), lib.ones(3, dtype=lib.float64)))
        msgs.append(str(err.value))
        np.testing.assert_allclose(plain.numpy(), 2 * x0)
    assert msgs[0] == msgs[1]


def test_func_jvp_runs_the_functions_jvp():
    x0, t0 = _arrays((5,), (5,), seed=3)
    got = []
    for lib in LIBS:
        fns = _functions(lib)
        out, jv = lib.func.jvp(lambda a: fns["Sin"].apply(a, 2.0) * 3, (lib.tensor(x0),), (lib.tensor(t0),))
        partial = functools.partial(lambda a, b: fns["Sin"].apply(a * b, 1.5), b=lib.tensor(x0))
        out2, jv2 = lib.func.jvp(partial, (lib.tensor(t0),), (lib.tensor(x0),))
        got.append((out, jv, out2, jv2, list(fns["seen"]), jv.requires_grad))
    ours, theirs = got
    for i in range(4):
        assert_close(ours[i], theirs[i], 1e-12, 1e-12)
    assert ours[4] == theirs[4] == ["jvp", "jvp"]  # backward never ran
    assert ours[5] == theirs[5] is False


def test_func_jvp_refuses_functions_without_setup_context():
    msgs = []
    for lib in LIBS:
        fns = _functions(lib)
        x = lib.ones(3, dtype=lib.float64)
        with pytest.raises(RuntimeError) as err:
            lib.func.jvp(fns["Skewed"].apply, (x,), (x,))
        msgs.append(str(err.value))
        with pytest.raises(NotImplementedError):  # setup_context style without jvp

            class NoJvpFunc(lib.autograd.Function):
                @staticmethod
                def forward(x):
                    return x * 2

                @staticmethod
                def setup_context(ctx, inputs, output):
                    pass

            lib.func.jvp(NoJvpFunc.apply, (x,), (x,))
    assert msgs[0] == msgs[1]
    assert "setup_context" in msgs[0]


def test_gradcheck_forward_ad_catches_a_wrong_jvp():
    x0 = _arrays((4,), seed=4)[0]
    results = []
    for lib in LIBS:
        fns = _functions(lib)
        x = lib.tensor(x0, requires_grad=True)
        kwargs = dict(check_forward_ad=True, check_backward_ad=False, check_undefined_grad=False,
                      check_batched_grad=False, raise_exception=False)
        results.append((lib.autograd.gradcheck(fns["Exp"].apply, (x,), **kwargs),
                        lib.autograd.gradcheck(fns["Skewed"].apply, (x,), **kwargs),
                        lib.autograd.gradcheck(fns["Skewed"].apply, (x,), raise_exception=False)))
    assert results[0] == results[1] == (True, False, True)


def test_custom_jvp_on_device(device):
    """The same forward-AD path on every device (cuda on the stand-in in CI), against PyTorch on the CPU."""
    x0, t0 = _arrays((5,), (5,), seed=5)
    fwAD = disttorch.autograd.forward_ad
    fns = _functions(disttorch)
    with fwAD.dual_level():
        dual = fwAD.make_dual(disttorch.tensor(x0, device=device), disttorch.tensor(t0, device=device))
        out = (fns["Skewed"].apply(dual).sin() * fns["Exp"].apply(dual)).sum()
        tangent = fwAD.unpack_dual(out).tangent
    assert tangent.device.type == disttorch.device(device).type
    ref = _functions(torch)
    with torch.autograd.forward_ad.dual_level():
        dual = torch.autograd.forward_ad.make_dual(torch.tensor(x0), torch.tensor(t0))
        out = (ref["Skewed"].apply(dual).sin() * ref["Exp"].apply(dual)).sum()
        expected = torch.autograd.forward_ad.unpack_dual(out).tangent
    assert_close(tangent.cpu(), expected, 1e-12, 1e-12)


@pytest.mark.parametrize("reentrant", [False, True])
def test_checkpoint_under_forward_ad(reentrant):
    """Non-reentrant checkpoint is transparent to forward AD; the reentrant one is a Function without jvp."""
    x0, t0 = _arrays((4,), (4,), seed=6)
    got = []
    for lib in LIBS:
        fwAD = _fwad(lib)
        with fwAD.dual_level():
            dual = fwAD.make_dual(lib.tensor(x0), lib.tensor(t0))
            try:
                y = lib.utils.checkpoint.checkpoint(lambda a: a.sin() * a, dual, use_reentrant=reentrant)
                got.append(fwAD.unpack_dual(y).tangent)
            except NotImplementedError as exc:
                got.append(str(exc))
    if reentrant:
        assert isinstance(got[0], str) and got[0] == got[1]
    else:
        assert_close(got[0], got[1], 1e-12, 1e-12)
