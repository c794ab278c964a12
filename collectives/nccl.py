"""Collectives on cupy arrays through NCCL (``cupy.cuda.nccl``).

Bootstrap as ChainerMN and Horovod do it: every rank selects its device first, rank 0 makes the NCCL unique
id, and the id travels to the other ranks over the host (MPI) communicator. Every operation is enqueued on
this communicator's own non-blocking CUDA stream after that stream waited for an event recorded on the
caller's current stream (so inputs are ready); an event recorded after the operation is what a
:class:`NCCLWork` waits for. Waiting makes the caller's current stream wait for that event (as PyTorch's
NCCL ``Work.wait`` does), so the host is not blocked and compute queued later sees the result; with a
timeout it polls the event and raises :class:`CollectiveError` when it is exceeded.

cupy is imported only when an NCCLCommunicator is built.
"""
from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from typing import Any, Sequence

from .base import CollectiveError, Communicator, ObjectsThroughHost, ReduceOp, Work, as_bytes, check_reduce

# ncclDataType_t / ncclRedOp_t values (stable across NCCL 2.x); cupy's named constants win where present
_DTYPES = {"int8": 0, "uint8": 1, "int32": 2, "uint32": 3, "int64": 4, "uint64": 5, "float16": 6,
           "float32": 7, "float64": 8, "bfloat16": 9}
_DTYPE_NAMES = {"int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "int32": "NCCL_INT32", "uint32": "NCCL_UINT32",
                "int64": "NCCL_INT64", "uint64": "NCCL_UINT64", "float16": "NCCL_FLOAT16",
                "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64", "bfloat16": "NCCL_BFLOAT16"}
_OPS = {ReduceOp.SUM: 0, ReduceOp.PRODUCT: 1, ReduceOp.MAX: 2, ReduceOp.MIN: 3, ReduceOp.AVG: 4}
# bool travels as uint8: "any" is MAX, "all" is MIN
_BOOL_OPS = {ReduceOp.SUM: ReduceOp.MAX, ReduceOp.MAX: ReduceOp.MAX, ReduceOp.BOR: ReduceOp.MAX,
             ReduceOp.PRODUCT: ReduceOp.MIN, ReduceOp.MIN: ReduceOp.MIN, ReduceOp.BAND: ReduceOp.MIN}


def nccl_available() -> bool:
    """cupy with NCCL support and at least one visible CUDA device."""
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return False
    except Exception:  # no cupy, no driver, no device: a CPU job, which must not hear about NCCL
        return False
    try:
        with warnings.catch_warnings():  # cupy warns at length when it cannot load libnccl: this is only a probe
            warnings.simplefilter("ignore")
            from cupy.cuda import nccl
        return bool(getattr(nccl, "available", True))
    except Exception:
        return False


class NCCLWork(Work):
    __slots__ = ("_event", "_post", "_keep", "_what", "_timeout", "_done")

    def __init__(self, event: Any, post: Callable[[], None] | None, keep: Any, what: str,
                 timeout: float | None) -> None:
        self._event, self._post, self._keep, self._what, self._timeout = event, post, keep, what, timeout
        self._done = False

    def is_completed(self) -> bool:
        if self._event.done:
            self.wait()
            return True
        return False

    def wait(self, timeout: float | None = None) -> bool:
        if self._done:
            return True
        import cupy

        timeout = self._timeout if timeout is None else timeout
        if timeout is not None:
            start = time.perf_counter()
            while not self._event.done:
                if time.perf_counter() - start > timeout:
                    raise CollectiveError(f"{self._what} (NCCL) did not complete within {timeout:g} s: not every "
                                          f"rank joined it, or one is stuck")
                time.sleep(1e-4)
        cupy.cuda.get_current_stream().wait_event(self._event)
        self._done = True
        if self._post is not None:
            self._post()  # enqueued on the current stream, after the collective
        self._post = None
        self._keep = None
        return True


