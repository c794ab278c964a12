"""The resume test: a 2-rank training job whose rank 1 is SIGKILLed mid-run, restarted by --max-restarts 1,
ends with the same parameters, bit for bit, as a run that never stopped."""
from __future__ import annotations

import numpy as np
import pytest
from _launcher_util import ROOT, launch, need_mpi

import disttorch

pytestmark = pytest.mark.timeout(90)
EXAMPLE = ROOT / "examples" / "resumable_train.py"


def test_killed_rank_resumes_bit_for_bit(tmp_path):
    need_mpi()
    common = ["--steps", "14", "--save-every", "3", "--batch-size", "8"]
    clean = launch("--nproc-per-node", 2, EXAMPLE, *common, "--ckpt-dir", tmp_path / "a", "--out", tmp_path / "a.pt")
    assert clean.returncode == 0, clean
    crashed = launch("--nproc-per-node", 2, "--max-restarts", 1, EXAMPLE, *common, "--ckpt-dir", tmp_path / "b",
                     "--out", tmp_path / "b.pt", "--crash-at-step", 8, "--crash-rank", 1)
    assert crashed.returncode == 0, crashed
    assert "[rank 1] crashing at step 8 (SIGKILL)" in crashed.out, crashed
    assert "disttorchrun: rank 1 (pid" in crashed.err and "was killed by SIGKILL" in crashed.err, crashed
    assert "[rank 0] attempt 1: 2 rank(s), resumed from checkpoint_00000006.pt at step 6" in crashed.out, crashed
    # the losses printed after the restart repeat those of the run that never stopped
    steps = [line for line in clean.out.splitlines() if line.startswith("[rank 0] step ")]
    resumed = crashed.out.split("resumed from")[1].splitlines()[1:]
    assert resumed == steps[6:], crashed
    a, b = disttorch.load(tmp_path / "a.pt"), disttorch.load(tmp_path / "b.pt")
    assert list(a) == list(b) and len(a) == 4
    for name in a:
        assert np.array_equal(a[name].numpy(), b[name].numpy()), name  # bit for bit
        assert a[name].numpy().tobytes() == b[name].numpy().tobytes(), name
    kept = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert kept == ["checkpoint.order", "checkpoint_00000009.pt", "checkpoint_00000012.pt"]  # --keep-last 2
