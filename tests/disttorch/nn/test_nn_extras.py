"""rms_norm / RMSNorm, pdist, cosine_similarity and pairwise_distance layers, gumbel_softmax,
multilabel_margin_loss, Container and DataParallel against PyTorch."""
import warnings

import numpy as np
import pytest
from oracle import check, gradcheck, randn, same_error

import disttorch

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,ns", [((3, 5), [5]), ((2, 3, 4), [3, 4]), ((4,), [4])])
def test_rms_norm(dtype, shape, ns):
    x, w = randn(*shape, dtype=dtype), randn(*ns, seed=1, dtype=dtype)
    check(lambda m, x, w: m.nn.functional.rms_norm(x, ns, w), [x, w])
    check(lambda m, x: m.nn.functional.rms_norm(x, ns, eps=0.1), [x])
    check(lambda m, x, w: m.rms_norm(x, ns, w, 1e-3), [x, w])


def test_rms_norm_gradcheck():
    gradcheck(lambda m, x, w: m.nn.functional.rms_norm(x, [4], w), [randn(3, 4), randn(4, seed=2)])


def test_rms_norm_errors():
    same_error(lambda m, x: m.nn.functional.rms_norm(x, [4]), [randn(3, 5)])
    same_error(lambda m, x, w: m.nn.functional.rms_norm(x, [5], w), [randn(3, 5), randn(4)])


def test_rms_norm_layer():
    x = randn(2, 3, 4)
    ours, theirs = disttorch.nn.RMSNorm([3, 4], eps=1e-4), torch.nn.RMSNorm([3, 4], eps=1e-4)
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    np.testing.assert_allclose(ours(disttorch.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert disttorch.nn.RMSNorm(4, elementwise_affine=False).weight is None
    assert repr(disttorch.nn.RMSNorm(4)) == repr(torch.nn.RMSNorm(4))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
def test_pdist(dtype, p):
    x = randn(5, 3, dtype=dtype)
    check(lambda m, x: m.nn.functional.pdist(x, p), [x])
    check(lambda m, x: m.pdist(x, p), [x])


def test_pdist_gradcheck_and_errors():
    gradcheck(lambda m, x: m.pdist(x), [randn(4, 3)])
    gradcheck(lambda m, x: m.pdist(x, 3.0), [randn(4, 3)])
    same_error(lambda m, x: m.pdist(x), [randn(2, 3, 4)])
    same_error(lambda m, x: m.pdist(x, -1.0), [randn(3, 4)])


def test_distance_layers():
    a, b = randn(4, 5), randn(4, 5, seed=1)
    check(lambda m, a, b: m.nn.CosineSimilarity(dim=1, eps=1e-6)(a, b), [a, b])
    check(lambda m, a, b: m.nn.CosineSimilarity(dim=0)(a, b), [a, b])
    check(lambda m, a, b: m.nn.PairwiseDistance(p=1.0, keepdim=True)(a, b), [a, b])
    check(lambda m, a, b: m.nn.PairwiseDistance()(a, b), [a, b])
    check(lambda m, a, b: m.cosine_similarity(a, b, 1), [a, b])
    check(lambda m, a, b: m.pairwise_distance(a, b, 3.0), [a, b])
    gradcheck(lambda m, a, b: m.nn.PairwiseDistance()(a, b), [a, b])


def test_gumbel_softmax_soft_and_hard():
    disttorch.manual_seed(0)
    logits = disttorch.tensor(randn(6, 4, dtype=np.float64), requires_grad=True)
    y = disttorch.nn.functional.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(y.sum(-1).detach().numpy(), np.ones(6))
    assert (y.detach().numpy() > 0).all()
    h = disttorch.nn.functional.gumbel_softmax(logits, hard=True, dim=0)
    hn = h.detach().numpy()
    np.testing.assert_array_equal(hn.sum(0), np.ones(4))
    assert set(np.unique(hn)) <= {0.0, 1.0}
    # straight-through: the gradient is the soft sample's; sum over dim of a softmax has zero gradient
    h.sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), np.zeros((6, 4)), atol=1e-12)


def test_gumbel_softmax_matches_torch_formula():
    # with the same noise, the soft sample equals softmax((logits + g) / tau)
    disttorch.manual_seed(3)
    logits = disttorch.tensor(randn(3, 5))
    y = disttorch.nn.functional.gumbel_softmax(logits, tau=2.0)
    disttorch.manual_seed(3)
    g = -disttorch.empty_like(logits).exponential_().log()
    want = torch.softmax((torch.tensor(logits.numpy()) + torch.tensor(g.numpy())) / 2.0, -1)
    np.testing.assert_allclose(y.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


TARGETS = np.array([[3, 0, -1, 1], [1, 2, 3, -1], [-1, 1, 0, 2], [0, 0, -1, 2]], dtype=np.int64)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_multilabel_margin_loss(reduction, dtype):
    x = randn(4, 4, dtype=dtype)
    check(lambda m, x, t: m.nn.functional.multilabel_margin_loss(x, t, reduction=reduction), [x, TARGETS])
    check(lambda m, x, t: m.nn.MultiLabelMarginLoss(reduction=reduction)(x, t), [x, TARGETS])
    check(lambda m, x, t: m.nn.functional.multilabel_margin_loss(x, t, reduction=reduction), [x[1], TARGETS[1]])


def test_multilabel_margin_loss_gradcheck_and_errors():
    t = disttorch.tensor(TARGETS)
    gradcheck(lambda m, x: m.nn.functional.multilabel_margin_loss(x, t, reduction="none"), [randn(4, 4)])
    same_error(lambda m, x, t: m.nn.functional.multilabel_margin_loss(x, t), [randn(4, 4), TARGETS[:2]])


def test_container_and_data_parallel():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        c = disttorch.nn.Container(lin=disttorch.nn.Linear(2, 3))
    assert any("deprecated" in str(x.message) for x in w)
    assert [n for n, _ in c.named_parameters()] == ["lin.weight", "lin.bias"]
    lin = disttorch.nn.Linear(3, 2)
    dp = disttorch.nn.DataParallel(lin)
    assert dp.module is lin
    x = disttorch.randn(4, 3)
    np.testing.assert_allclose(dp(x).detach().numpy(), lin(x).detach().numpy())
    assert list(dp.state_dict()) == list(torch.nn.DataParallel(torch.nn.Linear(3, 2)).state_dict())
