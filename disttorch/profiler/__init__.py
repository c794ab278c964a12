"""torch.profiler: time ops, ``record_function`` ranges and backward nodes on the CPU, print PyTorch's summary
table, export Chrome traces (also through ``tensorboard_trace_handler``), follow a step ``schedule``."""
from . import itt
from ._recorder import record_function
from .profiler import (ProfilerAction, ProfilerActivity, kineto_available, profile, schedule, supported_activities,
                       tensorboard_trace_handler)

__all__ = ["profile", "record_function", "schedule", "ProfilerActivity", "ProfilerAction", "supported_activities",
           "tensorboard_trace_handler", "kineto_available", "itt"]
