"""The short paths of the hot loop give what the general machinery gives, and what PyTorch gives.

- the arithmetic operators record their node directly (``graph.record_binary``), one-input ops through a short
  recorder: edges, saved-tensor version checks, hooks, retain_grad, anomaly traces, no_grad / inference_mode;
- backwards that compute on numpy arrays when no graph of the gradient is wanted (Linear, 2-d matmul, relu, mul,
  sub, sum): the same gradients as with ``create_graph=True`` (the Tensor path) and as PyTorch;
- ``backward()`` without ``inputs`` runs a shorter engine loop: the same leaves, hooks and callbacks;
- Linear's transposed GEMM (a few rows against a wide weight) gives PyTorch's values in row-major layout.
"""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close

import disttorch

torch = pytest.importorskip("torch")


def _pair(arr: np.ndarray, requires_grad: bool = True) -> tuple:
    return disttorch.tensor(arr, requires_grad=requires_grad), torch.tensor(arr, requires_grad=requires_grad)


def _rand(*shape: int, dtype: type = np.float32, seed: int = 0) -> np.ndarray:
    return np.random.RandomState(seed).standard_normal(shape).astype(dtype)


# -- operators --------------------------------------------------------------------------------------------
OPS = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
    "radd": lambda a, b: 2.5 + a * b, "rsub": lambda a, b: 1.5 - a * b, "rmul": lambda a, b: 3.0 * (a - b),
    "scalar": lambda a, b: (a * 2.0 + 1) / 4 - b * 0.5,
}


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("grads", [(True, True), (True, False), (False, True)])
def test_operators_match_torch(name: str, dtype: type, grads: tuple) -> None:
    fn = OPS[name]
    a, ta = _pair(_rand(3, 4, dtype=dtype), grads[0])
    b, tb = _pair(_rand(4, dtype=dtype, seed=1) + 3, grads[1])  # (broadcast; away from 0 for div)
    out, tout = fn(a, b), fn(ta, tb)
    assert_close(out, tout)
    assert out.requires_grad == tout.requires_grad
    assert type(out.grad_fn).__name__ and out.grad_fn.name() == tout.grad_fn.name()
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    for ours, theirs in ((a, ta), (b, tb)):
        if theirs.grad is None:
            assert ours.grad is None
        else:
            assert ours.grad.dtype == ours.dtype
            assert_close(ours.grad, theirs.grad, rtol=1e-5, atol=1e-5)


def test_operator_next_functions_and_leaf_edges() -> None:
    a = disttorch.ones(2, requires_grad=True)
    b = disttorch.ones(2)
    c = a * b
    d = c + a
    assert [type(n).__name__ if n is not None else None for n, _ in c.grad_fn.next_functions] == \
        ["AccumulateGrad", None]
    assert d.grad_fn.next_functions[0][0] is c.grad_fn
    assert d.grad_fn.next_functions[1][0] is c.grad_fn.next_functions[0][0]  # the leaf's one AccumulateGrad


def test_operator_on_modified_saved_tensor_raises() -> None:
    for lib in (disttorch, torch):
        a = lib.ones(3, requires_grad=True)
        b = lib.ones(3) * 2
        c = a * b
        b.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            c.sum().backward()


def test_operator_saved_tensor_check_only_when_its_gradient_is_needed() -> None:
    # a * b reads b only for a's gradient: when a needs none, modifying b is allowed, as in PyTorch
    for lib in (disttorch, torch):
        a = lib.ones(3)
        leaf = lib.ones(3, requires_grad=True)
        b = leaf * 1.0
        c = a * b
        b.add_(1)
        c.sum().backward()
        assert leaf.grad.tolist() == [1.0, 1.0, 1.0]


def test_operator_on_views_and_scalar_constants() -> None:
    base, tbase = _pair(_rand(4, 3))
    out = base[1:3] * base.t()[0:3, 0:2].t()
    tout = tbase[1:3] * tbase.t()[0:3, 0:2].t()
    assert_close(out, tout)
    out.sum().backward()
    tout.sum().backward()
    assert_close(base.grad, tbase.grad)


