"""RandomSampler draws lazily: a huge num_samples (minGPT uses 1e10) costs nothing until consumed."""
import itertools
import tracemalloc

import pytest

import disttorch
from disttorch.utils import data as D

torch = pytest.importorskip("torch")
from torch.utils import data as T  # noqa: E402

HUGE = int(1e10)


def _prefix_with_peak(sampler, k):
    tracemalloc.start()
    try:
        got = list(itertools.islice(iter(sampler), k))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return got, peak


@pytest.mark.parametrize("replacement", [True, False])
def test_huge_num_samples_is_lazy(replacement):
    n = 1000
    ours = D.RandomSampler(range(n), replacement=replacement, num_samples=HUGE,
                           generator=disttorch.Generator().manual_seed(0))
    theirs = T.RandomSampler(range(n), replacement=replacement, num_samples=HUGE)
    assert len(ours) == len(theirs) == HUGE
    got, peak = _prefix_with_peak(ours, 100)
    assert len(got) == 100 and all(0 <= i < n for i in got)
    assert peak < 16 * 2**20  # a full index list would need ~80 GB
    if not replacement:
        assert len(set(got)) == 100  # the first pass is a permutation


def test_loader_over_huge_sampler_is_lazy():
    ds = D.TensorDataset(disttorch.arange(50.0))
    sampler = D.RandomSampler(ds, replacement=True, num_samples=HUGE, generator=disttorch.Generator().manual_seed(1))
    loader = D.DataLoader(ds, batch_size=8, sampler=sampler)
    assert len(loader) == len(T.DataLoader(T.TensorDataset(torch.arange(50.0)), batch_size=8,
                                           sampler=T.RandomSampler(range(50), True, HUGE))) == HUGE // 8
    got, peak = _prefix_with_peak(loader, 3)
    assert [b[0].shape for b in got] == [(8,)] * 3 and peak < 16 * 2**20


@pytest.mark.parametrize("total", [5, 32, 33, 100, 1001])
def test_replacement_generator_and_length(total):
    def draw(seed):
        return list(D.RandomSampler(range(7), replacement=True, num_samples=total,
                                    generator=disttorch.Generator().manual_seed(seed)))

    a = draw(3)
    assert len(a) == total == len(T.RandomSampler(range(7), replacement=True, num_samples=total))
    assert a == draw(3) and set(a) <= set(range(7))
    if total > 30:
        assert a != draw(4)


def test_given_generator_is_advanced():
    g = disttorch.Generator().manual_seed(11)
    s = D.RandomSampler(range(9), replacement=True, num_samples=40, generator=g)
    first, second = list(s), list(s)
    assert first != second  # the second epoch continues the same generator
    g.manual_seed(11)
    assert list(s) == first


def test_without_replacement_epochs_are_permutations():
    s = D.RandomSampler(range(6), num_samples=20, generator=disttorch.Generator().manual_seed(2))
    got = list(s)
    assert len(got) == len(T.RandomSampler(range(6), num_samples=20)) == 20
    for k in range(3):
        assert sorted(got[6 * k:6 * k + 6]) == list(range(6))
    assert len(set(got[18:])) == 2
