"""MultivariateNormal (three parametrisations, broadcast batches), LowRankMultivariateNormal and
MixtureSameFamily against torch: log_prob, entropy, moments, derived matrices, shapes, expand, gradients;
sample laws (mean and covariance) and rsample gradients; validation errors."""
from __future__ import annotations

import numpy as np
import pytest
from dist_cases import compare, gradcheck_case, rsample_gradient, sample_moments, wrong_shape_error
from oracle import assert_close, torch

import disttorch

A = np.array([[2.0, 0.3, -0.4], [0.3, 1.0, 0.2], [-0.4, 0.2, 1.5]])
L = np.linalg.cholesky(A)
LB = np.stack([L, np.linalg.cholesky(A + np.eye(3))])
W = np.array([[1.0, 0.5], [-0.3, 0.8], [0.2, -1.0]])
CORR = np.array([[1.0, 0.3, -0.2], [0.3, 1.0, 0.5], [-0.2, 0.5, 1.0]])
CORR_L = np.linalg.cholesky(CORR)

CASES = {
    "MVN_cov": (lambda lib, P: lib.distributions.MultivariateNormal(P([0.5, -1.0, 2.0]), covariance_matrix=P(A)),
                [0.3, 1.2, -0.4]),
    "MVN_tril": (lambda lib, P: lib.distributions.MultivariateNormal(P([[0.5, -1.0, 2.0], [0.0, 0.1, 0.2]]),
                                                                     scale_tril=P(L)), [[0.3, 1.2, -0.4]]),
    "MVN_prec_batch": (lambda lib, P: lib.distributions.MultivariateNormal(
        P([0.5, -1.0, 2.0]), precision_matrix=P(np.linalg.inv(LB @ LB.transpose(0, 2, 1)))), [0.3, 1.2, -0.4]),
    "LowRankMVN": (lambda lib, P: lib.distributions.LowRankMultivariateNormal(
        P([0.5, -1.0, 2.0]), P(W), P([0.5, 1.0, 2.0])), [[0.3, 1.2, -0.4], [1.0, 0.0, 0.5]]),
    "LowRankMVN_batch": (lambda lib, P: lib.distributions.LowRankMultivariateNormal(
        P([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]]), P(W), P([0.5, 1.0, 2.0])), [0.3, 1.2, -0.4]),
    "Mixture_normal": (lambda lib, P: lib.distributions.MixtureSameFamily(
        lib.distributions.Categorical(probs=P([0.2, 0.3, 0.5])),
        lib.distributions.Normal(P([-1.0, 0.5, 2.0]), P([0.5, 1.0, 0.7]))), [[0.3], [1.2], [-0.4]]),
    "Mixture_independent": (lambda lib, P: lib.distributions.MixtureSameFamily(
        lib.distributions.Categorical(logits=P([[0.2, 0.3], [1.0, -1.0]])),
        lib.distributions.Independent(lib.distributions.Normal(P(np.arange(8.0).reshape(2, 2, 2) / 4),
                                                               P(np.full((2, 2, 2), 0.8))), 1)),
        [[0.3, 1.2], [-0.4, 0.5]]),
    "Wishart_cov": (lambda lib, P: lib.distributions.Wishart(P([4.0, 6.5]), covariance_matrix=P(A)), A + np.eye(3)),
    "Wishart_tril": (lambda lib, P: lib.distributions.Wishart(P(5.0), scale_tril=P(LB)), A),
    "Wishart_prec": (lambda lib, P: lib.distributions.Wishart(P([3.5]), precision_matrix=P(A)), 2 * A),
    "LKJCholesky": (lambda lib, P: lib.distributions.LKJCholesky(3, P([0.5, 1.0, 3.0])), CORR_L),
}


def _matrices(lib, d, v) -> dict:
    if "Mixture" in type(d).__name__ or "LKJ" in type(d).__name__:
        return {}
    return {"scale_tril": d.scale_tril, "covariance": d.covariance_matrix, "precision": d.precision_matrix}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_against_torch(name: str, dtype: str) -> None:
    make, value = CASES[name]
    compare(name, make, value, dtype, tol=1e-4 if dtype == "float32" else 1e-9, extra=_matrices)


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_law(name: str) -> None:
    d = CASES[name][0](disttorch, lambda v, **k: disttorch.tensor(np.asarray(v, dtype="float64")))
    if name == "LKJCholesky":
        return  # its moments are not defined; see test_lkj_sample_law
    sample_moments(d)
    if "Mixture" not in name and "Wishart" not in name:
        disttorch.manual_seed(1)
        s = d.sample((40000,)).numpy().reshape(40000, -1, 3)
        cov = d.covariance_matrix.numpy().reshape(-1, 3, 3)
        for i in range(s.shape[1]):
            np.testing.assert_allclose(np.cov(s[:, i].T), cov[i], atol=0.08 * np.abs(cov[i]).max())


