"""torch.cpu.amp: deprecated aliases of torch.amp fixed to device 'cpu'."""
from __future__ import annotations

from disttorch.amp.deprecated import device_aliases

__all__ = ["autocast", "GradScaler"]


autocast, GradScaler = device_aliases("cpu", "bfloat16", __name__)
