"""Buffers MPI can use for any array, and the way back into the array.

* Contiguous numpy arrays are used as they are; non-contiguous ones through a contiguous copy.
* Device arrays (those whose backend gives a device index) go to MPI directly when it is CUDA-aware,
  otherwise through page-locked host buffers, pooled per communicator. Every device-specific call goes
  through the array's backend (``backend_for_array``).
* Reductions widen float16 and bfloat16 to float32 (MPI has no portable half-precision SUM) and do AVG as
  SUM followed by a division.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from disttorch.backends import backend_for_array

from .base import ReduceOp, check_reduce

_POOLED = 8  # page-locked buffers a communicator keeps for reuse


def _is_half(dtype: Any) -> bool:
    return dtype.char == "e" or dtype.name == "bfloat16"


class HostStaging:
    """Buffer handling, mixed into :class:`~disttorch.collectives.mpi.MPICommunicator`, which provides ``size``,
    the ``_pinned`` pool (a list of flat uint8 buffers), ``_device_aware()`` and ``_mpi_op()`` (the MPI op of a
    reduction)."""

    size: int
    _pinned: list

    def _device_aware(self) -> bool:
        raise NotImplementedError

    def _mpi_op(self, dtype: Any, op: ReduceOp) -> Any:
        raise NotImplementedError

    def _view(self, arr: Any, read: bool = True) -> tuple[Any, Callable[[], None] | None]:
        """(buf, back): C-contiguous memory MPI can use for ``arr`` and a function writing it back (None
        when ``buf`` is ``arr``'s own memory). ``read=False`` skips copying the current contents."""
        backend = None if type(arr) is np.ndarray else backend_for_array(arr)
        if backend is None or backend.device_index(arr) is None:
            if arr.flags.c_contiguous:
                return arr, None
            buf = np.ascontiguousarray(arr) if read else np.empty(arr.shape, arr.dtype)
            return buf, lambda: np.copyto(arr, buf)
        if self._device_aware():
            buf = arr if arr.flags.c_contiguous else backend.xp.ascontiguousarray(arr)
            backend.synchronize_stream()  # MPI touches the memory outside any stream
            if buf is arr:
                return arr, None

            def back_device() -> None:
                arr[...] = buf
            return buf, back_device
        host, block = self._pinned_empty(backend, arr.shape, arr.dtype)
        if read:
            backend.copy_to_host(arr, host)

        def back_host() -> None:
            backend.copy_from_host(arr, host)
            self._release_pinned(block)
        return host, back_host

    def _pinned_empty(self, backend: Any, shape: tuple, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
        """(array, block): a host array of ``shape`` and ``dtype`` in the page-locked ``block`` (reused from
        the pool when one is large enough)."""
        nbytes = int(math.prod(shape)) * np.dtype(dtype).itemsize
        for i, block in enumerate(self._pinned):
            if block.size >= nbytes:
                del self._pinned[i]
                break
        else:
            block = backend.pinned_buffer(max(1, nbytes))
        return block[:nbytes].view(dtype).reshape(shape), block

    def _release_pinned(self, block: np.ndarray) -> None:
        if len(self._pinned) < _POOLED:
            self._pinned.append(block)

    def _reduce_buffer(self, arr: Any, op: ReduceOp, write: bool = True) -> tuple[Any, Any, Callable | None]:
        """(buf, mpi_op, post) for reducing ``arr``: ``buf`` is contiguous, of a type MPI reduces, and
        ``post`` (AVG division, cast back, copy back) makes ``arr`` hold the result."""
        check_reduce(arr.dtype, op)
        buf, back = self._view(arr)
        wide = buf.astype(np.float32) if _is_half(buf.dtype) else None
        red = buf if wide is None else wide
        mpi_op = self._mpi_op(arr.dtype, op)
        avg = op is ReduceOp.AVG
        if not write or (wide is None and back is None and not avg):
            return red, mpi_op, None
        size = self.size

        def post() -> None:
            if avg:
                red.__itruediv__(size)
            if wide is not None:
                buf[...] = wide
            if back is not None:
                back()
        return red, mpi_op, post