@pytest.mark.parametrize("name", ["MVN_cov", "MVN_tril", "MVN_prec_batch", "LowRankMVN"])
def test_rsample_gradient(name: str) -> None:
    rsample_gradient(CASES[name][0])


def test_wishart_rsample_gradient() -> None:
    rsample_gradient(CASES["Wishart_cov"][0], rtol=0.08)


def test_lkj_sample_law() -> None:
    """Samples are correlation Cholesky factors whose correlations have the moments of torch's sampler (the same
    onion construction: for concentration 1 and dim 3 torch's off-diagonal variances are about 1/4, 0.3, 0.3)."""
    moments = []
    for lib in (disttorch, torch):
        lib.manual_seed(0)
        d = lib.distributions.LKJCholesky(3, lib.tensor(1.0, dtype=lib.float64))
        low = d.sample((40000,))
        assert bool(lib.distributions.constraints.corr_cholesky.check(low).all())
        off = (low @ low.mT).numpy()[:, [1, 2, 2], [0, 0, 1]]
        moments.append((off.mean(0), off.var(0)))
    np.testing.assert_allclose(moments[0][0], 0, atol=0.015)
    np.testing.assert_allclose(moments[1][0], 0, atol=0.015)
    np.testing.assert_allclose(moments[0][1], moments[1][1], atol=0.015)


def test_rsample_gradient_through_scale_tril() -> None:
    """d/dL E[(x - loc)(x - loc)^T] = d/dL (L L^T): the sample second moment carries L's gradient."""
    lt = disttorch.tensor(L, requires_grad=True)
    disttorch.manual_seed(0)
    x = disttorch.distributions.MultivariateNormal(disttorch.zeros(3, dtype=disttorch.float64),
                                                   scale_tril=lt).rsample((40000,))
    (x.unsqueeze(-1) * x.unsqueeze(-2)).mean(0).sum().backward()
    want = disttorch.tensor(L, requires_grad=True)
    (want @ want.mT).sum().backward()
    np.testing.assert_allclose(np.tril(lt.grad.numpy()), np.tril(want.grad.numpy()), atol=0.1)


@pytest.mark.parametrize("call", [
    lambda lib: lib.distributions.MultivariateNormal(lib.tensor(0.0), lib.eye(2)),
    lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2)),
    lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), lib.eye(2), scale_tril=lib.eye(2)),
    lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), scale_tril=lib.ones(2)),
    lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), lib.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), scale_tril=lib.tensor([[1.0, 1.0], [0.0, 1.0]])),
    lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), lib.eye(2)).log_prob(lib.zeros(3)),
    lambda lib: lib.distributions.LowRankMultivariateNormal(lib.zeros(3), lib.ones(2, 1), lib.ones(3)),
    lambda lib: lib.distributions.LowRankMultivariateNormal(lib.zeros(3), lib.ones(3, 1), lib.ones(2)),
    lambda lib: lib.distributions.LowRankMultivariateNormal(lib.zeros(3), lib.ones(3), lib.ones(3)),
    lambda lib: lib.distributions.Wishart(lib.tensor(1.5), lib.eye(3)),
    lambda lib: lib.distributions.LKJCholesky(1),
    lambda lib: lib.distributions.LKJCholesky(3, lib.tensor([-1.0])),
    lambda lib: lib.distributions.LKJCholesky(2).log_prob(lib.eye(2) * 2),
    lambda lib: lib.distributions.MixtureSameFamily(lib.distributions.Normal(0.0, 1.0),
                                                    lib.distributions.Normal(lib.zeros(2), lib.ones(2))),
    lambda lib: lib.distributions.MixtureSameFamily(lib.distributions.Categorical(lib.ones(3)),
                                                    lib.distributions.Normal(lib.zeros(2), lib.ones(2))),
])
def test_validation_errors_like_torch(call) -> None:
    errors = []
    for lib in (disttorch, torch):
        with pytest.raises((ValueError, RuntimeError)) as info:
            call(lib)
        errors.append((info.type, str(info.value).split(" found invalid values")[0].split("\n")[0]
                       .replace("torch.", "")))
    assert errors[0] == errors[1], errors


def test_mixture_sample_shape_and_cdf() -> None:
    outs = []
    for lib in (disttorch, torch):
        d = CASES["Mixture_normal"][0](lib, lambda v, **k: lib.tensor(np.asarray(v, dtype="float64")))
        outs.append((tuple(d.sample((5, 2)).shape), d.cdf(lib.tensor([0.3, 1.2], dtype=lib.float64))))
    assert outs[0][0] == outs[1][0]
    assert_close(outs[0][1], outs[1][1], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_float64(name: str) -> None:
    make, value = CASES[name]
    gradcheck_case(make, value)


@pytest.mark.parametrize("name", sorted(set(CASES) - {"Mixture_normal"}))  # scalar: every value broadcasts
def test_wrong_shape_value_raises_like_torch(name: str) -> None:
    ours, theirs = wrong_shape_error(CASES[name][0])
    assert theirs is not None and ours == theirs, (ours, theirs)
