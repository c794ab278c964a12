"""In-place ops and autograd against PyTorch: version counters, leaf checks, in-place on
non-leaves and on views (CopySlices), views of a base modified in place."""
from __future__ import annotations

import re

import numpy as np
import pytest
from oracle import assert_close, randn

import disttorch

torch = pytest.importorskip("torch")

LIBS = [disttorch, torch]


def compare(fn, *arrays, dtype=np.float32, device="cpu"):
    """fn(t, *leaves) -> tensor(s); compares outputs and the leaves' gradients of a weighted sum
    (disttorch on ``device``, torch on cpu)."""
    res = []
    for t in LIBS:
        dev = device if t is disttorch else "cpu"
        leaves = [t.tensor(np.asarray(a, dtype=dtype), requires_grad=True, device=dev) for a in arrays]
        out = fn(t, *leaves)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        rng = np.random.default_rng(0)
        loss = None
        for o in outs:
            w = t.tensor(rng.standard_normal(tuple(o.shape)).astype(dtype), device=dev)
            term = (o * w).sum()
            loss = term if loss is None else loss + term
        loss.backward()
        res.append((tuple(o.detach() for o in outs), tuple(leaf.grad for leaf in leaves)))
    (o_ours, g_ours), (o_theirs, g_theirs) = res
    assert_close(list(o_ours), list(o_theirs), what="outputs")
    for i, (a, b) in enumerate(zip(g_ours, g_theirs)):
        if b is None:
            assert a is None or not np.asarray(a.detach()).any(), f"grad {i}"
        else:
            assert a is not None, f"grad {i} missing"
            assert_close(a, b, what=f"grad {i}")


def version(x):
    return x._version if isinstance(x, torch.Tensor) else x._version_counter


# -- version counter ------------------------------------------------------------------------------------
def test_version_counter_bumps():
    res = []
    for t in LIBS:
        x = t.ones(3)
        v = [version(x)]
        x.add_(1)
        v.append(version(x))
        x.mul_(2)
        x[0] = 5.0
        v.append(version(x))
        y = x[1:]
        y.sub_(1)
        v.append((version(x), version(y)))
        d = x.detach()
        d.div_(2)
        v.append(version(x))
        res.append(v)
    assert res[0] == res[1]


def _modified_message(t, case):
    x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
    if case == "saved_input":
        h = x * 2
        y = h * h
        h.add_(1)
    elif case == "saved_output":
        h = x * 1
        y = h.exp()
        y.mul_(2)
    elif case == "via_detach":
        h = x * 2
        y = h * h
        h.detach().zero_() if hasattr(h, "zero_") else h.detach().mul_(0)
    elif case == "via_view":
        h = x * 2
        y = h * h
        h[1:].mul_(3)
    with pytest.raises(RuntimeError) as info:
        y.sum().backward()
    return str(info.value)


@pytest.mark.parametrize("case", ["saved_input", "saved_output", "via_detach", "via_view"])
def test_modified_saved_tensor_raises(case):
    ours = _modified_message(disttorch, case)
    theirs = _modified_message(torch, case)
    key = "one of the variables needed for gradient computation has been modified by an inplace operation"
    assert key in ours and key in theirs
    # same tensor description and versions: "[torch.FloatTensor [3]], which is output 0 of X, is at version N;
    # expected version M instead"
    pattern = r"is at version (\d+); expected version (\d+) instead"
    assert re.search(pattern, ours).groups() == re.search(pattern, theirs).groups()
    desc = r"\[(torch\.\w+ \[[\d, ]*\])\]"
    assert re.search(desc, ours).group(1) == re.search(desc, theirs).group(1)


def test_modified_saved_tensor_full_message():
    msgs = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = x * 2
        y = h * h
        h.add_(1)
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


def test_leaf_in_place_raises():
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match=re.escape("a leaf Variable that requires grad is being used in an "
                                                         "in-place operation.")):
            x.mul_(2)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            x += 1
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an "
                                               "in-place operation."):
            x[0:1].mul_(2)
        assert version(x) == 0


