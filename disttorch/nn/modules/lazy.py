"""Lazy layers: the input size (in_features / in_channels / num_features) is read from the first input. Until
then the parameters and buffers are ``UninitializedParameter`` / ``UninitializedBuffer``; the first forward
materialises them in place (so references to them stay valid), initialises them like the ordinary layer,
and turns the module into that layer's class (LazyLinear becomes Linear)."""
from __future__ import annotations

from typing import Any

from disttorch._tensor import Tensor, _init
from disttorch._torch_function import _disabled_torch_function_impl
from disttorch.nn.modules.conv import (
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
)
from disttorch.nn.modules.linear import Linear
from disttorch.nn.modules.normalization import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
)
from disttorch.nn.parameter import Parameter

__all__ = ["UninitializedParameter", "UninitializedBuffer", "LazyModuleMixin", "LazyLinear", "LazyConv1d",
           "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
           "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d"]

_NO_SHAPE = ("Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
             "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. "
             "Call `forward` to initialize the parameters before accessing their attributes.")


class _Uninitialized:
    """Shared by the two placeholders: no shape until ``materialize``."""

    __slots__ = ()
    cls_to_become: type = Tensor
    __torch_function__ = _disabled_torch_function_impl  # (it refuses most ops itself)

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        from disttorch._ops.creation import empty

        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        arr = empty(shape, device=device if device is not None else self.device,
                    dtype=dtype if dtype is not None else self.dtype)._data
        self._data = arr  # in place: whoever holds this object sees the new data
        self.__class__ = self.cls_to_become

    @property
    def shape(self) -> Any:
        raise RuntimeError(_NO_SHAPE)

    def size(self, dim: Any = None) -> Any:
        raise RuntimeError(_NO_SHAPE)

    def numel(self) -> int:
        raise RuntimeError(_NO_SHAPE)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class UninitializedParameter(_Uninitialized, Parameter):
    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> UninitializedParameter:
        from disttorch._ops.creation import empty

        return Parameter.__new__(cls, empty(0, device=device, dtype=dtype), requires_grad)

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> None:
        pass


class UninitializedBuffer(_Uninitialized, Tensor):
    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device: Any = None, dtype: Any = None,
                persistent: bool = True) -> UninitializedBuffer:
        from disttorch._ops.creation import empty

        t = object.__new__(cls)
        _init(t, empty(0, device=device, dtype=dtype)._data, requires_grad)
        return t

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None,
                 persistent: bool = True) -> None:
        pass


def _is_lazy(t: Any) -> bool:
    return isinstance(t, _Uninitialized)


class LazyModuleMixin:
    """Built as ``cls_to_become`` with a zero input size, then its tensors swapped for placeholders."""

    cls_to_become: type | None = None
    _lazy_field = "in_features"

    def _make_lazy(self, kwargs: dict, keep: tuple = ("num_batches_tracked",)) -> None:
        self._lazy_kwargs = kwargs
        for name, p in list(self._parameters.items()):
            if p is not None:
                self._parameters[name] = UninitializedParameter(p.requires_grad, p.device, p.dtype)
        for name, b in list(self._buffers.items()):
            if b is not None and name not in keep:
                self._buffers[name] = UninitializedBuffer(False, b.device, b.dtype)
        self._lazy_hook = self.register_forward_pre_hook(LazyModuleMixin._infer_parameters)

    def has_uninitialized_params(self) -> bool:
        return any(_is_lazy(t) for t in list(self._parameters.values()) + list(self._buffers.values()))

    def _input_size(self, input: Tensor) -> int:
        return int(input.shape[1])

    def initialize_parameters(self, input: Tensor, *args: Any) -> None:
        if not self.has_uninitialized_params():
            return
        n = self._input_size(input)
        real = self.cls_to_become(n, **self._lazy_kwargs)  # draws the initial values like the ordinary layer
        for store in ("_parameters", "_buffers"):
            mine, theirs = getattr(self, store), getattr(real, store)
            for name, t in mine.items():
                if _is_lazy(t):
                    src = theirs[name]
                    t.materialize(tuple(src.shape), src.device, src.dtype)
                    t._data[...] = src._data
        setattr(self, self._lazy_field, n)

    @staticmethod
    def _infer_parameters(module: Any, args: tuple) -> None:
        module.initialize_parameters(*args)
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {module._get_name()} has not been fully initialized")
        module._lazy_hook.remove()
        del module._lazy_hook, module._lazy_kwargs
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def reset_parameters(self) -> None:
        # nothing to draw while the input size is unknown (PyTorch's lazy layers neither, nor do they warn)
        if not self.has_uninitialized_params() and getattr(self, self._lazy_field, 0) != 0:
            super().reset_parameters()  # type: ignore[misc]


class LazyLinear(LazyModuleMixin, Linear):
    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        kw = dict(out_features=out_features, bias=bias, device=device, dtype=dtype)
        Linear.__init__(self, 0, **kw)
        self._make_lazy(kw)

    def _input_size(self, input: Tensor) -> int:
        return int(input.shape[-1])


class _LazyConv(LazyModuleMixin):
    _lazy_field = "in_channels"

    def _input_size(self, input: Tensor) -> int:
        # an unbatched input has the channels first
        return int(input.shape[0] if input.ndim == self.nd + 1 else input.shape[1])


def _conv_class(base: type) -> type:
    def __init__(self: Any, out_channels: int, kernel_size: Any, *args: Any, **kwargs: Any) -> None:
        import inspect

        bound = inspect.signature(base.__init__).bind(self, 0, out_channels, kernel_size, *args, **kwargs)
        bound.apply_defaults()
        kw = {k: v for k, v in bound.arguments.items() if k not in ("self", "in_channels")}
        base.__init__(self, 0, **kw)
        self._make_lazy(kw)

    return type("Lazy" + base.__name__, (_LazyConv, base), {"cls_to_become": base, "__init__": __init__,
                                                             "__module__": __name__})


LazyConv1d = _conv_class(Conv1d)
LazyConv2d = _conv_class(Conv2d)
LazyConv3d = _conv_class(Conv3d)
LazyConvTranspose1d = _conv_class(ConvTranspose1d)
LazyConvTranspose2d = _conv_class(ConvTranspose2d)
LazyConvTranspose3d = _conv_class(ConvTranspose3d)


class _LazyNorm(LazyModuleMixin):
    # num_features is read from dim 1 even for an unbatched input, as PyTorch does
    _lazy_field = "num_features"


def _norm_class(base: type, affine: bool, track: bool) -> type:
    def __init__(self: Any, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = affine,
                 track_running_stats: bool = track, device: Any = None, dtype: Any = None) -> None:
        kw = dict(eps=eps, momentum=momentum, affine=affine, track_running_stats=track_running_stats,
                  device=device, dtype=dtype)
        base.__init__(self, 0, **kw)
        self._make_lazy(kw)

    return type("Lazy" + base.__name__, (_LazyNorm, base), {"cls_to_become": base, "__init__": __init__,
                                                             "__module__": __name__})


LazyBatchNorm1d = _norm_class(BatchNorm1d, True, True)
LazyBatchNorm2d = _norm_class(BatchNorm2d, True, True)
LazyBatchNorm3d = _norm_class(BatchNorm3d, True, True)
LazyInstanceNorm1d = _norm_class(InstanceNorm1d, True, True)
LazyInstanceNorm2d = _norm_class(InstanceNorm2d, True, True)
LazyInstanceNorm3d = _norm_class(InstanceNorm3d, True, True)

