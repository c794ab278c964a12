"""nn.Module against PyTorch: registration, iteration, repr, state_dict, hooks, conversions."""
import copy
import pickle
import re
import warnings
from collections import OrderedDict

import numpy as np
import pytest
from oracle import assert_close, randn

import disttorch

torch = pytest.importorskip("torch")

LIBS = [disttorch, torch]


def new(lib, arr):
    return lib.tensor(np.asarray(arr))


def sync(ours, theirs):
    """Copy our parameters and buffers into the torch module so both compute the same thing."""
    sd = {k: torch.tensor(np.array(v.detach().numpy())) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(sd)


def build_net(lib, shared=True):
    """A tree with nested containers, buffers (one non-persistent), an int buffer and a tied weight."""
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)
            self.register_buffer("running", lib.zeros(3))
            self.register_buffer("scratch", lib.ones(2), persistent=False)
            self.register_buffer("count", lib.tensor(0))
            self.scale = nn.Parameter(lib.ones(1))

        def forward(self, x):
            return self.fc(x) * self.scale + self.running

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(4, 3, bias=False)
            self.blocks = nn.ModuleList([Block(), Block()])
            self.head = nn.Sequential(OrderedDict(flat=nn.Flatten(), out=nn.Linear(3, 2)))
            self.extra = nn.ModuleDict({"id": nn.Identity()})
            self.register_parameter("unused", None)
            self.register_buffer("nothing", None)
            if shared:
                self.alias = self.blocks[0]  # the same module twice
                self.blocks[1].fc.weight = self.blocks[0].fc.weight  # tied parameter

        def forward(self, x):
            x = self.embed(x)
            for b in self.blocks:
                x = b(x)
            return self.head(x)

    return Net()


def names(pairs):
    return [n for n, _ in pairs]


# -- iteration ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("remove_duplicate", [True, False])
@pytest.mark.parametrize("prefix", ["", "model"])
def test_named_members_match_torch(remove_duplicate, prefix):
    ours, theirs = build_net(disttorch), build_net(torch)
    for meth in ("named_parameters", "named_buffers", "named_modules"):
        kw = {"prefix": prefix, "remove_duplicate": remove_duplicate}
        assert names(getattr(ours, meth)(**kw)) == names(getattr(theirs, meth)(**kw)), meth
    for recurse in (True, False):
        assert (names(ours.named_parameters(prefix, recurse)) == names(theirs.named_parameters(prefix, recurse)))
        assert names(ours.named_buffers(prefix, recurse)) == names(theirs.named_buffers(prefix, recurse))
    assert names(ours.named_children()) == names(theirs.named_children())
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert len(list(ours.buffers())) == len(list(theirs.buffers()))
    assert len(list(ours.modules())) == len(list(theirs.modules()))
    assert [type(m).__name__ for m in ours.children()] == [type(m).__name__ for m in theirs.children()]


def test_named_modules_memo_and_submodule_lookup():
    ours, theirs = build_net(disttorch), build_net(torch)
    memo = {ours.blocks[0]}
    memo_t = {theirs.blocks[0]}
    assert names(ours.named_modules(memo)) == names(theirs.named_modules(memo_t))
    assert ours.get_submodule("blocks.1.fc") is ours.blocks[1].fc
    assert ours.get_submodule("") is ours
    assert ours.get_parameter("blocks.0.fc.weight") is ours.blocks[0].fc.weight
    assert ours.get_buffer("blocks.0.running") is ours.blocks[0].running
    for call, target in (("get_submodule", "blocks.7"), ("get_submodule", "blocks.0.scale"),
                         ("get_parameter", "blocks.0.nope"), ("get_parameter", "blocks.0.running"),
                         ("get_buffer", "blocks.0.scale")):
        with pytest.raises(AttributeError) as theirs_err:
            getattr(theirs, call)(target)
        with pytest.raises(AttributeError, match=re.escape(str(theirs_err.value))):
            getattr(ours, call)(target)


def test_set_submodule():
    for lib in LIBS:
        net = build_net(lib)
        net.set_submodule("blocks.0.fc", lib.nn.Identity())
        assert type(net.blocks[0].fc).__name__ == "Identity"
        with pytest.raises(AttributeError, match="has no attribute `zz`"):
            net.set_submodule("blocks.0.zz", lib.nn.Identity(), strict=True)
        with pytest.raises(ValueError, match="Cannot set the submodule without a target name"):
            net.set_submodule("", lib.nn.Identity())


