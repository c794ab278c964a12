"""Continuous families (Exponential, Laplace, LogNormal, Gamma, Chi2, InverseGamma, Beta, Dirichlet, ...)
against torch: log_prob, entropy, moments, cdf/icdf, shapes, expand, gradients; sample laws and rsample
gradients by loose moment tests with a fixed seed; validation errors."""
from __future__ import annotations

import numpy as np
import pytest
from dist_cases import compare, gradcheck_case, rsample_gradient, sample_moments, wrong_shape_error
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
    "Cauchy": (lambda lib, P: lib.distributions.Cauchy(P([0.0, 1.0, -2.0]), P([1.0, 0.5, 2.0])), [0.3, 1.2, -4.0]),
    "HalfCauchy": (lambda lib, P: lib.distributions.HalfCauchy(P([1.0, 0.5, 2.0])), [0.3, 1.2, 4.0]),
    "HalfNormal": (lambda lib, P: lib.distributions.HalfNormal(P([1.0, 0.5, 2.0])), [0.3, 1.2, 4.0]),
    "Gumbel": (lambda lib, P: lib.distributions.Gumbel(P([0.0, 1.0, -2.0]), P([1.0, 0.5, 2.0])), [0.3, 1.2, -4.0]),
    "StudentT": (lambda lib, P: lib.distributions.StudentT(P([0.7, 1.5, 5.0]), P([0.0, 1.0, -2.0]),
                                                           P([1.0, 0.5, 2.0])), [0.3, 1.2, -4.0]),
    "Pareto": (lambda lib, P: lib.distributions.Pareto(P([1.0, 0.5, 2.0]), P([0.7, 2.5, 5.0])), [1.3, 1.2, 4.0]),
    "Weibull": (lambda lib, P: lib.distributions.Weibull(P([1.0, 0.5, 2.0]), P([0.7, 2.5, 5.0])), [0.3, 1.2, 4.0]),
    "Kumaraswamy": (lambda lib, P: lib.distributions.Kumaraswamy(P([0.7, 2.5, 5.0]), P([1.0, 0.5, 2.0])),
                    [0.3, 0.9, 0.6]),
    "FisherSnedecor": (lambda lib, P: lib.distributions.FisherSnedecor(P([1.5, 3.0, 7.0]), P([2.5, 5.0, 9.0])),
                       [0.3, 1.2, 4.0]),
    "GeneralizedPareto": (lambda lib, P: lib.distributions.GeneralizedPareto(
        P([0.0, 1.0, -2.0]), P([1.0, 0.5, 2.0]), P([0.2, 0.0, -0.3])), [0.3, 1.2, 1.0]),
    "ContinuousBernoulli": (lambda lib, P: lib.distributions.ContinuousBernoulli(P([0.2, 0.5, 0.9])),
                            [0.3, 0.9, 0.6]),
    "ContinuousBernoulli_logits": (lambda lib, P: lib.distributions.ContinuousBernoulli(
        logits=P([-1.0, 0.001, 2.0])), [0.3, 0.9, 0.6]),
    "VonMises": (lambda lib, P: lib.distributions.VonMises(P([0.0, 1.0, -2.0]), P([0.5, 2.0, 8.0])),
                 [0.3, 1.2, -2.5]),
    "LogisticNormal": (lambda lib, P: lib.distributions.LogisticNormal(P([0.0, 1.0, -0.5]), P([1.0, 0.5, 2.0])),
                       [0.1, 0.2, 0.3, 0.4]),
    "RelaxedBernoulli": (lambda lib, P: lib.distributions.RelaxedBernoulli(P(0.7), P([0.2, 0.5, 0.9])),
                         [0.3, 0.9, 0.6]),
    "RelaxedOneHotCategorical": (lambda lib, P: lib.distributions.RelaxedOneHotCategorical(
        P(0.7), logits=P([[0.2, 0.5, 0.9], [1.0, -1.0, 0.0]])), [[0.1, 0.2, 0.7], [0.5, 0.3, 0.2]]),
}
# heavy tails make the sample variance wander: lighter parameters for the sample-law test
LIGHT = {"LogNormal": lambda lib, P: lib.distributions.LogNormal(P([0.0, 1.0, -0.5]), P([0.3, 0.5, 0.2])),
         "StudentT": lambda lib, P: lib.distributions.StudentT(P([5.0, 9.0, 7.0]), P([0.0, 1.0, -2.0]),
                                                               P([1.0, 0.5, 2.0])),
         "Pareto": lambda lib, P: lib.distributions.Pareto(P([1.0, 0.5, 2.0]), P([5.5, 7.5, 9.0])),
         "FisherSnedecor": lambda lib, P: lib.distributions.FisherSnedecor(P([5.5, 3.0, 7.0]), P([12.5, 15.0, 19.0])),
         "GeneralizedPareto": lambda lib, P: lib.distributions.GeneralizedPareto(
             P([0.0, 1.0, -2.0]), P([1.0, 0.5, 2.0]), P([0.1, 0.05, -0.3])),
         "ContinuousBernoulli": lambda lib, P: lib.distributions.ContinuousBernoulli(P([0.2, 0.3, 0.9])),
         "InverseGamma": lambda lib, P: lib.distributions.InverseGamma(P([5.5, 6.5, 7.0]), P([1.0, 0.5, 3.0]))}
