"""The backward engine against PyTorch: leaves, accumulation, retain_graph, autograd.grad,
higher-order gradients, backward(inputs=...), error messages and memory release."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from oracle import assert_close, randn

import disttorch

torch = pytest.importorskip("torch")

LIBS = [disttorch, torch]


def total(x):
    """Sum of all elements (reduce ops may live elsewhere; fall back to arithmetic-only Function)."""
    if hasattr(x, "sum"):
        return x.sum()
    return _Sum.apply(x)


class _Sum(disttorch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return disttorch.tensor(np.asarray(x.detach().numpy().sum()), dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        return g * disttorch.ones(ctx.shape, dtype=g.dtype)


def pair(arr, requires_grad=True):
    return (disttorch.tensor(arr, requires_grad=requires_grad), torch.tensor(arr, requires_grad=requires_grad))


def both(fn):
    """Run fn(lib) for disttorch and torch; return the two results."""
    return fn(disttorch), fn(torch)


# -- requires_grad propagation and leaves ---------------------------------------------------------------
def test_requires_grad_propagation_and_leaves():
    def run(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        c = t.tensor([3.0, 4.0])
        y = x * c
        z = c + c
        return [x.requires_grad, x.is_leaf, x.grad_fn is None, c.requires_grad, c.is_leaf, y.requires_grad,
                y.is_leaf, y.grad_fn is None, z.requires_grad, z.is_leaf, (y + z).requires_grad]

    ours, theirs = both(run)
    assert ours == theirs


def test_integer_ops_do_not_require_grad():
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        i = (x * 2).to(t.int64)
        assert not i.requires_grad and i.grad_fn is None
        assert (x * 2).grad_fn is not None


def test_grad_fn_names_and_next_functions():
    def run(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = t.tensor([3.0, 4.0], requires_grad=True)
        z = (x * y + x) / y - y
        names = [type(z.grad_fn).__name__ if t is torch else z.grad_fn.name()]
        fn = z.grad_fn
        nxt = [(f.name() if f is not None else None, nr) for f, nr in fn.next_functions]
        leaf = z.grad_fn.next_functions[0][0].next_functions[1][0]
        return names, nxt, leaf.variable is y

    ours, theirs = both(run)
    assert ours[0] == theirs[0] and ours[2] and theirs[2]
    assert [(n, nr) for n, nr in ours[1]] == [(n, nr) for n, nr in theirs[1]]


def test_accumulate_grad_node_name():
    x = disttorch.tensor([1.0], requires_grad=True)
    node = (x * 2).grad_fn.next_functions[0][0]
    assert node.name() == "torch::autograd::AccumulateGrad" and repr(node).startswith("<AccumulateGrad object")
    assert node.variable is x
    assert isinstance(node, disttorch.autograd.graph.Node)
    assert isinstance((x * 2).grad_fn, disttorch.autograd.graph.Node)


# -- backward ------------------------------------------------------------------------------------------
def test_grad_accumulates_across_backward_calls():
    a = randn(3, 4, seed=1)
    b = randn(3, 4, seed=2)
    res = []
    for t in LIBS:
        x, y = t.tensor(a, requires_grad=True), t.tensor(b, requires_grad=True)
        total(x * y * x).backward()
        first = x.grad.clone()
        total(x * x + y).backward()
        res.append((first, x.grad, y.grad))
    assert_close(res[0], res[1])


def test_backward_with_gradient_argument():
    a = randn(2, 3, seed=3)
    g = randn(2, 3, seed=4)
    res = []
    for t in LIBS:
        x = t.tensor(a, requires_grad=True)
        y = x * x * 3 - x
        y.backward(gradient=t.tensor(g))
        res.append(x.grad)
    assert_close(*res)


def test_backward_gradient_shape_mismatch():
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of "
                                               r"torch.Size\(\[3\]\) and output\[0\] has a shape of "
                                               r"torch.Size\(\[2\]\)"):
            (x * 2).backward(t.ones(3))


def test_broadcast_gradient_is_reduced():
    a, b = randn(3, 1, seed=5), randn(4, seed=6)
    res = []
    for t in LIBS:
        x, y = t.tensor(a, requires_grad=True), t.tensor(b, requires_grad=True)
        total(x * y + x / (y * y + 1)).backward()
        res.append((x.grad, y.grad))
    assert_close(*res)


def test_implicit_grad_needs_scalar():
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
            (x * 2).backward()
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
            t.autograd.grad(x * 2, x)


def test_backward_without_grad_fn():
    for t in LIBS:
        x = t.tensor(2.0)
        with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have "
                                               "a grad_fn"):
            (x * 2).backward()


def test_backward_on_leaf_itself():
    res = []
    for t in LIBS:
        x = t.tensor(3.0, requires_grad=True)
        x.backward()
        x.backward(t.tensor(2.0))
        res.append(x.grad)
    assert_close(*res)


def test_second_backward_raises_without_retain_graph():
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = total(x * x)
        y.backward()
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
            y.backward()


def test_retain_graph_allows_second_backward():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = total(x * x * x)
        y.backward(retain_graph=True)
        y.backward(retain_graph=True)
        y.backward()
        res.append(x.grad)
    assert_close(*res)


def test_graph_without_saved_tensors_can_run_twice():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = total(x + x - 1.0)
        y.backward()
        y.backward()
        res.append(x.grad)
    assert_close(*res)


def test_multiple_roots_backward():
    a = randn(3, seed=7)
    res = []
    for t in LIBS:
        x = t.tensor(a, requires_grad=True)
        y1, y2 = x * x, x * 3
        t.autograd.backward([y1, y2], [t.ones(3), t.full((3,), 2.0)])
        res.append(x.grad)
    assert_close(*res)


def test_diamond_graph():
    a = randn(5, seed=8)
    res = []
    for t in LIBS:
        x = t.tensor(a, requires_grad=True)
        h = x * 2
        u, v = h * h, h + 1
        w = u * v + h
        total(w).backward()
        res.append(x.grad)
    assert_close(*res)


def test_dtype_of_gradient_follows_leaf():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], dtype=t.float32, requires_grad=True)
        y = t.tensor([1.0, 2.0], dtype=t.float64, requires_grad=True)
        total(x * y).backward()
        res.append((x.grad, y.grad))
    assert_close(*res)


# -- autograd.grad -------------------------------------------------------------------------------------
def test_grad_several_outputs_and_inputs():
    a, b = randn(2, 3, seed=9), randn(2, 3, seed=10)
    ga, gb = randn(2, 3, seed=11), randn(2, 3, seed=12)
    res = []
    for t in LIBS:
        x, y = t.tensor(a, requires_grad=True), t.tensor(b, requires_grad=True)
        o1, o2 = x * y, x * x - y
        res.append(t.autograd.grad([o1, o2], [x, y], grad_outputs=[t.tensor(ga), t.tensor(gb)]))
        assert x.grad is None and y.grad is None
    assert_close(*res)


def test_grad_does_not_touch_other_leaves():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    w = disttorch.tensor([3.0, 4.0], requires_grad=True)
    (g,) = disttorch.autograd.grad(total(x * w), x)
    assert w.grad is None and x.grad is None
    assert_close(g, torch.tensor([3.0, 4.0]))


def test_grad_unused_input():
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        w = t.tensor([1.0, 1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="The differentiated Tensor at index 1 appears to not have been "
                                               "used in the graph. Set allow_unused=True"):
            t.autograd.grad(total(x * 1), [x, w])
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        w = t.tensor([1.0, 1.0], requires_grad=True)
        gx, gw = t.autograd.grad(total(x * 1), [x, w], allow_unused=True, retain_graph=True)
        assert gw is None
        mx, mw = t.autograd.grad(total(x * 1), [x, w], materialize_grads=True)
        res.append((gx, mx, mw))
    assert_close(*res)


def test_grad_input_without_requires_grad():
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="One of the differentiated Tensors does not require grad"):
            t.autograd.grad(total(x * 1), [x, t.ones(2)])


def test_grad_non_leaf_inputs():
    a = randn(4, seed=13)
    res = []
    for t in LIBS:
        x = t.tensor(a, requires_grad=True)
        h = x * x
        k = h + x
        out = total(k * h)
        res.append(t.autograd.grad(out, [h, k, x]))
    assert_close(*res)


def test_grad_same_input_twice():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        res.append(t.autograd.grad(total(x * x), [x, x]))
    assert_close(*res)


def test_grad_outputs_none_entries():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        res.append(t.autograd.grad([total(x * x), x * 3], [x], grad_outputs=[None, t.ones(2)]))
    assert_close(*res)


@pytest.mark.parametrize("case", ["x3y", "xxx"])
def test_create_graph_higher_order(case):
    a, b = randn(3, seed=14, dtype=np.float64), randn(3, seed=15, dtype=np.float64)
    res = []
    for t in LIBS:
        x, y = t.tensor(a, requires_grad=True), t.tensor(b, requires_grad=True)
        out = x ** 3 * y if case == "x3y" else x * x * x
        ones = t.ones(3, dtype=t.float64)
        (g1,) = t.autograd.grad(out, x, ones, create_graph=True)
        assert g1.requires_grad
        (g2,) = t.autograd.grad(g1, x, ones, create_graph=True)
        (g3,) = t.autograd.grad(g2, x, ones, create_graph=True)
        mixed = None
        if case == "x3y":
            (mixed,) = t.autograd.grad(total(g1), y, retain_graph=True)
        res.append((g1, g2, g3) + ((mixed,) if mixed is not None else ()))
    assert_close(*res)


@pytest.mark.filterwarnings(r"ignore:Using backward\(\) with create_graph=True")
def test_backward_create_graph_then_grad_of_grad():
    res = []
    for t in LIBS:
        x = t.tensor([0.5, -1.5], dtype=t.float64, requires_grad=True)
        total(x * x * x).backward(create_graph=True)
        g = x.grad
        assert g.requires_grad
        (gg,) = t.autograd.grad(total(g), x)
        res.append((g, gg))
    assert_close(*res)


def test_grad_without_create_graph_is_detached():
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        (g,) = t.autograd.grad(total(x * x), x)
        assert not g.requires_grad and g.grad_fn is None


def test_backward_inputs_argument():
    a, b = randn(3, seed=16), randn(3, seed=17)
    res = []
    for t in LIBS:
        x, y = t.tensor(a, requires_grad=True), t.tensor(b, requires_grad=True)
        h = x * y
        h.retain_grad()
        out = total(h * x)
        out.backward(inputs=[x], retain_graph=True)
        assert y.grad is None
        out.backward(inputs=[y, x])
        res.append((x.grad, y.grad))
    assert_close(*res)


def test_backward_inputs_empty_raises():
    for t in LIBS:
        x = t.tensor([1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="`inputs` argument to `backward\\(\\)` cannot be empty"):
            total(x * 2).backward(inputs=[])


def test_backward_inputs_non_leaf_accumulates_grad():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        h = x * 3
        calls = []
        x.register_post_accumulate_grad_hook(lambda p: calls.append(1))
        total(h * h).backward(inputs=[h], retain_graph=True)
        assert h.retains_grad and x.grad is None and not calls
        total(h * h).backward(inputs=[x])
        res.append((h.grad, x.grad, len(calls)))
    assert_close(*res)


# -- detach ---------------------------------------------------------------------------------------------
def test_detach_shares_storage_and_version():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    d.mul_(2)  # allowed even though x is a leaf requiring grad
    assert x._version_counter == d._version_counter == 1
    assert_close(x.detach(), torch.tensor([2.0, 4.0]))
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    dt = xt.detach()
    dt.mul_(2)
    assert xt._version == 1


def test_detach_of_non_leaf_breaks_graph():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = x * x
        z = y.detach() * x
        total(z).backward()
        res.append(x.grad)
    assert_close(*res)


def test_detach_inplace():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        out = y.detach_()
        assert out is y and not y.requires_grad and y.grad_fn is None and y.is_leaf
        total(y * x).backward()
        res.append(x.grad)
    assert_close(*res)


def test_data_assignment_and_in_place_on_data():
    res = []
    for t in LIBS:
        p = t.tensor([1.0, 2.0], requires_grad=True)
        p.data.mul_(3)
        p.data = p.data * 2
        total(p * p).backward()
        res.append((p.detach(), p.grad, p.is_leaf, p.requires_grad))
    assert_close(*res)


# -- requires_grad_ ----------------------------------------------------------------------------------------
def test_requires_grad_errors():
    for t in LIBS:
        with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
            t.tensor([1, 2]).requires_grad_()
        with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype can require "
                                               "gradients"):
            t.tensor([1, 2]).requires_grad = True
        with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point"):
            t.tensor([1, 2], requires_grad=True)
        with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
            (t.tensor([1.0], requires_grad=True) * 2).requires_grad_(False)
        y = t.tensor([1.0], requires_grad=True) * 2
        assert y.requires_grad_(True) is y
        x = t.tensor([1, 2]).requires_grad_(False)
        assert not x.requires_grad


def test_requires_grad_complex_and_setter():
    x = disttorch.tensor([1.0 + 1j]).requires_grad_()
    assert x.requires_grad
    y = disttorch.tensor([1.0])
    y.requires_grad = True
    assert y.requires_grad and y.is_leaf


# -- retained non-leaf grads -------------------------------------------------------------------------------
def test_retain_grad():
    a = randn(3, seed=18)
    res = []
    for t in LIBS:
        x = t.tensor(a, requires_grad=True)
        h = x * x
        h.retain_grad()
        h.retain_grad()  # twice is harmless
        total(h * 3).backward(retain_graph=True)
        first = h.grad.clone()
        total(h * 3).backward()
        assert h.retains_grad and not x.retains_grad
        res.append((first, h.grad, x.grad))
    assert_close(*res)


def test_non_leaf_grad_access_warns():
    for t in LIBS:
        y = t.tensor([1.0], requires_grad=True) * 2
        with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"):
            assert y.grad is None


# -- memory ---------------------------------------------------------------------------------------------
def test_saved_tensors_released_after_backward():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    node = y.grad_fn
    assert node.saved_inputs[0] is x
    total(y).backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        _ = node.saved_inputs
    # torch's equivalent
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    yt = xt * xt
    yt.sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        _ = yt.grad_fn._saved_self


def test_saved_intermediate_is_freed_after_backward():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    ref = weakref.ref(h)
    y = h * h  # saves h
    del h
    gc.collect()
    assert ref() is not None
    total(y).backward()
    gc.collect()
    assert ref() is None


def test_graph_freed_when_out_of_scope():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)

    def build():
        h = x * x
        out = h * 2  # saves nothing of interest, but h saved by Mul(x, x)
        out2 = (out * out) / (h + 1) + x ** 2  # Pow saves its output
        return weakref.ref(h.grad_fn), weakref.ref(out2.grad_fn), weakref.ref(h)

    gc.collect()
    gc.disable()  # no help from the cycle collector: refcounting alone must free the graph
    try:
        refs = build()
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_graph_freed_after_backward_with_saved_output():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    gc.disable()
    try:
        y = x ** 3
        ref = weakref.ref(y.grad_fn)
        total(y).backward()
        del y
        assert ref() is None
    finally:
        gc.enable()


def test_leaf_free_releases_accumulate_node():
    gc.disable()
    try:
        x = disttorch.tensor([1.0, 2.0], requires_grad=True)
        acc = weakref.ref((x * 2).grad_fn.next_functions[0][0])
        xr = weakref.ref(x)
        del x
        assert xr() is None and acc() is None
    finally:
        gc.enable()


def test_detach_inplace_on_view_raises():
    for t in LIBS:
        x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
        for v in [(x * 1)[1:], t.ones(3)[1:]]:
            with pytest.raises(RuntimeError, match=r"Can't detach views in-place. Use detach\(\) instead."):
                v.detach_()


def test_backward_inputs_skips_hooks_of_other_leaves():
    calls = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        w = t.tensor([3.0, 4.0], requires_grad=True)
        seen = []
        w.register_hook(lambda g: seen.append("w"))
        w.register_post_accumulate_grad_hook(lambda p: seen.append("w_acc"))
        x.register_post_accumulate_grad_hook(lambda p: seen.append("x_acc"))
        total(x * w).backward(inputs=[x])
        calls.append(seen)
    assert calls[0] == calls[1] == ["x_acc"]


def test_reentrant_backward_inside_function():
    """A Function whose backward recomputes its forward and runs a nested backward (what
    activation checkpointing does)."""
    a = randn(3, seed=30, dtype=np.float64)
    res = []
    for t in LIBS:
        class Recompute(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x * x

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                inner = x.detach().requires_grad_()
                with t.enable_grad():
                    out = inner * inner * inner
                out.backward(g)
                return inner.grad

        x = t.tensor(a, requires_grad=True)
        events = []
        y = Recompute.apply(x * 2)
        x.register_post_accumulate_grad_hook(lambda p, events=events: events.append("acc"))
        total(y).backward()
        res.append((x.grad, events))
    assert_close(res[0][0], res[1][0])
    assert res[0][1] == res[1][1] == ["acc"]


def test_gradient_count_mismatch():
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="got 2 tensors and 1 gradients"):
            t.autograd.grad([x * 2, x * 3], x, [t.ones(2)])
        with pytest.raises(RuntimeError, match="got 2 tensors and 1 gradients"):
            t.autograd.backward([x * 2, x * 3], [t.ones(2)])


def test_gradient_argument_dtype_is_cast():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        (x * 2).backward(t.ones(2, dtype=t.float64))
        (g,) = t.autograd.grad(x * 3, x, t.ones(2, dtype=t.float64))
        res.append((x.grad, g))
    assert_close(*res)


def test_backward_on_device(device):
    a, b = randn(3, seed=40, dtype=np.float64), randn(3, seed=41, dtype=np.float64)
    res = []
    for t in LIBS:
        dev = device if t is disttorch else "cpu"
        x = t.tensor(a, requires_grad=True, device=dev)
        y = t.tensor(b, requires_grad=True, device=dev)
        seen = []
        x.register_post_accumulate_grad_hook(lambda p, seen=seen: seen.append(p.grad.clone()))
        out = x ** 3 * y + x / (y * y + 1)
        total(out).backward(retain_graph=True)
        total(out * 2).backward()
        (g1,) = t.autograd.grad(total(x * x * x * y), x, create_graph=True)
        (g2,) = t.autograd.grad(total(g1), x)
        res.append((x.grad, y.grad, seen[0], g1, g2))
        if t is disttorch:
            assert x.grad.device == x.device
    assert_close(*res)


def test_first_gradient_is_never_shared_between_leaves_or_with_the_caller():
    """AccumulateGrad keeps a fresh gradient array without copying it, but only when nothing else holds
    it: the same gradient flowing to two leaves, or a gradient the caller passed in, must be copied."""
    for lib in (disttorch, torch):
        a = lib.ones(3, requires_grad=True)
        b = lib.ones(3, requires_grad=True)
        (a + b).backward(lib.ones(3))  # AddBackward hands the same gradient to both leaves
        a.grad.mul_(5)
        assert b.grad.tolist() == [1.0, 1.0, 1.0], lib
        g = lib.full((3,), 2.0)
        c = lib.ones(3, requires_grad=True)
        c.backward(g)
        c.grad.add_(1)
        assert g.tolist() == [2.0, 2.0, 2.0], lib
        d = lib.ones(3, requires_grad=True)
        (d * 3).sum().backward()  # a fresh array may be kept as is: later accumulation still adds up
        (d * 3).sum().backward()
        assert d.grad.tolist() == [6.0, 6.0, 6.0], lib
