"""torch.cuda: cuda devices through the cupy backend (cupy is imported only when needed)."""
from __future__ import annotations

from typing import Any

from disttorch._legacy_types import CUDA_TYPES
from disttorch.backends import get_backend

globals().update(CUDA_TYPES)  # torch.cuda.FloatTensor and its siblings


def _backend() -> Any:
    return get_backend("cuda")


def is_available() -> bool:
    """True when cupy is installed and at least one CUDA device is visible."""
    return _backend().device_count() > 0


def device_count() -> int:
    return _backend().device_count()


def current_device() -> int:
    return _backend().current_device()


_chosen: list[int] = []  # the device the user chose with set_device (init_process_group then keeps it)


def set_device(device: Any) -> None:
    from disttorch._device import to_device

    if isinstance(device, int):
        index = device
    else:
        index = to_device(device).index or 0
    _backend().set_device(index)
    _chosen[:] = [index]


def _device_chosen() -> bool:
    """Whether this process picked its cuda device: set_device, or a current device other than 0."""
    return bool(_chosen) or current_device() != 0


def synchronize(device: Any = None) -> None:
    if is_available():
        _backend().synchronize(None if device is None else int(getattr(device, "index", device) or 0))


def is_initialized() -> bool:
    return is_available()


_SYNC_MODES = {"default": 0, "warn": 1, "error": 2}


def set_sync_debug_mode(debug_mode: int | str) -> None:
    """Warn (1, "warn") or raise (2, "error") when the host waits for the device: item(), bool(), tolist(),
    copies to the cpu (backends/sync_debug.py says which operations are seen); 0 / "default" turns it off."""
    from disttorch.backends import sync_debug

    from . import _common

    _common.require()
    if isinstance(debug_mode, str):
        if debug_mode not in _SYNC_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, `error`")
        debug_mode = _SYNC_MODES[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected one of 0, 1, 2, got {debug_mode}")
    sync_debug.mode[0] = int(debug_mode)


def get_sync_debug_mode() -> int:
    from disttorch.backends import sync_debug

    from . import _common

    _common.require()
    return sync_debug.mode[0]


def manual_seed(seed: int) -> None:
    from disttorch._ops import random

    random.cuda_manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    from disttorch._ops import random

    random.cuda_manual_seed(seed, all_devices=True)


def seed() -> None:
    from disttorch._ops import random

    random.cuda_seed()


def seed_all() -> None:
    from disttorch._ops import random

    random.cuda_seed(all_devices=True)


def get_device_name(device: Any = None) -> str:
    index = current_device() if device is None else int(getattr(device, "index", device) or 0)
    return _backend().device_name(index)


class device:
    """Context manager selecting a cuda device."""

    def __init__(self, device: Any) -> None:
        self.index = device if isinstance(device, int) else (getattr(device, "index", None) or 0)

    def __enter__(self) -> None:
        self.prev = current_device()
        _backend().set_device(self.index)  # for the block only: not a choice init_process_group keeps

    def __exit__(self, *exc: Any) -> None:
        _backend().set_device(self.prev)


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False without a CUDA device, as PyTorch answers; cupy devices of compute capability 8 and up have it."""
    if not is_available():
        return False
    major = int(_backend().xp.cuda.Device().compute_capability[:1] or 0)
    return major >= 8 or including_emulation


class device_of(device):
    """Context manager selecting the device of a tensor (no change for a cpu tensor)."""

    def __init__(self, obj: Any) -> None:
        self.index = obj.get_device() if getattr(obj, "is_cuda", False) else -1

    def __enter__(self) -> None:
        if self.index >= 0:
            super().__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self.index >= 0:
            super().__exit__(*exc)


def is_current_stream_capturing() -> bool:
    """False: disttorch captures no CUDA graphs."""
    return False


has_half = True  # cupy has float16 kernels
has_magma = False  # cupy's linalg goes through cuSOLVER


def __getattr__(name: str) -> Any:
    if name == "default_generators":  # per visible device, made on first use
        return random.default_generators()
    raise AttributeError(f"module 'disttorch.cuda' has no attribute '{name}'")


from disttorch._runtime_objects import AcceleratorError  # noqa: E402,F401

from . import amp, memory, nvtx, profiler, random  # noqa: E402
from ._info import *  # noqa: E402,F403
from ._info import _CudaDeviceProperties  # noqa: E402,F401
from .memory import *  # noqa: E402,F403
from .random import *  # noqa: E402,F403
from .streams import *  # noqa: E402,F403
