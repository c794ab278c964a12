"""Tensor printing (minimal version; to be made identical to PyTorch's formatting)."""
from __future__ import annotations

from typing import Any

import numpy as np

from disttorch import _dtype as D


def tensor_repr(t: Any) -> str:
    arr = np.asarray(t.__array__())
    body = np.array2string(arr, separator=", ", precision=4, prefix="tensor(")
    suffix = []
    if t.dtype not in (D.get_default_dtype(), D.int64, D.bool_):
        suffix.append(f"dtype={t.dtype}")
    if t.device.type != "cpu":
        suffix.append(f"device='{t.device}'")
    if t._grad_fn is not None:
        suffix.append(f"grad_fn=<{t._grad_fn.name()}>")
    elif t._requires_grad:
        suffix.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + s for s in suffix) + ")"
