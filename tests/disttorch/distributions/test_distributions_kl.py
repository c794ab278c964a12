"""kl_divergence / register_kl against torch: every pair of families torch registers that both sides have
(values, infinities, gradients), most-specific dispatch, errors; and KL against a Monte-Carlo estimate."""
from __future__ import annotations

import numpy as np
import pytest
from dist_cases import leaf_maker
from oracle import assert_close, torch

import disttorch

# p and q of each family, batch of 3; parameters chosen so that supports overlap in some entries
FAMILIES = {
    "Bernoulli": [lambda lib, P: lib.distributions.Bernoulli(P([0.2, 0.5, 0.9])),
                  lambda lib, P: lib.distributions.Bernoulli(logits=P([0.3, -1.0, 2.0]))],
    "Beta": [lambda lib, P: lib.distributions.Beta(P([0.5, 2.0, 7.0]), P([1.0, 0.5, 3.0])),
             lambda lib, P: lib.distributions.Beta(P([1.5, 1.0, 2.0]), P([2.0, 1.5, 0.7]))],
    "Binomial": [lambda lib, P: lib.distributions.Binomial(P([5.0, 5.0, 7.0], grad=False), P([0.2, 0.5, 0.9])),
                 lambda lib, P: lib.distributions.Binomial(P([5.0, 3.0, 7.0], grad=False), P([0.4, 0.5, 0.6]))],
    "Categorical": [lambda lib, P: lib.distributions.Categorical(P([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3], [1, 0, 0]])),
                    lambda lib, P: lib.distributions.Categorical(logits=P([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3],
                                                                           [1.0, 2.0, 3.0]]))],
    "ContinuousBernoulli": [lambda lib, P: lib.distributions.ContinuousBernoulli(P([0.2, 0.5, 0.9])),
                            lambda lib, P: lib.distributions.ContinuousBernoulli(P([0.7, 0.3, 0.4]))],
    "Dirichlet": [lambda lib, P: lib.distributions.Dirichlet(P([[0.5, 2.0], [7.0, 1.0], [1.0, 1.0]])),
                  lambda lib, P: lib.distributions.Dirichlet(P([[1.5, 1.0], [2.0, 0.5], [3.0, 1.0]]))],
    "Exponential": [lambda lib, P: lib.distributions.Exponential(P([0.5, 2.0, 3.0])),
                    lambda lib, P: lib.distributions.Exponential(P([1.5, 1.0, 0.3]))],
    "Gamma": [lambda lib, P: lib.distributions.Gamma(P([0.5, 2.0, 7.0]), P([1.0, 0.5, 3.0])),
              lambda lib, P: lib.distributions.Gamma(P([1.5, 1.0, 2.0]), P([2.0, 1.5, 0.7]))],
    "Gumbel": [lambda lib, P: lib.distributions.Gumbel(P([0.0, 1.0, -2.0]), P([1.0, 0.5, 2.0])),
               lambda lib, P: lib.distributions.Gumbel(P([0.5, -1.0, 0.0]), P([2.0, 1.5, 0.7]))],
    "Geometric": [lambda lib, P: lib.distributions.Geometric(P([0.2, 0.5, 0.9])),
                  lambda lib, P: lib.distributions.Geometric(P([0.7, 0.3, 0.4]))],
    "HalfNormal": [lambda lib, P: lib.distributions.HalfNormal(P([1.0, 0.5, 2.0])),
                   lambda lib, P: lib.distributions.HalfNormal(P([2.0, 1.5, 0.7]))],
    "Laplace": [lambda lib, P: lib.distributions.Laplace(P([0.0, 1.0, -2.0]), P([1.0, 0.5, 2.0])),
                lambda lib, P: lib.distributions.Laplace(P([0.5, -1.0, 0.0]), P([2.0, 1.5, 0.7]))],
    "Normal": [lambda lib, P: lib.distributions.Normal(P([0.0, 1.0, -2.0]), P([1.0, 0.5, 2.0])),
               lambda lib, P: lib.distributions.Normal(P([0.5, -1.0, 0.0]), P([2.0, 1.5, 0.7]))],
    "OneHotCategorical": [lambda lib, P: lib.distributions.OneHotCategorical(P([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])),
                          lambda lib, P: lib.distributions.OneHotCategorical(P([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]]))],
    "Pareto": [lambda lib, P: lib.distributions.Pareto(P([1.0, 0.5, 2.0]), P([0.7, 2.5, 5.0])),
               lambda lib, P: lib.distributions.Pareto(P([0.5, 1.0, 1.5]), P([1.5, 3.0, 2.0]))],
    "Poisson": [lambda lib, P: lib.distributions.Poisson(P([0.5, 2.0, 7.0])),
                lambda lib, P: lib.distributions.Poisson(P([1.5, 1.0, 3.0]))],
    "Uniform": [lambda lib, P: lib.distributions.Uniform(P([0.1, -1.0, 0.5]), P([0.8, 3.0, 0.9])),
                lambda lib, P: lib.distributions.Uniform(P([0.0, 0.0, 0.2]), P([1.0, 4.0, 1.0]))],
    "Cauchy": [lambda lib, P: lib.distributions.Cauchy(P([0.0, 1.0, -2.0]), P([1.0, 0.5, 2.0])),
               lambda lib, P: lib.distributions.Cauchy(P([0.5, -1.0, 0.0]), P([2.0, 1.5, 0.7]))],
    "MultivariateNormal": [
        lambda lib, P: lib.distributions.MultivariateNormal(P([[0.0, 1.0], [1.0, -1.0], [0.0, 0.0]]),
                                                            scale_tril=P([[1.0, 0.0], [0.3, 0.8]])),
        lambda lib, P: lib.distributions.MultivariateNormal(P([0.5, 0.0]),
                                                            covariance_matrix=P([[2.0, 0.3], [0.3, 1.0]]))],
    "LowRankMultivariateNormal": [
        lambda lib, P: lib.distributions.LowRankMultivariateNormal(P([[0.0, 1.0], [1.0, -1.0], [0.0, 0.0]]),
                                                                   P([[1.0], [0.5]]), P([0.5, 1.5])),
        lambda lib, P: lib.distributions.LowRankMultivariateNormal(P([0.5, 0.0]), P([[0.2], [-0.5]]),
                                                                   P([1.0, 0.7]))],
    "Independent": [lambda lib, P: lib.distributions.Independent(
        lib.distributions.Normal(P([[0.0, 1.0], [1.0, -1.0], [0.0, 0.0]]), P([[1.0, 0.5], [2.0, 1.0], [1.0, 1.0]])), 1),
        lambda lib, P: lib.distributions.Independent(lib.distributions.Normal(P([0.5, 0.0]), P([2.0, 0.7])), 1)],
    "TransformedDistribution": [
        lambda lib, P: lib.distributions.TransformedDistribution(
            lib.distributions.Normal(P([0.0, 1.0, -2.0]), P([1.0, 0.5, 2.0])), [lib.distributions.ExpTransform()]),
        lambda lib, P: lib.distributions.TransformedDistribution(
            lib.distributions.Normal(P([0.5, -1.0, 0.0]), P([2.0, 1.5, 0.7])), [lib.distributions.ExpTransform()])],
}
PAIRS = sorted({(a.__name__, b.__name__) for a, b in torch.distributions.kl._KL_REGISTRY}
               - {("ExponentialFamily", "ExponentialFamily")})