class NCCLCommunicator(ObjectsThroughHost, Communicator):
    """The ranks of ``host`` (an MPI communicator), one CUDA device each."""

    name = "nccl"

    def __init__(self, host: Communicator, device: int | None = None, timeout: float | None = None,
                 debug: bool = False) -> None:
        import cupy
        from cupy.cuda import nccl

        self._cp, self._nccl_mod, self._host = cupy, nccl, host
        self.rank, self.size, self.world_ranks = host.rank, host.size, host.world_ranks
        self.timeout = timeout if timeout is not None else host.timeout
        self._enforce = debug and self.timeout is not None
        self._device = cupy.cuda.runtime.getDevice() if device is None else int(device)
        version = nccl.get_version() if hasattr(nccl, "get_version") else 0
        self._has_avg = version >= 21000
        self._has_bf16 = version >= 21000
        with cupy.cuda.Device(self._device):
            uid = nccl.get_unique_id() if self.rank == 0 else None
            uid = host.broadcast_object(uid, 0)
            self._comm = nccl.NcclCommunicator(self.size, uid, self.rank)
            self._stream = cupy.cuda.Stream(non_blocking=True)

    # -- plumbing --------------------------------------------------------------------------------------
    def _dtype_code(self, dtype: Any) -> int:
        name = str(dtype)
        if name not in _DTYPES or (name == "bfloat16" and not self._has_bf16):
            raise CollectiveError(f"NCCL has no reductions for dtype {dtype}")
        return getattr(self._nccl_mod, _DTYPE_NAMES[name], _DTYPES[name])

    def _contig(self, arr: Any, read: bool = True) -> tuple[Any, Callable[[], None] | None]:
        if arr.flags.c_contiguous:
            return arr, None
        buf = self._cp.ascontiguousarray(arr) if read else self._cp.empty(arr.shape, arr.dtype)

        def back() -> None:
            arr[...] = buf
        return buf, back

    def _reduce_buffer(self, arr: Any, op: ReduceOp, write: bool = True) -> tuple[Any, int, int, Callable | None]:
        """(buf, nccl dtype, nccl op, post) for reducing ``arr`` in place."""
        check_reduce(arr.dtype, op)
        cp = self._cp
        buf, back = self._contig(arr)
        red, steps = buf, []
        kind = arr.dtype.kind
        if kind == "b":
            if op not in _BOOL_OPS:
                raise CollectiveError(f"NCCL cannot reduce bool with {op.name}")
            red, op = buf.view(cp.uint8), _BOOL_OPS[op]
        elif kind == "c":
            red = buf.view(cp.float32 if arr.dtype.itemsize == 8 else cp.float64)
        elif str(arr.dtype) in ("int16", "uint16") or (str(arr.dtype) == "bfloat16" and not self._has_bf16):
            red = buf.astype(cp.int32 if kind in "iu" else cp.float32)
            steps.append(lambda: buf.__setitem__(Ellipsis, red.astype(buf.dtype)))
        if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR):
            raise CollectiveError(f"NCCL has no bitwise reduction ReduceOp.{op.name}")
        nccl_op = _OPS[op]
        if op is ReduceOp.AVG and not self._has_avg:
            nccl_op = _OPS[ReduceOp.SUM]
            size = self.size
            steps.insert(0, lambda: red.__itruediv__(size))
        if back is not None:
            steps.append(back)
        post = None
        if write and steps:
            def post() -> None:
                for step in steps:
                    step()
        return red, self._dtype_code(red.dtype), nccl_op, post

    def _launch(self, what: str, enqueue: Callable[[int], None], post: Callable[[], None] | None,
                async_op: bool, keep: Any) -> Work | None:
        cp = self._cp
        with cp.cuda.Device(self._device):
            ready = cp.cuda.get_current_stream().record()
            self._stream.wait_event(ready)
            try:
                enqueue(self._stream.ptr)
            except self._nccl_mod.NcclError as exc:
                raise CollectiveError(f"{what} failed on rank {self.world_ranks[self.rank]}: {exc}") from exc
            done = self._stream.record()
        work = NCCLWork(done, post, keep, what, self.timeout if self._enforce else None)
        if async_op:
            return work
        work.wait()
        return None

    def _grouped(self, calls: list[Callable[[int], None]]) -> Callable[[int], None]:
        nccl = self._nccl_mod

        def enqueue(stream: int) -> None:
            nccl.groupStart()
            try:
                for call in calls:
                    call(stream)
            finally:
                nccl.groupEnd()
        return enqueue

    # -- reductions ------------------------------------------------------------------------------------
    def all_reduce(self, array: Any, op: ReduceOp = ReduceOp.SUM, async_op: bool = False) -> Work | None:
        buf, dt, nop, post = self._reduce_buffer(array, op)
        ptr, n, comm = buf.data.ptr, buf.size, self._comm
        return self._launch("all_reduce", lambda s: comm.allReduce(ptr, ptr, n, dt, nop, s), post, async_op, buf)

    def reduce(self, array: Any, root: int, op: ReduceOp = ReduceOp.SUM, async_op: bool = False) -> Work | None:
        buf, dt, nop, post = self._reduce_buffer(array, op, write=self.rank == root)
        ptr, n, comm = buf.data.ptr, buf.size, self._comm
        return self._launch("reduce", lambda s: comm.reduce(ptr, ptr, n, dt, nop, root, s), post, async_op, buf)

    def reduce_scatter(self, output: Any, inputs: Any, op: ReduceOp = ReduceOp.SUM,
                       async_op: bool = False) -> Work | None:
        if tuple(inputs.shape) != (self.size, *output.shape):
            raise CollectiveError(f"reduce_scatter: inputs of shape {tuple(inputs.shape)} do not hold {self.size} "
                                  f"chunks of shape {tuple(output.shape)}")
        send, dt, nop, _ = self._reduce_buffer(inputs, op, write=False)
        recv, _, _, post = self._reduce_buffer(output, op)
        comm, n = self._comm, recv.size
        return self._launch("reduce_scatter",
                            lambda s: comm.reduceScatter(send.data.ptr, recv.data.ptr, n, dt, nop, s),
                            post, async_op, (send, recv))

    # -- data movement ---------------------------------------------------------------------------------
    def broadcast(self, array: Any, root: int, async_op: bool = False) -> Work | None:
        buf, back = self._contig(array, read=self.rank == root)
        data, comm = as_bytes(buf), self._comm
        return self._launch("broadcast", lambda s: comm.bcast(data.data.ptr, data.size, 1, root, s),
                            None if self.rank == root else back, async_op, buf)

    def all_gather(self, output: Any, array: Any, async_op: bool = False) -> Work | None:
        send, _ = self._contig(array)
        recv, back = self._contig(output, read=False)
        sdata, rdata, comm = as_bytes(send), as_bytes(recv), self._comm
        return self._launch("all_gather", lambda s: comm.allGather(sdata.data.ptr, rdata.data.ptr, sdata.size, 1, s),
                            back, async_op, (send, recv))

    def gather(self, output: Any | None, array: Any, root: int, async_op: bool = False) -> Work | None:
        send, _ = self._contig(array)
        sdata, comm = as_bytes(send), self._comm
        n = sdata.size
        calls = [lambda s: comm.send(sdata.data.ptr, n, 1, root, s)]
        recv = back = None
        if self.rank == root:
            recv, back = self._contig(output, read=False)
            rdata = as_bytes(recv).reshape(self.size, n)
            calls = [(lambda r: lambda s: comm.recv(rdata[r].data.ptr, n, 1, r, s))(r) for r in range(self.size)]
            calls.append(lambda s: comm.send(sdata.data.ptr, n, 1, root, s))
        return self._launch("gather", self._grouped(calls), back, async_op, (send, recv))

    def scatter(self, output: Any, inputs: Any | None, root: int, async_op: bool = False) -> Work | None:
        recv, back = self._contig(output, read=False)
        rdata, comm = as_bytes(recv), self._comm
        n = rdata.size
        calls = [lambda s: comm.recv(rdata.data.ptr, n, 1, root, s)]
        send = None
        if self.rank == root:
            send, _ = self._contig(inputs)
            sdata = as_bytes(send).reshape(self.size, n)
            calls = [(lambda r: lambda s: comm.send(sdata[r].data.ptr, n, 1, r, s))(r) for r in range(self.size)]
            calls.append(lambda s: comm.recv(rdata.data.ptr, n, 1, root, s))
        return self._launch("scatter", self._grouped(calls), back, async_op, (send, recv))

    def all_to_all(self, output: Any, inputs: Any, async_op: bool = False) -> Work | None:
        rows = [1] * self.size
        return self._all_to_all("all_to_all", output, rows, inputs, rows, async_op)

    def all_to_all_v(self, output: Any, output_splits: Sequence[int], inputs: Any, input_splits: Sequence[int],
                     async_op: bool = False) -> Work | None:
        return self._all_to_all("all_to_all", output, output_splits, inputs, input_splits, async_op)

    def _all_to_all(self, what: str, output: Any, output_splits: Sequence[int], inputs: Any,
                    input_splits: Sequence[int], async_op: bool) -> Work | None:
        send, _ = self._contig(inputs)
        recv, back = self._contig(output, read=False)
        row = inputs.dtype.itemsize * math.prod(inputs.shape[1:])
        sdata, rdata, comm = as_bytes(send), as_bytes(recv), self._comm
        calls, so, ro = [], 0, 0
        for peer in range(self.size):
            sn, rn = int(input_splits[peer]) * row, int(output_splits[peer]) * row
            calls.append((lambda p, o, n: lambda s: comm.send(sdata.data.ptr + o, n, 1, p, s))(peer, so, sn))
            calls.append((lambda p, o, n: lambda s: comm.recv(rdata.data.ptr + o, n, 1, p, s))(peer, ro, rn))
            so, ro = so + sn, ro + rn
        return self._launch(what, self._grouped(calls), back, async_op, (send, recv))

    def send(self, array: Any, dst: int, tag: int = 0) -> None:
        self.isend(array, dst, tag).wait()

    def recv(self, array: Any, src: int | None = None, tag: int = 0) -> int:
        self.irecv(array, src, tag).wait()
        return int(src)  # type: ignore[arg-type]

    def isend(self, array: Any, dst: int, tag: int = 0) -> Work:
        buf, _ = self._contig(array)
        data, comm = as_bytes(buf), self._comm
        return self._launch("send", lambda s: comm.send(data.data.ptr, data.size, 1, dst, s), None, True, buf)

    def irecv(self, array: Any, src: int | None = None, tag: int = 0) -> Work:
        if src is None:
            raise CollectiveError("NCCL cannot receive from any source: pass the source rank")
        buf, back = self._contig(array, read=False)
        data, comm = as_bytes(buf), self._comm
        work = self._launch("recv", lambda s: comm.recv(data.data.ptr, data.size, 1, src, s), back, True, buf)
        work.result = lambda: src  # type: ignore[union-attr, method-assign]
        return work  # type: ignore[return-value]

    def barrier(self, async_op: bool = False) -> Work | None:
        self._cp.cuda.Device(self._device).synchronize()
        return self._host.barrier(async_op)

    # -- objects, groups, teardown (through the host communicator) -------------------------------------
    def split(self, ranks: Sequence[int], local: bool = False) -> Communicator | None:
        host = self._host.split(ranks, local)  # type: ignore[call-arg]
        return None if host is None else NCCLCommunicator(host, self._device, self.timeout, self._enforce)

    def local_rank(self) -> tuple[int, int]:
        return self._host.local_rank()

    def abort(self, code: int = 1) -> None:
        try:
            self._comm.abort()
        finally:
            self._host.abort(code)

    def free(self) -> None:
        self._stream.synchronize()
        self._comm.destroy()
