"""gradcheck and gradgradcheck on every device (cuda on the cupy stand-in in CI): a correct backward passes,
a wrong one is caught."""
import pytest

import disttorch


class _WrongSquare(disttorch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x  # should be 2 * x


def test_gradcheck_on_device(device):
    x = disttorch.randn(3, 4, dtype=disttorch.float64, device=device, requires_grad=True)
    w = disttorch.randn(4, 2, dtype=disttorch.float64, device=device, requires_grad=True)
    assert disttorch.autograd.gradcheck(lambda a, b: (a @ b).tanh(), (x, w))
    assert disttorch.autograd.gradgradcheck(lambda a, b: (a @ b).tanh(), (x, w))
    assert not disttorch.autograd.gradcheck(_WrongSquare.apply, (x,), raise_exception=False)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):  # GradcheckError, a RuntimeError as in PyTorch
        disttorch.autograd.gradcheck(_WrongSquare.apply, (x,))
