"""Numerical gradient checks (finite differences against the analytical backward)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np


class GradcheckError(RuntimeError):
    pass


def _tensors(inputs: Any) -> tuple:
    from disttorch._tensor import Tensor

    if isinstance(inputs, Tensor):
        return (inputs,)
    return tuple(inputs)


def _flat_outputs(out: Any) -> list:
    """The output tensors, a complex one as two real ones (its real and imaginary parts), so that every
    Jacobian has real rows; a complex input then has complex columns d/d(re) + i d/d(im), PyTorch's
    convention for the gradient of a real function of a complex variable."""
    from disttorch._tensor import Tensor

    outs = [out] if isinstance(out, Tensor) else [o for o in out if isinstance(o, Tensor)]
    flat = []
    for o in outs:
        if o._data.dtype.kind == "c":
            flat.extend([o.real, o.imag])
        else:
            flat.append(o)
    return flat


def _host(arr: Any) -> np.ndarray:
    """A device array's values on the host (numpy arrays as they are): the Jacobians are numpy matrices."""
    from disttorch.backends import backend_for_array

    return arr if isinstance(arr, (np.ndarray, np.generic)) else backend_for_array(arr).to_numpy(arr)


def _numerical_jacobian(fn: Callable, inputs: tuple, idx: int, out_sizes: list, eps: float) -> list:
    """d(flattened outputs)/d(inputs[idx]) by central differences, one column per input element."""
    x = inputs[idx]
    data = x._data  # perturbed in place (element by element, whatever its strides), restored afterwards
    steps = (eps, eps * 1j) if data.dtype.kind == "c" else (eps,)
    cols = []
    for k in np.ndindex(*data.shape):  # row-major, as the analytical rows are
        orig = _host(data[k]).item()
        col = None
        for step in steps:
            data[k] = orig + step
            plus = [_host(o._data).reshape(-1).astype(np.float64) for o in _flat_outputs(fn(*inputs))]
            data[k] = orig - step
            minus = [_host(o._data).reshape(-1).astype(np.float64) for o in _flat_outputs(fn(*inputs))]
            data[k] = orig
            part = [(p - m) / (2 * eps) for p, m in zip(plus, minus)]
            col = part if col is None else [c + 1j * q for c, q in zip(col, part)]
        cols.append(col)
    return [np.stack([c[j] for c in cols], axis=1) if cols else np.zeros((n, 0)) for j, n in enumerate(out_sizes)]


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              fast_mode: bool = False, check_forward_ad: bool = False, check_backward_ad: bool = True,
              **_: Any) -> bool:
    """Compare the analytical Jacobian with finite differences, in float64: by reverse mode (autograd.grad) unless
    ``check_backward_ad=False``, and by forward mode (dual tensors) when ``check_forward_ad=True``."""
    from disttorch import autograd
    from disttorch._layouts import contiguous_format
    from disttorch._ops.creation import zeros_like

    inputs = _tensors(inputs)
    diff_idx = [i for i, t in enumerate(inputs) if hasattr(t, "_requires_grad") and t._requires_grad]
    for i in diff_idx:
        if inputs[i].dtype.name != "float64" and inputs[i].dtype.name != "complex128":
            import warnings

            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point. "
                          "The gradient check may fail due to lack of precision.", UserWarning, stacklevel=2)
    outputs = _flat_outputs(func(*inputs))
    diff_outputs = [o for o in outputs if o._requires_grad]
    out_sizes = [o.numel() for o in outputs]
    for i in diff_idx:
        numerical = _numerical_jacobian(func, inputs, i, out_sizes, eps)
        if check_forward_ad and not _forward_jacobian_agrees(func, inputs, i, numerical, rtol, atol,
                                                             raise_exception):
            return False
        if not check_backward_ad:
            continue
        for j, o in enumerate(outputs):
            if not o._requires_grad:
                continue
            analytical = np.zeros((o.numel(), inputs[i].numel()),
                                  np.complex128 if inputs[i]._data.dtype.kind == "c" else np.float64)
            out = _flat_outputs(func(*inputs))[j]  # one graph, differentiated once per output element
            for r in range(o.numel()):
                g = zeros_like(out, memory_format=contiguous_format)  # so that reshape(-1) is a view
                g._data.reshape(-1)[r] = 1
                (gi,) = autograd.grad(out, inputs[i], g, allow_unused=True, retain_graph=r + 1 < o.numel())
                if gi is not None:
                    analytical[r] = _host(gi._data).reshape(-1)
            if not np.allclose(analytical, numerical[j], rtol=rtol, atol=atol):
                msg = (f"Jacobian mismatch for output {j} with respect to input {i},\n"
                       f"numerical:{numerical[j]}\nanalytical:{analytical}\n")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    del diff_outputs
    return True


def _forward_jacobian_agrees(func: Callable, inputs: tuple, i: int, numerical: list, rtol: float, atol: float,
                             raise_exception: bool) -> bool:
    """Forward mode: column k of each output's Jacobian is the tangent of that output for a one-hot tangent k
    of input i."""
    from disttorch._layouts import contiguous_format
    from disttorch._ops.creation import zeros_like
    from disttorch.autograd import forward_ad as fwAD

    x = inputs[i]
    columns: list[list] = []
    for k in range(x.numel()):
        tangent = zeros_like(x, memory_format=contiguous_format)
        tangent._data.reshape(-1)[k] = 1
        with fwAD.dual_level():
            args = list(inputs)
            args[i] = fwAD.make_dual(x.detach(), tangent)
            outs = _flat_outputs(func(*args))
            columns.append([None if t is None else _host(t._data).reshape(-1)
                            for t in (fwAD.unpack_dual(o).tangent for o in outs)])
    for j, num in enumerate(numerical):
        col = [c[j] if c[j] is not None else np.zeros(num.shape[0]) for c in columns]
        analytical = np.stack(col, axis=1) if col else np.zeros_like(num)
        if not np.allclose(analytical, num, rtol=rtol, atol=atol):
            msg = (f"Jacobian computed with forward mode mismatch for output {j} with respect to input {i},\n"
                   f"numerical:{num}\nanalytical:{analytical}\n")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Any = None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True, **_: Any) -> bool:
    """gradcheck of the function that maps (inputs, grad_outputs) to the input gradients."""
    from disttorch import autograd
    from disttorch._ops.random import randn_like

    inputs = _tensors(inputs)
    outputs = _flat_outputs(func(*inputs))
    if grad_outputs is None:
        grad_outputs = tuple(randn_like(o, dtype=o.dtype).requires_grad_(True) for o in outputs)
    else:
        grad_outputs = _tensors(grad_outputs)
    n_in = len(inputs)
    diff_inputs = [t for t in inputs if t._requires_grad]

    def first_grads(*args: Any) -> tuple:
        ins, gos = args[:n_in], args[n_in:]
        outs = _flat_outputs(func(*ins))
        diffs = [t for t in ins if t._requires_grad]
        return autograd.grad(outs, diffs, gos, create_graph=True, allow_unused=True, materialize_grads=True)

    del diff_inputs
    return gradcheck(first_grads, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
