"""The rank layout a process launcher gave this process, and torchrun's variables for it.

Open MPI (``OMPI_COMM_WORLD_*``), MPICH's Hydra and Intel MPI (``PMI_RANK``/``PMI_SIZE``/``MPI_LOCALRANKID``/
``MPI_LOCALNRANKS``), PMIx and SLURM's srun (``SLURM_PROCID``/``SLURM_LOCALID``/...) each say a process's rank
in their own words; scripts written for torchrun read ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE`` and
``LOCAL_WORLD_SIZE``. ``disttorchrun``'s bootstrap exports them for every rank; ``import disttorch`` does the
same (``adopt_launcher_env``) when a script runs under plain ``mpiexec`` or ``srun``, so ``int(os.environ
["LOCAL_RANK"])`` works there unchanged. Standard library only: the launcher and the lower layers use it.
"""
from __future__ import annotations

import os

__all__ = ["rank_layout", "group_layout", "export_torchrun_env", "adopt_launcher_env", "launched_by_mpi_env"]

TORCHRUN_NAMES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")
# what MPI launchers set in every rank (MPICH Hydra, Open MPI, PMIx, MVAPICH, Intel MPI)
_MPI_MARKERS = ("PMI_RANK", "PMI_SIZE", "PMI_FD", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK",
                "MPI_LOCALRANKID", "I_MPI_HYDRA_HOST_FILE")
_MPI_RANK_VARS = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "MV2_COMM_WORLD_RANK")


def _int_env(env: dict, *names: str) -> int | None:
    for name in names:
        value = env.get(name)
        if value not in (None, ""):
            try:
                return int(value)
            except ValueError:
                pass
    return None


def _slurm_local_size(env: dict) -> int | None:
    """Tasks on this node from ``SLURM_TASKS_PER_NODE`` (e.g. ``2(x3),1``) and ``SLURM_NODEID``."""
    spec, node = env.get("SLURM_TASKS_PER_NODE"), _int_env(env, "SLURM_NODEID")
    if not spec or node is None:
        return _int_env(env, "SLURM_NTASKS_PER_NODE")
    counts: list[int] = []
    for part in spec.split(","):
        count, _, repeat = part.partition("(x")
        try:
            counts.extend([int(count)] * (int(repeat.rstrip(")")) if repeat else 1))
        except ValueError:
            return None
    return counts[node] if node < len(counts) else None


def rank_layout(env: dict | None = None) -> tuple[int, int, int, int]:
    """``(rank, world_size, local_rank, local_world_size)`` as the process launcher assigned them."""
    env = os.environ if env is None else env
    schemes = (
        ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"),
        ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),
        ("PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"),
        ("MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_LOCAL_RANK", "MV2_COMM_WORLD_LOCAL_SIZE"),
        ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", None),
        ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"),
    )
    for rank_var, size_var, local_var, local_size_var in schemes:
        rank = _int_env(env, rank_var)
        if rank is None:
            continue
        size = _int_env(env, size_var, "SLURM_NPROCS") if rank_var == "SLURM_PROCID" else _int_env(env, size_var)
        size = size if size is not None else rank + 1
        local = _int_env(env, local_var)
        local_size = _slurm_local_size(env) if local_size_var is None else _int_env(env, local_size_var)
        if local is None:  # a launcher that does not tell: assume one node
            local, local_size = rank, size
        if local_size is None:
            local_size = _int_env(env, "DISTTORCH_LOCAL_WORLD_SIZE") or size
        return rank, size, local, local_size
    return 0, 1, 0, 1


def group_layout(env: dict, layout: tuple[int, int, int, int]) -> tuple[int, int]:
    """``(group_rank, group_world_size)``: the machine's index and the number of machines, as torchrun's
    GROUP_RANK / GROUP_WORLD_SIZE. SLURM says so (``SLURM_NODEID``, ``SLURM_NNODES``); MPI launchers place
    ranks in blocks of ``local_world_size`` per machine, the layout torchrun assumes too."""
    rank, size, _local, local_size = layout
    node, nodes = _int_env(env, "SLURM_NODEID"), _int_env(env, "SLURM_STEP_NUM_NODES", "SLURM_NNODES")
    slurm_scheme = "SLURM_PROCID" in env and not any(k in env for k in _MPI_RANK_VARS)  # as rank_layout chose
    if slurm_scheme and node is not None and nodes is not None:
        return node, nodes
    local_size = max(1, local_size)
    return rank // local_size, max(1, -(-size // local_size))


def export_torchrun_env(env: dict | None = None) -> tuple[int, int, int, int]:
    """Set torchrun's per-rank variables from the launcher's layout: RANK, WORLD_SIZE, LOCAL_RANK,
    LOCAL_WORLD_SIZE, GROUP_RANK, GROUP_WORLD_SIZE, ROLE_RANK, ROLE_WORLD_SIZE (one role: the global ones),
    and, where disttorchrun did not already, ROLE_NAME and the restart counters."""
    env = os.environ if env is None else env
    layout = rank_layout(env)
    for name, value in zip(("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"), layout):
        env[name] = str(value)
    group_rank, group_size = group_layout(env, layout)
    env.update(GROUP_RANK=str(group_rank), GROUP_WORLD_SIZE=str(group_size), ROLE_RANK=str(layout[0]),
               ROLE_WORLD_SIZE=str(layout[1]))
    env.setdefault("ROLE_NAME", "default")
    env.setdefault("DISTTORCH_RESTART_COUNT", "0")
    env.setdefault("TORCHELASTIC_RESTART_COUNT", env["DISTTORCH_RESTART_COUNT"])
    return layout


def launched_by_mpi_env(env: dict | None = None) -> bool:
    """Whether the environment says an MPI launcher (or srun, for a task of a job step) started us."""
    env = os.environ if env is None else env
    if any(k in env for k in _MPI_MARKERS):
        return True
    return "SLURM_PROCID" in env and "SLURM_STEP_ID" in env  # a task of srun, not the batch script itself


def adopt_launcher_env(env: dict | None = None) -> bool:
    """Set torchrun's variables from an MPI launcher's or srun's when the process has none of them; returns
    whether it did. Variables already set (by torchrun, disttorchrun or the user) are left alone."""
    env = os.environ if env is None else env
    if any(name in env for name in TORCHRUN_NAMES) or not launched_by_mpi_env(env):
        return False
    for name, value in zip(TORCHRUN_NAMES, rank_layout(env)):
        env[name] = str(value)
    return True
