"""SyncBatchNorm in one process (no process group: plain batch norm, as in PyTorch) and
convert_sync_batchnorm, against PyTorch. The multi-rank behaviour is tested in test_ddp.py."""
from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_close, check, randn, torch

import disttorch


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4), (2, 3, 2, 2, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_batchnorm_without_group(shape, dtype):
    check(lambda t, x: t.nn.SyncBatchNorm(3).to(x.dtype)(x), [randn(*shape, seed=1).astype(dtype) * 2 + 1])


@pytest.mark.parametrize("momentum", [0.1, None])
def test_running_stats_and_eval(momentum):
    x = randn(8, 3, 2, seed=2) * 3

    def run(t):
        m = t.nn.SyncBatchNorm(3, momentum=momentum)
        for _ in range(3):
            m(t.tensor(x))
        m.eval()
        return m, m(t.tensor(x[:2]))

    (ours, out), (theirs, ref) = run(disttorch), run(torch)
    for k in ("running_mean", "running_var", "num_batches_tracked"):
        assert_close(getattr(ours, k), getattr(theirs, k), what=k)
    assert_close(out, ref, what="eval output")


def test_errors():
    m = disttorch.nn.SyncBatchNorm(3)
    with pytest.raises(ValueError, match=r"expected at least 2D input \(got 1D input\)"):
        m(disttorch.zeros(3))
    with pytest.raises(ValueError, match="SyncBatchNorm number of input channels should be non-zero"):
        disttorch.nn.SyncBatchNorm(0)(disttorch.zeros(2, 0))


def _net(t):
    t.manual_seed(0)
    return t.nn.Sequential(t.nn.Conv2d(2, 3, 1), t.nn.BatchNorm2d(3, momentum=0.3),
                           t.nn.Sequential(t.nn.Flatten(), t.nn.BatchNorm1d(12, affine=False), t.nn.Linear(12, 2)))


def test_convert_sync_batchnorm():
    ours_in, theirs_in = _net(disttorch), _net(torch)
    ours_in[2].eval()
    theirs_in[2].eval()
    bn_weight, bn_mean = ours_in[1].weight, ours_in[1].running_mean
    ours = disttorch.nn.SyncBatchNorm.convert_sync_batchnorm(ours_in)
    theirs = torch.nn.SyncBatchNorm.convert_sync_batchnorm(theirs_in)
    assert repr(ours) == repr(theirs)
    assert type(ours[1]) is disttorch.nn.SyncBatchNorm and type(ours[2][1]) is disttorch.nn.SyncBatchNorm
    assert ours[1].weight is bn_weight and ours[1].running_mean is bn_mean  # shared, not copied
    assert [m.training for m in ours.modules()] == [m.training for m in theirs.modules()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    bn = disttorch.nn.BatchNorm1d(4)
    assert type(disttorch.nn.SyncBatchNorm.convert_sync_batchnorm(bn)) is disttorch.nn.SyncBatchNorm


def test_sync_batchnorm_repr_and_state_dict():
    ours, theirs = disttorch.nn.SyncBatchNorm(5, eps=1e-3, affine=False), torch.nn.SyncBatchNorm(5, eps=1e-3,
                                                                                                 affine=False)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
