"""ctc_loss / CTCLoss against PyTorch: values and gradients (PyTorch's convention on log_probs), padded and
concatenated targets, unbatched input, reductions, zero_infinity, float64 gradcheck through log_softmax."""
import numpy as np
import pytest
from oracle import check, gradcheck, randn

import disttorch

torch = pytest.importorskip("torch")

T, N, C = 7, 3, 5
TARGETS = np.array([[1, 2, 2, 0], [3, 1, 0, 0], [4, 4, 1, 2]], dtype=np.int64)
IN_L, TG_L = [7, 5, 6], [3, 2, 4]


def _lp(dtype=np.float32, seed=0):
    x = randn(T, N, C, seed=seed, dtype=np.float64)
    return (x - np.log(np.exp(x).sum(-1, keepdims=True))).astype(dtype)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ctc_padded(reduction, dtype):
    check(lambda m, lp, t: m.nn.functional.ctc_loss(lp, t, IN_L, TG_L, reduction=reduction), [_lp(dtype), TARGETS],
          rtol=1e-4 if dtype == np.float32 else None)
    check(lambda m, lp, t: m.nn.CTCLoss(reduction=reduction)(lp, t, m.tensor(IN_L), m.tensor(TG_L)),
          [_lp(dtype), TARGETS], rtol=1e-4 if dtype == np.float32 else None)


def test_ctc_concatenated_blank_and_alias():
    flat = np.concatenate([r[:n] for r, n in zip(TARGETS + 1, TG_L)])
    flat[flat == 5] = 1
    lp = _lp(np.float64, seed=2)
    check(lambda m, lp, t: m.nn.functional.ctc_loss(lp, t, IN_L, TG_L, blank=0), [lp, flat])
    t4 = np.where(TARGETS == 4, 0, TARGETS)
    check(lambda m, lp, t: m.ctc_loss(lp, t, IN_L, TG_L, 4, 2), [lp, t4])


def test_ctc_unbatched_and_zero_infinity():
    lp = _lp(np.float64)[:, 0]
    check(lambda m, lp, t: m.nn.functional.ctc_loss(lp, t, m.tensor(6), m.tensor(3), reduction="none"),
          [lp, TARGETS[0][:3]])
    # sample 1 cannot fit: 4 repeated labels need 7 steps, it has 3
    tg = np.array([[1, 2, 0, 0], [2, 2, 2, 2], [3, 0, 0, 0]], dtype=np.int64)
    lens = [7, 3, 4]
    check(lambda m, lp, t: m.nn.functional.ctc_loss(lp, t, lens, [2, 4, 1], reduction="sum", zero_infinity=True),
          [_lp(np.float64), tg])
    check(lambda m, lp, t: m.nn.functional.ctc_loss(lp, t, lens, [2, 4, 1], reduction="none"),
          [_lp(np.float64), tg], grad=False)


def test_ctc_gradcheck_through_log_softmax():
    t = disttorch.tensor(TARGETS)
    gradcheck(lambda m, x: m.nn.functional.ctc_loss(x.log_softmax(2), t, IN_L, TG_L), [randn(T, N, C)])


def test_ctc_errors():
    lp, t = torch.tensor(_lp()), torch.tensor(TARGETS)
    for args in ((IN_L[:2], TG_L), (IN_L, TG_L[:2]), ([9, 5, 6], TG_L)):
        with pytest.raises(RuntimeError) as theirs:
            torch.nn.functional.ctc_loss(lp, t, *args)
        with pytest.raises(RuntimeError) as ours:
            disttorch.nn.functional.ctc_loss(disttorch.tensor(_lp()), disttorch.tensor(TARGETS), *args)
        assert str(ours.value) == str(theirs.value)