# no finite moments to compare samples with; their sample laws are checked through the cdf below
NO_MOMENTS = {"VonMises", "Cauchy", "HalfCauchy", "LogisticNormal", "RelaxedBernoulli", "RelaxedOneHotCategorical"}
RSAMPLE = ["Exponential", "Laplace", "LogNormal", "Gamma", "Chi2", "Beta", "Dirichlet", "HalfNormal", "Gumbel",
           "StudentT", "Pareto", "Weibull", "Kumaraswamy", "FisherSnedecor", "GeneralizedPareto",
           "ContinuousBernoulli", "InverseGamma"]


# torch's own GeneralizedPareto.log_prob fails on float64 parameters (it compares with a float32 zero)
PAIRS = [(n, dt) for n in sorted(CASES) for dt in ("float32", "float64")
         if (n, dt) != ("GeneralizedPareto", "float64")]


@pytest.mark.parametrize("name, dtype", PAIRS)
def test_against_torch(name: str, dtype: str) -> None:
    make, value = CASES[name]
    compare(name, make, value, dtype)


def test_generalized_pareto_float64_agrees_with_float32() -> None:
    make, value = CASES["GeneralizedPareto"]
    out = {}
    for dt in ("float32", "float64"):
        d = make(disttorch, lambda v, **k: disttorch.tensor(np.asarray(v, dtype=dt)))
        v = disttorch.tensor(np.asarray(value, dtype=dt))
        out[dt] = [d.log_prob(v), d.cdf(v), d.entropy(), d.mean, d.variance]
    for a, b in zip(out["float32"], out["float64"]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5)


def test_von_mises_sample_law() -> None:
    """Circular moments: E[cos(x - loc)] = I1/I0(kappa) = 1 - variance, E[sin(x - loc)] = 0, x in [-pi, pi)."""
    d = CASES["VonMises"][0](disttorch, lambda v, **k: disttorch.tensor(np.asarray(v, dtype="float64")))
    disttorch.manual_seed(0)
    s = d.sample((40000,))
    assert float(s.min()) >= -np.pi and float(s.max()) < np.pi
    np.testing.assert_allclose(disttorch.cos(s - d.loc).mean(0).numpy(), 1 - d.variance.numpy(), atol=0.01)
    np.testing.assert_allclose(disttorch.sin(s - d.loc).mean(0).numpy(), 0, atol=0.01)


@pytest.mark.parametrize("name", sorted(set(CASES) - NO_MOMENTS))
def test_sample_law(name: str) -> None:
    make = LIGHT.get(name, CASES[name][0])
    d = make(disttorch, lambda v, **k: disttorch.tensor(np.asarray(v, dtype="float64")))
    sample_moments(d)


@pytest.mark.parametrize("name", RSAMPLE)
def test_rsample_gradient(name: str) -> None:
    rsample_gradient(LIGHT.get(name, CASES[name][0]))


@pytest.mark.parametrize("name", ["Cauchy", "HalfCauchy"])
def test_sample_law_by_cdf(name: str) -> None:
    """Heavy tails: the cdf of the samples at the true quartiles is 1/4, 1/2, 3/4."""
    d = CASES[name][0](disttorch, lambda v, **k: disttorch.tensor(np.asarray(v, dtype="float64")))
    disttorch.manual_seed(0)
    s = d.sample((40000,))
    for q in (0.25, 0.5, 0.75):
        frac = (s <= d.icdf(disttorch.full((3,), q, dtype=disttorch.float64))).double().mean(0).numpy()
        np.testing.assert_allclose(frac, q, atol=0.015)


