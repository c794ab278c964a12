"""torch.distributed's process groups and collectives on Tensors, over disttorch.collectives.

The world communicator is MPI when the script was started by an MPI launcher (mpiexec, mpirun, srun) and
mpi4py is installed, otherwise a world of one process that needs no MPI. Tensors on cuda go through NCCL when
cupy has it (backend ``"nccl"`` or ``None``), otherwise through MPI (CUDA-aware, or staged through host memory).
Collectives write into the Tensors' storage (bumping their version counter) with no autograd history, as in
PyTorch.
"""
from __future__ import annotations

import os
import sys
import threading
import traceback
import warnings
from datetime import timedelta
from typing import Any, Callable

import numpy as np

from disttorch._tensor import Tensor
from disttorch.backends import backend_for_array
from disttorch.collectives.base import Communicator, ReduceOp
from disttorch.collectives.base import Work as _RawWork
from disttorch.collectives.registry import communicator_available, make_communicator

__all__ = [
    "Backend", "GroupMember", "P2POp", "ProcessGroup", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor",
    "all_gather_object", "all_reduce", "all_to_all", "all_to_all_single", "barrier", "batch_isend_irecv",
    "broadcast", "broadcast_object_list", "destroy_process_group", "gather", "gather_object", "get_backend",
    "get_global_rank", "get_group_rank", "get_local_rank", "get_local_world_size", "get_node_local_rank",
    "get_process_group_ranks", "get_rank", "get_world_size", "group", "init_process_group", "irecv",
    "is_available", "is_gloo_available", "is_initialized", "is_mpi_available", "is_nccl_available",
    "is_torchelastic_launched", "isend", "monitored_barrier", "new_group", "recv", "reduce", "reduce_op",
    "reduce_scatter", "reduce_scatter_tensor", "scatter", "scatter_object_list", "send",
]

_NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."
_DEFAULT_TIMEOUT = 1800.0  # seconds, PyTorch's default for non-NCCL groups
_NCCL_TIMEOUT = 600.0

# environment variables that MPI launchers set (MPICH Hydra, Open MPI, PMIx, MVAPICH, Intel MPI)
_MPI_LAUNCH_ENV = ("PMI_RANK", "PMI_SIZE", "PMI_FD", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK",
                   "MPI_LOCALRANKID", "I_MPI_HYDRA_HOST_FILE")
_SIZE_ENV = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS",
             "SLURM_NTASKS")
_LOCAL_RANK_ENV = ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMI_LOCAL_RANK", "PMIX_LOCAL_RANK",
                   "MV2_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "LOCAL_RANK")
_LOCAL_SIZE_ENV = ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "PMI_LOCAL_SIZE", "PMIX_LOCAL_SIZE",
                   "MV2_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE", "LOCAL_WORLD_SIZE")


# -- backends and groups ---------------------------------------------------------------------------------
class Backend(str):
    """Backend names as torch spells them; ``gloo`` is accepted and runs over MPI (or one process)."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"

    def __new__(cls, name: str) -> Backend:
        if not isinstance(name, str):
            raise ValueError("Backend constructor parameter must be string-ish")
        value = name.lower()
        if value not in (cls.GLOO, cls.NCCL, cls.MPI, cls.UNDEFINED) and ":" not in value:
            raise ValueError(f"Unknown backend '{name}'. Specify a 'device:backend' string or use one of: "
                             f"['gloo', 'mpi', 'nccl']")
        return str.__new__(cls, value)


class ProcessGroup:
    """A group of ranks. ``comm`` (the host communicator) moves host arrays; when the group has a device
    communicator (``device_communicator``: a name in the communicator registry, e.g. ``"nccl"``), an array on
    device N goes to that communicator for device N, made on first use."""

    def __init__(self, comm: Communicator, backend: str, timeout: float, device_communicator: str | None) -> None:
        self.comm = comm
        self.backend = backend
        self.timeout = timeout
        self.ranks = list(comm.world_ranks)
        self.device_communicator = device_communicator if comm.size > 1 else None
        self._device_comms: dict[int, Communicator] = {}

    def rank(self) -> int:
        return self.comm.rank

    def size(self) -> int:
        return self.comm.size

    def name(self) -> str:
        return self.backend

    def communicator_for(self, array: Any) -> Communicator:
        """The one dispatch rule: which communicator moves ``array``. Host arrays (those whose backend gives no
        device index), and every array of a group without a device communicator, go to the host communicator;
        an array on device N goes to the group's device communicator for N."""
        if self.device_communicator is None or type(array) is np.ndarray:  # the common case, no lookup
            return self.comm
        device = backend_for_array(array).device_index(array)
        if device is None:
            return self.comm
        comm = self._device_comms.get(device)
        if comm is None:
            comm = make_communicator(self.device_communicator, host=self.comm, device=device, timeout=self.timeout)
            self._device_comms[device] = comm
        return comm

    def poll(self) -> None:
        """Drive progress of this group's outstanding asynchronous collectives."""
        self.comm.poll()

    def _free(self) -> None:
        for comm in self._device_comms.values():
            comm.free()
        self._device_comms.clear()
        self.comm.free()

    def __repr__(self) -> str:
        return f"ProcessGroup(ranks={self.ranks}, backend={self.backend!r})"


