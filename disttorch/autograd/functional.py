"""torch.autograd.functional: vjp, jvp, jacobian, hessian, hvp, vhp over a Python function of tensors.

All are reverse mode over ``autograd.grad``; jvp uses the double-vjp identity (the vjp is linear in its vector,
so differentiating it again against that vector gives J @ v). Results are detached unless ``create_graph``.
"""
from __future__ import annotations

from typing import Any, Callable

from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _tensor_type() -> type:
    from disttorch._tensor import Tensor

    return Tensor


def _as_tuple(x: Any, arg: str, fn: str) -> tuple[bool, tuple]:
    """(was it a tuple, the tensors as a tuple); anything but tensors is a TypeError naming the argument."""
    Tensor = _tensor_type()
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            where = f"element {i} of the {arg}" if is_tuple else f"the {arg}"
            raise TypeError(f"The {arg} given to {fn} must be either a Tensor or a tuple of Tensors but {where} "
                            f"has type {type(t).__name__}.")
    return is_tuple, items


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    # with create_graph the caller's graph stays connected through a view; otherwise fresh leaves
    return tuple(t.view_as(t) if create_graph and t.requires_grad else t.detach().requires_grad_(True)
                 for t in inputs)


def _grads(outputs: tuple, inputs: tuple, grad_outputs: tuple, create_graph: bool, strict: bool,
           what: str) -> tuple:
    from disttorch._ops.creation import zeros_like

    from . import grad

    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if live:
        got = grad([o for o, _ in live], inputs, [g for _, g in live], retain_graph=True, create_graph=create_graph,
                   allow_unused=True)
    else:
        got = (None,) * len(inputs)
    result = []
    for i, (g, inp) in enumerate(zip(got, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This is "
                                   f"not allowed in strict mode{what}.")
            g = zeros_like(inp)
        result.append(g)
    return tuple(result)


def _finish(x: tuple, create_graph: bool, is_tuple: bool) -> Any:
    x = x if create_graph else tuple(t.detach() for t in x)
    return x if is_tuple else x[0]


def _check_v(v: Any, like: tuple, fn: str, arg: str) -> tuple:
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(f"The vector v can only be None if the {arg} to the user-provided function is a single "
                               f"Tensor with a single element.")
        from disttorch._ops.creation import ones_like

        return (ones_like(like[0]),)
    _, vs = _as_tuple(v, "v", fn)
    if len(vs) != len(like):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(like)} but got {len(vs)}.")
    for i, (a, b) in enumerate(zip(vs, like)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(f"Entry {i} in v has invalid size: should be {tuple(b.shape)} but got "
                               f"{tuple(a.shape)}.")
    return vs


def _call(func: Callable, inputs: tuple, fn: str) -> tuple[bool, tuple]:
    return _as_tuple(func(*inputs), "outputs of the user-provided function", fn)


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), v^T J): the vector-Jacobian product."""
    with enable_grad():
        in_tuple, ins = _as_tuple(inputs, "inputs", "vjp")
        ins = _prepare(ins, create_graph)
        out_tuple, outs = _call(func, ins, "vjp")
        vs = _check_v(v, outs, "vjp", "output")
        result = _grads(outs, ins, vs, create_graph, strict, "")
    return _finish(outs, create_graph, out_tuple), _finish(result, create_graph, in_tuple)


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), J v): the Jacobian-vector product, as two reverse passes."""
    from disttorch._ops.creation import zeros_like

    with enable_grad():
        in_tuple, ins = _as_tuple(inputs, "inputs", "jvp")
        ins = _prepare(ins, create_graph)
        vs = _check_v(v, ins, "jvp", "input")
        out_tuple, outs = _call(func, ins, "jvp")
        dummies = tuple(zeros_like(o).requires_grad_(True) for o in outs)
        vjps = _grads(outs, ins, dummies, True, strict, "")
        result = _grads(vjps, dummies, vs, create_graph, strict, " (the output is independent of v's entries)")
    return _finish(outs, create_graph, out_tuple), _finish(result, create_graph, out_tuple)


def _jacobian_rows(outs: tuple, ins: tuple, create_graph: bool, strict: bool) -> list[list]:
    """rows[i][j]: d outs[i] / d ins[j], shaped outs[i].shape + ins[j].shape."""
    from disttorch._ops.creation import zeros_like
    from disttorch._ops.shape import stack

    rows = []
    for out in outs:
        flat = out.reshape(-1)
        per_input: list[list] = [[] for _ in ins]
        for k in range(flat.numel()):
            if out.requires_grad:
                unit = zeros_like(flat)
                unit[k] = 1
                gs = _grads((flat,), ins, (unit,), create_graph, strict, "")
            elif strict:
                raise RuntimeError("Output 0 of the user-provided function does not require gradients. The "
                                   "outputs must be computed in a differentiable manner from the input when running "
                                   "in strict mode.")
            else:
                gs = tuple(zeros_like(i) for i in ins)
            for j, g in enumerate(gs):
                per_input[j].append(g)
        rows.append([stack(gs_j).reshape(tuple(out.shape) + tuple(inp.shape)) if gs_j else
                     zeros_like(inp).reshape(tuple(out.shape) + tuple(inp.shape))
                     for gs_j, inp in zip(per_input, ins)])
    return rows


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode") -> Any:
    """The Jacobian of func at inputs: a Tensor, a tuple over inputs or outputs, or a tuple of tuples."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                         'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                         'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError("torch.autograd.functional.jacobian: `strategy=\"forward-mode\"` requires "
                                  "`vectorize=True`.")
    with enable_grad():
        in_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
        ins = _prepare(ins, create_graph)
        out_tuple, outs = _call(func, ins, "jacobian")
        rows = _jacobian_rows(outs, ins, create_graph, strict)
    rows = [[r if create_graph else r.detach() for r in row] for row in rows]
    shaped = [tuple(row) if in_tuple else row[0] for row in rows]
    return tuple(shaped) if out_tuple else shaped[0]


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar func: the Jacobian of its gradient."""
    in_tuple, ins = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs: Any) -> tuple:
        out_tuple, outs = _call(func, xs, "hessian")
        if out_tuple or outs[0].numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor containing a single "
                               "element")
        return _grads((outs[0].reshape(()),), xs, (_one(outs[0]),), True, strict, "")

    jac = jacobian(gradient, ins, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return jac if in_tuple else jac[0][0]


def _one(t: Any) -> Any:
    from disttorch._ops.creation import ones_like

    return ones_like(t.reshape(()))


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), v^T H) for a scalar func."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """(func(inputs), H v) for a scalar func (H is symmetric for twice-differentiable func, so this equals vhp)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func: Callable, inputs: Any, v: Any, create_graph: bool, strict: bool, fn: str) -> tuple:
    with enable_grad():
        in_tuple, ins = _as_tuple(inputs, "inputs", fn)
        ins = _prepare(ins, create_graph)
        vs = _check_v(v, ins, fn, "input")
        out_tuple, outs = _call(func, ins, fn)
        if out_tuple or outs[0].numel() != 1:
            raise RuntimeError(f"The function given to {fn} should return a single Tensor containing a single "
                               f"element")
        grads = _grads(outs, ins, (_one(outs[0]).reshape(outs[0].shape),), True, strict, "")
        result = _grads(grads, ins, vs, create_graph, strict, "")
    return _finish(outs, create_graph, False), _finish(result, create_graph, in_tuple)
