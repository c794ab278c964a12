"""disttorch.distributed.nn: collectives that autograd can differentiate (``torch.distributed.nn``).

The RPC-based ``RemoteModule`` is not provided: disttorch is SPMD over collectives.
"""
from .functional import *  # noqa: F403
from .functional import __all__ as _functional_all

__all__ = list(_functional_all)