class _State:
    default: ProcessGroup | None = None
    groups: list[ProcessGroup] = []
    local: tuple[int, int] = (0, 1)
    hooks: tuple | None = None


_state = _State()


class _WorldMeta(type):
    @property
    def WORLD(cls) -> ProcessGroup | None:  # noqa: N802 (torch's name)
        return _state.default


class group(metaclass=_WorldMeta):  # noqa: N801 (torch's name)
    """``group.WORLD``: the default process group (None before init_process_group)."""


class GroupMember(metaclass=_WorldMeta):
    """``GroupMember.WORLD`` and ``GroupMember.NON_GROUP_MEMBER`` (what new_group returns on non-members)."""

    NON_GROUP_MEMBER = -100


reduce_op = ReduceOp


# -- Work ------------------------------------------------------------------------------------------------
class Work:
    """Handle of an asynchronous collective (``async_op=True``): ``wait()``, ``is_completed()``."""

    __slots__ = ("_raw", "_post", "_source", "_result")

    def __init__(self, raw: _RawWork | None, post: Callable[[], None] | None = None, source: Any = None,
                 result: list | None = None) -> None:
        self._raw, self._post, self._source, self._result = raw, post, source, result

    def wait(self, timeout: timedelta | float | None = None) -> bool:
        if self._raw is not None:
            self._raw.wait(_seconds(timeout))
        self._finish()
        return True

    def is_completed(self) -> bool:
        if self._raw is not None and not self._raw.is_completed():
            return False
        self._finish()
        return True

    def is_success(self) -> bool:
        return self.is_completed()

    def exception(self) -> None:
        return None

    def synchronize(self) -> None:
        self.wait()

    def source_rank(self) -> int:
        """The global rank a ``irecv`` received from (after ``wait``)."""
        self.wait()
        src = self._source
        if callable(src):
            src = src()
        if src is None:
            raise RuntimeError("source_rank() is only defined for a completed recv")
        return int(src)

    def result(self) -> list:
        self.wait()
        return list(self._result or [])

    def get_future(self) -> _Future:
        return _Future(self)

    def _finish(self) -> None:
        if self._post is not None:
            post, self._post = self._post, None
            post()


class _Future:
    """The small part of torch.futures.Future that collective users need: ``wait``, ``value``, ``done``,
    ``then`` (the callback runs when the chained future is waited for)."""

    def __init__(self, work: Work | None, compute: Callable[[], Any] | None = None) -> None:
        self._work, self._compute, self._value, self._has_value = work, compute, None, False

    def wait(self) -> Any:
        if not self._has_value:
            self._value = self._compute() if self._compute is not None else self._work.result()  # type: ignore
            self._has_value = True
        return self._value

    value = wait

    def done(self) -> bool:
        return self._has_value or self._work is None or self._work.is_completed()

    def then(self, callback: Callable[[_Future], Any]) -> _Future:
        def compute() -> Any:
            self.wait()
            return callback(self)
        return _Future(None, compute)


def _done(raw: _RawWork | None, async_op: bool, post: Callable[[], None] | None = None,
          result: list | None = None) -> Work | None:
    if async_op:
        return Work(raw, post, result=result)
    if post is not None:
        post()
    return None


# -- helpers ---------------------------------------------------------------------------------------------
def _seconds(timeout: timedelta | float | None) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, timedelta):
        return timeout.total_seconds()
    return float(timeout)


def _default_group() -> ProcessGroup:
    if _state.default is None:
        raise ValueError(_NOT_INITIALIZED)
    return _state.default


def _group(group: Any, op: str, stacklevel: int = 3) -> ProcessGroup | None:
    """The ProcessGroup for ``group`` (None, after a warning, on a rank that is not a member)."""
    pg = _state.default
    if pg is None:
        raise ValueError(_NOT_INITIALIZED)
    if group is None:
        return pg
    if isinstance(group, ProcessGroup):
        return group
    if group == GroupMember.NON_GROUP_MEMBER:
        warnings.warn(f"Running {op} on global rank {pg.rank()} which does not belong to the given group.",
                      stacklevel=stacklevel)
        return None
    raise ValueError("Invalid process group specified")


def _member(op: str, group: Any, **tensors: Any) -> ProcessGroup | None:
    """Check a collective's Tensor arguments in order (names ending in ``_list``: lists of Tensors), then
    return the ProcessGroup for ``group`` (None, after a warning, on a rank that is not a member)."""
    for name, value in tensors.items():
        if name.endswith("_list"):
            _check_tensor_list(value, name)
        else:
            _check_tensor(value, name)
    return _group(group, op, stacklevel=4)