PAIRS = [pq for pq in PAIRS if pq[0] in FAMILIES and pq[1] in FAMILIES]


def _kl(lib, p_name: str, q_name: str, dtype: str):
    leaves: list = []
    P = leaf_maker(lib, dtype, leaves)
    p = FAMILIES[p_name][0](lib, P)
    q = FAMILIES[q_name][1](lib, P)
    kl = lib.distributions.kl_divergence(p, q)
    finite = lib.isfinite(kl)
    if kl.requires_grad:  # the infinite pairs are constants
        lib.where(finite, kl, lib.zeros_like(kl)).sum().backward()
    return kl, [x.grad if x.grad is not None else lib.zeros_like(x) for x in leaves]


def test_every_registered_pair_is_covered() -> None:
    ours = {(a.__name__, b.__name__) for a, b in disttorch.distributions.kl._KL_REGISTRY}
    theirs = {(a.__name__, b.__name__) for a, b in torch.distributions.kl._KL_REGISTRY}
    assert ours == theirs, (theirs - ours, ours - theirs)
    assert len(PAIRS) >= 80


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("pair", PAIRS, ids=lambda pq: f"{pq[0]}-{pq[1]}")
def test_kl_against_torch(pair: tuple, dtype: str) -> None:
    tol = 1e-4 if dtype == "float32" else 1e-9
    ours, theirs = _kl(disttorch, *pair, dtype), _kl(torch, *pair, dtype)
    assert_close(ours[0], theirs[0], rtol=tol, atol=tol, what=f"{pair} kl")
    assert_close(ours[1], theirs[1], rtol=tol, atol=tol, what=f"{pair} grads")


