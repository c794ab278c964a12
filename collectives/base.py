"""The communicator interface: collectives over raw arrays (numpy or cupy), never Tensors.

Every collective works in place where PyTorch's does (all_reduce, broadcast, ...) and returns a
``Work`` when called with ``async_op=True`` (otherwise it completes before returning and returns
None). Implementations: ``mpi.MPICommunicator`` (mpi4py), ``nccl.NCCLCommunicator``
(cupy.cuda.nccl), ``single.SingleCommunicator`` (world of 1, no MPI).
"""
from __future__ import annotations

import enum
from typing import Any, Sequence


class ReduceOp(enum.Enum):
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


class CollectiveError(RuntimeError):
    """A collective failed: mismatched arguments across ranks, a timeout, or a transport error."""


class Work:
    """Handle of an asynchronous collective."""

    def wait(self, timeout: float | None = None) -> bool:
        """Block until done (raise CollectiveError after ``timeout`` seconds); returns True."""
        raise NotImplementedError

    def is_completed(self) -> bool:
        raise NotImplementedError

    def result(self) -> Any:
        return None


class CompletedWork(Work):
    """A Work that is already done (for blocking implementations)."""

    def __init__(self, result: Any = None) -> None:
        self._result = result

    def wait(self, timeout: float | None = None) -> bool:
        return True

    def is_completed(self) -> bool:
        return True

    def result(self) -> Any:
        return self._result


