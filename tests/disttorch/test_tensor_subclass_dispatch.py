"""Tensor subclasses and the ``__torch_function__`` protocol, as PyTorch documents them ("Extending torch with a
Tensor-like type", "Subclassing torch.Tensor", torch.overrides): each scenario is written once, as a function of
the torch module, and runs on real PyTorch and on disttorch; the two reports (result types, values, gradients,
the functions a logging subclass saw) must agree."""
import math
import warnings

import numpy as np
import pytest

import disttorch

torch_ref = pytest.importorskip("torch")


def both(scenario, *args):
    """The scenario's report on PyTorch and on disttorch, which must agree (floats to 1e-6)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = scenario(torch_ref, *args)
        got = scenario(disttorch, *args)
    assert _same(got, expected), f"disttorch: {got}\ntorch:     {expected}"
    return got


def _same(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6) or (math.isnan(a) and math.isnan(b))
    return a == b


def kind(x):
    """A result's type, named the same on both libraries."""
    if isinstance(x, (tuple, list)):
        return [kind(v) for v in x]
    return type(x).__name__


# -- 1. the default __torch_function__ keeps the subclass ---------------------------------------------------------
def _subclass_types(torch):
    F = torch.nn.functional

    class MyT(torch.Tensor):
        pass

    x = torch.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]]).as_subclass(MyT)
    x.tag = "mine"
    plain = torch.ones(2, 3)
    results = {
        "operator": x + 1, "reflected": 2 * x, "with plain": plain - x, "matmul": x @ plain.t(), "neg": -x,
        "method": x.sum(), "method dim": x.mean(1), "torch fn": torch.add(x, plain), "torch.cat": torch.cat([plain, x]),
        "torch.stack": torch.stack([x, plain]), "F.relu": F.relu(x), "F.softmax": F.softmax(x, dim=1),
        "linalg": torch.linalg.norm(x), "index": x[0], "compare": x > 0, "T": x.T, "data": x.data,
        "detach": x.detach(), "clone": x.clone(), "to": x.to(torch.float64), "view": x.view(3, 2),
        "max(dim) values": x.max(1).values, "split": list(x.split(1)), "unbind": list(x.unbind(0)),
        "zeros_like": torch.zeros_like(x), "where": torch.where(x > 0, x, plain),
    }
    report = {name: kind(r) for name, r in results.items()}
    report["values"] = (x * 2 + 1).tolist()
    report["attribute carried"] = [hasattr(r, "tag") for r in (x + 1, x.sum(), x.clone())]
    report["non tensors"] = [kind(x.shape), kind(x.dtype), kind(x.tolist()), kind(x[0, 0].item()), kind(len(x))]
    return report


def test_results_of_a_subclass_are_of_the_subclass():
    report = both(_subclass_types)
    assert report["operator"] == "MyT" and report["non tensors"][0] == ["int", "int"]


def _inplace(torch):
    class MyT(torch.Tensor):
        pass

    x = torch.zeros(3).as_subclass(MyT)
    x.tag = 7
    out = [x.add_(1), x.mul_(3), x.clamp_(max=2.0), x.zero_()]
    x += 5
    return {"self": [r is x for r in out], "types": kind(out), "tag": x.tag, "values": x.tolist(), "iadd": kind(x)}


def test_inplace_ops_return_the_subclass_instance_itself():
    assert both(_inplace)["self"] == [True] * 4


def _hierarchy(torch):
    class Base(torch.Tensor):
        pass

    class Derived(Base):
        pass

    a = torch.ones(2).as_subclass(Base)
    b = torch.ones(2).as_subclass(Derived)
    plain = torch.ones(2)
    return {"b+a": kind(a + b), "a+b": kind(b + a), "plain+b": kind(plain + b), "cat": kind(torch.cat([a, plain, b])),
            "torch.mul(a, b)": kind(torch.mul(a, b))}


def test_the_most_derived_subclass_wins():
    assert set(both(_hierarchy).values()) == {"Derived"}


def _parameter(torch):
    class MyT(torch.Tensor):
        pass

    p = torch.nn.Parameter(torch.ones(3))
    lin = torch.nn.Linear(3, 2)
    x = torch.ones(4, 3).as_subclass(MyT)
    out = lin(x)
    out.sum().backward()
    return {"param ops": kind([p * 2, p.sum(), torch.add(p, 1), p[0]]), "linear on subclass": kind(out),
            "weight": kind(lin.weight), "weight.grad": kind(lin.weight.grad), "grad": lin.bias.grad.tolist()}


