"""The rest of torch.distributed's namespace: the coalesced collectives (one call per tensor here), backend
configuration, ``breakpoint``, ``split_group``/``shrink_group`` and ``DeviceMesh`` (a grid of ranks with one
process group per mesh dimension, over ``new_subgroups_by_enumeration``)."""
from __future__ import annotations

import contextlib
import math
import pdb
import sys
from datetime import timedelta
from typing import Any, Iterator

from disttorch._tensor import Tensor
from disttorch.collectives.base import ReduceOp

from .process_group import ProcessGroup, _default_group, get_backend, get_process_group_ranks
from .tensor_collectives import all_gather, all_gather_into_tensor, all_reduce, barrier, reduce_scatter_tensor
from .work import Work
from .world import new_group, new_subgroups_by_enumeration


def is_ucc_available() -> bool:
    return False


def is_xccl_available() -> bool:
    return False


class _AllWork(Work):
    """One handle for several async collectives: waits for each."""

    __slots__ = ("_works",)

    def __init__(self, works: list) -> None:
        super().__init__(None)
        self._works = [w for w in works if w is not None]

    def wait(self, timeout: Any = None) -> bool:
        for w in self._works:
            w.wait(timeout)
        return True

    def is_completed(self) -> bool:
        return all(w.is_completed() for w in self._works)


def all_reduce_coalesced(tensors: list[Tensor], op: Any = ReduceOp.SUM, group: Any = None,
                         async_op: bool = False) -> Work | None:
    """Deprecated in PyTorch: ``all_reduce`` of each tensor (the same result)."""
    works = [all_reduce(t, op=op, group=group, async_op=async_op) for t in tensors]
    return _AllWork(works) if async_op else None


def all_gather_coalesced(output_tensor_lists: list[list[Tensor]], input_tensor_list: list[Tensor],
                         group: Any = None, async_op: bool = False) -> Work | None:
    """Deprecated in PyTorch: ``output_tensor_lists[r][i]`` receives rank r's ``input_tensor_list[i]``."""
    works = [all_gather([per_rank[i] for per_rank in output_tensor_lists], t, group=group, async_op=async_op)
             for i, t in enumerate(input_tensor_list)]
    return _AllWork(works) if async_op else None


def all_gather_single(output_tensor: Tensor, input_tensor: Tensor, group: Any = None,
                      async_op: bool = False) -> Work | None:
    return all_gather_into_tensor(output_tensor, input_tensor, group=group, async_op=async_op)


def reduce_scatter_single(output: Tensor, input: Tensor, op: Any = ReduceOp.SUM, group: Any = None,
                          async_op: bool = False) -> Work | None:
    return reduce_scatter_tensor(output, input, op=op, group=group, async_op=async_op)


class BackendConfig:
    """The device-to-backend map of a group: ``"cpu:mpi,cuda:nccl"``."""

    def __init__(self, backend: Any) -> None:
        name = str(backend).lower()
        if ":" in name:
            self._map = dict(part.split(":", 1) for part in name.split(","))
        else:
            self._map = {"cpu": "gloo" if name == "nccl" else name, "cuda": name}

    def get_device_backend_map(self) -> dict[str, str]:
        return dict(self._map)

    def __repr__(self) -> str:
        return ",".join(f"{d}:{b}" for d, b in self._map.items())


def get_backend_config(group: ProcessGroup | None = None) -> str:
    return str(BackendConfig(get_backend(group)))


@contextlib.contextmanager
def record_comm(name: str) -> Iterator[None]:
    """PyTorch names a communication for its profiler; a region with no effect here (also a decorator)."""
    yield


_breakpoints_seen = [0]


