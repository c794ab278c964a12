"""torch.autograd.Function against PyTorch: ctx API, multiple outputs, setup_context style,
in-place forward, materialized grads, double backward, saved-tensor checks."""
from __future__ import annotations

import gc
import re
import weakref

import numpy as np
import pytest
from oracle import assert_close, randn

import disttorch

torch = pytest.importorskip("torch")

LIBS = [disttorch, torch]


def version(t):
    return t._version if isinstance(t, torch.Tensor) else t._version_counter


def ssum(t, x):
    if t is torch or hasattr(disttorch.Tensor, "sum"):
        return x.sum()
    return _Sum.apply(x)


class _Sum(disttorch.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        ctx.shape = a.shape
        return disttorch.tensor(np.asarray(a.detach().numpy().sum()), dtype=a.dtype)

    @staticmethod
    def backward(ctx, g):
        return g * disttorch.ones(ctx.shape, dtype=g.dtype)


def make_classes(t):
    """The same user Functions written against library ``t``."""
    F = t.autograd.Function

    class Cube(F):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x  # differentiable ops: double backward works

    class ScaleAdd(F):
        @staticmethod
        def forward(ctx, x, alpha, y, flag):
            ctx.alpha, ctx.flag = alpha, flag
            ctx.record = ctx.needs_input_grad
            return x * alpha + y

        @staticmethod
        def backward(ctx, g):
            gx = g * ctx.alpha if ctx.needs_input_grad[0] else None
            gy = g if ctx.needs_input_grad[2] else None
            return gx, None, gy, None

    class TwoOut(F):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y, x + y

        @staticmethod
        def backward(ctx, ga, gb):
            x, y = ctx.saved_tensors
            return ga * y + gb, ga * x + gb

    class NoMaterialize(F):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            ctx.seen = (ga is None, gb is None)
            out = None
            if ga is not None:
                out = ga * 2
            if gb is not None:
                out = gb * 3 if out is None else out + gb * 3
            return out

    class NonDiff(F):
        @staticmethod
        def forward(ctx, x):
            mask = x * 0 + 1
            ctx.mark_non_differentiable(mask)
            return x * 2, mask

        @staticmethod
        def backward(ctx, g, gmask):
            ctx.gmask = gmask
            return g * 2

    class AddOneInPlace(F):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class Identity(F):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    class SquareSetup(F):
        @staticmethod
        def forward(x, k):
            return x * x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, k = inputs
            ctx.save_for_backward(x)
            ctx.k = k

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x * ctx.k, None

    class ExpSaveOut(F):
        @staticmethod
        def forward(ctx, x):
            out = (x * 0 + 2.0) ** x  # 2**x without depending on unary ops
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, g):
            (out,) = ctx.saved_tensors
            return g * out * 0.6931471805599453

    return {k: v for k, v in locals().items() if isinstance(v, type)}


def test_save_for_backward_and_double_backward():
    a = randn(4, seed=1, dtype=np.float64)
    res = []
    for t in LIBS:
        Cube = make_classes(t)["Cube"]
        x = t.tensor(a, requires_grad=True)
        y = Cube.apply(x)
        (g1,) = t.autograd.grad(ssum(t, y), x, create_graph=True)
        (g2,) = t.autograd.grad(ssum(t, g1), x, create_graph=True)
        (g3,) = t.autograd.grad(ssum(t, g2), x)
        res.append((y, g1, g2, g3))
    assert_close(*res)


def test_node_name_and_repr():
    for t in LIBS:
        Cube = make_classes(t)["Cube"]
        y = Cube.apply(t.tensor([1.0], requires_grad=True))
        assert y.grad_fn.name() == "CubeBackward"
        assert re.match(r"<torch\.autograd\.function\.CubeBackward object at 0x[0-9a-f]+>", repr(y.grad_fn))
        assert "grad_fn=<CubeBackward>" in repr(y)


