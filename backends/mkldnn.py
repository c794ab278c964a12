"""``torch.backends.mkldnn``: oneDNN flags. disttorch's cpu kernels are numpy and its BLAS, not
oneDNN; ``enabled`` is kept for scripts that set it."""
from __future__ import annotations

import sys
from typing import Any

from ._flags import set_flags

enabled = True
deterministic = False
allow_tf32 = False


def is_available() -> bool:
    return False


def flags(enabled: bool | None = None, deterministic: bool | None = None, allow_tf32: bool | None = None) -> Any:
    return set_flags(sys.modules[__name__], enabled=enabled, deterministic=deterministic, allow_tf32=allow_tf32)
