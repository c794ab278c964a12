"""torch.utils.checkpoint: the same outputs and gradients as running the segment plainly, with the
segment really recomputed in backward, in both reentrant modes; compared with PyTorch."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def _mlp(mod, seed=0):
    rng = np.random.default_rng(seed)
    w1, w2 = rng.standard_normal((8, 5)), rng.standard_normal((3, 8))
    l1, l2 = mod.nn.Linear(5, 8, dtype=mod.float64), mod.nn.Linear(8, 3, dtype=mod.float64)
    with mod.no_grad():
        l1.weight[...] = mod.tensor(w1)
        l2.weight[...] = mod.tensor(w2)
        l1.bias[...] = 0.1
        l2.bias[...] = -0.2
    return l1, l2


@pytest.mark.parametrize("reentrant", [True, False])
def test_grads_match_plain_run_and_torch(reentrant):
    x_np = np.random.default_rng(1).standard_normal((4, 5))
    results = []
    for mod in (disttorch, torch):
        l1, l2 = _mlp(mod)
        calls = []

        def segment(x, l1=l1, calls=calls, mod=mod):
            calls.append(mod.is_grad_enabled())
            return mod.tanh(l1(x))

        x = mod.tensor(x_np, requires_grad=True)
        h = mod.utils.checkpoint.checkpoint(segment, x, use_reentrant=reentrant)
        l2(h).pow(2).sum().backward()
        assert len(calls) == 2 and calls[1] is True  # forward, then the recomputation with a graph
        results.append([x.grad.numpy(), l1.weight.grad.numpy(), l1.bias.grad.numpy(), l2.weight.grad.numpy()])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_non_reentrant_reaches_parameters_without_input_grads():
    l1, l2 = _mlp(disttorch)
    x = disttorch.randn(4, 5, dtype=disttorch.float64)  # a frozen input
    h = disttorch.utils.checkpoint.checkpoint(lambda x: l1(x).relu(), x, use_reentrant=False)
    l2(h).sum().backward()
    ref1, ref2 = _mlp(disttorch)
    ref2(ref1(x).relu()).sum().backward()
    np.testing.assert_allclose(l1.weight.grad.numpy(), ref1.weight.grad.numpy(), rtol=1e-12)


def test_reentrant_warns_when_no_input_requires_grad():
    l1, _ = _mlp(disttorch)
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        disttorch.utils.checkpoint.checkpoint(l1, disttorch.randn(2, 5, dtype=disttorch.float64), use_reentrant=True)


def test_rng_state_is_replayed_for_dropout():
    for reentrant in (True, False):
        disttorch.manual_seed(3)
        x = disttorch.randn(50, 20, requires_grad=True)
        out = disttorch.utils.checkpoint.checkpoint(
            lambda t: disttorch.nn.functional.dropout(t, 0.5, training=True) * 3, x, use_reentrant=reentrant)
        out.sum().backward()
        mask = (out.detach() != 0).to(disttorch.float32)
        np.testing.assert_array_equal(x.grad.numpy(), (mask * 3 / 0.5).numpy())  # same mask in recompute


def test_argument_rules_and_default_warning():
    f = disttorch.nn.Linear(2, 2)
    x = disttorch.randn(1, 2, requires_grad=True)
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        disttorch.utils.checkpoint.checkpoint(f, x)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        disttorch.utils.checkpoint.checkpoint(lambda t, scale: t * scale, x, scale=2, use_reentrant=True)
    out = disttorch.utils.checkpoint.checkpoint(lambda t, scale: t * scale, x, scale=2.0, use_reentrant=False)
    out.sum().backward()
    assert x.grad.tolist() == [[2.0, 2.0]]


def test_checkpoint_sequential_matches_plain():
    disttorch.manual_seed(0)
    model = disttorch.nn.Sequential(*[disttorch.nn.Linear(4, 4) for _ in range(4)])
    x = disttorch.randn(3, 4, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        disttorch.utils.checkpoint.checkpoint_sequential(model, 2, x, use_reentrant=False).sum().backward()
    got = [p.grad.clone() for p in model.parameters()] + [x.grad.clone()]
    model.zero_grad()
    x.grad = None
    model(x).sum().backward()
    for g, p in zip(got, [p.grad for p in model.parameters()] + [x.grad]):
        np.testing.assert_allclose(g.numpy(), p.numpy(), rtol=1e-6)
