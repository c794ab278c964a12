"""Op families. Each module defines its ops (forward on arrays, backward on Tensors), the public
functions, and registers the matching Tensor methods (``_register.methods``)."""
from . import arith, compare, creation, index, linalg, random, reduce, shape, sort, unary
from . import grad_dtype  # noqa: F401 (the Tensor.grad_dtype property)
from . import fill, inplace_shape, storage  # Tensor methods only: copy_/fill_..., x.t_()..., resize_/share_memory_
from . import combinatorics, repeat_diff, statistics, windows
from . import exp_log_extras, float_repr, integer_math, matrix_extras, views_extra, storage_views
from . import tensor_queries  # flags and small Tensor methods (is_mps, is_signed, dist, ...)
from . import float8_ops  # noqa: F401,E402 (which ops take float8 tensors)
