"""Integer number theory: gcd and lcm (integer dtypes only, no gradient)."""
from __future__ import annotations

from typing import Any, Callable

from disttorch import _dtype as D
from disttorch._tensor import Tensor
from disttorch.backends import array_module

from ._register import inplace, methods, type_word, ufunc_writer, write_out
from ._util import promote_operands

__all__ = ["gcd", "lcm"]


def _integer_binary(name: str) -> Callable[..., Tensor]:
    def fn(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
        if not isinstance(other, Tensor):
            raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
        x, y, dt = promote_operands(input, other)
        if dt.category != D.INT:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{type_word(dt)}'")
        a, b = x._data, y._data
        return write_out(Tensor._from_array(getattr(array_module(a), name)(a, b)), out)

    fn.__name__ = fn.__qualname__ = name
    return fn


gcd = _integer_binary("gcd")
lcm = _integer_binary("lcm")


def _integer_writer(name: str) -> Callable[..., Any]:
    write = ufunc_writer(name)

    def raw(arr: Any, *operands: Any) -> Any:
        if arr.dtype.kind not in "iu":
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{type_word(D.from_np[arr.dtype])}'")
        return write(arr, *operands)

    return raw


methods({"gcd": gcd, "lcm": lcm, "gcd_": inplace(gcd, _integer_writer("gcd")),
         "lcm_": inplace(lcm, _integer_writer("lcm"))})