def breakpoint(rank: int = 0, skip: int = 0, timeout_s: float = 3600) -> None:  # noqa: A001 (PyTorch's name)
    """Stop rank ``rank`` in pdb (reading the terminal) while the other ranks wait in a barrier; the first
    ``skip`` calls pass."""
    _breakpoints_seen[0] += 1
    if _breakpoints_seen[0] <= skip:
        return
    if _default_group().rank() == rank:
        try:
            stdin = open("/dev/tty")
        except OSError:
            stdin = sys.stdin
        debugger = pdb.Pdb(stdin=stdin)
        debugger.message(f"\n!!! ATTENTION !!!\n\nType 'up' to get to the frame that called dist.breakpoint"
                         f"(rank={rank})\n")
        debugger.set_trace(sys._getframe().f_back)
    barrier()


def split_group(parent_pg: ProcessGroup | None = None, split_ranks: list | None = None,
                timeout: timedelta | None = None, pg_options: Any = None, group_desc: str | None = None,
                backend: Any = None) -> ProcessGroup | None:
    """Split ``parent_pg`` (default: the world) into the groups of ``split_ranks`` (global ranks, disjoint);
    every rank of the parent calls it. Returns this rank's new group, or None when it is in none."""
    if split_ranks is None or not split_ranks:
        raise ValueError("split_ranks cannot be None or empty")
    parent = get_process_group_ranks(parent_pg) if parent_pg is not None else range(_default_group().size())
    for ranks in split_ranks:
        stray = [r for r in ranks if r not in parent]
        if stray:
            raise ValueError(f"split_ranks holds ranks {stray} that are not in the parent group")
    mine, _ = new_subgroups_by_enumeration([list(r) for r in split_ranks], timeout=timeout, backend=backend)
    return mine


def shrink_group(ranks_to_exclude: list[int], group: ProcessGroup | None = None, shrink_flags: int = 0,
                 pg_options: Any = None) -> ProcessGroup:
    """A new group of ``group``'s ranks (default: the world) without ``ranks_to_exclude``."""
    ranks = get_process_group_ranks(group) if group is not None else list(range(_default_group().size()))
    bad = [r for r in ranks_to_exclude if r not in ranks]
    if bad:
        raise ValueError(f"ranks_to_exclude holds ranks {bad} that are not in the group")
    return new_group([r for r in ranks if r not in ranks_to_exclude])