def _check_tensor(t: Any, name: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type torch.Tensor\n"
                        f"             but got {type(t)} instead.")


def _check_tensor_list(ts: Any, name: str) -> None:
    if not isinstance(ts, list) or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type List[torch.Tensor]\n"
                        f"             but got {type(ts)} instead.")


def _op(op: Any) -> ReduceOp:
    if isinstance(op, ReduceOp):
        return op
    if isinstance(op, str) and op.upper() in ReduceOp.__members__:
        return ReduceOp[op.upper()]
    raise ValueError(f"Unsupported reduce op: {op!r}")


def _group_rank(pg: ProcessGroup, global_rank: int | None, group_rank: int | None, default: int | None = None,
                ) -> int:
    if group_rank is not None:
        if global_rank is not None:
            raise ValueError("Can't specify both group_rank and global_rank")
        if not 0 <= group_rank < pg.size():
            raise ValueError(f"Group rank {group_rank} is not part of group {pg}")
        return group_rank
    if global_rank is None:
        if default is None:
            raise ValueError("Must specify global_rank or group_rank")
        return default
    return get_group_rank(pg, global_rank)


def _in_place(tensor: Tensor, raw: _RawWork | None, async_op: bool, post: Callable[[], None] | None = None,
              ) -> Work | None:
    """Finish a collective that writes into ``tensor``: bump its version, wrap ``raw`` when ``async_op``."""
    tensor._version[0] += 1
    return _done(raw, async_op, post, [tensor])


def _copy_rows(targets: list[Tensor], rows: Any) -> Callable[[], None]:
    def post() -> None:
        for i, t in enumerate(targets):
            t._data[...] = rows[i]
            t._version[0] += 1
    return post


def _empty_like_rows(t: Tensor, n: int) -> Any:
    return t._xp.empty((n, *t._data.shape), t._data.dtype)


def _launched_by_mpi() -> bool:
    env = os.environ
    if any(k in env for k in _MPI_LAUNCH_ENV):
        return True
    if "SLURM_PROCID" in env and "SLURM_STEP_ID" in env:  # a task of srun
        return True
    mpi = sys.modules.get("mpi4py.MPI")
    return mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized() and mpi.COMM_WORLD.Get_size() > 1


def _env_int(names: tuple[str, ...]) -> int | None:
    for name in names:
        value = os.environ.get(name)
        if value is not None:
            try:
                return int(value.split("(")[0].split(",")[0])
            except ValueError:
                continue
    return None


# -- availability ----------------------------------------------------------------------------------------
def is_available() -> bool:
    return True


def is_initialized() -> bool:
    return _state.default is not None


def is_mpi_available() -> bool:
    return communicator_available("mpi")


def is_nccl_available() -> bool:
    return communicator_available("nccl")


def is_gloo_available() -> bool:
    """True: ``backend="gloo"`` is accepted and runs over MPI (or in one process)."""
    return True


def is_torchelastic_launched() -> bool:
    return False


# -- init / teardown -------------------------------------------------------------------------------------
def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: timedelta | None = None, world_size: int = -1, rank: int = -1, store: Any = None,
                       group_name: str = "", pg_options: Any = None, device_id: Any = None) -> None:
    """Join the world: MPI's ranks when started by an MPI launcher, else a world of one process.

    ``backend``: None (NCCL for cuda tensors when cupy has it, MPI otherwise), ``"mpi"``, ``"nccl"``, or
    ``"gloo"`` (an alias of MPI on the host). ``world_size``/``rank``, when given, must agree with MPI's.
    ``init_method`` and ``store`` are accepted for compatibility; MPI does the rendezvous."""
    if _state.default is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = None if backend is None else str(Backend(backend))
    if name is not None and ":" in name:  # "cpu:gloo,cuda:nccl"
        pairs = dict(part.split(":", 1) for part in name.split(","))
        name = "nccl" if pairs.get("cuda") == "nccl" else pairs.get("cpu", "mpi")
    use_nccl = False
    if name == "nccl" or name is None:
        use_nccl = communicator_available("nccl")
        if name == "nccl" and not use_nccl:
            raise RuntimeError("Distributed package doesn't have NCCL built in: backend 'nccl' needs cupy with NCCL "
                               "support and a visible CUDA device")
    seconds = _seconds(timeout)
    if seconds is None:
        seconds = _NCCL_TIMEOUT if name == "nccl" else _DEFAULT_TIMEOUT
    if device_id is not None:
        from disttorch import cuda

        cuda.set_device(device_id)
    comm = _world_communicator(name, seconds, world_size)
    if world_size not in (-1, None) and world_size != comm.size:
        raise ValueError(f"init_process_group: world_size={world_size} but the job has {comm.size} rank(s) "
                         f"(MPI's COMM_WORLD decides the world size)")
    if rank not in (-1, None) and rank != comm.rank:
        raise ValueError(f"init_process_group: rank={rank} but MPI gave this process rank {comm.rank}")
    label = name or ("nccl" if use_nccl and comm.size > 1 else "mpi" if comm.name == "mpi" else "gloo")
    pg = ProcessGroup(comm, label, seconds, "nccl" if use_nccl else None)
    _state.default, _state.groups = pg, [pg]
    _state.local = comm.local_rank() if comm.size > 1 else (_env_int(_LOCAL_RANK_ENV) or 0,
                                                             _env_int(_LOCAL_SIZE_ENV) or 1)
    if comm.name == "mpi" and comm.size > 1:
        _install_fail_fast(comm)


