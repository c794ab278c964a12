"""The deprecated per-device spellings torch.cpu.amp / torch.cuda.amp: autocast and GradScaler fixed to one
device, warning as PyTorch does. One factory serves both modules."""
from __future__ import annotations

import warnings
from typing import Any

from .autocast_mode import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler


def device_aliases(device: str, default_dtype: str, module: str) -> tuple[type, type]:
    """(autocast, GradScaler) of ``torch.<device>.amp``, published under ``module``."""

    class autocast(_autocast):
        __doc__ = f'``torch.amp.autocast("{device}", ...)``.'

        def __init__(self, enabled: bool = True, dtype: Any = None, cache_enabled: bool = True) -> None:
            from disttorch import _dtype as D

            warnings.warn(f"`torch.{device}.amp.autocast(args...)` is deprecated. "
                          f"Please use `torch.amp.autocast('{device}', args...)` instead.", FutureWarning,
                          stacklevel=2)
            super().__init__(device, enabled=enabled, dtype=getattr(D, default_dtype) if dtype is None else dtype,
                             cache_enabled=cache_enabled)

    class GradScaler(_GradScaler):
        __doc__ = f'``torch.amp.GradScaler("{device}", ...)``.'

        def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                     growth_interval: int = 2000, enabled: bool = True) -> None:
            warnings.warn(f"`torch.{device}.amp.GradScaler(args...)` is deprecated. "
                          f"Please use `torch.amp.GradScaler('{device}', args...)` instead.", FutureWarning,
                          stacklevel=2)
            super().__init__(device, init_scale=init_scale, growth_factor=growth_factor,
                             backoff_factor=backoff_factor, growth_interval=growth_interval, enabled=enabled)

    for cls in (autocast, GradScaler):
        cls.__module__, cls.__qualname__ = module, cls.__name__
    return autocast, GradScaler
