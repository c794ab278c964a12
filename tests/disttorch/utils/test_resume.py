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


def test_keep_last_and_latest_complete(tmp_path):
    model = nn.Linear(2, 2)
    ckpt = Checkpointer(tmp_path, keep_last=2, model=model)
    for step in (10, 20, 30):
        ckpt.save(step)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [20, 30]
    (tmp_path / "checkpoint_00000040.pt").write_bytes(b"damaged")  # e.g. copied in half
    (tmp_path / "checkpoint_00000030.pt.tmp").write_bytes(b"")  # an unfinished atomic save is never picked
    state = ckpt.resume()
    assert state["step"] == 30  # the latest save; the unlisted file would only be tried after it
    (tmp_path / "checkpoint_00000030.pt").write_bytes(b"damaged too")
    with pytest.warns(UserWarning, match=r"skipping unreadable checkpoint \S*checkpoint_00000030\.pt"):
        assert ckpt.resume()["step"] == 20
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


def test_ranks_agree_after_a_rollback(tmp_path):
    r = _mpirun(2, str(tmp_path), "rollback")
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(re.findall(r"rank \d+: resumed step \d+", r.stdout)) == ["rank 0: resumed step 21",
                                                                            "rank 1: resumed step 21"], r.stdout


# -- the faults of issue 12: pruning by save order, unreadable files, roll-back, stale temporaries -----------
def _steps(ckpt: Checkpointer) -> list[int]:
    return [s for s, _ in ckpt.checkpoints()]


def test_unreadable_higher_step_does_not_swallow_new_checkpoints(tmp_path):
    (tmp_path / "checkpoint_00000099.pt").write_bytes(b"half a copy")  # damaged, and of a higher step
    model = nn.Linear(2, 2)
    ckpt = Checkpointer(tmp_path, keep_last=1, model=model)
    for step in (10, 20):
        path = ckpt.save(step)
        assert os.path.exists(path)  # pruning by step number would delete it right here
    assert not (tmp_path / "checkpoint_00000010.pt").exists()
    assert (tmp_path / "checkpoint_00000099.pt").exists()  # not ours: never deleted
    assert ckpt.resume()["step"] == 20
    (tmp_path / "checkpoint_00000020.pt").write_bytes(b"damaged later")  # our newest, unreadable now
    no_start = pytest.raises(RuntimeError, match=r"no readable checkpoint in .*2 skipped")
    with pytest.warns(UserWarning) as caught, no_start:
        Checkpointer(tmp_path, keep_last=1, model=model).resume()  # checkpoints exist: not a silent fresh start
    skipped = [re.search(r"skipping unreadable checkpoint (\S+?):", str(w.message)).group(1) for w in caught]
    assert [Path(p).name for p in skipped] == ["checkpoint_00000020.pt", "checkpoint_00000099.pt"]


def test_rollback_keeps_the_new_checkpoints(tmp_path):
    model = nn.Linear(2, 2)
    ckpt = Checkpointer(tmp_path, keep_last=2, model=model)
    for step in (10, 20, 30):
        ckpt.save(step)
    assert ckpt.resume(ckpt.path_for(20))["step"] == 20  # a deliberate roll-back to step 20
    with torch.no_grad():
        model.weight.fill_(7.0)
    ckpt.save(21)
    ckpt.save(22)
    assert _steps(ckpt) == [21, 22]  # the abandoned run's 30 goes first, the new ones stay
    fresh = Checkpointer(tmp_path, keep_last=2, model=nn.Linear(2, 2))
    state = fresh.resume()
    assert state["step"] == 22, state  # the newest save, not the highest step
    assert torch.equal(fresh.objects["model"].weight, model.weight)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [21, 22]


def test_rollback_with_keep_last_1(tmp_path):
    model = nn.Linear(2, 2)
    ckpt = Checkpointer(tmp_path, keep_last=1, model=model)
    ckpt.save(50)
    ckpt.resume(ckpt.path_for(50))
    ckpt.save(5)  # restarting from scratch in the same directory
    assert _steps(ckpt) == [5] and ckpt.resume()["step"] == 5


def _interrupted_save(path: Path) -> None:
    """A save to ``path`` killed midway, in another process: leaves its partial temporary behind."""
    code = ("import os, sys; from disttorch.serialization._files import _atomic_write\n"
            "_atomic_write(sys.argv[1], lambda fh: (fh.write(b'x' * 4096), fh.flush(), os._exit(9)))\n")
    r = subprocess.run([sys.executable, "-c", code, str(path)], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                       timeout=30)
    assert r.returncode == 9


def test_stale_temporaries_removed_at_next_save(tmp_path):
    model = nn.Linear(2, 2)
    ckpt = Checkpointer(tmp_path, keep_last=2, model=model)
    ckpt.save(10)
    _interrupted_save(Path(ckpt.path_for(20)))
    temps = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert len(temps) == 1 and temps[0].startswith(".checkpoint_00000020.pt."), temps
    busy = tmp_path / f".checkpoint_00000040.pt.{_host()}-1.abc123.tmp"  # pid 1 lives: a save in progress
    busy.write_bytes(b"")
    reused = tmp_path / f".checkpoint_00000050.pt.{_host()}-{os.getpid()}.def456.tmp"  # our pid, but from before
    reused.write_bytes(b"")  # this process started (a restarted container that reuses its pids)
    os.utime(reused, (1e9, 1e9))
    mine = tmp_path / f".checkpoint_00000060.pt.{_host()}-{os.getpid()}.fedcba.tmp"  # a save of this process
    mine.write_bytes(b"")
    ckpt.save(30)  # another step's name: the partial file of step 20 goes all the same
    assert sorted(p for p in os.listdir(tmp_path) if p.endswith(".tmp")) == sorted([busy.name, mine.name])
    assert _steps(ckpt) == [10, 30]


def _host() -> str:
    from disttorch.serialization import _files

    return _files._HOST
