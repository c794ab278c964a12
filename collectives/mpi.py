"""Collectives through MPI on mpi4py's buffer API (uppercase methods: no pickling on the hot path).

* In place with ``MPI.IN_PLACE`` where the collective allows it; contiguous numpy arrays of a type MPI
  reduces natively go straight to MPI with no copy.
* Non-contiguous arrays are copied to a contiguous buffer and the result copied back.
* float16 and bfloat16 are reduced in a float32 temporary (MPI has no portable half-precision SUM) and cast
  back; data movement (broadcast, gathers, all-to-all, send/recv) moves raw bytes, so any dtype works.
* AVG is SUM followed by a division by the group size (integer AVG raises like PyTorch).
* Device arrays (cupy) go to MPI directly when the MPI is CUDA-aware (``DISTTORCH_CUDA_AWARE_MPI=1`` to assert
  it), otherwise they are staged through pinned host memory (:mod:`.mpi_staging`).
* ``async_op=True`` uses the nonblocking ``I*`` form and returns an :class:`MPIWork`; :meth:`poll` drives
  MPI's progress for all outstanding collectives (MPICH advances them only inside MPI calls).
* Argument checks, always on: before every collective the ranks reduce a fixed-size int64 fingerprint
  (collective, dtype, shape, reduce op, root, sequence number) in one small nonblocking all-reduce, polled with
  the group's timeout, and raise :class:`CollectiveError` naming the ranks that disagree, the rank that left the
  job, or the ranks that did not come in time (:mod:`.mpi_checks`, :mod:`.mpi_watch`). In debug mode
  (``DISTTORCH_DEBUG=DETAIL`` or ``TORCH_DISTRIBUTED_DEBUG=DETAIL``) readable fingerprints are all-gathered
  and compared instead.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable
from typing import Any, Sequence

import numpy as np

from .base import CollectiveError, Communicator, CompletedWork, ReduceOp, Work, as_bytes, check_reduce
from .mpi_checks import ArgumentChecks
from .mpi_staging import HostStaging
from .mpi_watch import get_watch

MPI: Any = None
_OPS: dict = {}
_BOOL_OPS: dict = {}
_TAG_BARRIER = 0x4D42


def load_mpi() -> Any:
    """mpi4py's MPI module (imported on first use: importing it initialises MPI)."""
    global MPI
    if MPI is None:
        from mpi4py import MPI as _MPI

        MPI = _MPI
        _OPS.update({ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                     ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
                     ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR})
        # bool: PyTorch's SUM/MAX/BOR are "any", PRODUCT/MIN/BAND are "all"
        _BOOL_OPS.update({ReduceOp.SUM: MPI.LOR, ReduceOp.MAX: MPI.LOR, ReduceOp.BOR: MPI.LOR,
                          ReduceOp.PRODUCT: MPI.LAND, ReduceOp.MIN: MPI.LAND, ReduceOp.BAND: MPI.LAND,
                          ReduceOp.BXOR: MPI.LXOR})
    return MPI


def debug_mode() -> bool:
    """True when ``DISTTORCH_DEBUG`` (or ``TORCH_DISTRIBUTED_DEBUG``) is ``DETAIL``."""
    value = os.environ.get("DISTTORCH_DEBUG") or os.environ.get("TORCH_DISTRIBUTED_DEBUG") or ""
    return value.upper() == "DETAIL"


def cuda_aware() -> bool:
    """Whether MPI may be handed device pointers (env ``DISTTORCH_CUDA_AWARE_MPI`` overrides detection)."""
    env = os.environ.get("DISTTORCH_CUDA_AWARE_MPI")
    if env is not None:
        return env.strip().lower() not in ("", "0", "false", "no")
    query = getattr(load_mpi(), "Query_cuda_support", None)  # MPI 4.1 / MPIX extension where exposed
    if query is not None:
        try:
            return bool(query())
        except Exception:
            return False
    return False


