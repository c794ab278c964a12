"""Datasets, samplers and random_split against torch.utils.data."""
import warnings

import numpy as np
import pytest

import disttorch
from disttorch.utils import data as D

torch = pytest.importorskip("torch")
from torch.utils import data as T  # noqa: E402


def test_tensor_dataset_matches_torch():
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    ours = D.TensorDataset(disttorch.tensor(x), disttorch.tensor(y))
    theirs = T.TensorDataset(torch.tensor(x), torch.tensor(y))
    assert len(ours) == len(theirs) == 6
    for i in (0, 3, -1):
        for o, t in zip(ours[i], theirs[i]):
            np.testing.assert_array_equal(o.numpy(), t.numpy())
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        T.TensorDataset(torch.zeros(3), torch.zeros(4))
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        D.TensorDataset(disttorch.zeros(3), disttorch.zeros(4))


class Squares(D.Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i * i


class TorchSquares(T.Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i * i


class Stream(D.IterableDataset):
    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __iter__(self):
        return iter(range(self.start, self.stop))

    def __len__(self):
        return self.stop - self.start


def test_concat_and_subset_match_torch():
    ours = D.ConcatDataset([Squares(3), Squares(4)])
    theirs = T.ConcatDataset([TorchSquares(3), TorchSquares(4)])
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-7, 7)] == [theirs[i] for i in range(-7, 7)]
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        ours[-8]
    added = Squares(2) + Squares(2)
    assert isinstance(added, D.ConcatDataset) and [added[i] for i in range(4)] == [0, 1, 0, 1]
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        D.ConcatDataset([])
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        D.ConcatDataset([Stream(0, 2)])
    sub = D.Subset(Squares(10), [9, 2, 5])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [81, 4, 25]
    assert sub.__getitems__([2, 0]) == [25, 81]


def test_chain_dataset():
    chained = D.ChainDataset([Stream(0, 3), Stream(10, 12)])
    assert list(chained) == [0, 1, 2, 10, 11] and len(chained) == 5
    assert list(Stream(0, 2) + Stream(5, 6)) == [0, 1, 5]
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        list(D.ChainDataset([Squares(2)]))


def test_stack_dataset():
    a, b = Squares(3), D.TensorDataset(disttorch.arange(3))
    assert D.StackDataset(a, a)[2] == (4, 4)
    assert D.StackDataset(x=a, y=a)[1] == {"x": 1, "y": 1}
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        D.StackDataset(a, Squares(4))
    assert len(D.StackDataset(a, b)) == 3


def test_random_split_lengths_and_reproducibility():
    ds = Squares(10)
    for lengths in ([3, 7], [0.3, 0.7], [0.33, 0.33, 0.34], [0.5, 0.5]):
        ours = D.random_split(ds, lengths, generator=disttorch.Generator().manual_seed(1))
        theirs = T.random_split(TorchSquares(10), lengths, generator=torch.Generator().manual_seed(1))
        assert [len(s) for s in ours] == [len(s) for s in theirs]
        flat = sorted(i for s in ours for i in s.indices)
        assert flat == list(range(10))
    again = D.random_split(ds, [3, 7], generator=disttorch.Generator().manual_seed(1))
    first = D.random_split(ds, [3, 7], generator=disttorch.Generator().manual_seed(1))
    assert [s.indices for s in again] == [s.indices for s in first]
    other = D.random_split(ds, [3, 7], generator=disttorch.Generator().manual_seed(2))
    assert [s.indices for s in other] != [s.indices for s in first]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the input dataset!"):
        D.random_split(ds, [3, 3])
    for split in (T.random_split, D.random_split):
        with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
            split(ds, [0.5, 1.5, -1.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        D.random_split(Squares(2), [0.1, 0.9])
    assert any("Length of split at index" in str(w.message) for w in caught) == any(
        len(s) == 0 for s in T.random_split(TorchSquares(2), [0.1, 0.9]))


def test_sequential_and_batch_sampler_match_torch():
    for n, bs, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (1, 4, False), (0, 2, False)]:
        ours = D.BatchSampler(D.SequentialSampler(range(n)), bs, drop)
        theirs = T.BatchSampler(T.SequentialSampler(range(n)), bs, drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but got batch_size=0"):
        D.BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value, but got drop_last=1"):
        D.BatchSampler(range(3), 2, 1)


def test_random_sampler():
    def draw(seed, **kw):
        return list(D.RandomSampler(range(10), generator=disttorch.Generator().manual_seed(seed), **kw))

    perm = draw(0)
    assert sorted(perm) == list(range(10)) and perm == draw(0) and perm != draw(1)
    long = draw(0, num_samples=25)
    assert len(long) == 25 and sorted(long[:10]) == sorted(long[10:20]) == list(range(10))
    assert len(set(long[20:])) == 5
    rep = draw(3, replacement=True, num_samples=50)
    assert len(rep) == 50 and set(rep) <= set(range(10)) and len(set(rep)) < len(rep)
    assert len(D.RandomSampler(range(10), num_samples=7)) == len(T.RandomSampler(range(10), num_samples=7)) == 7
    disttorch.manual_seed(5)
    a = list(D.RandomSampler(range(20)))
    disttorch.manual_seed(5)
    assert list(D.RandomSampler(range(20))) == a  # unseeded samplers follow the global seed
    with pytest.raises(TypeError, match="replacement should be a boolean value, but got replacement=0"):
        D.RandomSampler(range(3), replacement=0)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        D.RandomSampler(range(3), num_samples=0)


def test_subset_and_weighted_samplers():
    idx = [4, 8, 15, 16, 23, 42]
    got = list(D.SubsetRandomSampler(idx, generator=disttorch.Generator().manual_seed(0)))
    assert sorted(got) == idx and len(D.SubsetRandomSampler(idx)) == 6
    w = D.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 200, generator=disttorch.Generator().manual_seed(0))
    drawn = list(w)
    assert len(drawn) == len(w) == 200 and set(drawn) == {1, 3}
    assert 0.6 < drawn.count(3) / 200 < 0.9
    no_rep = list(D.WeightedRandomSampler([1.0, 1.0, 1.0], 3, replacement=False))
    assert sorted(no_rep) == [0, 1, 2]
    for bad, kw in [(0, {}), (True, {})]:
        with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
            D.WeightedRandomSampler([1.0], bad, **kw)
    with pytest.raises(ValueError, match="weights should be a 1d sequence but given weights have shape"):
        D.WeightedRandomSampler([[1.0]], 1)
