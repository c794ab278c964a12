"""DistributedDataParallel and SyncBatchNorm with real ranks (``mpiexec -n 2`` and ``-n 3``) and alone (world
of 1, no launcher), on every device: cuda alone over NCCL, cuda on 2 and 3 ranks over MPI with the cuda arrays
staged. The worker checks each scenario against a single-process reference on every rank."""
from __future__ import annotations

import pytest
from _ddp_launch import check_scenario

SCENARIOS = ("equivalence", "equivalence_uneven", "sync_batchnorm", "no_sync", "bucket_view", "many_buckets",
             "overlap", "buffers", "state_dict", "unused_error", "partly_unused")
MULTI = ("mismatch",)  # needs ranks that can disagree


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("name", SCENARIOS)
def test_ddp(name: str, n: int, device: str) -> None:
    check_scenario("_ddp_worker.py", SCENARIOS + MULTI if n > 1 else SCENARIOS, name, n, device)


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("name", MULTI)
def test_ddp_multi(name: str, n: int, device: str) -> None:
    check_scenario("_ddp_worker.py", SCENARIOS + MULTI, name, n, device)
