"""Discrete families (Poisson, Binomial, NegativeBinomial, Geometric, OneHotCategorical(+StraightThrough),
Multinomial) against torch: log_prob, entropy, moments, shapes, expand, enumerate_support, gradients; sample
laws by moments with a fixed seed; validation errors."""
from __future__ import annotations

import numpy as np
import pytest
from dist_cases import compare, gradcheck_case, sample_moments, wrong_shape_error
from oracle import assert_close, torch

import disttorch

CASES = {
    "Poisson": (lambda lib, P: lib.distributions.Poisson(P([0.5, 2.0, 7.0])), [0.0, 3.0, 6.0]),
    "Binomial": (lambda lib, P: lib.distributions.Binomial(P([5.0, 5.0, 5.0], grad=False), P([0.2, 0.5, 0.9])),
                 [0.0, 3.0, 5.0]),
    "Binomial_logits": (lambda lib, P: lib.distributions.Binomial(P([3.0, 7.0, 10.0], grad=False),
                                                                  logits=P([-1.0, 0.0, 2.0])), [1.0, 3.0, 9.0]),
    "NegativeBinomial": (lambda lib, P: lib.distributions.NegativeBinomial(P([2.0, 5.5, 1.0]), P([0.2, 0.5, 0.7])),
                         [0.0, 3.0, 6.0]),
    "NegativeBinomial_logits": (lambda lib, P: lib.distributions.NegativeBinomial(
        P([2.0, 5.5, 1.0]), logits=P([-1.0, 0.0, 0.5])), [0.0, 3.0, 6.0]),
    "Geometric": (lambda lib, P: lib.distributions.Geometric(P([0.2, 0.5, 0.9])), [0.0, 3.0, 1.0]),
    "Geometric_logits": (lambda lib, P: lib.distributions.Geometric(logits=P([-1.0, 0.0, 2.0])), [0.0, 3.0, 1.0]),
    "OneHotCategorical": (lambda lib, P: lib.distributions.OneHotCategorical(P([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])),
                          [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
    "OneHotCategoricalStraightThrough": (lambda lib, P: lib.distributions.OneHotCategoricalStraightThrough(
        logits=P([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])), [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
    "Multinomial": (lambda lib, P: lib.distributions.Multinomial(6, P([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])),
                    [[1.0, 2.0, 3.0], [6.0, 0.0, 0.0]]),
}


def _enumerate(lib, d, v) -> dict:
    if not d.has_enumerate_support:
        return {}
    try:
        return {"enumerate": d.enumerate_support(), "enumerate_noexpand": d.enumerate_support(expand=False)}
    except NotImplementedError as e:
        return {"enumerate_error": str(e)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_against_torch(name: str, dtype: str) -> None:
    make, value = CASES[name]
    compare(name, make, value, dtype, extra=_enumerate)


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_law(name: str) -> None:
    d = CASES[name][0](disttorch, lambda v, **k: disttorch.tensor(np.asarray(v, dtype="float64")))
    sample_moments(d)
    s = d.sample((100,))
    assert bool(d.support.check(s).all())


def test_straight_through_gradient() -> None:
    logits = disttorch.tensor([[0.2, 0.3, 0.5]], requires_grad=True)
    d = disttorch.distributions.OneHotCategoricalStraightThrough(logits=logits)
    s = d.rsample((4,))
    assert bool(((s == 0) | (s == 1)).all()) and bool((s.sum(-1) == 1).all())
    w = disttorch.tensor([1.0, -2.0, 3.0])
    (s * w).sum().backward()
    t_logits = torch.tensor([[0.2, 0.3, 0.5]], requires_grad=True)
    probs = torch.softmax(t_logits, -1)
    (4 * probs * torch.tensor([1.0, -2.0, 3.0])).sum().backward()
    assert_close(logits.grad, t_logits.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call", [
    lambda lib: lib.distributions.Poisson(lib.tensor([-1.0])),
    lambda lib: lib.distributions.Poisson(lib.tensor([1.0])).log_prob(lib.tensor([1.5])),
    lambda lib: lib.distributions.Binomial(lib.tensor([2.5]), lib.tensor([0.5])),
    lambda lib: lib.distributions.Binomial(5, lib.tensor([0.5])).log_prob(lib.tensor([6.0])),
    lambda lib: lib.distributions.Binomial(lib.tensor([2.0, 3.0]), lib.tensor([0.5, 0.5])).entropy(),
    lambda lib: lib.distributions.Geometric(lib.tensor([0.0])),
    lambda lib: lib.distributions.Binomial(5),
    lambda lib: lib.distributions.Multinomial(lib.tensor(3), lib.tensor([0.5, 0.5])),
    lambda lib: lib.distributions.Multinomial(3, lib.tensor([0.5, 0.5])).log_prob(lib.tensor([-1.0, 4.0])),
    lambda lib: lib.distributions.OneHotCategorical(lib.tensor([0.5, 0.5])).log_prob(lib.tensor([0.5, 0.5])),
    lambda lib: lib.distributions.OneHotCategorical(lib.tensor([0.5, 0.5])).log_prob(lib.tensor([1.0, 0.0, 0.0])),
])
def test_validation_errors_like_torch(call) -> None:
    errors = []
    for lib in (disttorch, torch):
        with pytest.raises((ValueError, RuntimeError, NotImplementedError)) as info:
            call(lib)
        errors.append((info.type, str(info.value).split(" found invalid values")[0].split("\n")[0]))
    assert errors[0] == errors[1], errors


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_float64(name: str) -> None:
    make, value = CASES[name]
    gradcheck_case(make, value)


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_shape_value_raises_like_torch(name: str) -> None:
    ours, theirs = wrong_shape_error(CASES[name][0])
    assert theirs is not None and ours == theirs, (ours, theirs)
