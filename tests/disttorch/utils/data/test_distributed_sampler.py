"""DistributedSampler: the same split and padding as PyTorch's."""
import pytest

import disttorch  # noqa: F401
from disttorch.utils.data.distributed import DistributedSampler

torch = pytest.importorskip("torch")
from torch.utils.data.distributed import DistributedSampler as TorchDistributedSampler  # noqa: E402

CASES = [(n, r, drop) for n in (1, 5, 10, 12, 13) for r in (1, 2, 3, 4, 7) for drop in (False, True)]


@pytest.mark.parametrize("n,replicas,drop_last", CASES)
def test_unshuffled_split_matches_torch(n, replicas, drop_last):
    data = list(range(n))
    for rank in range(replicas):
        ours = DistributedSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchDistributedSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs)
        assert (ours.num_samples, ours.total_size) == (theirs.num_samples, theirs.total_size)


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 2, False), (10, 3, False), (13, 4, True), (3, 5, False)])
def test_shuffled_split_covers_and_follows_epoch(n, replicas, drop_last):
    data = list(range(n))
    samplers = [DistributedSampler(data, replicas, r, shuffle=True, seed=7, drop_last=drop_last)
                for r in range(replicas)]

    def epoch(e):
        for s in samplers:
            s.set_epoch(e)
        return [list(s) for s in samplers]

    parts = epoch(0)
    lengths = {len(p) for p in parts}
    assert lengths == {samplers[0].num_samples}
    flat = [i for p in parts for i in p]
    if drop_last:
        assert len(set(flat)) == len(flat) == samplers[0].total_size
    else:
        assert set(flat) == set(data)
        if n % replicas == 0:
            assert len(set(flat)) == len(flat)
    assert epoch(0) == parts
    assert epoch(1) != parts
    other_seed = [list(DistributedSampler(data, replicas, r, seed=8, drop_last=drop_last)) for r in range(replicas)]
    assert other_seed != parts or n < 3


def test_errors():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match=r"Invalid rank -1, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=-1)
    msg = "Default process group has not been initialized, please make sure to call init_process_group."
    with pytest.raises(ValueError) as theirs:
        TorchDistributedSampler(range(4))
    assert str(theirs.value) == msg
    try:
        import disttorch.distributed as dist
        initialised = dist.is_initialized()
    except ImportError:
        initialised = False
    if not initialised:
        with pytest.raises(ValueError) as ours:
            DistributedSampler(range(4))
        assert str(ours.value) == msg
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            DistributedSampler(range(4), num_replicas=2)
