"""Graph nodes. A node is created by an op when any input requires grad; it holds the edges to
the nodes of its inputs and whatever backward needs. Built-in ops subclass ``Op``: ``forward``
on raw arrays (fast, no graph), ``backward`` on Tensors (so double backward works)."""
from __future__ import annotations

import itertools
import sys
import traceback
import weakref
from typing import Any, Callable

import numpy as np

from disttorch._oom import raise_if_cupy_oom
from disttorch._shapes import broadcast_shape
from disttorch.backends import backend_for_array
from disttorch.backends.registry import off_device_guard

from . import grad_mode

_seq = itertools.count()
_grad_enabled = grad_mode._enabled

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they "
    "have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)

anomaly = [False, True]  # [detection enabled, check_nan]
saved_hooks: list = []  # (pack_hook, unpack_hook) pairs of the active saved_tensors_hooks blocks (saved_tensors.py)


def plain_backward(grad: Any) -> bool:
    """Whether a backward may compute on ``grad``'s raw host array and wrap the result: no graph of the
    gradient is wanted (``create_graph=False``: the engine runs backward with grad mode off) and the array is
    numpy's (a device array goes through the ops, which run on its device)."""
    return not _grad_enabled[0] and type(grad._data) is np.ndarray


class RemovableHandle:
    """Returned by register_*hook; ``remove()`` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, store: dict) -> None:
        self.id = next(RemovableHandle._ids)
        self._store = weakref.ref(store) if not isinstance(store, dict) else store

    def remove(self) -> None:
        self._store.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


class Node:
    """A step of the backward graph. ``next_edges[i]`` is where the gradient of input i goes:
    ``(node, input_nr, shape, np_dtype)`` or None when input i needs no gradient."""

    __slots__ = ("next_edges", "seq", "__weakref__", "__dict__")
    pre_hooks: dict | None = None  # set per instance only when a hook is registered
    post_hooks: dict | None = None
    _out_meta: tuple | None = None  # ((shape, dtype), ...) of a node with several outputs
    _sink = False  # AccumulateGrad: the engine accumulates instead of calling backward
    trace: list | None = None  # forward stack, recorded under anomaly detection

    _default_name = "NodeBackward0"
    _forward_name = "Node"  # the class's own name: the forward op (the profiler's op name reads it)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # PyTorch's node classes are named as their nodes print (``type(y.grad_fn).__name__ == "MulBackward0"``,
        # which graph viewers show): a class whose name() is fixed takes that name; one whose name depends on
        # the call (``PowBackward0`` / ``PowBackward1``) keeps its own
        super().__init_subclass__(**kwargs)
        cls._forward_name = cls.__name__
        cls._default_name = cls.__name__ + "Backward0"
        fixed = _fixed_name(cls)
        if fixed is not None:
            cls.__name__ = fixed
        cls._call_named = fixed is None and "_call_named" not in cls.__dict__

    def name(self) -> str:
        return self._default_name

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    @property
    def next_functions(self) -> tuple:
        for e in self.next_edges:
            if e is not None and e[0]._call_named:
                name_class(e[0])
        return tuple((e[0], e[1]) if e is not None else (None, 0) for e in self.next_edges)

    @property
    def metadata(self) -> dict:
        """A dict for the user's own annotations of this node."""
        meta = self.__dict__.get("_metadata")
        if meta is None:
            meta = self.__dict__["_metadata"] = {}
        return meta

    def backward(self, *grads: Any) -> Any:
        raise NotImplementedError(f"{self.name()} has no backward")

    # PyTorch's ``_saved_<name>`` / ``_raw_saved_<name>``: looked up only when no attribute has the name
    saved_names: dict | None = None  # name -> input number, -1 (the output), (input, transform) or fn(node)

    def saved_spec(self) -> dict:
        """What ``_saved_<name>`` reads, by name (``saved_names``, else ``self`` / ``result`` as saved)."""
        names = type(self).saved_names
        if names is not None:
            return names
        spec = {}
        if getattr(self, "save_inputs", False):
            spec["self"] = 0
        if getattr(self, "save_output", False):
            spec["result"] = -1
        return spec

    def __getattr__(self, name: str) -> Any:
        if name.startswith(("_saved_", "_raw_saved_")) and name not in ("_saved_in", "_saved_out"):
            from .saved_tensors import saved_attribute

            return saved_attribute(self, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __dir__(self) -> list:
        names = set(super().__dir__()) - {"_saved_in", "_saved_out"}  # (internal slots, not PyTorch's names)
        for key, spec in self.saved_spec().items():
            names.add("_saved_" + key)
            if isinstance(spec, (int, tuple)):
                names.add("_raw_saved_" + key)
        return sorted(names)

    def release(self) -> None:
        """Free what was saved for backward (called after backward unless retain_graph)."""

    def register_hook(self, fn: Callable) -> RemovableHandle:
        """fn(grad_inputs, grad_outputs) after this node ran; may return new grad_inputs."""
        if getattr(self, "post_hooks", None) is None:
            self.post_hooks = {}
        handle = RemovableHandle(self.post_hooks)
        self.post_hooks[handle.id] = fn
        return handle

    def register_prehook(self, fn: Callable) -> RemovableHandle:
        """fn(grad_outputs) before this node runs; may return new grad_outputs."""
        return self._add_pre_hook(-1, fn)

    def _add_pre_hook(self, output_nr: int, fn: Callable) -> RemovableHandle:
        """Hooks keyed by output number; -1 holds node-level prehooks taking all grads."""
        if getattr(self, "pre_hooks", None) is None:
            self.pre_hooks = {}
        hooks = self.pre_hooks.setdefault(output_nr, {})
        handle = RemovableHandle(hooks)
        hooks[handle.id] = fn
        return handle


def _fixed_name(cls: type) -> str | None:
    """What every node of ``cls`` is named, when its ``name()`` reads nothing from the node (None otherwise)."""
    fn = cls.name
    if fn is Node.name:
        return cls._default_name
    code = getattr(fn, "__code__", None)
    if code is None or code.co_names or code.co_argcount != 1:
        return None
    try:
        value = fn(None)
    except Exception:
        return None
    return value if isinstance(value, str) and value.isidentifier() else None


_named_classes: dict = {}  # (class, name) -> its subclass of that name


def name_class(node: Node) -> None:
    """Give a node whose name depends on the call a subclass of that name, so that ``type(node).__name__`` reads as
    PyTorch's; done when the node is handed to the user (``Tensor.grad_fn``, ``next_functions``), not per op."""
    cls = type(node)
    try:
        name = node.name()
    except Exception:
        return
    if name == cls.__name__ or not name.isidentifier():
        return
    sub = _named_classes.get((cls, name))
    if sub is None:
        sub = type(name, (cls,), {"__slots__": (), "_call_named": False, "__module__": cls.__module__,
                                  "__qualname__": f"{cls.__qualname__}.{name}"})
        sub._forward_name = cls._forward_name
        _named_classes[(cls, name)] = sub
    node.__class__ = sub


class AccumulateGrad(Node):
    """Sink of a leaf: adds the incoming gradient into ``variable.grad`` and fires the leaf's
    post-accumulate-grad hooks as soon as every contribution for this backward is in."""

    _sink = True

    def __init__(self, variable: Any) -> None:
        self.variable_ref = weakref.ref(variable)
        self.next_edges = ()
        self.seq = 2**62  # sinks run as soon as they are ready

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"

    @property
    def variable(self) -> Any:
        return self.variable_ref()

    def accumulate(self, grad: Any, create_graph: bool) -> None:
        if type(grad._data) is not np.ndarray:
            guard = off_device_guard(grad._data)
            if guard is not None:  # the leaf lives on a device that is not the current one: accumulate there
                with guard:
                    return self.accumulate(grad, create_graph)
        var = self.variable_ref()
        if var is None:
            return
        if grad._data.shape != var._data.shape:
            raise RuntimeError(f"AccumulateGrad: gradient of shape {list(grad.shape)} for a leaf of shape "
                               f"{list(var.shape)}")
        if var._extra and var._extra.get("grad_dtype") is not None:  # Tensor.grad_dtype (see _ops/grad_dtype.py)
            want = var._extra["grad_dtype"]
            if grad.dtype != want:
                grad = grad.to(want)
        old = var._grad
        if old is None:
            # copy unless the graph must be kept (the incoming gradient may alias another leaf's), or
            # unless nothing else can reach its array: then take it over, as PyTorch steals a sole gradient
            if create_graph:
                var._grad = grad
            elif sys.getrefcount(grad) <= _SOLE_ARG and _sole_array(grad._data):
                var._grad = _TENSOR_FROM_ARRAY(grad._data)
            else:
                var._grad = grad._detached_copy()
        elif create_graph or old._requires_grad:
            var._grad = old + grad
        else:
            old._inplace_accumulate(grad)
        hooks = var._extra and var._extra.get("post_acc_hooks")
        if hooks:
            for hook in list(hooks.values()):
                hook(var)


def _sole_array(arr: Any) -> bool:
    """Whether ``arr`` is a writable C-contiguous array that owns its memory and is referenced only by the one
    tensor that holds it (no other tensor, view or user variable can see its values)."""
    if sys.getrefcount(arr) > _SOLE_SLOT or arr.base is not None:  # (before .flags, which holds a reference)
        return False
    flags = arr.flags
    return flags.owndata and flags.c_contiguous and getattr(flags, "writeable", True)  # cupy's flags lack it


class _Slot:
    __slots__ = ("_data",)


def _refs_of_arg(x: Any) -> int:
    return sys.getrefcount(x)


def _calibrate() -> tuple[int, int]:
    """Reference counts seen inside a function for an argument held by nothing but one list (the engine's
    gradient buffer) or one slot (a tensor's ``_data``), on this interpreter: the same call shapes as in
    ``accumulate`` and ``_sole_array``."""
    box = [object()]
    slot = _Slot()
    slot._data = object()
    return _refs_of_arg(box[0]), _refs_of_arg(slot._data)


_SOLE_ARG, _SOLE_SLOT = _calibrate()


class SavedOutput:
    """An output saved for backward, kept as raw data so that node and output hold no cycle."""

    __slots__ = ("data", "version", "expected", "output_nr")

    def __init__(self, tensor: Any, output_nr: int = 0) -> None:
        self.data = tensor._data
        self.version = tensor._vc
        self.expected = tensor._vc[0]
        self.output_nr = output_nr


class Op(Node):
    """Base of built-in differentiable ops.

    Subclasses define ``forward(self, *arrays)`` returning an array (or a tuple of arrays) and
    ``backward(self, *grads)`` returning one gradient Tensor (or None) per input. Keyword
    arguments of ``apply`` become attributes before ``forward`` runs. Class flags:
    ``save_inputs`` (backward reads ``self.saved_inputs``), ``save_output`` (``self.saved_output``),
    ``saved_needs`` (for each input, the inputs whose gradient reads it: it is version-checked only
    when one of them needs a gradient, as PyTorch saves it only then),
    ``view`` (the output shares storage and version counter with input 0),
    ``nondiff_outputs`` (indices of outputs that never carry gradient), ``broadcasts`` (elementwise over
    the broadcast of the inputs, so that a shape clash is reported with PyTorch's message).
    """

    save_inputs = False
    saved_needs: tuple[tuple[int, ...], ...] | None = None  # saved input i is read by the grads of these inputs
    save_output = False
    view = False
    nondiff_outputs: tuple[int, ...] = ()
    broadcasts = False  # elementwise over the broadcast of its inputs: shape clashes get PyTorch's message
    # whether the op runs on float8 inputs (PyTorch's CPU kernels take them for a few ops only): False, True, or
    # a function ``(node, *arrays)`` doing the op's float8 arithmetic (see disttorch/_ops/float8_ops.py)
    float8: Any = False

    def forward(self, *arrays: Any) -> Any:
        raise NotImplementedError

    # saved tensors -----------------------------------------------------------------------------
    @property
    def saved_inputs(self) -> tuple:
        saved = self.__dict__.get("_saved_in")
        if saved is None:  # freed, or packed by saved-tensors hooks
            from .saved_tensors import unpack_inputs

            return unpack_inputs(self)
        for t, version in saved:
            if t is not None and t._vc[0] != version and version >= 0:
                _raise_modified(t, version, self)
        return tuple(t for t, _ in saved)

    @property
    def saved_output(self) -> Any:
        saved = self.__dict__.get("_saved_out")
        if saved is None:  # freed, or packed by saved-tensors hooks
            from .saved_tensors import unpack_output

            return unpack_output(self)
        if saved.version[0] != saved.expected:
            _raise_modified_output(saved, self)
        return _tensor_from_saved(saved, self)

    def release(self) -> None:
        d = self.__dict__
        if "_saved_in" in d:
            d["_saved_in"] = None
        if "_saved_out" in d:
            d["_saved_out"] = None

    # applying ----------------------------------------------------------------------------------
    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any) -> Any:
        node = _new(cls)
        if attrs:
            node.__dict__.update(attrs)
        try:
            t0 = inputs[0] if inputs else None
            if t0 is not None and type(t0._data) is _ndarray:  # host arrays: no device to switch to
                if t0._data.itemsize == 1 and t0._data.dtype.kind in "fV":  # float8 (ml_dtypes)
                    out = _float8_forward(cls, node, [t._data if t is not None else None for t in inputs])
                else:
                    out = node.forward(*[t._data if t is not None else None for t in inputs])
            else:
                guard = _off_device_guard(inputs)
                if guard is None:
                    out = node.forward(*[t._data if t is not None else None for t in inputs])
                else:  # the inputs live on a device that is not the current one: run there (Chainer's apply does)
                    with guard:
                        out = node.forward(*[t._data if t is not None else None for t in inputs])
        except ValueError as exc:  # an array library's broadcasting error: say it as PyTorch does
            if cls.broadcasts:
                _raise_if_broadcast_error(exc, inputs)
            raise
        except MemoryError as exc:  # cupy's OutOfMemoryError: PyTorch's
            raise_if_cupy_oom(exc)
            raise
        if _grad_enabled[0]:
            for t in inputs:
                if t is not None and t._requires_grad:
                    return _record(node, inputs, out)
        if type(out) is not tuple and not cls.view:
            return _TENSOR_FROM_ARRAY(out)
        return _wrap_plain(node, inputs, out)


