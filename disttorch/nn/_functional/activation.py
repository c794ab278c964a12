"""Activation functions (torch.nn.functional): relu family, elu family, gelu, silu, mish, softplus,
hard* functions, shrinkage, glu, prelu, softmax family.

Pointwise activations are one Op each. Their derivative is written once as a formula over a small
namespace (``_Raw`` on arrays, ``_Tensors`` on Tensors): without ``create_graph`` backward runs on
raw arrays (fast), with it on Tensors (so higher-order gradients work).
"""
from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from disttorch import _autocast
from disttorch import _dtype as D
from disttorch._autocast import autocast_op
from disttorch._ops._register import methods, type_word
from disttorch._ops.reduce import Softmax
from disttorch._ops.unary import kernel
from disttorch._tensor import Tensor, _wrap_dim
from disttorch._warn import warn_user
from disttorch.autograd import grad_mode
from disttorch.autograd.graph import Op
from disttorch.backends import array_module

_from_array = Tensor._from_array
_grad_on = grad_mode._enabled
_SQRT_2 = math.sqrt(2.0)
_SQRT_2_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SIXTH_F32 = float(np.float32(1.0 / 6.0))  # PyTorch's hardsigmoid backward uses 1/6 in float32
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946

__all__ = [
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "selu_", "celu", "celu_",
    "gelu", "silu", "mish", "softplus", "softsign", "tanh", "sigmoid", "hardtanh", "hardtanh_", "hardsigmoid",
    "hardswish", "logsigmoid", "prelu", "rrelu", "rrelu_", "glu", "softmax", "log_softmax", "softmin",
    "threshold", "threshold_", "tanhshrink", "softshrink", "hardshrink",
]


# -- formula namespaces ------------------------------------------------------------------------------
class _Raw:
    """Array functions for backward formulas evaluated on raw arrays."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def exp(self, a: Any) -> Any:
        return self.xp.exp(a)

    def tanh(self, a: Any) -> Any:
        return self.xp.tanh(a)

    def erf(self, a: Any) -> Any:
        return _erf(a)

    def sigmoid(self, a: Any) -> Any:
        return 1 / (1 + self.xp.exp(-a))

    def softplus(self, a: Any) -> Any:
        return self.xp.logaddexp(a, 0).astype(a.dtype, copy=False)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        return self.xp.where(cond, a, b)


class _Tensors:
    """The same functions on Tensors (differentiable)."""

    @staticmethod
    def exp(a: Tensor) -> Tensor:
        return a.exp()

    @staticmethod
    def tanh(a: Tensor) -> Tensor:
        return a.tanh()

    @staticmethod
    def erf(a: Tensor) -> Tensor:
        return a.erf()

    @staticmethod
    def sigmoid(a: Tensor) -> Tensor:
        return a.sigmoid()

    @staticmethod
    def softplus(a: Tensor) -> Tensor:
        return softplus(a)

    @staticmethod
    def where(cond: Tensor, a: Any, b: Any) -> Tensor:
        from disttorch._ops.compare import where

        return where(cond, a, b)


_T = _Tensors()
_RAW: dict = {}


def _raw_ns(arr: Any) -> _Raw:
    xp = array_module(arr)
    ns = _RAW.get(xp)
    if ns is None:
        ns = _RAW[xp] = _Raw(xp)
    return ns


class _Pointwise(Op):
    """y = f(x) with dy/dx = ``self.deriv(x, ns)``."""

    save_inputs = True

    def deriv(self, x: Any, m: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        if _grad_on[0]:
            return grad * self.deriv(x, _T)
        return _from_array(grad._data * self.deriv(x._data, _raw_ns(x._data)))


def _erf(a: Any) -> Any:
    a = np.asarray(a) if isinstance(a, np.generic) else a
    return kernel(a, "erf")(a)


# Phi(x) - 1/2 = x * P(x*x) / Q(x*x) for |x| <= _PHI_TOP (lowest degree first). Fitted once (linearised least
# squares, reweighted by 1/Q) to math.erf on [0, 3.92] in erf's variable and rescaled to Phi's: error 6e-8 in
# float64 arithmetic, about 3e-7 (a few float32 ulps) when evaluated in float32. Past _PHI_TOP Phi rounds to
# 0 or 1 in float32, so clipping x there is exact (and the result is clipped to [0, 1]).
_PHI_P = (0.3989422487, 0.03345222422, 0.004652857154, 0.0001648138403, 6.331389867e-06, 2.310197829e-08)
_PHI_Q = (1.0, 0.25051842, 0.02841709053, 0.001861629208, 7.239986233e-05, 1.206302739e-06)
_PHI_TOP = 5.5437
_CHUNK = 1 << 16  # elements per pass (float32: 256 KiB)


def _poly_(out: Any, s: Any, coef: tuple) -> Any:
    """Horner's rule in place: out = coef[0] + s * (coef[1] + s * (...))."""
    xp = array_module(s)
    xp.multiply(s, coef[-1], out=out)
    for c in coef[-2:0:-1]:
        out += c
        out *= s
    out += coef[0]
    return out


