"""``torch.__future__``: switches for behaviour that changes in a future release (how ``Module._apply`` — ``to()``,
``cuda()``, ``float()``... — puts converted parameters in place)."""
from __future__ import annotations

__all__ = ["set_overwrite_module_params_on_conversion", "get_overwrite_module_params_on_conversion",
           "set_swap_module_params_on_conversion", "get_swap_module_params_on_conversion"]

_overwrite_module_params_on_conversion = False
_swap_module_params_on_conversion = False


def set_overwrite_module_params_on_conversion(value: bool) -> None:
    """True: converting a module gives it new Parameter objects instead of changing the old ones' ``.data``."""
    global _overwrite_module_params_on_conversion
    _overwrite_module_params_on_conversion = value


def get_overwrite_module_params_on_conversion() -> bool:
    return _overwrite_module_params_on_conversion


def set_swap_module_params_on_conversion(value: bool) -> None:
    """True: converting a module (and ``load_state_dict``) swaps each converted parameter into the old object with
    ``torch.utils.swap_tensors``, so that references to it see the new tensor; takes precedence over overwriting."""
    global _swap_module_params_on_conversion
    _swap_module_params_on_conversion = value


def get_swap_module_params_on_conversion() -> bool:
    return _swap_module_params_on_conversion
