"""torch.distributed's process groups and collectives on Tensors, over disttorch.collectives.

The world communicator is MPI when the script was started by an MPI launcher (mpiexec, mpirun, srun) and
mpi4py is installed, otherwise a world of one process that needs no MPI. Tensors on cuda go through NCCL when
cupy has it (backend ``"nccl"`` or ``None``), otherwise through MPI (CUDA-aware, or staged through host memory).
Collectives write into the Tensors' storage (bumping their version counter) with no autograd history, as in
PyTorch.

This module gathers, under torch's module name, the parts that live one sub-family per file:
``process_group`` (groups, ranks, the dispatch rule), ``world`` (init, teardown, new_group),
``tensor_collectives``, ``p2p``, ``object_collectives``, ``settings`` (debug level, availability),
``work`` (async handles) and ``group_communicator``
(a group's collectives on raw arrays).
"""
from disttorch.collectives.base import ReduceOp

from .grad_bucket import BuiltinCommHookType, GradBucket
from .group_communicator import GroupCommunicator, _get_communicator  # noqa: F401 (re-exported)
from .mesh_and_extras import (
    BackendConfig,
    DeviceMesh,
    all_gather_coalesced,
    all_gather_single,
    all_reduce_coalesced,
    breakpoint,
    get_backend_config,
    init_device_mesh,
    is_ucc_available,
    is_xccl_available,
    record_comm,
    reduce_scatter_single,
    shrink_group,
    split_group,
)
from .object_collectives import (
    all_gather_object,
    broadcast_object_list,
    gather_object,
    recv_object_list,
    scatter_object_list,
    send_object_list,
)
from .p2p import P2POp, batch_isend_irecv, irecv, isend, recv, send
from .process_group import (
    Backend,
    GroupMember,
    ProcessGroup,
    _default_group,  # noqa: F401 (private names torch code and disttorch reach for here)
    _get_default_group,  # noqa: F401
    _state,  # noqa: F401
    get_backend,
    get_global_rank,
    get_group_rank,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    group,
    reduce_op,
)
from .settings import (
    DebugLevel,
    default_pg_timeout,
    get_debug_level,
    get_default_backend_for_device,
    get_pg_count,
    is_backend_available,
    set_debug_level,
    set_debug_level_from_env,
    supports_complex,
)
from .tensor_collectives import (
    all_gather,
    all_gather_into_tensor,
    all_reduce,
    all_to_all,
    all_to_all_single,
    barrier,
    broadcast,
    gather,
    monitored_barrier,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
)
from .work import Work
from .world import (
    ProcessGroupGloo,
    destroy_process_group,
    get_local_rank,
    get_local_world_size,
    get_node_local_rank,
    init_process_group,
    is_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    is_torchelastic_launched,
    new_group,
    new_subgroups,
    new_subgroups_by_enumeration,
)

__all__ = [
    "Backend", "GroupMember", "P2POp", "ProcessGroup", "ProcessGroupGloo", "ReduceOp", "Work", "all_gather",
    "all_gather_into_tensor", "all_gather_object", "all_reduce", "all_to_all", "all_to_all_single",
    "barrier", "batch_isend_irecv",
    "broadcast", "broadcast_object_list", "destroy_process_group", "gather", "gather_object", "get_backend",
    "get_global_rank", "get_group_rank", "get_local_rank", "get_local_world_size", "get_node_local_rank",
    "get_process_group_ranks", "get_rank", "get_world_size", "group", "init_process_group", "irecv",
    "is_available", "is_gloo_available", "is_initialized", "is_mpi_available", "is_nccl_available",
    "is_torchelastic_launched", "isend", "monitored_barrier", "new_group", "recv", "reduce", "reduce_op",
    "reduce_scatter", "reduce_scatter_tensor", "scatter", "scatter_object_list", "send",
    "send_object_list", "recv_object_list", "new_subgroups", "new_subgroups_by_enumeration", "DebugLevel",
    "default_pg_timeout", "get_debug_level", "set_debug_level", "set_debug_level_from_env", "is_backend_available",
    "get_default_backend_for_device", "get_pg_count", "supports_complex", "BackendConfig", "DeviceMesh",
    "all_gather_coalesced", "all_gather_single", "all_reduce_coalesced", "breakpoint", "get_backend_config",
    "init_device_mesh", "is_ucc_available", "is_xccl_available", "record_comm", "reduce_scatter_single",
    "shrink_group", "split_group", "GradBucket", "BuiltinCommHookType",
]
