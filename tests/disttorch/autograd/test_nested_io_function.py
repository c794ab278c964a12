"""autograd.NestedIOFunction, the legacy Function called on an instance with nested inputs.

PyTorch 2.13 keeps the class but its call path fails (``'super' object has no attribute '_do_forward'``), so
the helpers that do work there (save_for_backward / mark_dirty / mark_non_differentiable on an instance, the
NotImplementedError of the two *_extended methods) are compared with PyTorch directly, and the calls are
compared with the same computation written as a PyTorch ``autograd.Function`` on the flat inputs, plus a
float64 gradcheck.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def _instance(lib):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return lib.autograd.NestedIOFunction()


def test_class_and_helpers_match_pytorch():
    assert issubclass(disttorch.autograd.NestedIOFunction, disttorch.autograd.Function)
    assert disttorch.autograd.function.NestedIOFunction is disttorch.autograd.NestedIOFunction
    for lib in (torch, disttorch):
        f = _instance(lib)
        a, b, c = lib.ones(1), lib.ones(2), lib.ones(3)
        f.save_for_backward(a, (b, [c]), None)
        assert len(f.to_save) == 3 and all(x is y for x, y in zip(f.to_save, (a, b, c)))
        assert f._to_save_nested == (a, (b, [c]), None)
        f.mark_dirty(a, (b,), key=c)
        assert [x is y for x, y in zip(f.dirty_tensors, (a, b, c))] == [True] * 3
        f.mark_non_differentiable([a], c)
        assert len(f.non_differentiable) == 2 and f.non_differentiable[1] is c
        with pytest.raises(NotImplementedError):
            f.forward_extended(a)
        with pytest.raises(NotImplementedError):
            f.backward_extended(a)
        with pytest.raises(ValueError, match="Auto nesting doesn't know how to process an input object of type "
                                             "int. Accepted types: Tensors, or lists/tuples of them"):
            f.save_for_backward(a, 3)


class Ours(disttorch.autograd.NestedIOFunction):
    def forward_extended(self, x, pair):
        y, z = pair
        self.save_for_backward(x, (y, z))
        return x * y, [x + z.exp()]

    def backward_extended(self, g_prod, g_list):
        x, (y, z) = self.saved_tensors
        (g_sum,) = g_list
        return g_prod * y + g_sum, (g_prod * x, g_sum * z.exp())


class Flat(torch.autograd.Function):  # the same computation, PyTorch's way
    @staticmethod
    def forward(ctx, x, y, z):
        ctx.save_for_backward(x, y, z)
        return x * y, x + z.exp()

    @staticmethod
    def backward(ctx, g_prod, g_sum):
        x, y, z = ctx.saved_tensors
        return g_prod * y + g_sum, g_prod * x, g_sum * z.exp()


def test_nested_call_values_and_gradients():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(4) for _ in range(3)]
    ours = [disttorch.tensor(a, requires_grad=True) for a in arrays]
    ref = [torch.tensor(a, requires_grad=True) for a in arrays]
    prod, (total,) = Ours()(ours[0], (ours[1], ours[2]))
    rprod, rtotal = Flat.apply(*ref)
    np.testing.assert_allclose(prod.detach().numpy(), rprod.detach().numpy())
    np.testing.assert_allclose(total.detach().numpy(), rtotal.detach().numpy())
    assert prod.grad_fn.name() == "OursBackward"
    g1, g2 = rng.standard_normal(4), rng.standard_normal(4)
    disttorch.autograd.backward([prod, total], [disttorch.tensor(g1), disttorch.tensor(g2)])
    torch.autograd.backward([rprod, rtotal], [torch.tensor(g1), torch.tensor(g2)])
    for o, r in zip(ours, ref):
        np.testing.assert_allclose(o.grad.numpy(), r.grad.numpy())


def test_gradcheck_float64():
    def fn(x, y, z):
        prod, (total,) = Ours()(x, [y, z])
        return prod, total

    inputs = [disttorch.randn(3, dtype=disttorch.float64, requires_grad=True) for _ in range(3)]
    assert disttorch.autograd.gradcheck(fn, inputs)


class Single(disttorch.autograd.NestedIOFunction):
    def forward_extended(self, x):
        return x * 3

    def backward_extended(self, g):
        return g * 3


class Scale(disttorch.autograd.NestedIOFunction):
    def forward_extended(self, x):
        x.mul_(2)
        self.mark_dirty(x)
        return x

    def backward_extended(self, g):
        return g * 2


def test_single_output_in_place_and_errors():
    x = disttorch.ones(3, requires_grad=True)
    y = Single()(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0] * 3)
    leaf = disttorch.ones(3, requires_grad=True)
    moved = leaf.clone()
    out = Scale()(moved)
    assert out is moved and moved.grad_fn.name() == "ScaleBackward"
    out.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), [2.0] * 3)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        Scale()(disttorch.ones(3, requires_grad=True))
    with pytest.raises(ValueError, match="Auto nesting"):
        Single()(x, "text")
    with pytest.raises(AttributeError, match="_nested_input"):  # PyTorch's apply fails the same way
        Single.apply(x)
