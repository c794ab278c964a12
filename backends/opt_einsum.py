"""``torch.backends.opt_einsum``: whether ``torch.einsum`` searches for a cheap contraction order.
disttorch's einsum does that search with numpy's ``einsum_path`` (no extra package), and honours
``enabled`` (False: contract left to right) and ``strategy`` ("auto", "greedy" or "optimal")."""
from __future__ import annotations

import sys
from typing import Any

from ._flags import set_flags

enabled = True
strategy = "auto"


def is_available() -> bool:
    return True


def get_opt_einsum() -> Any:
    """The opt_einsum package when installed, else None (disttorch does not need it)."""
    try:
        import opt_einsum
    except ImportError:
        return None
    return opt_einsum


def flags(enabled: bool | None = None, strategy: str | None = None) -> Any:
    return set_flags(sys.modules[__name__], enabled=enabled, strategy=strategy)
