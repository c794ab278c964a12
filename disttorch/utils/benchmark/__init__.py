"""torch.utils.benchmark: ``Timer`` for Python statements, ``Measurement`` statistics and ``Compare`` tables,
with PyTorch's output formats. ``Fuzzer`` draws inputs.
Callgrind instruction counts, C++ statements, sparse fuzzing and ``op_fuzzers`` are not provided."""
from .utils.common import (
    Measurement,
    TaskSpec,
    ordered_unique,
    select_unit,
    set_torch_threads,
    trim_sigfig,
    unit_to_english,
)
from .utils.compare import Colorize, Compare
from .utils.fuzzer import FuzzedParameter, FuzzedTensor, Fuzzer, ParameterAlias
from .utils.timer import Language, Timer, timer

__all__ = ["Timer", "timer", "Language", "Measurement", "TaskSpec", "Compare", "Colorize", "select_unit",
           "unit_to_english", "trim_sigfig", "ordered_unique", "set_torch_threads",
           "Fuzzer", "FuzzedParameter", "FuzzedTensor", "ParameterAlias"]
