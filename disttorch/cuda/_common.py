"""What the torch.cuda modules share: the cuda backend, device indices, and the refusal without cuda."""
from __future__ import annotations

from typing import Any

from disttorch.backends import get_backend


def backend() -> Any:
    return get_backend("cuda")


def cupy() -> Any:
    """The cupy module; without cuda the AssertionError a CPU build of PyTorch raises, saying why."""
    require()
    return backend().xp


def require() -> None:
    b = backend()
    if b.device_count() > 0:
        return
    if not b.installed():
        raise AssertionError("Torch not compiled with CUDA enabled: disttorch needs cupy for cuda "
                             "(pip install disttorch[cuda12])")
    raise RuntimeError("No CUDA GPUs are available")


def index(device: Any = None, optional: bool = True) -> int:
    """The device index of an int, a "cuda:1" string, a device, or None (the current device)."""
    if device is None:
        return int(backend().current_device())
    if isinstance(device, int):
        return device
    from disttorch._device import to_device

    dev = to_device(device)
    if dev.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {dev}")
    return int(backend().current_device()) if dev.index is None else dev.index
