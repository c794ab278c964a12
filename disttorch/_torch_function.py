"""The ``__torch_function__`` protocol: Tensor subclasses and Tensor-like types take over torch functions.

PyTorch's semantics (torch/overrides.py): a torch function, Tensor method or property called with an argument
whose type defines ``__torch_function__`` (a Tensor subclass, or any class: a "Tensor-like") calls that
``__torch_function__(func, types, args, kwargs)`` instead, subclasses before their parents, until one does not
return ``NotImplemented``. ``Tensor.__torch_function__`` (the default) runs the function with the protocol off
(``DisableTorchFunctionSubclass``) and turns Tensor results into the most derived subclass among the arguments,
so that ``MyTensor`` ops give ``MyTensor``. ``nn.Parameter`` opts out (``_disabled_torch_function_impl``).

The plain Tensor pays nothing:

- methods, operators and properties: a subclass gets the dispatching versions from a hidden base class,
  ``_Dispatching``, put between it and ``Tensor`` when it is created (``Tensor.__init_subclass__``); ``Tensor``'s
  own methods are untouched.
- functions (``torch.*``, ``torch.nn.functional.*``, ``torch.linalg``, ``torch.special``, ``torch.fft``): the
  namespaces get dispatching wrappers once a subclass with an active ``__torch_function__`` is defined or
  ``disttorch.overrides`` is imported (``activate()``); until then the functions are the bare ones. A name bound
  before that (``from torch import add``) keeps the bare function.
- ``TorchFunctionMode``: while one is entered, Tensor's methods are swapped for stand-ins that consult the
  thread's mode stack, and put back at the last exit.
"""
from __future__ import annotations

import functools
import threading
import types as _types
from typing import Any, Callable, Iterable

from disttorch._device import device as _device
from disttorch._dtype import dtype as _dtype
from disttorch._tensor import Size, Tensor

_state = threading.local()  # .off: how many DisableTorchFunction(Subclass) blocks this thread is in