def _world_communicator(name: str | None, seconds: float, world_size: int) -> Communicator:
    if name == "mpi" or _launched_by_mpi():
        if communicator_available("mpi"):
            return make_communicator("mpi", timeout=seconds)
        size = _env_int(_SIZE_ENV) or 1
        if name == "mpi" or size > 1:
            raise RuntimeError(f"this process was started by an MPI launcher ({size} ranks) or asked for backend "
                               f"'mpi', but mpi4py is not installed: pip install mpi4py (or disttorch[mpi])")
        return make_communicator("single", timeout=seconds)
    size = world_size if world_size not in (-1, None) else int(os.environ.get("WORLD_SIZE", "1") or 1)
    if size > 1:
        raise RuntimeError(f"a world of {size} processes was asked for, but this process was not started by an MPI "
                           f"launcher: disttorch connects ranks through MPI; start the script with "
                           f"`mpiexec -n {size} python script.py` (or disttorchrun --nproc-per-node {size} script.py)")
    return make_communicator("single", timeout=seconds)


def _install_fail_fast(comm: Communicator) -> None:
    """An uncaught exception on this rank prints ``[rank N] <traceback>`` and aborts the whole MPI job, so
    the other ranks never wait forever in a collective."""
    me = comm.world_ranks[comm.rank]

    def report(exc_type: Any, exc: Any, tb: Any, where: str = "") -> None:
        try:
            text = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n")
            lines = [f"[rank {me}] uncaught {exc_type.__name__}{where}: aborting all ranks (MPI_Abort)"]
            lines += [f"[rank {me}] {line}" for line in text.split("\n")]
            sys.stderr.write("\n".join(lines) + "\n")
            sys.stderr.flush()
        finally:
            comm.abort(1)

    def excepthook(exc_type: Any, exc: Any, tb: Any) -> None:
        report(exc_type, exc, tb)

    def thread_excepthook(args: Any) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        report(args.exc_type, args.exc_value, args.exc_traceback, f" in thread {name}")

    if _state.hooks is None:
        _state.hooks = (sys.excepthook, threading.excepthook)
    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    if _state.default is None:
        raise AssertionError("Process group cannot be None")
    if group is None or group is _state.default:
        for pg in reversed(_state.groups):
            pg._free()
        _state.default, _state.groups = None, []
        if _state.hooks is not None:
            sys.excepthook, threading.excepthook = _state.hooks
            _state.hooks = None
        return
    if isinstance(group, ProcessGroup) and group in _state.groups:
        group._free()
        _state.groups.remove(group)


def new_group(ranks: list[int] | None = None, timeout: timedelta | None = None, backend: str | None = None,
              pg_options: Any = None, use_local_synchronization: bool = False, group_desc: str | None = None,
              device_id: Any = None, sort_ranks: bool = True) -> ProcessGroup | int:
    """A group of the given global ranks. Every rank must call it (unless ``use_local_synchronization``, where
    only the members do); non-members get ``GroupMember.NON_GROUP_MEMBER``."""
    world = _default_group()
    n = world.size()
    ranks = list(range(n)) if ranks is None or len(ranks) == 0 else [int(r) for r in ranks]
    if sort_ranks:
        ranks = sorted(ranks)
    for r in ranks:
        if not 0 <= r < n:
            raise ValueError("The new group's rank should be within the world_size set by init_process_group")
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"new_group: duplicate ranks in {ranks}")
    seconds = _seconds(timeout) or world.timeout
    if use_local_synchronization:
        if world.rank() not in ranks:
            return GroupMember.NON_GROUP_MEMBER
        comm = world.comm.split(ranks, local=True)  # type: ignore[call-arg]
    else:
        comm = world.comm.split(ranks)
    if comm is None:
        return GroupMember.NON_GROUP_MEMBER
    comm.timeout = seconds
    pg = ProcessGroup(comm, str(Backend(backend)) if backend else world.backend, seconds, world.device_communicator)
    _state.groups.append(pg)
    return pg


