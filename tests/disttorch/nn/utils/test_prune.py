"""nn.utils.prune against PyTorch: masks, the recomputed weight, gradients through the mask, iterative and
global pruning, remove, and the errors."""
import numpy as np
import pytest
from oracle import randn

import disttorch
from disttorch.nn.utils import prune

torch = pytest.importorskip("torch")
tprune = pytest.importorskip("torch.nn.utils.prune")


def _pair(seed=0):
    ours, theirs = disttorch.nn.Linear(6, 4), torch.nn.Linear(6, 4)
    w, b = randn(4, 6, seed=seed), randn(4, seed=seed + 1)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
        theirs.bias.copy_(torch.tensor(b))
    ours.weight.data = disttorch.tensor(w)
    ours.bias.data = disttorch.tensor(b)
    return ours, theirs


def _same(ours, theirs, names):
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    for n in names:
        np.testing.assert_array_equal(getattr(ours, n).detach().numpy(), getattr(theirs, n).detach().numpy())


@pytest.mark.parametrize("amount", [0.3, 5, 0.0, 1.0])
def test_l1_unstructured(amount):
    ours, theirs = _pair()
    prune.l1_unstructured(ours, "weight", amount)
    tprune.l1_unstructured(theirs, "weight", amount)
    _same(ours, theirs, ["weight_mask", "weight"])
    assert prune.is_pruned(ours) and tprune.is_pruned(theirs)
    x = randn(3, 6, seed=5)
    ours(disttorch.tensor(x)).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(ours.weight_orig.grad.numpy(), theirs.weight_orig.grad.numpy(), rtol=1e-6)


def test_iterative_and_remove():
    ours, theirs = _pair(1)
    for amt in (0.25, 3, 0.5):
        prune.l1_unstructured(ours, "weight", amt)
        tprune.l1_unstructured(theirs, "weight", amt)
        _same(ours, theirs, ["weight_mask", "weight"])
    prune.remove(ours, "weight")
    tprune.remove(theirs, "weight")
    _same(ours, theirs, ["weight"])
    assert not prune.is_pruned(ours)
    assert isinstance(ours.weight, disttorch.nn.Parameter)


def test_random_unstructured_counts():
    ours, _ = _pair()
    prune.random_unstructured(ours, "weight", 0.5)
    assert int((ours.weight_mask == 0).sum()) == 12
    prune.random_unstructured(ours, "bias", 2)
    dropped = ours.bias_mask.numpy() == 0
    assert dropped.sum() == 2 and (ours.bias.detach().numpy()[dropped] == 0).all()


def test_global_unstructured():
    (o1, t1), (o2, t2) = _pair(0), _pair(3)
    prune.global_unstructured([(o1, "weight"), (o2, "weight"), (o2, "bias")], prune.L1Unstructured, amount=0.4)
    tprune.global_unstructured([(t1, "weight"), (t2, "weight"), (t2, "bias")], tprune.L1Unstructured, amount=0.4)
    _same(o1, t1, ["weight_mask", "weight"])
    _same(o2, t2, ["weight_mask", "bias_mask", "weight", "bias"])


def test_custom_mask_and_importance_scores():
    ours, theirs = _pair()
    m = (randn(4, 6, seed=9) > 0).astype(np.float32)
    prune.custom_from_mask(ours, "weight", disttorch.tensor(m))
    tprune.custom_from_mask(theirs, "weight", torch.tensor(m))
    _same(ours, theirs, ["weight_mask", "weight"])
    s = randn(4, seed=4)
    prune.l1_unstructured(ours, "bias", 2, importance_scores=disttorch.tensor(s))
    tprune.l1_unstructured(theirs, "bias", 2, importance_scores=torch.tensor(s))
    _same(ours, theirs, ["bias_mask", "bias"])


@pytest.mark.parametrize("amount", [-1, 1.5, 100])
def test_errors(amount):
    ours, theirs = _pair()
    with pytest.raises(ValueError) as t_exc:
        tprune.l1_unstructured(theirs, "weight", amount)
    with pytest.raises(ValueError) as o_exc:
        prune.l1_unstructured(ours, "weight", amount)
    assert str(o_exc.value) == str(t_exc.value)


def test_remove_unpruned_error():
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(disttorch.nn.Linear(2, 2), "weight")
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        tprune.remove(torch.nn.Linear(2, 2), "weight")
