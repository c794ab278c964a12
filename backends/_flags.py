"""Shared pieces of PyTorch's flag modules (``torch.backends.cudnn``, ``.mkldnn``...): a settable
namespace and the ``flags(...)`` context manager that sets some flags and restores them."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator


@contextlib.contextmanager
def set_flags(namespace: Any, **values: Any) -> Iterator[None]:
    """Set the given attributes of ``namespace`` (``None`` keeps a flag) for the ``with`` block."""
    old = {name: getattr(namespace, name) for name in values}
    try:
        for name, value in values.items():
            if value is not None:
                setattr(namespace, name, value)
        yield
    finally:
        for name, value in old.items():
            setattr(namespace, name, value)