def _chunks(n: int) -> Any:
    """Cache-sized slices of ``n`` elements: the temporaries of a pass stay in cache."""
    return (slice(i, i + _CHUNK) for i in range(0, n, _CHUNK))


def _flat(a: Any) -> Any:
    return array_module(a).ascontiguousarray(a).reshape(-1)


def _normal_cdf_(v: Any, out: Any) -> Any:
    """out = Phi(v) for float32 ``v`` by the rational function (in place; ``v`` is left as it was)."""
    xp = array_module(v)
    v = xp.clip(v, -_PHI_TOP, _PHI_TOP)  # nan stays nan
    s = v * v
    q = _poly_(xp.empty_like(s), s, _PHI_Q)
    o = _poly_(out, s, _PHI_P)
    o *= v
    o /= q
    o += 0.5
    return xp.clip(o, 0.0, 1.0, out=o)  # the last ulps near |x| = _PHI_TOP


def _rational_cdf(x: Any) -> bool:
    """Whether Phi(x) takes the rational function: float32 arrays on the host, where the exact erf kernel
    evaluates in float64 and costs several times more. On a device the erf kernel is one float32 launch, fewer
    than the rational function's passes."""
    return x.dtype == np.float32 and x.ndim > 0 and array_module(x) is np


def _normal_cdf(x: Any) -> Any:
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2 in x's dtype (see _rational_cdf for which way)."""
    xp = array_module(x)
    if not _rational_cdf(x):
        return (0.5 * (1 + _erf(x / _SQRT_2))).astype(x.dtype, copy=False)
    flat = _flat(x)
    out = xp.empty_like(flat)
    for c in _chunks(flat.size):
        _normal_cdf_(flat[c], out[c])
    return out.reshape(x.shape)


def _gelu_f32(x: Any) -> tuple:
    """(x * Phi(x), Phi(x)) of a float32 array, a cache-sized chunk at a time."""
    xp = array_module(x)
    flat = _flat(x)
    cdf, y = xp.empty_like(flat), xp.empty_like(flat)
    for c in _chunks(flat.size):
        xp.multiply(flat[c], _normal_cdf_(flat[c], cdf[c]), out=y[c])
    return y.reshape(x.shape), cdf.reshape(x.shape)


def _gelu_grad_f32(g: Any, x: Any, cdf: Any) -> Any:
    """g * (Phi(x) + x * phi(x)), a cache-sized chunk at a time."""
    xp = array_module(x)
    fg, fx, fc = _flat(g), _flat(x), cdf.reshape(-1)
    out = xp.empty(fx.shape, np.result_type(g.dtype, x.dtype))
    for c in _chunks(fx.size):
        v, d = fx[c], out[c]
        xp.multiply(v, v, out=d)
        d *= -0.5
        xp.exp(d, out=d)
        d *= v
        d *= _INV_SQRT_2PI
        d += fc[c]
        d *= fg[c]
    return out.reshape(x.shape)


# -- relu family ---------------------------------------------------------------------------------------
class Threshold(_Pointwise):
    saved_names = {"self": 0, "threshold": lambda n: n.threshold}
    def forward(self, x: Any) -> Any:
        return array_module(x).where(x > self.threshold, x, self.value).astype(x.dtype, copy=False)

    def deriv(self, x: Any, m: Any) -> Any:
        return x > self.threshold


class Hardtanh(_Pointwise):
    def forward(self, x: Any) -> Any:
        return array_module(x).clip(x, self.lo, self.hi).astype(x.dtype, copy=False)

    def deriv(self, x: Any, m: Any) -> Any:
        return (x > self.lo) & (x < self.hi)