# -- attribute rules ----------------------------------------------------------------------------------
def _raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return type(e), str(e)
    return None


def _attr_cases(lib):
    nn = lib.nn

    class Early(nn.Module):
        def __init__(self, what):
            if what == "module":
                self.sub = nn.Identity()
            elif what == "param":
                self.p = nn.Parameter(lib.ones(1))
            else:
                self.register_buffer("b", lib.ones(1))
            super().__init__()

    def lin():
        return nn.Linear(3, 3)

    def set_attr(m, name, value):
        return lambda: setattr(m, name, value)

    m = lin()
    m.sub = nn.Identity()
    m.register_buffer("buf", lib.zeros(2))
    m.plain = 3
    return [
        set_attr(m, "weight", lib.ones(3, 3)),
        set_attr(m, "weight", 5),
        set_attr(m, "sub", 5),
        set_attr(m, "buf", [1, 2]),
        lambda: Early("module"), lambda: Early("param"), lambda: Early("buffer"),
        lambda: m.register_buffer("a.b", lib.ones(1)),
        lambda: m.register_buffer("", lib.ones(1)),
        lambda: m.register_buffer(3, lib.ones(1)),
        lambda: m.register_buffer("plain", lib.ones(1)),
        lambda: m.register_buffer("weight", lib.ones(1)),
        lambda: m.register_buffer("x", [1.0]),
        lambda: m.register_parameter("a.b", None),
        lambda: m.register_parameter("", None),
        lambda: m.register_parameter("plain", None),
        lambda: m.register_parameter("p", lib.ones(1)),
        lambda: m.register_parameter("p", nn.Parameter(lib.ones(1)) * 2),
        lambda: m.add_module("a.b", nn.Identity()),
        lambda: m.add_module("", nn.Identity()),
        lambda: m.add_module("plain", nn.Identity()),
        lambda: m.add_module(1, nn.Identity()),
        lambda: m.add_module("x", 5),
        lambda: m.missing,
        lambda: delattr(m, "missing"),
        lambda: nn.Module(3),
        lambda: nn.Module(x=3),
        lambda: nn.Module()(1),
    ]


def test_attribute_errors_match_torch():
    ours, theirs = _attr_cases(disttorch), _attr_cases(torch)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        expected = _raised(t)
        assert expected is not None, i
        got = _raised(o)
        assert got is not None and got[0] is expected[0], (i, got, expected)
        assert got[1].replace("disttorch", "torch") == expected[1], (i, got, expected)


def test_setattr_moves_between_kinds_and_delattr():
    for lib in LIBS:
        m = lib.nn.Linear(2, 2)
        m.register_buffer("x", lib.ones(1), persistent=False)
        m.x = lib.nn.Parameter(lib.ones(1))  # a parameter replaces the buffer (and its non-persistent mark)
        assert "x" in m._parameters and "x" not in m._buffers and "x" not in m._non_persistent_buffers_set
        with pytest.raises(TypeError, match="as parameter 'x'"):
            m.x = lib.nn.Identity()
        del m.x
        m.x = lib.nn.Identity()
        assert "x" in m._modules and "x" not in m._parameters
        m.register_buffer("y", lib.ones(1))
        m.y = lib.nn.Identity()  # a module replaces a buffer
        assert "y" in m._modules and "y" not in m._buffers
        m.x = None  # stays a (now empty) module slot
        assert "x" in m._modules and m.x is None
        m.bias = None
        assert "bias" in m._parameters and m.bias is None
        del m.x, m.weight, m.bias
        assert dict(m.named_parameters()) == {} and "x" not in m._modules
        m.register_buffer("b", lib.ones(1), persistent=False)
        m.b = lib.zeros(2)  # re-assigning keeps it a non-persistent buffer
        assert "b" in m._non_persistent_buffers_set and "b" not in m.state_dict()
        del m.b
        assert "b" not in m._non_persistent_buffers_set