def test_in_place_on_leaf_allowed_in_no_grad():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0], requires_grad=True)
        with t.no_grad():
            x.mul_(2)
            x[0] = 7.0
        assert x.is_leaf and x.requires_grad
        (x * x).sum().backward()
        res.append((x.detach(), x.grad))
    assert_close(*res)


# -- in-place on non-leaf tensors -------------------------------------------------------------------------
def test_in_place_chain_on_non_leaf(device):
    def fn(t, x):
        y = x * 2
        y.mul_(3)
        y.add_(x)
        y.sub_(x * x)
        y.div_(x + 3)
        return y

    compare(fn, randn(4, seed=1), device=device)


def test_in_place_pow_and_neg_on_non_leaf():
    def fn(t, x, w):
        y = x * w
        y.pow_(2)
        y.neg_()
        y **= 2
        y *= w
        return y

    compare(fn, randn(3, seed=2) + 3, randn(3, seed=3))


def test_in_place_with_grad_requiring_other_on_plain_tensor():
    def fn(t, x):
        buf = t.zeros(3)
        buf.add_(x)
        buf.mul_(x)
        return buf

    compare(fn, randn(3, seed=4))


def test_in_place_broadcast_other():
    def fn(t, x, b):
        y = x * 1
        y.add_(b)
        y.mul_(b)
        return y

    compare(fn, randn(2, 3, seed=5), randn(3, seed=6))


def test_in_place_saved_output_is_tracked():
    res = []
    for t in LIBS:
        x = t.tensor([0.5, 1.0], requires_grad=True)
        y = x * 1
        y.exp_()  # ExpBackward0 saves its result, which now lives in y
        (y * 2).sum().backward(retain_graph=True)
        g = x.grad.clone()
        y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
        res.append(g)
    assert_close(*res)


def test_in_place_then_double_backward():
    res = []
    for t in LIBS:
        x = t.tensor([0.5, -1.0, 2.0], dtype=t.float64, requires_grad=True)
        y = x * x
        y.mul_(x)
        y.add_(x * 3)
        (g,) = t.autograd.grad(y.sum(), x, create_graph=True)
        (gg,) = t.autograd.grad(g.sum(), x)
        res.append((y, g, gg))
    assert_close(*res)


def test_in_place_overwrite_with_constant():
    def fn(t, x):
        y = x * 2
        z = y * 1
        y.mul_(0)
        y.add_(5.0)
        return y + z

    compare(fn, randn(3, seed=7))


# -- in-place on views (CopySlices) ----------------------------------------------------------------------
def test_in_place_on_slice_of_non_leaf():
    def fn(t, x):
        y = x * 1
        y[0:2].mul_(2)
        return y

    compare(fn, randn(5, seed=8))


def test_in_place_on_slice_then_use_view_and_base():
    def fn(t, x, w):
        y = x * 1
        v = y[1:3]
        v.mul_(w)
        v.add_(1.0)
        return y * 2, v * 3

    compare(fn, randn(5, seed=9), randn(2, seed=10))


def test_in_place_on_2d_views(device):
    def fn(t, x, w):
        y = x * 2
        y[:, 1].mul_(w)          # a strided column
        y[1:, ::2].add_(x[1:, ::2])
        y.t()[0].sub_(w[0])      # transposed view of a row
        return y

    compare(fn, randn(3, 4, seed=11), randn(3, seed=12), device=device)


def test_in_place_on_view_from_shape_ops():
    def fn(t, x, w):
        y = x * 1
        y.view(2, 3)[1].mul_(w)
        y.unsqueeze(0)[0, :2].add_(w[:2])
        z = y.reshape(3, 2)
        z.transpose(0, 1)[0].mul_(3.0)
        return y, z

    compare(fn, randn(6, seed=13), randn(3, seed=14))


def test_in_place_on_view_of_view():
    def fn(t, x):
        y = x * 1
        v = y[1:]
        vv = v[::2]
        vv.mul_(10.0)
        return y, v, vv

    compare(fn, randn(7, seed=15))


def test_view_taken_before_base_in_place(device):
    def fn(t, x):
        y = x * 1
        v = y[1:3]
        y.mul_(3)         # v sees the new values and must get the new history
        return v * 1

    compare(fn, randn(4, seed=16), device=device)


