"""Classes defined in one file but named, as in PyTorch, by another module's path (pickles and
allow-lists such as ``add_safe_globals`` name a class by ``__module__`` and ``__qualname__``)."""
from __future__ import annotations


def publish_at(module_name: str, *classes: type) -> None:
    """Give ``classes`` the ``__module__`` of the file that re-exports them, as PyTorch spells it."""
    for cls in classes:
        cls.__module__ = module_name