class Communicator:
    """A group of ranks. ``rank``/``size`` are within this group."""

    rank: int
    size: int
    name: str = ""

    # reductions
    def all_reduce(self, array: Any, op: ReduceOp = ReduceOp.SUM, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def reduce(self, array: Any, root: int, op: ReduceOp = ReduceOp.SUM, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def reduce_scatter(self, output: Any, inputs: Any, op: ReduceOp = ReduceOp.SUM,
                       async_op: bool = False) -> Work | None:
        """``inputs`` holds size equal chunks along axis 0 (one array of shape (size, *output.shape))."""
        raise NotImplementedError

    # data movement
    def broadcast(self, array: Any, root: int, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def all_gather(self, output: Any, array: Any, async_op: bool = False) -> Work | None:
        """``output`` has shape (size, *array.shape)."""
        raise NotImplementedError

    def gather(self, output: Any | None, array: Any, root: int, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def scatter(self, output: Any, inputs: Any | None, root: int, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def all_to_all(self, output: Any, inputs: Any, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    def send(self, array: Any, dst: int, tag: int = 0) -> None:
        raise NotImplementedError

    def recv(self, array: Any, src: int | None = None, tag: int = 0) -> int:
        """Returns the source rank."""
        raise NotImplementedError

    def isend(self, array: Any, dst: int, tag: int = 0) -> Work:
        raise NotImplementedError

    def irecv(self, array: Any, src: int | None = None, tag: int = 0) -> Work:
        raise NotImplementedError

    def batch_isend_irecv(self, ops: Sequence[tuple[bool, Any, int, int]]) -> list[Work]:
        """``(is_send, array, peer, tag)`` each, started together; one Work per op. By default one isend or
        irecv after the other; NCCL starts them as one group (a ring exchange would deadlock otherwise)."""
        return [self.isend(a, p, t) if is_send else self.irecv(a, p, t) for is_send, a, p, t in ops]

    def barrier(self, async_op: bool = False) -> Work | None:
        raise NotImplementedError

    # objects (pickled; not for the hot path)
    def broadcast_object(self, obj: Any, root: int) -> Any:
        raise NotImplementedError

    def all_gather_object(self, obj: Any) -> list:
        raise NotImplementedError

    # groups
    def split(self, ranks: Sequence[int]) -> Communicator | None:
        """A communicator over ``ranks`` (None on ranks not in it). Collective over this group."""
        raise NotImplementedError

    def abort(self, code: int = 1) -> None:
        raise NotImplementedError

    # -- additions ---------------------------------------------------------------------------------
    world_ranks: tuple[int, ...] = ()
    """Ranks of this group's members in the world communicator, indexed by group rank."""

    timeout: float | None = None
    """Seconds a blocking collective may take before CollectiveError (enforced in debug mode)."""

    def all_to_all_v(self, output: Any, output_splits: Sequence[int], inputs: Any, input_splits: Sequence[int],
                     async_op: bool = False) -> Work | None:
        """Uneven all-to-all along axis 0: the ``input_splits[j]`` rows of ``inputs`` after the first
        ``sum(input_splits[:j])`` go to rank j; ``output`` receives ``output_splits[i]`` rows from rank i, in
        rank order."""
        raise NotImplementedError

    def gather_object(self, obj: Any, root: int) -> list | None:
        """The objects of all ranks on ``root`` (None elsewhere)."""
        raise NotImplementedError

    def scatter_object(self, objs: Sequence[Any] | None, root: int) -> Any:
        """``objs[r]`` of ``root`` on rank r."""
        raise NotImplementedError

    def monitored_barrier(self, timeout: float, wait_all_ranks: bool = False) -> None:
        """A barrier through rank 0 that raises, naming the ranks that did not arrive within ``timeout``."""
        raise NotImplementedError

    def poll(self) -> None:
        """Drive progress of outstanding nonblocking operations (cheap; call it often during compute)."""

    progress = poll

    def local_rank(self) -> tuple[int, int]:
        """(rank, size) among the ranks of this group that share this node's memory."""
        return 0, 1

    def free(self) -> None:
        """Release the communicator's resources (collective over the group)."""


# torch spells the members ``ReduceOp.SUM`` and also ``ReduceOp.RedOpType.SUM``
ReduceOp.RedOpType = ReduceOp  # type: ignore[attr-defined]

_TORCH_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long",
                "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64", "float16": "Half", "bfloat16": "BFloat16",
                "float32": "Float", "float64": "Double", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def torch_type_name(dtype: Any) -> str:
    """PyTorch's scalar type name of a numpy dtype ("Long" for int64), as used in its error messages."""
    return _TORCH_NAMES.get(str(dtype), str(dtype))


def as_bytes(buf: Any) -> Any:
    """A contiguous array (numpy or device) seen as flat bytes (any dtype, including bfloat16 and 0-d)."""
    return buf.reshape(-1).view("uint8")


_SUM, _AVG = ReduceOp.SUM, ReduceOp.AVG
_BITWISE = frozenset((ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR))


def check_reduce(dtype: Any, op: ReduceOp) -> None:
    """PyTorch's errors for reductions a dtype does not support (the same on every backend)."""
    if op is _SUM:
        return
    kind = dtype.kind
    if op is _AVG and kind in "biu":
        # torch divides the sum in place: an integer tensor cannot hold the float quotient
        raise RuntimeError(f"result type Float can't be cast to the desired output type {torch_type_name(dtype)}")
    if op in _BITWISE and kind not in "biu":
        raise RuntimeError(f"Cannot use ReduceOp.{op.name} with non-integral dtype")
    if kind == "c" and op is not _AVG:
        raise ValueError(f"all_reduce does not support {op} on complex tensors")


class ObjectsThroughHost:
    """For a communicator that moves Python objects and waits on monitored barriers through a host communicator
    ``self._host`` (the NCCL communicator, torch.distributed's group view): those methods, written once."""

    __slots__ = ()
    _host: Communicator

    def monitored_barrier(self, timeout: float, wait_all_ranks: bool = False) -> None:
        self._host.monitored_barrier(timeout, wait_all_ranks)

    def broadcast_object(self, obj: Any, root: int) -> Any:
        return self._host.broadcast_object(obj, root)

    def all_gather_object(self, obj: Any) -> list:
        return self._host.all_gather_object(obj)

    def gather_object(self, obj: Any, root: int) -> list | None:
        return self._host.gather_object(obj, root)

    def scatter_object(self, objs: Sequence[Any] | None, root: int) -> Any:
        return self._host.scatter_object(objs, root)
