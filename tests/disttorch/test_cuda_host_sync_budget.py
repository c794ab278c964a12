"""Host-sync budget on cuda: a training step makes the host wait for the device once, for the loss's ``.item()``.

Runs on the strict cupy stand-in (DISTTORCH_FAKE_CUDA=1), which counts every device-to-host transfer and
synchronisation and records where it happened (``cupy._core.record_syncs``): a failure lists each sync as the
innermost ``disttorch/file:line (function)`` that made it. Each workload's losses are also compared with PyTorch
on the cpu (same weights, same data), so the budget is held by steps that compute the right thing.
"""
import numpy as np
import pytest
from conftest import CUDA, FAKE_CUDA

import disttorch

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(not (CUDA and FAKE_CUDA),
                                reason="counts syncs on the cupy stand-in (DISTTORCH_FAKE_CUDA=1); no GPU here")

STEPS = 3  # measured steps, after one warm-up step (optimizer state, first-use caches)


def _cnn(nn):
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(8 * 4 * 4, 10))


class _Transformer:
    @staticmethod
    def build(nn):
        return nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)


def _lstm(nn):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(6, 8, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    return Net()


def _embedding(nn):
    return nn.Sequential(nn.Embedding(20, 8), nn.Linear(8, 5))


def _data(name, rng):
    if name == "cnn":
        return rng.standard_normal((4, 3, 8, 8)).astype(np.float32), rng.integers(0, 10, 4)
    if name == "transformer":
        return rng.standard_normal((2, 5, 16)).astype(np.float32), rng.standard_normal((2, 5, 16)).astype(np.float32)
    if name == "lstm":
        return rng.standard_normal((3, 4, 6)).astype(np.float32), rng.standard_normal((3, 3)).astype(np.float32)
    return rng.integers(0, 20, (6,)), rng.integers(0, 5, (6,))


def _loss(lib, name, out, target):
    F = lib.nn.functional
    if name in ("cnn", "embedding"):
        return F.cross_entropy(out, target)
    return F.mse_loss(out, target)


_BUILD = {"cnn": _cnn, "transformer": _Transformer.build, "lstm": _lstm, "embedding": _embedding}



def _run_torch(name, state, batches):
    torch.manual_seed(0)
    model = _BUILD[name](torch.nn)
    model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = _loss(torch, name, model(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("name", list(_BUILD))
def test_cuda_training_step_syncs_once(name):
    from cupy import _core  # the stand-in's counters

    rng = np.random.default_rng(0)
    batches = [_data(name, rng) for _ in range(STEPS + 1)]
    disttorch.manual_seed(0)
    model = _BUILD[name](disttorch.nn)
    state = {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}
    model = model.to("cuda")
    opt = disttorch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    on_device = [(disttorch.tensor(x, device="cuda"), disttorch.tensor(y, device="cuda")) for x, y in batches]

    losses, per_step = [], []
    for i, (x, y) in enumerate(on_device):
        with _core.record_syncs() as log:
            opt.zero_grad()
            loss = _loss(disttorch, name, model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        if i > 0:  # the first step is the warm-up
            per_step.append(log.syncs)

    np.testing.assert_allclose(losses, _run_torch(name, state, batches), rtol=1e-4, atol=1e-5)
    extra = [site for syncs in per_step for site in syncs if "(item)" not in site]
    assert all(len(syncs) <= 1 for syncs in per_step), (
        f"{name}: host syncs per step {[len(s) for s in per_step]} (budget 1, the loss's .item()); beyond it:\n  "
        + "\n  ".join(sorted(set(extra))))


def test_record_syncs_names_the_place():
    from cupy import _core

    x = disttorch.ones(3, device="cuda")
    with _core.record_syncs() as log:
        x.sum().item()
        x.tolist()
    assert len(log.syncs) == 2 and all(s.startswith("disttorch/") for s in log.syncs), log.syncs