def test_bregman_fallback_for_exponential_families() -> None:
    """A registered-less pair of one exponential family goes through the Bregman divergence."""
    for lib in (disttorch, torch):
        class MyPoisson(lib.distributions.Poisson):
            pass
        p = MyPoisson(lib.tensor([0.5, 2.0], dtype=lib.float64))
        q = MyPoisson(lib.tensor([1.5, 1.0], dtype=lib.float64))
        want = lib.distributions.kl.kl_divergence(lib.distributions.Poisson(p.rate), lib.distributions.Poisson(q.rate))
        np.testing.assert_allclose(lib.distributions.kl_divergence(p, q).numpy(), want.numpy(), rtol=1e-9)


def test_kl_matches_monte_carlo() -> None:
    p = disttorch.distributions.Gamma(disttorch.tensor([2.0], dtype=disttorch.float64), 1.5)
    q = disttorch.distributions.Gamma(disttorch.tensor([3.0], dtype=disttorch.float64), 1.0)
    disttorch.manual_seed(0)
    x = p.sample((100000,))
    mc = (p.log_prob(x) - q.log_prob(x)).mean(0)
    np.testing.assert_allclose(mc.numpy(), disttorch.distributions.kl_divergence(p, q).numpy(), atol=0.01)


def test_register_kl_most_specific_and_errors() -> None:
    D = disttorch.distributions

    class MyNormal(D.Normal):
        pass

    @D.register_kl(MyNormal, D.Normal)
    def _mine(p, q):
        return disttorch.tensor(42.0)

    try:
        assert float(D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(0.0, 2.0))) == 42.0
        assert float(D.kl_divergence(D.Normal(0.0, 1.0), MyNormal(0.0, 1.0))) == 0.0
    finally:
        del D.kl._KL_REGISTRY[MyNormal, D.Normal]
        D.kl._KL_MEMOIZE.clear()
    for lib in (disttorch, torch):
        with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type Normal and q "
                                                      "type Categorical"):
            lib.distributions.kl_divergence(lib.distributions.Normal(0.0, 1.0),
                                            lib.distributions.Categorical(lib.ones(2)))
    with pytest.raises(TypeError, match="Expected type_p to be a Distribution subclass"):
        disttorch.distributions.register_kl(int, disttorch.distributions.Normal)  # (torch's check lets it pass)
    errs = []
    for lib in (disttorch, torch):
        D = lib.distributions
        with pytest.raises(ValueError) as info:
            D.kl_divergence(D.MultivariateNormal(lib.zeros(2), lib.eye(2)), D.MultivariateNormal(lib.zeros(3),
                                                                                                   lib.eye(3)))
        errs.append(" ".join(str(info.value).split()))  # torch's text has runs of spaces
        with pytest.raises(NotImplementedError) as info:
            D.kl_divergence(D.Binomial(2, lib.tensor([0.5])), D.Binomial(3, lib.tensor([0.5])))
        errs.append(" ".join(str(info.value).split()))  # torch's text has runs of spaces
    assert errs[:2] == errs[2:]