def test_non_tensor_args_and_needs_input_grad():
    a, b = randn(3, seed=2), randn(3, seed=3)
    res = []
    for t in LIBS:
        ScaleAdd = make_classes(t)["ScaleAdd"]
        x = t.tensor(a, requires_grad=True)
        y = t.tensor(b)
        out = ScaleAdd.apply(x, 2.5, y, "flag")
        assert out.grad_fn.record == (True, False, False, False)
        assert len(out.grad_fn.next_functions) == 2  # one per Tensor argument
        ssum(t, out * out).backward()
        res.append((out, x.grad))
    assert_close(*res)


def test_multiple_outputs_with_unused_output_materialized():
    a, b = randn(3, seed=4), randn(3, seed=5)
    res = []
    for t in LIBS:
        TwoOut = make_classes(t)["TwoOut"]
        x, y = t.tensor(a, requires_grad=True), t.tensor(b, requires_grad=True)
        p, s = TwoOut.apply(x, y)
        assert (p.output_nr, s.output_nr) == (0, 1) and p.grad_fn is s.grad_fn
        ssum(t, p * 2).backward()  # s unused: backward sees zeros for it
        first = (x.grad.clone(), y.grad.clone())
        p, s = TwoOut.apply(x, y)
        ssum(t, p * s).backward()
        res.append(first + (x.grad, y.grad))
    assert_close(*res)


def test_set_materialize_grads_false():
    res = []
    for t in LIBS:
        NoMat = make_classes(t)["NoMaterialize"]
        x = t.tensor([1.0, 2.0], requires_grad=True)
        a, b = NoMat.apply(x)
        ssum(t, b).backward()
        res.append((x.grad, b.grad_fn.seen))
    assert_close(*res)
    assert res[0][1] == (True, False)


def test_mark_non_differentiable():
    res = []
    for t in LIBS:
        NonDiff = make_classes(t)["NonDiff"]
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y, mask = NonDiff.apply(x)
        assert not mask.requires_grad and mask.grad_fn is None and y.requires_grad
        node = y.grad_fn
        ssum(t, y).backward()
        res.append((x.grad, node.gmask))
    assert_close(*res)


def test_mark_dirty_in_place_forward():
    a = randn(3, seed=6)
    res = []
    for t in LIBS:
        Inc = make_classes(t)["AddOneInPlace"]
        x = t.tensor(a, requires_grad=True)
        h = x * 3
        v0 = version(h)
        out = Inc.apply(h)
        assert out is h and h.grad_fn.name() == "AddOneInPlaceBackward"
        res.append((version(h) - v0,))
        ssum(t, out * out).backward()
        res[-1] += (out, x.grad)
    assert_close(*res)


