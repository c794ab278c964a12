"""Embedding / EmbeddingBag against PyTorch: lookups, scatter-added gradients, padding_idx,
scale_grad_by_freq, max_norm, from_pretrained, default initialisation."""
import numpy as np
import pytest
from oracle import assert_close, check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")

IDX = np.array([[1, 2, 2, 0], [9, 2, 5, 1]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 2}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
                                {"padding_idx": 1, "scale_grad_by_freq": True}])
@pytest.mark.parametrize("idx", [IDX, IDX[0], np.array(7), np.array([3, 3, 3, 3, 3])])
def test_embedding_matches_torch(idx, kw, dtype, device):
    check(lambda t, w, i: t.nn.functional.embedding(i, w, **kw), [randn(10, 4, dtype=dtype), idx], device=device)


def test_embedding_int32_indices_and_grad_fn():
    w = randn(6, 3)
    wo, wt = disttorch.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    i = np.array([[0, 5], [5, 5]], dtype=np.int32)
    yo, yt = disttorch.nn.functional.embedding(disttorch.tensor(i), wo), torch.nn.functional.embedding(
        torch.tensor(i), wt)
    assert_close(yo, yt)
    assert yo.grad_fn.name() == yt.grad_fn.name()


def test_gradcheck_and_double_backward():
    gradcheck(lambda t, w: t.nn.functional.embedding(t.tensor(IDX), w), [randn(10, 3, dtype=np.float64)])
    w = disttorch.tensor(randn(10, 3, dtype=np.float64), requires_grad=True)
    assert disttorch.autograd.gradgradcheck(lambda w: disttorch.nn.functional.embedding(disttorch.tensor(IDX), w),
                                            (w,))


def test_max_norm_renormalises_referenced_rows_in_place():
    w = randn(10, 4, dtype=np.float64) * 3
    wo, wt = disttorch.tensor(w), torch.tensor(w)
    yo = disttorch.nn.functional.embedding(disttorch.tensor(IDX), wo, max_norm=1.0)
    yt = torch.nn.functional.embedding(torch.tensor(IDX), wt, max_norm=1.0)
    assert_close(yo, yt, 1e-10, 1e-12)
    assert_close(wo, wt, 1e-10, 1e-12)  # rows 3, 4, 6, 7, 8 untouched, the others scaled to norm 1


def test_module_init_and_padding_row():
    disttorch.manual_seed(0)
    emb = disttorch.nn.Embedding(2000, 50, padding_idx=3)
    w = emb.weight.detach().numpy()
    assert np.all(w[3] == 0)
    rest = np.delete(w, 3, axis=0)
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1.0) < 0.01  # N(0, 1)
    assert repr(emb) == repr(torch.nn.Embedding(2000, 50, padding_idx=3))
    assert [n for n, _ in emb.named_parameters()] == ["weight"]
    assert list(emb.state_dict().keys()) == list(torch.nn.Embedding(3, 2).state_dict().keys())


@pytest.mark.parametrize("kw", [{}, {"padding_idx": 0}, {"scale_grad_by_freq": True}, {"max_norm": 1.5}])
def test_module_matches_torch(kw):
    theirs = torch.nn.Embedding(10, 4, **kw)
    ours = disttorch.nn.Embedding(10, 4, **kw)
    ours.weight.data = disttorch.tensor(theirs.weight.detach().numpy())
    assert repr(ours) == repr(theirs)
    i = np.array([[0, 2, 2], [4, 0, 9]])
    yo, yt = ours(disttorch.tensor(i)), theirs(torch.tensor(i))
    assert_close(yo, yt)
    g = randn(*yt.shape, seed=2)
    (yo * disttorch.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    assert_close(ours.weight.grad, theirs.weight.grad)


def test_from_pretrained():
    w = randn(5, 3)
    frozen = disttorch.nn.Embedding.from_pretrained(disttorch.tensor(w))
    assert not frozen.weight.requires_grad
    assert_close(frozen(disttorch.tensor([4, 0])), torch.tensor(w)[[4, 0]])
    trainable = disttorch.nn.Embedding.from_pretrained(disttorch.tensor(w), freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad and np.all(trainable.weight.detach().numpy()[1] == w[1])  # not zeroed
    trainable(disttorch.tensor([1, 2, 2])).sum().backward()
    np.testing.assert_array_equal(trainable.weight.grad.numpy()[:3], [[0] * 3, [0] * 3, [2] * 3])
    with pytest.raises(AssertionError, match="Embeddings parameter is expected to be 2-dimensional"):
        disttorch.nn.Embedding.from_pretrained(disttorch.ones(3))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 2}, {"include_last_offset": True}])
def test_embedding_bag_matches_torch(mode, kw):
    inp, off = np.array([1, 2, 4, 5, 4, 3, 2, 9]), np.array([0, 4, 4, 6])
    check(lambda t, w, i, o: t.nn.functional.embedding_bag(i, w, o, mode=mode, **kw),
          [randn(10, 4, dtype=np.float64), inp, off])
    check(lambda t, w, i: t.nn.functional.embedding_bag(i, w, mode=mode, **kw), [randn(10, 4, dtype=np.float64), IDX])


def test_embedding_bag_per_sample_weights_and_module():
    inp, off = np.array([1, 2, 4, 5, 4, 3, 2, 9]), np.array([0, 4, 4, 6])
    check(lambda t, w, i, o, p: t.nn.functional.embedding_bag(i, w, o, mode="sum", per_sample_weights=p),
          [randn(10, 4, dtype=np.float64), inp, off, randn(8, seed=3, dtype=np.float64)])
    theirs = torch.nn.EmbeddingBag(10, 3, mode="max")
    ours = disttorch.nn.EmbeddingBag(10, 3, mode="max")
    ours.weight.data = disttorch.tensor(theirs.weight.detach().numpy())
    assert repr(ours) == repr(theirs)
    assert_close(ours(disttorch.tensor(inp), disttorch.tensor(off)), theirs(torch.tensor(inp), torch.tensor(off)))


@pytest.mark.parametrize("call,exc,msg", [
    (lambda t: t.nn.functional.embedding(t.tensor([5]), t.ones(3, 2)), IndexError, "index out of range in self"),
    (lambda t: t.nn.functional.embedding(t.tensor([1.0]), t.ones(3, 2)), RuntimeError,
     r"Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got "
     r"torch.FloatTensor instead \(while checking arguments for embedding\)"),
    (lambda t: t.nn.functional.embedding(t.tensor([1]), t.ones(3, 2), padding_idx=3), AssertionError,
     "Padding_idx must be within num_embeddings"),
    (lambda t: t.nn.Embedding(3, 2, padding_idx=-5), AssertionError, "Padding_idx must be within num_embeddings"),
    (lambda t: t.nn.functional.embedding_bag(t.tensor([1, 2]), t.ones(3, 2), t.tensor([0]), mode="mean",
                                             per_sample_weights=t.ones(2)), NotImplementedError,
     "per_sample_weights is only supported for mode='sum'"),
])
def test_errors_like_torch(call, exc, msg):
    for lib in (torch, disttorch):
        with pytest.raises(exc, match=msg):
            call(lib)
