"""DataLoader against torch.utils.data.DataLoader: order, batching, collation; workers; errors."""
import os
import time

import numpy as np
import pytest

import disttorch
from disttorch.utils import data as D

torch = pytest.importorskip("torch")
from test_collate import assert_same  # noqa: E402
from torch.utils import data as T  # noqa: E402


class Records:
    """Map-style samples with a mix of types, built for either library."""

    def __init__(self, lib, n=11):
        self.lib, self.n = lib, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        t = self.lib
        return {"x": t.arange(3, dtype=t.float32) + i, "y": i % 3, "w": 0.5 * i, "name": f"s{i}",
                "pair": (t.tensor(i), np.full(2, i, dtype=np.int32))}


class OurRecords(Records, D.Dataset):
    pass


class TheirRecords(Records, T.Dataset):
    pass


class Numbers(D.Dataset):
    def __init__(self, n, fail_at=None, die_at=None, sleep=0.0):
        self.n, self.fail_at, self.die_at, self.sleep = n, fail_at, die_at, sleep

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise ValueError(f"sample {i} is broken")
        if i == self.die_at:
            os._exit(3)
        if self.sleep:
            time.sleep(self.sleep)
        info = D.get_worker_info()
        return {"i": i, "worker": -1 if info is None else info.id, "noise": disttorch.rand(1)}


class Stream(D.IterableDataset):
    """Splits its range between workers, as PyTorch's documentation shows."""

    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __len__(self):
        return self.stop - self.start

    def __iter__(self):
        info = D.get_worker_info()
        if info is None:
            return iter(range(self.start, self.stop))
        return iter(range(self.start + info.id, self.stop, info.num_workers))


class TorchStream(T.IterableDataset):
    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __iter__(self):
        return iter(range(self.start, self.stop))


def check_against_torch(ours_ds, theirs_ds, **kw):
    ours, theirs = list(D.DataLoader(ours_ds, **kw)), list(T.DataLoader(theirs_ds, **kw))
    assert len(ours) == len(theirs)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert_same(o, t, f"batch {i}")
    assert len(D.DataLoader(ours_ds, **kw)) == len(T.DataLoader(theirs_ds, **kw))


@pytest.mark.parametrize("kw", [{}, {"batch_size": 4}, {"batch_size": 4, "drop_last": True}, {"batch_size": 11},
                                {"batch_size": 20}, {"batch_size": None}])
def test_order_and_collation_match_torch(kw):
    check_against_torch(OurRecords(disttorch), TheirRecords(torch), **kw)


def test_tensor_dataset_and_samplers_match_torch():
    x = np.arange(20.0, dtype=np.float32).reshape(10, 2)
    ours_ds, theirs_ds = D.TensorDataset(disttorch.tensor(x)), T.TensorDataset(torch.tensor(x))
    check_against_torch(ours_ds, theirs_ds, batch_size=3)
    order = [7, 1, 4, 4, 0]
    ours = list(D.DataLoader(ours_ds, batch_size=2, sampler=order))
    theirs = list(T.DataLoader(theirs_ds, batch_size=2, sampler=order))
    assert_same(ours, theirs)
    batches = [[0, 9], [3], [2, 2, 5]]
    ours = list(D.DataLoader(ours_ds, batch_sampler=batches))
    assert_same(ours, list(T.DataLoader(theirs_ds, batch_sampler=batches)))
    collate = lambda batch: len(batch)  # noqa: E731
    assert list(D.DataLoader(ours_ds, batch_size=4, collate_fn=collate)) == [4, 4, 2]


def test_iterable_dataset_matches_torch():
    for kw in ({"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": None}):
        ours = list(D.DataLoader(Stream(0, 8), **kw))
        theirs = list(T.DataLoader(TorchStream(0, 8), **kw))
        assert_same(ours, theirs)
    assert len(D.DataLoader(Stream(0, 8), batch_size=3)) == 3
    assert len(D.DataLoader(Stream(0, 8), batch_size=3, drop_last=True)) == 2


