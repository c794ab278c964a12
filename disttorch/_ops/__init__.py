"""Op families. Each module defines its ops (forward on arrays, backward on Tensors), the public
functions, and attaches the matching Tensor methods."""
from . import arith, compare, creation, index, linalg, random, reduce, shape, sort, unary