def test_parameter_ops_give_plain_tensors_and_layers_keep_the_input_subclass():
    report = both(_parameter)
    assert report["param ops"] == ["Tensor"] * 4 and report["linear on subclass"] == "MyT"


# -- 2. constructing subclass instances ---------------------------------------------------------------------------
def _construction(torch):
    class MyT(torch.Tensor):
        pass

    class Tagged(torch.Tensor):
        @staticmethod
        def __new__(cls, data, tag):
            return super().__new__(cls, data)

        def __init__(self, data, tag):
            self.tag = tag

    base = torch.tensor([1.0, 2.0])
    made = torch.Tensor._make_subclass(MyT, base, True)
    t = Tagged([1.0, 2.0], "t")
    viewed = base.as_subclass(MyT)
    viewed.add_(1)  # shares base's storage
    return {"ctor": kind(MyT([1.0, 2.0])), "ctor values": MyT([1.0, 2.0]).tolist(), "make_subclass": kind(made),
            "leaf": [made.is_leaf, made.requires_grad], "tagged": [kind(t), t.tag, t.tolist(), kind(t * 2)],
            "as_subclass shares": base.tolist(), "repr": repr(MyT([1.0, 2.0]))}


def test_subclass_construction_paths():
    report = both(_construction)
    assert report["repr"] == "MyT([1., 2.])"


class Pickled(disttorch.Tensor):  # (pickle finds classes by their module-level name)
    pass


class PickledRef(torch_ref.Tensor):
    pass


def _pickle_and_copy(torch, cls):
    import copy
    import pickle

    x = torch.tensor([1.0, 2.0]).as_subclass(cls)
    x.tag = 5
    back = pickle.loads(pickle.dumps(x))
    shallow = copy.copy(x)
    return {"pickle": [kind(back), back.tolist(), back.tag], "copy": [kind(shallow), shallow.tag]}


def test_pickle_and_copy_keep_the_subclass_and_its_attributes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got, expected = _pickle_and_copy(disttorch, Pickled), _pickle_and_copy(torch_ref, PickledRef)
    assert got["pickle"][0] == "Pickled" and expected["pickle"][0] == "PickledRef"
    for report in (got, expected):
        report["pickle"][0] = report["copy"][0] = "subclass"
    assert got == expected


def test_deepcopy_keeps_the_subclass_and_its_attributes():
    """(PyTorch refuses this one unless the subclass's new_empty gives the subclass; disttorch copies it.)"""
    import copy

    x = disttorch.tensor([3.0]).as_subclass(Pickled).requires_grad_()
    x.tag = [1]
    deep = copy.deepcopy(x)
    assert type(deep) is Pickled and deep.tag == [1] and deep.tag is not x.tag
    assert deep.requires_grad and deep.is_leaf and deep.tolist() == [3.0]


def test_as_subclass_refuses_a_non_tensor_class():
    with pytest.raises(TypeError):
        disttorch.ones(2).as_subclass(int)


# -- 3. autograd through subclasses -------------------------------------------------------------------------------
def _autograd(torch, dtype_name):
    dtype = getattr(torch, dtype_name)

    class MyT(torch.Tensor):
        pass

    data = torch.tensor([0.5, -1.5, 2.0], dtype=dtype)
    leaf = torch.Tensor._make_subclass(MyT, data, True)
    out = (leaf.sin() * leaf + leaf.exp().sum()).pow(2).mean()
    out.backward()
    source = torch.tensor([1.0, 2.0, 3.0], dtype=dtype, requires_grad=True)
    alias = source.as_subclass(MyT)
    (alias * alias).sum().backward()
    return {"out": kind(out), "leaf.grad": [kind(leaf.grad), leaf.grad.tolist()], "value": out.item(),
            "as_subclass": [alias.is_leaf, alias.grad_fn.name(), kind(source.grad), source.grad.tolist()],
            "result grad_fn": (leaf * 2).grad_fn.name()}


@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_autograd_through_subclasses(dtype_name):
    report = both(_autograd, dtype_name)
    assert report["leaf.grad"][0] == "Tensor"  # (autograd's gradient, not converted: PyTorch's nowrap)


def test_gradcheck_through_subclass_ops():
    class MyT(disttorch.Tensor):
        pass

    def fn(t):
        s = t.as_subclass(MyT)
        out = (s.sin() * s).sum(0) / (1 + s.exp().mean())
        assert type(out) is MyT
        return out.as_subclass(disttorch.Tensor)

    x = disttorch.randn(3, 2, dtype=disttorch.float64, requires_grad=True)
    assert disttorch.autograd.gradcheck(fn, (x,))