def test_other_view_is_stale_after_in_place_on_view():
    def fn(t, x):
        y = x * 1
        a = y[0:3]
        b = y[2:4]        # overlaps a at index 2
        a.mul_(x[0:3])
        return b * 1, a * 1

    compare(fn, randn(4, seed=17))


def test_setitem_on_non_leaf():
    def fn(t, x, w):
        y = x * 1
        y[0] = w[1] * 2
        y[2:4] = w
        y[1, ...] = 3.0
        return y

    compare(fn, randn(5, seed=18), randn(2, seed=19))


def test_setitem_into_plain_buffer():
    def fn(t, x):
        buf = t.zeros(2, 3)
        buf[0] = x
        buf[1, 1:] = x[:2] * x[1:]
        return buf

    compare(fn, randn(3, seed=20))


def test_in_place_view_grad_fn_names():
    for t in LIBS:
        x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 1
        v = y[0:2]
        v.mul_(2)
        assert y.grad_fn.name() == "torch::autograd::CopySlices"
        assert repr(y.grad_fn).startswith("<CopySlices object")
        assert v.grad_fn.name() == "AsStridedBackward0"
        assert v._base is y


def test_in_place_on_view_double_backward():
    res = []
    for t in LIBS:
        x = t.tensor([0.5, -1.0, 2.0, 1.5], dtype=t.float64, requires_grad=True)
        y = x * x
        y[1:3].mul_(x[0:2])
        (g,) = t.autograd.grad((y * y).sum(), x, create_graph=True)
        (gg,) = t.autograd.grad(g.sum(), x)
        res.append((y, g, gg))
    assert_close(*res)


def test_in_place_on_view_of_non_contiguous_base():
    def fn(t, x):
        y = (x * 1).t()   # a non-leaf whose storage is column-major relative to its shape
        z = y * 1
        z.t()[1].mul_(4.0)
        return z

    compare(fn, randn(3, 2, seed=21))


def test_in_place_on_multi_output_view_raises():
    msgs = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        h = x * 1
        for pieces in (h.split(2), h.unbind(), h.chunk(2)):
            with pytest.raises(RuntimeError) as info:
                pieces[1].mul_(2)
            msgs.append(str(info.value))
        a, b = t.zeros(4).split(2)
        b.mul_(2)  # allowed: nothing requires grad
        with t.no_grad():
            h.split(2)[0].mul_(2)
    half = len(msgs) // 2
    assert msgs[:half] == msgs[half:]
    assert msgs[0].startswith("Output 1 of Split is a view and is being modified inplace. This view is the output "
                              "of a function that returns multiple views.")


def test_retain_grad_follows_in_place_ops():
    res = []
    for t in LIBS:
        x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        y.retain_grad()
        y.mul_(3)
        b = x * 1
        v = b[1:]
        v.retain_grad()
        v.add_(y[1:])
        (y * y + b).sum().backward()
        res.append((y.grad, v.grad, x.grad))
    assert_close(*res)


def test_in_place_graphs_are_freed_without_gc():
    import gc
    import weakref

    x = disttorch.tensor([0.5, 1.0, 2.0, 3.0], requires_grad=True)

    def build():
        y = x * 1
        y.exp_()                  # saved output relinked to y's storage
        v = y[1:3]
        v.mul_(x[0:2])            # CopySlices on y, AsStrided on v
        y.add_(1.0)               # v is now stale
        out = (v * 2).sum() + y.sum()
        return [weakref.ref(o) for o in (y, v, out, y.grad_fn, v.grad_fn, out.grad_fn)]

    gc.collect()
    gc.disable()
    try:
        refs = build()
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_in_place_on_view_of_plain_buffer_and_of_itself():
    def fn(t, x):
        buf = t.zeros(2, 4)
        buf[1, 1:].add_(x[:3])
        buf[0].mul_(2.0)
        y = x * 1
        y[0:2].add_(y[2:4])
        y[1:3].add_(y[0:2] * 2)
        return buf, y

    compare(fn, randn(4, seed=22))