_new = object.__new__
_ndarray = np.ndarray


def _float8_forward(cls: type, node: Any, arrays: list) -> Any:
    """The forward of an op whose first input is float8: views and the ops marked ``float8 = True`` run as
    usual, an op whose ``float8`` is a function runs that (its float8 arithmetic), the rest raise PyTorch's
    error for a missing kernel."""
    rule = cls.float8
    if cls.view or rule is True:
        return node.forward(*arrays)
    if rule:
        return rule(node, *arrays)
    raise float8_unsupported(cls.__name__.lstrip("_").lower() + "_cpu", arrays[0].dtype)


def float8_unsupported(kernel: str, np_dtype: Any) -> NotImplementedError:
    """PyTorch's error for a kernel without float8: ``"<kernel>" not implemented for 'Float8_e4m3fn'``."""
    from disttorch import _dtype as D

    return NotImplementedError(f'"{kernel}" not implemented for \'{D._SCALAR_NAMES[D.from_np[np_dtype]]}\'')


def _off_device_guard(inputs: tuple) -> Any:
    """None when the first input is a host array or on the current device; else a guard making its device current.
    Device inputs on two indices of one device type raise PyTorch's error."""
    for t in inputs:
        if t is not None:
            arr = t._data
            if type(arr) is np.ndarray:
                return None
            if len(inputs) > 1:
                _check_one_device(arr, inputs)
            return off_device_guard(arr)
    return None


