"""Process groups: torch's backend names, ``ProcessGroup`` (with the rule that picks the communicator moving
an array), the default group, ranks within groups, and the argument checks every Tensor collective shares."""
from __future__ import annotations

import socket
import warnings
from datetime import timedelta
from typing import Any

import numpy as np

from disttorch._tensor import Tensor
from disttorch.backends import backend_for_array
from disttorch.collectives.base import Communicator, ReduceOp
from disttorch.collectives.registry import make_communicator

_NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."


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
    device N goes to that communicator for device N. ``init_process_group`` and ``new_group`` make the one for
    the current device at once (:meth:`connect`); one for another device is made on first use."""

    def __init__(self, comm: Communicator, backend: str, timeout: float, device_communicator: str | None) -> None:
        self.comm = comm
        self.backend = backend
        self.timeout = timeout
        self.ranks = list(comm.world_ranks)
        self.device_communicator = device_communicator
        self.eager = False  # whether init_process_group made the device communicator at once (new_group follows)
        self._device_comms: dict[int, Communicator] = {}

    def connect(self, device: int) -> None:
        """Make the device communicator for ``device`` now. Its bootstrap is a collective over every rank of
        the group, so it must not wait for a first send/recv, which only two ranks join."""
        if self.device_communicator is not None and device not in self._device_comms:
            self._device_comms[device] = make_communicator(self.device_communicator, host=self.comm, device=device,
                                                           timeout=self.timeout)

    def rank(self) -> int:
        return self.comm.rank

    def size(self) -> int:
        return self.comm.size

    def name(self) -> str:
        return self.backend

    def communicator_for(self, array: Any, p2p: bool = False) -> Communicator:
        """The one dispatch rule: which communicator moves ``array``. Host arrays (those whose backend gives no
        device index), and every array of a group without a device communicator, go to the host communicator;
        an array on device N goes to the group's device communicator for N, made on first use by a collective.
        Point-to-point (``p2p``) never makes it: its bootstrap needs every rank of the group, a send/recv only
        two, so until a collective (or :meth:`connect`) has made it, sends and receives go through the host."""
        if self.device_communicator is None or type(array) is np.ndarray:  # the common case, no lookup
            return self.comm
        device = backend_for_array(array).device_index(array)
        if device is None:
            return self.comm
        comm = self._device_comms.get(device)
        if comm is None and p2p:
            return self.comm
        if comm is None:
            if self.comm.size > 1 and gpu_shared(self.comm, backend_for_array(array).physical_id(device)):
                # ranks sharing a device cannot form an NCCL group: this group moves device arrays through the
                # host (every rank got the same answer from the exchange, so all switch together)
                self.device_communicator = None
                return self.comm
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


def gpu_shared(comm: Communicator, physical_id: str) -> tuple[tuple[int, int], tuple[str, str]] | None:
    """The first two world ranks of ``comm`` whose devices are one physical device, with (host, device); None
    when each rank has its own. Collective over ``comm``."""
    seen: dict[tuple[str, str], int] = {}
    for r, where in enumerate(comm.all_gather_object((socket.gethostname(), physical_id))):
        where = tuple(where)
        if where in seen:
            return (comm.world_ranks[seen[where]], comm.world_ranks[r]), where
        seen[where] = r
    return None


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


def _get_default_group() -> ProcessGroup:
    return _default_group()