class MPIWork(Work):
    """A nonblocking MPI operation; ``post`` (copy-back, cast, AVG division) runs once when it completes."""

    __slots__ = ("_owner", "_request", "_post", "_what", "_keep", "_done", "_status", "_result", "_rec",
                 "_exception", "_check")

    def __init__(self, owner: MPICommunicator, request: Any, post: Callable[[], None] | None, what: str,
                 keep: Any = None, status: Any = None, rec: list | None = None, check: tuple | None = None) -> None:
        self._owner, self._request, self._post, self._what = owner, request, post, what
        self._keep, self._status, self._done, self._result = keep, status, False, None
        self._rec, self._exception, self._check = rec, None, check

    def is_completed(self) -> bool:
        if self._done:
            return True
        if self._exception is not None:
            return False
        if self._check is not None:
            if not self._check[0].Test():
                return False
            self._verified()
        done = self._request.Test(self._status) if self._status is not None else self._request.Test()
        if done:
            self._complete()
        return done

    def _verified(self) -> None:
        """The argument check of this operation passed (waiting for it with the deadline), or raise."""
        check, self._check = self._check, None
        if check is not None:
            try:
                self._owner._verify(check)
            except CollectiveError as exc:
                self._exception = exc
                raise

    def wait(self, timeout: float | None = None) -> bool:
        if self._done:
            return True
        if self._exception is not None:
            raise self._exception
        owner = self._owner
        self._verified()
        try:
            owner._wait(self._request, self._what, timeout, self._status)
        except MPI.Exception as exc:
            self._exception = CollectiveError(f"{self._what} failed on rank {owner._me}: {exc}")
            raise self._exception from exc
        except CollectiveError as exc:
            self._exception = exc
            raise
        self._complete()
        return True

    def exception(self) -> BaseException | None:
        """The error that ended this operation (a timeout, a lost peer), or None."""
        return self._exception

    def result(self) -> Any:
        return self._result

    def _complete(self) -> None:
        if self._done:
            return
        self._verified()  # the payload finished: so did every rank's check (raises on a mismatch)
        self._done = True
        self._owner._pending.pop(id(self), None)
        if self._rec is not None:
            self._rec[5] = time.perf_counter()
        if self._status is not None:
            self._result = self._status.Get_source()
        if self._post is not None:
            self._post()
        self._keep = self._post = None


