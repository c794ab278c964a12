"""F.linear_cross_entropy and nn.LinearCrossEntropyLoss against PyTorch: values, gradients, K-dimensional
loss, probabilities as targets, options, errors."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import check, gradcheck

import disttorch

torch = pytest.importorskip("torch")

R = np.random.default_rng(0)
X, W, B = R.standard_normal((6, 4)), R.standard_normal((5, 4)), R.standard_normal(5)
T = R.integers(0, 5, 6)


@pytest.mark.parametrize("kw", [dict(), dict(reduction="sum", label_smoothing=0.1), dict(reduction="none"),
                                dict(ignore_index=2)])
def test_functional_as_pytorch(kw):
    check(lambda lib, x, w, b, t: lib.nn.functional.linear_cross_entropy(x, w, t, linear_bias=b, **kw),
          [X, W, B, T], rtol=1e-10, atol=1e-12)
    cw = np.abs(R.standard_normal(5))
    check(lambda lib, x, w, c, t: lib.nn.functional.linear_cross_entropy(x, w, t, weight=c, **kw),
          [X, W, cw, T], grad=[True, True, False, False], rtol=1e-10, atol=1e-12)
    gradcheck(lambda lib, x, w: lib.nn.functional.linear_cross_entropy(x, w, lib.tensor(T), **kw), [X, W])


def test_k_dimensional_unbatched_probabilities_and_options():
    w3 = R.standard_normal((5, 3, 4))
    t3 = R.integers(0, 5, (6, 3))
    check(lambda lib, x, w, t: lib.nn.functional.linear_cross_entropy(x, w, t), [X, w3, t3], rtol=1e-10, atol=1e-12)
    check(lambda lib, x, w, t: lib.nn.functional.linear_cross_entropy(x[0], w, t[0]), [X, W, T],
          rtol=1e-10, atol=1e-12)
    probs = R.random((6, 5))
    probs /= probs.sum(1, keepdims=True)
    check(lambda lib, x, w, p: lib.nn.functional.linear_cross_entropy(x, w, p), [X, W, probs], rtol=1e-10,
          atol=1e-12)
    check(lambda lib, x, w, t: lib.nn.functional.linear_cross_entropy(
        x, w, t, options=lib.nn.LinearCrossEntropyOptions(batch_chunk_size=2)), [X, W, T], rtol=1e-8, atol=1e-10)
    for lib in (disttorch, torch):
        with pytest.raises(ValueError, match="invalid acc_policy"):
            lib.nn.LinearCrossEntropyOptions(acc_policy="nope")
        with pytest.raises(RuntimeError, match="expected equal input and linear_weight last dimensions"):
            lib.nn.functional.linear_cross_entropy(lib.zeros(2, 3), lib.zeros(5, 4), lib.zeros(2, dtype=lib.long))
        with pytest.raises(RuntimeError, match="expected input with dimensionality 1 or 2"):
            lib.nn.functional.linear_cross_entropy(lib.zeros(2, 2, 4), lib.zeros(5, 4), lib.zeros(2, dtype=lib.long))


@pytest.mark.parametrize("out_features,bias", [((), True), ((3,), False)])
def test_module_as_pytorch(out_features, bias):
    torch.manual_seed(0)
    theirs = torch.nn.LinearCrossEntropyLoss(4, 5, out_features=out_features, bias=bias, label_smoothing=0.05).double()
    ours = disttorch.nn.LinearCrossEntropyLoss(4, 5, out_features=out_features, bias=bias, label_smoothing=0.05,
                                               dtype=disttorch.float64)
    assert repr(ours) == repr(theirs) and sorted(ours.state_dict()) == sorted(theirs.state_dict())
    ours.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    t = R.integers(0, 5, (6, *out_features))
    lo, lt = ours(disttorch.tensor(X), disttorch.tensor(t)), theirs(torch.tensor(X), torch.tensor(t))
    lo.backward()
    lt.backward()
    np.testing.assert_allclose(lo.item(), lt.item(), rtol=1e-12)
    np.testing.assert_allclose(ours.linear.weight.grad.numpy(), theirs.linear.weight.grad.numpy(), rtol=1e-10,
                               atol=1e-12)
    for lib in (disttorch, torch):
        with pytest.raises(RuntimeError, match="expected weight shape to be"):
            lib.nn.LinearCrossEntropyLoss(4, 5, weight=lib.ones(3))