def test_subclass_on_every_device(device):
    class MyT(disttorch.Tensor):
        pass

    x = disttorch.tensor([1.0, 2.0, 3.0], device=device).as_subclass(MyT).requires_grad_()
    y = (x * x).sum()
    y.backward()
    assert type(y) is MyT and y.device == x.device
    assert type(x.grad) is disttorch.Tensor and x.grad.device == x.device
    np.testing.assert_allclose(x.grad.cpu().numpy(), [2.0, 4.0, 6.0])


# -- 4. overriding __torch_function__ ------------------------------------------------------------------------------
def canonical(torch, func):
    """Where a logged ``func`` lives, spelled the same for both libraries."""
    owner = getattr(func, "__self__", None)
    if getattr(func, "__name__", None) == "__get__" and owner is not None:
        for name in dir(torch.Tensor):
            if getattr(type(torch.Tensor), name, None) is None and vars_lookup(torch.Tensor, name) is owner:
                return f"Tensor.{name}.__get__"
    for name in dir(torch.Tensor):
        if getattr(torch.Tensor, name, None) is func:
            return f"Tensor.{name}"
    for prefix, ns in (("torch", torch), ("F", torch.nn.functional)):
        for name in dir(ns):
            if getattr(ns, name, None) is func:
                return f"{prefix}.{name}"
    return repr(func)


def vars_lookup(cls, name):
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return None