class DeviceMesh:
    """An n-d grid of global ranks (``mesh``) on ``device_type``; each mesh dimension has the process groups of
    the rank lines along it, created collectively when the mesh is made (every rank makes the same mesh)."""

    def __init__(self, device_type: str, mesh: Any, *, mesh_dim_names: tuple[str, ...] | None = None,
                 _init_backend: bool = True, _groups: list | None = None) -> None:
        import numpy as np

        from disttorch import tensor

        arr = np.asarray(mesh.tolist() if isinstance(mesh, Tensor) else mesh, dtype=np.int64)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if len(set(arr.ravel().tolist())) != arr.size:
            raise RuntimeError(f"DeviceMesh cannot have duplicate values, but found {arr.tolist()}")
        if mesh_dim_names is not None and len(mesh_dim_names) != arr.ndim:
            raise RuntimeError(f"mesh_dim_names {mesh_dim_names} must have the mesh's {arr.ndim} dimension(s)")
        self.device_type, self._arr = device_type, arr
        self.mesh = tensor(arr)
        self.mesh_dim_names = tuple(mesh_dim_names) if mesh_dim_names is not None else None
        me = _default_group().rank()
        where = np.argwhere(arr == me)
        self._coordinate = [int(c) for c in where[0]] if len(where) else None
        self._groups = _groups if _groups is not None else [self._dim_group(d) for d in range(arr.ndim)]

    def _dim_group(self, dim: int) -> ProcessGroup | None:
        lines = self._arr.swapaxes(dim, -1).reshape(-1, self._arr.shape[dim]).tolist()
        if len(lines) == 1 and len(lines[0]) == _default_group().size():
            return _default_group()
        mine, _ = new_subgroups_by_enumeration(lines)
        return mine

    @property
    def ndim(self) -> int:
        return self._arr.ndim

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._arr.shape)

    def size(self, mesh_dim: int | None = None) -> int:
        return self._arr.size if mesh_dim is None else self._arr.shape[mesh_dim]

    def _dim(self, mesh_dim: int | str | None) -> int:
        if mesh_dim is None:
            if self.ndim != 1:
                raise RuntimeError(f"Found the DeviceMesh have {self.ndim} dimensions. Optional kwarg `mesh_dim` "
                                   "needs to be specified when device_mesh.ndim > 1.")
            return 0
        if isinstance(mesh_dim, str):
            if not self.mesh_dim_names or mesh_dim not in self.mesh_dim_names:
                raise KeyError(f"Mesh dimension '{mesh_dim}' does not exist. Available mesh dimensions are: "
                               f"mesh_dim_names={self.mesh_dim_names}")
            return self.mesh_dim_names.index(mesh_dim)
        return mesh_dim

    def get_group(self, mesh_dim: int | str | None = None) -> ProcessGroup | None:
        return self._groups[self._dim(mesh_dim)]

    def get_all_groups(self) -> list:
        return list(self._groups)

    def get_rank(self) -> int:
        return _default_group().rank()

    def get_local_rank(self, mesh_dim: int | str | None = None) -> int:
        coord = self.get_coordinate()
        if coord is None:
            raise RuntimeError("this rank is not in the mesh")
        return coord[self._dim(mesh_dim)]

    def get_coordinate(self) -> list[int] | None:
        return None if self._coordinate is None else list(self._coordinate)

    def __getitem__(self, names: str | tuple[str, ...]) -> DeviceMesh:
        """The sub-mesh of the named dimensions that holds this rank (its groups are the parent's)."""
        names = (names,) if isinstance(names, str) else tuple(names)
        dims = [self._dim(n) for n in names]
        coord = self.get_coordinate() or [0] * self.ndim
        index = tuple(slice(None) if d in dims else coord[d] for d in range(self.ndim))
        sub = self._arr[index].transpose([sorted(dims).index(d) for d in dims])  # axes in the order asked
        return DeviceMesh(self.device_type, sub, mesh_dim_names=names, _groups=[self._groups[d] for d in dims])

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, DeviceMesh) and other.device_type == self.device_type
                and other._arr.shape == self._arr.shape and bool((other._arr == self._arr).all()))

    def __hash__(self) -> int:
        return hash((self.device_type, self._arr.tobytes(), self._arr.shape))

    def __repr__(self) -> str:
        names = f", mesh_dim_names={self.mesh_dim_names}" if self.mesh_dim_names else ""
        return f"DeviceMesh('{self.device_type}', {self._arr.tolist()}{names})"


def init_device_mesh(device_type: str, mesh_shape: tuple[int, ...], *, mesh_dim_names: tuple[str, ...] | None = None,
                     backend_override: Any = None) -> DeviceMesh:
    """A mesh of every rank, laid out in row-major order in ``mesh_shape``."""
    import numpy as np

    n = _default_group().size()
    if math.prod(mesh_shape) != n:
        raise RuntimeError(f"Mesh should not be bigger than default world size {n}, but found "
                           f"{math.prod(mesh_shape)} ranks!" if math.prod(mesh_shape) > n else
                           f"Mesh shape {tuple(mesh_shape)} holds {math.prod(mesh_shape)} ranks, the world {n}")
    if mesh_dim_names is not None:
        if len(set(mesh_dim_names)) != len(mesh_dim_names):
            raise RuntimeError(f"Each mesh_dim_name must be unique. Found repeated mesh_dim_name in "
                               f"mesh_dim_names {mesh_dim_names}")
        if len(mesh_dim_names) != len(mesh_shape):
            raise RuntimeError("mesh_shape and mesh_dim_names should have same length! "
                               f"Found len(mesh_dim_names): {len(mesh_dim_names)} and len(mesh_shape):"
                               f"{len(mesh_shape)}.")
    return DeviceMesh(device_type, np.arange(n).reshape(mesh_shape), mesh_dim_names=mesh_dim_names)
