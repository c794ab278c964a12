"""Joining and leaving the world: availability, ``init_process_group`` (MPI's ranks when started by an MPI
launcher, else a world of one process), fail-fast on uncaught exceptions, ``new_group``, ranks on this node."""
from __future__ import annotations

import importlib.util
import os
import sys
import threading
import traceback
import warnings
from datetime import timedelta
from typing import Any

from disttorch.collectives.base import Communicator
from disttorch.collectives.registry import communicator_available, make_communicator
from disttorch.launcher.env import launched_by_mpi_env, rank_layout

from .process_group import Backend, GroupMember, ProcessGroup, _default_group, _seconds, _state, gpu_shared

_DEFAULT_TIMEOUT = 1800.0  # seconds, PyTorch's default for non-NCCL groups
_NCCL_TIMEOUT = 600.0

def _launched_by_mpi() -> bool:
    if launched_by_mpi_env():
        return True
    mpi = sys.modules.get("mpi4py.MPI")
    return mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized() and mpi.COMM_WORLD.Get_size() > 1


def _launcher_layout() -> tuple[int, int, int, int]:
    """(rank, world size, local rank, local world size) from the launcher's variables (launcher/env.py)."""
    return rank_layout()


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
            why = _nccl_missing()
            raise RuntimeError("Distributed package doesn't have NCCL built in: backend 'nccl' needs cupy with NCCL "
                               "support and a visible CUDA device" + (f": {why}" if why else ""))
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
    # a world of one goes through NCCL only when asked to by name (PyTorch's nccl world of one)
    use_nccl = use_nccl and (comm.size > 1 or name == "nccl")
    _state.local = comm.local_rank() if comm.size > 1 else _launcher_layout()[2:]
    if comm.name == "mpi" and comm.size > 1:
        _install_fail_fast(comm)
    if name is None and not use_nccl and comm.size > 1:
        why = _nccl_missing()
        if why:
            warnings.warn(f"NCCL is not usable: {why}. Collectives on cuda tensors fall back to MPI, staged "
                          f"through host memory (slower; pass backend='mpi' to choose this and silence the warning)",
                          RuntimeWarning, stacklevel=2)
    # NCCL asked for by name (or a device_id given, PyTorch's eager-init rule): the communicator is made now and
    # two ranks on one GPU are an error. backend=None: a cpu-only job must not pay for NCCL, so it is made by the
    # first collective on a cuda tensor; if ranks share a GPU, cuda tensors then go through MPI instead.
    eager = use_nccl and (name == "nccl" or device_id is not None)
    device = _select_device(comm, eager)
    label = name or ("nccl" if use_nccl else "mpi" if comm.name == "mpi" else "gloo")
    pg = ProcessGroup(comm, label, seconds, "nccl" if use_nccl else None)
    pg.eager = eager
    if eager and device is not None:
        pg.connect(device)
    _state.default, _state.groups = pg, [pg]


def _nccl_missing() -> str | None:
    from disttorch.collectives.nccl import nccl_missing_reason

    return nccl_missing_reason()


def _cuda_count() -> int:
    if importlib.util.find_spec("cupy") is None:  # a cpu-only install: no cupy import, no driver probe
        return 0
    from disttorch import cuda

    try:
        return cuda.device_count()
    except Exception:
        return 0


