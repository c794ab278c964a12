"""torch.distributions.transforms, biject_to / transform_to, TransformedDistribution and Independent against
torch: forward, inverse, log_abs_det_jacobian (also against autograd's Jacobian), shapes, domains, gradients."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close, torch

import disttorch

rng = np.random.default_rng(0)
X = rng.standard_normal((2, 3))
POS = np.abs(X) + 0.5
UNIT = 1 / (1 + np.exp(-X))
SQUARE = rng.standard_normal((2, 3, 3))

TRANSFORMS = {
    "Exp": (lambda T, lib: T.ExpTransform(), X),
    "Affine": (lambda T, lib: T.AffineTransform(1.5, -2.0), X),
    "AffineTensor": (lambda T, lib: T.AffineTransform(lib.tensor([0.5, 1.0, -1.0], dtype=lib.float64),
                                                      lib.tensor([2.0, -0.5, 3.0], dtype=lib.float64)), X),
    "AffineEvent": (lambda T, lib: T.AffineTransform(0.5, lib.tensor([2.0, -0.5, 3.0], dtype=lib.float64),
                                                     event_dim=1), X),
    "Sigmoid": (lambda T, lib: T.SigmoidTransform(), X),
    "Softplus": (lambda T, lib: T.SoftplusTransform(), X),
    "Tanh": (lambda T, lib: T.TanhTransform(), X),
    "Power": (lambda T, lib: T.PowerTransform(lib.tensor(1.7, dtype=lib.float64)), POS),
    "StickBreaking": (lambda T, lib: T.StickBreakingTransform(), X),
    "Compose": (lambda T, lib: T.ComposeTransform([T.AffineTransform(0.3, 2.0), T.ExpTransform()]), X),
    "ComposeEvent": (lambda T, lib: T.ComposeTransform([T.ExpTransform(), T.StickBreakingTransform()]), X),
    "Independent": (lambda T, lib: T.IndependentTransform(T.SigmoidTransform(), 1), X),
    "Reshape": (lambda T, lib: T.ReshapeTransform((3,), (3, 1)), X),
    "CorrCholesky": (lambda T, lib: T.CorrCholeskyTransform(), X),
    "Cat": (lambda T, lib: T.CatTransform([T.ExpTransform(), T.SigmoidTransform()], dim=1, lengths=[1, 2]), X),
    "Stack": (lambda T, lib: T.StackTransform([T.ExpTransform(), T.TanhTransform(), T.AffineTransform(1., 2.)],
                                              dim=1), X),
    "Inverse": (lambda T, lib: T.SigmoidTransform().inv, UNIT),
    "Cdf": (lambda T, lib: T.CumulativeDistributionTransform(lib.distributions.Normal(
        lib.tensor(0.5, dtype=lib.float64), lib.tensor(2.0, dtype=lib.float64))), X),
}
NO_JACOBIAN = {"Softmax": (lambda T, lib: T.SoftmaxTransform(), X),
               "LowerCholesky": (lambda T, lib: T.LowerCholeskyTransform(), SQUARE),
               "PositiveDefinite": (lambda T, lib: T.PositiveDefiniteTransform(), SQUARE),
               "Abs": (lambda T, lib: T.AbsTransform(), X)}


def _run(lib, make, x, jacobian: bool) -> dict:
    t = make(lib.distributions.transforms, lib)
    xt = lib.tensor(x, requires_grad=True)
    y = t(xt)
    out = {"y": y, "x_back": t.inv(y), "bijective": t.bijective, "domain": t.domain.event_dim,
           "codomain": t.codomain.event_dim, "forward_shape": tuple(t.forward_shape(tuple(xt.shape))),
           "inverse_shape": tuple(t.inverse_shape(tuple(y.shape))), "repr": repr(t).replace("torch.", "")}
    loss = y.sum()
    if jacobian:
        ladj = t.log_abs_det_jacobian(xt, y)
        out["ladj"] = ladj
        loss = loss + ladj.sum()
    loss.backward()
    out["grad"] = xt.grad
    return out


@pytest.mark.parametrize("name", sorted(TRANSFORMS) + sorted(NO_JACOBIAN))
def test_transform_against_torch(name: str) -> None:
    make, x = TRANSFORMS.get(name) or NO_JACOBIAN[name]
    ours = _run(disttorch, make, x, name in TRANSFORMS)
    theirs = _run(torch, make, x, name in TRANSFORMS)
    for key, want in theirs.items():
        if key == "x_back" and name in NO_JACOBIAN and name != "LowerCholesky":
            continue  # not bijective: the "inverse" is a right inverse only
        if isinstance(want, torch.Tensor):
            assert_close(ours[key], want, rtol=1e-9, atol=1e-9, what=f"{name} {key}")
        else:
            assert ours[key] == want, (name, key, ours[key], want)


@pytest.mark.parametrize("name", ["Exp", "Sigmoid", "Tanh", "Softplus", "Affine", "Power", "StickBreaking",
                                  "CorrCholesky"])
def test_log_abs_det_jacobian_is_the_jacobian(name: str) -> None:
    make, x = TRANSFORMS[name]
    t = make(disttorch.distributions.transforms, disttorch)
    x0 = disttorch.tensor(x[0])
    jac = disttorch.autograd.functional.jacobian(lambda v: t(v), x0)
    if name == "StickBreaking":  # R^n -> simplex in R^(n+1): drop the last (dependent) coordinate
        jac = jac[:-1]
    elif name == "CorrCholesky":  # onto the strictly lower triangle
        idx = np.tril_indices(3, -1)
        jac = jac[idx[0], idx[1]]
    y = t(x0)
    ladj = t.log_abs_det_jacobian(x0, y)
    if jac.dim() == 1:
        expected = jac.abs().log()
    else:
        expected = disttorch.linalg.slogdet(jac)[1]
        ladj = ladj.sum() if ladj.dim() else ladj
        if t.domain.event_dim == 0:
            ladj = ladj.sum()
    np.testing.assert_allclose(ladj.numpy(), expected.numpy(), rtol=1e-8, atol=1e-8)


def test_caching_and_inverse_identity() -> None:
    T = disttorch.distributions.transforms
    t = T.ExpTransform(cache_size=1)
    x = disttorch.randn(3)
    y = t(x)
    assert t.inv(y) is x and t(x) is y and t.inv.inv is t
    assert T.ExpTransform() == T.ExpTransform() and T.ExpTransform() != T.SigmoidTransform()
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        T.ExpTransform(cache_size=2)
    assert T.identity_transform(x) is x


@pytest.mark.parametrize("constraint", ["real", "positive", "unit_interval", "simplex", "real_vector",
                                        "corr_cholesky", "lower_cholesky", "positive_definite", "greater_than",
                                        "less_than", "interval", "cat", "stack"])
@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_constraint_registry(constraint: str, registry: str) -> None:
    def build(lib):
        c = lib.distributions.constraints
        made = {"greater_than": lambda: c.greater_than(1.5), "less_than": lambda: c.less_than(-1.0),
                "interval": lambda: c.interval(-2.0, 3.0),
                "cat": lambda: c.cat([c.positive, c.real], 1, [1, 2]),
                "stack": lambda: c.stack([c.positive, c.real, c.unit_interval], 1)}
        con = made[constraint]() if constraint in made else getattr(c, constraint)
        return con, getattr(lib.distributions, registry)
    outs = []
    for lib in (disttorch, torch):
        con, reg = build(lib)
        try:
            t = reg(con)
        except NotImplementedError as e:
            outs.append(("NotImplementedError", str(e)))
            continue
        x = lib.tensor(SQUARE if constraint in ("lower_cholesky", "positive_definite") else X)
        y = t(x)
        outs.append((y, bool(con.check(y).all()), type(t).__name__))
    if isinstance(outs[1][0], str):
        assert outs[0] == outs[1]
        return
    assert_close(outs[0][0], outs[1][0], rtol=1e-9, atol=1e-9)
    assert outs[0][1:] == outs[1][1:] and outs[0][1]


def _td_cases(lib):
    D = lib.distributions
    loc = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
    scale = lib.tensor([1.0, 0.5, 2.0], dtype=lib.float64, requires_grad=True)
    base = D.Normal(loc, scale)
    T = D.transforms
    return [(loc, scale), {
        "exp": (D.TransformedDistribution(base, [T.ExpTransform()]), np.array([0.3, 1.2, 4.0])),
        "affine_sigmoid": (D.TransformedDistribution(base, [T.AffineTransform(0.5, -2.0), T.SigmoidTransform()]),
                           np.array([0.3, 0.6, 0.9])),
        "stick": (D.TransformedDistribution(base, T.StickBreakingTransform()), np.array([0.1, 0.2, 0.3, 0.4])),
        "independent": (D.Independent(base, 1), np.array([0.3, 1.2, 4.0])),
    }]


@pytest.mark.parametrize("case", ["exp", "affine_sigmoid", "stick", "independent"])
def test_transformed_and_independent_against_torch(case: str) -> None:
    outs = []
    for lib in (disttorch, torch):
        leaves, cases = _td_cases(lib)
        d, v = cases[case]
        v = lib.tensor(v)
        out = {"log_prob": d.log_prob(v), "shape": (tuple(d.batch_shape), tuple(d.event_shape)),
               "sample": tuple(d.sample((4,)).shape), "rsample": tuple(d.rsample((2,)).shape),
               "support": repr(d.support).replace("torch.", ""), "expand": tuple(d.expand((5,) + tuple(
                   d.batch_shape)).sample().shape)}
        if case in ("exp", "affine_sigmoid"):
            out["cdf"] = d.cdf(v)
            out["icdf"] = d.icdf(lib.tensor([0.2, 0.5, 0.7], dtype=lib.float64))
        if case == "independent":
            out["entropy"] = d.entropy()
            out["mean"] = d.mean
            out["variance"] = d.variance
        d.log_prob(v).sum().backward()
        out["grads"] = [p.grad for p in leaves]
        outs.append(out)
    for key, want in outs[1].items():
        if isinstance(want, (torch.Tensor, list)):
            assert_close(outs[0][key], want, rtol=1e-9, atol=1e-9, what=key)
        else:
            assert outs[0][key] == want, (key, outs[0][key], want)


@pytest.mark.parametrize("call", [
    lambda lib: lib.distributions.Independent(lib.distributions.Normal(lib.zeros(3), lib.ones(3)), 2),
    lambda lib: lib.distributions.TransformedDistribution(lib.distributions.Normal(0.0, 1.0), "exp"),
    lambda lib: lib.distributions.TransformedDistribution(lib.distributions.Normal(0.0, 1.0),
                                                          [lib.distributions.StickBreakingTransform()]),
    lambda lib: lib.distributions.Independent(lib.distributions.Normal(lib.zeros(2, 3), lib.ones(2, 3)), 1)
    .log_prob(lib.zeros(2, 4)),
    lambda lib: lib.distributions.Independent(lib.distributions.Normal(lib.zeros(3), lib.ones(3)), 1)
    .enumerate_support(),
])
def test_errors_like_torch(call) -> None:
    errs = []
    for lib in (disttorch, torch):
        with pytest.raises(Exception) as info:
            call(lib)
        errs.append((info.type.__name__, str(info.value).replace("torch.", "")))
    assert errs[0] == errs[1]


def test_utils_like_torch() -> None:
    U, TU = disttorch.distributions.utils, torch.distributions.utils
    for ours, theirs in ((disttorch.zeros(2), torch.zeros(2)), (1.0, 1.0), (np.zeros(2), np.zeros(2))):
        assert U.is_tensor_like(ours) == TU.is_tensor_like(theirs)
    v = np.arange(1.0, 7.0)
    assert_close(U.vec_to_tril_matrix(disttorch.tensor(v)), TU.vec_to_tril_matrix(torch.tensor(v)))
    assert_close(U.tril_matrix_to_vec(U.vec_to_tril_matrix(disttorch.tensor(v), -1), -1),
                 TU.tril_matrix_to_vec(TU.vec_to_tril_matrix(torch.tensor(v), -1), -1))
    p = np.array([0.0, 0.3, 1.0])
    assert_close(U.probs_to_logits(disttorch.tensor(p), True), TU.probs_to_logits(torch.tensor(p), True))
    assert_close(U.clamp_probs(disttorch.tensor(p)), TU.clamp_probs(torch.tensor(p)))