def test_argument_errors_match_torch():
    ds, it = OurRecords(disttorch), Stream(0, 4)
    cases = [
        (dict(shuffle=True, sampler=[0]), "sampler option is mutually exclusive with shuffle"),
        (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive with batch_size, "
                                                  "shuffle, sampler, and drop_last"),
        (dict(batch_size=None, drop_last=True), "batch_size=None option disables auto-batching and is mutually "
                                                "exclusive with drop_last"),
        (dict(num_workers=-1), "num_workers option should be non-negative"),
        (dict(timeout=-1), "timeout option should be non-negative"),
        (dict(prefetch_factor=2), "prefetch_factor option could only be specified in multiprocessing"),
        (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    ]
    for kw, msg in cases:
        with pytest.raises(ValueError) as theirs:
            T.DataLoader(TheirRecords(torch), **kw)
        assert msg in str(theirs.value)
        with pytest.raises(ValueError) as ours:
            D.DataLoader(ds, **kw)
        assert msg in str(ours.value)
    with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected unspecified shuffle option, but "
                                         "got shuffle=True"):
        D.DataLoader(it, shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        D.DataLoader(it, sampler=[0])
    loader = D.DataLoader(ds)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 3


def test_seeded_shuffling_is_reproducible():
    ds = D.TensorDataset(disttorch.arange(30))

    def epochs(seed, n=2):
        loader = D.DataLoader(ds, batch_size=4, shuffle=True, generator=disttorch.Generator().manual_seed(seed))
        return [[b[0].tolist() for b in loader] for _ in range(n)]

    a, b, c = epochs(0), epochs(0), epochs(1)
    assert a == b and a != c
    assert a[0] != a[1]  # each epoch reshuffles
    assert sorted(sum(a[0], [])) == list(range(30))
    disttorch.manual_seed(3)
    first = [b[0].tolist() for b in D.DataLoader(ds, batch_size=5, shuffle=True)]
    disttorch.manual_seed(3)
    assert [b[0].tolist() for b in D.DataLoader(ds, batch_size=5, shuffle=True)] == first


def test_main_process_has_no_worker_info():
    assert D.get_worker_info() is None


def values(batches):
    return [{k: (v.tolist() if isinstance(v, disttorch.Tensor) else v) for k, v in b.items() if k != "worker"}
            for b in batches]


@pytest.mark.timeout(60)
def test_workers_give_the_same_batches_as_the_main_process():
    ds = Numbers(23)
    single = values(D.DataLoader(ds, batch_size=4, shuffle=True, generator=disttorch.Generator().manual_seed(0)))
    loader = D.DataLoader(ds, batch_size=4, shuffle=True, num_workers=2, generator=disttorch.Generator().manual_seed(0))
    multi = list(loader)
    assert len(multi) == len(loader) == 6
    ids = [b["i"].tolist() for b in multi]
    assert ids == [b["i"] for b in single]
    assert {w for b in multi for w in b["worker"].tolist()} == {0, 1}
    # worker seeds come from the loader's generator: the random parts repeat with the same seed
    again = D.DataLoader(ds, batch_size=4, shuffle=True, num_workers=2, generator=disttorch.Generator().manual_seed(0))
    assert values(again) == values(multi)
    # iterable datasets: each worker streams its share, batches arrive round-robin
    got = sorted(i for b in D.DataLoader(Stream(0, 17), batch_size=3, num_workers=2) for i in b.tolist())
    assert got == list(range(17))
    # no auto-batching, custom collate, prefetch_factor and persistent workers over two epochs
    unbatched = D.DataLoader(ds, batch_size=None, num_workers=2, prefetch_factor=1, persistent_workers=True,
                             pin_memory=True)
    for _ in range(2):
        assert [s["i"] for s in unbatched] == list(range(23))
    for _ in unbatched:  # an epoch abandoned half-way: the next one starts clean
        break
    assert [s["i"] for s in unbatched] == list(range(23))
    persistent_stream = D.DataLoader(Stream(0, 9), batch_size=2, num_workers=2, persistent_workers=True)
    for _ in range(2):
        assert sorted(i for b in persistent_stream for i in b.tolist()) == list(range(9))


def _init_fn(worker_id):
    info = D.get_worker_info()
    info.dataset.start = 100  # each worker's copy of the dataset


@pytest.mark.timeout(60)
def test_worker_init_fn_and_worker_info():
    got = sorted(i for b in D.DataLoader(Stream(0, 6), batch_size=2, num_workers=2, worker_init_fn=_init_fn)
                 for i in b.tolist())
    assert got == []  # start=100 >= stop: every worker's stream is empty


@pytest.mark.timeout(60)
def test_worker_exception_is_raised_in_main_process():
    loader = D.DataLoader(Numbers(12, fail_at=6), batch_size=2, num_workers=2)
    with pytest.raises(ValueError) as info:
        list(loader)
    text = str(info.value)
    assert "Caught ValueError in DataLoader worker process 1" in text
    assert "sample 6 is broken" in text and "Traceback" in text and "__getitem__" in text
    with pytest.raises(ZeroDivisionError, match="Caught ZeroDivisionError in DataLoader worker process 0"):
        list(D.DataLoader(Numbers(4), num_workers=2, worker_init_fn=lambda w: 1 / 0))
    unpicklable = D.DataLoader(Numbers(4), num_workers=1, collate_fn=lambda batch: (lambda: batch))
    with pytest.raises(Exception, match="in DataLoader worker process 0 \\(while sending the batch\\)"):
        next(iter(unpicklable))


@pytest.mark.timeout(60)
def test_dead_worker_and_timeout_raise():
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
        list(D.DataLoader(Numbers(8, die_at=3), batch_size=2, num_workers=2))
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.2 seconds"):
        list(D.DataLoader(Numbers(4, sleep=0.5), num_workers=1, timeout=0.2))