def test_operator_hooks_and_retain_grad() -> None:
    seen = []
    for lib in (disttorch, torch):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a * 3.0
        b.retain_grad()
        b.register_hook(lambda g: g * 2)
        c = b * a
        c.sum().backward()
        seen.append((b.grad.tolist(), a.grad.tolist()))
    assert seen[0] == seen[1]


def test_operator_grad_modes() -> None:
    a = disttorch.ones(2, requires_grad=True)
    with disttorch.no_grad():
        assert (a * a).grad_fn is None and not (a * 2.0).requires_grad
    with disttorch.inference_mode():
        assert not (a + a).requires_grad
    assert (a - a).requires_grad


def test_operator_broadcast_error_as_pytorch() -> None:
    a = disttorch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(4\)"):
        a * disttorch.ones(4)


def test_anomaly_trace_names_the_forward_line() -> None:
    a = disttorch.ones(2, requires_grad=True)
    with disttorch.autograd.detect_anomaly():
        c = a * a  # the line the trace must end with
        r = c.relu()
    assert "c = a * a" in c.grad_fn.trace[-1]
    assert "r = c.relu()" in r.grad_fn.trace[-1]


def test_unary_recording_saves_and_checks_output() -> None:
    for lib in (disttorch, torch):
        a = lib.tensor([-1.0, 2.0], requires_grad=True)
        r = a.relu()
        r.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            r.sum().backward()


# -- backward on arrays (no graph of the gradient) against the Tensor path -----------------------------------
def _grads(build, create_graph: bool, seed: int = 0) -> list:
    params = build(seed)
    loss = params[-1]
    grads = disttorch.autograd.grad(loss, params[:-1], create_graph=create_graph)
    return [np.array(g.detach().numpy()) for g in grads]


def _mlp(seed: int, rows: int = 5, dtype: type = np.float32) -> list:
    x = disttorch.tensor(_rand(rows, 7, dtype=dtype, seed=seed), requires_grad=True)
    w1 = disttorch.tensor(_rand(6, 7, dtype=dtype, seed=seed + 1), requires_grad=True)
    b1 = disttorch.tensor(_rand(6, dtype=dtype, seed=seed + 2), requires_grad=True)
    w2 = disttorch.tensor(_rand(6, 3, dtype=dtype, seed=seed + 3), requires_grad=True)
    h = disttorch.nn.functional.linear(x, w1, b1).relu()
    y = (h @ w2) * h[:, :3] - h[:, 3:]
    return [x, w1, b1, w2, (y * y).sum()]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_array_backwards_equal_tensor_backwards(dtype: type) -> None:
    build = lambda seed: _mlp(seed, dtype=dtype)  # noqa: E731
    for plain, tensors in zip(_grads(build, False), _grads(build, True)):
        np.testing.assert_allclose(plain, tensors, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=0)


