"""torch.autograd.profiler_util: the event classes of the profilers."""
from disttorch.profiler._events import EventList, FunctionEvent, FunctionEventAvg

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg"]