def _check_one_device(arr: Any, inputs: tuple) -> None:
    backend = backend_for_array(arr)
    index = backend.device_index(arr)
    for t in inputs:
        if t is not None and type(t._data) is type(arr) and backend.device_index(t._data) != index:
            first = next(u for u in inputs if u is not None)
            raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                               f"{first.device} and {t.device}!")


def _raise_if_broadcast_error(exc: ValueError, inputs: tuple) -> None:
    if "broadcast" not in str(exc):
        return
    broadcast_shape(*[t._data.shape for t in inputs if t is not None])


def _record(node: Op, inputs: tuple, out: Any) -> Any:
    """Connect ``node`` into the graph and wrap its outputs as tensors that require grad."""
    if len(inputs) == 1 and type(out) is not tuple:
        return _record_unary(node, inputs[0], out)
    edges = tuple([_input_edge(t) if t is not None and t._requires_grad else None for t in inputs])
    node.next_edges = edges
    node.seq = next(_seq)
    if anomaly[0]:
        node.trace = traceback.format_stack()[:-3]
    cls = type(node)
    if cls.save_inputs:
        needs = cls.saved_needs
        if needs is None or None not in edges:
            node._saved_in = [(t, t._vc[0]) if t is not None else (None, 0) for t in inputs]
        else:  # an input only some gradients read is version-checked only when one of those is needed
            node._saved_in = [(t, t._vc[0] if any(edges[j] is not None for j in needs[i]) else -1)
                              if t is not None else (None, 0) for i, t in enumerate(inputs)]
    if type(out) is tuple:
        results = []
        nondiff = cls.nondiff_outputs
        for i, arr in enumerate(out):
            if i in nondiff:
                results.append(_TENSOR_FROM_ARRAY(arr))
            else:
                results.append(_TENSOR_WITH_GRAD_FN(arr, node, i))
        node._out_meta = tuple((a.shape, a.dtype) for a in out)
        if cls.view:
            _share_view(results[0], inputs[0])
        if cls.save_output:
            node._saved_out = SavedOutput(results[0])
        if saved_hooks:
            _pack_node(node, results[0])
        return tuple(results)
    result = _TENSOR_WITH_GRAD_FN(out, node, 0)
    if cls.view:
        _share_view(result, inputs[0])
    if cls.save_output:
        node._saved_out = SavedOutput(result)
    if saved_hooks:
        _pack_node(node, result)
    return result