# -- ranks -----------------------------------------------------------------------------------------------
def get_rank(group: Any = None) -> int:
    pg = _default_group()
    if group is None:
        return pg.rank()
    if isinstance(group, ProcessGroup):
        return group.rank()
    return -1


def get_world_size(group: Any = None) -> int:
    pg = _default_group()
    if group is None:
        return pg.size()
    if isinstance(group, ProcessGroup):
        return group.size()
    return -1


def get_backend(group: Any = None) -> str:
    pg = _default_group() if group is None else group
    if not isinstance(pg, ProcessGroup):
        raise ValueError("Invalid process group specified")
    return Backend(pg.backend)


def get_process_group_ranks(group: Any) -> list[int]:
    pg = _default_group() if group is None else group
    return list(pg.ranks)


def get_group_rank(group: Any, global_rank: int) -> int:
    pg = _default_group() if group is None else group
    if global_rank not in pg.ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {pg}")
    return pg.ranks.index(global_rank)


def get_global_rank(group: Any, group_rank: int) -> int:
    pg = _default_group() if group is None else group
    if not 0 <= group_rank < len(pg.ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {pg}")
    return pg.ranks[group_rank]


def get_local_rank() -> int:
    """This process's rank among the ranks on its node (MPI's shared-memory split after init_process_group;
    before it, the launcher's variables: OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID, PMI_LOCAL_RANK,
    SLURM_LOCALID, LOCAL_RANK)."""
    if _state.default is not None:
        return _state.local[0]
    return _env_int(_LOCAL_RANK_ENV) or 0


def get_local_world_size() -> int:
    """The number of ranks on this node."""
    if _state.default is not None:
        return _state.local[1]
    return _env_int(_LOCAL_SIZE_ENV) or 1


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    if _state.default is not None or _env_int(_LOCAL_RANK_ENV) is not None:
        return get_local_rank()
    if fallback_rank is not None:
        return fallback_rank
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
                       "`get_node_local_rank` to work, but be aware that this may be incorrect.")


# -- collectives -----------------------------------------------------------------------------------------
def all_reduce(tensor: Tensor, op: Any = ReduceOp.SUM, group: Any = None, async_op: bool = False) -> Work | None:
    if not isinstance(tensor, Tensor):
        _check_tensor(tensor, "tensor")
    pg = _state.default if group is None else _group(group, "all_reduce")
    if pg is None:
        if group is None:
            raise ValueError(_NOT_INITIALIZED)
        return None
    if op.__class__ is not ReduceOp:
        op = _op(op)
    arr = tensor._data
    raw = pg.communicator_for(arr).all_reduce(arr, op, async_op)
    tensor._version[0] += 1  # inline: the hot path of DDP-style code
    return Work(raw, result=[tensor]) if async_op else None


def broadcast(tensor: Tensor, src: int | None = None, group: Any = None, async_op: bool = False,
              group_src: int | None = None) -> Work | None:
    pg = _member("broadcast", group, tensor=tensor)
    if pg is None:
        return None
    root = _group_rank(pg, src, group_src)
    arr = tensor._data
    raw = pg.communicator_for(arr).broadcast(arr, root, async_op)
    return _in_place(tensor, raw, async_op)


