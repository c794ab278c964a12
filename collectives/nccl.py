"""Collectives on cupy arrays through NCCL (``cupy.cuda.nccl``).

Bootstrap as ChainerMN and Horovod do it: every rank selects its device first, rank 0 makes the NCCL unique
id, and the id travels to the other ranks over the host (MPI) communicator. Every operation is enqueued on
this communicator's own non-blocking CUDA stream after that stream waited for an event recorded on the
caller's current stream (so inputs are ready); an event recorded after the operation is what a
:class:`NCCLWork` waits for. Waiting makes the caller's current stream wait for that event (as PyTorch's
NCCL ``Work.wait`` does), so the host is not blocked and compute queued later sees the result; with a
timeout it polls the event and raises :class:`CollectiveError` when it is exceeded.

A dead or stuck peer must not hang the job silently: in blocking mode (``DISTTORCH_DEBUG``) ``wait`` polls the
event and the communicator's asynchronous error and raises, naming the group; otherwise a work that is not done
when waited for is handed to a watchdog thread, which polls the same two things every 0.1 s and, on an NCCL
error or when the group's timeout passes, says so on stderr, aborts the NCCL communicator and ends the job
through the host communicator (``MPI_Abort``), as PyTorch's NCCL watchdog tears the process down.

cupy is imported only when an NCCLCommunicator is built.
"""
from __future__ import annotations

import math
import sys
import threading
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


def nccl_missing_reason() -> str | None:
    """Why cuda arrays cannot go through NCCL although cupy sees a CUDA device (None: NCCL works, or there is
    no cupy or no device, where nobody needs to hear about NCCL)."""
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from cupy.cuda import nccl
    except Exception as exc:
        return f"cupy.cuda.nccl cannot be imported ({exc})"
    if not getattr(nccl, "available", True):
        return "cupy cannot load libnccl (install the NCCL wheel: pip install 'disttorch[cuda12]' or " \
               "'disttorch[cuda13]', or put libnccl.so.2 on LD_LIBRARY_PATH)"
    return None


_WATCH_PERIOD = 0.1  # seconds between the watchdog's looks at outstanding works


