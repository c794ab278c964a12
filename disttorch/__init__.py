"""disttorch: a PyTorch-compatible deep-learning framework on numpy (cpu) and cupy (cuda).

``import disttorch as torch`` and keep writing PyTorch.
"""
from __future__ import annotations

import numpy as _np

# PyTorch computes 1/0 = inf and 0/0 = nan silently; so do we.
_np.seterr(divide="ignore", invalid="ignore", over="ignore")

from . import (
    _ops,  # noqa: E402
    autograd,  # noqa: E402
    backends,  # noqa: E402  (registers the numpy and cupy backends)
    cuda,  # noqa: E402
    nn,  # noqa: E402
)
from ._device import device  # noqa: E402
from ._dtype import (  # noqa: E402
    bfloat16,
    complex64,
    complex128,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    set_default_dtype,
    uint8,
    uint16,
    uint32,
    uint64,
)
from ._dtype import bool_ as bool  # noqa: E402
from ._ops.arith import *  # noqa: E402
from ._ops.compare import *  # noqa: E402
from ._ops.creation import *  # noqa: E402
from ._ops.creation import range_ as range  # noqa: E402
from ._ops.index import *  # noqa: E402
from ._ops.linalg import *  # noqa: E402
from ._ops.random import *  # noqa: E402
from ._ops.reduce import *  # noqa: E402
from ._ops.shape import *  # noqa: E402
from ._ops.sort import *  # noqa: E402
from ._ops.unary import *  # noqa: E402
from ._runtime import *  # noqa: E402
from ._tensor import Size, Tensor, is_tensor  # noqa: E402
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64
cfloat, cdouble = complex64, complex128

__version__ = "0.1.0"