def reduce(tensor: Tensor, dst: int | None = None, op: Any = ReduceOp.SUM, group: Any = None,
           async_op: bool = False, group_dst: int | None = None) -> Work | None:
    pg = _member("reduce", group, tensor=tensor)
    if pg is None:
        return None
    root = _group_rank(pg, dst, group_dst)
    arr = tensor._data
    raw = pg.communicator_for(arr).reduce(arr, root, _op(op), async_op)
    return _in_place(tensor, raw, async_op)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: Any = None, async_op: bool = False,
               ) -> Work | None:
    pg = _member("all_gather", group, tensor_list=tensor_list, tensor=tensor)
    if pg is None:
        return None
    n = pg.size()
    if len(tensor_list) != n:
        raise RuntimeError(f"all_gather: invalid output tensor list (expected length {n}, got {len(tensor_list)})")
    for i, t in enumerate(tensor_list):
        if t.shape != tensor.shape or t.dtype != tensor.dtype:
            raise RuntimeError(f"all_gather: invalid tensor size at index {i} (expected {tuple(tensor.shape)} "
                               f"{tensor.dtype}, got {tuple(t.shape)} {t.dtype})")
    out = _empty_like_rows(tensor, n)
    raw = pg.communicator_for(out).all_gather(out, tensor._data, async_op)
    return _done(raw, async_op, _copy_rows(tensor_list, out), tensor_list)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group: Any = None,
                           async_op: bool = False) -> Work | None:
    pg = _member("all_gather_into_tensor", group, output_tensor=output_tensor, input_tensor=input_tensor)
    if pg is None:
        return None
    n = pg.size()
    inp, out = input_tensor._data, output_tensor._data
    if out.size != n * inp.size or out.dtype != inp.dtype:
        raise ValueError(f"all_gather_into_tensor: output tensor of shape {tuple(out.shape)} and dtype "
                         f"{output_tensor.dtype} must hold world_size ({n}) times the input tensor "
                         f"({tuple(inp.shape)}, {input_tensor.dtype})")
    # stacked (n, *s) and concatenated (n*s0, ...) outputs have the same memory layout
    rows = out.reshape((n, *inp.shape)) if out.flags.c_contiguous else out.ravel().reshape((n, *inp.shape))
    post = None
    if not out.flags.c_contiguous:
        def post() -> None:
            out[...] = rows.reshape(out.shape)
    raw = pg.communicator_for(inp).all_gather(rows, inp, async_op)
    return _in_place(output_tensor, raw, async_op, post)


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: Any = ReduceOp.SUM, group: Any = None,
                   async_op: bool = False) -> Work | None:
    pg = _member("reduce_scatter", group, output=output, input_list=input_list)
    if pg is None:
        return None
    n = pg.size()
    if len(input_list) != n:
        raise RuntimeError(f"reduce_scatter: invalid input tensor list (expected length {n}, got {len(input_list)})")
    for i, t in enumerate(input_list):
        if t.shape != output.shape or t.dtype != output.dtype:
            raise RuntimeError(f"reduce_scatter: invalid tensor size at index {i} (expected {tuple(output.shape)}, "
                               f"got {tuple(t.shape)})")
    stacked = output._xp.stack([t._data for t in input_list]) if n else None
    raw = pg.communicator_for(output._data).reduce_scatter(output._data, stacked, _op(op), async_op)
    return _in_place(output, raw, async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: Any = ReduceOp.SUM, group: Any = None,
                          async_op: bool = False) -> Work | None:
    pg = _member("reduce_scatter_tensor", group, output=output, input=input)
    if pg is None:
        return None
    n = pg.size()
    out, inp = output._data, input._data
    if inp.size != n * out.size or out.dtype != inp.dtype:
        raise ValueError(f"reduce_scatter_tensor: input tensor of shape {tuple(inp.shape)} must hold world_size "
                         f"({n}) times the output tensor ({tuple(out.shape)}) in the same dtype")
    chunks = inp.reshape((n, *out.shape)) if inp.flags.c_contiguous else inp.ravel().reshape((n, *out.shape))
    raw = pg.communicator_for(out).reduce_scatter(out, chunks, _op(op), async_op)
    return _in_place(output, raw, async_op)


def gather(tensor: Tensor, gather_list: list[Tensor] | None = None, dst: int | None = None, group: Any = None,
           async_op: bool = False, group_dst: int | None = None) -> Work | None:
    # the list is checked only where given (non-root ranks may pass None)
    pg = _member("gather", group, tensor=tensor, gather_list=gather_list or [])
    if pg is None:
        return None
    root = _group_rank(pg, dst, group_dst, default=0)
    me = pg.rank()
    if me == root and not gather_list:
        raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
    if me != root and gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    out, post = None, None
    if me == root:
        n = pg.size()
        if len(gather_list) != n:  # type: ignore[arg-type]
            raise RuntimeError(f"gather: invalid gather_list (expected length {n}, got {len(gather_list)})")
        out = _empty_like_rows(tensor, n)
        post = _copy_rows(gather_list, out)  # type: ignore[arg-type]
    raw = pg.communicator_for(tensor._data).gather(out, tensor._data, root, async_op)
    return _done(raw, async_op, post, gather_list)


def scatter(tensor: Tensor, scatter_list: list[Tensor] | None = None, src: int | None = None, group: Any = None,
            async_op: bool = False, group_src: int | None = None) -> Work | None:
    # the list is checked only where given (non-root ranks may pass None)
    pg = _member("scatter", group, tensor=tensor, scatter_list=scatter_list or [])
    if pg is None:
        return None
    root = _group_rank(pg, src, group_src, default=0)
    me = pg.rank()
    if me == root and not scatter_list:
        raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
    if me != root and scatter_list:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    inputs = None
    if me == root:
        n = pg.size()
        if len(scatter_list) != n:  # type: ignore[arg-type]
            raise RuntimeError(f"scatter: invalid scatter_list (expected length {n}, got {len(scatter_list)})")
        for i, t in enumerate(scatter_list):  # type: ignore[arg-type]
            if t.shape != tensor.shape or t.dtype != tensor.dtype:
                raise RuntimeError(f"scatter: invalid tensor size at index {i} (expected {tuple(tensor.shape)}, "
                                   f"got {tuple(t.shape)})")
        inputs = tensor._xp.stack([t._data for t in scatter_list])  # type: ignore[union-attr]
    raw = pg.communicator_for(tensor._data).scatter(tensor._data, inputs, root, async_op)
    return _in_place(tensor, raw, async_op)


