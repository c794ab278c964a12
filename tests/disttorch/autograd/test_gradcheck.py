"""Anomaly detection, gradcheck and gradgradcheck, against PyTorch where a message is involved."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from oracle import randn

import disttorch

torch = pytest.importorskip("torch")

LIBS = [disttorch, torch]


def nan_function(t):
    class NanGrad(t.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    return NanGrad


# -- anomaly detection --------------------------------------------------------------------------------
def test_detect_anomaly_nan_in_custom_function():
    msgs = []
    for t in LIBS:
        x = t.ones(2, requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with t.autograd.detect_anomaly():
                y = nan_function(t).apply(x)
                with pytest.raises(RuntimeError) as info:
                    y.sum().backward()
        msgs.append(str(info.value))
        texts = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
        assert any(m.startswith("Anomaly Detection has been enabled.") for m in texts)
        assert any(m.startswith("Error detected in NanGradBackward. Traceback of forward call that caused the "
                                "error:") for m in texts)
    assert msgs[0] == msgs[1] == "Function 'NanGradBackward' returned nan values in its 0th output."


def test_detect_anomaly_nan_in_builtin_op():
    msgs = []
    for t in LIBS:
        x = t.tensor([-1.0, 1.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with t.autograd.detect_anomaly():
                y = x ** 0.5
                with pytest.raises(RuntimeError) as info:
                    y.sum().backward()
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1] == "Function 'PowBackward0' returned nan values in its 0th output."


def test_nan_passes_without_anomaly_or_with_check_nan_false():
    for t in LIBS:
        x = t.ones(2, requires_grad=True)
        nan_function(t).apply(x).sum().backward()
        assert np.isnan(np.asarray(x.grad.tolist())).all()
        x.grad = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with t.autograd.detect_anomaly(check_nan=False):
                nan_function(t).apply(x).sum().backward()


def test_anomaly_flags():
    from disttorch.autograd import is_anomaly_check_nan_enabled, is_anomaly_enabled

    for t, enabled, check_nan in [(disttorch, is_anomaly_enabled, is_anomaly_check_nan_enabled),
                                  (torch, torch.is_anomaly_enabled, torch.is_anomaly_check_nan_enabled)]:
        assert not enabled()
        with t.autograd.set_detect_anomaly(True):
            assert enabled() and check_nan()
        assert not enabled()
        with t.autograd.set_detect_anomaly(True, check_nan=False):
            assert enabled() and not check_nan()
        t.autograd.set_detect_anomaly(True)
        assert enabled()
        t.autograd.set_detect_anomaly(False)
        assert not enabled()


def test_anomaly_reports_forward_trace_on_error():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with disttorch.autograd.detect_anomaly():
            h = x * 2
            y = h * h
            h.add_(1)
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                y.sum().backward()
    texts = [str(w.message) for w in caught]
    assert any(m.startswith("Error detected in MulBackward0.") and "test_gradcheck.py" in m for m in texts)


# -- gradcheck -------------------------------------------------------------------------------------------
def _inputs(*shapes, seed=0):
    return [disttorch.tensor(randn(*s, seed=seed + i, dtype=np.float64), requires_grad=True)
            for i, s in enumerate(shapes)]


def test_gradcheck_passes_for_correct_gradients():
    x, y = _inputs((3,), (2, 3))
    assert disttorch.autograd.gradcheck(lambda a, b: (a * b + a / (b * b + 1)) ** 2, (x, y))
    assert disttorch.autograd.gradcheck(lambda a: (a * a, a * 3), (x,))


def _wrong_cube(t):
    class WrongCube(t.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x * x  # should be 3 x^2

    return WrongCube


def test_gradcheck_detects_wrong_gradient():
    for t in LIBS:
        x = t.tensor(randn(3, seed=3, dtype=np.float64), requires_grad=True)
        with pytest.raises(RuntimeError, match="Jacobian mismatch for output 0 with respect to input 0"):
            t.autograd.gradcheck(_wrong_cube(t).apply, (x,))
        assert t.autograd.gradcheck(_wrong_cube(t).apply, (x,), raise_exception=False) is False


def test_gradcheck_warns_for_single_precision():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="is not a double precision floating point"):
        disttorch.autograd.gradcheck(lambda a: a * a, (x,), atol=1e-2, rtol=1e-2, eps=1e-3)


def test_gradgradcheck_passes_for_differentiable_backward():
    x, y = _inputs((3,), (3,), seed=5)
    assert disttorch.autograd.gradgradcheck(lambda a, b: a ** 3 * b, (x, y))
    assert disttorch.autograd.gradgradcheck(lambda a: a * a * a, (x,))


def test_gradgradcheck_detects_non_differentiable_backward():
    for t in LIBS:
        class DetachedBackward(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x * x

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * 3 * x.detach() * x.detach()  # first derivative right, second wrong

        x = t.tensor(randn(3, seed=6, dtype=np.float64), requires_grad=True)
        assert t.autograd.gradcheck(DetachedBackward.apply, (x,))
        assert t.autograd.gradgradcheck(DetachedBackward.apply, (x,), raise_exception=False) is False


def test_complex_inputs_are_checked_in_both_parts():
    """A complex input's gradient is d/d(re) + i d/d(im); a backward missing the conjugate must fail."""
    x = disttorch.tensor([1 + 2j, 3 - 1j], dtype=disttorch.complex128, requires_grad=True)
    assert disttorch.autograd.gradcheck(lambda z: (z * z).abs().sum(), (x,))
    assert disttorch.autograd.gradcheck(lambda z: z * (1 + 1j), (x,))  # a complex output: both parts checked

    class NoConj(disttorch.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return z * z

        @staticmethod
        def backward(ctx, g):
            (z,) = ctx.saved_tensors
            return g * 2 * z  # the right one is g * conj(2 z)

    assert not disttorch.autograd.gradcheck(lambda z: NoConj.apply(z).abs().sum(), (x,), raise_exception=False)


def test_gradcheck_perturbs_non_contiguous_inputs():
    """The finite differences must reach every element of a transposed (column-major) input."""
    import numpy as np

    import disttorch

    x = disttorch.tensor(np.random.default_rng(0).standard_normal((4, 3))).t().requires_grad_(True)
    assert not x.is_contiguous()
    assert disttorch.autograd.gradcheck(lambda a: (a * a).sum(0), (x,))
    assert disttorch.autograd.gradcheck(lambda a: a.cumsum(1), (x,))
