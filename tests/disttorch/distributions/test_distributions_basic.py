"""torch.distributions (Normal, Categorical, Bernoulli, Uniform) against real PyTorch on the same parameters:
log_prob, entropy, mean, variance, cdf/icdf, gradients through log_prob and rsample, sample moments, errors."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close, torch

import disttorch

CASES = {
    "Normal": (lambda lib, dt: lib.distributions.Normal(lib.tensor([0.0, 1.0, -2.0], dtype=dt, requires_grad=True),
                                                        lib.tensor([1.0, 0.5, 2.0], dtype=dt, requires_grad=True)),
               [0.3, 1.2, -4.0]),
    "Categorical_probs": (lambda lib, dt: lib.distributions.Categorical(
        probs=lib.tensor([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]], dtype=dt, requires_grad=True)), [2, 0]),
    "Categorical_logits": (lambda lib, dt: lib.distributions.Categorical(
        logits=lib.tensor([[0.5, -1.0, 2.0], [0.0, 0.1, 0.2]], dtype=dt, requires_grad=True)), [1, 2]),
    "Bernoulli_probs": (lambda lib, dt: lib.distributions.Bernoulli(
        probs=lib.tensor([0.1, 0.5, 0.9], dtype=dt, requires_grad=True)), [1.0, 0.0, 1.0]),
    "Bernoulli_logits": (lambda lib, dt: lib.distributions.Bernoulli(
        logits=lib.tensor([-1.0, 0.0, 3.0], dtype=dt, requires_grad=True)), [0.0, 1.0, 1.0]),
    "Uniform": (lambda lib, dt: lib.distributions.Uniform(lib.tensor([0.0, -1.0], dtype=dt, requires_grad=True),
                                                          lib.tensor([2.0, 3.0], dtype=dt, requires_grad=True)),
                [0.5, 2.5]),
}


def _params(d) -> list:
    return [v for v in vars(d).values() if getattr(v, "requires_grad", False) and v.grad_fn is None]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_statistics_and_log_prob_gradients(name: str, dtype: str) -> None:
    make, value = CASES[name]
    tol = 1e-5 if dtype == "float32" else 1e-10
    results = []
    for lib in (disttorch, torch):
        d = make(lib, getattr(lib, dtype))
        v = lib.tensor(value, dtype=lib.int64 if name.startswith("Categorical") else getattr(lib, dtype))
        out = {"log_prob": d.log_prob(v), "entropy": d.entropy(), "mean": d.mean, "variance": d.variance,
               "stddev": d.stddev, "batch_shape": tuple(d.batch_shape), "event_shape": tuple(d.event_shape)}
        if name in ("Normal", "Uniform"):
            out["cdf"] = d.cdf(v)
            out["icdf"] = d.icdf(lib.tensor([0.25] * len(value), dtype=getattr(lib, dtype)))
        (d.log_prob(v).sum() + d.entropy().sum()).backward()
        leaves = sorted(((k, p) for k, p in vars(d).items() if isinstance(p, lib.Tensor) and p.grad is not None),
                        key=lambda kv: kv[0])
        out["grads"] = [p.grad for _, p in leaves]
        results.append(out)
    ours, theirs = results
    for key in theirs:
        if key in ("batch_shape", "event_shape"):
            assert ours[key] == theirs[key], key
        elif key == "mean" and name.startswith("Categorical"):
            continue  # nan in both: a categorical has no mean
        else:
            assert_close(ours[key], theirs[key], rtol=tol, atol=tol, what=f"{name} {key}")


def test_rsample_is_reparameterised() -> None:
    loc = disttorch.tensor([0.5, -1.0], requires_grad=True)
    scale = disttorch.tensor([2.0, 0.5], requires_grad=True)
    disttorch.manual_seed(0)
    x = disttorch.distributions.Normal(loc, scale).rsample((4,))
    assert tuple(x.shape) == (4, 2)
    x.sum().backward()
    assert_close(loc.grad, torch.tensor([4.0, 4.0]))
    eps = (x.detach() - loc.detach()) / scale.detach()
    assert_close(scale.grad, torch.tensor(eps.sum(0).numpy()), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make, mean, var", [
    (lambda: disttorch.distributions.Normal(disttorch.tensor(1.5), disttorch.tensor(2.0)), 1.5, 4.0),
    (lambda: disttorch.distributions.Uniform(disttorch.tensor(-1.0), disttorch.tensor(3.0)), 1.0, 16 / 12),
    (lambda: disttorch.distributions.Bernoulli(disttorch.tensor(0.3)), 0.3, 0.21),
    (lambda: disttorch.distributions.Categorical(disttorch.tensor([0.2, 0.3, 0.5])), 1.3, 0.61),
])
def test_sample_moments(make, mean: float, var: float) -> None:
    disttorch.manual_seed(1)
    s = make().sample((20000,)).double().numpy()
    assert abs(s.mean() - mean) < 5 * np.sqrt(var / s.size)
    assert abs(s.var() - var) < 0.05 * var + 0.01


def test_categorical_sample_shapes_and_support() -> None:
    d = disttorch.distributions.Categorical(logits=disttorch.zeros(2, 5))
    s = d.sample((3,))
    assert tuple(s.shape) == (3, 2) and s.dtype == disttorch.int64 and int(s.max()) < 5
    assert d.enumerate_support().tolist() == torch.distributions.Categorical(
        logits=torch.zeros(2, 5)).enumerate_support().tolist()


@pytest.mark.parametrize("call", [
    lambda lib: lib.distributions.Normal(lib.tensor([0.0]), lib.tensor([-1.0])),
    lambda lib: lib.distributions.Bernoulli(probs=lib.tensor([1.5])),
    lambda lib: lib.distributions.Categorical(probs=lib.tensor([[0.5, -0.5]])),
    lambda lib: lib.distributions.Bernoulli(probs=lib.tensor([0.5])).log_prob(lib.tensor([0.5])),
])
def test_validation_errors_like_torch(call) -> None:
    errors = []
    for lib in (disttorch, torch):
        with pytest.raises((ValueError, RuntimeError)) as info:
            call(lib)
        errors.append((info.type, str(info.value).split(" found invalid values")[0].split("\n")[0][:60]))
    assert errors[0] == errors[1], errors