def test_mark_dirty_on_leaf_raises():
    for t in LIBS:
        Inc = make_classes(t)["AddOneInPlace"]
        x = t.tensor([1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad has been used in an in-place "
                                               "operation"):
            Inc.apply(x)


def test_returning_input_unchanged():
    res = []
    for t in LIBS:
        Identity = make_classes(t)["Identity"]
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = Identity.apply(x)
        assert y is not x and y.grad_fn is not None and y.grad_fn.name() == "IdentityBackward"
        assert y.data_ptr() == x.data_ptr()
        h = x * 1
        z = Identity.apply(h)
        assert z is not h and h.grad_fn.name() == "MulBackward0"
        ssum(t, y + z).backward()
        res.append(x.grad)
    assert_close(*res)


def test_setup_context_style():
    a = randn(3, seed=7)
    res = []
    for t in LIBS:
        Sq = make_classes(t)["SquareSetup"]
        x = t.tensor(a, requires_grad=True)
        y = Sq.apply(x, 3.0)
        ssum(t, y).backward()
        res.append((y, x.grad))
    assert_close(*res)


def test_saved_output_double_backward_and_no_cycle():
    a = randn(3, seed=8, dtype=np.float64)
    res = []
    for t in LIBS:
        E = make_classes(t)["ExpSaveOut"]
        x = t.tensor(a, requires_grad=True)
        y = E.apply(x)
        (g,) = t.autograd.grad(ssum(t, y), x, create_graph=True)
        (gg,) = t.autograd.grad(ssum(t, g), x)
        res.append((y, g, gg))
    assert_close(*res)
    E = make_classes(disttorch)["ExpSaveOut"]
    x = disttorch.tensor(a, requires_grad=True)
    gc.collect()
    gc.disable()
    try:
        y = E.apply(x)
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None  # saved output kept without a node <-> tensor cycle
    finally:
        gc.enable()


def test_wrong_number_of_gradients():
    for t in LIBS:
        class Bad(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 1

            @staticmethod
            def backward(ctx, g):
                return g, g

        x = t.tensor([1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match=r"function BadBackward returned an incorrect number of gradients "
                                               r"\(expected 1, got 2\)"):
            ssum(t, Bad.apply(x)).backward()


def test_extra_none_gradients_are_allowed():
    res = []
    for t in LIBS:
        class Extra(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2, None, None

        x = t.tensor([1.0], requires_grad=True)
        ssum(t, Extra.apply(x)).backward()
        res.append(x.grad)
    assert_close(*res)


def test_broadcastable_gradient_is_reduced_and_wrong_shape_raises():
    for t in LIBS:
        class Wide(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * t.ones(3, 2)

        class Wrong(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return t.ones(3)

        x = t.tensor([1.0, 2.0], requires_grad=True)
        ssum(t, Wide.apply(x)).backward()
        assert x.grad.tolist() == [3.0, 3.0]
        with pytest.raises(RuntimeError, match=r"Function WrongBackward returned an invalid gradient at index 0 - "
                                               r"got \[3\] but expected shape compatible with \[2\]"):
            ssum(t, Wrong.apply(x)).backward()


def test_saved_tensors_freed_and_version_checked():
    for t in LIBS:
        Cube = make_classes(t)["Cube"]
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = Cube.apply(x)
        node = y.grad_fn
        ssum(t, y).backward()
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
            _ = node.saved_tensors
        h = x * 1
        y = Cube.apply(h)
        h.mul_(2)
        with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation has been "
                                               "modified by an inplace operation"):
            ssum(t, y).backward()


def test_apply_under_no_grad():
    for t in LIBS:
        Cube = make_classes(t)["Cube"]
        x = t.tensor([1.0, 2.0], requires_grad=True)
        with t.no_grad():
            y = Cube.apply(x)
        assert not y.requires_grad and y.grad_fn is None
        y = Cube.apply(t.tensor([1.0]))
        assert not y.requires_grad and y.grad_fn is None


def test_once_differentiable():
    res = []
    for t in LIBS:
        from importlib import import_module

        once = import_module(t.__name__ + ".autograd.function").once_differentiable

        class Sq(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @once
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                ctx.enabled = t.is_grad_enabled()
                return g * 2 * x

        x = t.tensor([1.0, 3.0], requires_grad=True)
        y = Sq.apply(x)
        node = y.grad_fn
        (g,) = t.autograd.grad(ssum(t, y), x, create_graph=True)
        assert not node.enabled and not g.requires_grad
        y = Sq.apply(x)
        go = t.ones(2, requires_grad=True)
        (g2,) = t.autograd.grad(y, x, go, create_graph=True)
        assert g2.requires_grad
        with pytest.raises(RuntimeError, match="trying to differentiate twice a function that was marked with "
                                               "@once_differentiable"):
            ssum(t, g2).backward()
        res.append(g)
    assert_close(*res)


def test_function_hooks_and_integer_output():
    res = []
    for t in LIBS:
        class WithIndex(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2, (x * 0).to(t.int64), 7

            @staticmethod
            def backward(ctx, g, gi, gn):
                ctx.got = (gi.dtype, gn)
                return g * 2

        x = t.tensor([1.0, 2.0], requires_grad=True)
        y, i, n = WithIndex.apply(x)
        assert n == 7 and not i.requires_grad and y.requires_grad
        node = y.grad_fn
        ssum(t, y).backward()
        res.append((x.grad, str(node.got[0]), node.got[1]))
    assert_close(*res)
