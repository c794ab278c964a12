"""The framework's names: everything ``import disttorch`` offers (see ``disttorch/__init__.py``, which loads this
module on first use, so that the lower layers and the launcher start without it)."""
# ruff: noqa: F401, F403, E402, I001
from . import _silence_fp_warnings

_silence_fp_warnings()  # again, in case a warnings.catch_warnings() block dropped the filter since the import

from . import _malloc

_malloc.tune()  # keep freed array memory for reuse (see _malloc.py)

from . import backends  # registers the numpy and cupy backends
from ._device import device
from ._dtype import (
    bfloat16, complex64, complex128, dtype, float8_e4m3fn, float8_e4m3fnuz, float8_e5m2, float8_e5m2fnuz,
    float8_e8m0fnu, float16, float32, float64, get_default_dtype, int8, int16, int32, int64, promote_types,
    set_default_dtype, uint8, uint16, uint32, uint64,
)
from ._dtype import bool_ as bool
from ._tensor import Size, Tensor, is_tensor
from . import _C
from ._torch_function import DisableTorchFunction, DisableTorchFunctionSubclass
from . import autograd
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from . import _ops
from ._ops.arith import *
from ._ops.compare import *
from ._ops.creation import *
from ._ops.index import *
from ._ops.linalg import *
from ._ops.random import *
from ._ops.reduce import *
from ._ops.shape import *
from ._ops.sort import *
from ._ops.unary import *
from ._ops.combinatorics import *
from ._ops.repeat_diff import *
from ._ops.statistics import *
from ._ops.windows import *
from ._ops.exp_log_extras import *
from ._ops.float_repr import *
from ._ops.integer_math import *
from ._ops.matrix_extras import *
from ._ops.views_extra import *
from ._ops.view_copies import *
from ._ops.integration import *
from ._ops.tensor_extras import *
from ._ops.stft import *
from ._ops.tensor_misc import *
from ._ops.segment_reduce import *
from ._ops.creation import range_ as range
from ._runtime import *
from ._layouts import *
from ._runtime_flags import *
from ._legacy_types import *
from . import amp, cpu, cuda, linalg, nn, utils
from ._autocast_api import *
from .nn._torch_aliases import *
from ._nn_aliases import *
from .nn._functional.aten_rnn import gru, lstm, rnn_relu, rnn_tanh
from .nn._functional.aten_embedding import embedding_bag, embedding_renorm_
from .nn._functional.conv_tbc import conv_tbc
from . import distributed
from . import optim
from . import func, hub, profiler, random, version
from .func import vmap
from . import accelerator, distributions, fft, fx, jit, multiprocessing, onnx, quasirandom, signal, special, testing
from .utils.dlpack import from_dlpack
from .signal import windows
from ._ops.tensor_misc import thread_safe_generator
from ._runtime_objects import *
from ._streams import Event, Stream
from . import futures, masked, storage
from . import __future__
from .futures import Future
from .storage import TypedStorage, UntypedStorage
from ._control_flow import *
from .serialization import save, load

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64
cfloat, cdouble = complex64, complex128