def test_buffer_class():
    for lib in LIBS:
        m = lib.nn.Module()
        m.a = lib.nn.Buffer(lib.ones(2))
        m.b = lib.nn.Buffer(lib.zeros(1), persistent=False)
        m.c = lib.ones(1)  # a plain tensor is a plain attribute
        assert isinstance(m.a, lib.nn.Buffer) and not isinstance(lib.ones(1), lib.nn.Buffer)
        assert isinstance(m.a, lib.Tensor)
        assert names(m.named_buffers()) == ["a", "b"] and list(m.state_dict()) == ["a"]
        assert "c" in m.__dict__


def test_dir_lists_members():
    ours = build_net(disttorch)
    d = dir(ours)
    assert {"embed", "blocks", "unused", "nothing", "forward", "training"} <= set(d)
    assert d == sorted(d)
    assert "0" not in dir(ours.blocks) and "fc" in dir(ours.blocks[0])


# -- repr ---------------------------------------------------------------------------------------------
def _repr_models(lib):
    nn = lib.nn

    class Multi(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(2, 2)

        def extra_repr(self):
            return "first line\nsecond line"

    class OneLine(nn.Module):
        def extra_repr(self):
            return "k=1"

    same = nn.Linear(2, 2)
    return [
        build_net(lib),
        nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.Identity(), nn.Linear(2, 2), nn.Linear(2, 2)]),
        nn.ModuleList([same, same, nn.Sequential(nn.Linear(1, 1), nn.Linear(1, 1))]),
        nn.ModuleList(),
        nn.Sequential(),
        nn.Sequential(nn.ModuleList([nn.Linear(3, 3)] * 4), Multi(), OneLine()),
        Multi(), OneLine(),
        nn.Flatten(), nn.Flatten(0, 2), nn.Unflatten(1, (2, 3)), nn.Unflatten(-1, [4, 1]),
        nn.ModuleDict({"b": nn.Linear(1, 2), "a": nn.Identity()}),
        nn.ParameterList([nn.Parameter(lib.ones(2, 3)), lib.zeros(4, dtype=lib.float64), "text"]),
        nn.ParameterDict({"w": nn.Parameter(lib.ones(2)), "z": lib.zeros(1, 2, dtype=lib.float64), "s": 3}),
        nn.ParameterList(),
    ]


def test_repr_matches_torch():
    for o, t in zip(_repr_models(disttorch), _repr_models(torch)):
        assert repr(o) == repr(t)


def test_parameter_basics():
    data = randn(2, 3)
    o, t = disttorch.nn.Parameter(disttorch.tensor(data)), torch.nn.Parameter(torch.tensor(data))
    assert repr(o) == repr(t)
    assert repr(disttorch.nn.Parameter(disttorch.ones(2), requires_grad=False)) == repr(
        torch.nn.Parameter(torch.ones(2), requires_grad=False))
    assert isinstance(o, disttorch.Tensor) and o.requires_grad and o.is_leaf
    assert disttorch.nn.Parameter().shape == torch.nn.Parameter().shape
    base = disttorch.ones(3)
    p = disttorch.nn.Parameter(base)
    assert np.shares_memory(p.numpy(force=True), base.numpy())  # shares storage with its data
    c = copy.deepcopy(p)
    assert type(c) is disttorch.nn.Parameter and c.requires_grad
    assert not np.shares_memory(c.numpy(force=True), base.numpy())
    q = pickle.loads(pickle.dumps(p))
    assert type(q) is disttorch.nn.Parameter and q.requires_grad
    assert_close(q.detach(), torch.ones(3))
    assert type(p * 2) is disttorch.Tensor  # results of ops are plain tensors


# -- state_dict ---------------------------------------------------------------------------------------
def test_state_dict_keys_and_metadata():
    ours, theirs = build_net(disttorch), build_net(torch)
    so, st = ours.state_dict(), theirs.state_dict()
    assert isinstance(so, OrderedDict)
    assert list(so) == list(st)
    assert dict(so._metadata) == dict(st._metadata)
    assert list(ours.state_dict(prefix="m.")) == list(theirs.state_dict(prefix="m."))
    assert all(not v.requires_grad for v in so.values())
    assert so["embed.weight"].requires_grad is False
    kv = ours.state_dict(keep_vars=True)
    assert kv["embed.weight"] is ours.embed.weight
    # detached tensors share storage with the module's
    assert np.shares_memory(so["embed.weight"].numpy(), ours.embed.weight.numpy(force=True))


