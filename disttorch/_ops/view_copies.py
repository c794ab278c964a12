"""torch functions that are thin forms of other ops: the ``*_copy`` forms of views (a fresh tensor, never
aliasing the input), the ``*_scatter`` ops (the input with ``src`` written into one view of it, out of place,
differentiable to both), and torch.X spellings of Tensor methods (``torch.fill``, ``torch.zero_``...)."""
from __future__ import annotations

from typing import Any, Callable

from disttorch._tensor import Tensor

from ._register import write_out


def _copy_of(view: str) -> Callable[..., Any]:
    def fn(input: Tensor, *args: Any, out: Tensor | None = None, **kwargs: Any) -> Any:
        result = getattr(input, view)(*args, **kwargs)
        if isinstance(result, (tuple, list)):
            return [r.clone() for r in result]
        return write_out(result.clone(), out)

    fn.__name__ = fn.__qualname__ = f"{view}_copy"
    fn.__doc__ = f"``input.{view}(...)`` as a new tensor that shares no memory with ``input``."
    return fn




def alias_copy(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """A copy of ``input`` (an alias of a tensor is the tensor itself)."""
    return write_out(input.clone(), out)


as_strided_copy, detach_copy, diagonal_copy = _copy_of("as_strided"), _copy_of("detach"), _copy_of("diagonal")
permute_copy, select_copy = _copy_of("permute"), _copy_of("select")
split_copy, split_with_sizes_copy = _copy_of("split"), _copy_of("split_with_sizes")
squeeze_copy, t_copy, transpose_copy = _copy_of("squeeze"), _copy_of("t"), _copy_of("transpose")
unbind_copy, unfold_copy, unsqueeze_copy = _copy_of("unbind"), _copy_of("unfold"), _copy_of("unsqueeze")
view_copy = _copy_of("view")


def view_as_complex_copy(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    from .views_extra import view_as_complex

    return write_out(view_as_complex(input).clone(), out)


def view_as_real_copy(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    from .views_extra import view_as_real

    return write_out(view_as_real(input).clone(), out)


def _slice(self: Tensor, dim: int = 0, start: int | None = None, end: int | None = None, step: int = 1) -> Tensor:
    index = [slice(None)] * self.ndim
    index[dim] = slice(start, end, step)
    return self[tuple(index)]


def _scatter_into(input: Tensor, src: Tensor, view: Callable[[Tensor], Tensor]) -> Tensor:
    result = input.clone()
    region = view(result)
    if tuple(region.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(region.shape)}")
    region.copy_(src)
    return result


def slice_copy(input: Tensor, dim: int = 0, start: int | None = None, end: int | None = None, step: int = 1, *,
               out: Tensor | None = None) -> Tensor:
    return write_out(_slice(input, dim, start, end, step).clone(), out)


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
                  step: int = 1) -> Tensor:
    return _scatter_into(input, src, lambda t: _slice(t, dim, start, end, step))


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    return _scatter_into(input, src, lambda t: t.select(dim, index))


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    return _scatter_into(input, src, lambda t: t.diagonal(offset, dim1, dim2))


def as_strided_scatter(input: Tensor, src: Tensor, size: Any, stride: Any, storage_offset: int | None = None,
                       ) -> Tensor:
    return _scatter_into(input, src, lambda t: t.as_strided(size, stride, storage_offset))


def _function_of(method: str) -> Callable[..., Any]:
    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Any:
        return getattr(input, method)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = method
    fn.__doc__ = f"torch.{method}(input, ...): the same as ``input.{method}(...)``."
    return fn


def fill(input: Tensor, value: Any) -> Tensor:
    """A new tensor like ``input`` with every element ``value``."""
    return input.clone().fill_(value)


_METHOD_FORMS = ("zero_", "neg_", "negative_", "detach", "detach_", "addmv_", "as_strided_", "conj_physical_",
                 "gcd_", "lcm_", "ldexp_", "index_put_", "resize_as_", "split_with_sizes", "unsafe_chunk",
                 "unsafe_split", "unsafe_split_with_sizes", "is_neg", "is_same_size", "is_signed", "is_inference",
                 "get_device", "is_distributed", "narrow_copy")
globals().update({name: _function_of(name) for name in _METHOD_FORMS})

__all__ = ["alias_copy", "as_strided_copy", "detach_copy", "diagonal_copy", "permute_copy", "select_copy",
           "slice_copy", "split_copy", "split_with_sizes_copy", "squeeze_copy", "t_copy", "transpose_copy",
           "unbind_copy", "unfold_copy", "unsqueeze_copy", "view_as_complex_copy", "view_as_real_copy", "view_copy",
           "slice_scatter", "select_scatter", "diagonal_scatter", "as_strided_scatter", "fill", *_METHOD_FORMS]
