"""Continuous families (Exponential, Laplace, LogNormal, Gamma, Chi2, InverseGamma, Beta, Dirichlet, ...)
against torch: log_prob, entropy, moments, cdf/icdf, shapes, expand, gradients; sample laws and rsample
gradients by loose moment tests with a fixed seed; validation errors."""
from __future__ import annotations

import numpy as np
import pytest
from dist_cases import compare, rsample_gradient, sample_moments
from oracle import assert_close, torch

import disttorch

D = "distributions"
CASES = {
    "Exponential": (lambda lib, P: lib.distributions.Exponential(P([0.5, 2.0, 3.0])), [0.3, 1.2, 0.01]),
    "Laplace": (lambda lib, P: lib.distributions.Laplace(P([0.0, 1.0, -2.0]), P([1.0, 0.5, 2.0])),
                [0.3, 1.2, -4.0]),
    "LogNormal": (lambda lib, P: lib.distributions.LogNormal(P([0.0, 1.0, -0.5]), P([1.0, 0.5, 2.0])),
                  [0.3, 1.2, 4.0]),
    "Gamma": (lambda lib, P: lib.distributions.Gamma(P([0.5, 2.0, 7.0]), P([1.0, 0.5, 3.0])), [0.3, 1.2, 4.0]),
    "Chi2": (lambda lib, P: lib.distributions.Chi2(P([1.5, 3.0, 7.0])), [0.3, 1.2, 4.0]),
    "InverseGamma": (lambda lib, P: lib.distributions.InverseGamma(P([0.5, 2.5, 7.0]), P([1.0, 0.5, 3.0])),
                     [0.3, 1.2, 4.0]),
    "Beta": (lambda lib, P: lib.distributions.Beta(P([0.5, 2.0, 7.0]), P([1.0, 0.5, 3.0])), [0.3, 0.9, 0.6]),
    "Dirichlet": (lambda lib, P: lib.distributions.Dirichlet(P([[0.5, 2.0, 7.0], [1.0, 1.5, 3.0]])),
                  [[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]),
}
# heavy tails make the sample variance wander: lighter parameters for the sample-law test
LIGHT = {"LogNormal": lambda lib, P: lib.distributions.LogNormal(P([0.0, 1.0, -0.5]), P([0.3, 0.5, 0.2]))}
RSAMPLE = ["Exponential", "Laplace", "LogNormal", "Gamma", "Chi2", "Beta", "Dirichlet"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_against_torch(name: str, dtype: str) -> None:
    make, value = CASES[name]
    compare(name, make, value, dtype)


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_law(name: str) -> None:
    make = LIGHT.get(name, CASES[name][0])
    d = make(disttorch, lambda v, **k: disttorch.tensor(np.asarray(v, dtype="float64")))
    sample_moments(d)


@pytest.mark.parametrize("name", RSAMPLE)
def test_rsample_gradient(name: str) -> None:
    rsample_gradient(LIGHT.get(name, CASES[name][0]))


def test_gamma_implicit_gradient_matches_torch() -> None:
    alpha = disttorch.tensor([0.2, 0.9, 2.5, 10.0, 80.0], dtype=disttorch.float64, requires_grad=True)
    disttorch.manual_seed(3)
    x = disttorch.distributions.Gamma(alpha, 1.0).rsample((4,))
    x.sum().backward()
    want = torch._standard_gamma_grad(torch.tensor(alpha.detach().numpy()).expand(4, 5),
                                      torch.tensor(x.detach().numpy())).sum(0)
    np.testing.assert_allclose(alpha.grad.numpy(), want.numpy(), rtol=2e-3)


def test_log_prob_gradcheck_float64() -> None:
    a = disttorch.tensor([0.7, 2.0], dtype=disttorch.float64, requires_grad=True)
    b = disttorch.tensor([1.5, 0.5], dtype=disttorch.float64, requires_grad=True)
    v = disttorch.tensor([0.3, 0.8], dtype=disttorch.float64)
    assert disttorch.autograd.gradcheck(lambda a, b: disttorch.distributions.Beta(a, b).log_prob(v), (a, b))
    assert disttorch.autograd.gradcheck(lambda a, b: disttorch.distributions.Gamma(a, b).log_prob(v), (a, b))
    assert disttorch.autograd.gradcheck(lambda a, b: disttorch.distributions.Laplace(a, b).log_prob(v), (a, b))


@pytest.mark.parametrize("call", [
    lambda lib: lib.distributions.Gamma(lib.tensor([1.0]), lib.tensor([-1.0])),
    lambda lib: lib.distributions.Exponential(lib.tensor([0.0])),
    lambda lib: lib.distributions.Beta(lib.tensor([1.0]), lib.tensor([1.0])).log_prob(lib.tensor([1.5])),
    lambda lib: lib.distributions.Dirichlet(lib.tensor(1.0)),
    lambda lib: lib.distributions.Dirichlet(lib.tensor([1.0, 2.0])).log_prob(lib.tensor([0.2, 0.3, 0.5])),
    lambda lib: lib.distributions.Exponential(lib.tensor([1.0, 2.0])).log_prob(lib.tensor([1.0, 2.0, 3.0])),
    lambda lib: lib.distributions.Exponential(lib.tensor([1.0, 2.0])).log_prob(lib.tensor([-1.0, 2.0])),
])
def test_validation_errors_like_torch(call) -> None:
    errors = []
    for lib in (disttorch, torch):
        with pytest.raises((ValueError, RuntimeError)) as info:
            call(lib)
        errors.append((info.type, str(info.value).split(" found invalid values")[0].split("\n")[0]))
    assert errors[0] == errors[1], errors


def test_validation_can_be_turned_off() -> None:
    d = disttorch.distributions.Exponential(disttorch.tensor([-1.0]), validate_args=False)
    assert_close(d.rate, torch.tensor([-1.0]))