def _pack_node(node: Op, output: Any) -> None:
    from .saved_tensors import pack_node

    pack_node(node, output)


def _input_edge(t: Any) -> tuple:
    """The edge to a tensor that requires grad."""
    fn = t._grad_fn
    if t._base is None:
        if fn is not None:
            return (fn, t._output_nr, t._data.shape, t._data.dtype)
        edge = t._accum  # a leaf's edge is cached
        if edge is not None:
            return edge
    return t._edge()  # views (whose history may need a refresh) and leaves seen the first time


def _record_unary(node: Op, x: Any, out: Any) -> Any:
    """``_record`` for one input (which requires grad) and one output array."""
    fn = x._grad_fn
    if x._base is not None:
        edge = x._edge()
    elif fn is not None:
        edge = (fn, x._output_nr, x._data.shape, x._data.dtype)
    else:
        edge = x._accum or x._edge()
    node.next_edges = (edge,)
    node.seq = next(_seq)
    if anomaly[0]:
        node.trace = traceback.format_stack()[:-4]
    cls = type(node)
    if cls.save_inputs:
        node._saved_in = ((x, x._vc[0]),)
    result = _TENSOR_WITH_GRAD_FN(out, node, 0)
    if cls.view:
        _share_view(result, x)
    if cls.save_output:
        node._saved_out = SavedOutput(result)
    if saved_hooks:
        _pack_node(node, result)
    return result


