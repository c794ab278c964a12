"""Broadcasting errors say what PyTorch says (RuntimeError naming the sizes and the dimension)."""
from __future__ import annotations

import operator

import numpy as np
import pytest
from oracle import same_error

from disttorch._shapes import broadcast_shape

CLASHES = [((2, 3), (2, 4)), ((3,), (2, 4)), ((5, 2, 3), (4, 1, 3)), ((2, 3), (3, 2)), ((4,), (3,))]


@pytest.mark.parametrize("sa,sb", CLASHES)
@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv])
def test_operator_broadcast_errors(sa, sb, op):
    same_error(lambda t, a, b: op(a, b), [np.ones(sa, np.float32), np.ones(sb, np.float32)])


@pytest.mark.parametrize("sa,sb", CLASHES)
def test_broadcast_errors_with_autograd_and_functions(sa, sb):
    same_error(lambda t, a, b: a.requires_grad_() * b, [np.ones(sa), np.ones(sb)])
    same_error(lambda t, a, b: t.add(a, b, alpha=2), [np.ones(sa), np.ones(sb)])
    same_error(lambda t, a, b: a.add_(b), [np.ones(sa), np.ones(sb)])
    same_error(lambda t, a, b: t.maximum(a, b), [np.ones(sa), np.ones(sb)])
    same_error(lambda t, a, b: t.atan2(a.requires_grad_(), b), [np.ones(sa), np.ones(sb)])
    same_error(lambda t, a, b: t.where(a > 0, a, b), [np.ones(sa), np.ones(sb)])
    same_error(lambda t, a, b: t.lerp(a, b, 0.5), [np.ones(sa), np.ones(sb)])
    same_error(lambda t, a, b: t.addcmul(a, a, b), [np.ones(sa), np.ones(sb)])


def test_inplace_into_a_smaller_tensor():
    same_error(lambda t, a, b: a.add_(b), [np.ones(3), np.ones((2, 3))])
    same_error(lambda t, a, b: a.mul_(b), [np.ones(3, np.float32), np.ones((2, 3), np.float32)])


def test_broadcast_shape_values():
    assert broadcast_shape((2, 1, 3), (4, 1), ()) == np.broadcast_shapes((2, 1, 3), (4, 1), ())
    assert broadcast_shape() == ()
    with pytest.raises(RuntimeError, match=r"tensor a \(2\) must match the size of tensor b \(3\) at non-singleton "
                                           r"dimension 0"):
        broadcast_shape((2,), (3,), (4,))
