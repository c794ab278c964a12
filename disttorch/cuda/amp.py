"""torch.cuda.amp: deprecated aliases of torch.amp fixed to device 'cuda'."""
from __future__ import annotations

from typing import Any

from disttorch.amp import custom_bwd as _custom_bwd
from disttorch.amp import custom_fwd as _custom_fwd
from disttorch.amp.deprecated import device_aliases

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd"]


autocast, GradScaler = device_aliases("cuda", "float16", __name__)


def custom_fwd(fwd: Any = None, *, cast_inputs: Any = None) -> Any:
    return _custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd: Any = None) -> Any:
    return _custom_bwd(bwd, device_type="cuda")
