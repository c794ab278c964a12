"""Module conversions: ``apply`` and ``_apply``, and the moves and casts built on them (to, cuda, float...)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.autograd.grad_mode import no_grad

if TYPE_CHECKING:
    from .module import Module

__all__: list[str] = []


class ModuleMoving:
    """``apply``, ``to``, ``cpu``, ``cuda``, ``type``, dtype casts and ``to_empty`` of ``Module``."""

    def apply(self, fn: Callable[[Module], None]) -> Module:
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> Module:
        if recurse:
            for module in self.children():
                module._apply(fn)
        # parameters keep their identity (optimizers hold them): only their data changes
        for param in self._parameters.values():
            if param is None:
                continue
            with no_grad():
                param.data = fn(param)
                if param._grad is not None:
                    param._grad.data = fn(param._grad)
        for key, buf in self._buffers.items():
            if buf is not None:
                self._buffers[key] = fn(buf)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        from disttorch._ops.creation import _parse_to_args

        device, dtype, _ = _parse_to_args(args, dict(kwargs))
        if dtype is not None:
            dtype = D.to_dtype(dtype)
            if not (dtype.is_floating_point or dtype.is_complex):
                raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got desired "
                                f"dtype={dtype}")

        fmt = kwargs.get("memory_format")  # channels_last(_3d): for the 4-d (5-d) parameters and buffers only
        ndim = {"channels_last": 4, "channels_last_3d": 5}.get(getattr(fmt, "_name", None))

        def convert(t: Tensor) -> Tensor:
            t = t.to(device, dtype if t.is_floating_point() or t.is_complex() else None)
            return t.contiguous(memory_format=fmt) if ndim == t.ndim else t

        return self._apply(convert)

    def cpu(self) -> Module:
        return self._apply(lambda t: t.cpu())

    def cuda(self, device: Any = None) -> Module:
        return self._apply(lambda t: t.cuda(device))

    def type(self, dst_type: Any) -> Module:
        return self._apply(lambda t: t.type(dst_type))

    def float(self) -> Module:
        return self._apply(lambda t: t.float() if t.is_floating_point() else t)

    def double(self) -> Module:
        return self._apply(lambda t: t.double() if t.is_floating_point() else t)

    def half(self) -> Module:
        return self._apply(lambda t: t.half() if t.is_floating_point() else t)

    def bfloat16(self) -> Module:
        return self._apply(lambda t: t.bfloat16() if t.is_floating_point() else t)

    def to_empty(self, *, device: Any, recurse: bool = True) -> Module:
        from disttorch._ops.creation import empty

        return self._apply(lambda t: empty(*t.shape, dtype=t.dtype, device=device), recurse=recurse)

    def share_memory(self) -> Module:
        return self  # one process per rank here: there is nothing to move into shared memory

