"""``DataLoader(pin_memory=True)``: batches pinned when an accelerator is present, containers walked as PyTorch's
loader walks them. On CI the cuda case runs on the cupy stand-in (DISTTORCH_FAKE_CUDA=1)."""
import collections

import pytest

import disttorch
from disttorch.utils.data import DataLoader, Dataset
from disttorch.utils.data._pin_memory import pin_memory

Pair = collections.namedtuple("Pair", "x y")


class Marked:
    """Stands for any batch element with its own pin_memory()."""

    def __init__(self, v):
        self.v = v

    def pin_memory(self):
        return ("pinned", self.v)


class Extra(dict):
    """A mapping with an attribute of its own, which the pinned copy must keep."""


def _sample():
    extra = Extra(a=Marked(1))
    extra.note = "kept"
    return {"list": [Marked(2), "s"], "tuple": (Marked(3), b"b"), "pair": Pair(Marked(4), 5), "extra": extra,
            "range": range(2), "plain": 6}


def _shape(x):
    if isinstance(x, dict):
        return (type(x).__name__, getattr(x, "note", None), {k: _shape(v) for k, v in x.items()})
    if isinstance(x, (list, tuple)) and not (isinstance(x, tuple) and x and x[0] == "pinned"):
        return (type(x).__name__, [_shape(v) for v in x])
    return x


def test_containers_are_walked_as_pytorch_walks_them():
    pytest.importorskip("torch")
    from torch.utils.data._utils.pin_memory import pin_memory as torch_pin_memory

    assert _shape(pin_memory(_sample())) == _shape(torch_pin_memory(_sample()))


class Pairs(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return {"x": disttorch.full((3,), float(i)), "y": Pair(disttorch.tensor(i), [disttorch.ones(2) * i])}


@pytest.mark.parametrize("num_workers", [0, 2])
def test_loader_pins_batches_when_an_accelerator_is_present(device, num_workers):
    loader = DataLoader(Pairs(), batch_size=2, num_workers=num_workers, pin_memory=True)
    if device == "cpu" and not disttorch.accelerator.is_available():
        with pytest.warns(UserWarning, match="no accelerator is found"):
            batches = list(loader)
        assert not any(b["x"].is_pinned() for b in batches)
        return
    batches = list(loader)
    assert len(batches) == 3
    for k, b in enumerate(batches):
        leaves = [b["x"], b["y"].x, b["y"].y[0]]
        assert isinstance(b["y"], Pair) and all(t.is_pinned() and t.is_cpu for t in leaves)
        assert b["x"].tolist() == [[2.0 * k] * 3, [2.0 * k + 1] * 3]
        moved = b["x"].to(device, non_blocking=True)
        assert moved.device.type == device and moved.cpu().tolist() == b["x"].tolist()
