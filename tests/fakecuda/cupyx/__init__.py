"""``cupyx`` of the stand-in: ``scipy.special`` (the functions disttorch's cuda backend calls) and ``errstate``.
No ``scatter_add``/``scatter_max``/``scatter_min``: they are deprecated in cupy in favour of ``cupy.add.at``
(cupy docs, ``cupyx.scatter_add``: "Deprecated; use cupy.add.at")."""
from __future__ import annotations

import contextlib

from . import scipy  # noqa: F401


@contextlib.contextmanager
def errstate(*, linalg: str | None = None):
    yield
