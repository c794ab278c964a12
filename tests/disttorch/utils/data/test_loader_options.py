"""DataLoader options against torch: in_order, pin_memory, persistent workers across epochs, timeout, prefetch."""
import pytest

from disttorch.utils import data as D

torch = pytest.importorskip("torch")
from torch.utils import data as T  # noqa: E402


def _batches(loader):
    return sorted(b.tolist() for b in loader)


def test_out_of_order_gives_the_same_batches():
    kw = dict(batch_size=3, num_workers=2, in_order=False)
    assert _batches(D.DataLoader(list(range(20)), **kw)) == _batches(T.DataLoader(list(range(20)), **kw))


def test_pin_memory_is_harmless_on_cpu():
    ours = list(D.DataLoader(list(range(7)), batch_size=2, pin_memory=True))
    theirs = list(T.DataLoader(list(range(7)), batch_size=2, pin_memory=True))
    assert [b.tolist() for b in ours] == [b.tolist() for b in theirs]
    assert all(b.device.type == "cpu" for b in ours)


def _pin_warnings(lib, **kw):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for workers in (0, 2):
            list(lib.DataLoader(list(range(5)), batch_size=2, num_workers=workers, **kw))
    return [str(w.message) for w in caught if "pin" in str(w.message)]


@pytest.mark.parametrize("kw", [dict(pin_memory=True), dict(pin_memory=True, pin_memory_device="cuda"),
                                dict(pin_memory=False, pin_memory_device="cuda"), dict()])
def test_pin_memory_warnings_without_accelerator_match_torch(kw, monkeypatch):
    import sys

    import disttorch

    monkeypatch.setitem(sys.modules, "cupy", None)  # a machine without cuda, as torch's CPU build here
    monkeypatch.setattr(disttorch.backends.get_backend("cuda"), "_cupy", None)
    assert not torch.accelerator.is_available()
    assert _pin_warnings(D, **kw) == _pin_warnings(T, **kw)


def test_persistent_workers_reuse_across_epochs():
    kw = dict(batch_size=4, num_workers=2, persistent_workers=True, prefetch_factor=3, timeout=60)
    ours = D.DataLoader(list(range(13)), **kw)
    theirs = T.DataLoader(list(range(13)), **kw)
    first = [b.tolist() for b in ours]
    pids = [w.pid for w in ours._iterator._workers]
    second = [b.tolist() for b in ours]
    assert first == second == [b.tolist() for b in theirs] == [b.tolist() for b in theirs]
    assert [w.pid for w in ours._iterator._workers] == pids  # the same processes served the second epoch


def test_option_errors_match_torch():
    for kw in [dict(prefetch_factor=2), dict(persistent_workers=True), dict(timeout=-1)]:
        with pytest.raises(ValueError) as ours:
            D.DataLoader(list(range(3)), **kw)
        with pytest.raises(ValueError) as theirs:
            T.DataLoader(list(range(3)), **kw)
        assert str(ours.value) == str(theirs.value)
