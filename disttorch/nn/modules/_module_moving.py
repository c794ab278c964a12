"""Module conversions: ``apply`` and ``_apply``, and the moves and casts built on them (to, cuda, float...)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from disttorch import __future__ as _future
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
        # by default parameters keep their identity (optimizers hold them) and only their data changes; the
        # switches of torch.__future__ swap the converted tensor into the old object, or put a new Parameter
        swap = _future.get_swap_module_params_on_conversion()
        overwrite = _future.get_overwrite_module_params_on_conversion()
        for key, param in self._parameters.items():
            if param is None:
                continue
            if swap or overwrite:
                self._convert_param(key, param, fn, swap)
                continue
            with no_grad():
                param.data = fn(param)
                if param._grad is not None:
                    param._grad.data = fn(param._grad)
        for key, buf in self._buffers.items():
            if buf is not None:
                self._buffers[key] = fn(buf)
        return self

    def _convert_param(self, key: str, param: Tensor, fn: Callable[[Tensor], Tensor], swap: bool) -> None:
        """``_apply`` for one parameter with a switch of torch.__future__ on (as PyTorch's ``Module._apply``)."""
        from disttorch.nn.parameter import Parameter
        from disttorch.utils import swap_tensors

        with no_grad():
            applied = fn(param)
        grad = param._grad
        if swap:
            try:
                if grad is not None:
                    param.grad = None
                swap_tensors(param, Parameter(applied, requires_grad=param.requires_grad))
            except Exception as exc:
                if grad is not None:
                    param.grad = grad
                raise RuntimeError(f"_apply(): Couldn't swap {self._get_name()}.{key}") from exc
            out = param
        else:
            out = self._parameters[key] = Parameter(applied, param.requires_grad)
        if grad is not None:
            with no_grad():
                grad_applied = fn(grad)
            if swap:
                grad_applied.requires_grad_(grad.requires_grad)
                try:
                    swap_tensors(grad, grad_applied)
                except Exception as exc:
                    raise RuntimeError(f"_apply(): Couldn't swap {self._get_name()}.{key}.grad") from exc
                out.grad = grad
            else:
                out.grad = grad_applied.requires_grad_(grad.requires_grad)

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