def test_array_backwards_match_torch() -> None:
    arrs = [_rand(5, 7), _rand(6, 7, seed=1), _rand(6, seed=2), _rand(6, 3, seed=3)]
    out = []
    for lib in (disttorch, torch):
        x, w1, b1, w2 = (lib.tensor(a, requires_grad=True) for a in arrs)
        h = lib.nn.functional.linear(x, w1, b1).relu()
        y = (h @ w2) * h[:, :3] - h[:, 3:]
        (y * y).sum().backward()
        out.append([t.grad for t in (x, w1, b1, w2)])
    assert_close(out[0], out[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("x_shape", [(7,), (2, 3, 7)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_1d_3d_inputs_backward_match_torch(x_shape: tuple, bias: bool) -> None:
    arrs = [_rand(*x_shape), _rand(4, 7, seed=1), _rand(4, seed=2)]
    out = []
    for lib in (disttorch, torch):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in arrs)
        lib.nn.functional.linear(x, w, b if bias else None).pow(2).sum().backward()
        out.append([x.grad, w.grad] + ([b.grad] if bias else []))
    assert_close(out[0], out[1], rtol=1e-5, atol=1e-5)


def test_relu_gradient_is_zero_where_dropped_even_for_inf_and_nan() -> None:
    x = disttorch.tensor([-1.0, 0.0, 2.0, -3.0], requires_grad=True)
    x.relu().backward(disttorch.tensor([float("inf"), float("nan"), 5.0, float("nan")]))
    assert x.grad.tolist() == [0.0, 0.0, 5.0, 0.0]


def test_array_backward_gradients_keep_double_backward() -> None:
    # create_graph=True keeps the Tensor path: second derivatives of linear/relu/mul/sum as PyTorch gives them
    arrs = [_rand(3, 4, dtype=np.float64), _rand(2, 4, dtype=np.float64, seed=1)]
    out = []
    for lib in (disttorch, torch):
        x, w = (lib.tensor(a, requires_grad=True) for a in arrs)
        y = lib.nn.functional.linear(x, w)
        loss = (y * y * y).sum()
        (gx,) = lib.autograd.grad(loss, (x,), create_graph=True)
        gx.sum().backward()
        out.append([x.grad, w.grad])
    assert_close(out[0], out[1], rtol=1e-10, atol=1e-10)


def test_gradcheck_through_fast_paths() -> None:
    x = disttorch.tensor(_rand(3, 4, dtype=np.float64), requires_grad=True)
    w = disttorch.tensor(_rand(5, 4, dtype=np.float64, seed=1), requires_grad=True)
    b = disttorch.tensor(_rand(5, dtype=np.float64, seed=2), requires_grad=True)
    fn = lambda x, w, b: ((disttorch.nn.functional.linear(x, w, b).relu() * 2.0 - b) / 3).sum(0)  # noqa: E731
    assert disttorch.autograd.gradcheck(fn, (x, w, b))
    assert disttorch.autograd.gradgradcheck(fn, (x, w, b))


# -- the engine's short loop ----------------------------------------------------------------------------------
def test_backward_hooks_and_callbacks_in_order() -> None:
    events = []
    a = disttorch.ones(2, requires_grad=True)
    b = disttorch.ones(2, requires_grad=True)
    a.register_post_accumulate_grad_hook(lambda t: events.append("a"))
    b.register_post_accumulate_grad_hook(lambda t: events.append("b"))
    c = a * 2.0
    c.register_hook(lambda g: events.append("c") or None)

    def queue(_g):
        disttorch.autograd.Variable._execution_engine.queue_callback(lambda: events.append("end"))

    c.grad_fn.register_prehook(lambda g: queue(g))
    (c * b).sum().backward()
    assert events[-1] == "end" and set(events[:-1]) == {"a", "b", "c"}
    assert events.index("c") < events.index("a")
    assert a.grad.tolist() == [2.0, 2.0] and b.grad.tolist() == [2.0, 2.0]


def test_backward_twice_accumulates_and_second_pass_without_retain_raises() -> None:
    a = disttorch.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(2):
        (a * a).sum().backward()
    assert a.grad.tolist() == [4.0, 8.0]
    y = (a * a).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_shared_gradient_is_not_stolen_by_two_leaves() -> None:
    # Add's backward hands the same gradient to both inputs: each leaf gets its own copy
    a = disttorch.zeros(3, requires_grad=True)
    b = disttorch.zeros(3, requires_grad=True)
    (a + b).backward(disttorch.ones(3))
    a.grad.add_(1)
    assert b.grad.tolist() == [1.0, 1.0, 1.0]


# -- Linear's transposed product -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(16, 784, 128), (32, 128, 128), (16, 128, 10), (64, 300, 200), (128, 64, 32)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_forward_layouts_match_torch(shape: tuple, bias: bool) -> None:
    rows, k, n = shape
    arrs = [_rand(rows, k), _rand(n, k, seed=1), _rand(n, seed=2)]
    outs = []
    for lib in (disttorch, torch):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in arrs)
        y = lib.nn.functional.linear(x, w, b if bias else None)
        assert y.is_contiguous() and y.stride() == (n, 1)
        y.sum().backward()
        outs.append([y, x.grad, w.grad] + ([b.grad] if bias else []))
    assert_close(outs[0], outs[1], rtol=1e-4, atol=1e-4)