def all_to_all(output_tensor_list: list[Tensor], input_tensor_list: list[Tensor], group: Any = None,
               async_op: bool = False) -> Work | None:
    pg = _member("all_to_all", group, output_tensor_list=output_tensor_list, input_tensor_list=input_tensor_list)
    if pg is None:
        return None
    n = pg.size()
    if len(output_tensor_list) != n or len(input_tensor_list) != n:
        raise RuntimeError(f"all_to_all: tensor lists must have world_size ({n}) entries, got "
                           f"{len(output_tensor_list)} outputs and {len(input_tensor_list)} inputs")
    dtype = input_tensor_list[0]._data.dtype
    if any(t._data.dtype != dtype for t in (*input_tensor_list, *output_tensor_list)):
        raise RuntimeError("all_to_all: all tensors must have the same dtype")
    xp = input_tensor_list[0]._xp
    first = input_tensor_list[0].shape
    if all(t.shape == first for t in (*input_tensor_list, *output_tensor_list)):
        inputs = xp.stack([t._data for t in input_tensor_list])
        out = xp.empty_like(inputs)
        raw = pg.communicator_for(inputs).all_to_all(out, inputs, async_op)
    else:  # uneven sizes: flat buffers with per-rank counts
        inputs = xp.concatenate([t._data.reshape(-1) for t in input_tensor_list])
        osplits = [t.numel() for t in output_tensor_list]
        flat = xp.empty(sum(osplits), dtype)
        raw = pg.communicator_for(inputs).all_to_all_v(flat, osplits, inputs,
                                                       [t.numel() for t in input_tensor_list], async_op)
        offsets = np.cumsum([0, *osplits]).tolist()
        out = [flat[offsets[i]:offsets[i + 1]].reshape(t._data.shape) for i, t in enumerate(output_tensor_list)]
    return _done(raw, async_op, _copy_rows(output_tensor_list, out), output_tensor_list)


def all_to_all_single(output: Tensor, input: Tensor, output_split_sizes: list[int] | None = None,
                      input_split_sizes: list[int] | None = None, group: Any = None,
                      async_op: bool = False) -> Work | None:
    pg = _member("all_to_all_single", group, output=output, input=input)
    if pg is None:
        return None
    n = pg.size()
    out, inp = output._data, input._data
    if out.dtype != inp.dtype:
        raise RuntimeError("all_to_all_single: input and output must have the same dtype")
    comm = pg.communicator_for(inp)
    if not output_split_sizes and not input_split_sizes:
        if inp.ndim == 0 or inp.shape[0] % n or out.shape != inp.shape:
            raise ValueError("Tensor's dim 0 does not divide equally across group size")
        rows = (n, inp.shape[0] // n, *inp.shape[1:])
        src = inp.reshape(rows) if inp.flags.c_contiguous else inp.copy().reshape(rows)
        dst = out.reshape(rows) if out.flags.c_contiguous else output._xp.empty(rows, out.dtype)
        raw = comm.all_to_all(dst, src, async_op)
        post = None
        if not out.flags.c_contiguous:
            def post() -> None:
                out[...] = dst.reshape(out.shape)
    else:
        isplit = list(input_split_sizes) if input_split_sizes else [inp.shape[0] // n] * n
        osplit = list(output_split_sizes) if output_split_sizes else [out.shape[0] // n] * n
        raw = comm.all_to_all_v(out, osplit, inp, isplit, async_op)
        post = None
    return _in_place(output, raw, async_op, post)


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None,
            timeout: timedelta | None = None) -> Work | None:
    pg = _group(group, "barrier")
    if pg is None:
        return None
    raw = pg.comm.barrier(async_op)
    return Work(raw) if async_op else None


def monitored_barrier(group: Any = None, timeout: timedelta | None = None, wait_all_ranks: bool = False) -> None:
    """A barrier that fails, on rank 0 naming the ranks that did not arrive, after ``timeout``
    (default: the group's timeout)."""
    pg = _group(group, "monitored_barrier")
    if pg is None:
        return None
    seconds = _seconds(timeout)
    pg.comm.monitored_barrier(pg.timeout if seconds is None else seconds, wait_all_ranks)
    return None


# -- point to point --------------------------------------------------------------------------------------
def _peer(pg: ProcessGroup, global_rank: int | None, group_rank: int | None, kind: str) -> int:
    peer = _group_rank(pg, global_rank, group_rank)
    if peer == pg.rank():
        raise ValueError(f"Invalid {kind} rank: {kind} rank should not be the same as the rank of the current "
                         f"process.")
    return peer


def send(tensor: Tensor, dst: int | None = None, group: Any = None, tag: int = 0,
         group_dst: int | None = None) -> None:
    pg = _member("send", group, tensor=tensor)
    if pg is None:
        return None
    peer = _peer(pg, dst, group_dst, "destination")
    pg.communicator_for(tensor._data).send(tensor._data, peer, tag)
    return None


def recv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0,
         group_src: int | None = None) -> int:
    """Receive into ``tensor``; returns the sender's global rank (-1 on a non-member)."""
    pg = _member("recv", group, tensor=tensor)
    if pg is None:
        return -1
    peer = None if src is None and group_src is None else _peer(pg, src, group_src, "source")
    source = pg.communicator_for(tensor._data).recv(tensor._data, peer, tag)
    tensor._version[0] += 1
    return pg.ranks[source]


def isend(tensor: Tensor, dst: int | None = None, group: Any = None, tag: int = 0,
          group_dst: int | None = None) -> Work | None:
    pg = _member("isend", group, tensor=tensor)
    if pg is None:
        return None
    peer = _peer(pg, dst, group_dst, "destination")
    return Work(pg.communicator_for(tensor._data).isend(tensor._data, peer, tag), result=[tensor])


def irecv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0,
          group_src: int | None = None) -> Work | None:
    pg = _member("irecv", group, tensor=tensor)
    if pg is None:
        return None
    peer = None if src is None and group_src is None else _peer(pg, src, group_src, "source")
    raw = pg.communicator_for(tensor._data).irecv(tensor._data, peer, tag)
    tensor._version[0] += 1

    def source() -> int | None:
        r = raw.result()
        return None if r is None else pg.ranks[r]
    return Work(raw, source=source, result=[tensor])