def record_binary(node: Op, x: Any, y: Any, out: Any) -> Any:
    """``_record`` for two tensor inputs and one output array, of an op that is not a view and saves no output
    (the arithmetic operators' path)."""
    if x._requires_grad:
        fn = x._grad_fn
        if x._base is not None:
            ex = x._edge()
        elif fn is not None:
            ex = (fn, x._output_nr, x._data.shape, x._data.dtype)
        else:
            ex = x._accum or x._edge()
    else:
        ex = None
    if y._requires_grad:
        fn = y._grad_fn
        if y._base is not None:
            ey = y._edge()
        elif fn is not None:
            ey = (fn, y._output_nr, y._data.shape, y._data.dtype)
        else:
            ey = y._accum or y._edge()
    else:
        ey = None
    node.next_edges = (ex, ey)
    node.seq = next(_seq)
    if anomaly[0]:
        node.trace = traceback.format_stack()[:-2]
    cls = type(node)
    if cls.save_inputs:
        needs = cls.saved_needs
        if needs is None or (ex is not None and ey is not None):
            node._saved_in = ((x, x._vc[0]), (y, y._vc[0]))
        else:
            edges = (ex, ey)
            node._saved_in = tuple([(t, t._vc[0] if any(edges[j] is not None for j in needs[i]) else -1)
                                    for i, t in enumerate((x, y))])
        if saved_hooks:
            result = _TENSOR_WITH_GRAD_FN(out, node, 0)
            _pack_node(node, result)
            return result
    return _TENSOR_WITH_GRAD_FN(out, node, 0)


