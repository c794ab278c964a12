"""``torch.random``: the default generator and its seeding and state functions, and ``fork_rng``."""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

from ._ops.random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state

__all__ = ["Generator", "default_generator", "fork_rng", "get_rng_state", "initial_seed", "manual_seed", "seed",
           "set_rng_state"]

_fork_rng_warned = [False]


@contextlib.contextmanager
def fork_rng(devices: Iterable[Any] | None = None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type: str = "cuda") -> Iterator[None]:
    """Run the block with the random states of the cpu and of ``devices`` (of ``device_type``) saved on entry
    and restored on exit. ``devices=None`` forks every visible device, with PyTorch's warning when there are
    several."""
    if not enabled:
        yield
        return
    from . import cuda as _cuda

    if device_type != "cuda":
        raise RuntimeError(f"torch has no module of type {device_type!r}; fork_rng supports 'cuda' here")
    if devices is None:
        count = _cuda.device_count()
        if count > 1 and not _fork_rng_warned[0]:
            warnings.warn(f"CUDA reports that you have {count} available devices, and you have used {_caller} "
                          f"without explicitly specifying which devices are being used. For safety, we initialize "
                          f"*every* CUDA device by default, which can be quite slow if you have a lot of CUDAs. If "
                          f"you know that you are only making use of a few CUDA devices, set the environment "
                          f"variable CUDA_VISIBLE_DEVICES or the '{_devices_kw}' keyword argument of {_caller} with "
                          f"the set of devices you are actually using.", stacklevel=3)
            _fork_rng_warned[0] = True
        devices = list(range(count))
    else:
        devices = list(devices)
    cpu_state = get_rng_state()
    if devices and not hasattr(_cuda, "get_rng_state"):
        raise NotImplementedError("fork_rng over cuda devices needs torch.cuda.get_rng_state")
    device_states = [(d, _cuda.get_rng_state(d)) for d in devices]
    try:
        yield
    finally:
        set_rng_state(cpu_state)
        for d, state in device_states:
            _cuda.set_rng_state(state, d)