class NCCLWork(Work):
    __slots__ = ("_event", "_post", "_keep", "_what", "_timeout", "_done", "_owner")

    def __init__(self, owner: NCCLCommunicator, event: Any, post: Callable[[], None] | None, keep: Any, what: str,
                 timeout: float | None) -> None:
        self._owner, self._event, self._post, self._keep, self._what = owner, event, post, keep, what
        self._timeout = timeout
        self._done = False

    def is_completed(self) -> bool:
        if self._event.done:
            self.wait()
            return True
        self._owner._check_async(self._what)
        return False

    def wait(self, timeout: float | None = None) -> bool:
        if self._done:
            return True
        owner = self._owner
        owner._raise_if_broken()
        timeout = self._timeout if timeout is None else timeout
        if timeout is not None:
            owner._poll(self._event, self._what, timeout)
        elif not self._event.done:
            owner._watch(self._event, self._what)
        cupy = owner._cp
        # the stream that must see the result is the one of the device the collective ran on, not of whichever
        # device happens to be current in the caller
        with cupy.cuda.Device(owner._device):
            cupy.cuda.get_current_stream().wait_event(self._event)
            self._done = True
            if self._post is not None:
                self._post()  # enqueued on that device's current stream, after the collective
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
        self._broken: str | None = None
        self._pending: list[tuple[Any, str, float]] = []
        self._lock = threading.Lock()
        self._watchdog: threading.Thread | None = None
        self._stop = threading.Event()

    # -- faults ----------------------------------------------------------------------------------------
    def _group_text(self) -> str:
        return f"the NCCL group of ranks {list(self.world_ranks)} (rank {self.world_ranks[self.rank]}, " \
               f"cuda:{self._device})"

    def _raise_if_broken(self) -> None:
        if self._broken is not None:
            raise CollectiveError(self._broken)

    def _break(self, message: str) -> str:
        """Mark the communicator unusable and abort it, so that kernels waiting for a dead peer return."""
        if self._broken is None:
            self._broken = message
            try:
                self._comm.abort()
            except Exception:
                pass
        return self._broken

    def _check_async(self, what: str) -> None:
        """Raise CollectiveError when NCCL reports an asynchronous error (a peer died, a network failed)."""
        check = getattr(self._comm, "check_async_error", None)
        if self._broken is not None or check is None:
            self._raise_if_broken()
            return
        try:
            check()
        except self._nccl_mod.NcclError as exc:
            raise CollectiveError(self._break(f"{what} on {self._group_text()} failed: NCCL reported an "
                                              f"asynchronous error: {exc}")) from exc

    def _poll(self, event: Any, what: str, timeout: float) -> None:
        """Wait on the host for ``event``, raising on an NCCL error or when ``timeout`` seconds pass."""
        start = time.perf_counter()
        while not event.done:
            self._check_async(what)
            waited = time.perf_counter() - start
            if waited > timeout:
                raise CollectiveError(self._break(
                    f"{what} on {self._group_text()} did not complete within {timeout:g} s: not every rank "
                    f"joined it, or one is stuck or dead"))
            time.sleep(min(0.01, 1e-4 + waited / 8))

    def _watch(self, event: Any, what: str) -> None:
        """Hand a work not yet done to the watchdog thread (started on first use); without a timeout it still
        watches for NCCL's asynchronous errors."""
        with self._lock:
            self._pending.append((event, what, time.perf_counter()))
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch_loop, name="disttorch-nccl-watchdog",
                                                  daemon=True)
                self._watchdog.start()

    def _check_pending(self) -> str | None:
        """One look at the outstanding works: drops those done; returns the failure (and breaks the
        communicator) on an NCCL error or when the oldest has outlived the group's timeout."""
        with self._lock:
            self._pending = [p for p in self._pending if not p[0].done]
            pending = list(self._pending)
        if not pending:
            return None
        event, what, started = pending[0]
        try:
            self._check_async(what)
        except CollectiveError as exc:
            return str(exc)
        waited = time.perf_counter() - started
        if self.timeout is not None and waited > self.timeout:
            return self._break(f"{what} on {self._group_text()} did not complete within {self.timeout:g} s: "
                               f"not every rank joined it, or one is stuck or dead")
        return None

    def _watch_loop(self) -> None:
        while not self._stop.wait(_WATCH_PERIOD):
            failure = self._check_pending()
            if failure is not None:
                sys.stderr.write(f"[rank {self.world_ranks[self.rank]}] {failure}: aborting the job\n")
                sys.stderr.flush()
                self._host.abort(1)
                return

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

    def _agree(self, what: str, array: Any = None, op: ReduceOp | None = None, root: int | None = None,
               shape: bool = True) -> None:
        """The host communicator's argument check before any kernel is queued: every rank runs the same
        collective (kind, dtype, shape, op, root, sequence number) or every rank raises, naming the ranks and
        the field, where NCCL would hang on the device. Host metadata only: no device synchronisation."""
        begin = getattr(self._host, "_begin", None)
        if begin is not None:
            begin(what, array, op, root, shape)
            self._host._agreed()

    def _launch(self, what: str, enqueue: Callable[[int], None], post: Callable[[], None] | None,
                async_op: bool, keep: Any) -> Work | None:
        self._raise_if_broken()
        cp = self._cp
        with cp.cuda.Device(self._device):
            ready = cp.cuda.get_current_stream().record()
            self._stream.wait_event(ready)
            try:
                enqueue(self._stream.ptr)
            except self._nccl_mod.NcclError as exc:
                raise CollectiveError(f"{what} failed on rank {self.world_ranks[self.rank]}: {exc}") from exc
            done = self._stream.record()
        work = NCCLWork(self, done, post, keep, what, self.timeout if self._enforce else None)
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
        self._agree("all_reduce", array, op)
        buf, dt, nop, post = self._reduce_buffer(array, op)
        ptr, n, comm = buf.data.ptr, buf.size, self._comm
        return self._launch("all_reduce", lambda s: comm.allReduce(ptr, ptr, n, dt, nop, s), post, async_op, buf)

    def reduce(self, array: Any, root: int, op: ReduceOp = ReduceOp.SUM, async_op: bool = False) -> Work | None:
        self._agree("reduce", array, op, root)
        buf, dt, nop, post = self._reduce_buffer(array, op, write=self.rank == root)
        ptr, n, comm = buf.data.ptr, buf.size, self._comm
        return self._launch("reduce", lambda s: comm.reduce(ptr, ptr, n, dt, nop, root, s), post, async_op, buf)

    def reduce_scatter(self, output: Any, inputs: Any, op: ReduceOp = ReduceOp.SUM,
                       async_op: bool = False) -> Work | None:
        if tuple(inputs.shape) != (self.size, *output.shape):
            raise CollectiveError(f"reduce_scatter: inputs of shape {tuple(inputs.shape)} do not hold {self.size} "
                                  f"chunks of shape {tuple(output.shape)}")
        self._agree("reduce_scatter", output, op)
        send, dt, nop, _ = self._reduce_buffer(inputs, op, write=False)
        recv, _, _, post = self._reduce_buffer(output, op)
        comm, n = self._comm, recv.size
        return self._launch("reduce_scatter",
                            lambda s: comm.reduceScatter(send.data.ptr, recv.data.ptr, n, dt, nop, s),
                            post, async_op, (send, recv))

    # -- data movement ---------------------------------------------------------------------------------
    def broadcast(self, array: Any, root: int, async_op: bool = False) -> Work | None:
        self._agree("broadcast", array, root=root)
        buf, back = self._contig(array, read=self.rank == root)
        data, comm = as_bytes(buf), self._comm
        return self._launch("broadcast", lambda s: comm.bcast(data.data.ptr, data.size, 1, root, s),
                            None if self.rank == root else back, async_op, buf)

    def all_gather(self, output: Any, array: Any, async_op: bool = False) -> Work | None:
        self._agree("all_gather", array)
        send, _ = self._contig(array)
        recv, back = self._contig(output, read=False)
        sdata, rdata, comm = as_bytes(send), as_bytes(recv), self._comm
        return self._launch("all_gather", lambda s: comm.allGather(sdata.data.ptr, rdata.data.ptr, sdata.size, 1, s),
                            back, async_op, (send, recv))

    def gather(self, output: Any | None, array: Any, root: int, async_op: bool = False) -> Work | None:
        self._agree("gather", array, root=root)
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
        self._agree("scatter", output, root=root)
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
        return self._all_to_all("all_to_all_v", output, output_splits, inputs, input_splits, async_op)

    def _all_to_all(self, what: str, output: Any, output_splits: Sequence[int], inputs: Any,
                    input_splits: Sequence[int], async_op: bool) -> Work | None:
        self._agree(what, inputs, shape=what == "all_to_all")
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

    def batch_isend_irecv(self, ops: Sequence[tuple[bool, Any, int, int]]) -> list[Work]:
        """All the sends and receives in one NCCL group (groupStart/groupEnd), so that a ring exchange where
        every rank sends before it receives does not deadlock; every op gets the group's one Work."""
        calls, backs, keep = [], [], []
        comm = self._comm
        for is_send, array, peer, _tag in ops:
            if peer is None:
                raise CollectiveError("NCCL cannot receive from any source: pass the source rank")
            buf, back = self._contig(array, read=is_send)
            data = as_bytes(buf)
            method = comm.send if is_send else comm.recv
            calls.append((lambda m, d, p: lambda s: m(d.data.ptr, d.size, 1, p, s))(method, data, peer))
            if back is not None and not is_send:
                backs.append(back)
            keep.append(buf)
        if not calls:
            return []

        def post() -> None:
            for back in backs:
                back()
        work = self._launch("batch_isend_irecv", self._grouped(calls), post if backs else None, True, keep)
        return [work] * len(calls)  # type: ignore[list-item]

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
        self._stop.set()
        if self._broken is not None:
            return  # aborted: nothing left to synchronise or destroy
        self._stream.synchronize()
        self._comm.destroy()