def _select_device(comm: Communicator, use_nccl: bool) -> int | None:
    """Under a plain ``mpiexec``/``srun`` every rank would start on GPU 0: make ``local_rank % device_count``
    the current cuda device, unless this process chose one already (``set_device``, ``device_id``). Under
    NCCL, two ranks on one GPU are an error naming both. ``DISTTORCH_SELECT_DEVICE=0`` turns the choice off, as
    for disttorchrun. Returns the current device (None without cuda)."""
    if comm.size == 1 and not use_nccl:
        return None  # nothing to choose, nothing to check: a world of one does not even import cupy here
    count = _cuda_count()
    if count == 0:
        return None
    from disttorch import cuda

    if comm.size > 1 and not cuda._device_chosen() and os.environ.get("DISTTORCH_SELECT_DEVICE", "1") != "0":
        cuda._backend().set_device(_state.local[0] % count)
    device = cuda.current_device()
    if use_nccl and comm.size > 1:
        shared = gpu_shared(comm, cuda._backend().physical_id(device))
        if shared is not None:
            (first, second), (host, gpu) = shared
            raise RuntimeError(
                f"ranks {first} and {second} both use the same GPU ({gpu} on {host}): NCCL needs one GPU per "
                f"rank. Start at most {count} rank(s) per node, give each rank its own device "
                f"(torch.cuda.set_device or CUDA_VISIBLE_DEVICES), or share a GPU through backend='mpi'")
    return device


def _world_communicator(name: str | None, seconds: float, world_size: int) -> Communicator:
    if name == "mpi" or _launched_by_mpi():
        if communicator_available("mpi"):
            return make_communicator("mpi", timeout=seconds)
        size = _launcher_layout()[1]
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


def _install_fail_fast(comm: Communicator | None) -> None:
    """An uncaught exception on this rank prints ``[rank N] <traceback>`` and aborts the whole MPI job, so
    the other ranks never wait forever in a collective. ``comm`` None: before ``init_process_group`` under an
    MPI launcher (the abort then starts MPI first, which the other ranks have already joined)."""
    me = rank_layout()[0] if comm is None else comm.world_ranks[comm.rank]

    def abort() -> None:
        from mpi4py import MPI  # starts MPI when this rank had not yet

        if not MPI.Is_finalized():
            from disttorch.collectives.mpi_watch import abort_job, announce_abort

            announce_abort("MPI_Abort after an uncaught exception")  # reported above: the exit watcher stays silent
            abort_job(MPI, 1)

    def report(exc_type: Any, exc: Any, tb: Any, where: str = "") -> None:
        try:
            text = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n")
            prefix = "" if os.environ.get("DISTTORCH_OUTPUT_PREFIXED") == "1" else f"[rank {me}] "  # bootstrap's
            lines = [f"{prefix}uncaught {exc_type.__name__}{where}: aborting all ranks (MPI_Abort)"]
            lines += [f"{prefix}{line}" for line in text.split("\n")]
            sys.stderr.write("\n".join(lines) + "\n")
            sys.stderr.flush()
        finally:
            abort()

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
        # the fail-fast hooks stay while MPI runs: an exception after ``destroy_process_group`` (the common
        # ``try: ... finally: dist.destroy_process_group()``) must still end the job, not leave peers waiting
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
    pg.eager = world.eager
    if pg.eager and pg.device_communicator is not None:
        from disttorch import cuda

        pg.connect(cuda.current_device())  # every member is here now: bootstrap NCCL before any send/recv
    _state.groups.append(pg)
    return pg


if launched_by_mpi_env() and rank_layout()[1] > 1:
    _install_fail_fast(None)  # a rank raising before init_process_group must not leave the others waiting


# -- ranks on this node ---------------------------------------------------------------------------------
def get_local_rank() -> int:
    """This process's rank among the ranks on its node (MPI's shared-memory split after init_process_group;
    before it, the launcher's variables: OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID, PMI_LOCAL_RANK,
    SLURM_LOCALID, LOCAL_RANK)."""
    if _state.default is not None:
        return _state.local[0]
    return _launcher_layout()[2]


def get_local_world_size() -> int:
    """The number of ranks on this node."""
    if _state.default is not None:
        return _state.local[1]
    return _launcher_layout()[3]


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    if _state.default is not None or "LOCAL_RANK" in os.environ or launched_by_mpi_env():
        return get_local_rank()
    if fallback_rank is not None:
        return fallback_rank
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
                       "`get_node_local_rank` to work, but be aware that this may be incorrect.")