def _wrap_plain(node: Op, inputs: tuple, out: Any) -> Any:
    if type(out) is tuple:
        results = tuple(_TENSOR_FROM_ARRAY(a) for a in out)
        if type(node).view:
            _share_view(results[0], inputs[0])
        return results
    result = _TENSOR_FROM_ARRAY(out)
    if type(node).view:
        _share_view(result, inputs[0])
    return result


def _share_view(view: Any, base: Any) -> None:
    view._vc = base._vc
    view._base = base if base._base is None else base._base
    if view._grad_fn is not None:  # the version its history belongs to (see _ops/inplace_view.py)
        view._extra = {"hv": base._vc[0]}


def _raise_modified(t: Any, version: int, node: Node) -> None:
    fn = t.grad_fn  # (a view's history is refreshed first, as PyTorch reports it)
    producer = f", which is output {t._output_nr} of {_forward_name(fn)}," if fn is not None else ""
    raise RuntimeError(_modified_message(f"[{t.type_name()} {list(t.shape)}]{producer}", t._vc[0], version))


def _raise_modified_output(saved: SavedOutput, node: Node) -> None:
    t = _TENSOR_FROM_ARRAY(saved.data)
    raise RuntimeError(_modified_message(
        f"[{t.type_name()} {list(t.shape)}], which is output {saved.output_nr} of {_forward_name(node)},",
        saved.version[0], saved.expected))


def _modified_message(what: str, now: int, expected: int) -> str:
    return ("one of the variables needed for gradient computation has been modified by an inplace operation: "
            f"{what} is at version {now}; expected version {expected} instead. Hint: enable anomaly detection "
            "to find the operation that failed to compute its gradient, with "
            "torch.autograd.set_detect_anomaly(True, check_nan=False).")


def _forward_name(node: Node) -> str:
    """PyTorch names the forward op: MulBackward0 -> Mul, SumBackward1 -> Sum1, FBackward -> F."""
    name = node.name().rsplit("::", 1)[-1]
    return name[:-9] if name.endswith("Backward0") else name.replace("Backward", "", 1)


# How nodes make their output tensors. The Tensor class imports this module (for AccumulateGrad and hooks),
# so this module cannot import the Tensor; disttorch._tensor binds its two constructors once, right after the
# class is defined, through ``bind_tensor_constructors``: the one place where the Tensor meets the graph.
_TENSOR_FROM_ARRAY: Callable = None  # type: ignore[assignment]
_TENSOR_WITH_GRAD_FN: Callable = None  # type: ignore[assignment]


def bind_tensor_constructors(from_array: Callable[[Any], Any], with_grad_fn: Callable[[Any, Node, int], Any]
                             ) -> None:
    """Give the graph the Tensor's constructors: ``from_array(arr)`` (no history) and
    ``with_grad_fn(arr, node, output_nr)`` (an output of ``node``)."""
    global _TENSOR_FROM_ARRAY, _TENSOR_WITH_GRAD_FN
    _TENSOR_FROM_ARRAY, _TENSOR_WITH_GRAD_FN = from_array, with_grad_fn


def _tensor_from_saved(saved: SavedOutput, node: Node) -> Any:
    t = _TENSOR_WITH_GRAD_FN(saved.data, node, saved.output_nr)
    t._vc = saved.version
    return t


from .multi_grad_hook import register_multi_grad_hook  # noqa: E402, F401
from .saved_tensors import SavedTensor, disable_saved_tensors_hooks, save_on_cpu, saved_tensors_hooks  # noqa: E402, F401