def _logging(torch):
    F = torch.nn.functional
    seen = []

    class LoggingTensor(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            seen.append(canonical(torch, func))
            return super().__torch_function__(func, types, args, kwargs or {})

    x = torch.tensor([1.0, 2.0]).as_subclass(LoggingTensor)
    log = {}
    for name, call in [("x + 1", lambda: x + 1), ("x * x", lambda: x * x), ("x.sum()", lambda: x.sum()),
                       ("torch.add", lambda: torch.add(x, 1)), ("F.relu", lambda: F.relu(x)),
                       ("x.T", lambda: x.T), ("x.shape", lambda: x.shape), ("x[0]", lambda: x[0]),
                       ("torch.mean", lambda: torch.mean(x)), ("x.exp_()", lambda: x.exp_())]:
        seen.clear()
        result = call()
        log[name] = (list(seen), kind(result))
    return log


def test_a_logging_subclass_sees_each_call_once():
    log = both(_logging)
    assert log["x + 1"] == (["Tensor.add"], "LoggingTensor")
    assert log["x.T"][0] == ["Tensor.T.__get__"]


def _handled(torch):
    HANDLED = {}

    class Special(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func in HANDLED:
                return HANDLED[func](*args, **kwargs)
            if not all(issubclass(t, (torch.Tensor, Special)) for t in types):
                return NotImplemented
            return super().__torch_function__(func, types, args, kwargs)

    HANDLED[torch.mean] = lambda x, *a, **k: "special mean"
    HANDLED[torch.Tensor.sum] = lambda x, *a, **k: "special sum"
    s = torch.ones(2).as_subclass(Special)
    with torch._C.DisableTorchFunctionSubclass():
        disabled = [kind(s + 1), kind(torch.add(s, 1)), kind(s.sum()), kind(torch.mean(s))]
    return {"mean": torch.mean(s), "sum": s.sum(), "other": kind(torch.exp(s)), "disabled": disabled,
            "after": kind(s * 2)}


def test_an_override_takes_over_the_functions_it_handles():
    report = both(_handled)
    assert report["disabled"] == ["Tensor"] * 4


def _scalar_tensor(torch):
    """PyTorch's docs example: a Tensor-like that is no Tensor."""
    HANDLED_FUNCTIONS = {}

    class ScalarTensor:
        def __init__(self, N, value):
            self._N = N
            self._value = value

        def tensor(self):
            return self._value * torch.eye(self._N)

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if kwargs is None:
                kwargs = {}
            if func not in HANDLED_FUNCTIONS or not all(issubclass(t, (torch.Tensor, ScalarTensor)) for t in types):
                return NotImplemented
            return HANDLED_FUNCTIONS[func](*args, **kwargs)

    def implements(torch_function):
        def decorator(func):
            HANDLED_FUNCTIONS[torch_function] = func
            return func
        return decorator

    @implements(torch.mean)
    def mean(input):
        return float(input._value) / input._N

    @implements(torch.add)
    def add(input, other):
        if isinstance(input, ScalarTensor) and isinstance(other, ScalarTensor) and input._N == other._N:
            return ScalarTensor(input._N, input._value + other._value)
        return torch.add(input.tensor() if isinstance(input, ScalarTensor) else input,
                         other.tensor() if isinstance(other, ScalarTensor) else other)

    d = ScalarTensor(5, 2)
    summed = torch.add(d, d)
    mixed = torch.add(d, torch.ones(5, 5))
    try:
        torch.exp(d)
        refused = None
    except TypeError as exc:
        refused = "Multiple dispatch failed for 'torch.exp'" in str(exc) and "ScalarTensor" in str(exc)
    return {"mean": torch.mean(d), "add": [kind(summed), summed._value], "mixed": [kind(mixed), mixed.sum().item()],
            "unhandled": refused, "tensor_like": [torch.overrides.is_tensor_like(d),
                                                  torch.overrides.is_tensor_like(torch.ones(1)),
                                                  torch.overrides.is_tensor_like(1.0)]}


def test_a_tensor_like_type_takes_over_torch_functions():
    import disttorch.overrides  # noqa: F401  (puts the dispatching functions in place for Tensor-likes)

    report = both(_scalar_tensor)
    assert report["mean"] == 0.4 and report["unhandled"] is True


def _overrides_helpers(torch):
    class MyT(torch.Tensor):
        pass

    def plus_one(x):
        if torch.overrides.has_torch_function((x,)):
            return torch.overrides.handle_torch_function(plus_one, (x,), x)
        return x + 1

    class Wrapper:
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return ("wrapped", func.__name__)

    sub = torch.ones(2).as_subclass(MyT)
    has = torch.overrides.has_torch_function
    return {"has": [has((torch.ones(1),)), has((torch.nn.Parameter(torch.ones(1)),)), has((sub,)), has((1, [sub])),
                    has((Wrapper(),))],
            "handled": [kind(plus_one(torch.ones(2))), kind(plus_one(sub)), plus_one(Wrapper())],
            "unary": torch.overrides.has_torch_function_unary(sub),
            "variadic": torch.overrides.has_torch_function_variadic(torch.ones(1), Wrapper())}


def test_overrides_helpers():
    report = both(_overrides_helpers)
    assert report["has"] == [False, False, True, False, True]


def _not_implemented_everywhere(torch):
    class A(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return NotImplemented

    a = torch.ones(2).as_subclass(A)
    outcomes = []
    for call in (lambda: torch.add(a, 1), lambda: a + 1, lambda: a.sum()):
        try:
            call()
            outcomes.append("ran")
        except TypeError as exc:
            outcomes.append(str(exc).split(";")[0].split(":")[0])
    return outcomes


def test_all_not_implemented_raises_type_error():
    assert both(_not_implemented_everywhere) == ["Multiple dispatch failed for 'torch.add'",
                                                 "unsupported operand type(s) for +",
                                                 "Multiple dispatch failed for 'torch.Tensor.sum'"]


def test_overridable_and_ignored_function_lists():
    from disttorch import overrides

    table = overrides.get_overridable_functions()
    assert disttorch.add in table[disttorch] and disttorch.nn.functional.relu in table[disttorch.nn.functional]
    assert disttorch.Tensor.add in table[disttorch.Tensor]
    assert disttorch.tensor in overrides.get_ignored_functions()
    assert overrides.is_tensor_method_or_property(disttorch.Tensor.add)
    assert overrides.is_tensor_method_or_property(disttorch.Tensor.T.__get__)
    assert not overrides.is_tensor_method_or_property(disttorch.add)


def test_the_plain_tensor_keeps_its_own_methods():
    """The protocol lives in subclasses: Tensor's own operators and methods are not replaced."""

    class MyT(disttorch.Tensor):
        pass

    assert "__mul__" not in vars(MyT) and MyT.__mul__ is not disttorch.Tensor.__mul__
    assert disttorch.nn.Parameter.__mul__ is disttorch.Tensor.__mul__
    assert type(disttorch.ones(2) * disttorch.ones(2)) is disttorch.Tensor


# -- 5. TorchFunctionMode ------------------------------------------------------------------------------------------
def _modes(torch):
    F = torch.nn.functional
    overrides = torch.overrides

    class Log(overrides.TorchFunctionMode):
        def __init__(self):
            self.seen = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            self.seen.append(func.__name__ if func.__name__ != "__get__" else "get")
            return func(*args, **(kwargs or {}))

    class Times10(overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            return out * 10 if func is torch.add or func is torch.Tensor.add else out

    class MyT(torch.Tensor):
        pass

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    sub = torch.ones(2).as_subclass(MyT)
    lin = torch.nn.Linear(2, 2)
    with Log() as log:
        depth = overrides._len_torch_function_stack()
        a = x * 2
        b = torch.add(a, 1)
        total = b.sum()
        F.relu(b)
        from_sub = sub + 1
        lin(x)
        assert x.shape == (2,)
        torch.zeros(2)
    with Times10():
        tens = [torch.add(torch.ones(1), 1).item(), (torch.ones(1) + 1).item(), torch.ones(1).add(1).item()]
        with Log() as inner:
            nested = torch.add(torch.ones(1), 1).item()
    total.backward()
    try:
        with Log():
            raise ValueError
    except ValueError:
        pass
    return {"seen": log.seen, "depth": [depth, overrides._len_torch_function_stack()], "sub": kind(from_sub),
            "values": [a.tolist(), total.item()], "grad": x.grad.tolist(), "times10": tens,
            "nested": [inner.seen, nested], "after": [kind(x * 2), torch.add(torch.ones(1), 1).item()]}


def test_torch_function_modes_see_every_call():
    report = both(_modes)
    assert report["seen"][:3] == ["mul", "add", "sum"] and report["times10"] == [20.0, 20.0, 20.0]


def test_a_mode_leaves_the_tensor_class_as_it_was():
    from disttorch import overrides

    before = {name: vars(disttorch.Tensor).get(name) for name in ("__mul__", "add", "T", "sum", "numpy")}

    class Nothing(overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    with Nothing():
        assert vars(disttorch.Tensor)["__mul__"] is not before["__mul__"]
        assert (disttorch.ones(2) * 3).tolist() == [3.0, 3.0]
    assert {name: vars(disttorch.Tensor).get(name) for name in before} == before


def test_pytorch_functions_refuse_disttorch_tensors_with_a_type_error():
    """Real PyTorch sees our Tensor as a Tensor-like (it has __torch_function__); its functions take none."""
    for call in (lambda: torch_ref.add(disttorch.ones(2), 1), lambda: torch_ref.ones(2).add(disttorch.ones(2)),
                 lambda: torch_ref.nn.functional.relu(disttorch.ones(2))):
        with pytest.raises(TypeError):
            call()
    assert torch_ref.as_tensor(disttorch.ones(2)).tolist() == [1.0, 1.0]  # (through the array protocol)


def _parameter_subclass_and_mixins(torch):
    seen = []

    class LoggedParameter(torch.nn.Parameter):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            seen.append(func.__name__)
            return super().__torch_function__(func, types, args, kwargs or {})

    class Doubling:
        def double(self):
            return self * 2

    class WithMixin(Doubling, torch.Tensor):
        pass

    class OwnAdd(torch.Tensor):
        def add(self, other):
            return super().add(other) * 0

    p = LoggedParameter(torch.ones(2))
    results = [p * 2, torch.add(p, 1)]
    m = torch.ones(2).as_subclass(WithMixin)
    o = torch.ones(2).as_subclass(OwnAdd)
    return {"parameter": [kind(p), kind(results), "mul" in seen, "add" in seen],
            "mixin": [kind(m.double()), kind(m + 1)], "own add": [kind(o.add(1)), o.add(1).tolist(), kind(o + 1)]}


def test_parameter_subclasses_and_mixins():
    report = both(_parameter_subclass_and_mixins)
    assert report["parameter"] == ["LoggedParameter", ["Tensor", "Tensor"], True, True]


def _transformer_activation(torch):
    F = torch.nn.functional
    return [torch.nn.TransformerEncoderLayer(8, 2).activation_relu_or_gelu,
            torch.nn.TransformerEncoderLayer(8, 2, activation=F.gelu).activation_relu_or_gelu,
            torch.nn.TransformerEncoderLayer(8, 2, activation=F.silu).activation_relu_or_gelu]


def test_functions_keep_their_identity_for_layers_once_dispatching():
    """``activation is F.relu`` (the encoder layer's fast path) holds for F.relu taken before the torch functions
    became dispatching ones (the default argument) and after."""
    assert disttorch.add is not disttorch.Tensor.add and hasattr(disttorch.add, "__wrapped__")  # (dispatching now)
    assert both(_transformer_activation) == [1, 2, 0]
