"""The host waiting for a device: ``torch.cuda.set_sync_debug_mode``'s warning or error, raised where the
framework copies device memory to the host (``item()``, ``bool()``, ``tolist()``, ``.cpu()``, ``.numpy()``,
kernels that run on a host copy). Synchronisations inside cupy itself (the output size of ``nonzero``, boolean
masks) are not seen here, as PyTorch warns that not every synchronising operation is caught."""
from __future__ import annotations

import warnings

MESSAGE = "called a synchronizing CUDA operation"
mode = [0]  # 0: nothing, 1: warn, 2: error (process-wide, as PyTorch's)


def host_sync() -> None:
    """Called just before a device-to-host copy the host waits for."""
    if mode[0] == 1:
        warnings.warn(MESSAGE, UserWarning, stacklevel=3)
    elif mode[0] == 2:
        raise RuntimeError(MESSAGE)