class LeakyRelu(_Pointwise):
    saved_names = {"self": 0, "negative_slope": lambda n: n.slope}
    def forward(self, x: Any) -> Any:
        return array_module(x).where(x > 0, x, x * self.slope)

    def deriv(self, x: Any, m: Any) -> Any:
        return m.where(x > 0, 1.0, self.slope)

    def name(self) -> str:
        return self.node_name


class Elu(_Pointwise):
    """scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1)); elu, selu and celu."""

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        neg = xp.expm1(xp.minimum(x, 0) * self.input_scale) * (self.alpha * self.scale)
        return xp.where(x > 0, x * self.scale, neg).astype(x.dtype, copy=False)

    def deriv(self, x: Any, m: Any) -> Any:
        s = self.grad_input_scale  # PyTorch's celu backward takes 1 / alpha with alpha rounded to float32
        return m.where(x > 0, self.scale, m.exp(x * s) * (self.alpha * self.scale * s))

    def name(self) -> str:
        return self.node_name


class Gelu(_Pointwise):
    saved_names = {"self": 0, "approximate": lambda n: n.approximate}
    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        if self.approximate == "tanh":
            return 0.5 * x * (1 + xp.tanh((x + 0.044715 * x * x * x) * _SQRT_2_PI))
        if _rational_cdf(x):
            y, self.cdf = _gelu_f32(x)  # Phi kept for backward: it is the costly part
            return y
        self.cdf = _normal_cdf(x)
        return x * self.cdf

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]  # read once: each read of a hooked saved tensor calls its unpack hook
        if _grad_on[0]:
            return grad * self.deriv(x, _T)
        x = x._data
        if self.approximate == "none" and _rational_cdf(x):
            return _from_array(_gelu_grad_f32(grad._data, x, self.cdf))
        return _from_array(grad._data * self.deriv(x, _raw_ns(x)))

    def deriv(self, x: Any, m: Any) -> Any:
        if self.approximate == "tanh":
            x2 = x * x
            t = m.tanh((x + 0.044715 * x2 * x) * _SQRT_2_PI)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (_SQRT_2_PI * (1 + 3 * 0.044715 * x2))
        cdf = 0.5 * (1 + m.erf(x / _SQRT_2)) if m is _T else self.cdf
        return cdf + x * m.exp(x * x * -0.5) * _INV_SQRT_2PI


class Silu(_Pointwise):
    def forward(self, x: Any) -> Any:
        return x / (1 + array_module(x).exp(-x))

    def deriv(self, x: Any, m: Any) -> Any:
        s = m.sigmoid(x)
        return s * (1 + x * (1 - s))


class Mish(_Pointwise):
    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        return x * xp.tanh(xp.logaddexp(x, 0).astype(x.dtype, copy=False))

    def deriv(self, x: Any, m: Any) -> Any:
        t = m.tanh(m.softplus(x))
        return t + x * m.sigmoid(x) * (1 - t * t)


class Softplus(_Pointwise):
    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        bx = x * self.beta
        soft = xp.logaddexp(bx, 0).astype(x.dtype, copy=False) / self.beta
        return xp.where(bx > self.threshold, x, soft)

    def deriv(self, x: Any, m: Any) -> Any:
        bx = x * self.beta
        return m.where(bx > self.threshold, 1.0, m.sigmoid(bx))


class Hardsigmoid(_Pointwise):
    def forward(self, x: Any) -> Any:
        return array_module(x).clip(x + 3, 0, 6).astype(x.dtype, copy=False) / 6

    def deriv(self, x: Any, m: Any) -> Any:
        return m.where((x > -3) & (x < 3), _SIXTH_F32, 0.0)


class Hardswish(_Pointwise):
    def forward(self, x: Any) -> Any:
        return x * array_module(x).clip(x + 3, 0, 6).astype(x.dtype, copy=False) / 6

    def deriv(self, x: Any, m: Any) -> Any:
        return m.where(x < -3, 0.0, m.where(x <= 3, x / 3 + 0.5, 1.0))


class LogSigmoid(_Pointwise):
    def forward(self, x: Any) -> Any:
        return -array_module(x).logaddexp(-x, 0).astype(x.dtype, copy=False)

    def deriv(self, x: Any, m: Any) -> Any:
        return m.sigmoid(-x)


class Softshrink(_Pointwise):
    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        lam = self.lambd
        return xp.where(x > lam, x - lam, xp.where(x < -lam, x + lam, 0)).astype(x.dtype, copy=False)

    def deriv(self, x: Any, m: Any) -> Any:
        return (x > self.lambd) | (x < -self.lambd)


