"""Containers (Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict) and Flatten/Unflatten vs PyTorch."""
import re
from collections import OrderedDict

import numpy as np
import pytest
from oracle import check, randn

import disttorch

torch = pytest.importorskip("torch")

LIBS = [disttorch, torch]


def lin(lib, i, o=None):
    return lib.nn.Linear(i, o or i)


def layout(m):
    """What the two libraries must agree on: the repr and the parameter names."""
    return repr(m), [n for n, _ in m.named_parameters()], [n for n, _ in m.named_modules()]


def _raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return type(e).__name__, str(e).replace("disttorch", "torch")
    return None


def run_both(script):
    """Run script(lib) for both libraries; the list of observations it returns must be equal."""
    return script(disttorch), script(torch)


# -- Sequential ---------------------------------------------------------------------------------------
def _sequential_script(lib):
    nn = lib.nn
    obs = []
    s = nn.Sequential(lin(lib, 1), lin(lib, 2), lin(lib, 3), lin(lib, 4))
    obs += [len(s), layout(s[1:3]), type(s[::2]).__name__, layout(s[-1]), layout(s[::-1])]
    obs.append([m.in_features for m in s])
    s.append(lin(lib, 5))
    s.insert(0, lin(lib, 6))
    s.insert(-1, lin(lib, 7))
    s.extend([lin(lib, 8), lin(lib, 9)])
    obs.append(layout(s))
    del s[2]
    del s[1:3]
    obs.append(layout(s))
    obs.append(layout(s.pop(1)))
    obs.append(layout(s))
    s[0] = lin(lib, 10)
    obs.append(layout(s))
    t = nn.Sequential(OrderedDict([("a", lin(lib, 1)), ("b", nn.Identity())]))
    obs.append(layout(t))
    obs.append(layout(t[0:1]))
    obs.append(layout(t + nn.Sequential(lin(lib, 2))))
    t += nn.Sequential(lin(lib, 3))
    obs.append(layout(t))
    obs.append(layout(t * 2))
    obs.append(layout(2 * nn.Sequential(lin(lib, 1))))
    u = nn.Sequential(lin(lib, 1), nn.Identity())
    u *= 3
    obs.append(layout(u))
    obs.append(sorted(k for k in dir(u) if k.isdigit()))
    for bad in (lambda: s[10], lambda: s[-10], lambda: s["a"], lambda: t + [1], lambda: t * 0,
                lambda: t * 1.5, lambda: s.insert(20, lin(lib, 1)), lambda: s.insert(0, 3),
                lambda: nn.Sequential(3)):
        obs.append(_raised(bad))
    return obs


def test_sequential_matches_torch():
    ours, theirs = run_both(_sequential_script)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert o == t, i


def test_sequential_forward_matches_torch():
    x = randn(5, 2, 3, seed=1)
    ours = disttorch.nn.Sequential(disttorch.nn.Flatten(), disttorch.nn.Linear(6, 4), disttorch.nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 4), torch.nn.Linear(4, 2))
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    xo, xt = disttorch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    yo.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)
    for (n, po), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(po.grad.numpy(), pt.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=n)


# -- ModuleList / ModuleDict --------------------------------------------------------------------------
def _module_list_script(lib):
    nn = lib.nn
    obs = []
    ml = nn.ModuleList([lin(lib, 1), lin(lib, 2)])
    ml.append(lin(lib, 3)).extend([lin(lib, 4), lin(lib, 5)])
    ml.insert(1, lin(lib, 6))
    ml += [lin(lib, 7)]
    obs += [len(ml), layout(ml), layout(ml[-1]), layout(ml[1:4]), type(ml[1:4]).__name__]
    obs.append([m.in_features for m in ml])
    ml[-2] = nn.Identity()
    del ml[0]
    del ml[::2]
    obs.append(layout(ml))
    obs.append(layout(ml.pop(0)))
    obs.append(layout(ml + [lin(lib, 8)]))
    obs.append(layout(nn.ModuleList()))
    obs.append(len(nn.ModuleList(None)))
    for bad in (lambda: ml[5], lambda: ml[-5], lambda: ml.extend(3), lambda: ml.append(3),
                lambda: ml(lib.ones(1)), lambda: ml["x"]):
        obs.append(_raised(bad))
    return obs


def test_module_list_matches_torch():
    ours, theirs = run_both(_module_list_script)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert o == t, i


def _module_dict_script(lib):
    nn = lib.nn
    obs = []
    md = nn.ModuleDict({"b": lin(lib, 1), "a": lin(lib, 2)})
    md["c"] = lin(lib, 3)
    md.update([("d", lin(lib, 4)), ["b", lin(lib, 5)]])
    md.update(OrderedDict(z=nn.Identity()))
    md.update(nn.ModuleDict({"y": lin(lib, 6)}))
    obs += [layout(md), list(md), list(md.keys()), len(md), "a" in md, "q" in md]
    obs.append([type(v).__name__ for v in md.values()])
    obs.append([k for k, _ in md.items()])
    obs.append(layout(md.pop("a")))
    del md["c"]
    obs.append(layout(md))
    md.clear()
    obs.append(layout(md))
    for bad in (lambda: md["nope"], lambda: md.update(3), lambda: md.update([("a", lin(lib, 1), 3)]),
                lambda: md.update([3]), lambda: md.__setitem__("x.y", nn.Identity()),
                lambda: md.__setitem__("k", 5)):
        obs.append(_raised(bad))
    return obs