class P2POp:
    """One send or receive for :func:`batch_isend_irecv`: ``P2POp(dist.isend, tensor, peer)``."""

    def __init__(self, op: Callable, tensor: Tensor, peer: int | None = None, group: Any = None, tag: int = 0,
                 group_peer: int | None = None) -> None:
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed.isend`` or "
                             "``torch.distributed.irecv``.")
        self.op, self.tensor, self.peer, self.group, self.tag, self.group_peer = op, tensor, peer, group, tag, \
            group_peer


def batch_isend_irecv(p2p_op_list: list[P2POp]) -> list[Work]:
    works = []
    for p in p2p_op_list:
        if p.op is isend:
            works.append(isend(p.tensor, p.peer, p.group, p.tag, group_dst=p.group_peer))
        else:
            works.append(irecv(p.tensor, p.peer, p.group, p.tag, group_src=p.group_peer))
    return [w for w in works if w is not None]


# -- objects (pickled; not for the hot path) -------------------------------------------------------------
def broadcast_object_list(object_list: list[Any], src: int | None = None, group: Any = None, device: Any = None,
                          group_src: int | None = None) -> None:
    pg = _group(group, "broadcast_object_list")
    if pg is None:
        return None
    root = _group_rank(pg, src, group_src, default=0)
    received = pg.comm.broadcast_object(list(object_list) if pg.rank() == root else None, root)
    if pg.rank() != root:
        object_list[:] = received
    return None


def all_gather_object(object_list: list[Any], obj: Any, group: Any = None) -> None:
    pg = _group(group, "all_gather_object")
    if pg is None:
        return None
    for i, o in enumerate(pg.comm.all_gather_object(obj)):
        object_list[i] = o
    return None


def gather_object(obj: Any, object_gather_list: list[Any] | None = None, dst: int | None = None,
                  group: Any = None, group_dst: int | None = None) -> None:
    pg = _group(group, "gather_object")
    if pg is None:
        return None
    root = _group_rank(pg, dst, group_dst, default=0)
    if pg.rank() == root and not object_gather_list:
        raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
    if pg.rank() != root and object_gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    gathered = pg.comm.gather_object(obj, root)
    if pg.rank() == root:
        for i, o in enumerate(gathered):  # type: ignore[arg-type]
            object_gather_list[i] = o  # type: ignore[index]
    return None


def scatter_object_list(scatter_object_output_list: list[Any], scatter_object_input_list: list[Any] | None = None,
                        src: int | None = None, group: Any = None, group_src: int | None = None) -> None:
    pg = _group(group, "scatter_object_list")
    if pg is None:
        return None
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at least 1.")
    root = _group_rank(pg, src, group_src, default=0)
    if pg.rank() == root and (scatter_object_input_list is None or len(scatter_object_input_list) != pg.size()):
        raise ValueError(f"scatter_object_list: the source rank needs a list of {pg.size()} objects")
    scatter_object_output_list[0] = pg.comm.scatter_object(
        scatter_object_input_list if pg.rank() == root else None, root)
    return None


def _get_default_group() -> ProcessGroup:
    return _default_group()


def _get_communicator(group: Any = None) -> Any:
    """The :class:`GroupCommunicator` (raw-array collectives) of ``group`` (None: the default group; None on a
    non-member)."""
    from .group_communicator import GroupCommunicator

    pg = _default_group() if group is None else group
    if not isinstance(pg, ProcessGroup):
        return None
    return GroupCommunicator(pg)