class Hardshrink(_Pointwise):
    def forward(self, x: Any) -> Any:
        return array_module(x).where((x >= -self.lambd) & (x <= self.lambd), 0, x).astype(x.dtype, copy=False)

    def deriv(self, x: Any, m: Any) -> Any:
        return (x > self.lambd) | (x < -self.lambd)


_NAMES = {Threshold: "ThresholdBackward0", Hardtanh: "HardtanhBackward0",
          Gelu: "GeluBackward0", Silu: "SiluBackward0", Mish: "MishBackward0", Softplus: "SoftplusBackward0",
          Hardsigmoid: "HardsigmoidBackward0", Hardswish: "HardswishBackward0",
          LogSigmoid: "LogSigmoidBackward0", Softshrink: "SoftshrinkBackward0", Hardshrink: "HardshrinkBackward0"}
for _cls, _n in _NAMES.items():
    _cls.name = (lambda n: lambda self: n)(_n)  # type: ignore[method-assign]


class Prelu(Op):
    """x if x > 0 else w * x, w broadcast along the channel dimension (dim 1, or 0 for 1-d input)."""

    save_inputs = True

    def forward(self, x: Any, w: Any) -> Any:
        self.wshape = w.shape
        wb = w.reshape(self.bshape)
        return array_module(x).where(x > 0, x, wb * x)

    def backward(self, grad: Tensor) -> tuple:
        x, w = self.saved_inputs
        gx, gw = self.next_edges
        pos = x > 0
        wb = w.reshape(self.bshape)
        grad_x = grad * _T.where(pos, 1.0, wb) if gx else None
        grad_w = None
        if gw:
            gxw = grad * x.masked_fill(pos, 0)
            axes = [i for i, s in enumerate(self.bshape) if s == 1 and gxw.shape[i] != 1]
            grad_w = (gxw.sum(axes) if axes else gxw).reshape(self.wshape)
        return grad_x, grad_w

    def name(self) -> str:
        return "PreluKernelBackward0"


class Glu(Op):
    save_inputs = True

    def forward(self, x: Any) -> Any:
        xp = array_module(x)
        a, b = xp.split(x, 2, axis=self.dim)
        return a / (1 + xp.exp(-b))

    def backward(self, grad: Tensor) -> Tensor:
        x = self.saved_inputs[0]
        a, b = x.chunk(2, self.dim)
        s = b.sigmoid()
        from disttorch._ops.shape import cat

        return cat([grad * s, grad * a * s * (1 - s)], self.dim)


# -- public functions ------------------------------------------------------------------------------------
def _float_only(input: Tensor, kernel: str) -> None:
    if input._data.dtype.kind not in "fc" and not input.dtype.is_floating_point:  # bfloat16's numpy kind is V
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{type_word(input.dtype)}'")


def _run(op: type[Op], input: Tensor, inplace: bool, **attrs: Any) -> Tensor:
    """``op`` out of place, or written into ``input`` (which then takes the op's history)."""
    if not inplace:
        return op.apply(input, **attrs)
    if input._needs_graph_for_inplace():
        return input._apply_inplace(lambda s: op.apply(s, **attrs))
    input._data[...] = op.apply(input, **attrs)._data
    input._vc[0] += 1
    return input


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return input.relu_() if inplace else input.relu()


def relu_(input: Tensor) -> Tensor:
    return input.relu_()


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    return _run(Threshold, input, inplace, threshold=threshold, value=value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _run(Threshold, input, True, threshold=threshold, value=value)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _run(Hardtanh, input, inplace, lo=min_val, hi=max_val)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    _float_only(input, "leaky_relu_cpu")
    return _run(LeakyRelu, input, inplace, slope=negative_slope, node_name="LeakyReluBackward0")


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, True)


def _elu(input: Tensor, alpha: float, scale: float, input_scale: float, inplace: bool, name: str,
         grad_input_scale: float = 1.0) -> Tensor:
    _float_only(input, "elu_cpu")
    return _run(Elu, input, inplace, alpha=alpha, scale=scale, input_scale=input_scale, node_name=name,
                grad_input_scale=grad_input_scale)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _elu(input, alpha, 1.0, 1.0, inplace, "EluBackward0")


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    return _elu(input, _SELU_ALPHA, _SELU_SCALE, 1.0, inplace, "EluBackward0")