def test_module_dict_matches_torch():
    ours, theirs = run_both(_module_dict_script)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert o == t, i


# -- ParameterList / ParameterDict --------------------------------------------------------------------
def _param_list_script(lib):
    nn = lib.nn
    obs = []
    pl = nn.ParameterList([nn.Parameter(lib.ones(2)), lib.zeros(3)])  # plain tensors become Parameters
    pl.append(lib.ones(1, 2, dtype=lib.float64))
    pl.extend([lib.ones(4)])
    pl += [lib.ones(5)]
    pl.append("not a tensor")
    obs += [len(pl), repr(pl), [n for n, _ in pl.named_parameters()]]
    obs.append([type(p).__name__ for p in pl])
    obs.append(repr(pl[1:3]))
    obs.append(repr(pl[-3]))
    pl[0] = lib.full((2,), 7.0)
    obs.append(repr(pl[0]))
    obs.append(pl[0].requires_grad)
    obs.append(sorted(k for k in dir(pl) if k.isdigit()))
    obs.append(list(pl.state_dict()))
    for bad in (lambda: pl[10], lambda: pl.extend(lib.ones(2)), lambda: pl.extend(3), lambda: pl(1)):
        obs.append(_raised(bad))
    return obs


def test_parameter_list_matches_torch():
    ours, theirs = run_both(_param_list_script)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert o == t, i


def _param_dict_script(lib):
    nn = lib.nn
    obs = []
    pd = nn.ParameterDict({"b": lib.ones(2), "a": nn.Parameter(lib.zeros(1))})  # a plain dict is sorted
    obs += [list(pd), repr(pd)]
    pd.update(OrderedDict([("z", lib.ones(3)), ("c", lib.ones(1))]))  # an OrderedDict keeps its order
    pd.update([("y", lib.ones(1))])
    pd["k"] = "text"
    obs += [list(pd), repr(pd), [n for n, _ in pd.named_parameters()], len(pd), "a" in pd, "q" in pd]
    obs.append(type(pd["b"]).__name__)
    obs.append(repr(pd.get("q", "default")))
    obs.append(repr(pd.setdefault("new", lib.ones(2))))
    obs.append(repr(pd.pop("a")))
    obs.append(pd.popitem()[0])
    obs.append(list(reversed(pd)))
    obs.append(list(pd.keys()))
    obs.append([k for k, _ in pd.items()])
    obs.append([type(v).__name__ for v in pd.values()])
    c = pd.copy()
    obs.append((list(c), c["b"] is pd["b"]))
    obs.append(list(pd.fromkeys(["u", "v"], lib.ones(1))))
    merged = pd | nn.ParameterDict({"m": lib.ones(1)})
    obs.append(list(merged))
    pd |= nn.ParameterDict({"n": lib.ones(1)})
    obs.append(list(pd))
    del pd["b"]
    obs.append(list(pd))
    pd.clear()
    obs.append((len(pd), repr(pd)))
    for bad in (lambda: pd[3], lambda: pd["missing"], lambda: pd.update(3), lambda: pd.update([(1, 2, 3)]),
                lambda: pd.update([3]), lambda: pd()):
        obs.append(_raised(bad))
    return obs


def test_parameter_dict_matches_torch():
    ours, theirs = run_both(_param_dict_script)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert o == t, i


def test_parameter_containers_in_a_model():
    """Parameters held in containers train, convert and save like any other."""
    for lib in LIBS:
        m = lib.nn.Module()
        m.pl = lib.nn.ParameterList([lib.ones(2), lib.ones(2)])
        m.pd = lib.nn.ParameterDict({"w": lib.ones(2)})
        assert list(m.state_dict()) == ["pl.0", "pl.1", "pd.w"]
        held = m.pl[0]
        m.double()
        assert m.pl[0] is held and str(held.dtype) == "torch.float64"
        (m.pl[0] * m.pd["w"]).sum().backward()
        assert m.pd["w"].grad is not None


# -- Flatten / Unflatten ------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,start,end", [((2, 3, 4), 1, -1), ((2, 3, 4, 5), 0, 2), ((2, 3), 0, -1),
                                             ((4,), 0, 0), ((2, 3, 4), -2, -1)])
def test_flatten_matches_torch(shape, start, end, device):
    check(lambda t, x: t.nn.Flatten(start, end)(x), [randn(*shape, seed=2)], device=device)


@pytest.mark.parametrize("shape,dim,sizes", [((2, 6), 1, (2, 3)), ((2, 12, 3), 1, [3, -1, 2]),
                                             ((6, 2), 0, (6,)), ((2, 4), -1, (2, 2))])
def test_unflatten_matches_torch(shape, dim, sizes, device):
    check(lambda t, x: t.nn.Unflatten(dim, sizes)(x), [randn(*shape, seed=3)], device=device)


def test_flatten_unflatten_errors_match_torch():
    for what in (lambda lib: lib.nn.Unflatten(1, 3), lambda lib: lib.nn.Unflatten(1, (2, 1.5)),
                 lambda lib: lib.nn.Flatten(2, 1)(lib.ones(2, 3, 4)),
                 lambda lib: lib.nn.Unflatten(1, (4, 4))(lib.ones(2, 6))):
        expected = _raised(lambda: what(torch))
        got = _raised(lambda: what(disttorch))
        assert expected is not None and got is not None
        assert got[0] == expected[0]
        assert re.sub(r"\s+", " ", got[1]).startswith(re.sub(r"\s+", " ", expected[1])[:40]), (got, expected)
