"""examples/ddp_train.py trains the digits CNN to a good test accuracy alone and on 2 and 3 ranks, on every
device: cuda alone through NCCL, cuda on 2 and 3 ranks through MPI (the cupy stand-in's NCCL has one rank)."""
from __future__ import annotations

import re

import pytest
from _ddp_launch import ROOT, run


@pytest.mark.parametrize("n", [1, 2, 3])
def test_ddp_example(n: int, device: str) -> None:
    pytest.importorskip("sklearn", reason="scikit-learn provides the digits data set")
    options = [] if device == "cpu" else ["--device", "cuda", "--backend", "nccl" if n == 1 else "mpi"]
    proc = run(ROOT / "examples" / "ddp_train.py", ["--epochs", "3", *options], n)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert f"training on {n} rank(s) ({'cpu' if device == 'cpu' else 'cuda:0'}" in proc.stdout, out
    if device == "cuda":
        assert f"backend {'nccl' if n == 1 else 'mpi'}" in proc.stdout, out
    found = re.findall(r"test accuracy: ([\d.]+)%", proc.stdout)
    assert len(found) == 1, out  # printed by rank 0 only
    assert float(found[0]) >= 90.0, out
    assert len(re.findall(r"^epoch \d+:", proc.stdout, re.M)) == 3, out