def selu_(input: Tensor) -> Tensor:
    return selu(input, True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _elu(input, alpha, 1.0, 1.0 / alpha, inplace, "CeluBackward0", 1.0 / float(np.float32(alpha)))


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    _float_only(input, "GeluKernelImpl")
    return Gelu.apply(input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    _float_only(input, "silu_cpu")
    return _run(Silu, input, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    _float_only(input, "mish_cpu")
    return _run(Mish, input, inplace)


@autocast_op("softplus")
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    _float_only(input, "softplus_cpu")
    return Softplus.apply(input, beta=beta, threshold=threshold)


def softsign(input: Tensor) -> Tensor:
    return input / (input.abs() + 1)


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    _float_only(input, "hardsigmoid_cpu")
    return _run(Hardsigmoid, input, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    _float_only(input, "hardswish_cpu")
    return _run(Hardswish, input, inplace)


def logsigmoid(input: Tensor) -> Tensor:
    _float_only(input, "log_sigmoid_forward_cpu")
    return LogSigmoid.apply(input)


def tanhshrink(input: Tensor) -> Tensor:
    return input - input.tanh()


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {float(lambd)}.")
    return Softshrink.apply(input, lambd=lambd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    return Hardshrink.apply(input, lambd=lambd)


@autocast_op("prelu")
def prelu(input: Tensor, weight: Tensor) -> Tensor:
    nd = input._data.ndim
    n = weight._data.size
    if weight._data.ndim > 1 and not (nd >= 2 and weight._data.ndim <= nd):
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = "
                           f"{weight._data.ndim}")
    if nd == 0 and n != 1:
        raise RuntimeError("Not allow zero-dim input tensor.")
    if n == 1:
        bshape = (1,) * nd
    else:
        ch = 1 if nd >= 2 else 0
        channels = input._data.shape[ch] if nd >= 2 else 1
        if n != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{n} and channel size = {channels}.")
        bshape = tuple(n if i == ch else 1 for i in range(nd))
    return Prelu.apply(input, weight, bshape=bshape)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    if not training:  # the mean slope (PyTorch's node is still the rrelu one)
        _float_only(input, "leaky_relu_cpu")
        return _run(LeakyRelu, input, inplace, slope=(lower + upper) / 2, node_name="RreluWithNoiseBackward0")
    from disttorch._ops.creation import empty

    with grad_mode.no_grad():
        slope = empty(input.shape, dtype=input.dtype, device=input.device).uniform_(lower, upper)
        slope = slope.masked_fill(input.detach() >= 0, 1.0)
    if inplace:
        if input._needs_graph_for_inplace():
            return input._apply_inplace(lambda s: s * slope)
        input._data *= slope._data
        input._vc[0] += 1
        return input
    return input * slope


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, True)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    axis = _wrap_dim(dim, nd)
    if input._data.shape[axis] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {axis} is size "
                           f"{input._data.shape[axis]}")
    return Glu.apply(input, dim=axis)


# -- softmax family ----------------------------------------------------------------------------------------
def _get_softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warn_user(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
              "as an argument.")
    return 0 if ndim in (0, 1, 3) else 1


def _softmax(input: Tensor, dim: Any, dtype: Any, log: bool, name: str, stacklevel: int,
             negate: bool = False) -> Tensor:
    nd = input._data.ndim
    if dim is None:
        dim = _get_softmax_dim(name, nd, stacklevel + 1)
    if _autocast.on:  # cast in the body, not by a wrapper: the implicit-dim warning's stack level stays right
        input = _autocast.cast_input(name, input)
    axis = _wrap_dim(operator.index(dim), nd)
    if negate:
        input = -input
    if dtype is not None:
        input = input.to(D.to_dtype(dtype))
    if input._data.dtype.kind not in "fc":
        kernel = "lastdim_kernel_impl" if axis == nd - 1 or nd == 0 else "kernel_impl"
        raise NotImplementedError(f"\"{'log_softmax' if log else 'softmax'}_{kernel}\" not implemented for "
                                  f"'{type_word(input.dtype)}'")
    return Softmax.apply(input, axes=(axis,) if nd else (), log=log)


@autocast_op("softmax")
def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    return _softmax(input, dim, dtype, False, "softmax", _stacklevel)


@autocast_op("log_softmax")
def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    return _softmax(input, dim, dtype, True, "log_softmax", _stacklevel)


@autocast_op("softmin")
def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    return _softmax(input, dim, dtype, False, "softmin", _stacklevel, negate=True)


methods({"hardshrink": hardshrink, "prelu": prelu})  # Tensor methods, as in PyTorch