class MPICommunicator(ArgumentChecks, HostStaging, Communicator):
    """A group of MPI ranks (``MPI.COMM_WORLD`` by default, duplicated so user traffic never mixes with ours)."""

    name = "mpi"

    def __init__(self, comm: Any = None, *, timeout: float | None = None, debug: bool | None = None,
                 dup: bool = True, world_ranks: Sequence[int] | None = None) -> None:
        M = load_mpi()
        base = M.COMM_WORLD if comm is None else comm
        self._comm = base.Dup() if dup else base
        self._ctl = self._comm.Dup()  # fingerprints and monitored barriers: never matched with user messages
        for c in (self._comm, self._ctl):
            c.Set_errhandler(M.ERRORS_RETURN)  # MPI errors become Python exceptions (then CollectiveError)
        self.rank, self.size = self._comm.Get_rank(), self._comm.Get_size()
        if world_ranks is None:
            world_ranks = M.Group.Translate_ranks(self._comm.Get_group(), list(range(self.size)),
                                                  M.COMM_WORLD.Get_group())
        self.world_ranks = tuple(int(r) for r in world_ranks)
        self._me = self.world_ranks[self.rank]
        self.timeout = timeout
        self.debug = debug_mode() if debug is None else debug
        self._cuda_aware: bool | None = None
        self._seq = 0
        self._watch = get_watch(M)
        self._check: tuple | None = None
        self._min_op = M.MIN
        self._rec: list | None = None
        self._pending: dict[int, MPIWork] = {}
        self._pinned: list = []
        self._fast_op = self._fast_dtype = self._fast_mpi = None

    # -- plumbing --------------------------------------------------------------------------------------
    def _launch(self, what: str, block: Callable[[], Any], start: Callable[[], Any],
                post: Callable[[], None] | None, async_op: bool, keep: Any = None) -> Work | None:
        """Run the payload of a collective whose arguments the ranks agreed on (``_begin``): blocking, or
        started as a nonblocking operation whose Work runs ``post`` when it completes."""
        rec, check = self._rec, self._check
        self._check = None
        try:
            if check is None and not async_op:  # a world of one, or debug mode (checked already)
                block()
            else:
                work = MPIWork(self, start(), post, f"{what} #{self._seq}", keep, rec=rec, check=check)
                if async_op:
                    self._pending[id(work)] = work
                    return work
                work.wait()
                if self._pending:
                    self.poll()
                return None
        except MPI.Exception as exc:
            raise CollectiveError(f"{what} failed on rank {self._me}: {exc}") from exc
        if post is not None:
            post()
        if rec is not None:
            rec[5] = time.perf_counter()
        if self._pending:
            self.poll()
        return None

    def _device_aware(self) -> bool:
        if self._cuda_aware is None:
            self._cuda_aware = cuda_aware()
        return self._cuda_aware

    def _mpi_op(self, dtype: Any, op: ReduceOp) -> Any:
        return _BOOL_OPS[op] if dtype.kind == "b" else _OPS[op]

    # -- reductions ------------------------------------------------------------------------------------
    def all_reduce(self, array: Any, op: ReduceOp = ReduceOp.SUM, async_op: bool = False) -> Work | None:
        if type(array) is np.ndarray and not async_op and array.flags.c_contiguous:
            # hot path: straight to MPI, in place; the (dtype, op) -> MPI op answer of the last call is kept
            dtype = array.dtype
            if op is self._fast_op and dtype is self._fast_dtype:
                mpi_op = self._fast_mpi
            else:
                mpi_op = self._direct_op(dtype, op)
            if mpi_op is not None:
                self._begin("all_reduce", array, op)
                check, self._check = self._check, None
                try:
                    if check is None:
                        self._comm.Allreduce(MPI.IN_PLACE, array, mpi_op)
                    else:  # the payload overlaps the check: one round trip for both
                        request = self._comm.Iallreduce(MPI.IN_PLACE, array, mpi_op)
                        self._verify(check)
                        self._wait(request, "all_reduce")
                except MPI.Exception as exc:
                    raise CollectiveError(f"all_reduce failed on rank {self._me}: {exc}") from exc
                self._rec[5] = time.perf_counter()  # type: ignore[index]
                if self._pending:
                    self.poll()  # earlier asynchronous collectives of this group are done too by now
                return None
        buf, mpi_op, post = self._reduce_buffer(array, op)
        self._begin("all_reduce", array, op)
        comm = self._comm
        return self._launch("all_reduce", lambda: comm.Allreduce(MPI.IN_PLACE, buf, mpi_op),
                            lambda: comm.Iallreduce(MPI.IN_PLACE, buf, mpi_op), post, async_op, buf)

    def _direct_op(self, dtype: Any, op: ReduceOp) -> Any:
        """The MPI op that reduces ``dtype`` in place with no staging (None when it needs a temporary)."""
        check_reduce(dtype, op)
        if op is ReduceOp.AVG or dtype.kind not in "fiuc" or dtype.char == "e":
            return None
        self._fast_op, self._fast_dtype, self._fast_mpi = op, dtype, _OPS[op]
        return self._fast_mpi

    def reduce(self, array: Any, root: int, op: ReduceOp = ReduceOp.SUM, async_op: bool = False) -> Work | None:
        self._check_root("reduce", root)
        is_root = self.rank == root
        buf, mpi_op, post = self._reduce_buffer(array, op, write=is_root)
        self._begin("reduce", array, op, root)
        send, recv = (MPI.IN_PLACE, buf) if is_root else (buf, None)
        comm = self._comm
        return self._launch("reduce", lambda: comm.Reduce(send, recv, mpi_op, root),
                            lambda: comm.Ireduce(send, recv, mpi_op, root), post, async_op, buf)

    def reduce_scatter(self, output: Any, inputs: Any, op: ReduceOp = ReduceOp.SUM,
                       async_op: bool = False) -> Work | None:
        self._expect("reduce_scatter", inputs, (self.size, *output.shape), output.dtype)
        send, mpi_op, _ = self._reduce_buffer(inputs, op, write=False)
        recv, _, post = self._reduce_buffer(output, op)
        self._begin("reduce_scatter", output, op)
        comm = self._comm
        return self._launch("reduce_scatter", lambda: comm.Reduce_scatter_block(send, recv, mpi_op),
                            lambda: comm.Ireduce_scatter_block(send, recv, mpi_op), post, async_op, (send, recv))

    # -- data movement ---------------------------------------------------------------------------------
    def broadcast(self, array: Any, root: int, async_op: bool = False) -> Work | None:
        self._check_root("broadcast", root)
        self._begin("broadcast", array, root=root)
        is_root = self.rank == root
        buf, back = self._view(array, read=is_root)
        data = as_bytes(buf)
        comm = self._comm
        return self._launch("broadcast", lambda: comm.Bcast(data, root), lambda: comm.Ibcast(data, root),
                            None if is_root else back, async_op, buf)

    def all_gather(self, output: Any, array: Any, async_op: bool = False) -> Work | None:
        self._expect("all_gather", output, (self.size, *array.shape), array.dtype)
        self._begin("all_gather", array)
        send, _ = self._view(array)
        recv, back = self._view(output, read=False)
        sdata, rdata = as_bytes(send), as_bytes(recv)
        comm = self._comm
        return self._launch("all_gather", lambda: comm.Allgather(sdata, rdata),
                            lambda: comm.Iallgather(sdata, rdata), back, async_op, (send, recv))

    def gather(self, output: Any | None, array: Any, root: int, async_op: bool = False) -> Work | None:
        self._check_root("gather", root)
        if self.rank == root:
            self._expect("gather", output, (self.size, *array.shape), array.dtype)
        self._begin("gather", array, root=root)
        send, _ = self._view(array)
        sdata = as_bytes(send)
        recv = back = rdata = None
        if self.rank == root:
            recv, back = self._view(output, read=False)
            rdata = as_bytes(recv)
        comm = self._comm
        return self._launch("gather", lambda: comm.Gather(sdata, rdata, root),
                            lambda: comm.Igather(sdata, rdata, root), back, async_op, (send, recv))

    def scatter(self, output: Any, inputs: Any | None, root: int, async_op: bool = False) -> Work | None:
        self._check_root("scatter", root)
        if self.rank == root:
            self._expect("scatter", inputs, (self.size, *output.shape), output.dtype)
        self._begin("scatter", output, root=root)
        send = sdata = None
        if self.rank == root:
            send, _ = self._view(inputs)
            sdata = as_bytes(send)
        recv, back = self._view(output, read=False)
        rdata = as_bytes(recv)
        comm = self._comm
        return self._launch("scatter", lambda: comm.Scatter(sdata, rdata, root),
                            lambda: comm.Iscatter(sdata, rdata, root), back, async_op, (send, recv))

    def all_to_all(self, output: Any, inputs: Any, async_op: bool = False) -> Work | None:
        if inputs.ndim == 0 or inputs.shape[0] != self.size:
            raise CollectiveError(f"all_to_all: inputs need {self.size} chunks along axis 0, got shape "
                                  f"{tuple(inputs.shape)}")
        self._expect("all_to_all", output, inputs.shape, inputs.dtype)
        self._begin("all_to_all", inputs)
        send, _ = self._view(inputs)
        recv, back = self._view(output, read=False)
        sdata, rdata = as_bytes(send), as_bytes(recv)
        comm = self._comm
        return self._launch("all_to_all", lambda: comm.Alltoall(sdata, rdata),
                            lambda: comm.Ialltoall(sdata, rdata), back, async_op, (send, recv))

    def all_to_all_v(self, output: Any, output_splits: Sequence[int], inputs: Any, input_splits: Sequence[int],
                     async_op: bool = False) -> Work | None:
        if len(output_splits) != self.size or len(input_splits) != self.size:
            raise CollectiveError(f"all_to_all: split sizes need {self.size} entries, got {list(input_splits)} "
                                  f"and {list(output_splits)}")
        if output.dtype != inputs.dtype or output.shape[1:] != inputs.shape[1:]:
            raise CollectiveError("all_to_all: input and output differ in dtype or in their trailing shape")
        if sum(input_splits) != inputs.shape[0] or sum(output_splits) != output.shape[0]:
            raise CollectiveError(f"all_to_all: split sizes {list(input_splits)} / {list(output_splits)} do not "
                                  f"add up to the input / output lengths {inputs.shape[0]} / {output.shape[0]}")
        self._begin("all_to_all_v", inputs, shape=False)
        row = inputs.dtype.itemsize * math.prod(inputs.shape[1:])
        scounts = [int(n) * row for n in input_splits]
        rcounts = [int(n) * row for n in output_splits]
        sdispl = [0, *np.cumsum(scounts)[:-1].tolist()]
        rdispl = [0, *np.cumsum(rcounts)[:-1].tolist()]
        send, _ = self._view(inputs)
        recv, back = self._view(output, read=False)
        smsg = [as_bytes(send), (scounts, sdispl), MPI.BYTE]
        rmsg = [as_bytes(recv), (rcounts, rdispl), MPI.BYTE]
        comm = self._comm
        return self._launch("all_to_all", lambda: comm.Alltoallv(smsg, rmsg),
                            lambda: comm.Ialltoallv(smsg, rmsg), back, async_op, (send, recv))

    def barrier(self, async_op: bool = False) -> Work | None:
        self._begin("barrier")  # the check is an all-reduce over every rank: it is the barrier
        self._agreed()
        if self._rec is not None:
            self._rec[5] = time.perf_counter()
        return CompletedWork() if async_op else None

    def monitored_barrier(self, timeout: float, wait_all_ranks: bool = False) -> None:
        if self.size == 1:
            return
        token = np.zeros(1, np.uint8)
        deadline = time.perf_counter() + timeout
        ms = int(round(timeout * 1000))
        if self.rank == 0:
            tokens = {r: np.zeros(1, np.uint8) for r in range(1, self.size)}
            waiting = {r: self._ctl.Irecv(tokens[r], source=r, tag=_TAG_BARRIER) for r in tokens}
            while waiting and time.perf_counter() < deadline:
                for r in [r for r, req in waiting.items() if req.Test()]:
                    del waiting[r]
                if waiting:
                    time.sleep(1e-4)
            if waiting:
                for req in waiting.values():
                    req.Cancel()
                    req.Wait()
                failed = [self.world_ranks[r] for r in sorted(waiting)]
                if wait_all_ranks:
                    raise CollectiveError(f"[Rank 0]: Ranks {', '.join(map(str, failed))} failed to pass "
                                          f"monitoredBarrier in {ms} ms")
                raise CollectiveError(f"[Rank 0]: Rank {failed[0]} failed to pass monitoredBarrier in {ms} ms")
            MPI.Request.Waitall([self._ctl.Isend(token, r, tag=_TAG_BARRIER + 1) for r in tokens])
            return
        send = self._ctl.Isend(token, 0, tag=_TAG_BARRIER)
        ack = self._ctl.Irecv(np.zeros(1, np.uint8), source=0, tag=_TAG_BARRIER + 1)
        while not ack.Test():
            if time.perf_counter() > deadline:
                ack.Cancel()
                ack.Wait()
                raise CollectiveError(f"Rank {self._me} successfully reached monitoredBarrier, but received errors "
                                      f"while waiting for send/recv from rank 0. Please check rank 0 logs for "
                                      f"faulty rank.")
            time.sleep(1e-4)
        send.Wait()

    # -- point to point --------------------------------------------------------------------------------
    def send(self, array: Any, dst: int, tag: int = 0) -> None:
        buf, _ = self._view(array)
        try:
            self._wait(self._comm.Isend(as_bytes(buf), dst, tag), f"send to rank {self.world_ranks[dst]}")
        except MPI.Exception as exc:
            raise CollectiveError(f"send to rank {dst} failed on rank {self._me}: {exc}") from exc

    def recv(self, array: Any, src: int | None = None, tag: int = 0) -> int:
        buf, back = self._view(array, read=False)
        status = MPI.Status()
        try:
            request = self._comm.Irecv(as_bytes(buf), MPI.ANY_SOURCE if src is None else src, tag)
            self._wait(request, "recv" if src is None else f"recv from rank {self.world_ranks[src]}", status=status)
        except MPI.Exception as exc:
            raise CollectiveError(f"recv on rank {self._me} failed: {exc}") from exc
        if back is not None:
            back()
        return status.Get_source()

    def isend(self, array: Any, dst: int, tag: int = 0) -> Work:
        buf, _ = self._view(array)
        return MPIWork(self, self._comm.Isend(as_bytes(buf), dst, tag), None, f"isend to rank {dst}", buf)

    def irecv(self, array: Any, src: int | None = None, tag: int = 0) -> Work:
        buf, back = self._view(array, read=False)
        request = self._comm.Irecv(as_bytes(buf), MPI.ANY_SOURCE if src is None else src, tag)
        return MPIWork(self, request, back, "irecv", buf, status=MPI.Status())

    # -- objects ---------------------------------------------------------------------------------------
    def broadcast_object(self, obj: Any, root: int) -> Any:
        self._check_root("broadcast_object", root)
        self._begin("broadcast_object", root=root)
        self._agreed()
        return self._comm.bcast(obj, root)

    def all_gather_object(self, obj: Any) -> list:
        self._begin("all_gather_object")
        self._agreed()
        return self._comm.allgather(obj)

    def gather_object(self, obj: Any, root: int) -> list | None:
        self._check_root("gather_object", root)
        self._begin("gather_object", root=root)
        self._agreed()
        return self._comm.gather(obj, root)

    def scatter_object(self, objs: Sequence[Any] | None, root: int) -> Any:
        self._check_root("scatter_object", root)
        self._begin("scatter_object", root=root)
        self._agreed()
        return self._comm.scatter(None if objs is None else list(objs), root)

    # -- groups, progress, teardown --------------------------------------------------------------------
    def split(self, ranks: Sequence[int], local: bool = False) -> Communicator | None:
        """``local=True``: only the members call it (``MPI_Comm_create_group``); else every rank does."""
        ranks = [int(r) for r in ranks]
        member = self.rank in ranks
        if local:
            if not member:
                return None
            new = self._comm.Create_group(self._comm.Get_group().Incl(ranks))
        else:
            new = self._comm.Split(0 if member else MPI.UNDEFINED, ranks.index(self.rank) if member else 0)
        if new == MPI.COMM_NULL:
            return None
        return MPICommunicator(new, timeout=self.timeout, debug=self.debug, dup=False,
                               world_ranks=[self.world_ranks[r] for r in ranks])

    def poll(self) -> None:
        if not self._pending:
            return
        works = list(self._pending.values())
        done = MPI.Request.Testsome([w._request for w in works])
        for i in done or ():
            works[i]._complete()

    progress = poll

    def local_rank(self) -> tuple[int, int]:
        shared = self._comm.Split_type(MPI.COMM_TYPE_SHARED, self.rank)
        try:
            return shared.Get_rank(), shared.Get_size()
        finally:
            shared.Free()

    def abort(self, code: int = 1) -> None:
        self._watch.abort(code)

    def free(self) -> None:
        if MPI.Is_finalized() or self._watch.broken is not None:
            return  # after a timeout or a lost peer MPI may still hold our requests: leave them to MPI_Abort
        if self._pending:
            works = list(self._pending.values())
            warnings.warn(f"destroying a process group of ranks {list(self.world_ranks)} with {len(works)} "
                          f"collective(s) still pending ({', '.join(w._what for w in works)}): waiting for them",
                          stacklevel=3)
            for work in works:
                work.wait()
        for comm in (self._ctl, self._comm):
            if comm != MPI.COMM_NULL and comm != MPI.COMM_WORLD:
                comm.Free()
