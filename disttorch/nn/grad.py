"""torch.nn.grad: the gradients of convolutions with respect to their input and weight, computed by autograd
through the convolution functions themselves (so they agree with conv's backward by construction)."""
from __future__ import annotations

from typing import Any, Callable, Sequence

from disttorch import autograd
from disttorch._ops.creation import zeros
from disttorch._tensor import Tensor
from disttorch.autograd.grad_mode import enable_grad, is_grad_enabled
from disttorch.nn import functional as F

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]


def _input_grad(conv: Callable, input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: Any,
                padding: Any, dilation: Any, groups: int) -> Tensor:
    create = is_grad_enabled() and (weight.requires_grad or grad_output.requires_grad)
    with enable_grad():
        x = zeros(*tuple(input_size), dtype=grad_output.dtype, device=grad_output.device, requires_grad=True)
        y = conv(x, weight, None, stride, padding, dilation, groups)
        if tuple(y.shape) != tuple(grad_output.shape):
            raise RuntimeError(f"grad_output has shape {list(grad_output.shape)}, but a convolution of an input of "
                               f"size {list(input_size)} gives {list(y.shape)}")
        (g,) = autograd.grad(y, x, grad_output, create_graph=create)
    return g


def _weight_grad(conv: Callable, input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride: Any,
                 padding: Any, dilation: Any, groups: int) -> Tensor:
    create = is_grad_enabled() and (input.requires_grad or grad_output.requires_grad)
    with enable_grad():
        w = zeros(*tuple(weight_size), dtype=input.dtype, device=input.device, requires_grad=True)
        y = conv(input, w, None, stride, padding, dilation, groups)
        if tuple(y.shape) != tuple(grad_output.shape):
            raise RuntimeError(f"grad_output has shape {list(grad_output.shape)}, but the convolution gives "
                               f"{list(y.shape)}")
        (g,) = autograd.grad(y, w, grad_output, create_graph=create)
    return g


def conv1d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1) -> Tensor:
    """d(conv1d)/d(input) applied to ``grad_output``, for an input of ``input_size``."""
    return _input_grad(F.conv1d, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv1d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride: Any = 1, padding: Any = 0,
                  dilation: Any = 1, groups: int = 1) -> Tensor:
    """d(conv1d)/d(weight) applied to ``grad_output``, for a weight of ``weight_size``."""
    return _weight_grad(F.conv1d, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv2d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1) -> Tensor:
    """d(conv2d)/d(input) applied to ``grad_output``, for an input of ``input_size``."""
    return _input_grad(F.conv2d, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv2d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride: Any = 1, padding: Any = 0,
                  dilation: Any = 1, groups: int = 1) -> Tensor:
    """d(conv2d)/d(weight) applied to ``grad_output``, for a weight of ``weight_size``."""
    return _weight_grad(F.conv2d, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv3d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1) -> Tensor:
    """d(conv3d)/d(input) applied to ``grad_output``, for an input of ``input_size``."""
    return _input_grad(F.conv3d, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv3d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride: Any = 1, padding: Any = 0,
                  dilation: Any = 1, groups: int = 1) -> Tensor:
    """d(conv3d)/d(weight) applied to ``grad_output``, for a weight of ``weight_size``."""
    return _weight_grad(F.conv3d, input, weight_size, grad_output, stride, padding, dilation, groups)