def test_load_state_dict_roundtrip_and_dtype_cast():
    a, b = build_net(disttorch, shared=False), build_net(disttorch, shared=False)
    res = b.load_state_dict(a.state_dict())
    assert repr(res) == "<All keys matched successfully>"
    assert res.missing_keys == [] and res.unexpected_keys == []
    for (n, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=n)
    # a float64 checkpoint is cast into the float32 parameters in place (identity kept)
    w = b.embed.weight
    sd = {k: v.double() if v.is_floating_point() else v for k, v in a.state_dict().items()}
    b.load_state_dict(sd)
    assert b.embed.weight is w and w.dtype == disttorch.float32
    # 0-dim parameters load 1-element 1-dim checkpoints
    m = disttorch.nn.Module()
    m.s = disttorch.nn.Parameter(disttorch.tensor(1.0))
    m.load_state_dict({"s": disttorch.tensor([4.0])})
    assert m.s.item() == 4.0 and m.s.shape == ()


def _load_cases(lib, shared=False):
    nn = lib.nn
    net = build_net(lib, shared=shared)
    full = {k: v.clone() for k, v in build_net(lib, shared=shared).state_dict().items()}
    missing = {k: v for k, v in full.items() if not k.endswith("bias")}
    extra = dict(full, **{"zzz": lib.ones(1), "blocks.0.fc.zz": lib.ones(1), "head.nope.w": lib.ones(1)})
    bad = dict(full, **{"embed.weight": lib.ones(4, 3), "blocks.1.running": lib.ones(5)})
    both = dict(missing, **{"zzz": lib.ones(1), "embed.weight": lib.ones(2, 2)})
    wrong_type = dict(full, **{"embed.weight": np.ones((3, 4))})
    lin = nn.Linear(3, 3)
    return net, lin, [full, missing, extra, bad, both, wrong_type]


@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_results_and_errors_match_torch(strict):
    net_o, lin_o, cases_o = _load_cases(disttorch)
    net_t, lin_t, cases_t = _load_cases(torch)
    for i, (co, ct) in enumerate(zip(cases_o, cases_t)):
        before = {k: v.numpy().copy() for k, v in net_o.state_dict().items()}
        try:
            expected = ("ok", repr(net_t.load_state_dict(ct, strict=strict)))
        except RuntimeError as e:
            expected = ("err", str(e))
        try:
            got = ("ok", repr(net_o.load_state_dict(co, strict=strict)))
        except RuntimeError as e:
            got = ("err", str(e))
        assert got[0] == expected[0], (i, got, expected)
        # our dict types print as <class 'numpy.ndarray'> too; the tensor class name differs only by package
        assert got[1] == expected[1], (i, got, expected)
        if got[0] == "err":  # a failed load changes nothing
            for k, v in net_o.state_dict().items():
                np.testing.assert_array_equal(v.numpy(), before[k], err_msg=f"case {i}: {k}")
    # the exact messages from the brief
    with pytest.raises(RuntimeError) as e:
        lin_o.load_state_dict({"weight": disttorch.ones(3, 3)})
    assert str(e.value) == 'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". '
    with pytest.raises(RuntimeError, match=re.escape(
            "size mismatch for weight: copying a param with shape torch.Size([2, 3]) from checkpoint, the shape in "
            "current model is torch.Size([3, 3]).")):
        lin_o.load_state_dict({"weight": disttorch.ones(2, 3), "bias": disttorch.ones(3)})


def test_failed_load_leaves_module_unchanged():
    net = build_net(disttorch, shared=False)
    other = build_net(disttorch, shared=False)
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    sd = other.state_dict()
    sd["blocks.1.fc.weight"] = disttorch.ones(2, 2)  # one bad entry late in the order
    with pytest.raises(RuntimeError, match="size mismatch for blocks.1.fc.weight"):
        net.load_state_dict(sd)
    del sd["blocks.1.fc.weight"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "blocks.1.fc.weight"'):
        net.load_state_dict(sd)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)
    res = net.load_state_dict(sd, strict=False)  # non-strict: loads the rest, reports the gap
    assert res.missing_keys == ["blocks.1.fc.weight"]
    np.testing.assert_array_equal(net.embed.weight.detach().numpy(), other.embed.weight.detach().numpy())


