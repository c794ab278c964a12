"""The torch.* spellings of nn functions, in ATen's argument order, against PyTorch."""
import numpy as np
import pytest
from oracle import check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")


def _pos(*shape, seed=0):
    return np.abs(randn(*shape, seed=seed)) + 0.1


def test_normalisations():
    x, w, b = randn(4, 3, 5), randn(3, seed=1), randn(3, seed=2)
    rm, rv = randn(3, seed=3), _pos(3, seed=4)
    check(lambda m, x, w, b: m.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False), [x, w, b])
    check(lambda m, x, w, b, rm, rv: m.batch_norm(x, w, b, rm, rv, False, 0.1, 1e-5, False), [x, w, b, rm, rv],
          grad=[True, True, True, False, False])
    check(lambda m, x, w, b: m.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False), [x, w, b])
    lw, lb = randn(5, seed=5), randn(5, seed=6)
    check(lambda m, x, w, b: m.layer_norm(x, [5], w, b, 1e-5, False), [x, lw, lb])
    check(lambda m, x, w, b: m.group_norm(x, 3, w, b, 1e-5, False), [x, w, b])
    check(lambda m, x, w: m.rms_norm(x, [5], w), [x, lw])


def test_activations():
    x = randn(3, 4)
    check(lambda m, x: m.celu(x, 0.5), [x])
    check(lambda m, x: m.selu(x), [x])
    check(lambda m, x: m.threshold(x, 0.1, -2.0), [x])
    check(lambda m, x: m.hardshrink(x, 0.3), [x])
    check(lambda m, x, w: m.prelu(x, w), [x, _pos(4, seed=1)])
    check(lambda m, x: m.rrelu(x, 0.1, 0.3, False), [x])
    for name in ("celu_", "selu_", "rrelu_"):
        a, t = disttorch.tensor(x), torch.tensor(x)
        assert getattr(disttorch, name)(a) is a
        getattr(torch, name)(t)
        np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-6)
    a, t = disttorch.tensor(x), torch.tensor(x)
    disttorch.threshold_(a, 0.0, 5.0)
    torch.threshold_(t, 0.0, 5.0)
    np.testing.assert_allclose(a.numpy(), t.numpy())


def test_dropouts_in_eval_and_train():
    x = randn(4, 6, 3)
    for name in ("dropout", "alpha_dropout", "feature_alpha_dropout", "feature_dropout"):
        check(lambda m, x, name=name: getattr(m, name)(x, 0.5, False), [x])
    y = disttorch.dropout(disttorch.ones(1000), 0.25, True).numpy()
    assert (np.isclose(y, 0) | np.isclose(y, 1 / 0.75)).all() and (y == 0).any()
    f = disttorch.feature_dropout(disttorch.ones(8, 50, 3), 0.5, True).numpy()
    assert (f.std(axis=2) == 0).all() and 0 < (f[:, :, 0] == 0).mean() < 1  # whole channels dropped
    a = disttorch.ones(100)
    assert disttorch.dropout_(a, 0.5, True) is a and (a.numpy() == 0).any()


def test_embedding_bilinear_cells():
    w, idx = randn(10, 3), np.array([[1, 2, 4], [4, 3, 9]], dtype=np.int64)
    check(lambda m, w, i: m.embedding(w, i), [w, idx])
    check(lambda m, w, i: m.embedding(w, i, 2), [w, idx])
    check(lambda m, a, b, w, c: m.bilinear(a, b, w, c), [randn(4, 2), randn(4, 3, seed=1), randn(5, 2, 3, seed=2),
                                                         randn(5, seed=3)])
    x, h, c = randn(2, 3), randn(2, 4, seed=1), randn(2, 4, seed=2)
    for name, g in (("lstm_cell", 4), ("gru_cell", 3), ("rnn_tanh_cell", 1), ("rnn_relu_cell", 1)):
        wi, wh, bi, bh = randn(g * 4, 3, seed=3), randn(g * 4, 4, seed=4), randn(g * 4, seed=5), randn(g * 4, seed=6)
        if name == "lstm_cell":
            check(lambda m, x, h, c, wi, wh, bi, bh: m.lstm_cell(x, (h, c), wi, wh, bi, bh), [x, h, c, wi, wh, bi, bh])
        else:
            check(lambda m, x, h, wi, wh, bi, bh, n=name: getattr(m, n)(x, h, wi, wh, bi, bh), [x, h, wi, wh, bi, bh])
            check(lambda m, x, h, wi, wh, n=name: getattr(m, n)(x, h, wi, wh), [x, h, wi, wh])
    gradcheck(lambda m, x, h, wi, wh: m.gru_cell(x, h, wi, wh), [x, h, randn(12, 3), randn(12, 4)])


@pytest.mark.parametrize("reduction", [0, 1, 2])
def test_losses(reduction):
    a, b = randn(4, 5), randn(4, 5, seed=1)
    y = np.array([1.0, -1.0, 1.0, -1.0], dtype=np.float32)
    check(lambda m, a, b, y: m.cosine_embedding_loss(a, b, y, 0.2, reduction), [a, b, y], grad=[True, True, False])
    check(lambda m, a, y: m.hinge_embedding_loss(a, y, 0.5, reduction), [a, np.sign(b)], grad=[True, False])
    check(lambda m, a, b, y: m.margin_ranking_loss(a, b, y, 0.1, reduction), [a[:, 0], b[:, 0], y],
          grad=[True, True, False])
    check(lambda m, a, t: m.poisson_nll_loss(a, t, True, True, 1e-8, reduction), [a, _pos(4, 5, seed=2)],
          grad=[True, False])
    check(lambda m, a, b, c: m.triplet_margin_loss(a, b, c, 1.0, 2, 1e-6, True, reduction),
          [a, b, randn(4, 5, seed=3)])
    check(lambda m, a, t: m.kl_div(a, t, reduction), [a, _pos(4, 5, seed=2)])
    check(lambda m, a, t: m.kl_div(a, t, reduction, log_target=True), [a, b])
    check(lambda m, a, t, w: m.binary_cross_entropy_with_logits(a, t, None, w, reduction),
          [a, (b > 0).astype(np.float32), _pos(5, seed=4)], grad=[True, False, False])


def test_loss_gradcheck():
    gradcheck(lambda m, a, b: m.triplet_margin_loss(a, b, b * 0.5 + 1), [randn(3, 4), randn(3, 4, seed=1)])
    gradcheck(lambda m, a, t: m.kl_div(a, t, 2, log_target=True), [randn(3, 4), randn(3, 4, seed=1)])