def test_relaxed_sample_laws() -> None:
    """Gumbel-softmax at temperature 1e-3 is (nearly) a one-hot draw from the categorical."""
    disttorch.manual_seed(0)
    probs = disttorch.tensor([0.2, 0.3, 0.5], dtype=disttorch.float64)
    s = disttorch.distributions.RelaxedOneHotCategorical(disttorch.tensor(1e-3), probs=probs).sample((20000,))
    np.testing.assert_allclose((s > 0.5).double().mean(0).numpy(), probs.numpy(), atol=0.015)
    s = disttorch.distributions.RelaxedBernoulli(disttorch.tensor(1e-3), probs=probs).sample((20000,))
    np.testing.assert_allclose((s > 0.5).double().mean(0).numpy(), probs.numpy(), atol=0.015)
    s = disttorch.distributions.LogisticNormal(disttorch.zeros(2, dtype=disttorch.float64),
                                               disttorch.ones(2, dtype=disttorch.float64)).sample((20000,))
    assert tuple(s.shape) == (20000, 3) and bool(((s.sum(-1) - 1).abs() < 1e-9).all())


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


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_float64(name: str) -> None:
    make, value = CASES[name]
    gradcheck_case(LIGHT.get(name, make) if name == "GeneralizedPareto" else make, value)  # not at xi == 0


@pytest.mark.parametrize("name", ["Normal", "Bernoulli", "Gamma", "Exponential", "Poisson"])
def test_exponential_family_entropy_by_bregman(name: str) -> None:
    """ExponentialFamily.entropy (autograd through the log-normalizer) equals each family's closed form."""
    D = disttorch.distributions
    make = {"Normal": lambda: D.Normal(disttorch.tensor([0.5, -1.0]), disttorch.tensor([2.0, 0.3])),
            "Bernoulli": lambda: D.Bernoulli(disttorch.tensor([0.2, 0.7])),
            "Gamma": lambda: D.Gamma(disttorch.tensor([0.5, 3.0]), disttorch.tensor([1.5, 0.2])),
            "Beta": lambda: D.Beta(disttorch.tensor([0.5, 3.0]), disttorch.tensor([1.5, 0.2])),
            "Exponential": lambda: D.Exponential(disttorch.tensor([0.5, 3.0])),
            "Dirichlet": lambda: D.Dirichlet(disttorch.tensor([[0.5, 3.0, 1.0]])),
            "Poisson": lambda: D.Poisson(disttorch.tensor([0.5, 3.0]))}[name]
    d = make()
    assert isinstance(d, D.ExponentialFamily) == isinstance(getattr(torch.distributions, name)(
        *[torch.tensor(v.numpy()) for v in vars(d).values() if isinstance(v, disttorch.Tensor)][:1 if name in (
            "Bernoulli", "Exponential", "Dirichlet", "Poisson") else 2]), torch.distributions.ExponentialFamily)
    if name == "Poisson":
        return  # torch's Poisson has no closed-form entropy to compare with
    np.testing.assert_allclose(D.ExponentialFamily.entropy(d).detach().numpy(), d.entropy().detach().numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_shape_value_raises_like_torch(name: str) -> None:
    ours, theirs = wrong_shape_error(CASES[name][0])
    assert theirs is not None and ours == theirs, (ours, theirs)


@pytest.mark.parametrize("name", ["HalfNormal", "HalfCauchy", "Gamma", "LogNormal", "Dirichlet", "Beta"])
def test_subclass_with_own_init_must_define_expand(name: str) -> None:
    msgs = []
    for lib in (disttorch, torch):
        base = getattr(lib.distributions, name)

        class Mine(base):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
        make = CASES[name][0]
        d = make(lib, lambda v, **k: lib.tensor(np.asarray(v, dtype="float64")))
        mine = Mine.__new__(Mine)
        mine.__dict__.update(d.__dict__)
        with pytest.raises(NotImplementedError) as info:
            mine.expand((2,) + tuple(d.batch_shape))
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]