def test_load_state_dict_assign():
    for lib in LIBS:
        m = lib.nn.Linear(2, 2)
        m.register_buffer("b", lib.zeros(2))
        w = lib.ones(2, 2)
        res = m.load_state_dict({"weight": w, "bias": lib.zeros(2), "b": lib.ones(2)}, assign=True)
        assert repr(res) == "<All keys matched successfully>"
        assert isinstance(m.weight, lib.nn.Parameter) and m.weight.requires_grad
        assert m.b.sum().item() == 2.0 and "b" in m._buffers


def test_load_from_state_dict_override_and_hooks():
    """A subclass can fill in a key (as BatchNorm does for num_batches_tracked) before the base class loads."""
    def make(lib):
        class WithCounter(lib.nn.Module):
            _version = 2

            def __init__(self):
                super().__init__()
                self.w = lib.nn.Parameter(lib.ones(2))
                self.register_buffer("num_batches_tracked", lib.tensor(5))

            def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing, unexpected, errs):
                version = local_metadata.get("version", None)
                if (version is None or version < 2) and prefix + "num_batches_tracked" not in state_dict:
                    state_dict[prefix + "num_batches_tracked"] = lib.tensor(0)
                super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing, unexpected, errs)

        return lib.nn.Sequential(WithCounter())

    calls = {}
    for lib in LIBS:
        m = make(lib)
        log = calls[lib.__name__] = []
        m.register_load_state_dict_pre_hook(lambda mod, sd, prefix, *a: log.append(("pre", type(mod).__name__,
                                                                                     prefix, sorted(sd))))
        m[0].register_load_state_dict_post_hook(lambda mod, keys: log.append(("post", repr(keys))))
        m.register_state_dict_pre_hook(lambda mod, prefix, keep: log.append(("sd_pre", prefix, keep)))
        m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: log.append(("sd_post", list(sd), meta)))
        res = m.load_state_dict({"0.w": lib.zeros(2)})  # an old checkpoint without metadata
        log.append(repr(res))
        log.append(m[0].num_batches_tracked.item())
        m.state_dict()
    assert calls["disttorch"] == calls["torch"]


