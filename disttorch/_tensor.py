"""The Tensor: one backend array plus autograd state.

Most methods (operators, math, shapes, indexing) are defined next to their op in
``disttorch/_ops/*`` and attached to the class there; this file holds the core: construction,
metadata, autograd bookkeeping, conversion, and the in-place machinery.
"""
from __future__ import annotations

import warnings
import weakref
from typing import Any, Callable

import numpy as np

from disttorch import _dtype as D
from disttorch._device import device as Device
from disttorch._device import to_device
from disttorch._tensor_convert import TensorConversions
from disttorch.autograd import grad_mode as _grad_mode
from disttorch.autograd import graph as _graph
from disttorch.autograd.graph import AccumulateGrad, RemovableHandle, name_class
from disttorch.backends import array_module, backend_for_array, data_ptr

_ndarray = np.ndarray
_np_generic = np.generic
_new = object.__new__
_from_np = D.from_np
_grad_enabled = _grad_mode._enabled
_DIFF_KINDS = frozenset("fcV")  # float, complex, and ml_dtypes' bfloat16


class Size(tuple):
    """torch.Size: a tuple of ints that prints as ``torch.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item: Any) -> Any:
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out

    def __add__(self, other: Any) -> Size:
        return Size(tuple(self) + tuple(other))


def _as_array(arr: Any) -> Any:
    """Keep 0-dim results as arrays (numpy returns scalars from 0-dim ops)."""
    if type(arr) is _ndarray:
        return arr
    if isinstance(arr, _np_generic):
        return np.asarray(arr)
    return arr


class Tensor(TensorConversions):
    __slots__ = ("_data", "_requires_grad", "_grad_fn", "_output_nr", "_vc", "_base", "_grad",
                 "_accum", "_extra", "__weakref__")

    # -- construction ------------------------------------------------------------------------------
    def __new__(cls, *args: Any, device: Any = None, dtype: Any = None) -> Tensor:
        """Legacy constructor: ``Tensor(2, 3)`` (uninitialised float) or ``Tensor([1, 2])`` (data); a subclass's
        ``__new__`` builds its instance with ``super().__new__(cls, data)``, as in PyTorch."""
        from disttorch._ops import creation

        if len(args) == 1 and not isinstance(args[0], int):
            arr = creation.tensor(args[0], dtype=dtype or D.get_default_dtype(), device=device)._data
        else:
            shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            arr = creation.empty(*shape, dtype=dtype, device=device)._data
        t = _new(cls)
        _init(t, arr)
        return t

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # (the instance is built in __new__)

    # -- the __torch_function__ protocol (see _torch_function.py) --------------------------------------
    def __init_subclass__(cls, _internal: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not _internal:
            from disttorch._torch_function import adopt

            adopt(cls)

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        """The default: run ``func`` with the protocol off and return Tensor results as ``cls`` (the most
        derived subclass among the arguments)."""
        from disttorch._torch_function import default_torch_function

        return default_torch_function(cls, func, types, args, kwargs)

    @staticmethod
    def _make_subclass(cls: type, data: Tensor, require_grad: bool = False, **kwargs: Any) -> Tensor:
        """A ``cls`` instance on ``data``'s storage (and version counter), detached, a leaf that requires grad
        when ``require_grad``."""
        if not (isinstance(cls, type) and issubclass(cls, Tensor)):
            raise TypeError(f"_make_subclass(): argument 'cls' must be a subclass of torch.Tensor, got {cls!r}")
        t = _new(cls)
        _init(t, data._data)
        t._vc = data._vc
        if require_grad:
            t.requires_grad_(True)
        return t

    @staticmethod
    def _from_array(arr: Any, requires_grad: bool = False) -> Tensor:
        # the hottest constructor (every op's output): ``_init`` written out to save a call
        t = _new(Tensor)
        t._data = arr if type(arr) is _ndarray else _as_array(arr)
        t._requires_grad = requires_grad
        t._grad_fn = None
        t._output_nr = 0
        t._vc = [0]
        t._base = None
        t._grad = None
        t._accum = None
        t._extra = None
        return t

    # -- metadata ----------------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def dtype(self) -> D.dtype:
        return _from_np[self._data.dtype]

    @property
    def device(self) -> Device:
        backend = backend_for_array(self._data)
        index = backend.device_index(self._data)
        return to_device(backend.device_type if index is None else f"{backend.device_type}:{index}")

    @property
    def _backend(self) -> Any:
        return backend_for_array(self._data)

    @property
    def _xp(self) -> Any:
        return array_module(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_meta(self) -> bool:
        return self.device.type == "meta"

    @property
    def is_cpu(self) -> bool:
        return type(self._data) is _ndarray

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    def stride(self, dim: int | None = None) -> Any:
        if type(self._data) is _ndarray:
            item = self._data.dtype.itemsize
            strides = tuple(s // item for s in self._data.strides)
        else:
            strides = backend_for_array(self._data).element_strides(self._data)
        return strides if dim is None else strides[_wrap_dim(dim, self._data.ndim)]

    def is_contiguous(self, memory_format: Any = None) -> bool:
        if type(self._data) is not _ndarray and self.is_meta:
            return True  # a meta tensor keeps no layout (its array has zero strides); PyTorch's are contiguous
        if memory_format is None:
            return bool(self._data.flags.c_contiguous)
        from disttorch._layouts import is_contiguous_as

        return is_contiguous_as(self._data, memory_format)

    def data_ptr(self) -> int:
        if type(self._data) is not _ndarray and not self._backend.has_data:
            return 0  # as PyTorch's meta tensors: no storage to point at
        return data_ptr(self._data)

    def storage_offset(self) -> int:
        base = self._base._data if self._base is not None else self._data
        return (self.data_ptr() - Tensor._from_array(base).data_ptr()) // self._data.dtype.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind in "fV"

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def grad_fn(self) -> Any:
        if self._base is not None and self._extra is not None:
            self._refresh_view()
        fn = self._grad_fn
        if fn is not None and fn._call_named:  # its class takes the name the node prints (graph.name_class)
            name_class(fn)
        return fn

    def _refresh_view(self) -> None:
        """A view whose base was modified in place since its history was recorded takes its history
        from the base's current one."""
        hv = self._extra.get("hv")
        if hv is not None and hv != self._vc[0] and self._base._requires_grad:
            from disttorch._ops.inplace_view import view_history

            view_history(self)

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def _version_counter(self) -> int:
        return self._vc[0]

    @property
    def _version(self) -> int:
        """PyTorch's in-place version counter of this tensor's storage (shared with its views)."""
        return self._vc[0]

    @property
    def is_sparse(self) -> bool:
        return False

    @property
    def layout(self) -> Any:
        from disttorch._layouts import strided

        return strided

    def type_name(self) -> str:
        prefix = "torch.cuda." if self.is_cuda else "torch."
        return prefix + _LEGACY_TYPE_NAMES.get(self.dtype, "Tensor")

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """The legacy type name (``'torch.FloatTensor'``), or a copy cast to a dtype, a legacy type name
        (``'torch.cuda.LongTensor'``) or a legacy type (``torch.DoubleTensor``)."""
        if dtype is None:
            return self.type_name()
        if isinstance(dtype, str):
            prefix, _, name = dtype.rpartition(".")
            by_name = {v: k for k, v in _LEGACY_TYPE_NAMES.items()}
            if name not in by_name or prefix not in ("torch", "torch.cuda"):
                raise ValueError(f"invalid type: {dtype!r}")
            return self.to("cuda" if prefix == "torch.cuda" else "cpu", by_name[name])
        if hasattr(dtype, "is_cuda") and isinstance(getattr(dtype, "dtype", None), D.dtype):  # torch.FloatTensor
            return self.to("cuda" if dtype.is_cuda else "cpu", dtype.dtype)
        return self.to(dtype)

    # -- autograd state ----------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self._data.dtype.kind not in _DIFF_KINDS:
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if self._grad_fn is not None:
            if not requires_grad:
                raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to "
                                   "use a computed variable in a subgraph that doesn't require differentiation "
                                   "use var_no_grad = var.detach().")
            return self
        if requires_grad and self._data.dtype.kind not in _DIFF_KINDS:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad(self) -> Tensor | None:
        if self._grad is None and self._grad_fn is not None and not self.retains_grad:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                "attribute won't be populated during autograd.backward(). If you indeed want the .grad field "
                "to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor.",
                UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has data of a different size: got {list(value.shape)}, "
                                   f"expected {list(self.shape)}")
            if value.dtype is not self.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: got {value.dtype}, "
                                   f"expected {self.dtype}")
        self._grad = value

    @property
    def data(self) -> Tensor:
        return Tensor._from_array(self._data)  # unlike detach(), its own version counter (as in PyTorch)

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data
        if self._accum is not None:
            self._edge()  # refresh the cached leaf edge's shape and dtype

    def _edge(self) -> tuple:
        """Where the gradient for this tensor goes: (node, input_nr, shape, np dtype), or None.
        A leaf's edge (to its AccumulateGrad) is cached in ``_accum``."""
        if not self._requires_grad:
            return None
        if self._base is not None and self._extra is not None:
            self._refresh_view()
        fn = self._grad_fn
        if fn is None:
            edge = self._accum
            if edge is None or edge[2] != self._data.shape or edge[3] != self._data.dtype:
                node = edge[0] if edge is not None else AccumulateGrad(self)
                edge = self._accum = (node, 0, self._data.shape, self._data.dtype)
            return edge
        return (fn, self._output_nr, self._data.shape, self._data.dtype)

    def _grad_node(self) -> tuple:
        """The (node, output_nr) at which this tensor's gradient arrives during backward."""
        edge = self._edge()
        if edge is None:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        return edge[0], edge[1]

    def detach(self) -> Tensor:
        t = Tensor._from_array(self._data)
        t._vc = self._vc  # shares storage and version counter, but is not a view for autograd
        return t

    def detach_(self) -> Tensor:
        if self._base is not None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) "
                "for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and "
                "hence detach_() cannot be called on these gradients. To fix this error, please refer to the "
                "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
        self._grad_fn = None
        self._requires_grad = False
        return self

    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        _autograd_backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """hook(grad) runs when the gradient for this tensor is computed; it may return a new one."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        node, nr = self._grad_node()
        return node._add_pre_hook(nr, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """hook(tensor) runs after the gradient has been accumulated into ``tensor.grad``."""
        if self._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        hooks = self._extra_dict().setdefault("post_acc_hooks", {})
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def retain_grad(self) -> None:
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self.retains_grad:
            return
        self._extra_dict()["retains_grad"] = True
        ref = weakref.ref(self)

        def keep(grad: Tensor) -> None:
            t = ref()
            if t is not None:
                t._grad = grad._detached_copy() if t._grad is None else t._grad + grad

        # runs after every other hook of this tensor, whenever those were registered (as in PyTorch)
        node = self._grad_fn
        if node.pre_hooks is None:
            node.pre_hooks = {}
        node.pre_hooks[("retain", self._output_nr)] = keep

    @property
    def retains_grad(self) -> bool:
        return bool(self._extra and self._extra.get("retains_grad"))

    def _extra_dict(self) -> dict:
        if self._extra is None:
            self._extra = {}
        return self._extra

    # -- internal helpers used by the engine and ops ---------------------------------------------
    def _detached_copy(self) -> Tensor:
        return Tensor._from_array(self._data.copy())

    def _inplace_accumulate(self, other: Tensor) -> None:
        self._data += other._data
        self._vc[0] += 1

    def _cast_np(self, np_dtype: Any) -> Tensor:
        from disttorch._ops.creation import to_dtype_op

        return to_dtype_op(self, _from_np[np_dtype])

    def _new_zeros_np(self, shape: tuple, np_dtype: Any) -> Tensor:
        return Tensor._from_array(self._xp.zeros(shape, np_dtype))

    def _has_nan(self) -> bool:
        return bool(self._xp.isnan(self._data).any())

    def __deepcopy__(self, memo: dict) -> Tensor:
        if self._grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the "
                               "deepcopy protocol at the moment.")
        new = _new(type(self))
        _init(new, self._data.copy(), self._requires_grad)
        state = getattr(self, "__dict__", None)
        if state:  # a subclass's own attributes
            import copy

            new.__dict__.update(copy.deepcopy(state, memo))
        if self._grad is not None:
            new._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = new
        return new

    # -- in-place machinery ------------------------------------------------------------------------
    def _check_inplace(self) -> None:
        if not _grad_enabled[0]:
            return
        if self._grad_fn is None and self._requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        base = self._base
        if base is not None:
            if base._grad_fn is None and base._requires_grad:
                raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                                   "operation.")
            fn = self._grad_fn
            if fn is not None and len(getattr(fn, "_out_meta", None) or ()) > 1 and isinstance(fn, _graph.Op):
                raise RuntimeError(
                    f"Output {self._output_nr} of {_graph._forward_name(fn)} is a view and is being modified "
                    "inplace. This view is the output of a function that returns multiple views. Such functions "
                    "do not allow the output views to be modified inplace. You should replace the inplace "
                    "operation by an out-of-place one.")

    def _needs_graph_for_inplace(self, *others: Any) -> bool:
        if not _grad_enabled[0]:
            return False
        if self._requires_grad or (self._base is not None and self._base._requires_grad):
            return True
        for o in others:  # (a loop: any() with a generator costs more on this hot path)
            if isinstance(o, Tensor) and o._requires_grad:
                return True
        return False

    def _apply_inplace(self, compute: Callable[[Tensor], Tensor], *others: Any) -> Tensor:
        """Run an in-place op with autograd: ``compute(alias)`` builds the new value out of place
        from a copy of this tensor's current value; then the value is written into this tensor's
        storage and this tensor (and its base, for a view) takes the new history."""
        from disttorch._ops._register import check_no_overlap

        check_no_overlap(self)
        self._check_inplace()
        base = self._base
        if base is not None and self._extra is not None:
            self._refresh_view()
        alias = Tensor._from_array(self._data.copy(), self._requires_grad)
        alias._grad_fn, alias._output_nr, alias._accum = self._grad_fn, self._output_nr, self._accum
        result = compute(alias)
        if result._data.shape != self._data.shape:
            raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                               f"{list(result._data.shape)}")
        if base is not None and (base._requires_grad or result._requires_grad):
            from disttorch._ops.inplace_view import rebase_view, view_history

            rebase_view(self, base, result)
            self._data[...] = result._data
            self._vc[0] += 1
            view_history(self)  # the view's history: its region of the base's new one
            return self
        self._data[...] = result._data
        self._vc[0] += 1
        if result._grad_fn is None and self._grad_fn is not None:
            # overwritten by a value that does not depend on the old one: no gradient flows back
            from disttorch._ops.inplace_view import Overwritten

            result = Overwritten.apply(alias)
        if result._grad_fn is not None:
            if self._extra is not None and self._extra.get("retains_grad"):
                _move_retain_hook(self, result._grad_fn, result._output_nr)
            self._grad_fn, self._output_nr, self._requires_grad = result._grad_fn, result._output_nr, True
            saved = result._grad_fn.__dict__.get("_saved_out")
            if saved is not None:  # the saved output now lives in this tensor's storage
                saved.data, saved.version, saved.expected = self._data, self._vc, self._vc[0]
        return self

    # -- device / dtype moves ----------------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        from disttorch._ops.creation import tensor_to

        return tensor_to(self, *args, **kwargs)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Tensor:
        if device is None:
            return self.to("cuda")
        return self.to(device if isinstance(device, (str, Device)) else f"cuda:{int(device)}")

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)


def _init(t: Tensor, arr: Any, requires_grad: bool = False) -> None:
    t._data = _as_array(arr)
    t._requires_grad = requires_grad
    t._grad_fn = None
    t._output_nr = 0
    t._vc = [0]
    t._base = None
    t._grad = None
    t._accum = None
    t._extra = None


def _with_grad_fn(arr: Any, node: Any, output_nr: int) -> Tensor:
    t = _new(Tensor)
    t._data = arr if type(arr) is _ndarray else _as_array(arr)
    if t._data.dtype.kind in _DIFF_KINDS:
        t._requires_grad = True
        t._grad_fn = node
    else:
        t._requires_grad = False
        t._grad_fn = None
    t._output_nr = output_nr
    t._vc = [0]
    t._base = None
    t._grad = None
    t._accum = None
    t._extra = None
    return t


def _move_retain_hook(t: Tensor, node: Any, output_nr: int) -> None:
    """After an in-place op, ``t.grad`` is the gradient of its new value: the retain_grad hook
    moves from its old history to the new one (as in PyTorch)."""
    old = t._grad_fn
    hook = old.pre_hooks.pop(("retain", t._output_nr), None) if old is not None and old.pre_hooks else None
    if hook is not None:
        if node.pre_hooks is None:
            node.pre_hooks = {}
        node.pre_hooks[("retain", output_nr)] = hook


def _wrap_dim(dim: int, ndim: int) -> int:
    n = ndim if ndim > 0 else 1
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


_LEGACY_TYPE_NAMES = {
    D.float32: "FloatTensor", D.float64: "DoubleTensor", D.float16: "HalfTensor", D.bfloat16: "BFloat16Tensor",
    D.int64: "LongTensor", D.int32: "IntTensor", D.int16: "ShortTensor", D.int8: "CharTensor",
    D.uint8: "ByteTensor", D.bool_: "BoolTensor", **{d: D._SCALAR_NAMES[d] + "Tensor" for d in D.FLOAT8},
}

_graph.bind_tensor_constructors(Tensor._from_array, _with_grad_fn)

from disttorch.autograd import backward as _autograd_backward  # noqa: E402  (the package needs the class above)
