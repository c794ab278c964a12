"""torch.distributed.algorithms: the generic ``Join`` context for uneven inputs."""
from .join import Join, Joinable, JoinHook

__all__ = ["Join", "Joinable", "JoinHook"]