def test_extra_state():
    def make(lib):
        class Stateful(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.value = 1

            def get_extra_state(self):
                return {"value": self.value}

            def set_extra_state(self, state):
                self.value = state["value"]

        return lib.nn.Sequential(Stateful())

    for lib in LIBS:
        m = make(lib)
        sd = m.state_dict()
        assert list(sd) == ["0._extra_state"]
        m[0].value = 7
        m.load_state_dict(sd)
        assert m[0].value == 1
        with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "0._extra_state"'):
            m.load_state_dict({})


def test_incompatible_keys_repr():
    from torch.nn.modules.module import _IncompatibleKeys as TK

    from disttorch.nn.modules.module import _IncompatibleKeys
    assert repr(_IncompatibleKeys(["a"], [])) == repr(TK(["a"], []))
    assert str(_IncompatibleKeys([], [])) == str(TK([], []))


# -- hooks --------------------------------------------------------------------------------------------
def _hook_run(lib):
    log = []
    lin = lib.nn.Linear(3, 2)
    seq = lib.nn.Sequential(lin, lib.nn.Identity())

    def pre(name, ret=None):
        def hook(mod, args):
            log.append((name, type(mod).__name__, [tuple(a.shape) for a in args]))
            return ret(args) if ret else None
        return hook

    def post(name, scale=None):
        def hook(mod, args, out):
            log.append((name, type(mod).__name__, tuple(out.shape)))
            return out * scale if scale else None
        return hook

    h1 = seq.register_forward_pre_hook(pre("seq_pre"))
    seq.register_forward_pre_hook(pre("seq_pre_first"), prepend=True)
    lin.register_forward_pre_hook(pre("lin_pre", lambda args: args[0] * 2))  # a single value becomes (value,)
    lin.register_forward_pre_hook(lambda m, args, kwargs: log.append(("kw_pre", sorted(kwargs))) or
                                  ((args[0] + 1,), kwargs), with_kwargs=True)
    lin.register_forward_hook(post("lin_post", 3.0))
    lin.register_forward_hook(lambda m, args, kwargs, out: log.append(("kw_post", len(args))), with_kwargs=True)
    h2 = seq.register_forward_hook(post("seq_post"))
    seq.register_forward_hook(post("seq_post_first"), prepend=True)
    x = lib.tensor(randn(4, 3, seed=1))
    out1 = seq(x)
    h1.remove()
    h2.remove()
    out2 = seq(x)
    return log, out1, out2, lin


def test_forward_hooks_order_and_results_match_torch():
    log_o, o1, o2, lin_o = _hook_run(disttorch)
    log_t, t1, t2, lin_t = _hook_run(torch)
    assert log_o == log_t
    # same weights => same outputs: sync and rerun the expected path by hand
    w, b = lin_o.weight.detach().numpy(), lin_o.bias.detach().numpy()
    x = randn(4, 3, seed=1)
    expected = ((x * 2 + 1) @ w.T + b) * 3
    np.testing.assert_allclose(o1.detach().numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(o2.detach().numpy(), expected, rtol=1e-5)
    assert tuple(t1.shape) == tuple(o1.shape)


def test_always_call_hook_and_bad_pre_hook():
    for lib in LIBS:
        log = []

        class Boom(lib.nn.Module):
            def forward(self, x):
                raise ValueError("boom")

        m = Boom()
        m.register_forward_hook(lambda mod, args, out: log.append(("always", out)), always_call=True)
        m.register_forward_hook(lambda mod, args, out: log.append("never"))
        with pytest.raises(ValueError, match="boom"):
            m(1)
        assert log == [("always", None)]
        m2 = lib.nn.Identity()
        m2.register_forward_pre_hook(lambda mod, args, kwargs: 5, with_kwargs=True)
        with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple of"):
            m2(lib.ones(1))


def test_global_forward_hooks():
    from torch.nn.modules import module as mod_t

    from disttorch.nn.modules import module as mod_o
    for lib, mod in ((disttorch, mod_o), (torch, mod_t)):
        seen = []
        h1 = mod.register_module_forward_pre_hook(lambda m, a: seen.append(("pre", type(m).__name__)))
        h2 = mod.register_module_forward_hook(lambda m, a, o: seen.append(("post", type(m).__name__)))
        try:
            lib.nn.Sequential(lib.nn.Identity())(lib.ones(1))
        finally:
            h1.remove()
            h2.remove()
        lib.nn.Identity()(lib.ones(1))
        assert seen == [("pre", "Sequential"), ("pre", "Identity"), ("post", "Identity"), ("post", "Sequential")]


def _backward_hook_run(lib, w, b, x_arr):
    log = []
    lin = lib.nn.Linear(3, 2)
    with lib.no_grad():
        lin.weight.data = lib.tensor(w)
        lin.bias.data = lib.tensor(b)

    def pre(mod, grad_out):
        log.append(("pre", [g.detach().numpy().copy() for g in grad_out]))
        return (grad_out[0] * 2,)

    def post(mod, grad_in, grad_out):
        log.append(("post", [g.detach().numpy().copy() if g is not None else None for g in grad_in],
                    [g.detach().numpy().copy() for g in grad_out]))
        return (grad_in[0] * 10,)

    lin.register_full_backward_pre_hook(pre)
    lin.register_full_backward_hook(post)
    x = lib.tensor(x_arr, requires_grad=True)
    y = lin(x)
    (y * lib.tensor(np.arange(8, dtype=np.float32).reshape(4, 2))).sum().backward()
    return log, x.grad.numpy(), lin.weight.grad.numpy()


def test_full_backward_hooks_match_torch():
    w, b, x = randn(2, 3, seed=1), randn(2, seed=2), randn(4, 3, seed=3)
    log_o, gx_o, gw_o = _backward_hook_run(disttorch, w, b, x)
    log_t, gx_t, gw_t = _backward_hook_run(torch, w, b, x)
    assert [e[0] for e in log_o] == [e[0] for e in log_t]
    for eo, et in zip(log_o, log_t):
        for vo, vt in zip(eo[1:], et[1:]):
            for a, c in zip(vo, vt):
                np.testing.assert_allclose(a, c, rtol=1e-5)
    np.testing.assert_allclose(gx_o, gx_t, rtol=1e-5)
    np.testing.assert_allclose(gw_o, gw_t, rtol=1e-5)


def test_full_backward_hook_without_input_grad():
    for lib in LIBS:
        seen = []
        lin = lib.nn.Linear(2, 2)
        lin.register_full_backward_hook(lambda m, gi, go: seen.append((gi, tuple(go[0].shape))))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lin(lib.ones(3, 2)).sum().backward()
        assert seen == [((None,), (3, 2))]


# -- modes and conversions ----------------------------------------------------------------------------
def test_train_eval_apply_requires_grad_zero_grad():
    for lib in LIBS:
        net = build_net(lib)
        assert net.eval() is net and not any(m.training for m in net.modules())
        net.blocks.train()
        assert net.blocks[0].fc.training and not net.training
        with pytest.raises(ValueError, match="training mode is expected to be boolean"):
            net.train("yes")
        order = []
        net.apply(lambda m: order.append(type(m).__name__))
        assert order[-1] == "Net" and order[0] == "Linear"
        assert net.requires_grad_(False) is net and not any(p.requires_grad for p in net.parameters())
        net.requires_grad_()
        net(lib.ones(2, 4)).sum().backward()
        net.zero_grad(set_to_none=False)
        assert all(p.grad is None or (p.grad == 0).all() for p in net.parameters())
        assert net.embed.weight.grad is not None
        net.zero_grad()
        assert all(p.grad is None for p in net.parameters())
    order_t, order_o = [], []
    build_net(torch).apply(lambda m: order_t.append(type(m).__name__))
    build_net(disttorch).apply(lambda m: order_o.append(type(m).__name__))
    assert order_o == order_t


@pytest.mark.parametrize("how", ["to_dtype", "double", "to_kw", "to_tensor", "half_then_float"])
def test_conversions_keep_parameter_identity(how):
    def convert(lib, net):
        if how == "to_dtype":
            return net.to(lib.float64)
        if how == "double":
            return net.double()
        if how == "to_kw":
            return net.to(device="cpu", dtype=lib.float64)
        if how == "to_tensor":
            return net.to(lib.zeros(1, dtype=lib.float64))
        return net.half().float()

    dtypes = {}
    for lib in LIBS:
        net = build_net(lib)
        params = list(net.parameters())
        net(lib.ones(2, 4)).sum().backward()
        assert convert(lib, net) is net
        assert all(a is b for a, b in zip(params, net.parameters()))
        dtypes[lib.__name__] = ([str(p.dtype) for p in net.parameters()], [str(b.dtype) for b in net.buffers()],
                                [str(p.grad.dtype) for p in net.parameters() if p.grad is not None])
    assert dtypes["disttorch"] == dtypes["torch"]
    assert "torch.int64" in dtypes["disttorch"][1]  # integer buffers keep their dtype


def test_optimizer_style_reference_survives_to():
    net = disttorch.nn.Linear(2, 2)
    held = [p for p in net.parameters()]
    net.to(disttorch.float64)
    out = net(disttorch.ones(1, 2, dtype=disttorch.float64)).sum()
    out.backward()
    assert held[0].grad is not None and held[0].grad.dtype == disttorch.float64
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point or complex dtypes"):
        net.to(disttorch.int32)
    assert net.cpu() is net and net.share_memory() is net and net.float() is net
    assert net.weight.dtype == disttorch.float32


def test_call_forward_and_missing_forward():
    for lib in LIBS:
        with pytest.raises(NotImplementedError, match=r'Module \[ModuleList\] is missing the required "forward"'):
            lib.nn.ModuleList()(lib.ones(1))


def test_deepcopy_and_pickle_keep_ties():
    nn = disttorch.nn
    net = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3), nn.Flatten())
    net[1].weight = net[0].weight
    net.alias = net[0]
    net[0].register_buffer("count", disttorch.tensor(3))
    net.register_forward_hook(_module_level_hook)
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert clone[1].weight is clone[0].weight
        assert clone.alias is clone[0]
        assert clone[0].weight is not net[0].weight
        assert names(clone.named_parameters()) == names(net.named_parameters())
        for (k, a), (_, b) in zip(clone.state_dict().items(), net.state_dict().items()):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
        assert len(clone._forward_hooks) == 1
    state = net.__dict__.copy()
    del state["_forward_pre_hooks"], state["_non_persistent_buffers_set"]
    fresh = object.__new__(type(net))
    fresh.__setstate__(state)
    assert fresh._forward_pre_hooks == OrderedDict() and fresh._non_persistent_buffers_set == set()


def _module_level_hook(mod, args, out):
    return None