def new_subgroups(group_size: int | None = None, group: Any = None, timeout: timedelta | None = None,
                  backend: str | None = None, pg_options: Any = None, group_desc: str | None = None,
                  ) -> tuple[ProcessGroup | None, list[ProcessGroup]]:
    """Consecutive subgroups of ``group_size`` ranks (default: the ranks of one node); every rank calls it.
    Returns (this rank's subgroup, all subgroups)."""
    if group is not None:
        raise ValueError("The group argument of new_subgroups is not supported: subgroups split the world")
    n = _default_group().size()
    if group_size is None:
        group_size = get_local_world_size()
    if group_size <= 0:
        raise ValueError(f"The arg 'group_size' ({group_size}) must be positive")
    if group_size > n:
        raise ValueError(f"The arg 'group_size' ({group_size}) must not exceed the world size ({n})")
    if n % group_size != 0:
        raise ValueError(f"The world size ({n}) must be divisible by 'group_size={group_size}'")
    return new_subgroups_by_enumeration([list(range(s, s + group_size)) for s in range(0, n, group_size)],
                                        timeout=timeout, backend=backend)


def new_subgroups_by_enumeration(ranks_per_subgroup_list: list[list[int]], timeout: timedelta | None = None,
                                 backend: str | None = None, pg_options: Any = None, group_desc: str | None = None,
                                 ) -> tuple[ProcessGroup | None, list[ProcessGroup]]:
    """One subgroup per rank list (a rank in at most one); every rank calls it, in the same order.
    Returns (this rank's subgroup or None, the subgroups this rank belongs to as torch returns them)."""
    if not ranks_per_subgroup_list:
        raise ValueError("The arg 'ranks_per_subgroup_list' cannot be empty")
    owner: dict[int, int] = {}
    for i, ranks in enumerate(ranks_per_subgroup_list):
        for r in ranks:
            if r in owner:
                raise ValueError(f"Rank {r} has appeared in both subgroup {ranks_per_subgroup_list[owner[r]]} and "
                                 f"{ranks}")
            owner[r] = i
    me = _default_group().rank()
    mine, subgroups = None, []
    for ranks in ranks_per_subgroup_list:
        pg = new_group(ranks, timeout=timeout, backend=backend)
        if isinstance(pg, ProcessGroup):
            subgroups.append(pg)
            if me in ranks:
                mine = pg
    return mine, subgroups


class ProcessGroupGloo(ProcessGroup):
    """PyTorch's host (CPU) backend class, served by MPI here (or by one process when no MPI launcher started
    this one). ``ProcessGroupGloo(store, rank, size, timeout)`` makes a group of the whole job: ``store`` is
    accepted and unused (MPI does the rendezvous), ``rank`` and ``size`` must be MPI's. Once
    ``init_process_group`` has run, it serves as ``group=`` of
    every collective; ``name()`` is ``"gloo"``. Groups made by ``init_process_group``/``new_group`` stay plain
    :class:`ProcessGroup` objects, as in PyTorch (whose ProcessGroupGloo is a backend, not the group)."""

    def __init__(self, store: Any, rank: int, size: int, timeout: timedelta = timedelta(seconds=1800)) -> None:
        rank, size = int(rank), int(size)
        if not 0 <= rank < size:
            raise RuntimeError(f"rank < size. {rank} vs {size}")
        if not isinstance(timeout, timedelta):
            raise TypeError(f"ProcessGroupGloo: timeout must be a datetime.timedelta, not {type(timeout).__name__}")
        seconds = timeout.total_seconds()
        comm = _world_communicator("mpi" if _launched_by_mpi() else None, seconds, size)
        if (comm.rank, comm.size) != (rank, size):
            comm.free()
            raise ValueError(f"ProcessGroupGloo: rank={rank}, size={size} but MPI gave this process rank "
                             f"{comm.rank} of {comm.size} (MPI's COMM_WORLD decides the group)")
        super().__init__(comm, "gloo", seconds, None)

    def name(self) -> str:
        return "gloo"

    def __repr__(self) -> str:
        return f"ProcessGroupGloo(ranks={self.ranks})"
