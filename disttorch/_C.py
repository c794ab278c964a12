"""The few ``torch._C`` names Python code uses for the ``__torch_function__`` protocol."""
from disttorch._torch_function import (
    DisableTorchFunction,
    DisableTorchFunctionSubclass,
    _disabled_torch_function_impl,
)
from disttorch._torch_function import is_torch_function_enabled as _is_torch_function_enabled

__all__ = ["DisableTorchFunction", "DisableTorchFunctionSubclass", "_disabled_torch_function_impl",
           "_is_torch_function_enabled"]
