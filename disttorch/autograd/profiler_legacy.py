"""torch.autograd.profiler_legacy: the legacy profiler, here the same as ``torch.autograd.profiler.profile``."""
from .profiler import profile

__all__ = ["profile"]
