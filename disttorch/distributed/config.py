"""torch.distributed.config: the global flags of torch.distributed, read from the environment at import.

Neither changes what disttorch does: ``compile_on_one_rank`` concerns torch.compile, and ``use_torchcomms``
selects a communication library disttorch does not use (its collectives go through MPI or NCCL).
"""
from __future__ import annotations

import os

__all__ = ["compile_on_one_rank", "use_torchcomms"]


def _env_flag(name: str) -> bool | str:
    """PyTorch's reading of a config flag's variable: "1" is True, "0" or unset False, other text as given."""
    value = os.environ.get(name)
    return True if value == "1" else False if value in (None, "0") else value


compile_on_one_rank: bool = bool(os.environ.get("TORCH_DISTRIBUTED_COMPILE_ON_ONE_RANK", False))
use_torchcomms: bool | str = _env_flag("TORCH_DISTRIBUTED_USE_TORCHCOMMS")
