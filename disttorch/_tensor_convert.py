"""Conversions of a Tensor to Python and other array libraries: numpy(), item(), tolist(), __array__,
DLPack, the number protocols, len/iter, printing and pickling. A mixin of ``Tensor`` (kept apart so that
``_tensor.py`` holds construction, metadata and autograd state)."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch.backends import backend_for_array
from disttorch.backends.sync_debug import host_sync

_ndarray = np.ndarray


class TensorConversions:
    __slots__ = ()
    _data: Any
    _requires_grad: bool

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                               "instead.")
        if type(self._data) is _ndarray:
            return self._data
        if not force:
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to "
                            "copy the tensor to host memory first.")
        return backend_for_array(self._data).to_numpy(self._data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self._data if type(self._data) is _ndarray else backend_for_array(self._data).to_numpy(self._data)
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        if self._requires_grad:
            raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> tuple:
        return self._data.__dlpack_device__()

    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        if type(self._data) is not _ndarray:
            host_sync()
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return np.asarray(self.__array__()).tolist()

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        if type(self._data) is not _ndarray:
            host_sync()
        return bool(self._data.reshape(()).item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Any:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        from disttorch._tensor_str import tensor_repr

        return tensor_repr(self)

    def __str__(self) -> str:
        return self.__repr__()  # subclasses (Parameter) override __repr__ only

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 and (type(self._data) is _ndarray or backend_for_array(self._data).has_data):
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol: int) -> Any:
        from disttorch._ops.creation import _rebuild_subclass, _rebuild_tensor
        from disttorch._tensor import Tensor

        args = (self.__array__().copy(), str(self.device), self._requires_grad)
        if type(self) is not Tensor:
            # a subclass (as PyTorch: its type and its Python attributes come back)
            return (_rebuild_subclass, (type(self), *args, getattr(self, "__dict__", None) or None))
        return (_rebuild_tensor, args)

