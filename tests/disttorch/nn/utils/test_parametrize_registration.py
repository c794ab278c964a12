"""parametrize.register_parametrization against PyTorch: the evaluation at registration (errors raised there as
they are), exceptions when reading the property, unsafe, right_inverse (single tensor and sequences), caching,
remove_parametrizations both ways, transfer, deepcopy/pickling and the checks' messages."""
import copy
import pickle

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")
LIBS = (disttorch, torch)


def _outcome(fn):
    """What calling ``fn`` gives: its value, or the exception type and message."""
    try:
        return ("ok", fn())
    except Exception as e:  # noqa: BLE001 - every exception is part of the behaviour compared
        return (type(e).__name__, str(e).replace("disttorch", "torch"), repr(e.__context__), repr(e.__cause__))


def _mods(lib):
    nn = lib.nn

    class Count(nn.Module):
        def __init__(self, fail=None):
            super().__init__()
            self.fail, self.calls = fail, 0

        def forward(self, x):
            self.calls += 1
            if self.fail is not None:
                raise self.fail
            return 2 * x

    class Halve(Count):
        def right_inverse(self, x):
            return x / 2

    class Missing(nn.Module):
        def forward(self, x):
            return x.no_such_attribute

    class Shrink(nn.Module):
        def forward(self, x):
            return x[:1]

    class ToDouble(nn.Module):
        def forward(self, x):
            return x.double()

    class Sym(nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(-1, -2)

        def right_inverse(self, a):
            return a.triu()

    class Split(nn.Module):
        def forward(self, a, b):
            return a * b

        def right_inverse(self, w):
            return (w.sign() + (w == 0), w.abs())

    class BadInverse(nn.Module):
        def forward(self, x):
            return x

        def right_inverse(self, x):
            return x[:1]

    return dict(Count=Count, Halve=Halve, Missing=Missing, Shrink=Shrink, ToDouble=ToDouble, Sym=Sym, Split=Split,
                BadInverse=BadInverse)


def _linear(lib, seed=0):
    m = lib.nn.Linear(3, 3)
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        m.weight.copy_(lib.tensor(rng.standard_normal((3, 3)).astype(np.float32)))
        m.bias.copy_(lib.tensor(rng.standard_normal(3).astype(np.float32)))
    return m


def _np(t):
    return t.detach().numpy()


@pytest.mark.parametrize("case", ["Missing", "attr", "runtime", "key", "Shrink", "ToDouble"])
def test_registration_evaluates(case):
    seen = []
    for lib in LIBS:
        P, M = lib.nn.utils.parametrize, _mods(lib)
        m = _linear(lib)
        p = {"attr": lambda: M["Count"](AttributeError("inner attribute error")),
             "runtime": lambda: M["Count"](RuntimeError("inner runtime error")),
             "key": lambda: M["Count"](KeyError("inner"))}.get(case, lambda: M[case]())()
        seen.append((_outcome(lambda: type(P.register_parametrization(m, "weight", p)).__name__),
                     type(m).__name__, [n for n, _ in m.named_parameters()], P.is_parametrized(m)))
    assert seen[0] == seen[1]
    assert seen[0][0][0] != "ok"  # every case fails at registration


@pytest.mark.parametrize("exc", [AttributeError("inner"), RuntimeError("rt"), KeyError("k"), ValueError("v")])
def test_exception_when_reading(exc):
    seen = []
    for lib in LIBS:
        P, M = lib.nn.utils.parametrize, _mods(lib)
        m, p = _linear(lib), M["Count"]()
        P.register_parametrization(m, "weight", p)
        p.fail = exc
        x = lib.ones(1, 3)
        seen.append((_outcome(lambda: m.weight), _outcome(lambda: m(x)), _outcome(lambda: hasattr(m, "weight")),
                     p.calls))
    assert seen[0] == seen[1]


def test_unsafe_shape_change_and_assignment():
    seen = []
    for lib in LIBS:
        P, M = lib.nn.utils.parametrize, _mods(lib)
        m = _linear(lib)
        seen.append(_outcome(lambda: P.register_parametrization(m, "weight", M["Shrink"]()) and None))
        P.register_parametrization(m, "weight", M["Shrink"](), unsafe=True)
        seen.append((tuple(m.weight.shape), m.parametrizations.weight.unsafe))
        seen.append(_outcome(lambda: setattr(m, "weight", lib.ones(1, 3))))
        P.register_parametrization(m, "weight", M["ToDouble"](), unsafe=True)
        seen.append((str(m.weight.dtype).replace("disttorch", "torch"), tuple(m.weight.shape)))
        # the parametrized value is float64 now: it cannot go back into the float32 original
        seen.append(_outcome(lambda: P.remove_parametrizations(m, "weight") and None)[0])
        P.remove_parametrizations(m, "weight", leave_parametrized=False)
        seen.append((type(m).__name__, tuple(m.weight.shape), type(m.weight).__name__, _np(m.weight).tolist()))
    assert seen[:5] == seen[6:11] and seen[4] == "RuntimeError"
    assert seen[5][:3] == seen[11][:3]
    np.testing.assert_allclose(seen[5][3], seen[11][3], rtol=1e-6)


def test_stacking_checks():
    seen = []
    for lib in LIBS:
        P, M = lib.nn.utils.parametrize, _mods(lib)
        m = _linear(lib)
        P.register_parametrization(m, "weight", M["Count"]())
        for name in ("Shrink", "ToDouble", "BadInverse", "Missing"):
            seen.append(_outcome(lambda: P.register_parametrization(m, "weight", M[name]()) and None))
        seen.append(len(m.parametrizations.weight))
        P.register_parametrization(m, "weight", M["Sym"]())
        seen.append(len(m.parametrizations.weight))
    assert seen[:6] == seen[6:]


@pytest.mark.parametrize("leave", [True, False])
def test_right_inverse_values_and_removal(leave):
    out = []
    for lib in LIBS:
        P, M = lib.nn.utils.parametrize, _mods(lib)
        m = _linear(lib, 1)
        w0 = m.weight
        P.register_parametrization(m, "weight", M["Sym"]())
        P.register_parametrization(m, "weight", M["Halve"]())
        keep = m.parametrizations.weight.original is w0
        a = lib.tensor(np.arange(9, dtype=np.float32).reshape(3, 3))
        m.weight = a
        stored = _np(m.parametrizations.weight.original).copy()
        y = m(lib.ones(2, 3))
        y.sum().backward()
        grad = m.parametrizations.weight.original.grad.numpy().copy()
        P.remove_parametrizations(m, "weight", leave_parametrized=leave)
        out.append((keep, m.weight is w0, type(m).__name__, [n for n, _ in m.named_parameters()], stored,
                    _np(y), grad, _np(m.weight)))
    (o, t) = out
    assert o[:4] == t[:4]
    for a, b in zip(o[4:], t[4:]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_sequence_right_inverse():
    out = []
    for lib in LIBS:
        P, M = lib.nn.utils.parametrize, _mods(lib)
        m = _linear(lib, 2)
        P.register_parametrization(m, "weight", M["Split"]())
        names = [n for n, _ in m.named_parameters()]
        w = _np(m.weight).copy()
        m.weight = lib.tensor(np.full((3, 3), -2.0, np.float32))
        o0, o1 = _np(m.parametrizations.weight.original0).copy(), _np(m.parametrizations.weight.original1).copy()
        err = _outcome(lambda: P.remove_parametrizations(m, "weight", leave_parametrized=False) and None)
        P.remove_parametrizations(m, "weight")
        out.append((names, err, [n for n, _ in m.named_parameters()], type(m.weight).__name__,
                    m.weight.requires_grad, w, o0, o1, _np(m.weight)))
    (o, t) = out
    assert o[:5] == t[:5]
    for a, b in zip(o[5:], t[5:]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_cached_counts_calls():
    seen = []
    for lib in LIBS:
        P, M = lib.nn.utils.parametrize, _mods(lib)
        m, p = _linear(lib), M["Count"]()
        P.register_parametrization(m, "weight", p)
        after_registration = p.calls
        with P.cached():
            same = m.weight is m.weight
            m(lib.ones(1, 3))
            with P.cached():
                _ = m.weight
            inside = p.calls
        _ = m.weight
        seen.append((after_registration, same, inside, p.calls, m.weight is m.weight))
    assert seen[0] == seen[1]


def test_buffers_training_mode_copies_and_transfer():
    seen = []
    for lib in LIBS:
        P, M = lib.nn.utils.parametrize, _mods(lib)
        bn = lib.nn.BatchNorm1d(3).eval()
        p = M["Count"]()
        P.register_parametrization(bn, "running_mean", p)
        seen.append(([n for n, _ in bn.named_buffers()], p.training, list(bn.state_dict().keys())))
        m = _linear(lib)
        P.register_parametrization(m, "weight", M["Count"]())
        c = copy.deepcopy(m)
        seen.append((type(c).__name__, P.type_before_parametrizations(c).__name__,
                     c.parametrizations.weight.original is m.parametrizations.weight.original,
                     _outcome(lambda: pickle.dumps(m) and None)))
        dst = lib.nn.Linear(3, 3)
        P.transfer_parametrizations_and_params(m, dst)
        seen.append((type(dst).__name__, dst.parametrizations.weight.original is m.parametrizations.weight.original))
        seen.append(_outcome(lambda: P.ParametrizationList([], lib.ones(2)) and None))
        seen.append(_outcome(lambda: P.remove_parametrizations(lib.nn.Linear(2, 2), "weight") and None))
    assert seen[:5] == seen[5:]


def test_parametrized_gradients_match():
    out = []
    for lib in LIBS:
        P, M = lib.nn.utils.parametrize, _mods(lib)
        m = _linear(lib, 3).double()
        P.register_parametrization(m, "weight", M["Split"]())
        P.register_parametrization(m, "weight", M["Sym"]())
        x = lib.tensor(np.random.default_rng(4).standard_normal((4, 3)))
        (m(x) ** 2).sum().backward()
        out.append([_np(m(x))] + [p.grad.numpy() for _, p in m.named_parameters()])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_parametrized_gradcheck():
    m = disttorch.nn.Linear(3, 3).double()
    disttorch.nn.utils.parametrize.register_parametrization(m, "weight", _mods(disttorch)["Sym"]())
    x = disttorch.tensor(np.random.default_rng(5).standard_normal((2, 3)))
    w = m.parametrizations.weight.original.detach().clone().requires_grad_(True)

    def f(w):
        return disttorch.nn.functional.linear(x, m.parametrizations.weight[0](w), m.bias)

    assert disttorch.autograd.gradcheck(f, (w,))


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_register_assign_remove_device(device):
    if device == "cuda" and not disttorch.cuda.is_available():
        pytest.skip("needs a GPU or the cupy stand-in")
    P, M = disttorch.nn.utils.parametrize, _mods(disttorch)
    m, t = _linear(disttorch, 6).to(device), _linear(torch, 6)
    for lib, mod in ((disttorch, m), (torch, t)):
        lib.nn.utils.parametrize.register_parametrization(mod, "weight", _mods(lib)["Sym"]())
        lib.nn.utils.parametrize.register_parametrization(mod, "weight", _mods(lib)["Halve"]())
    assert m.parametrizations.weight.original.device.type == device
    np.testing.assert_allclose(m.weight.detach().cpu().numpy(), _np(t.weight), rtol=1e-6)
    a = np.arange(9, dtype=np.float32).reshape(3, 3)
    m.weight = disttorch.tensor(a, device=device)
    t.weight = torch.tensor(a)
    np.testing.assert_allclose(m.parametrizations.weight.original.detach().cpu().numpy(),
                               _np(t.parametrizations.weight.original), rtol=1e-6)
    with pytest.raises(ValueError, match="may not change the shape"):
        P.register_parametrization(m, "weight", M["Shrink"]())
    P.remove_parametrizations(m, "weight")
    assert type(m) is disttorch.nn.Linear and m.weight.device.type == device
