"""Elementwise math on one tensor (exp, log, trig, rounding, activations, clamp, ...) and a few
pointwise ops with extra operands (lerp, addcmul, addcdiv, xlogy, heaviside), and the special functions
of the gamma, Bessel and normal-distribution families (gamma.py, bessel_normal.py), with in-place forms.

Float functions (exp, sqrt, sin, ...) compute integer and bool inputs in the default float dtype;
abs, sign, clamp, rounding and relu keep integer dtypes, as in PyTorch. Backward formulas are Tensor
expressions, so higher-order gradients work; for complex inputs they use the conjugate derivative.

One file per family; each defines its ops, public functions, in-place forms and Tensor methods.
"""
from . import bessel_normal, clamp_relu, complex_parts, exp_log, gamma, pointwise, rounding_sign, sigmoid_erf, trig
from .bessel_normal import *
from .clamp_relu import *
from .complex_parts import *
from .exp_log import *
from .gamma import *
from .pointwise import *
from .rounding_sign import *
from .sigmoid_erf import *
from ._common import kernel  # nn.functional evaluates erf on arrays
from .trig import *

__all__ = [*exp_log.__all__, *trig.__all__, *sigmoid_erf.__all__, *clamp_relu.__all__, *rounding_sign.__all__,
           *complex_parts.__all__, *pointwise.__all__, *gamma.__all__, *bessel_normal.__all__]