def _disabled_torch_function_impl(func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
    """``__torch_function__ = _disabled_torch_function_impl``: instances of the class take no part in the
    protocol (``nn.Parameter``'s results are plain Tensors)."""
    with DisableTorchFunctionSubclass():
        return func(*args, **(kwargs or {}))


class DisableTorchFunctionSubclass:
    """``torch._C.DisableTorchFunctionSubclass()``: inside the block, torch functions ignore the
    ``__torch_function__`` of their arguments (what ``Tensor.__torch_function__`` runs the function under)."""

    def __enter__(self) -> DisableTorchFunctionSubclass:
        _state.off = getattr(_state, "off", 0) + 1
        return self

    def __exit__(self, *exc: Any) -> None:
        _state.off -= 1


DisableTorchFunction = DisableTorchFunctionSubclass  # no TorchFunctionMode here: the two are one


def is_torch_function_enabled() -> bool:
    return not getattr(_state, "off", 0)


# -- which arguments take over --------------------------------------------------------------------------------
_PLAIN = {Tensor, int, float, bool, complex, str, type(None), _dtype, _device, Size, slice, type(Ellipsis)}


def _active(t: type) -> bool:
    """Whether instances of ``t`` take part in the protocol."""
    if t in _PLAIN:
        return False
    tf = getattr(t, "__torch_function__", None)
    return tf is not None and tf is not _disabled_torch_function_impl


def _add(found: list, arg: Any) -> None:
    t = type(arg)
    if not _active(t):
        return
    for other in found:
        if type(other) is t:
            return
    for i, other in enumerate(found):  # a subclass goes before its parents
        if issubclass(t, type(other)):
            found.insert(i, arg)
            return
    found.append(arg)


def overloaded_args(relevant: Iterable[Any], sequences: bool = True) -> list:
    """The arguments whose ``__torch_function__`` is tried, in order; with ``sequences``, lists and tuples are
    looked into one level (tensor lists, as ``torch.cat``'s)."""
    found: list = []
    for arg in relevant:
        t = type(arg)
        if t is Tensor or t in _PLAIN:
            continue
        if sequences and (t is list or t is tuple):
            for item in arg:
                _add(found, item)
        else:
            _add(found, arg)
    return found


def handle(func: Any, relevant: Iterable[Any], args: tuple, kwargs: dict) -> Any:
    """Call the ``__torch_function__`` of this thread's innermost TorchFunctionMode, then those of the
    overloaded arguments among ``relevant`` in turn."""
    found = overloaded_args(relevant)
    modes = getattr(_state, "modes", None)
    if modes:
        mode = modes.pop()  # (the mode's own calls go to the modes under it, as in PyTorch)
        try:
            result = mode.__torch_function__(func, tuple(type(a) for a in found), args, kwargs)
        finally:
            modes.append(mode)
        if result is not NotImplemented:
            return result
    if not found:
        with DisableTorchFunctionSubclass():
            return func(*args, **kwargs)
    return call_overrides(func, found, args, kwargs)


def call_overrides(func: Any, found: list, args: tuple, kwargs: dict) -> Any:
    types = tuple(type(a) for a in found)
    for arg in found:
        result = arg.__torch_function__(func, types, args, kwargs)
        if result is not NotImplemented:
            return result
    listed = "".join(f"  - tensor subclass {t}\n" for t in types)
    raise TypeError(f"Multiple dispatch failed for '{public_name(func)}'; all __torch_function__ handlers returned "
                    f"NotImplemented:\n\n{listed}\nFor more information, try re-running with "
                    f"TORCH_LOGS=not_implemented")


def public_name(func: Any) -> str:
    """``torch.add``, ``torch.nn.functional.relu``, ``torch.Tensor.sum``: the name PyTorch's messages use."""
    name = getattr(func, "__torch_name__", None)
    if name is not None:
        return name
    if getattr(func, "__name__", None) == "__get__" and isinstance(getattr(func, "__self__", None), property):
        for key, value in _tensor_attributes().items():
            if value is func.__self__:
                return f"torch.Tensor.{key}.__get__"
    for key, value in _tensor_attributes().items():
        if value is func:
            return f"torch.Tensor.{key}"
    return f"{getattr(func, '__module__', None) or 'torch'}.{getattr(func, '__qualname__', repr(func))}"


# -- torch.overrides' helpers (also in torch.nn.functional) ----------------------------------------------------
def has_torch_function(relevant_args: Iterable[Any]) -> bool:
    """Whether any of ``relevant_args`` takes over through ``__torch_function__`` (a plain Tensor and
    ``nn.Parameter`` do not; sequences are not looked into)."""
    return is_torch_function_enabled() and bool(overloaded_args(relevant_args, sequences=False))


def has_torch_function_unary(arg: Any) -> bool:
    return has_torch_function((arg,))


def has_torch_function_variadic(*args: Any) -> bool:
    return has_torch_function(args)


def handle_torch_function(public_api: Callable, relevant_args: Iterable[Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``__torch_function__(public_api, types, args, kwargs)`` of the overloaded arguments among
    ``relevant_args``, subclasses first, until one does not return ``NotImplemented``."""
    return call_overrides(public_api, overloaded_args(relevant_args, sequences=False), args, kwargs)


# -- the default, Tensor.__torch_function__ --------------------------------------------------------------------
def default_torch_function(cls: type, func: Any, types: tuple, args: tuple = (), kwargs: dict | None = None) -> Any:
    if kwargs is None:
        kwargs = {}
    if not all(issubclass(cls, t) for t in types) or _pytorch_function(func):
        return NotImplemented
    with DisableTorchFunctionSubclass():
        result = func(*args, **kwargs)
        if getattr(func, "__self__", None) in _NOWRAP:
            return result
        return convert(result, cls)


def _pytorch_function(func: Any) -> bool:
    """Whether ``func`` is real PyTorch's (which then sees our Tensor as a Tensor-like; it takes none of ours)."""
    module = getattr(func, "__module__", None) or getattr(getattr(func, "__objclass__", None), "__module__", None)
    return module is not None and (module == "torch" or module.startswith("torch."))


def convert(result: Any, cls: type) -> Any:
    """Tensor results (also inside tuples and lists) as instances of ``cls``."""
    if cls is Tensor:
        return result
    if isinstance(result, Tensor):
        return result if isinstance(result, cls) else result.as_subclass(cls)
    if isinstance(result, (tuple, list)):
        items = [convert(r, cls) for r in result]
        kind = type(result)
        if kind is tuple or kind is list:
            return kind(items)
        return kind._make(items) if hasattr(kind, "_make") else kind(items)  # namedtuple, return_types
    return result


# getters whose results stay as they are (as PyTorch: a subclass's .grad is what autograd put there)
_NOWRAP = {Tensor.__dict__["grad"]}


# -- the dispatching methods of subclasses ---------------------------------------------------------------------
# Tensor methods the protocol leaves alone (PyTorch's ignored ones, and the object machinery)
_SKIP = frozenset({
    "__init__", "__new__", "__init_subclass__", "__torch_function__", "__getattribute__", "__getattr__",
    "__setattr__", "__delattr__", "__dir__", "__class__", "__sizeof__", "__subclasshook__", "__hash__",
    "__iter__", "__reduce__", "__reduce_ex__", "__getstate__", "__setstate__", "__deepcopy__", "__copy__",
    "__array__", "__array_wrap__", "__array_priority__", "__dlpack__", "__dlpack_device__", "__weakref__",
    "__cuda_array_interface__", "__array_interface__", "__class_getitem__", "__format__",
    "as_subclass", "_make_subclass",
})


def _dispatching_method(public: Callable, operator: bool = False, name: str | None = None) -> Callable:
    """The subclass's version of a Tensor method: ``func`` is ``Tensor.<name>`` as it is at the call (a
    TorchFunctionMode swaps Tensor's methods)."""
    name = name or public.__name__

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_state, "off", 0):
            return public(self, *args, **kwargs)
        func = public if not _modes_on[0] else getattr(Tensor, name)
        return handle(func, (self, *args, *kwargs.values()), (self, *args), kwargs)

    def binary_operator(self: Any, other: Any) -> Any:
        try:
            return method(self, other)
        except TypeError:  # as PyTorch: Python then tries the other operand, or says the operand types
            return NotImplemented

    wrapper = binary_operator if operator else method
    functools.update_wrapper(wrapper, public)
    return wrapper


# binary operators whose TypeError becomes NotImplemented (PyTorch's _wrap_type_error_to_not_implemented)
_BINARY_OPERATORS = frozenset(
    f"__{p}{op}__" for op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
                              "xor", "lshift", "rshift") for p in ("", "r"))


def _dispatching_property(prop: property, name: str) -> property:
    getter = prop.fget

    def get(self: Any) -> Any:
        if getattr(_state, "off", 0):
            return getter(self)
        func = prop.__get__ if not _modes_on[0] else Tensor.__dict__.get(name, prop).__get__
        return handle(func, (self,), (self,), {})

    return property(get, prop.fset, prop.fdel, prop.__doc__)


def _tensor_attributes() -> dict:
    """Tensor's public methods, operators and properties, by name (the nearest definition in its MRO)."""
    table: dict = {}
    for klass in reversed(Tensor.__mro__[:-1]):
        for name, value in vars(klass).items():
            if name in _SKIP or (name.startswith("_") and not (name.startswith("__") and name.endswith("__"))):
                continue
            if name in _swapped:  # (a TorchFunctionMode's stand-in: the Tensor method is the one it saved)
                table[name] = _swapped[name][1]
            elif isinstance(value, (_types.FunctionType, property)):
                table[name] = value
            else:
                table.pop(name, None)
    return table


# operators whose ``func`` is the named method, as in PyTorch (``x + y`` hands over ``Tensor.add``)
_OPERATOR_FUNCS = {
    "__add__": "add", "__radd__": "add", "__sub__": "sub", "__mul__": "mul", "__rmul__": "mul",
    "__truediv__": "div", "__mod__": "remainder", "__pow__": "pow", "__matmul__": "matmul", "__ne__": "ne",
    "__lt__": "lt", "__le__": "le", "__gt__": "gt", "__ge__": "ge", "__neg__": "neg", "__pos__": "positive",
    "__abs__": "abs", "__iadd__": "add_", "__isub__": "sub_", "__imul__": "mul_", "__itruediv__": "div_",
    "__rand__": "bitwise_and", "__ror__": "bitwise_or", "__rxor__": "bitwise_xor",
}


def _fill(target: type, skip_defined: tuple = ()) -> None:
    table = _tensor_attributes()
    for name, value in table.items():
        if name in target.__dict__ or any(name in vars(k) for k in skip_defined):
            continue
        if isinstance(value, property):
            attr = _dispatching_property(value, name)
        else:
            mapped = _OPERATOR_FUNCS.get(name, name)
            attr = _dispatching_method(table.get(mapped, value), name in _BINARY_OPERATORS, mapped)
            attr.__name__ = name
        setattr(target, name, attr)


class _Dispatching(Tensor, _internal=True):
    """Hidden base of Tensor subclasses that take part in the protocol: Tensor's methods, operators and
    properties, each handing over to ``__torch_function__``."""

    __slots__ = ()
    __hash__ = Tensor.__hash__


_lock = threading.RLock()


def adopt(cls: type) -> None:
    """Called for every new Tensor subclass: put the dispatching methods under it, and the dispatching
    functions into the torch namespaces, when its ``__torch_function__`` is active."""
    if not _active(cls):
        if getattr(cls, "__torch_function__", None) is _disabled_torch_function_impl:
            _PLAIN.add(cls)  # (nn.Parameter: the functions' fast path takes it as a plain Tensor)
        return
    if issubclass(cls, _Dispatching):
        activate()
        return
    with _lock:
        _fill(_Dispatching)  # (again for each subclass: methods attached to Tensor since the last one)
    if Tensor in cls.__bases__:
        try:
            cls.__bases__ = tuple(_Dispatching if b is Tensor else b for b in cls.__bases__)
        except TypeError:
            _own_methods(cls)
    else:  # a subclass of a class that opted out (nn.Parameter): the methods go into the class itself
        _own_methods(cls)
    activate()


def _own_methods(cls: type) -> None:
    mro = cls.__mro__
    _fill(cls, skip_defined=mro[:mro.index(Tensor)])  # what the class and its other bases define stays theirs


# -- the dispatching functions of the torch namespaces ---------------------------------------------------------
# PyTorch's functions that ignore __torch_function__ (torch.overrides.get_ignored_functions), by namespace
_IGNORED = {
    "disttorch": frozenset("""
        arange are_deterministic_algorithms_enabled as_strided as_tensor asarray autocast_decrement_nesting
        autocast_increment_nesting bartlett_window blackman_window broadcast_shapes can_cast clear_autocast_cache
        compile cond empty empty_permuted empty_strided eye fill from_file from_numpy frombuffer full
        get_autocast_cpu_dtype get_autocast_dtype get_autocast_gpu_dtype get_default_device get_default_dtype
        get_deterministic_debug_mode get_device_module get_float32_matmul_precision get_num_interop_threads
        get_num_threads get_rng_state hamming_window hann_window init_num_threads initial_seed
        is_anomaly_check_nan_enabled is_anomaly_enabled is_autocast_cache_enabled is_autocast_cpu_enabled
        is_autocast_enabled is_deterministic_algorithms_warn_only_enabled is_grad_enabled
        is_inference_mode_enabled is_storage is_tensor is_warn_always_enabled kaiser_window linspace load
        logspace manual_seed normal ones promote_types rand rand_like randint randint_like randn randn_like
        randperm range result_type save scalar_tensor seed set_anomaly_enabled set_autocast_cache_enabled
        set_autocast_cpu_dtype set_autocast_cpu_enabled set_autocast_dtype set_autocast_enabled
        set_autocast_gpu_dtype set_default_device set_default_tensor_type set_deterministic_debug_mode
        set_float32_matmul_precision set_flush_denormal set_num_interop_threads set_num_threads
        set_printoptions set_rng_state set_warn_always tensor thread_safe_generator tril_indices triu_indices
        typename use_deterministic_algorithms vander vmap zeros""".split()),
    "disttorch.nn.functional": frozenset("hardsigmoid hardswish sigmoid tanh upsample upsample_bilinear "
                                         "upsample_nearest".split()),
    "disttorch.fft": frozenset({"fftfreq", "rfftfreq"}),
}
# those of them a TorchFunctionMode still sees (PyTorch's factories)
_MODES_ONLY = frozenset("""
    arange as_strided as_tensor asarray bartlett_window blackman_window can_cast empty empty_permuted empty_strided
    eye fill full hamming_window hann_window kaiser_window linspace logspace normal ones promote_types rand
    rand_like randint randint_like randn randn_like randperm result_type scalar_tensor tensor tril_indices
    triu_indices vander zeros""".split())
_NAMESPACES = ("disttorch", "disttorch.nn.functional", "disttorch.linalg", "disttorch.special", "disttorch.fft")


def dispatching_function(fn: Callable) -> Callable:
    """``fn`` behind the protocol: plain arguments go straight to it."""
    plain = _PLAIN  # (a list or tuple argument, not in it, is looked into on the slow path)
    modes_on = _modes_on

    def public(*args: Any, **kwargs: Any) -> Any:
        if not modes_on[0]:
            for a in args:
                if type(a) not in plain:
                    break
            else:
                if not kwargs:
                    return fn(*args, **kwargs)
        if getattr(_state, "off", 0):
            return fn(*args, **kwargs)
        relevant = (*args, *kwargs.values())
        if not getattr(_state, "modes", None) and not overloaded_args(relevant):
            return fn(*args, **kwargs)
        return handle(public, relevant, args, kwargs)

    functools.update_wrapper(public, fn)
    public.__torch_function_dispatch__ = True
    return public


def bare(fn: Any) -> Any:
    """The function behind a dispatching wrapper (else ``fn``): identity checks such as ``activation is F.relu``
    hold whether ``fn`` was taken before or after ``activate()``."""
    return fn.__wrapped__ if hasattr(fn, "__torch_function_dispatch__") else fn


def modes_only_function(fn: Callable) -> Callable:
    """``fn`` (a function that ignores its arguments' ``__torch_function__``) as TorchFunctionModes see it."""
    modes_on = _modes_on

    def public(*args: Any, **kwargs: Any) -> Any:
        if not modes_on[0] or getattr(_state, "off", 0) or not getattr(_state, "modes", None):
            return fn(*args, **kwargs)
        return handle(public, (), args, kwargs)

    functools.update_wrapper(public, fn)
    public.__torch_function_dispatch__ = False
    return public


_active_namespaces = [False]


def activate() -> None:
    """Put the dispatching functions into the torch namespaces (once)."""
    if _active_namespaces[0]:
        return
    import sys

    with _lock:
        if _active_namespaces[0]:
            return
        for ns_name in _NAMESPACES:
            ns = sys.modules.get(ns_name)
            if ns is None:
                continue
            ignored = _IGNORED.get(ns_name, frozenset())
            table = vars(ns)
            for name, value in list(table.items()):
                if (type(value) is not _types.FunctionType or name.startswith("_") or value.__module__ == __name__
                        or hasattr(value, "__torch_function_dispatch__")):
                    continue
                if name in ignored and not (ns_name == "disttorch" and name in _MODES_ONLY):
                    continue
                wrapper = _dispatching_public.get(value)
                if wrapper is None:
                    make = modes_only_function if name in ignored else dispatching_function
                    wrapper = _dispatching_public[value] = make(value)
                    wrapper.__torch_name__ = f"torch{ns_name[len('disttorch'):]}.{name}"
                table[name] = wrapper
        _active_namespaces[0] = True


_dispatching_public: dict = {}  # bare function -> its dispatching wrapper (one per function, shared by aliases)



# -- TorchFunctionMode's state (the mode stack and the stand-ins live in _torch_function_modes.py) --------------
_modes_on = [0]  # modes entered, all threads together
_swapped: dict = {}  # while a mode is entered: Tensor attribute name -> (whether Tensor itself held it, original)
