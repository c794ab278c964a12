"""disttorch.utils.resume: checkpoints that resume training exactly, in one process and across ranks."""
from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import disttorch as torch
from disttorch import nn
from disttorch.utils.data import TensorDataset
from disttorch.utils.resume import Checkpointer, capture_rng_state, list_checkpoints, restore_rng_state

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[3]
WORKER = Path(__file__).resolve().parent / "_resume_worker.py"


class EpochSampler:  # like DistributedSampler: an epoch, set_epoch, no state_dict
    def __init__(self) -> None:
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch


def make(seed: int = 0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.25), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched, EpochSampler()


def train_step(model, opt, sched) -> float:
    x = torch.randn(8, 4) + float(np.random.rand()) + random.random()
    loss = model(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    return loss.item()


def test_resume_continues_exactly(tmp_path):
    model, opt, sched, sampler = make()
    ckpt = Checkpointer(tmp_path, model=model, optimizer=opt, scheduler=sched, sampler=sampler)
    assert ckpt.resume() is None  # fresh start: nothing to load
    for _ in range(3):
        train_step(model, opt, sched)
    sampler.set_epoch(4)
    path = ckpt.save(3, epoch=4, position=1, extra={"best": 0.5})
    assert Path(path).name == "checkpoint_00000003.pt"
    expected = [train_step(model, opt, sched) for _ in range(4)]
    final = [p.detach().clone() for p in model.parameters()]

    model2, opt2, sched2, sampler2 = make(seed=123)  # a new process: other weights, other random state
    state = Checkpointer(tmp_path, model=model2, optimizer=opt2, scheduler=sched2, sampler=sampler2).resume()
    assert state == {"step": 3, "epoch": 4, "position": 1, "extra": {"best": 0.5}, "path": path}
    assert sampler2.epoch == 4 and sched2.last_epoch == 3
    assert [train_step(model2, opt2, sched2) for _ in range(4)] == expected
    for a, b in zip(final, model2.parameters()):
        assert a.numpy().tobytes() == b.detach().numpy().tobytes()


def test_rng_state_round_trip():
    torch.manual_seed(7)
    np.random.seed(7)
    random.seed(7)
    state = capture_rng_state()
    first = (torch.rand(4).tolist(), np.random.rand(3).tolist(), random.random(), np.random.randn())
    restore_rng_state(state)
    assert (torch.rand(4).tolist(), np.random.rand(3).tolist(), random.random(), np.random.randn()) == first


def test_keep_last_and_latest_complete(tmp_path, capsys):
    model = nn.Linear(2, 2)
    ckpt = Checkpointer(tmp_path, keep_last=2, model=model)
    for step in (10, 20, 30):
        ckpt.save(step)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [20, 30]
    (tmp_path / "checkpoint_00000040.pt").write_bytes(b"damaged")  # e.g. copied in half
    (tmp_path / "checkpoint_00000030.pt.tmp").write_bytes(b"")  # an unfinished atomic save is never picked
    state = ckpt.resume()
    assert state["step"] == 30
    assert "skipping unreadable checkpoint" in capsys.readouterr().out
    with pytest.raises(ValueError, match="keep_last"):
        Checkpointer(tmp_path, keep_last=0)


def test_explicit_path_and_errors(tmp_path):
    model = nn.Linear(2, 2)
    ckpt = Checkpointer(tmp_path, model=model)
    first = ckpt.save(1)
    saved = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(3.0)
    ckpt.save(2)
    assert ckpt.resume(first)["step"] == 1 and torch.equal(model.weight, saved)
    with pytest.raises(RuntimeError, match=r"failed on rank\(s\) \[0\] of 1: rank 0: KeyError.*optimizer"):
        Checkpointer(tmp_path, model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1)).resume()
    with pytest.raises(TypeError, match="cannot checkpoint data=TensorDataset"):
        Checkpointer(tmp_path, data=TensorDataset(torch.zeros(2)))
    torch.save({"weights": model.weight}, tmp_path / "checkpoint_00000009.pt")  # not a resume checkpoint
    assert ckpt.resume()["step"] == 2


def _mpirun(n: int, *args: str) -> subprocess.CompletedProcess:
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install 'disttorch[mpi]')")
    exe = Path(sys.executable).parent / "mpiexec"
    if not exe.exists():
        pytest.skip("no mpiexec next to this Python (pip install mpich)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "SLURM_", "DISTTORCH_RUN"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([str(exe), "-n", str(n), sys.executable, str(WORKER), *args], capture_output=True,
                          text=True, timeout=50, env=env, cwd=ROOT)


@pytest.mark.parametrize("n", [2, 3])
def test_ranks_agree_and_get_their_own_random_state(tmp_path, n):
    r = _mpirun(n, str(tmp_path), "agree")
    assert r.returncode == 0, r.stdout + r.stderr
    # (plain mpiexec may glue the ranks' lines together)
    assert sorted(re.findall(r"rank \d+: agree ok", r.stdout)) == [f"rank {i}: agree ok" for i in range(n)]


def test_rank_that_cannot_read_is_an_error_everywhere(tmp_path):
    r = _mpirun(2, str(tmp_path), "unreadable")
    assert r.returncode == 0, r.stdout + r.stderr  # no hang: every rank got the error
    lines = sorted(re.findall(r"(?m)^rank \d+: RuntimeError: [^\n]*OSError: cannot open \S+", r.stdout))
    assert len(lines) == 2, r.stdout
    for rank, line in enumerate(lines):
        assert line.startswith(f"rank {rank}: RuntimeError: resuming from checkpoint ")
        assert "failed on rank(s) [1] of 2: rank 1: OSError: cannot open" in line
